/* python-paillier (phe) JSON interchange (format: docs/formats.md).
 *
 * Keys use phe's JWK layout (`pheutil`): {"kty":"DAJ","alg":"PAI-GN1",
 * "key_ops":[...],"n":<base64url>,"kid":...} and for private keys "p", "q"
 * and the public key under "pub". Encrypted numbers are {"v": "<decimal
 * ciphertext>", "e": <exponent>} as phe writes them, where the plaintext is
 * mantissa * 16^e. Big integers are always JSON strings; JSON numbers for
 * big integers are refused. Parsing uses jansson, never a general object
 * loader. */
#ifndef VEIL_PYJSON_H
#define VEIL_PYJSON_H

#include <stddef.h>

#include "veil/encrypted.h"
#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PYJSON_MAX (64u << 20) /* largest JSON document accepted */

veil_status veil_pyjson_pub_import(veil_paillier_pub **out, const char *json, size_t len,
                                   veil_err *err) VEIL_WUR;
veil_status veil_pyjson_priv_import(veil_paillier_priv **out, const char *json, size_t len,
                                    veil_err *err) VEIL_WUR;
/* Return malloc'd NUL-terminated JSON, or NULL with err set. */
char *veil_pyjson_pub_export(const veil_paillier_pub *pk, veil_err *err);
char *veil_pyjson_priv_export(const veil_paillier_priv *sk, veil_err *err);

/* Imports phe encrypted numbers: a single {"v","e"} object or an array of
 * them, under key pk. Each mantissa*16^e becomes an exact veil_enc: e >= 0
 * multiplies by 16^e at scale 0; e < 0 multiplies by 5^(-4e) at scale -4e.
 * `bound` is the declared bound on |plaintext mantissa| of the phe values
 * (before conversion); it is scaled with them and must keep the result within
 * max_int. *out is a malloc'd array of *count initialised veil_enc. */
veil_status veil_pyjson_numbers_import(veil_enc **out, size_t *count, const veil_paillier_pub *pk,
                                       const char *json, size_t len, const mpz_t bound,
                                       veil_err *err) VEIL_WUR;
/* Exports values as a JSON array of {"v","e"} with e = -scale: exact for
 * scale 0 with phe's default base-16 EncodedNumber; for scale > 0 phe must
 * decode with a base-10 EncodedNumber subclass (docs/formats.md). */
char *veil_pyjson_numbers_export(const veil_enc *values, size_t count, veil_err *err);

#ifdef __cplusplus
}
#endif
#endif
