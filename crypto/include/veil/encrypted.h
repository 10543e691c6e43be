/* Encrypted fixed-point numbers with a proven bound.
 *
 * A veil_enc carries, beside the ciphertext, the scale of its plaintext and a
 * bound B such that |plaintext mantissa| <= B is guaranteed by how the value
 * was made (B is the declared per-value bound at encryption and grows with
 * every homomorphic operation). An operation whose result bound would exceed
 * the key's max_int is refused, so sums can never wrap modulo n unnoticed;
 * a decryption whose result exceeds B is reported as overflow. */
#ifndef VEIL_ENCRYPTED_H
#define VEIL_ENCRYPTED_H

#include <gmp.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    mpz_t c;        /* ciphertext: 0 < c < n^2, gcd(c, n) = 1 */
    mpz_t bound;    /* |plaintext mantissa| <= bound */
    uint32_t scale; /* decimal places of the plaintext */
    uint64_t count; /* number of input values summed into this one */
} veil_enc;

void veil_enc_init(veil_enc *e);
void veil_enc_clear(veil_enc *e);
void veil_enc_set(veil_enc *dst, const veil_enc *src);

/* Encrypts mantissa v at `scale` with per-value bound `bound` (|v| <= bound
 * <= max_int, else VEIL_ERR_INPUT / VEIL_ERR_USAGE). count becomes 1. */
veil_status veil_enc_encrypt(veil_enc *out, const veil_paillier_pub *pk, const mpz_t v,
                             uint32_t scale, const mpz_t bound, veil_err *err) VEIL_WUR;

/* r = a + b. Scales must be equal (mixing is refused: rescale explicitly);
 * bounds add; counts add. */
veil_status veil_enc_add(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                         const veil_enc *b, veil_err *err) VEIL_WUR;
/* r = a - b, same rules; counts add. */
veil_status veil_enc_sub(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                         const veil_enc *b, veil_err *err) VEIL_WUR;
/* r = a + v for a plaintext mantissa v at a's scale. */
veil_status veil_enc_add_plain(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                               const mpz_t v, veil_err *err) VEIL_WUR;
/* r = k * a for a signed integer k (scale unchanged, bound * |k|). */
veil_status veil_enc_mul_scalar(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                                const mpz_t k, veil_err *err) VEIL_WUR;
/* r = a at a larger scale (multiplies by 10^(to - a->scale)). Lowering the
 * scale is impossible under encryption and refused. */
veil_status veil_enc_rescale(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                             uint32_t to, veil_err *err) VEIL_WUR;
/* r = a with a fresh randomizer (do this before a value you computed on
 * leaves your hands). */
void veil_enc_rerandomize(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a);

/* Decrypts to the signed mantissa; VEIL_ERR_CRYPTO "overflow" when the
 * result is outside [-bound, bound]. */
veil_status veil_enc_decrypt(mpz_t v, const veil_paillier_priv *sk, const veil_enc *e,
                             veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
