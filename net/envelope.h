/* The framed envelope of veil's channel (proto/net.proto): packing one
 * frame, and decoding and checking one received envelope. Pure functions
 * on buffers, shared by the channel, the tests and the fuzzer. Not
 * installed. */
#ifndef VEIL_NET_ENVELOPE_H
#define VEIL_NET_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "veil/net.h"

#define VEIL_NET_VERSION    1
#define VEIL_NET_FRAME_HEAD 4 /* big-endian length of the envelope that follows */

/* What the receiver expects of the next envelope. */
typedef struct {
    const char *who;     /* names the peer in messages: "tax (127.0.0.1:40122)" */
    const char *session; /* this session's id */
    const char *sender;  /* the authenticated peer's party id */
    uint64_t seq;        /* the next sequence number */
} veil_net_expect;

/* Packs one frame (length head + envelope) into *buf, which is grown as
 * needed (*cap is its size; the old contents are wiped when it moves).
 * *len is the frame's length. A payload over frame_max -
 * VEIL_NET_ENVELOPE_OVERHEAD bytes is VEIL_ERR_INTERNAL. */
veil_status veil_net_frame_pack(uint8_t **buf, size_t *cap, size_t *len, const char *session,
                                const char *sender, uint64_t seq, uint32_t type,
                                const void *payload, size_t plen, size_t frame_max,
                                veil_err *err) VEIL_WUR;

/* Decodes the envelope in buf[0..len) (without the length head) and checks
 * it against want, in this order: it decodes, version, session, sender,
 * sequence number. On success *payload is malloc'd (NULL when *plen is
 * 0). Every failure is VEIL_ERR_INPUT (VEIL_ERR_NOMEM when out of memory)
 * with a message that starts with want->who. */
veil_status veil_net_envelope_open(const uint8_t *buf, size_t len, const veil_net_expect *want,
                                   uint32_t *type, uint8_t **payload, size_t *plen,
                                   veil_err *err) VEIL_WUR;

#endif
