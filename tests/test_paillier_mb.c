/* Paillier through the IFMA engine (crypto/paillier_mb.c, the engine path
 * of crypto/batch.c): decryption equals the scalar path bit for bit, DJN
 * randomizers from the same exponents are equal on both paths, encryptions
 * decrypt to their plaintexts, partial groups of 1..7 work, and errors
 * still name the lowest failing index. Registered twice (tests/
 * CMakeLists.txt): the second run has VEIL_ENGINE=scalar, where the batch
 * tests compare the scalar path with itself and the engine-only tests
 * still call the engine directly. On a CPU without AVX512-IFMA the
 * engine-only tests pass with a message saying they were skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paillier_internal.h"
#include "testutil.h"
#include "veil/batch.h"
#include "veil/engine.h"
#include "veil/rand.h"

static veil_paillier_priv *g_sk, *g_sk3;

static int suite_init(void)
{
    g_sk = tu_fixed_key(1);
    g_sk3 = tu_random_key(3072, 1);
    return g_sk == NULL || g_sk3 == NULL;
}

static int suite_cleanup(void)
{
    veil_paillier_priv_free(g_sk);
    veil_paillier_priv_free(g_sk3);
    return 0;
}

static int skip(const char *what)
{
    if (veil_mb_cpu_ok())
        return 0;
    printf("\n  skipped (%s): this CPU has no AVX512-IFMA\n", what);
    return 1;
}

static mpz_t *vec_new(size_t count)
{
    mpz_t *v = malloc((count ? count : 1) * sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < count; i++)
        mpz_init(v[i]);
    return v;
}

static void vec_free(mpz_t *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mpz_clear(v[i]);
    free(v);
}

/* Plaintext residue number i: 0, 1, n - 1, small, and random values. */
static void plain_value(mpz_t m, const veil_paillier_pub *pk, size_t i)
{
    mpz_t n;
    mpz_init(n);
    veil_paillier_pub_n(n, pk);
    switch (i % 5) {
    case 0: mpz_set_ui(m, 0); break;
    case 1: mpz_set_ui(m, 1); break;
    case 2: mpz_sub_ui(m, n, 1); break;
    case 3: mpz_set_ui(m, (unsigned long)i); break;
    default: veil_rand_mpz_below(m, n);
    }
    mpz_clear(n);
}

static void test_engine_selection(void)
{
    veil_engine e, saved = veil_engine_selected();
    CU_ASSERT_EQUAL(veil_engine_parse("scalar", &e), 0);
    CU_ASSERT_EQUAL(e, VEIL_ENGINE_SCALAR);
    CU_ASSERT_EQUAL(veil_engine_parse("auto", &e), 0);
    CU_ASSERT_EQUAL(e, VEIL_ENGINE_AUTO);
    CU_ASSERT_EQUAL(veil_engine_parse(NULL, &e), 0);
    CU_ASSERT_EQUAL(veil_engine_parse("avx", &e), -1);
    veil_engine_select(VEIL_ENGINE_SCALAR);
    CU_ASSERT_STRING_EQUAL(veil_engine_name(), "scalar");
    CU_ASSERT_EQUAL(veil_mb_active(), 0);
    veil_engine_select(VEIL_ENGINE_AUTO);
    CU_ASSERT_STRING_EQUAL(veil_engine_name(), veil_mb_cpu_ok() ? "ifma" : "scalar");
    CU_ASSERT_EQUAL(veil_engine_ifma_supported(), veil_mb_cpu_ok());
    veil_engine_select(saved);
}

/* A full group and every partial group: engine decryption equals scalar
 * decryption bit for bit, at 2048 and 3072 bits. */
static void test_decrypt_group_equals_scalar(void)
{
    if (skip("decrypt group"))
        return;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    veil_engine saved = veil_engine_selected();
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_priv *sk = keys[kk];
        const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
        CU_ASSERT_FATAL(sk->mb_ok && pk->mb_ok);
        mpz_t *m = vec_new(8), *c = vec_new(8), *d = vec_new(8), want;
        mpz_init(want);
        veil_err err;
        for (size_t i = 0; i < 8; i++) {
            plain_value(m[i], pk, i);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], pk, m[i], &err), VEIL_OK);
        }
        /* The ciphertext 1 and n^2 - 1 are valid too. */
        mpz_set_ui(c[6], 1);
        veil_paillier_pub_n2(c[7], pk);
        mpz_sub_ui(c[7], c[7], 1);
        for (size_t k = 1; k <= 8; k++) {
            const mpz_t *in[VEIL_MB_LANES] = {NULL};
            mpz_t *out[VEIL_MB_LANES] = {NULL};
            for (size_t l = 0; l < k; l++) {
                in[l] = &c[l];
                out[l] = &d[l];
                mpz_set_ui(d[l], 777);
            }
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt_mb(out, sk, in), 0);
            for (size_t l = 0; l < k; l++) {
                veil_engine_select(VEIL_ENGINE_SCALAR); /* OpenSSL's half-powers */
                CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(want, sk, c[l], &err), VEIL_OK);
                veil_engine_select(saved);
                CU_ASSERT(mpz_cmp(want, d[l]) == 0);
                if (l < 6)
                    CU_ASSERT(mpz_cmp(m[l], d[l]) == 0);
            }
        }
        mpz_clear(want);
        vec_free(m, 8);
        vec_free(c, 8);
        vec_free(d, 8);
    }
}

/* A single decryption on the engine (veil_mb_powm_pair for the two CRT
 * halves) equals OpenSSL's path bit for bit: encryptions of edge, small,
 * negative (encoded) and random plaintexts, the ciphertexts 1 and n^2 - 1,
 * and random units that are no one's encryption; both keys sizes. */
static void test_decrypt_one_equals_openssl(void)
{
    if (skip("decrypt one"))
        return;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    veil_engine saved = veil_engine_selected();
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_priv *sk = keys[kk];
        const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
        CU_ASSERT_FATAL(sk->mb_ok);
        mpz_t m, c, n2, on, off;
        mpz_inits(m, c, n2, on, off, NULL);
        veil_paillier_pub_n2(n2, pk);
        veil_err err;
        int bad = 0, wrong = 0;
        for (size_t i = 0; i < 40; i++) {
            if (i < 30) {
                if (i % 6 == 5) {
                    mpz_set_si(off, -(long)(i * 1000003u));
                    CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m, pk, off, &err), VEIL_OK);
                } else {
                    plain_value(m, pk, i);
                }
                veil_engine_select(VEIL_ENGINE_AUTO);
                CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, pk, m, &err), VEIL_OK);
            } else if (i == 30) {
                mpz_set_ui(c, 1);
            } else if (i == 31) {
                mpz_sub_ui(c, n2, 1);
            } else {
                do
                    veil_rand_mpz_below(c, n2);
                while (veil_paillier_check_ct(pk, c, &err) != VEIL_OK);
            }
            veil_engine_select(VEIL_ENGINE_AUTO);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(on, sk, c, &err), VEIL_OK);
            veil_engine_select(VEIL_ENGINE_SCALAR);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(off, sk, c, &err), VEIL_OK);
            bad += mpz_cmp(on, off) != 0;
            if (i < 30)
                wrong += mpz_cmp(on, m) != 0;
        }
        veil_engine_select(saved);
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(wrong, 0);
        mpz_clears(m, c, n2, on, off, NULL);
    }
}

/* The test hook: the same eight exponents (edge values included) give the
 * same randomizers on the engine and on the scalar path. */
static void test_djn_same_exponents_same_randomizers(void)
{
    if (skip("DJN randomizers"))
        return;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_pub *pk = veil_paillier_priv_pub(keys[kk]);
        const size_t elen = (pk->djn_exp_bits + 7) / 8;
        uint8_t e[VEIL_MB_LANES][VEIL_DJN_MAX_EXP_BYTES];
        const uint8_t *eb[VEIL_MB_LANES];
        mpz_t *rho = vec_new(8), want;
        mpz_t *out[VEIL_MB_LANES];
        mpz_init(want);
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            memset(e[l], 0, sizeof e[l]);
            if (l == 1)
                e[l][0] = 1;
            else if (l == 2) {
                memset(e[l], 0xff, elen);
                e[l][elen - 1] &= (uint8_t)(0xffu >> (elen * 8 - pk->djn_exp_bits));
            } else if (l > 2)
                veil_djn_exponent(e[l], pk);
            eb[l] = e[l];
            out[l] = &rho[l];
        }
        CU_ASSERT_EQUAL_FATAL(veil_djn_randomizers_mb(out, pk, eb), 0);
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            veil_djn_randomizer_exp_scalar(want, pk, e[l]);
            CU_ASSERT(mpz_cmp(want, rho[l]) == 0);
        }
        CU_ASSERT(mpz_cmp_ui(rho[0], 1) == 0); /* hs^0 */
        mpz_clear(want);
        vec_free(rho, 8);
    }
}

/* One exponent spread over the eight lanes (veil_mb_fixed_base_one, the
 * single-value DJN path) equals the scalar path: exponent 0, 1, all ones,
 * a full digit in each single window (so every lane and step of the
 * window split is exercised alone), and random exponents; the dispatching
 * veil_djn_randomizer_exp gives the same value on either engine. */
static void test_djn_one_value_lane_split(void)
{
    if (skip("DJN one-value lane split"))
        return;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    veil_engine saved = veil_engine_selected();
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_pub *pk = veil_paillier_priv_pub(keys[kk]);
        const size_t elen = (pk->djn_exp_bits + 7) / 8, cases = pk->djn_nwin + 3 + 20;
        uint8_t e[VEIL_DJN_MAX_EXP_BYTES];
        mpz_t got, want, viaexp;
        mpz_inits(got, want, viaexp, NULL);
        size_t bad = 0;
        for (size_t t = 0; t < cases; t++) {
            memset(e, 0, sizeof e);
            if (t == 0)
                ; /* exponent 0 */
            else if (t == 1)
                e[0] = 1;
            else if (t == 2)
                memset(e, 0xff, elen);
            else if (t < 3 + pk->djn_nwin)
                for (unsigned b = 0; b < pk->djn_win; b++) {
                    size_t bit = (t - 3) * pk->djn_win + b;
                    e[bit / 8] |= (uint8_t)(1u << (bit % 8));
                }
            else
                veil_djn_exponent(e, pk);
            e[elen - 1] &= (uint8_t)(0xffu >> (elen * 8 - pk->djn_exp_bits));
            /* Odd cases with the key's precomputed start, even ones without. */
            CU_ASSERT_EQUAL_FATAL(veil_mb_fixed_base_one(got, pk->djn_table, pk->djn_win,
                                                         pk->djn_nwin, e, elen,
                                                         t % 2 ? pk->djn_mb_init : NULL, &pk->mb),
                                  0);
            veil_djn_randomizer_exp_scalar(want, pk, e);
            if (mpz_cmp(got, want) != 0 && bad++ == 0)
                printf("\n  %u bits, case %zu: lane split differs from the scalar path\n", pk->bits,
                       t);
            veil_engine_select(t % 2 ? VEIL_ENGINE_AUTO : VEIL_ENGINE_SCALAR);
            veil_djn_randomizer_exp(viaexp, pk, e);
            CU_ASSERT(mpz_cmp(viaexp, want) == 0);
            veil_engine_select(saved);
            if (t == 0)
                CU_ASSERT(mpz_cmp_ui(got, 1) == 0);
        }
        CU_ASSERT_EQUAL(bad, 0);
        mpz_clears(got, want, viaexp, NULL);
    }
}

/* veil_paillier_add on the engine (one number across the lanes) equals
 * mpz_mul + mpz_mod, in place on either operand, and the sum decrypts to
 * the sum of the plaintexts; the scalar engine gives the same values. */
static void test_add_engine_equals_gmp(void)
{
    if (skip("add"))
        return;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    veil_engine saved = veil_engine_selected();
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_pub *pk = veil_paillier_priv_pub(keys[kk]);
        mpz_t n2, a, b, r, want, s, m1, m2, d;
        mpz_inits(n2, a, b, r, want, s, m1, m2, d, NULL);
        veil_paillier_pub_n2(n2, pk);
        veil_err err;
        for (int t = 0; t < 200; t++) {
            veil_engine_select(t % 2 ? VEIL_ENGINE_SCALAR : VEIL_ENGINE_AUTO);
            mpz_set_ui(m1, (unsigned long)t * 1000003u);
            mpz_set_ui(m2, (unsigned long)t * 7919u + 1u);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(a, pk, m1, &err), VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(b, pk, m2, &err), VEIL_OK);
            if (t == 0)
                mpz_sub_ui(a, n2, 1); /* the largest operand */
            mpz_mul(want, a, b);
            mpz_mod(want, want, n2);
            veil_paillier_add(r, pk, a, b);
            CU_ASSERT(mpz_cmp(r, want) == 0);
            mpz_set(s, a);
            veil_paillier_add(s, pk, s, b);
            CU_ASSERT(mpz_cmp(s, want) == 0);
            mpz_set(s, b);
            veil_paillier_add(s, pk, a, s);
            CU_ASSERT(mpz_cmp(s, want) == 0);
            if (t > 0) {
                CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(d, keys[kk], r, &err), VEIL_OK);
                mpz_add(m1, m1, m2);
                CU_ASSERT(mpz_cmp(d, m1) == 0);
            }
        }
        veil_engine_select(saved);
        mpz_clears(n2, a, b, r, want, s, m1, m2, d, NULL);
    }
}

/* Engine encryption of groups of 1..8 decrypts (scalar path) to the
 * plaintexts; ciphertexts are all different. */
static void test_encrypt_group_decrypts(void)
{
    if (skip("encrypt group"))
        return;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(g_sk);
    mpz_t *m = vec_new(8), *c = vec_new(8), d;
    mpz_init(d);
    veil_err err;
    for (size_t k = 1; k <= 8; k++) {
        const mpz_t *in[VEIL_MB_LANES] = {NULL};
        mpz_t *out[VEIL_MB_LANES] = {NULL};
        for (size_t l = 0; l < k; l++) {
            plain_value(m[l], pk, l + k);
            in[l] = &m[l];
            out[l] = &c[l];
        }
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_mb(out, pk, in), 0);
        for (size_t l = 0; l < k; l++) {
            CU_ASSERT_EQUAL(veil_paillier_check_ct(pk, c[l], &err), VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(d, g_sk, c[l], &err), VEIL_OK);
            CU_ASSERT(mpz_cmp(d, m[l]) == 0);
            for (size_t j = 0; j < l; j++)
                CU_ASSERT(mpz_cmp(c[l], c[j]) != 0);
        }
    }
    mpz_clear(d);
    vec_free(m, 8);
    vec_free(c, 8);
}

/* Batch calls of every length 1..19 and a few thread counts: decryption
 * equals one-at-a-time decryption, encryption round-trips. This runs with
 * whatever engine the suite selected (both, over the two registrations). */
static void test_batch_lengths_equal_single(void)
{
    const unsigned threads[] = {1, 2, 3};
    const size_t max = 19;
    mpz_t *m = vec_new(max), *c = vec_new(max), *d = vec_new(max), one;
    mpz_init(one);
    veil_err err;
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_priv *sk = keys[kk];
        const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
        for (size_t i = 0; i < max; i++)
            plain_value(m[i], pk, i);
        for (size_t count = 1; count <= max; count += kk == 0 ? 1 : 6) {
            unsigned t = threads[count % 3];
            CU_ASSERT_EQUAL_FATAL(
                veil_paillier_encrypt_batch(c, pk, (const mpz_t *)m, count, t, &err), VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(
                veil_paillier_decrypt_batch(d, sk, (const mpz_t *)c, count, t, &err), VEIL_OK);
            for (size_t i = 0; i < count; i++) {
                CU_ASSERT(mpz_cmp(d[i], m[i]) == 0);
                CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(one, sk, c[i], &err), VEIL_OK);
                CU_ASSERT(mpz_cmp(one, d[i]) == 0);
            }
        }
    }
    mpz_clear(one);
    vec_free(m, max);
    vec_free(c, max);
    vec_free(d, max);
}

/* Engine and scalar batch decryption of the same column agree bit for bit
 * (including ciphertexts that are not encryptions made here). */
static void test_batch_engine_equals_scalar(void)
{
    if (skip("engine vs scalar"))
        return;
    const size_t count = 21;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(g_sk);
    mpz_t *c = vec_new(count), *a = vec_new(count), *b = vec_new(count), n2, g;
    mpz_inits(n2, g, NULL);
    veil_paillier_pub_n2(n2, pk);
    veil_err err;
    for (size_t i = 0; i < count; i++) {
        do {
            veil_rand_mpz_below(c[i], n2);
        } while (veil_paillier_check_ct(pk, c[i], &err) != VEIL_OK);
    }
    veil_engine saved = veil_engine_selected();
    veil_engine_select(VEIL_ENGINE_AUTO);
    CU_ASSERT_EQUAL(veil_paillier_decrypt_batch(a, g_sk, (const mpz_t *)c, count, 2, &err),
                    VEIL_OK);
    veil_engine_select(VEIL_ENGINE_SCALAR);
    CU_ASSERT_EQUAL(veil_paillier_decrypt_batch(b, g_sk, (const mpz_t *)c, count, 2, &err),
                    VEIL_OK);
    veil_engine_select(saved);
    for (size_t i = 0; i < count; i++)
        CU_ASSERT(mpz_cmp(a[i], b[i]) == 0);
    mpz_clears(n2, g, NULL);
    vec_free(c, count);
    vec_free(a, count);
    vec_free(b, count);
}

/* veil_paillier_add_many equals the one-by-one product for every length
 * around the group size, at 2048 and 3072 bits, on both engines; and the
 * sum decrypts to the sum of the plaintexts. */
static void check_add_many(const veil_paillier_priv *sk)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    static const size_t lens[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 64, 100, 1001};
    const size_t max = 1001;
    mpz_t *c = vec_new(max), *m = vec_new(max), want, got, n2, sum, n, dec;
    mpz_inits(want, got, n2, sum, n, dec, NULL);
    veil_paillier_pub_n2(n2, pk);
    veil_paillier_pub_n(n, pk);
    veil_err err;
    for (size_t i = 0; i < max; i++) {
        plain_value(m[i], pk, i);
        if (i < 40) {
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], pk, m[i], &err), VEIL_OK);
        } else { /* ciphertexts need not be fresh here: products of earlier ones */
            mpz_mul(c[i], c[i % 40], c[(i * 7) % 40]);
            mpz_mod(c[i], c[i], n2);
            mpz_add(m[i], m[i % 40], m[(i * 7) % 40]);
            mpz_mod(m[i], m[i], n);
        }
    }
    mpz_sub_ui(c[3], n2, 1); /* n^2 - 1 is a unit: the largest input */
    mpz_set_ui(c[5], 1);
    veil_engine saved = veil_engine_selected();
    for (int e = 0; e < 2; e++) {
        veil_engine_select(e == 0 ? VEIL_ENGINE_AUTO : VEIL_ENGINE_SCALAR);
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            size_t len = lens[k];
            mpz_set_ui(want, 1);
            for (size_t i = 0; i < len; i++) {
                mpz_mul(want, want, c[i]);
                mpz_mod(want, want, n2);
            }
            mpz_set_ui(got, 12345);
            CU_ASSERT_EQUAL(veil_paillier_add_many(got, pk, (const mpz_t *)c, len), 0);
            if (mpz_cmp(got, want) != 0) {
                fprintf(stderr, "\n  add_many of %zu (%s) differs\n", len, veil_engine_name());
                CU_FAIL("add_many differs from the one-by-one product");
            }
        }
    }
    veil_engine_select(saved);
    /* Decrypts to the sum of the plaintexts (without the two edge inputs). */
    CU_ASSERT_EQUAL(veil_paillier_add_many(got, pk, (const mpz_t *)c + 6, max - 6), 0);
    mpz_set_ui(sum, 0);
    for (size_t i = 6; i < max; i++)
        mpz_add(sum, sum, m[i]);
    mpz_mod(sum, sum, n);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(dec, sk, got, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(dec, sum) == 0);
    mpz_clears(want, got, n2, sum, n, dec, NULL);
    vec_free(c, max);
    vec_free(m, max);
}

static void test_add_many_equals_product(void)
{
    if (!veil_mb_cpu_ok())
        printf("\n  (no AVX512-IFMA: the scalar path only) ");
    check_add_many(g_sk);
    check_add_many(g_sk3);
}

/* A bad value inside a group: the lowest failing index is reported and the
 * whole output column is zeroed. */
static void test_batch_error_index_in_group(void)
{
    const size_t count = 20;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(g_sk);
    mpz_t *m = vec_new(count), *c = vec_new(count), *d = vec_new(count);
    veil_err err;
    for (size_t i = 0; i < count; i++)
        plain_value(m[i], pk, i);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_batch(c, pk, (const mpz_t *)m, count, 1, &err),
                          VEIL_OK);
    mpz_set_ui(c[13], 0);
    mpz_set_ui(c[17], 0);
    veil_status st = veil_paillier_decrypt_batch(d, g_sk, (const mpz_t *)c, count, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 13");
    for (size_t i = 0; i < count; i++)
        CU_ASSERT(mpz_sgn(d[i]) == 0);
    veil_paillier_pub_n(m[10], pk);
    st = veil_paillier_encrypt_batch(c, pk, (const mpz_t *)m, count, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "value 10");
    vec_free(m, count);
    vec_free(c, count);
    vec_free(d, count);
}

/* Scalar number i: random in [0, n), random negative, 0, 1, -1, n - 1,
 * n + 5, -(n + 7), a 64-bit value, a random 5000-bit signed value, n / 2
 * and n / 2 + 1 (the two sides of the negation threshold). */
static void scalar_value(mpz_t k, const veil_paillier_pub *pk, size_t i)
{
    mpz_t n;
    mpz_init(n);
    veil_paillier_pub_n(n, pk);
    switch (i % 12) {
    case 0: veil_rand_mpz_below(k, n); break;
    case 1:
        veil_rand_mpz_below(k, n);
        mpz_neg(k, k);
        break;
    case 2: mpz_set_ui(k, 0); break;
    case 3: mpz_set_ui(k, 1); break;
    case 4: mpz_set_si(k, -1); break;
    case 5: mpz_sub_ui(k, n, 1); break;
    case 6: mpz_add_ui(k, n, 5); break;
    case 7:
        mpz_add_ui(k, n, 7);
        mpz_neg(k, k);
        break;
    case 8: mpz_set_str(k, "fedcba9876543210", 16); break;
    case 9:
        veil_rand_mpz_bits(k, 5000);
        if (i % 2)
            mpz_neg(k, k);
        break;
    case 10: mpz_fdiv_q_2exp(k, n, 1); break;
    default: mpz_fdiv_q_2exp(k, n, 1); mpz_add_ui(k, k, 1);
    }
    mpz_clear(n);
}

/* mul_scalar_batch equals veil_paillier_mul_scalar bit for bit for every
 * kind of scalar, counts 0, 1, 7, 8, 9, 17 (partial groups), 1 and 2
 * threads, on both engines, at 2048 and 3072 bits; the results decrypt to
 * k m mod n. */
static void test_mul_scalar_batch_equals_single(void)
{
    static const size_t counts[] = {0, 1, 7, 8, 9, 17};
    const size_t max = 17;
    mpz_t *m = vec_new(max), *c = vec_new(max), *k = vec_new(max), *want = vec_new(max);
    mpz_t *r = vec_new(max), n, n2, d, km;
    mpz_inits(n, n2, d, km, NULL);
    veil_err err;
    veil_engine saved = veil_engine_selected();
    veil_paillier_priv *keys[] = {g_sk, g_sk3};
    for (size_t kk = 0; kk < 2; kk++) {
        const veil_paillier_priv *sk = keys[kk];
        const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
        veil_paillier_pub_n(n, pk);
        veil_paillier_pub_n2(n2, pk);
        for (size_t i = 0; i < max; i++) {
            plain_value(m[i], pk, i);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], pk, m[i], &err), VEIL_OK);
            scalar_value(k[i], pk, i + kk);
        }
        /* The ciphertexts 1 and n^2 - 1 are valid too. */
        mpz_set_ui(c[14], 1);
        mpz_set_ui(m[14], 0);
        mpz_sub_ui(c[15], n2, 1);
        for (size_t i = 0; i < max; i++) {
            CU_ASSERT_EQUAL_FATAL(veil_paillier_mul_scalar(want[i], pk, c[i], k[i], &err), VEIL_OK);
            if (i % 5 == 0 || i == 14) {
                CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(d, sk, want[i], &err), VEIL_OK);
                mpz_mul(km, k[i], m[i]);
                mpz_mod(km, km, n);
                CU_ASSERT(mpz_cmp(d, km) == 0);
            }
        }
        for (int e = 0; e < 2; e++) {
            if (e == 0 && !veil_mb_cpu_ok())
                continue;
            veil_engine_select(e == 0 ? VEIL_ENGINE_AUTO : VEIL_ENGINE_SCALAR);
            CU_ASSERT_EQUAL(veil_mb_active(), e == 0);
            for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
                size_t count = counts[j];
                for (size_t i = 0; i < max; i++)
                    mpz_set_ui(r[i], 777);
                CU_ASSERT_EQUAL_FATAL(veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c,
                                                                     (const mpz_t *)k, count,
                                                                     1 + (unsigned)(j % 2), &err),
                                      VEIL_OK);
                for (size_t i = 0; i < count; i++) {
                    if (mpz_cmp(r[i], want[i]) != 0) {
                        fprintf(stderr, "\n  %zu bits, %s, count %zu: value %zu differs\n",
                                mpz_sizeinbase(n, 2), veil_engine_name(), count, i);
                        CU_FAIL("mul_scalar_batch differs from veil_paillier_mul_scalar");
                    }
                }
                for (size_t i = count; i < max; i++)
                    CU_ASSERT(mpz_cmp_ui(r[i], 777) == 0); /* past the end: untouched */
            }
        }
        veil_engine_select(saved);
    }
    mpz_clears(n, n2, d, km, NULL);
    vec_free(m, max);
    vec_free(c, max);
    vec_free(k, max);
    vec_free(want, max);
    vec_free(r, max);
}

/* The output may be the ciphertext or the scalar array. */
static void test_mul_scalar_batch_in_place(void)
{
    const size_t count = 11;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(g_sk);
    mpz_t *m = vec_new(count), *c = vec_new(count), *k = vec_new(count), *want = vec_new(count);
    veil_err err;
    veil_engine saved = veil_engine_selected();
    for (int e = 0; e < 2; e++) {
        if (e == 0 && !veil_mb_cpu_ok())
            continue;
        veil_engine_select(e == 0 ? VEIL_ENGINE_AUTO : VEIL_ENGINE_SCALAR);
        for (int into_k = 0; into_k < 2; into_k++) {
            for (size_t i = 0; i < count; i++) {
                plain_value(m[i], pk, i);
                CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], pk, m[i], &err), VEIL_OK);
                scalar_value(k[i], pk, i);
                CU_ASSERT_EQUAL_FATAL(veil_paillier_mul_scalar(want[i], pk, c[i], k[i], &err),
                                      VEIL_OK);
            }
            mpz_t *r = into_k ? k : c;
            CU_ASSERT_EQUAL_FATAL(veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c,
                                                                 (const mpz_t *)k, count, 1, &err),
                                  VEIL_OK);
            for (size_t i = 0; i < count; i++)
                CU_ASSERT(mpz_cmp(r[i], want[i]) == 0);
        }
    }
    veil_engine_select(saved);
    vec_free(m, count);
    vec_free(c, count);
    vec_free(k, count);
    vec_free(want, count);
}

/* Bad ciphertexts inside a group: the lowest failing index and the check's
 * own message, the whole output zeroed, on both engines. Scalars out of
 * [0, n) are not errors (they are reduced mod n, as in the single call). */
static void test_mul_scalar_batch_error_index(void)
{
    const size_t count = 20;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(g_sk);
    mpz_t *m = vec_new(count), *c = vec_new(count), *k = vec_new(count), *r = vec_new(count);
    mpz_t p, n2;
    mpz_inits(p, n2, NULL);
    veil_paillier_priv_p(p, g_sk);
    veil_paillier_pub_n2(n2, pk);
    veil_err err;
    veil_engine saved = veil_engine_selected();
    for (size_t i = 0; i < count; i++) {
        plain_value(m[i], pk, i);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], pk, m[i], &err), VEIL_OK);
        scalar_value(k[i], pk, i);
    }
    for (int e = 0; e < 2; e++) {
        if (e == 0 && !veil_mb_cpu_ok())
            continue;
        veil_engine_select(e == 0 ? VEIL_ENGINE_AUTO : VEIL_ENGINE_SCALAR);
        /* out of range: n^2 at 13 (and 0 at 17) */
        mpz_t keep13, keep17;
        mpz_init_set(keep13, c[13]);
        mpz_init_set(keep17, c[17]);
        mpz_set(c[13], n2);
        mpz_set_ui(c[17], 0);
        for (size_t i = 0; i < count; i++)
            mpz_set_ui(r[i], 5);
        veil_status st = veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c, (const mpz_t *)k,
                                                        count, 2, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 13: ciphertext is out of range");
        for (size_t i = 0; i < count; i++)
            CU_ASSERT(mpz_sgn(r[i]) == 0);
        /* not a unit: a multiple of p at 10, with a positive scalar there
         * (the single call would not notice; the batch checks) */
        mpz_mul_ui(c[10], p, 3);
        mpz_set_ui(k[10], 3);
        st = veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c, (const mpz_t *)k, count, 1,
                                            &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 10: ciphertext is not invertible");
        for (size_t i = 0; i < count; i++)
            CU_ASSERT(mpz_sgn(r[i]) == 0);
        /* a negative number at 0, in the first group */
        mpz_set_si(c[0], -5);
        st = veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c, (const mpz_t *)k, count, 3,
                                            &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 0: ciphertext is out of range");
        st = veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c, NULL, count, 1, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "NULL");
        CU_ASSERT_EQUAL(veil_paillier_mul_scalar_batch(NULL, pk, NULL, NULL, 0, 1, &err), VEIL_OK);
        /* repaired, the same batch goes through */
        mpz_swap(c[13], keep13);
        mpz_swap(c[17], keep17);
        mpz_clears(keep13, keep17, NULL);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[0], pk, m[0], &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[10], pk, m[10], &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_paillier_mul_scalar_batch(r, pk, (const mpz_t *)c, (const mpz_t *)k,
                                                       count, 2, &err),
                        VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_mul_scalar(n2, pk, c[19], k[19], &err), VEIL_OK);
        CU_ASSERT(mpz_cmp(n2, r[19]) == 0);
        veil_paillier_pub_n2(n2, pk);
    }
    veil_engine_select(saved);
    mpz_clears(p, n2, NULL);
    vec_free(m, count);
    vec_free(c, count);
    vec_free(k, count);
    vec_free(r, count);
}

int main(void)
{
    static const tu_test tests[] = {
        {"engine selection and names", test_engine_selection},
        {"decrypt groups of 1..8 equal scalar decryption", test_decrypt_group_equals_scalar},
        {"single decryption on the engine equals OpenSSL's (edge, negative, random, "
         "non-encryptions)",
         test_decrypt_one_equals_openssl},
        {"DJN: same exponents give the same randomizers on both paths",
         test_djn_same_exponents_same_randomizers},
        {"DJN: one exponent over eight lanes equals the scalar path (every window alone)",
         test_djn_one_value_lane_split},
        {"add on the engine equals mpz_mul + mpz_mod and decrypts to the sum",
         test_add_engine_equals_gmp},
        {"encrypt groups of 1..8 decrypt to their plaintexts", test_encrypt_group_decrypts},
        {"batch of every length 1..19 equals single-value calls", test_batch_lengths_equal_single},
        {"batch decryption: engine equals scalar bit for bit", test_batch_engine_equals_scalar},
        {"batch error inside a group names the lowest index", test_batch_error_index_in_group},
        {"add_many equals the one-by-one product (lengths 0..1001, both engines, 2048/3072)",
         test_add_many_equals_product},
        {"mul_scalar_batch equals mul_scalar (every kind of scalar, counts 0..17, both engines)",
         test_mul_scalar_batch_equals_single},
        {"mul_scalar_batch in place (into c, into k)", test_mul_scalar_batch_in_place},
        {"mul_scalar_batch: bad ciphertext names the lowest index, both engines",
         test_mul_scalar_batch_error_index},
        {NULL, NULL},
    };
    return tu_main("paillier_mb", suite_init, suite_cleanup, tests);
}
