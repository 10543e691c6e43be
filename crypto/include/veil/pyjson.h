/* python-paillier (phe) JSON interchange (format and sources:
 * docs/python-paillier.md).
 *
 * Keys use pheutil's JWK layout (phe/command_line.py):
 *   public  {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"],
 *            "n": <base64url>, "kid": <text>}
 *   private {"kty": "DAJ", "key_ops": ["decrypt"], "p": <base64url>,
 *            "q": <base64url>, "pub": <public key>, "kid": <text>}
 * (phe >= 1.3.0; keys written by phe < 1.3.0 carry "lambda" = (p-1)(q-1) and
 * "mu" instead of "p" and "q" and are imported too). base64url is unpadded,
 * big-endian, without leading zero bytes (phe.util.int_to_base64).
 *
 * Encrypted numbers are {"v": "<decimal ciphertext>", "e": <exponent>} as
 * pheutil writes them; the plaintext is mantissa * 16^e with the mantissa
 * decoded from the residue with max_int = n // 3 - 1. The list layout of
 * phe's docs/serialisation.rst, {"public_key": {"g": ..., "n": ...},
 * "values": [["<ciphertext>", e], ...]}, is read and written too.
 *
 * Big integers are always JSON strings; a JSON number where one belongs is
 * refused. Parsing uses jansson (duplicate keys refused, VEIL_PYJSON_MAX
 * bytes at most); every error names the field (and index). Members a JWK
 * reader does not understand are ignored, as RFC 7517 section 4 requires. */
#ifndef VEIL_PYJSON_H
#define VEIL_PYJSON_H

#include <stddef.h>

#include "veil/encrypted.h"
#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PYJSON_MAX     (64u << 20) /* largest JSON document accepted */
#define VEIL_PYJSON_EXP_MAX 64          /* largest |e| of an imported number */

/* Imports a pheutil public key as a textbook (non-DJN) veil key; n is
 * checked by veil_paillier_pub_new. */
veil_status veil_pyjson_pub_import(veil_paillier_pub **out, const char *json, size_t len,
                                   veil_err *err) VEIL_WUR;
/* Imports a pheutil private key ("p"/"q", or legacy "lambda"/"mu"); p * q
 * must equal pub.n; the key is checked by veil_paillier_priv_new and gets a
 * fresh DJN base. The parsed secret strings are wiped before being freed
 * (jansson's transient lexer buffers cannot be reached and are not). */
veil_status veil_pyjson_priv_import(veil_paillier_priv **out, const char *json, size_t len,
                                    veil_err *err) VEIL_WUR;
/* Return malloc'd NUL-terminated JSON in pheutil's exact layout (member
 * order, ", " and ": " separators, trailing newline), or NULL with err set.
 * The kid names the veil fingerprint. The private export holds p and q:
 * wipe it (sodium_memzero over strlen) before free and write it mode 0600. */
char *veil_pyjson_pub_export(const veil_paillier_pub *pk, veil_err *err);
char *veil_pyjson_priv_export(const veil_paillier_priv *sk, veil_err *err);

/* Imports phe encrypted numbers under key pk: a single {"v","e"} object, a
 * JSON array of them, or the {"public_key","values"} list layout (whose n
 * must equal pk's, and g, if present, n + 1). Each ciphertext is checked
 * with veil_paillier_check_ct, each |e| <= VEIL_PYJSON_EXP_MAX, and each
 * mantissa*16^e becomes an exact veil_enc: e >= 0 multiplies by 16^e at
 * scale 0; e < 0 multiplies by 5^(-4e) at scale -4e (16^e = 5^(4|e|) /
 * 10^(4|e|)). `bound` is the declared bound on |phe mantissa| (before
 * conversion); it is multiplied with the value and must stay within max_int.
 * *out is a malloc'd array of *count initialised veil_enc (NULL when the
 * list is empty); free it with veil_pyjson_numbers_free. */
veil_status veil_pyjson_numbers_import(veil_enc **out, size_t *count, const veil_paillier_pub *pk,
                                       const char *json, size_t len, const mpz_t bound,
                                       veil_err *err) VEIL_WUR;
void veil_pyjson_numbers_free(veil_enc *values, size_t count);

/* Exports with e = -scale. Exact for scale 0 with phe's default base-16
 * EncodedNumber; for scale > 0 phe must decode with a base-10 EncodedNumber
 * subclass (docs/python-paillier.md). Bounds and counts are not part of
 * phe's format and are lost. */
/* A JSON array of {"v","e"} objects. */
char *veil_pyjson_numbers_export(const veil_enc *values, size_t count, veil_err *err);
/* One {"v","e"} object, exactly as `pheutil encrypt` writes it. */
char *veil_pyjson_number_export(const veil_enc *value, veil_err *err);
/* The {"public_key": {"g","n"}, "values": [[v, e], ...]} list layout of
 * phe's docs, with g and n as decimal strings. */
char *veil_pyjson_values_export(const veil_paillier_pub *pk, const veil_enc *values, size_t count,
                                veil_err *err);

#ifdef __cplusplus
}
#endif
#endif
