/* Montgomery arithmetic on fixed-width limb arrays (internal).
 *
 * Two flavours: veil_mont_mul_sec is constant time (no branch or memory
 * access depends on the operands: mpn_sec_mul, a REDC whose carries are
 * collected in a vector, and a masked final subtraction) and is used where
 * an operand depends on a secret (the DJN exponent). veil_mont_mul_pub uses
 * GMP's fastest multiplication and is for public data only (ciphertexts
 * being aggregated). */
#ifndef VEIL_MONT_H
#define VEIL_MONT_H

#include <gmp.h>
#include <stddef.h>

typedef struct {
    size_t L;           /* limbs of the modulus */
    mp_limb_t *m;       /* modulus, odd, top limb non-zero */
    mp_limb_t minv;     /* -m^-1 mod 2^GMP_NUMB_BITS */
    mp_limb_t *one;     /* R mod m (Montgomery form of 1) */
    mp_limb_t *r2;      /* R^2 mod m */
    size_t mul_scratch; /* limbs of scratch a multiplication needs */
    size_t scratch;     /* limbs of scratch any function here needs */
} veil_mont;

/* 0 on success, -1 when out of memory or m is even. */
int veil_mont_init(veil_mont *ctx, const mpz_t m);
void veil_mont_clear(veil_mont *ctx);

/* r = a b R^-1 mod m for a, b < m. r may alias a or b. tp has (at least)
 * ctx->mul_scratch limbs; the conversions below need ctx->scratch. */
void veil_mont_mul_sec(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const veil_mont *ctx,
                       mp_limb_t *tp);
void veil_mont_mul_pub(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const veil_mont *ctx,
                       mp_limb_t *tp);

/* Limbs of x (0 <= x < m) into r, zero-padded to L limbs. */
void veil_mont_export(mp_limb_t *r, const mpz_t x, const veil_mont *ctx);
/* r = x R mod m (into Montgomery form), x < m. */
void veil_mont_to(mp_limb_t *r, const mpz_t x, const veil_mont *ctx, mp_limb_t *tp);
/* out = a R^-1 mod m (out of Montgomery form). */
void veil_mont_from(mpz_t out, const mp_limb_t *a, const veil_mont *ctx, mp_limb_t *tp);

#endif
