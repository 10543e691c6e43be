/* The file-exchange transport of the channel (docs/net.md, "File
 * exchange"): one message per file in a spool directory, signed with the
 * sender's Ed25519 party key and sealed to the recipient's key. Not
 * installed.
 *
 * A message file is
 *   8 bytes   magic "VEILSPL1"
 *   4 bytes   big-endian length L of the sealed box
 *   L bytes   crypto_box_seal(sig || envelope) to the recipient's X25519
 *             key (converted from the Ed25519 key of its certificate)
 * where envelope is the channel's NetEnvelope (session, sender, seq,
 * type, payload) and sig the detached Ed25519 signature of
 *   "veil spool message v1" NUL || len(recipient) (1 byte) || recipient
 *   || envelope
 * by the sender's party key. */
#ifndef VEIL_NET_SPOOL_H
#define VEIL_NET_SPOOL_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "veil/net.h"

#define VEIL_SPOOL_MAGIC     "VEILSPL1"
#define VEIL_SPOOL_MAGIC_LEN 8
#define VEIL_SPOOL_HEAD      (VEIL_SPOOL_MAGIC_LEN + 4)
/* Bytes a message file adds to its envelope. */
#define VEIL_SPOOL_OVERHEAD (VEIL_SPOOL_HEAD + crypto_box_SEALBYTES + crypto_sign_BYTES)

/* A party's keys for the spool: Ed25519 to sign, X25519 (converted) to
 * open what was sealed to it. */
typedef struct {
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t box_pk[crypto_box_PUBLICKEYBYTES];
    uint8_t box_sk[crypto_box_SECRETKEYBYTES];
} veil_spool_keys;

/* Derives keys from a 32-byte Ed25519 seed. -1 when the conversion fails. */
int veil_spool_keys_from_seed(veil_spool_keys *k, const uint8_t seed[crypto_sign_SEEDBYTES]);

/* Builds one message file in a malloc'd *out (free with
 * veil_secret_free(*out, *len)): the envelope (session, sender, seq,
 * type, payload; VEIL_ERR_INTERNAL when over frame_max) signed with
 * k->sign_sk for recipient and sealed to recipient_pk (its Ed25519 key). */
veil_status veil_spool_pack(uint8_t **out, size_t *len, const veil_spool_keys *k,
                            const char *recipient, const uint8_t recipient_pk[32],
                            const char *session, const char *sender, uint64_t seq, uint32_t type,
                            const void *payload, size_t plen, size_t frame_max,
                            veil_err *err) VEIL_WUR;

/* Opens and checks one message file buf[0..len) addressed to self_id
 * (keys k) from the party whose Ed25519 key is sender_pk, in this order:
 * size (over frame_max + VEIL_SPOOL_OVERHEAD), magic, length (truncated,
 * trailing bytes), the seal, the signature, then the envelope as
 * veil_net_envelope_open (version, session, sender, sequence number).
 * Every failure is VEIL_ERR_INPUT (VEIL_ERR_NOMEM when out of memory;
 * VEIL_ERR_INTERNAL for an invalid self_id) with a message that starts
 * with want->who. *payload as veil_net_envelope_open. */
veil_status veil_spool_open(const uint8_t *buf, size_t len, const veil_spool_keys *k,
                            const char *self_id, const uint8_t sender_pk[32],
                            const veil_net_expect *want, size_t frame_max, uint32_t *type,
                            uint8_t **payload, size_t *plen, veil_err *err) VEIL_WUR;

/* ---- files (spool.c) ---- */

#define VEIL_SPOOL_PATH_MAX 4096

/* "DIR/SESSION,SENDER,RECIPIENT,SEQ.msg": ',' is not in the id alphabet,
 * so a name says exactly whose file it is; nothing secret is in it.
 * -1 when the path would be too long. */
int veil_spool_path(char out[VEIL_SPOOL_PATH_MAX], const char *dir, const char *session,
                    const char *sender, const char *recipient, uint64_t seq);

/* The keys of a loaded Ed25519 party key (EVP_PKEY *). */
veil_status veil_spool_keys_load(veil_spool_keys *k, void *evp_pkey, veil_err *err) VEIL_WUR;

/* Checks dir, creates dir/certs (0700) when missing, publishes this
 * party's certificate as dir/certs/SELF.crt (PEM, written atomically),
 * and refuses (VEIL_ERR_USAGE) a spool that still holds a message file of
 * this session sent by this party: a leftover of an earlier run. */
veil_status veil_spool_setup(const char *dir, const char *session, const char *self,
                             void *x509_cert, veil_err *err) VEIL_WUR;

/* The Ed25519 key of peer p from dir/certs/ID.crt, whose fingerprint must
 * be the one the roster pins (VEIL_ERR_CRYPTO otherwise). A certificate
 * not published yet: VEIL_ERR_IO. */
veil_status veil_spool_peer_key(const char *dir, const veil_peer *p, uint8_t pk[32],
                                veil_err *err) VEIL_WUR;

/* Writes buf as path: a temporary file in dir (mode 0600), fsync, then a
 * link to path, which never replaces an existing file (VEIL_ERR_USAGE:
 * a leftover of an earlier run), then the directory is synced. */
veil_status veil_spool_write_file(const char *path, const char *dir, const uint8_t *buf, size_t len,
                                  veil_err *err) VEIL_WUR;

/* Reads the regular file at path (not following a symbolic link) into a
 * malloc'd *buf. *missing = 1 (and VEIL_OK) when there is no such file
 * yet. Larger than max: VEIL_ERR_INPUT. */
veil_status veil_spool_read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
                                 int *missing, veil_err *err) VEIL_WUR;

#endif
