/* Exact discrete Laplace and discrete Gaussian sampling (Canonne, Kamath
 * and Steinke 2020, Algorithms 1-3) on GMP integers with libsodium
 * randomness; see veil/dp.h for why no floating point touches the noise. */
#include "veil/dp.h"

#include <math.h>

#include "veil/fixed.h"
#include "veil/rand.h"

/* 1 with probability num/den (0 <= num <= den). */
static int bernoulli_rat(const mpz_t num, const mpz_t den)
{
    mpz_t u;
    mpz_init(u);
    veil_rand_mpz_below(u, den);
    int r = mpz_cmp(u, num) < 0;
    mpz_clear(u);
    return r;
}

/* Bernoulli(exp(-g)) for 0 <= g = num/den <= 1: draw A_k ~ Bernoulli(g/k)
 * for k = 1, 2, ... until one is 0; the number of draws is odd with
 * probability exactly exp(-g) (CKS Algorithm 1, first case). */
static int bernoulli_exp_small(const mpz_t num, const mpz_t den)
{
    mpz_t kden;
    mpz_init(kden);
    unsigned long k = 1;
    for (;; k++) {
        mpz_mul_ui(kden, den, k);
        if (!bernoulli_rat(num, kden))
            break;
    }
    mpz_clear(kden);
    return (int)(k & 1);
}

int veil_dp_bernoulli_exp(const mpz_t num, const mpz_t den)
{
    /* exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))). */
    mpz_t rest, one;
    mpz_inits(rest, one, NULL);
    mpz_set(rest, num);
    mpz_set_ui(one, 1);
    int r = 1;
    while (mpz_cmp(rest, den) >= 0) {
        if (!bernoulli_exp_small(one, one)) {
            r = 0;
            break;
        }
        mpz_sub(rest, rest, den);
    }
    if (r)
        r = bernoulli_exp_small(rest, den);
    mpz_clears(rest, one, NULL);
    return r;
}

void veil_dp_sample_dlaplace(mpz_t out, const mpz_t s, const mpz_t t)
{
    /* P[z] ~ exp(-|z| s / t), scale t/s. CKS Algorithm 2: U uniform in [0, t) accepted with prob.
     * exp(-U/t), V geometric with parameter 1 - exp(-1); X = U + tV is geometric with parameter 1 -
     * exp(-1/t); Y = floor(X / s) is geometric with parameter 1 - exp(-s/t); a random sign,
     * rejecting "-0". */
    mpz_t u, v, x, one;
    mpz_inits(u, v, x, one, NULL);
    mpz_set_ui(one, 1);
    for (;;) {
        veil_rand_mpz_below(u, t);
        if (!veil_dp_bernoulli_exp(u, t))
            continue;
        mpz_set_ui(v, 0);
        while (veil_dp_bernoulli_exp(one, one))
            mpz_add_ui(v, v, 1);
        mpz_mul(x, t, v);
        mpz_add(x, x, u);
        mpz_fdiv_q(x, x, s);
        unsigned char b;
        veil_rand_bytes(&b, 1);
        b &= 1;
        if (b && mpz_sgn(x) == 0)
            continue;
        if (b)
            mpz_neg(x, x);
        mpz_set(out, x);
        break;
    }
    mpz_clears(u, v, x, one, NULL);
}

void veil_dp_sample_dgauss(mpz_t out, const mpq_t sigma2)
{
    /* CKS Algorithm 3: t = floor(sigma) + 1; Y ~ discrete Laplace with
     * scale t; accept with probability exp(-(|Y| - sigma^2/t)^2 / (2
     * sigma^2)). With sigma2 = a/b the exponent is
     * (|Y| t b - a)^2 / (2 a b t^2). */
    mpz_t a, b, t, one, y, num, den, tmp;
    mpz_inits(a, b, t, one, y, num, den, tmp, NULL);
    mpz_set(a, mpq_numref(sigma2));
    mpz_set(b, mpq_denref(sigma2));
    mpz_fdiv_q(t, a, b); /* floor(sigma^2) */
    mpz_sqrt(t, t);      /* floor(sqrt(floor(sigma^2))) = floor(sigma) */
    mpz_add_ui(t, t, 1);
    mpz_set_ui(one, 1);
    for (;;) {
        veil_dp_sample_dlaplace(y, one, t);
        mpz_abs(num, y);
        mpz_mul(num, num, t);
        mpz_mul(num, num, b);
        mpz_sub(num, num, a);
        mpz_mul(num, num, num);
        mpz_mul(den, a, b);
        mpz_mul_ui(den, den, 2);
        mpz_mul(tmp, t, t);
        mpz_mul(den, den, tmp);
        if (veil_dp_bernoulli_exp(num, den)) {
            mpz_set(out, y);
            break;
        }
    }
    mpz_clears(a, b, t, one, y, num, den, tmp, NULL);
}

static veil_status check_args(unsigned scale, double epsilon, const mpz_t sensitivity,
                              veil_err *err)
{
    if (!(epsilon > 0.0) || !isfinite(epsilon) || epsilon > VEIL_DP_EPSILON_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "epsilon must be a number in (0, %g], not %g",
                            VEIL_DP_EPSILON_MAX, epsilon);
    if (mpz_sgn(sensitivity) <= 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "sensitivity must be positive");
    if (scale > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "scale %u is above the maximum %d", scale,
                            VEIL_SCALE_MAX);
    return VEIL_OK;
}

veil_status veil_dp_laplace_fixed(mpz_t out, const mpz_t value, unsigned scale, double epsilon,
                                  const mpz_t sensitivity, veil_err *err)
{
    veil_status st = check_args(scale, epsilon, sensitivity, err);
    if (st != VEIL_OK)
        return st;
    /* epsilon = p/q exactly; exp(-eps |z| / D) = exp(-|z| p / (q D)). */
    mpq_t e;
    mpz_t s, z;
    mpq_init(e);
    mpz_inits(s, z, NULL);
    mpq_set_d(e, epsilon);
    mpz_mul(s, mpq_denref(e), sensitivity);
    veil_dp_sample_dlaplace(z, mpq_numref(e), s);
    mpz_add(out, value, z);
    mpq_clear(e);
    mpz_clears(s, z, NULL);
    return VEIL_OK;
}

veil_status veil_dp_gaussian_fixed(mpz_t out, const mpz_t value, unsigned scale, double epsilon,
                                   double delta, const mpz_t sensitivity, double *sigma2_out,
                                   veil_err *err)
{
    veil_status st = check_args(scale, epsilon, sensitivity, err);
    if (st != VEIL_OK)
        return st;
    if (!(delta > 0.0 && delta < 1.0))
        return veil_err_set(err, VEIL_ERR_USAGE, "delta must be in (0, 1), not %g", delta);
    /* Largest rho with rho + 2 sqrt(rho L) <= epsilon, L = ln(1/delta). */
    double L = -log(delta);
    double r = sqrt(L + epsilon) - sqrt(L);
    double rho = r * r * (1.0 - 1e-9);
    if (!(rho > 0.0) || !isfinite(rho))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "epsilon %g and delta %g give no usable noise level", epsilon, delta);
    mpq_t q, s2;
    mpz_t z;
    mpq_inits(q, s2, NULL);
    mpz_init(z);
    mpq_set_d(q, 2.0 * rho); /* exact */
    mpz_mul(mpq_numref(s2), sensitivity, sensitivity);
    mpz_set_ui(mpq_denref(s2), 1);
    mpq_div(s2, s2, q); /* sigma^2 = D^2 / (2 rho), exact rational */
    if (sigma2_out != NULL)
        *sigma2_out = mpq_get_d(s2);
    veil_dp_sample_dgauss(z, s2);
    mpz_add(out, value, z);
    mpq_clears(q, s2, NULL);
    mpz_clear(z);
    return VEIL_OK;
}
