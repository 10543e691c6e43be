/* Randomizer pool: correct encryptions, never a reused randomizer, misses
 * when empty, background refill, clean shutdown. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/pool.h"
#include "veil/rand.h"

static veil_paillier_priv *sk;
static const veil_paillier_pub *pk;

static int suite_init(void)
{
    sk = tu_fixed_key(1);
    pk = veil_paillier_priv_pub(sk);
    return 0;
}

static int suite_cleanup(void)
{
    veil_paillier_priv_free(sk);
    return 0;
}

static int cmp_mpz(const void *a, const void *b)
{
    return mpz_cmp(*(const mpz_t *)a, *(const mpz_t *)b);
}

/* E(0) with a pooled randomizer is the randomizer itself, so distinct
 * encryptions of 0 prove that no randomizer was handed out twice. */
static void test_pooled_encryptions_decrypt_and_never_repeat(void)
{
    enum { CAP = 40, N = 60 };
    veil_err err;
    veil_paillier_pool *pool = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_paillier_pool_new(&pool, pk, CAP, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_pool_available(pool), 0);
    CU_ASSERT_EQUAL(veil_paillier_pool_fill(pool, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_pool_available(pool), CAP);
    mpz_t c[N], zero, d;
    mpz_init_set_ui(zero, 0);
    mpz_init(d);
    for (int i = 0; i < N; i++) {
        mpz_init(c[i]);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_pooled(c[i], pool, zero, &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_paillier_decrypt(d, sk, c[i], &err), VEIL_OK);
        CU_ASSERT(mpz_sgn(d) == 0);
    }
    /* 40 from the pool, 20 computed on the spot. */
    CU_ASSERT_EQUAL(veil_paillier_pool_available(pool), 0);
    CU_ASSERT_EQUAL(veil_paillier_pool_misses(pool), N - CAP);
    qsort(c, N, sizeof c[0], cmp_mpz);
    for (int i = 1; i < N; i++)
        CU_ASSERT(mpz_cmp(c[i - 1], c[i]) != 0);
    for (int i = 0; i < N; i++)
        mpz_clear(c[i]);
    mpz_clears(zero, d, NULL);
    veil_paillier_pool_free(pool);
}

static void test_pooled_values_round_trip(void)
{
    veil_err err;
    veil_paillier_pool *pool = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_paillier_pool_new(&pool, pk, 8, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_pool_fill(pool, 1, &err), VEIL_OK);
    mpz_t v, m, c, d, n;
    mpz_inits(v, m, c, d, n, NULL);
    long values[] = {0, 1, -1, 123456789, -987654321, 42};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        mpz_set_si(v, values[i]);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m, pk, v, &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt_pooled(c, pool, m, &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_paillier_decrypt(d, sk, c, &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_paillier_decode(d, pk, d, &err), VEIL_OK);
        CU_ASSERT(mpz_cmp(d, v) == 0);
    }
    veil_paillier_pub_n(n, pk);
    TU_ASSERT_ERR(veil_paillier_encrypt_pooled(c, pool, n, &err), err, VEIL_ERR_USAGE,
                  "outside [0, n)");
    mpz_clears(v, m, c, d, n, NULL);
    veil_paillier_pool_free(pool);
}

static void test_background_thread_refills_and_stops(void)
{
    veil_err err;
    veil_paillier_pool *pool = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_paillier_pool_new(&pool, pk, 16, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_pool_start(pool, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_paillier_pool_start(pool, &err), err, VEIL_ERR_USAGE, "already runs");
    /* Wait (bounded: 16 randomizers take milliseconds) until full. */
    for (int i = 0; i < 3000 && veil_paillier_pool_available(pool) < 16; i++)
        usleep(10000);
    CU_ASSERT_EQUAL(veil_paillier_pool_available(pool), 16);
    mpz_t c, m;
    mpz_init(c);
    mpz_init_set_ui(m, 5);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(veil_paillier_encrypt_pooled(c, pool, m, &err), VEIL_OK);
    for (int i = 0; i < 3000 && veil_paillier_pool_available(pool) < 16; i++)
        usleep(10000);
    CU_ASSERT_EQUAL(veil_paillier_pool_available(pool), 16);
    mpz_clears(c, m, NULL);
    veil_paillier_pool_free(pool); /* joins the thread */
}

static void test_bad_capacity(void)
{
    veil_err err;
    veil_paillier_pool *pool = NULL;
    TU_ASSERT_ERR(veil_paillier_pool_new(&pool, pk, 0, &err), err, VEIL_ERR_USAGE, "capacity");
    CU_ASSERT_PTR_NULL(pool);
    veil_paillier_pool_free(NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"pooled encryptions decrypt and never reuse a randomizer",
         test_pooled_encryptions_decrypt_and_never_repeat},
        {"pooled signed values round trip", test_pooled_values_round_trip},
        {"background thread refills and stops", test_background_thread_refills_and_stops},
        {"bad capacity", test_bad_capacity},
        {NULL, NULL},
    };
    return tu_main("pool", suite_init, suite_cleanup, tests);
}
