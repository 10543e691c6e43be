/* Differential-privacy noise for released numbers on veil's fixed-point
 * grid (see veil/fixed.h: a value at scale s is the integer mantissa
 * x * 10^s).
 *
 * Noise is an integer number of mantissa units, sampled with the exact
 * algorithms of Canonne, Kamath and Steinke, "The Discrete Gaussian for
 * Differential Privacy" (NeurIPS 2020): Bernoulli(exp(-x)) for rational x
 * by alternating series, the discrete Laplace distribution by geometric
 * sampling, and the discrete Gaussian by rejection from the discrete
 * Laplace. All arithmetic is on GMP integers and rationals, and every
 * random draw is a uniform integer from libsodium (veil_rand_mpz_below).
 * No floating-point value is ever turned into noise, so the released value
 * cannot leak the true value through the gaps and rounding of a
 * floating-point sampler (Mironov, "On Significance of the Least
 * Significant Bits for Differential Privacy", CCS 2012).
 *
 * Epsilon is taken as a double; every finite double is an exact dyadic
 * rational and is used exactly (mpq_set_d), never rounded. */
#ifndef VEIL_DP_H
#define VEIL_DP_H

#include <gmp.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_DP_EPSILON_MAX 100.0 /* larger epsilons are refused as a mistake */

/* out = value + Z, where P[Z = z] is proportional to
 * exp(-epsilon * |z| / sensitivity) over the integers (z in mantissa units
 * at `scale`; sensitivity in mantissa units, > 0). This is
 * epsilon-differentially private for a query whose value moves by at most
 * `sensitivity` units when one person's records change. Errors:
 * VEIL_ERR_USAGE for epsilon not in (0, VEIL_DP_EPSILON_MAX], a
 * non-positive sensitivity or a scale above VEIL_SCALE_MAX. out may alias
 * value. */
veil_status veil_dp_laplace_fixed(mpz_t out, const mpz_t value, unsigned scale, double epsilon,
                                  const mpz_t sensitivity, veil_err *err) VEIL_WUR;

/* out = value + Z with Z drawn from the discrete Gaussian N_Z(0, sigma^2),
 * calibrated for (epsilon, delta)-differential privacy through zero-
 * concentrated DP: the discrete Gaussian with sigma^2 = Delta^2 / (2 rho)
 * is rho-zCDP (CKS 2020, Thm. 4), and rho-zCDP implies
 * (rho + 2 sqrt(rho ln(1/delta)), delta)-DP (Bun and Steinke 2016,
 * Prop. 1.3); rho is the largest value meeting epsilon, lowered by a
 * relative 1e-9 so floating-point rounding of the calibration can only add
 * noise. delta must be in (0, 1). *sigma2_out (may be NULL) receives the
 * variance parameter used, in mantissa units squared. */
veil_status veil_dp_gaussian_fixed(mpz_t out, const mpz_t value, unsigned scale, double epsilon,
                                   double delta, const mpz_t sensitivity, double *sigma2_out,
                                   veil_err *err) VEIL_WUR;

/* The samplers, exposed for tests and for callers with their own
 * calibration. All parameters are exact integers/rationals. */
/* 1 with probability exp(-num/den), num >= 0, den > 0. */
int veil_dp_bernoulli_exp(const mpz_t num, const mpz_t den);
/* out ~ discrete Laplace with scale t/s: P[z] proportional to
 * exp(-|z| * s / t), s, t > 0. */
void veil_dp_sample_dlaplace(mpz_t out, const mpz_t s, const mpz_t t);
/* out ~ discrete Gaussian with variance parameter sigma2 > 0. */
void veil_dp_sample_dgauss(mpz_t out, const mpq_t sigma2);

#ifdef __cplusplus
}
#endif
#endif
