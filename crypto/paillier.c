/* Paillier encryption, CRT decryption and homomorphic operations. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "paillier_internal.h"
#include "veil/rand.h"

/* All-ones when x == 0, else zero; no branch on x. */
static inline mp_limb_t ct_is_zero(mp_limb_t x)
{
    return (mp_limb_t)0 - ((~x & (x - 1)) >> (GMP_NUMB_BITS - 1));
}

/* Bits [pos, pos + w) of the little-endian byte string e (w <= 8). */
static unsigned window_digit(const uint8_t *e, size_t elen, size_t pos, unsigned w)
{
    unsigned v = 0;
    for (unsigned k = 0; k < w; k++) {
        size_t bit = pos + k;
        size_t byte = bit / 8;
        /* Index is public (it depends only on the position). */
        unsigned b = byte < elen ? (e[byte] >> (bit % 8)) & 1u : 0u;
        v |= b << k;
    }
    return v;
}

/* The secret DJN exponent: djn_exp_bits uniform bits, little-endian. */
void veil_djn_exponent(uint8_t *e, const veil_paillier_pub *pk)
{
    const size_t elen = (pk->djn_exp_bits + 7) / 8;
    randombytes_buf(e, elen);
    unsigned extra = (unsigned)(elen * 8 - pk->djn_exp_bits);
    e[elen - 1] &= (uint8_t)(0xffu >> extra);
}

void veil_djn_randomizer_exp(mpz_t rho, const veil_paillier_pub *pk, const uint8_t *e)
{
    /* With the IFMA engine the 8 lanes share the windows of this one
     * exponent (veil_mb_fixed_base_one): same value, a fifth of the time. */
    if (veil_mb_active() && pk->mb_ok &&
        veil_mb_fixed_base_one(rho, pk->djn_table, pk->djn_win, pk->djn_nwin, e,
                               (pk->djn_exp_bits + 7) / 8, pk->djn_mb_init, &pk->mb) == 0)
        return;
    veil_djn_randomizer_exp_scalar(rho, pk, e);
}

void veil_djn_randomizer_exp_scalar(mpz_t rho, const veil_paillier_pub *pk, const uint8_t *e)
{
    const veil_mont *mc = &pk->mont;
    const size_t L = pk->limbs;
    const size_t entries = (size_t)1 << pk->djn_win;
    const size_t elen = (pk->djn_exp_bits + 7) / 8;
    /* acc (L), sel (L), scratch */
    size_t total = 2 * L + mc->scratch;
    mp_limb_t *mem = malloc(total * sizeof(mp_limb_t));
    if (mem == NULL)
        abort();
    mp_limb_t *acc = mem, *sel = mem + L, *scratch = mem + 2 * L;

    memcpy(acc, mc->one, L * sizeof(mp_limb_t));
    for (size_t i = 0; i < pk->djn_nwin; i++) {
        unsigned d = window_digit(e, elen, i * pk->djn_win, pk->djn_win);
        const mp_limb_t *row = pk->djn_table + i * entries * L;
        memset(sel, 0, L * sizeof(mp_limb_t));
        /* Read every entry; keep the one whose index equals d. */
        for (size_t j = 0; j < entries; j++) {
            mp_limb_t mask = ct_is_zero((mp_limb_t)(j ^ d));
            const mp_limb_t *ent = row + j * L;
            for (size_t k = 0; k < L; k++)
                sel[k] |= ent[k] & mask;
        }
        veil_mont_mul_sec(acc, acc, sel, mc, scratch);
    }
    veil_mont_from(rho, acc, mc, scratch);
    sodium_memzero(mem, total * sizeof(mp_limb_t));
    free(mem);
}

void veil_djn_randomizer(mpz_t rho, const veil_paillier_pub *pk)
{
    uint8_t e[VEIL_DJN_MAX_EXP_BYTES];
    veil_djn_exponent(e, pk);
    veil_djn_randomizer_exp(rho, pk, e);
    sodium_memzero(e, sizeof e);
}

/* r^n mod n^2 for a uniform unit r. */
static void textbook_randomizer(mpz_t rho, const veil_paillier_pub *pk)
{
    mpz_t r, g;
    mpz_inits(r, g, NULL);
    do {
        veil_rand_mpz_below(r, pk->n);
        mpz_gcd(g, r, pk->n);
    } while (mpz_sgn(r) == 0 || mpz_cmp_ui(g, 1) != 0);
    mpz_powm(rho, r, pk->n, pk->n2);
    veil_mpz_wipe(r);
    mpz_clear(g);
}

void veil_paillier_randomizer(mpz_t rho, const veil_paillier_pub *pk)
{
    if (pk->djn)
        veil_djn_randomizer(rho, pk);
    else
        textbook_randomizer(rho, pk);
}

veil_status veil_paillier_check_ct(const veil_paillier_pub *pk, const mpz_t c, veil_err *err)
{
    if (mpz_sgn(c) <= 0 || mpz_cmp(c, pk->n2) >= 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "ciphertext is out of range (must be in (0, n^2))");
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, c, pk->n);
    int ok = mpz_cmp_ui(g, 1) == 0;
    mpz_clear(g);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "ciphertext is not invertible (shares a factor with n)");
    return VEIL_OK;
}

veil_status veil_paillier_check_plain(const veil_paillier_pub *pk, const mpz_t m, veil_err *err)
{
    if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "plaintext residue is outside [0, n)");
    return VEIL_OK;
}

void veil_paillier_encrypt_with(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                const mpz_t rho)
{
    mpz_t t;
    mpz_init(t);
    mpz_mul(t, m, pk->n);
    mpz_add_ui(t, t, 1);
    mpz_mul(c, t, rho);
    mpz_mod(c, c, pk->n2);
    veil_mpz_wipe(t);
}

veil_status veil_paillier_encrypt(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                  veil_err *err)
{
    veil_status st = veil_paillier_check_plain(pk, m, err);
    if (st != VEIL_OK)
        return st;
    mpz_t rho;
    mpz_init(rho);
    veil_paillier_randomizer(rho, pk);
    veil_paillier_encrypt_with(c, pk, m, rho);
    veil_mpz_wipe(rho);
    return VEIL_OK;
}

veil_status veil_paillier_encrypt_textbook(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                           veil_err *err)
{
    veil_status st = veil_paillier_check_plain(pk, m, err);
    if (st != VEIL_OK)
        return st;
    mpz_t rho;
    mpz_init(rho);
    textbook_randomizer(rho, pk);
    veil_paillier_encrypt_with(c, pk, m, rho);
    veil_mpz_wipe(rho);
    return VEIL_OK;
}

/* t = (c mod p^2)^(p-1) mod p^2 with OpenSSL's constant-time Montgomery
 * exponentiation (fixed window, scatter/gather table; measured faster than
 * mpz_powm_sec at these sizes, see benchmarks/README.md). */
static int powm_half(mpz_t t, const mpz_t c, const mpz_t p2, const BIGNUM *bn_p2,
                     const BIGNUM *bn_e, BN_MONT_CTX *mont, BN_CTX *ctx)
{
    uint8_t buf[1024]; /* p^2 has at most 4096 bits */
    mpz_mod(t, c, p2);
    size_t len = (mpz_sizeinbase(t, 2) + 7) / 8;
    if (len > sizeof buf)
        return 0;
    mpz_export(buf, &len, 1, 1, 1, 0, t);
    BN_CTX_start(ctx);
    BIGNUM *base = BN_CTX_get(ctx), *r = BN_CTX_get(ctx);
    int ok = r != NULL && BN_bin2bn(buf, (int)len, base) != NULL &&
             BN_mod_exp_mont_consttime(r, base, bn_e, bn_p2, ctx, mont);
    int rlen = ok ? BN_num_bytes(r) : 0;
    ok = ok && rlen <= (int)sizeof buf && BN_bn2bin(r, buf) == rlen;
    if (ok)
        mpz_import(t, (size_t)rlen, 1, 1, 1, 0, buf);
    BN_CTX_end(ctx);
    sodium_memzero(buf, sizeof buf);
    return ok;
}

/* m_p = L_p(t) * h_p mod p for t = c^(p-1) mod p^2. */
static void finish_half(mpz_t out, mpz_t t, const mpz_t p, const mpz_t hp)
{
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, p);
    mpz_mul(t, t, hp);
    mpz_mod(out, t, p);
}

veil_status veil_paillier_decrypt(mpz_t m, const veil_paillier_priv *sk, const mpz_t c,
                                  veil_err *err)
{
    veil_status st = veil_paillier_check_ct(sk->pub, c, err);
    if (st != VEIL_OK)
        return st;
    mpz_t mp, mq;
    mpz_inits(mp, mq, NULL);
    /* The IFMA engine with the lanes across one number, both halves in one
     * loop (veil_mb_powm_pair), else OpenSSL (benchmarks/README.md). */
    if (veil_mb_active() && sk->mb_ok) {
        mpz_mod(mp, c, sk->p2);
        mpz_mod(mq, c, sk->q2);
        if (veil_mb_powm_pair(mp, mp, sk->pm1_bytes, (sk->pm1_bits + 7) / 8, sk->pm1_bits,
                              &sk->mb_p2, mq, mq, sk->qm1_bytes, (sk->qm1_bits + 7) / 8,
                              sk->qm1_bits, &sk->mb_q2) == 0 ||
            (veil_mb_powm_one(mp, mp, sk->pm1_bytes, (sk->pm1_bits + 7) / 8, sk->pm1_bits,
                              &sk->mb_p2) == 0 &&
             veil_mb_powm_one(mq, mq, sk->qm1_bytes, (sk->qm1_bits + 7) / 8, sk->qm1_bits,
                              &sk->mb_q2) == 0)) {
            veil_paillier_crt_finish(m, sk, mp, mq);
            veil_mpz_wipe(mp);
            veil_mpz_wipe(mq);
            return VEIL_OK;
        }
    }
    BN_CTX *ctx = BN_CTX_secure_new();
    int ok = ctx != NULL && powm_half(mp, c, sk->p2, sk->bn_p2, sk->bn_pm1, sk->mont_p2, ctx) &&
             powm_half(mq, c, sk->q2, sk->bn_q2, sk->bn_qm1, sk->mont_q2, ctx);
    BN_CTX_free(ctx);
    if (!ok) {
        veil_mpz_wipe(mp);
        veil_mpz_wipe(mq);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory (OpenSSL)");
    }
    veil_paillier_crt_finish(m, sk, mp, mq);
    veil_mpz_wipe(mp);
    veil_mpz_wipe(mq);
    return VEIL_OK;
}

void veil_paillier_crt_finish(mpz_t m, const veil_paillier_priv *sk, mpz_t tp, mpz_t tq)
{
    finish_half(tp, tp, sk->p, sk->hp);
    finish_half(tq, tq, sk->q, sk->hq);
    /* m = mp + p * ((mq - mp) * p^-1 mod q) */
    mpz_sub(tq, tq, tp);
    mpz_mul(tq, tq, sk->pinv);
    mpz_mod(tq, tq, sk->q);
    mpz_mul(tq, tq, sk->p);
    mpz_add(m, tq, tp);
}

void veil_paillier_add(mpz_t r, const veil_paillier_pub *pk, const mpz_t a, const mpz_t b)
{
    /* The IFMA engine with the lanes across one number: two Montgomery
     * multiplications without a division (veil_mb_mulmod_one). */
    if (veil_mb_active() && pk->mb_ok && mpz_cmp(a, pk->n2) < 0 && mpz_cmp(b, pk->n2) < 0 &&
        veil_mb_mulmod_one(r, a, b, &pk->mb) == 0)
        return;
    mpz_mul(r, a, b);
    mpz_mod(r, r, pk->n2);
}

int veil_paillier_add_many(mpz_t r, const veil_paillier_pub *pk, const mpz_t *c, size_t count)
{
    if (count >= 2 * VEIL_MB_LANES && veil_mb_active() && pk->mb_ok)
        return veil_paillier_add_many_mb(r, pk, c, count);
    mpz_t acc;
    mpz_init_set_ui(acc, 1);
    for (size_t i = 0; i < count; i++)
        veil_paillier_add(acc, pk, acc, c[i]);
    mpz_swap(r, acc);
    mpz_clear(acc);
    return 0;
}

veil_status veil_paillier_sub(mpz_t r, const veil_paillier_pub *pk, const mpz_t a, const mpz_t b,
                              veil_err *err)
{
    mpz_t inv;
    mpz_init(inv);
    if (mpz_invert(inv, b, pk->n2) == 0) {
        mpz_clear(inv);
        return veil_err_set(err, VEIL_ERR_CRYPTO, "ciphertext is not invertible");
    }
    mpz_mul(r, a, inv);
    mpz_mod(r, r, pk->n2);
    mpz_clear(inv);
    return VEIL_OK;
}

void veil_paillier_add_plain(mpz_t r, const veil_paillier_pub *pk, const mpz_t c, const mpz_t k)
{
    mpz_t t;
    mpz_init(t);
    mpz_mod(t, k, pk->n);
    mpz_mul(t, t, pk->n);
    mpz_add_ui(t, t, 1);
    mpz_mul(r, c, t);
    mpz_mod(r, r, pk->n2);
    mpz_clear(t);
}

int veil_paillier_scalar_exponent(mpz_t e, const veil_paillier_pub *pk, const mpz_t k)
{
    /* Work with the smaller of |k| and n - |k|: a negative scalar costs an
     * exponentiation by |k| and one inversion, not a full-size exponent. */
    mpz_mod(e, k, pk->n);
    int negate = 0;
    mpz_t half;
    mpz_init(half);
    mpz_fdiv_q_2exp(half, pk->n, 1);
    if (mpz_cmp(e, half) > 0) {
        mpz_sub(e, pk->n, e);
        negate = 1;
    }
    mpz_clear(half);
    return negate;
}

veil_status veil_paillier_mul_scalar(mpz_t r, const veil_paillier_pub *pk, const mpz_t c,
                                     const mpz_t k, veil_err *err)
{
    mpz_t e;
    mpz_init(e);
    int negate = veil_paillier_scalar_exponent(e, pk, k);
    mpz_powm(r, c, e, pk->n2);
    mpz_clear(e);
    if (negate && mpz_invert(r, r, pk->n2) == 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "ciphertext is not invertible");
    return VEIL_OK;
}

void veil_paillier_rerandomize(mpz_t r, const veil_paillier_pub *pk, const mpz_t c)
{
    mpz_t rho;
    mpz_init(rho);
    veil_paillier_randomizer(rho, pk);
    mpz_mul(r, c, rho);
    mpz_mod(r, r, pk->n2);
    veil_mpz_wipe(rho);
}

veil_status veil_paillier_encode(mpz_t m, const veil_paillier_pub *pk, const mpz_t v, veil_err *err)
{
    if (mpz_cmpabs(v, pk->max_int) > 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "value is too large for a %u-bit key (|v| must be <= n/3)", pk->bits);
    mpz_mod(m, v, pk->n);
    return VEIL_OK;
}

veil_status veil_paillier_decode(mpz_t v, const veil_paillier_pub *pk, const mpz_t m, veil_err *err)
{
    if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "plaintext residue is outside [0, n)");
    if (mpz_cmp(m, pk->max_int) <= 0) {
        mpz_set(v, m);
        return VEIL_OK;
    }
    mpz_t neg;
    mpz_init(neg);
    mpz_sub(neg, pk->n, pk->max_int);
    int ok = mpz_cmp(m, neg) >= 0;
    mpz_clear(neg);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "overflow: the decrypted value is outside the encodable range; "
                            "the computation exceeded the key's plaintext space");
    mpz_sub(v, m, pk->n);
    return VEIL_OK;
}
