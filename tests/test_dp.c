/* Differential-privacy samplers: argument checks, exact integer grid, and
 * statistical sanity (mean and variance against theory with bounds wide
 * enough never to flake: > 6 standard errors). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "veil/dp.h"

#define N 20000

static void test_bernoulli_exp(void)
{
    mpz_t num, den;
    mpz_inits(num, den, NULL);
    mpz_set_ui(num, 3);
    mpz_set_ui(den, 2); /* exp(-1.5) = 0.22313 */
    long hits = 0;
    for (int i = 0; i < N; i++)
        hits += veil_dp_bernoulli_exp(num, den);
    double p = exp(-1.5), sd = sqrt(p * (1 - p) / N);
    CU_ASSERT(fabs((double)hits / N - p) < 6 * sd);
    mpz_set_ui(num, 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(veil_dp_bernoulli_exp(num, den), 1);
    mpz_clears(num, den, NULL);
}

/* Discrete Laplace with P[z] ~ exp(-|z|/b): variance 2a/(1-a)^2, a = e^-1/b. */
static void test_laplace_moments(void)
{
    veil_err err;
    mpz_t v, sens, out;
    mpz_inits(v, sens, out, NULL);
    mpz_set_si(v, -123456);
    mpz_set_ui(sens, 300); /* epsilon 0.5: b = 600 units */
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dp_laplace_fixed(out, v, 2, 0.5, sens, &err), VEIL_OK);
        mpz_sub(out, out, v);
        double z = mpz_get_d(out);
        sum += z;
        sq += z * z;
    }
    double a = exp(-1.0 / 600), var = 2 * a / ((1 - a) * (1 - a));
    double mean = sum / N, emp = sq / N - mean * mean;
    CU_ASSERT(fabs(mean) < 6 * sqrt(var / N));
    /* Var of z^2 for Laplace is 5 var^2: relative s.e. sqrt(5/N) = 1.6 %. */
    CU_ASSERT(fabs(emp / var - 1) < 0.10);
    mpz_clears(v, sens, out, NULL);
}

static void test_gauss_moments(void)
{
    veil_err err;
    mpz_t v, sens, out;
    mpz_inits(v, sens, out, NULL);
    mpz_set_ui(v, 1000);
    mpz_set_ui(sens, 10);
    double sigma2 = 0, sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dp_gaussian_fixed(out, v, 0, 1.0, 1e-6, sens, &sigma2, &err),
                              VEIL_OK);
        mpz_sub(out, out, v);
        double z = mpz_get_d(out);
        sum += z;
        sq += z * z;
    }
    /* rho = (sqrt(L+1) - sqrt(L))^2, L = ln 1e6; sigma^2 = 100 / (2 rho). */
    double L = log(1e6), r = sqrt(L + 1) - sqrt(L), want = 100 / (2 * r * r);
    CU_ASSERT(fabs(sigma2 / want - 1) < 1e-6);
    double mean = sum / N, emp = sq / N - mean * mean;
    CU_ASSERT(fabs(mean) < 6 * sqrt(sigma2 / N));
    /* For sigma >> 1 the discrete Gaussian's variance is sigma^2 up to
     * e^-2pi^2 sigma^2; relative s.e. of the estimate sqrt(2/N) = 1 %. */
    CU_ASSERT(fabs(emp / sigma2 - 1) < 0.07);
    mpq_t s2;
    mpq_init(s2);
    mpq_set_ui(s2, 1, 4); /* sigma = 0.5: small values only */
    for (int i = 0; i < 2000; i++) {
        veil_dp_sample_dgauss(out, s2);
        CU_ASSERT(mpz_cmpabs_ui(out, 12) < 0);
    }
    mpq_clear(s2);
    mpz_clears(v, sens, out, NULL);
}

/* Noise is a whole number of mantissa units: tiny epsilon with a huge
 * sensitivity still lands exactly on the integer grid, and huge values
 * are not rounded. */
static void test_grid_exact(void)
{
    veil_err err;
    mpz_t v, sens, out, d;
    mpz_inits(v, sens, out, d, NULL);
    mpz_ui_pow_ui(v, 10, 40); /* 10^40: far beyond double precision */
    mpz_add_ui(v, v, 7);
    mpz_set_ui(sens, 1);
    int nonzero = 0;
    for (int i = 0; i < 200; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dp_laplace_fixed(out, v, 2, 0.1, sens, &err), VEIL_OK);
        mpz_sub(d, out, v);
        CU_ASSERT(mpz_cmpabs_ui(d, 1000) < 0);
        nonzero += mpz_sgn(d) != 0;
        CU_ASSERT_EQUAL(mpz_fdiv_ui(out, 10) == 7, mpz_fdiv_ui(d, 10) == 0);
    }
    CU_ASSERT(nonzero > 100); /* b = 10 units: P[0] ~ 0.05 */
    /* Large epsilon: almost always exact. */
    int zero = 0;
    for (int i = 0; i < 200; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dp_laplace_fixed(out, v, 2, 50.0, sens, &err), VEIL_OK);
        zero += mpz_cmp(out, v) == 0;
    }
    CU_ASSERT(zero > 190);
    mpz_clears(v, sens, out, d, NULL);
}

static void test_bad_arguments(void)
{
    veil_err err;
    mpz_t v, sens, out;
    mpz_inits(v, sens, out, NULL);
    mpz_set_ui(sens, 1);
    veil_status st = veil_dp_laplace_fixed(out, v, 2, 0.0, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be a number in (0, 100]");
    st = veil_dp_laplace_fixed(out, v, 2, -1.0, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be");
    st = veil_dp_laplace_fixed(out, v, 2, NAN, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be");
    st = veil_dp_laplace_fixed(out, v, 2, INFINITY, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be");
    st = veil_dp_laplace_fixed(out, v, 2, 101.0, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be");
    st = veil_dp_laplace_fixed(out, v, 300, 1.0, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "scale 300");
    mpz_set_ui(sens, 0);
    st = veil_dp_laplace_fixed(out, v, 2, 1.0, sens, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "sensitivity must be positive");
    mpz_set_ui(sens, 1);
    st = veil_dp_gaussian_fixed(out, v, 2, 1.0, 0.0, sens, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "delta must be in (0, 1)");
    st = veil_dp_gaussian_fixed(out, v, 2, 1.0, 1.0, sens, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "delta must be in (0, 1)");
    mpz_clears(v, sens, out, NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"Bernoulli(exp(-x)) frequency", test_bernoulli_exp},
        {"discrete Laplace mean and variance", test_laplace_moments},
        {"discrete Gaussian calibration, mean and variance", test_gauss_moments},
        {"noise lies on the integer grid", test_grid_exact},
        {"bad epsilon, delta, sensitivity, scale", test_bad_arguments},
        {NULL, NULL},
    };
    return tu_main("dp", NULL, NULL, tests);
}
