/* De-identification keys and keyed pseudonyms.
 *
 * A key file holds one 32-byte master key, in a small text format (mode
 * 0600; a file readable by group or others is refused when loaded):
 *
 *     # veil de-identification key: ...comment lines start with '#'
 *     veil-deid-key 1
 *     key <64 lower-case hex digits>
 *
 * Sub-keys are derived with libsodium's crypto_kdf (BLAKE2b, context
 * "veildeid"): 1 = HMAC-SHA-256 pseudonyms, 2 = keyed BLAKE2b pseudonyms,
 * 3 = the AES-256 key of FF1, 4 = the public key id. Departments that hold
 * the same key file get the same pseudonym for the same value and domain.
 *
 * A pseudonym is MAC(subkey, "veil-pseudonym-v1" 0x00 domain 0x00 value),
 * truncated to `bytes` (8..32, default 16) and written as lower-case hex
 * (2 x bytes characters) or RFC 4648 base32 without padding, lower case
 * (ceil(8 x bytes / 5) characters). */
#ifndef VEIL_PSEUDONYM_H
#define VEIL_PSEUDONYM_H

#include <stddef.h>

#include "veil/deid_buf.h"
#include "veil/error.h"
#include "veil/ff1.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_DEID_KEY_BYTES   32
#define VEIL_DEID_KEY_ID_HEX  16 /* characters of the printed key id */
#define VEIL_PSEUDO_BYTES_MIN 8
#define VEIL_PSEUDO_BYTES_MAX 32

typedef struct veil_deid_key veil_deid_key;

typedef enum { VEIL_PSEUDO_HMAC_SHA256 = 0, VEIL_PSEUDO_BLAKE2B } veil_pseudo_method;
typedef enum { VEIL_PSEUDO_HEX = 0, VEIL_PSEUDO_BASE32 } veil_pseudo_format;

veil_status veil_deid_key_generate(veil_deid_key **out, veil_err *err) VEIL_WUR;
/* Parses the text of a key file; name is used in messages. */
veil_status veil_deid_key_parse(veil_deid_key **out, const char *text, size_t len, const char *name,
                                veil_err *err) VEIL_WUR;
/* Reads and parses a key file, refusing one readable by group or others. */
veil_status veil_deid_key_load(veil_deid_key **out, const char *path, veil_err *err) VEIL_WUR;
/* The key file text (malloc'd, NUL-terminated; free with
 * veil_deid_key_text_free). */
veil_status veil_deid_key_format(char **text, size_t *len, const veil_deid_key *k,
                                 veil_err *err) VEIL_WUR;
void veil_deid_key_text_free(char *text, size_t len);
/* A public fingerprint (16 hex characters and a NUL) so departments can
 * check they hold the same key without showing it. */
void veil_deid_key_id(char out[VEIL_DEID_KEY_ID_HEX + 1], const veil_deid_key *k);
void veil_deid_key_free(veil_deid_key *k);

/* Writes the pseudonym of value into out (reset first). */
veil_status veil_pseudonym(veil_deid_buf *out, const veil_deid_key *k, veil_pseudo_method method,
                           veil_pseudo_format format, unsigned bytes, const char *domain,
                           const char *value, size_t len, veil_err *err) VEIL_WUR;

/* An FF1 object (AES-256 with the derived FPE key) for the given radix. */
veil_status veil_deid_key_ff1(veil_ff1 **out, const veil_deid_key *k, unsigned radix,
                              veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
