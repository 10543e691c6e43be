/* Paillier key files (format: docs/formats.md).
 *
 * A key file is text: one "untrusted comment:" line for humans, then one line
 * of base64 holding a protobuf message (veil.KeyFile). Private keys
 * are written with mode 0600, through a temporary file renamed into place,
 * and may be sealed with a passphrase (Argon2id + XSalsa20-Poly1305 from
 * libsodium). Every key read is checked (veil_paillier_pub_new /
 * veil_paillier_priv_new). */
#ifndef VEIL_KEYFILE_H
#define VEIL_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_KEYFILE_MAX (64 * 1024) /* larger files are refused */

typedef enum {
    VEIL_KEY_PUBLIC = 1,
    VEIL_KEY_PRIVATE = 2,       /* unencrypted private key */
    VEIL_KEY_PRIVATE_SEALED = 3 /* passphrase-protected private key */
} veil_key_kind;

typedef struct {
    veil_key_kind kind;
    unsigned bits;
    int djn;
    char fingerprint_hex[VEIL_FINGERPRINT_HEX];
    char comment[256];
} veil_keyfile_info;

/* Reads what a key file is without needing its passphrase (the public part
 * is checked with veil_paillier_pub_new; the secret part is not opened). */
veil_status veil_keyfile_info_read(veil_keyfile_info *info, const char *path,
                                   veil_err *err) VEIL_WUR;

/* Writes a public key (mode 0644). comment may be NULL. */
veil_status veil_pub_save(const char *path, const veil_paillier_pub *pk, const char *comment,
                          veil_err *err) VEIL_WUR;
/* Loads a public key; a private key file (sealed or not) is accepted too and
 * yields its public half (the public part of a sealed file is stored in
 * clear beside the sealed secret). */
veil_status veil_pub_load(veil_paillier_pub **out, const char *path, veil_err *err) VEIL_WUR;

/* Writes a private key with mode 0600; sealed when passphrase != NULL, with
 * Argon2id at libsodium's MODERATE limits (about 0.7 s and 256 MiB). */
veil_status veil_priv_save(const char *path, const veil_paillier_priv *sk, const char *passphrase,
                           size_t passphrase_len, const char *comment, veil_err *err) VEIL_WUR;
/* Same with explicit Argon2id limits, which must lie between libsodium's
 * INTERACTIVE and SENSITIVE values (readers refuse anything outside that
 * range); tests use crypto_pwhash_OPSLIMIT_INTERACTIVE and
 * crypto_pwhash_MEMLIMIT_INTERACTIVE to stay fast. Ignored when passphrase
 * is NULL. */
veil_status veil_priv_save_ex(const char *path, const veil_paillier_priv *sk,
                              const char *passphrase, size_t passphrase_len, const char *comment,
                              unsigned long long opslimit, size_t memlimit, veil_err *err) VEIL_WUR;
/* Loads a private key; a sealed file needs the passphrase (VEIL_ERR_USAGE if
 * none given, VEIL_ERR_CRYPTO "wrong passphrase or corrupted key file"). */
veil_status veil_priv_load(veil_paillier_priv **out, const char *path, const char *passphrase,
                           size_t passphrase_len, veil_err *err) VEIL_WUR;

/* In-memory forms of the same, for fuzzing and embedding: buf holds a whole
 * key file; `name` is used in error messages. */
veil_status veil_pub_parse(veil_paillier_pub **out, const uint8_t *buf, size_t len,
                           const char *name, veil_err *err) VEIL_WUR;
veil_status veil_priv_parse(veil_paillier_priv **out, const uint8_t *buf, size_t len,
                            const char *name, const char *passphrase, size_t passphrase_len,
                            veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
