/* Encrypted fixed-point numbers: bounds, scales, overflow, agreement with
 * plaintext arithmetic. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/encrypted.h"
#include "veil/fixed.h"
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

/* Encrypts a decimal text at a scale with bound 10^15 (value units). */
static void enc_text(veil_enc *e, const char *text, unsigned scale)
{
    veil_err err;
    mpz_t v, bound;
    mpz_inits(v, bound, NULL);
    CU_ASSERT_EQUAL_FATAL(veil_fixed_parse(v, text, strlen(text), scale, &err), VEIL_OK);
    mpz_ui_pow_ui(bound, 10, 15 + scale);
    CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(e, pk, v, scale, bound, &err), VEIL_OK);
    mpz_clears(v, bound, NULL);
}

static void expect_decrypts_to(const veil_enc *e, const char *want)
{
    veil_err err;
    mpz_t v;
    mpz_init(v);
    CU_ASSERT_EQUAL_FATAL(veil_enc_decrypt(v, sk, e, &err), VEIL_OK);
    char *s = veil_fixed_format(v, e->scale);
    if (strcmp(s, want) != 0) {
        fprintf(stderr, "\n  decrypted %s, want %s\n", s, want);
        CU_FAIL("wrong decryption");
    }
    free(s);
    mpz_clear(v);
}

static void test_decimal_round_trip_with_negatives(void)
{
    const char *values[] = {"12345.67", "-12345.67", "0.00", "-0.01", "999999999999999.99"};
    veil_enc e;
    veil_enc_init(&e);
    for (size_t i = 0; i < 5; i++) {
        enc_text(&e, values[i], 2);
        CU_ASSERT_EQUAL(e.count, 1);
        CU_ASSERT_EQUAL(e.scale, 2);
        expect_decrypts_to(&e, values[i]);
    }
    veil_enc_clear(&e);
}

/* A column of random signed decimals summed under encryption equals the
 * plaintext sum; the count and bound add up. */
static void test_sum_agrees_with_plaintext(void)
{
    veil_err err;
    veil_enc acc, x;
    veil_enc_init(&acc);
    veil_enc_init(&x);
    mpz_t sum, v, bound;
    mpz_inits(sum, v, bound, NULL);
    mpz_ui_pow_ui(bound, 10, 14);
    for (int i = 0; i < 200; i++) {
        veil_rand_mpz_below(v, bound);
        if (i % 3 == 0)
            mpz_neg(v, v);
        mpz_add(sum, sum, v);
        CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(&x, pk, v, 2, bound, &err), VEIL_OK);
        if (i == 0)
            veil_enc_set(&acc, &x);
        else
            CU_ASSERT_EQUAL_FATAL(veil_enc_add(&acc, pk, &acc, &x, &err), VEIL_OK);
    }
    CU_ASSERT_EQUAL(acc.count, 200);
    mpz_mul_ui(v, bound, 200);
    CU_ASSERT(mpz_cmp(acc.bound, v) == 0);
    CU_ASSERT_EQUAL(veil_enc_decrypt(v, sk, &acc, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(v, sum) == 0);
    mpz_clears(sum, v, bound, NULL);
    veil_enc_clear(&acc);
    veil_enc_clear(&x);
}

static void test_values_at_the_bound(void)
{
    veil_err err;
    veil_enc e;
    veil_enc_init(&e);
    mpz_t v, bound, max;
    mpz_inits(v, bound, max, NULL);
    veil_paillier_pub_max_int(max, pk);
    /* The largest bound the key allows, and values at +-bound. */
    mpz_set(bound, max);
    mpz_set(v, max);
    CU_ASSERT_EQUAL(veil_enc_encrypt(&e, pk, v, 0, bound, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_enc_decrypt(v, sk, &e, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(v, max) == 0);
    mpz_neg(v, max);
    CU_ASSERT_EQUAL(veil_enc_encrypt(&e, pk, v, 0, bound, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_enc_decrypt(v, sk, &e, &err), VEIL_OK);
    mpz_neg(v, v);
    CU_ASSERT(mpz_cmp(v, max) == 0);
    /* A bound beyond max_int is refused up front. */
    mpz_add_ui(bound, max, 1);
    mpz_set_ui(v, 1);
    TU_ASSERT_ERR(veil_enc_encrypt(&e, pk, v, 0, bound, &err), err, VEIL_ERR_CRYPTO,
                  "could exceed");
    /* A value beyond its declared bound is refused. */
    mpz_set_ui(bound, 100);
    mpz_set_si(v, -101);
    TU_ASSERT_ERR(veil_enc_encrypt(&e, pk, v, 0, bound, &err), err, VEIL_ERR_INPUT,
                  "exceeds the declared bound");
    mpz_clears(v, bound, max, NULL);
    veil_enc_clear(&e);
}

/* Sums that could wrap around n are refused before they are computed. */
static void test_sum_that_could_overflow_is_refused(void)
{
    veil_err err;
    veil_enc a, r;
    veil_enc_init(&a);
    veil_enc_init(&r);
    mpz_t v, bound;
    mpz_inits(v, bound, NULL);
    veil_paillier_pub_max_int(bound, pk);
    mpz_fdiv_q_ui(bound, bound, 2);
    mpz_add_ui(bound, bound, 1);
    mpz_set_ui(v, 5);
    CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(&a, pk, v, 0, bound, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_enc_add(&r, pk, &a, &a, &err), err, VEIL_ERR_CRYPTO, "overflow");
    TU_ASSERT_ERR(veil_enc_sub(&r, pk, &a, &a, &err), err, VEIL_ERR_CRYPTO, "overflow");
    mpz_set_ui(v, 2);
    TU_ASSERT_ERR(veil_enc_mul_scalar(&r, pk, &a, v, &err), err, VEIL_ERR_CRYPTO, "overflow");
    mpz_clears(v, bound, NULL);
    veil_enc_clear(&a);
    veil_enc_clear(&r);
}

/* A ciphertext whose plaintext lies outside its (forged) bound is reported
 * as overflow, not returned. */
static void test_decryption_outside_bound_is_overflow(void)
{
    veil_err err;
    veil_enc e;
    veil_enc_init(&e);
    mpz_t v;
    mpz_init(v);
    enc_text(&e, "-5000.00", 2);
    mpz_set_ui(e.bound, 499999); /* claims |x| <= 4999.99 */
    TU_ASSERT_ERR(veil_enc_decrypt(v, sk, &e, &err), err, VEIL_ERR_CRYPTO, "overflow");
    mpz_set_ui(e.bound, 500000);
    CU_ASSERT_EQUAL(veil_enc_decrypt(v, sk, &e, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_si(v, -500000) == 0);
    mpz_clear(v);
    veil_enc_clear(&e);
}

static void test_mixing_scales_is_refused_or_rescaled_explicitly(void)
{
    veil_err err;
    veil_enc a, b, r;
    veil_enc_init(&a);
    veil_enc_init(&b);
    veil_enc_init(&r);
    enc_text(&a, "1.25", 2);
    enc_text(&b, "-0.125", 3);
    TU_ASSERT_ERR(veil_enc_add(&r, pk, &a, &b, &err), err, VEIL_ERR_USAGE,
                  "scales differ (2 and 3)");
    TU_ASSERT_ERR(veil_enc_rescale(&r, pk, &b, 2, &err), err, VEIL_ERR_USAGE,
                  "cannot lower the scale");
    CU_ASSERT_EQUAL_FATAL(veil_enc_rescale(&a, pk, &a, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(a.scale, 3);
    CU_ASSERT_EQUAL(a.count, 1);
    CU_ASSERT_EQUAL_FATAL(veil_enc_add(&r, pk, &a, &b, &err), VEIL_OK);
    expect_decrypts_to(&r, "1.125");
    veil_enc_clear(&a);
    veil_enc_clear(&b);
    veil_enc_clear(&r);
}

static void test_scalar_plain_and_rerandomize(void)
{
    veil_err err;
    veil_enc a, r;
    veil_enc_init(&a);
    veil_enc_init(&r);
    mpz_t k;
    mpz_init_set_si(k, -3);
    enc_text(&a, "10.50", 2);
    CU_ASSERT_EQUAL(veil_enc_mul_scalar(&r, pk, &a, k, &err), VEIL_OK);
    expect_decrypts_to(&r, "-31.50");
    mpz_set_si(k, -1051); /* -10.51 at scale 2 */
    CU_ASSERT_EQUAL(veil_enc_add_plain(&r, pk, &a, k, &err), VEIL_OK);
    expect_decrypts_to(&r, "-0.01");
    veil_enc_rerandomize(&r, pk, &a);
    CU_ASSERT(mpz_cmp(r.c, a.c) != 0);
    CU_ASSERT(mpz_cmp(r.bound, a.bound) == 0);
    expect_decrypts_to(&r, "10.50");
    mpz_clear(k);
    veil_enc_clear(&a);
    veil_enc_clear(&r);
}

int main(void)
{
    static const tu_test tests[] = {
        {"decimal round trip with negatives", test_decimal_round_trip_with_negatives},
        {"encrypted sum agrees with plaintext sum", test_sum_agrees_with_plaintext},
        {"values at the bound", test_values_at_the_bound},
        {"sums that could overflow are refused", test_sum_that_could_overflow_is_refused},
        {"decryption outside the bound is overflow", test_decryption_outside_bound_is_overflow},
        {"mixing scales refused or rescaled explicitly",
         test_mixing_scales_is_refused_or_rescaled_explicitly},
        {"scalar, plain addition, rerandomize", test_scalar_plain_and_rerandomize},
        {NULL, NULL},
    };
    return tu_main("encrypted", suite_init, suite_cleanup, tests);
}
