/* Packing of value columns into Paillier plaintexts (query/qpack.h). */
#include "qpack.h"

#include <stdlib.h>
#include <string.h>

static size_t bits_u64(uint64_t v)
{
    size_t b = 0;
    while (v != 0) {
        b++;
        v >>= 1;
    }
    return b;
}

void veil_qpack_layout_free(veil_qpack_layout *l)
{
    if (l == NULL)
        return;
    free(l->ct_of);
    free(l->off_sum);
    free(l->off_sq);
    free(l->first_col);
    memset(l, 0, sizeof *l);
}

veil_status veil_qpack_layout_new(veil_qpack_layout *l, size_t ncols, uint64_t rows, int noise,
                                  unsigned key_bits, veil_err *err)
{
    memset(l, 0, sizeof *l);
    size_t grow = bits_u64(rows);
    if (noise && grow < VEIL_QPACK_NOISE_BITS)
        grow = VEIL_QPACK_NOISE_BITS;
    l->ncols = ncols;
    l->w_sum = 63 + grow + 2;
    l->w_sq = 126 + grow + 2;
    size_t cap = key_bits > 2 ? key_bits - 2 : 0;
    size_t per_col = l->w_sum + l->w_sq;
    if (ncols == 0)
        return VEIL_OK;
    if (per_col > cap)
        return veil_err_set(
            err, VEIL_ERR_USAGE,
            "a %u-bit key cannot hold one value column of %llu rows (needs %zu bits)", key_bits,
            (unsigned long long)rows, per_col + 2);
    size_t per_ct = cap / per_col;
    l->ncts = (ncols + per_ct - 1) / per_ct;
    l->ct_of = calloc(ncols, sizeof *l->ct_of);
    l->off_sum = calloc(ncols, sizeof *l->off_sum);
    l->off_sq = calloc(ncols, sizeof *l->off_sq);
    l->first_col = calloc(l->ncts + 1, sizeof *l->first_col);
    if (l->ct_of == NULL || l->off_sum == NULL || l->off_sq == NULL || l->first_col == NULL) {
        veil_qpack_layout_free(l);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < ncols; j++) {
        size_t k = j / per_ct, pos = j % per_ct;
        l->ct_of[j] = k;
        l->off_sum[j] = pos * per_col;
        l->off_sq[j] = pos * per_col + l->w_sum;
    }
    for (size_t k = 0; k <= l->ncts; k++)
        l->first_col[k] = k * per_ct < ncols ? k * per_ct : ncols;
    return VEIL_OK;
}

/* |v| < 2^(w-1) */
static int fits(const mpz_t v, size_t w)
{
    return mpz_sizeinbase(v, 2) < w || mpz_sgn(v) == 0;
}

veil_status veil_qpack_pack(mpz_t *m, const veil_qpack_layout *l, const mpz_t *sums,
                            const mpz_t *sqs, veil_err *err)
{
    mpz_t t;
    mpz_init(t);
    for (size_t k = 0; k < l->ncts; k++)
        mpz_set_ui(m[k], 0);
    veil_status st = VEIL_OK;
    for (size_t j = 0; j < l->ncols; j++) {
        if (!fits(sums[j], l->w_sum) || !fits(sqs[j], l->w_sq)) {
            st = veil_err_set(err, VEIL_ERR_INTERNAL, "column %zu: a value does not fit its slot",
                              j);
            break;
        }
        mpz_mul_2exp(t, sums[j], l->off_sum[j]);
        mpz_add(m[l->ct_of[j]], m[l->ct_of[j]], t);
        mpz_mul_2exp(t, sqs[j], l->off_sq[j]);
        mpz_add(m[l->ct_of[j]], m[l->ct_of[j]], t);
    }
    mpz_clear(t);
    return st;
}

/* Takes the lowest w bits of M as a signed slot into out and removes them. */
static void take_slot(mpz_t out, mpz_t M, size_t w)
{
    mpz_fdiv_r_2exp(out, M, w);
    if (mpz_tstbit(out, w - 1)) {
        mpz_t two;
        mpz_init(two);
        mpz_setbit(two, w);
        mpz_sub(out, out, two);
        mpz_clear(two);
    }
    mpz_sub(M, M, out);
    mpz_fdiv_q_2exp(M, M, w);
}

veil_status veil_qpack_unpack(mpz_t *sums, mpz_t *sqs, const veil_qpack_layout *l, size_t k,
                              const mpz_t M, veil_err *err)
{
    if (k >= l->ncts)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "plaintext %zu of %zu", k, l->ncts);
    mpz_t rest;
    mpz_init_set(rest, M);
    for (size_t j = l->first_col[k]; j < l->first_col[k + 1]; j++) {
        take_slot(sums[j], rest, l->w_sum);
        take_slot(sqs[j], rest, l->w_sq);
    }
    int ok = mpz_sgn(rest) == 0;
    mpz_clear(rest);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "plaintext %zu does not unpack into its slots (wrong layout or key)",
                            k);
    return VEIL_OK;
}

size_t veil_qpack_ct_bytes(const veil_paillier_pub *pk)
{
    mpz_t n2;
    mpz_init(n2);
    veil_paillier_pub_n2(n2, pk);
    size_t len = (mpz_sizeinbase(n2, 2) + 7) / 8;
    mpz_clear(n2);
    return len;
}

void veil_qpack_ct_export(uint8_t *out, size_t len, const mpz_t c)
{
    size_t n = (mpz_sizeinbase(c, 2) + 7) / 8;
    memset(out, 0, len);
    if (mpz_sgn(c) == 0 || n > len)
        return;
    mpz_export(out + (len - n), NULL, 1, 1, 1, 0, c);
}

void veil_qpack_ct_import(mpz_t c, const uint8_t *in, size_t len)
{
    mpz_import(c, len, 1, 1, 1, 0, in);
}
