/* Internals shared by the files of libveil_net (not installed). */
#ifndef VEIL_NET_INTERNAL_H
#define VEIL_NET_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "veil/net.h"

/* Loads dir/party.key and dir/party.crt: the key file must not be
 * readable by group or others, the key must be Ed25519 and match the
 * certificate. The PEM text read from disk is wiped before returning. */
veil_status veil_party_load(const char *dir, EVP_PKEY **key, X509 **cert, veil_err *err) VEIL_WUR;

/* SHA-256 of the certificate's DER encoding. */
veil_status veil_cert_fingerprint(const X509 *cert, uint8_t fp[VEIL_FINGERPRINT_LEN],
                                  veil_err *err) VEIL_WUR;

/* The first queued OpenSSL error as text ("error:...:reason"), or
 * `fallback` when the queue is empty; empties the calling thread's queue. */
void veil_ssl_err_text(char *out, size_t cap, const char *fallback);

/* 1 when the connected TCP socket s is connected to itself (source and
 * destination address and port equal), 0 otherwise; channel.c treats such
 * a connection as refused. */
int veil_net_self_connected(int s);

#endif
