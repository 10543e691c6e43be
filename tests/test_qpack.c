/* Packing of value columns into Paillier plaintexts (query/qpack.h):
 * layouts with known offsets, the too-wide error, pack/unpack round trips
 * at the slot edges with mixed signs, refusal of values that do not fit and
 * of residues that are not packings, and the property the query relies on:
 * the decrypted sum of packed ciphertexts unpacks into the per-column sums
 * and sums of squares computed in plaintext, with and without noise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "qpack.h"
#include "testutil.h"

static veil_paillier_priv *key;

static int suite_init(void)
{
    key = tu_fixed_key(1);
    return key == NULL ? -1 : 0;
}

static int suite_cleanup(void)
{
    veil_paillier_priv_free(key);
    return 0;
}

static void test_layout_known(void)
{
    veil_err err;
    veil_qpack_layout l;
    /* 1000 rows: 10 bits of growth. sum 63+10+2 = 75, sumsq 126+10+2 = 138;
     * 213 bits per column, 2046 usable bits: 9 columns per plaintext. */
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 20, 1000, 0, 2048, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.w_sum, 75);
    CU_ASSERT_EQUAL(l.w_sq, 138);
    CU_ASSERT_EQUAL(l.ncts, 3);
    CU_ASSERT_EQUAL(l.first_col[0], 0);
    CU_ASSERT_EQUAL(l.first_col[1], 9);
    CU_ASSERT_EQUAL(l.first_col[2], 18);
    CU_ASSERT_EQUAL(l.first_col[3], 20);
    CU_ASSERT_EQUAL(l.ct_of[8], 0);
    CU_ASSERT_EQUAL(l.ct_of[9], 1);
    CU_ASSERT_EQUAL(l.ct_of[19], 2);
    CU_ASSERT_EQUAL(l.off_sum[0], 0);
    CU_ASSERT_EQUAL(l.off_sq[0], 75);
    CU_ASSERT_EQUAL(l.off_sum[10], 213);
    CU_ASSERT_EQUAL(l.off_sq[10], 288);
    CU_ASSERT_EQUAL(l.off_sum[8], 8 * 213);
    veil_qpack_layout_free(&l);

    /* Noise on: the growth is at least 44 bits (109 + 172 = 281 per column,
     * 7 per plaintext); 2^50 rows grow by 51 bits instead. */
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 8, 1000, 1, 2048, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.w_sum, 109);
    CU_ASSERT_EQUAL(l.w_sq, 172);
    CU_ASSERT_EQUAL(l.ncts, 2);
    CU_ASSERT_EQUAL(l.first_col[1], 7);
    veil_qpack_layout_free(&l);
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 1, (uint64_t)1 << 50, 1, 2048, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(l.w_sum, 116);
    CU_ASSERT_EQUAL(l.ncts, 1);
    veil_qpack_layout_free(&l);

    /* 3072 bits: 3070 / 213 = 14 columns per plaintext. */
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 15, 1000, 0, 3072, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.ncts, 2);
    CU_ASSERT_EQUAL(l.first_col[1], 14);
    veil_qpack_layout_free(&l);

    /* No value columns (a count-only query): no plaintexts. */
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 0, 1000, 0, 2048, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.ncts, 0);
    veil_qpack_layout_free(&l);
}

static void test_layout_too_wide(void)
{
    veil_err err;
    veil_qpack_layout l;
    veil_status st = veil_qpack_layout_new(&l, 1, 1000, 0, 128, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE,
                  "a 128-bit key cannot hold one value column of 1000 rows (needs 215 bits)");
    CU_ASSERT_PTR_NULL(l.ct_of);
    /* Exactly enough: 213 slot bits + 2 sign bits. */
    CU_ASSERT_EQUAL(veil_qpack_layout_new(&l, 2, 1000, 0, 215, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.ncts, 2);
    veil_qpack_layout_free(&l);
    st = veil_qpack_layout_new(&l, 1, 1000, 0, 214, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "needs 215 bits");
}

/* v = sign * (2^bits - 1 - small), or a random value below 2^bits. */
static void edge_value(mpz_t v, size_t bits, unsigned kind, gmp_randstate_t rs)
{
    switch (kind % 5) {
    case 0:
        mpz_set_ui(v, 0);
        break;
    case 1:
        mpz_set_ui(v, 0);
        mpz_setbit(v, bits);
        mpz_sub_ui(v, v, 1);
        break;
    case 2:
        mpz_set_ui(v, 0);
        mpz_setbit(v, bits);
        mpz_sub_ui(v, v, 1);
        mpz_neg(v, v);
        break;
    case 3:
        mpz_set_si(v, -1);
        break;
    default:
        mpz_urandomb(v, rs, bits);
        if (kind & 8)
            mpz_neg(v, v);
        break;
    }
}

static void test_roundtrip_edges(void)
{
    veil_err err;
    veil_qpack_layout l;
    enum { NC = 11 };
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, NC, 3000, 0, 2048, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(l.ncts, 2);
    mpz_t sums[NC], sqs[NC], gs[NC], gq[NC], m[2], bound;
    for (size_t j = 0; j < NC; j++)
        mpz_inits(sums[j], sqs[j], gs[j], gq[j], NULL);
    mpz_inits(m[0], m[1], bound, NULL);
    mpz_setbit(bound, 2046);
    gmp_randstate_t rs;
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 20261207);
    for (unsigned round = 0; round < 400; round++) {
        for (size_t j = 0; j < NC; j++) {
            edge_value(sums[j], l.w_sum - 1, round * 7 + (unsigned)j, rs);
            edge_value(sqs[j], l.w_sq - 1, round * 3 + (unsigned)j * 5, rs);
        }
        CU_ASSERT_EQUAL_FATAL(veil_qpack_pack(m, &l, (const mpz_t *)sums, (const mpz_t *)sqs, &err),
                              VEIL_OK);
        for (size_t k = 0; k < l.ncts; k++) {
            mpz_t a;
            mpz_init(a);
            mpz_abs(a, m[k]);
            CU_ASSERT(mpz_cmp(a, bound) < 0); /* within the key's signed range */
            mpz_clear(a);
            CU_ASSERT_EQUAL_FATAL(veil_qpack_unpack(gs, gq, &l, k, m[k], &err), VEIL_OK);
        }
        for (size_t j = 0; j < NC; j++) {
            CU_ASSERT_EQUAL(mpz_cmp(gs[j], sums[j]), 0);
            CU_ASSERT_EQUAL(mpz_cmp(gq[j], sqs[j]), 0);
        }
    }
    gmp_randclear(rs);
    for (size_t j = 0; j < NC; j++)
        mpz_clears(sums[j], sqs[j], gs[j], gq[j], NULL);
    mpz_clears(m[0], m[1], bound, NULL);
    veil_qpack_layout_free(&l);
}

static void test_pack_refuses_wide(void)
{
    veil_err err;
    veil_qpack_layout l;
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 2, 1000, 0, 2048, &err), VEIL_OK);
    mpz_t sums[2], sqs[2], m;
    mpz_inits(sums[0], sums[1], sqs[0], sqs[1], m, NULL);
    mpz_setbit(sums[1], l.w_sum - 1); /* one bit too many */
    veil_status st = veil_qpack_pack(&m, &l, (const mpz_t *)sums, (const mpz_t *)sqs, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INTERNAL, "column 1: a value does not fit its slot");
    mpz_set_ui(sums[1], 0);
    mpz_setbit(sqs[0], l.w_sq - 1);
    mpz_neg(sqs[0], sqs[0]);
    st = veil_qpack_pack(&m, &l, (const mpz_t *)sums, (const mpz_t *)sqs, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INTERNAL, "column 0: a value does not fit its slot");
    mpz_clears(sums[0], sums[1], sqs[0], sqs[1], m, NULL);
    veil_qpack_layout_free(&l);
}

static void test_unpack_refuses(void)
{
    veil_err err;
    veil_qpack_layout l;
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, 2, 1000, 0, 2048, &err), VEIL_OK);
    mpz_t sums[2], sqs[2], M;
    mpz_inits(sums[0], sums[1], sqs[0], sqs[1], M, NULL);
    /* A bit above the last slot: not a packing (e.g. decrypted under a
     * layout for fewer rows or columns). */
    mpz_setbit(M, 2 * (l.w_sum + l.w_sq) + 3);
    veil_status st = veil_qpack_unpack(sums, sqs, &l, 0, M, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "plaintext 0 does not unpack into its slots");
    /* The same negated. */
    mpz_neg(M, M);
    st = veil_qpack_unpack(sums, sqs, &l, 0, M, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "does not unpack");
    st = veil_qpack_unpack(sums, sqs, &l, 1, M, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INTERNAL, "plaintext 1 of 1");
    mpz_clears(sums[0], sums[1], sqs[0], sqs[1], M, NULL);
    veil_qpack_layout_free(&l);
}

/* Encrypts `rows` rows of NC int64 columns packed as (v, v^2), adds the
 * ciphertexts (plus a packed noise ciphertext when noise is on), decrypts
 * and checks every slot against plaintext sums. */
static void homomorphic_case(size_t nc, size_t rows, int noise)
{
    veil_err err;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key);
    veil_qpack_layout l;
    CU_ASSERT_EQUAL_FATAL(veil_qpack_layout_new(&l, nc, rows, noise, 2048, &err), VEIL_OK);
    mpz_t *sums = malloc(nc * sizeof *sums), *sqs = malloc(nc * sizeof *sqs);
    mpz_t *ws = malloc(nc * sizeof *ws), *wq = malloc(nc * sizeof *wq);
    mpz_t *m = malloc(l.ncts * sizeof *m), *acc = malloc(l.ncts * sizeof *acc);
    CU_ASSERT_FATAL(sums && sqs && ws && wq && m && acc);
    for (size_t j = 0; j < nc; j++)
        mpz_inits(sums[j], sqs[j], ws[j], wq[j], NULL);
    for (size_t k = 0; k < l.ncts; k++) {
        mpz_init(m[k]);
        mpz_init_set_ui(acc[k], 1); /* E(0) with randomizer 1 */
    }
    mpz_t c;
    mpz_init(c);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < nc; j++) {
            int64_t v;
            switch ((r + j) % 4) {
            case 0:
                v = INT64_MAX;
                break;
            case 1:
                v = -INT64_MAX;
                break;
            default:
                randombytes_buf(&v, sizeof v);
                if (v == INT64_MIN)
                    v = 0;
                break;
            }
            mpz_set_si(sums[j], (long)v);
            mpz_mul(sqs[j], sums[j], sums[j]);
            mpz_add(ws[j], ws[j], sums[j]);
            mpz_add(wq[j], wq[j], sqs[j]);
        }
        CU_ASSERT_EQUAL_FATAL(veil_qpack_pack(m, &l, (const mpz_t *)sums, (const mpz_t *)sqs, &err),
                              VEIL_OK);
        for (size_t k = 0; k < l.ncts; k++) {
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m[k], pk, m[k], &err), VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, pk, m[k], &err), VEIL_OK);
            veil_paillier_add(acc[k], pk, acc[k], c);
        }
    }
    if (noise) {
        /* The largest noise the layout admits: sensitivity 2^63 times
         * 2^44 in sum slots, 2^126 times 2^44 in sum-of-squares slots,
         * with alternating signs. */
        for (size_t j = 0; j < nc; j++) {
            mpz_set_ui(sums[j], 0);
            mpz_setbit(sums[j], 63 + VEIL_QPACK_NOISE_BITS);
            mpz_set_ui(sqs[j], 0);
            mpz_setbit(sqs[j], 126 + VEIL_QPACK_NOISE_BITS);
            if (j % 2 == 0)
                mpz_neg(sums[j], sums[j]);
            else
                mpz_neg(sqs[j], sqs[j]);
            mpz_add(ws[j], ws[j], sums[j]);
            mpz_add(wq[j], wq[j], sqs[j]);
        }
        CU_ASSERT_EQUAL_FATAL(veil_qpack_pack(m, &l, (const mpz_t *)sums, (const mpz_t *)sqs, &err),
                              VEIL_OK);
        for (size_t k = 0; k < l.ncts; k++)
            veil_paillier_add_plain(acc[k], pk, acc[k], m[k]);
    }
    for (size_t k = 0; k < l.ncts; k++) {
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(c, key, acc[k], &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decode(c, pk, c, &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_qpack_unpack(sums, sqs, &l, k, c, &err), VEIL_OK);
    }
    for (size_t j = 0; j < nc; j++) {
        CU_ASSERT_EQUAL(mpz_cmp(sums[j], ws[j]), 0);
        CU_ASSERT_EQUAL(mpz_cmp(sqs[j], wq[j]), 0);
    }
    mpz_clear(c);
    for (size_t j = 0; j < nc; j++)
        mpz_clears(sums[j], sqs[j], ws[j], wq[j], NULL);
    for (size_t k = 0; k < l.ncts; k++)
        mpz_clears(m[k], acc[k], NULL);
    free(sums);
    free(sqs);
    free(ws);
    free(wq);
    free(m);
    free(acc);
    veil_qpack_layout_free(&l);
}

static void test_homomorphic_exact(void)
{
    homomorphic_case(3, 64, 0);  /* one plaintext per row */
    homomorphic_case(12, 20, 0); /* two plaintexts, a partial second */
}

static void test_homomorphic_noise(void)
{
    homomorphic_case(8, 24, 1); /* 7 columns per plaintext with noise on */
}

static void test_ct_bytes(void)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key);
    size_t len = veil_qpack_ct_bytes(pk);
    CU_ASSERT_EQUAL(len, 512);
    uint8_t *buf = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    mpz_t c, back, n2;
    mpz_inits(c, back, n2, NULL);
    /* 1: all zero bytes but the last. */
    mpz_set_ui(c, 1);
    veil_qpack_ct_export(buf, len, c);
    CU_ASSERT_EQUAL(buf[len - 1], 1);
    CU_ASSERT_EQUAL(buf[0], 0);
    CU_ASSERT_EQUAL(buf[len / 2], 0);
    veil_qpack_ct_import(back, buf, len);
    CU_ASSERT_EQUAL(mpz_cmp(back, c), 0);
    /* n^2 - 1 fills every byte; a fresh ciphertext round-trips. */
    veil_paillier_pub_n2(n2, pk);
    mpz_sub_ui(c, n2, 1);
    veil_qpack_ct_export(buf, len, c);
    CU_ASSERT_NOT_EQUAL(buf[0], 0);
    veil_qpack_ct_import(back, buf, len);
    CU_ASSERT_EQUAL(mpz_cmp(back, c), 0);
    veil_err err;
    mpz_set_si(back, -5);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(back, pk, back, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, pk, back, &err), VEIL_OK);
    veil_qpack_ct_export(buf, len, c);
    veil_qpack_ct_import(back, buf, len);
    CU_ASSERT_EQUAL(mpz_cmp(back, c), 0);
    mpz_clears(c, back, n2, NULL);
    free(buf);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    static const tu_test tests[] = {
        {"layouts: widths, offsets, plaintexts per row", test_layout_known},
        {"a column wider than the key", test_layout_too_wide},
        {"pack/unpack round trip at the slot edges", test_roundtrip_edges},
        {"pack refuses a value wider than its slot", test_pack_refuses_wide},
        {"unpack refuses what is not a packing", test_unpack_refuses},
        {"decrypted sum of packed rows = plaintext sums", test_homomorphic_exact},
        {"with the largest admitted noise", test_homomorphic_noise},
        {"fixed-length ciphertext bytes", test_ct_bytes},
        {NULL, NULL},
    };
    return tu_main("qpack", suite_init, suite_cleanup, tests);
}
