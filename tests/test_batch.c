/* Tests for the batch Paillier API (veil/batch.h): batch results agree with
 * one-at-a-time results for every thread count, and failures name the
 * lowest failing index. */
#define _GNU_SOURCE /* sched_getaffinity / sched_setaffinity */
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/batch.h"
#include "veil/rand.h"

#define BIG_COUNT 1000

static veil_paillier_priv *g_sk;
static const veil_paillier_pub *g_pk;
static mpz_t g_n, g_n2, g_max;

static int suite_init(void)
{
    g_sk = tu_fixed_key(1);
    g_pk = veil_paillier_priv_pub(g_sk);
    mpz_inits(g_n, g_n2, g_max, NULL);
    veil_paillier_pub_n(g_n, g_pk);
    veil_paillier_pub_n2(g_n2, g_pk);
    veil_paillier_pub_max_int(g_max, g_pk);
    return 0;
}

static int suite_cleanup(void)
{
    mpz_clears(g_n, g_n2, g_max, NULL);
    veil_paillier_priv_free(g_sk);
    return 0;
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

/* Random signed value: mostly 63-bit magnitudes, with the extremes of the
 * encodable range and small values mixed in. */
static void random_signed(mpz_t v, size_t i)
{
    switch (i % 10) {
    case 0: mpz_set(v, g_max); break;
    case 1: mpz_neg(v, g_max); break;
    case 2: mpz_set_si(v, (long)(i % 7) - 3); break;
    default: {
        uint64_t r;
        veil_rand_bytes(&r, sizeof r);
        mpz_set_ui(v, (unsigned long)(r >> 1));
        if (r & 1)
            mpz_neg(v, v);
    }
    }
}

/* Residues m[i] = encode(v[i]) of `count` random signed values v[i]. */
static void random_column(mpz_t *v, mpz_t *m, size_t count)
{
    veil_err err;
    for (size_t i = 0; i < count; i++) {
        random_signed(v[i], i);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m[i], g_pk, v[i], &err), VEIL_OK);
    }
}

static void test_cpu_count_respects_affinity(void)
{
    unsigned n = veil_cpu_count();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CU_ASSERT(n >= 1);
    if (online > 0)
        CU_ASSERT(n <= (unsigned long)online);

    cpu_set_t orig, one;
    CU_ASSERT_EQUAL_FATAL(sched_getaffinity(0, sizeof orig, &orig), 0);
    CU_ASSERT(n <= (unsigned)CPU_COUNT(&orig));
    /* Pin this thread to the first allowed CPU: the count must drop to 1. */
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &orig)) {
            CPU_SET(cpu, &one);
            break;
        }
    }
    CU_ASSERT_EQUAL_FATAL(sched_setaffinity(0, sizeof one, &one), 0);
    CU_ASSERT_EQUAL(veil_cpu_count(), 1u);
    CU_ASSERT_EQUAL(sched_setaffinity(0, sizeof orig, &orig), 0);
    CU_ASSERT_EQUAL(veil_cpu_count(), n);
}

/* Each thread count encrypts its own column; every ciphertext is valid,
 * fresh, and decrypts one at a time to its plaintext. */
static void test_encrypt_batch_matches_single_decrypt(void)
{
    const unsigned thread_counts[] = {1, 2, 3, 0};
    const size_t count = 23; /* not a multiple of 2 or 3: uneven chunks */
    mpz_t *v = vec_new(count), *m = vec_new(count), *c = vec_new(count);
    mpz_t d;
    mpz_init(d);
    veil_err err;
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        random_column(v, m, count);
        CU_ASSERT_EQUAL_FATAL(
            veil_paillier_encrypt_batch(c, g_pk, (const mpz_t *)m, count, thread_counts[t], &err),
            VEIL_OK);
        CU_ASSERT_EQUAL(err.code, VEIL_OK);
        for (size_t i = 0; i < count; i++) {
            CU_ASSERT_EQUAL(veil_paillier_check_ct(g_pk, c[i], &err), VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(d, g_sk, c[i], &err), VEIL_OK);
            CU_ASSERT_EQUAL(mpz_cmp(d, m[i]), 0);
            if (i > 0)
                CU_ASSERT_NOT_EQUAL(mpz_cmp(c[i], c[i - 1]), 0);
        }
    }
    mpz_clear(d);
    vec_free(v, count);
    vec_free(m, count);
    vec_free(c, count);
}

/* 1000 encryptions of random signed values: the decrypt batch gives back
 * the plaintexts for 1, 2, 3 and all threads, and agrees with one-at-a-time
 * decryption. */
static void test_decrypt_batch_1000(void)
{
    const unsigned thread_counts[] = {1, 2, 3, 0};
    mpz_t *v = vec_new(BIG_COUNT), *m = vec_new(BIG_COUNT), *c = vec_new(BIG_COUNT),
          *d = vec_new(BIG_COUNT);
    mpz_t one, dec;
    mpz_inits(one, dec, NULL);
    veil_err err;

    random_column(v, m, BIG_COUNT);
    CU_ASSERT_EQUAL_FATAL(
        veil_paillier_encrypt_batch(c, g_pk, (const mpz_t *)m, BIG_COUNT, 0, &err), VEIL_OK);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        for (size_t i = 0; i < BIG_COUNT; i++)
            mpz_set_ui(d[i], 12345); /* so a skipped element shows */
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt_batch(d, g_sk, (const mpz_t *)c, BIG_COUNT,
                                                          thread_counts[t], &err),
                              VEIL_OK);
        size_t wrong = 0;
        for (size_t i = 0; i < BIG_COUNT; i++) {
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decode(dec, g_pk, d[i], &err), VEIL_OK);
            if (mpz_cmp(dec, v[i]) != 0)
                wrong++;
        }
        CU_ASSERT_EQUAL(wrong, 0);
    }
    /* One-at-a-time decryption of a sample agrees with the batch. */
    for (size_t i = 0; i < BIG_COUNT; i += 97) {
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(one, g_sk, c[i], &err), VEIL_OK);
        CU_ASSERT_EQUAL(mpz_cmp(one, d[i]), 0);
    }
    mpz_clears(one, dec, NULL);
    vec_free(v, BIG_COUNT);
    vec_free(m, BIG_COUNT);
    vec_free(c, BIG_COUNT);
    vec_free(d, BIG_COUNT);
}

static void test_count_zero_is_noop(void)
{
    veil_err err;
    mpz_t *a = vec_new(1), *b = vec_new(1);
    mpz_set_ui(a[0], 42);
    mpz_set_ui(b[0], 7);
    CU_ASSERT_EQUAL(veil_paillier_encrypt_batch(NULL, g_pk, NULL, 0, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(err.code, VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_decrypt_batch(NULL, g_sk, NULL, 0, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_encrypt_batch(a, g_pk, (const mpz_t *)b, 0, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_decrypt_batch(a, g_sk, (const mpz_t *)b, 0, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(mpz_cmp_ui(a[0], 42), 0); /* untouched */
    vec_free(a, 1);
    vec_free(b, 1);
}

/* count 1 with 1, all, and many threads; count 3 with 8 and UINT_MAX threads
 * (the worker count is capped at the item count). */
static void test_more_threads_than_items(void)
{
    const unsigned thread_counts[] = {1, 0, 7, 8, UINT_MAX};
    const size_t counts[] = {1, 3};
    veil_err err;
    for (size_t k = 0; k < 2; k++) {
        size_t count = counts[k];
        mpz_t *v = vec_new(count), *m = vec_new(count), *c = vec_new(count), *d = vec_new(count);
        for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
            random_column(v, m, count);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_batch(c, g_pk, (const mpz_t *)m, count,
                                                              thread_counts[t], &err),
                                  VEIL_OK);
            CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt_batch(d, g_sk, (const mpz_t *)c, count,
                                                              thread_counts[t], &err),
                                  VEIL_OK);
            for (size_t i = 0; i < count; i++)
                CU_ASSERT_EQUAL(mpz_cmp(d[i], m[i]), 0);
        }
        vec_free(v, count);
        vec_free(m, count);
        vec_free(c, count);
        vec_free(d, count);
    }
}

/* Ten valid ciphertexts of 100..109. */
static void valid_ciphertexts(mpz_t *c, size_t count)
{
    veil_err err;
    mpz_t *m = vec_new(count);
    for (size_t i = 0; i < count; i++)
        mpz_set_ui(m[i], 100 + i);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_batch(c, g_pk, (const mpz_t *)m, count, 0, &err),
                          VEIL_OK);
    vec_free(m, count);
}

static int all_zero(mpz_t *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (mpz_sgn(v[i]) != 0)
            return 0;
    return 1;
}

static void test_invalid_ciphertext_at_index_5(void)
{
    const unsigned thread_counts[] = {1, 2, 3, 0, 10, 64};
    mpz_t *c = vec_new(10), *d = vec_new(10);
    veil_err err;
    valid_ciphertexts(c, 10);
    mpz_set_ui(c[5], 0);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        for (size_t i = 0; i < 10; i++)
            mpz_set_ui(d[i], 99);
        veil_status st =
            veil_paillier_decrypt_batch(d, g_sk, (const mpz_t *)c, 10, thread_counts[t], &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 5: ciphertext is out of range");
        CU_ASSERT(all_zero(d, 10)); /* no partly decrypted column left */
    }
    vec_free(c, 10);
    vec_free(d, 10);
}

/* With failures in two different chunks the lower index wins, whichever
 * worker finishes first. */
static void test_lowest_failing_index_across_chunks(void)
{
    const unsigned thread_counts[] = {1, 2, 3, 0, 10};
    mpz_t *c = vec_new(10), *d = vec_new(10);
    veil_err err;
    valid_ciphertexts(c, 10);
    mpz_set(c[8], g_n2); /* out of range, chunk 1 of 2 */
    mpz_set(c[3], g_n);  /* shares a factor with n, chunk 0 of 2 */
    mpz_set(c[9], g_n);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        veil_status st =
            veil_paillier_decrypt_batch(d, g_sk, (const mpz_t *)c, 10, thread_counts[t], &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "value 3: ciphertext is not invertible");
    }
    vec_free(c, 10);
    vec_free(d, 10);
}

static void test_encrypt_rejects_residue_outside_range(void)
{
    const unsigned thread_counts[] = {1, 2, 0};
    mpz_t *m = vec_new(8), *c = vec_new(8);
    veil_err err;
    for (size_t i = 0; i < 8; i++)
        mpz_set_ui(m[i], i);
    mpz_set_si(m[6], -1);
    mpz_set(m[3], g_n);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        veil_status st =
            veil_paillier_encrypt_batch(c, g_pk, (const mpz_t *)m, 8, thread_counts[t], &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "value 3: plaintext residue is outside [0, n)");
        CU_ASSERT(all_zero(c, 8));
    }
    vec_free(m, 8);
    vec_free(c, 8);
}

static void test_null_arguments(void)
{
    mpz_t *a = vec_new(2);
    veil_err err;
    veil_status st = veil_paillier_encrypt_batch(NULL, g_pk, (const mpz_t *)a, 2, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "batch of 2 values: key or array is NULL");
    st = veil_paillier_encrypt_batch(a, NULL, (const mpz_t *)a, 2, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "key or array is NULL");
    st = veil_paillier_decrypt_batch(a, g_sk, NULL, 2, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "key or array is NULL");
    st = veil_paillier_decrypt_batch(a, NULL, (const mpz_t *)a, 2, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "batch of 2 values: key is NULL");
    vec_free(a, 2);
}

/* Output and input may be the same array. */
static void test_in_place(void)
{
    const size_t count = 9;
    mpz_t *v = vec_new(count), *m = vec_new(count), *x = vec_new(count);
    veil_err err;
    random_column(v, m, count);
    for (size_t i = 0; i < count; i++)
        mpz_set(x[i], m[i]);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_batch(x, g_pk, (const mpz_t *)x, count, 2, &err),
                          VEIL_OK);
    CU_ASSERT_NOT_EQUAL(mpz_cmp(x[0], m[0]), 0);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt_batch(x, g_sk, (const mpz_t *)x, count, 2, &err),
                          VEIL_OK);
    for (size_t i = 0; i < count; i++)
        CU_ASSERT_EQUAL(mpz_cmp(x[i], m[i]), 0);
    vec_free(v, count);
    vec_free(m, count);
    vec_free(x, count);
}

/* A textbook (non-DJN) key works the same way. */
static void test_textbook_key(void)
{
    veil_paillier_priv *sk = tu_fixed_key(0);
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    const size_t count = 5;
    mpz_t *m = vec_new(count), *c = vec_new(count), *d = vec_new(count);
    veil_err err;
    for (size_t i = 0; i < count; i++)
        mpz_set_ui(m[i], 1000 * i + 1);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_batch(c, pk, (const mpz_t *)m, count, 0, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt_batch(d, sk, (const mpz_t *)c, count, 3, &err),
                          VEIL_OK);
    for (size_t i = 0; i < count; i++)
        CU_ASSERT_EQUAL(mpz_cmp(d[i], m[i]), 0);
    vec_free(m, count);
    vec_free(c, count);
    vec_free(d, count);
    veil_paillier_priv_free(sk);
}

int main(void)
{
    static const tu_test tests[] = {
        {"cpu count respects the affinity mask", test_cpu_count_respects_affinity},
        {"encrypt batch matches single decrypt (1,2,3,all threads)",
         test_encrypt_batch_matches_single_decrypt},
        {"decrypt batch of 1000 signed values (1,2,3,all threads)", test_decrypt_batch_1000},
        {"count 0 is a no-op", test_count_zero_is_noop},
        {"more threads than items", test_more_threads_than_items},
        {"invalid ciphertext at index 5 of 10", test_invalid_ciphertext_at_index_5},
        {"lowest failing index across chunks", test_lowest_failing_index_across_chunks},
        {"encrypt rejects a residue outside [0, n)", test_encrypt_rejects_residue_outside_range},
        {"NULL arguments", test_null_arguments},
        {"in-place batch", test_in_place},
        {"textbook key", test_textbook_key},
        {NULL, NULL},
    };
    return tu_main("batch", suite_init, suite_cleanup, tests);
}
