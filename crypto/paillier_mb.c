/* Paillier operations on groups of eight values through the IFMA engine
 * (mb52.h): CRT decryption (c^(p-1) mod p^2 and c^(q-1) mod q^2 with the
 * windowed constant-time exponentiation, the key's exponent shared by all
 * lanes), DJN encryption (hs^a mod n^2 from the key's fixed-base table, one
 * secret a per lane) and scalar multiplication (c^e mod n^2, one public e
 * per lane). The arithmetic outside the exponentiations (the reduction c mod
 * p^2, L(x) h mod p, the CRT recombination, (1 + m n) rho, the scalar's
 * reduction mod n and the inversion of negated lanes) is the scalar code's
 * own, so results are those of the scalar path. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "paillier_internal.h"
#include "veil/rand.h"

typedef struct {
    mpz_t v[VEIL_MB_LANES];
    const mpz_t *in[VEIL_MB_LANES];
    mpz_t *out[VEIL_MB_LANES];
} lane_set;

static void lanes_init(lane_set *x)
{
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        mpz_init(x->v[l]);
        x->in[l] = (const mpz_t *)&x->v[l];
        x->out[l] = &x->v[l];
    }
}

static void lanes_wipe(lane_set *x)
{
    for (int l = 0; l < VEIL_MB_LANES; l++)
        veil_mpz_wipe(x->v[l]);
}

/* t[lane] = (c[lane] mod m2)^e mod m2 (padding lanes: 1^e). */
static int half_powers(lane_set *t, const mpz_t *const c[VEIL_MB_LANES], const mpz_t m2,
                       const veil_mb_ctx *ctx, const uint8_t *e, size_t ebits)
{
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        if (c[l] != NULL)
            mpz_mod(t->v[l], *c[l], m2);
        else
            mpz_set_ui(t->v[l], 1);
    }
    uint64_t *buf = veil_mb_alloc(ctx, 1);
    if (buf == NULL)
        return -1;
    const uint8_t *eb[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++)
        eb[l] = e;
    veil_mb_load(buf, t->in, ctx);
    int rc = veil_mb_powm(buf, buf, eb, (ebits + 7) / 8, ebits, ctx);
    if (rc == 0)
        veil_mb_store(t->out, buf, ctx);
    veil_mb_free(ctx, buf, 1);
    return rc;
}

int veil_paillier_decrypt_mb(mpz_t *const m[VEIL_MB_LANES], const veil_paillier_priv *sk,
                             const mpz_t *const c[VEIL_MB_LANES])
{
    lane_set tp, tq;
    lanes_init(&tp);
    lanes_init(&tq);
    int rc = half_powers(&tp, c, sk->p2, &sk->mb_p2, sk->pm1_bytes, sk->pm1_bits);
    if (rc == 0)
        rc = half_powers(&tq, c, sk->q2, &sk->mb_q2, sk->qm1_bytes, sk->qm1_bits);
    if (rc == 0)
        for (int l = 0; l < VEIL_MB_LANES; l++)
            if (m[l] != NULL)
                veil_paillier_crt_finish(*m[l], sk, tp.v[l], tq.v[l]);
    lanes_wipe(&tp);
    lanes_wipe(&tq);
    return rc;
}

int veil_djn_randomizers_mb(mpz_t *const rho[VEIL_MB_LANES], const veil_paillier_pub *pk,
                            const uint8_t *const e[VEIL_MB_LANES])
{
    const veil_mb_ctx *ctx = &pk->mb;
    uint64_t *buf = veil_mb_alloc(ctx, 1);
    if (buf == NULL)
        return -1;
    int rc = veil_mb_fixed_base(buf, pk->djn_table, pk->djn_win, pk->djn_nwin, e,
                                (pk->djn_exp_bits + 7) / 8, ctx);
    if (rc == 0)
        veil_mb_store(rho, buf, ctx);
    veil_mb_free(ctx, buf, 1);
    return rc;
}

int veil_paillier_encrypt_mb(mpz_t *const c[VEIL_MB_LANES], const veil_paillier_pub *pk,
                             const mpz_t *const m[VEIL_MB_LANES])
{
    uint8_t e[VEIL_MB_LANES][VEIL_DJN_MAX_EXP_BYTES];
    const uint8_t *eb[VEIL_MB_LANES];
    lane_set rho;
    lanes_init(&rho);
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        /* Padding lanes get exponent 0: their result is thrown away. */
        if (m[l] != NULL)
            veil_djn_exponent(e[l], pk);
        else
            memset(e[l], 0, sizeof e[l]);
        eb[l] = e[l];
    }
    int rc = veil_djn_randomizers_mb(rho.out, pk, eb);
    if (rc == 0)
        for (int l = 0; l < VEIL_MB_LANES; l++)
            if (m[l] != NULL)
                veil_paillier_encrypt_with(*c[l], pk, *m[l], rho.v[l]);
    sodium_memzero(e, sizeof e);
    lanes_wipe(&rho);
    return rc;
}

int veil_paillier_add_many_mb(mpz_t r, const veil_paillier_pub *pk, const mpz_t *c, size_t count)
{
    const veil_mb_ctx *ctx = &pk->mb;
    uint64_t *acc = veil_mb_alloc(ctx, 2);
    if (acc == NULL)
        return -1;
    uint64_t *tmp = acc + ctx->N * VEIL_MB_LANES;
    mpz_t one;
    mpz_init_set_ui(one, 1);
    const mpz_t *in[VEIL_MB_LANES];
    /* Lane l multiplies c[l], c[l + 8], ...; a group short of eight pads
     * its lanes with 1, so every lane takes the same number of
     * multiplications, each adding a factor R^-1 (R = 2^(52 N)). */
    size_t steps = 0;
    for (size_t base = 0; base < count; base += VEIL_MB_LANES) {
        for (int l = 0; l < VEIL_MB_LANES; l++)
            in[l] = base + (size_t)l < count ? &c[base + (size_t)l] : (const mpz_t *)&one;
        if (base == 0) {
            veil_mb_load(acc, in, ctx);
            continue;
        }
        veil_mb_load(tmp, in, ctx);
        veil_mb_mul(acc, acc, tmp, ctx);
        steps++;
    }
    veil_mb_reduce(acc, ctx);
    mpz_t lane[VEIL_MB_LANES], fix;
    mpz_t *out[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        mpz_init(lane[l]);
        out[l] = &lane[l];
    }
    veil_mb_store(out, acc, ctx);
    veil_mb_free(ctx, acc, 2);
    /* The eight lanes' product carries R^-(8 steps): multiply by
     * R^(8 steps) mod n^2. */
    mpz_init(fix);
    mpz_setbit(fix, (mp_bitcnt_t)(52 * ctx->N));
    mpz_mod(fix, fix, pk->n2);
    mpz_powm_ui(fix, fix, (unsigned long)(VEIL_MB_LANES * steps), pk->n2);
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        mpz_mul(fix, fix, lane[l]);
        mpz_mod(fix, fix, pk->n2);
        mpz_clear(lane[l]);
    }
    mpz_swap(r, fix);
    mpz_clears(fix, one, NULL);
    return 0;
}

int veil_paillier_mul_scalar_mb(mpz_t *const r[VEIL_MB_LANES], const veil_paillier_pub *pk,
                                const mpz_t *const c[VEIL_MB_LANES],
                                const mpz_t *const k[VEIL_MB_LANES])
{
    const veil_mb_ctx *ctx = &pk->mb;
    lane_set e;
    int negate[VEIL_MB_LANES] = {0};
    size_t ebits = 1;
    lanes_init(&e);
    /* Reduce every scalar first (r may alias c or k): e[lane] as the scalar
     * path computes it; padding lanes get e = 0. The scalars are public, so
     * the common length is the longest of the group. */
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        if (c[l] == NULL)
            continue;
        negate[l] = veil_paillier_scalar_exponent(e.v[l], pk, *k[l]);
        size_t bits = mpz_sizeinbase(e.v[l], 2);
        if (bits > ebits)
            ebits = bits;
    }
    const size_t elen = (ebits + 7) / 8;
    uint8_t *bytes = calloc(VEIL_MB_LANES, elen);
    uint64_t *buf = veil_mb_alloc(ctx, 1);
    int rc = -1;
    if (bytes == NULL || buf == NULL)
        goto done;
    const uint8_t *eb[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        eb[l] = bytes + (size_t)l * elen;
        if (mpz_sgn(e.v[l]) != 0)
            mpz_export(bytes + (size_t)l * elen, NULL, -1, 1, 0, 0, e.v[l]);
    }
    /* Checked ciphertexts are in (0, n^2): loaded as they are. */
    veil_mb_load(buf, c, ctx);
    rc = veil_mb_powm(buf, buf, eb, elen, ebits, ctx);
    if (rc != 0)
        goto done;
    veil_mb_store(e.out, buf, ctx);
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        if (c[l] == NULL)
            continue;
        /* A ciphertext coprime to n gives an invertible power. */
        if (negate[l] && mpz_invert(e.v[l], e.v[l], pk->n2) == 0) {
            rc = 1 + l;
            goto done;
        }
    }
    for (int l = 0; l < VEIL_MB_LANES; l++)
        if (c[l] != NULL)
            mpz_swap(*r[l], e.v[l]);
done:
    free(bytes);
    if (buf != NULL)
        veil_mb_free(ctx, buf, 1);
    for (int l = 0; l < VEIL_MB_LANES; l++)
        mpz_clear(e.v[l]);
    return rc;
}
