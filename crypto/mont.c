/* Montgomery multiplication for the Paillier fast paths. */
#include "mont.h"

#include <stdlib.h>
#include <string.h>

int veil_mont_init(veil_mont *ctx, const mpz_t m)
{
    memset(ctx, 0, sizeof *ctx);
    if (mpz_even_p(m) || mpz_sgn(m) <= 0)
        return -1;
    size_t L = mpz_size(m);
    ctx->L = L;
    ctx->m = calloc(3 * L, sizeof(mp_limb_t));
    if (ctx->m == NULL)
        return -1;
    ctx->one = ctx->m + L;
    ctx->r2 = ctx->m + 2 * L;
    mpz_export(ctx->m, NULL, -1, sizeof(mp_limb_t), 0, 0, m);
    /* Newton iteration for m0^-1 mod 2^64: each step doubles the bits. */
    mp_limb_t m0 = ctx->m[0], inv = 1;
    for (int i = 0; i < 7; i++)
        inv *= 2 - m0 * inv;
    ctx->minv = (mp_limb_t)0 - inv;
    mpz_t t;
    mpz_init(t);
    mpz_setbit(t, (mp_bitcnt_t)L * GMP_NUMB_BITS);
    mpz_mod(t, t, m);
    mpz_export(ctx->one, NULL, -1, sizeof(mp_limb_t), 0, 0, t);
    mpz_mul(t, t, t);
    mpz_mod(t, t, m);
    mpz_export(ctx->r2, NULL, -1, sizeof(mp_limb_t), 0, 0, t);
    mpz_clear(t);
    mp_size_t itch = mpn_sec_mul_itch((mp_size_t)L, (mp_size_t)L);
    /* product (2L) + carry vector (L) + mpn_sec_mul scratch; conversions
     * need two more L-limb buffers. */
    ctx->mul_scratch = 3 * L + (size_t)itch;
    ctx->scratch = ctx->mul_scratch + 2 * L;
    return 0;
}

void veil_mont_clear(veil_mont *ctx)
{
    free(ctx->m);
    memset(ctx, 0, sizeof *ctx);
}

/* Reduces the 2L-limb t (t < m R) to r = t R^-1 mod m. The carries of each
 * row go to a vector added once at the end, so no step depends on the data;
 * the final subtraction is selected with a mask. */
static void redc(mp_limb_t *r, mp_limb_t *t, const veil_mont *ctx, mp_limb_t *cv)
{
    const size_t L = ctx->L;
    for (size_t i = 0; i < L; i++)
        cv[i] = mpn_addmul_1(t + i, ctx->m, (mp_size_t)L, t[i] * ctx->minv);
    mp_limb_t carry = mpn_add_n(t + L, t + L, cv, (mp_size_t)L);
    mp_limb_t borrow = mpn_sub_n(r, t + L, ctx->m, (mp_size_t)L);
    /* Keep the difference when t >= m (a carry out, or no borrow). */
    mp_limb_t mask = (mp_limb_t)0 - ((carry | (borrow ^ 1)) & 1);
    for (size_t k = 0; k < L; k++)
        r[k] = (r[k] & mask) | (t[L + k] & ~mask);
}

void veil_mont_mul_sec(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const veil_mont *ctx,
                       mp_limb_t *tp)
{
    const size_t L = ctx->L;
    mp_limb_t *t = tp, *cv = tp + 2 * L, *scratch = tp + 3 * L;
    mpn_sec_mul(t, a, (mp_size_t)L, b, (mp_size_t)L, scratch);
    redc(r, t, ctx, cv);
}

void veil_mont_mul_pub(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const veil_mont *ctx,
                       mp_limb_t *tp)
{
    const size_t L = ctx->L;
    mp_limb_t *t = tp, *cv = tp + 2 * L;
    if (a == b)
        mpn_sqr(t, a, (mp_size_t)L);
    else
        mpn_mul_n(t, a, b, (mp_size_t)L);
    redc(r, t, ctx, cv);
}

void veil_mont_export(mp_limb_t *r, const mpz_t x, const veil_mont *ctx)
{
    size_t n = mpz_size(x);
    memset(r, 0, ctx->L * sizeof(mp_limb_t));
    if (n > 0)
        memcpy(r, x->_mp_d, n * sizeof(mp_limb_t));
}

void veil_mont_to(mp_limb_t *r, const mpz_t x, const veil_mont *ctx, mp_limb_t *tp)
{
    mp_limb_t *xl = tp + ctx->mul_scratch;
    veil_mont_export(xl, x, ctx);
    veil_mont_mul_sec(r, xl, ctx->r2, ctx, tp);
}

void veil_mont_from(mpz_t out, const mp_limb_t *a, const veil_mont *ctx, mp_limb_t *tp)
{
    mp_limb_t *one = tp + ctx->mul_scratch;
    memset(one, 0, ctx->L * sizeof(mp_limb_t));
    one[0] = 1;
    mp_limb_t *r = one + ctx->L;
    veil_mont_mul_sec(r, a, one, ctx, tp);
    mpz_import(out, ctx->L, -1, sizeof(mp_limb_t), 0, 0, r);
}
