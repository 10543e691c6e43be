/* Test hooks of the channel (not installed): they let the tests and the
 * fuzzer make a connection misbehave the ways a hostile or broken peer
 * would. Never used by veil itself. */
#ifndef VEIL_NET_TESTHOOK_H
#define VEIL_NET_TESTHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "veil/net.h"

/* The sequence number the next veil_conn_send uses (to replay or skip). */
void veil_conn_test_set_send_seq(veil_conn *c, uint64_t next);
/* Session id and sender put in the envelopes this connection sends from
 * now on; NULL restores the real one. -1 when out of memory. */
int veil_conn_test_override(veil_conn *c, const char *session, const char *sender);
/* Writes len raw bytes to the TLS stream: the caller builds the 4-byte
 * length head itself (to send an oversized or undecodable frame). */
veil_status veil_conn_test_write(veil_conn *c, const void *buf, size_t len, veil_err *err) VEIL_WUR;

#endif
