/* Disclosure control: minimum-count and complementary suppression (known
 * answers), the noise plan (epsilon split, sensitivities, bad input),
 * discrete Laplace noise (distribution with fixed sample counts and bounds
 * wide enough never to flake) and clipping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/disclosure.h"

#define MAXC 16

/* Runs suppression and compares with the expected flags. */
static void check_suppress(const int64_t *counts, size_t n, uint64_t min_count,
                           const unsigned char *want, int want_total)
{
    veil_err err;
    unsigned char got[MAXC];
    int total = -1;
    memset(got, 0xAA, sizeof got);
    CU_ASSERT_EQUAL_FATAL(veil_dc_suppress(got, &total, counts, n, min_count, &err), VEIL_OK);
    CU_ASSERT_EQUAL(total, want_total);
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i])
            fprintf(stderr, "\n  cell %zu: suppressed %u, want %u\n", i, got[i], want[i]);
        CU_ASSERT_EQUAL(got[i], want[i]);
    }
    /* Whenever anything is suppressed and the total is released, the
     * suppressed set holds >= 2 cells with people and >= min_count. */
    uint64_t sum = 0;
    size_t npos = 0, nsup = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i]) {
            nsup++;
            if (counts[i] > 0) {
                npos++;
                sum += (uint64_t)counts[i];
            }
        }
    if (nsup > 0 && !total) {
        CU_ASSERT(npos >= 2);
        CU_ASSERT(sum >= min_count);
    }
}

static void test_nothing_below(void)
{
    const int64_t c[] = {10, 25, 5, 7};
    const unsigned char w[] = {0, 0, 0, 0};
    check_suppress(c, 4, 5, w, 0);
}

/* One small cell: it and the smallest released cell go. */
static void test_one_below_complementary(void)
{
    const int64_t c[] = {40, 3, 12, 9, 30};
    const unsigned char w[] = {0, 1, 0, 1, 0};
    check_suppress(c, 5, 5, w, 0);
}

/* Several tiny cells whose sum is still short: one more joins. */
static void test_tiny_cells_short(void)
{
    const int64_t c[] = {2, 1, 1, 30, 40};
    const unsigned char w[] = {1, 1, 1, 1, 0};
    check_suppress(c, 5, 5, w, 0);
}

/* The only small cell is empty: empty cells protect nothing, so two
 * released cells must join (a cascade). */
static void test_zero_cell_cascade(void)
{
    const int64_t c[] = {0, 7, 8, 9};
    const unsigned char w[] = {1, 1, 1, 0};
    check_suppress(c, 4, 5, w, 0);
    /* Several empty groups and one small one: still one cell with people. */
    const int64_t c2[] = {0, 0, 3, 0, 20, 6};
    const unsigned char w2[] = {1, 1, 1, 1, 0, 1};
    check_suppress(c2, 6, 5, w2, 0);
}

/* The worked example of docs/disclosure.md. */
static void test_docs_example(void)
{
    const int64_t c[] = {0, 3, 41, 9, 7};
    const unsigned char w[] = {1, 1, 0, 0, 1};
    check_suppress(c, 5, 5, w, 0);
    const int64_t c2[] = {0, 3, 7};
    const unsigned char w2[] = {1, 1, 1};
    check_suppress(c2, 3, 5, w2, 0);
    const int64_t c3[] = {0, 3};
    const unsigned char w3[] = {1, 1};
    check_suppress(c3, 2, 5, w3, 1);
}

static void test_two_below_enough(void)
{
    const int64_t c[] = {2, 50, 3, 10};
    const unsigned char w[] = {1, 0, 1, 0};
    check_suppress(c, 4, 5, w, 0);
}

static void test_ties_lowest_index(void)
{
    const int64_t c[] = {9, 1, 9, 20, 9};
    const unsigned char w[] = {1, 1, 0, 0, 0};
    check_suppress(c, 5, 5, w, 0);
}

static void test_all_below_total(void)
{
    const int64_t c[] = {1, 2, 1};
    const unsigned char w[] = {1, 1, 1};
    check_suppress(c, 3, 5, w, 1);
    /* Only one released cell after the small one is an empty group. */
    const int64_t c2[] = {0, 12};
    const unsigned char w2[] = {1, 1};
    check_suppress(c2, 2, 5, w2, 1);
}

static void test_ungrouped_total(void)
{
    const int64_t lo[] = {4};
    const unsigned char w1[] = {1};
    check_suppress(lo, 1, 5, w1, 1);
    const int64_t at[] = {5};
    const unsigned char w0[] = {0};
    check_suppress(at, 1, 5, w0, 0);
    const int64_t hi[] = {1000};
    check_suppress(hi, 1, 5, w0, 0);
    const int64_t neg[] = {-3};
    check_suppress(neg, 1, 1, w1, 1);
}

/* Noisy counts may be negative: below min_count, no protection, and they
 * do not shrink the protecting sum either. */
static void test_negative_counts(void)
{
    const int64_t c[] = {-2, 20, 30, 40};
    const unsigned char w[] = {1, 1, 1, 0};
    check_suppress(c, 4, 5, w, 0);
    const int64_t c2[] = {-4, 3, 2, 50};
    const unsigned char w2[] = {1, 1, 1, 0};
    check_suppress(c2, 4, 5, w2, 0);
    const int64_t c3[] = {INT64_MIN, INT64_MAX, INT64_MAX};
    const unsigned char w3[] = {1, 1, 1};
    check_suppress(c3, 3, 5, w3, 0);
}

static void test_empty_table_and_huge_min(void)
{
    veil_err err;
    int total = -1;
    CU_ASSERT_EQUAL(veil_dc_suppress(NULL, &total, NULL, 0, 5, &err), VEIL_OK);
    CU_ASSERT_EQUAL(total, 0);
    /* min_count beyond INT64_MAX: every cell is below. */
    const int64_t c[] = {INT64_MAX, 1};
    const unsigned char w[] = {1, 1};
    check_suppress(c, 2, UINT64_MAX, w, 1);
}

/* The largest table: 2^20 empty groups and two populated ones; the
 * empty ones protect nothing, so both populated cells join. */
static void test_largest_table(void)
{
    veil_err err;
    const size_t n = (size_t)1 << 20;
    int64_t *c = calloc(n, sizeof *c);
    unsigned char *s = malloc(n);
    CU_ASSERT_FATAL(c != NULL && s != NULL);
    c[n - 1] = 10;
    c[7] = 10;
    int total = -1;
    CU_ASSERT_EQUAL_FATAL(veil_dc_suppress(s, &total, c, n, 5, &err), VEIL_OK);
    size_t nsup = 0;
    for (size_t i = 0; i < n; i++)
        nsup += s[i];
    CU_ASSERT_EQUAL(nsup, n);
    CU_ASSERT_EQUAL(total, 0);
    c[7] = 4; /* now primary; only c[n-1] can join: safe */
    CU_ASSERT_EQUAL_FATAL(veil_dc_suppress(s, &total, c, n, 5, &err), VEIL_OK);
    CU_ASSERT_EQUAL(s[n - 1], 1);
    CU_ASSERT_EQUAL(total, 0);
    free(c);
    free(s);
}

static void test_suppress_usage(void)
{
    veil_err err;
    const int64_t c[] = {1, 2};
    unsigned char s[2];
    int total;
    veil_status st = veil_dc_suppress(s, &total, c, 2, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "suppression: the minimum count must be >= 1");
    st = veil_dc_suppress(s, &total, c, ((size_t)1 << 20) + 1, 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE,
                  "suppression: 1048577 cells is more than the 1048576 a table may have");
    st = veil_dc_suppress(s, &total, NULL, 2, 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "suppression: 2 cells but no counts or no output flags");
    st = veil_dc_suppress(NULL, &total, c, 2, 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "suppression: 2 cells but no counts or no output flags");
    st = veil_dc_suppress(s, NULL, c, 2, 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "suppression: no place for the total's flag");
}

/* ---- plan ---- */

/* The exact share epsilon / den in millionths, rounded toward zero. */
static double share(uint64_t eps, unsigned long den)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_ui(q, (unsigned long)eps, den * 1000000ul);
    mpq_canonicalize(q);
    double d = mpq_get_d(q);
    mpq_clear(q);
    return d;
}

static void check_plan_eps(uint64_t eps, int grouped, size_t nvalues, double want)
{
    veil_err err;
    veil_dc_plan p;
    mpz_t lo[2], hi[2];
    unsigned sc[2] = {0, 2};
    for (int j = 0; j < 2; j++) {
        mpz_init_set_si(lo[j], -1);
        mpz_init_set_si(hi[j], 1);
    }
    CU_ASSERT_EQUAL_FATAL(
        veil_dc_plan_new(&p, eps, grouped, nvalues, (const mpz_t *)lo, (const mpz_t *)hi, sc, &err),
        VEIL_OK);
    CU_ASSERT_EQUAL(p.epsilon, eps);
    CU_ASSERT_EQUAL(p.grouped, grouped);
    CU_ASSERT_EQUAL(p.nvalues, nvalues);
    CU_ASSERT_EQUAL_FATAL(p.nmeasures, 1 + 2 * nvalues);
    for (size_t i = 0; i < p.nmeasures; i++)
        CU_ASSERT_EQUAL(p.measures[i].epsilon, want);
    /* The shares never add up to more than epsilon. */
    mpq_t sum, one, e;
    mpq_inits(sum, one, e, NULL);
    mpq_set_d(one, p.measures[0].epsilon);
    mpq_set_ui(e, (unsigned long)p.nmeasures * (grouped ? 2u : 1u), 1);
    mpq_mul(sum, one, e);
    mpq_set_ui(e, (unsigned long)eps, 1000000ul);
    mpq_canonicalize(e);
    CU_ASSERT(mpq_cmp(sum, e) <= 0);
    mpq_clears(sum, one, e, NULL);
    veil_dc_plan_free(&p);
    CU_ASSERT_PTR_NULL(p.measures);
    for (int j = 0; j < 2; j++)
        mpz_clears(lo[j], hi[j], NULL);
}

static void test_plan_epsilon_split(void)
{
    /* Exactly representable shares. */
    check_plan_eps(1000000, 0, 0, 1.0);
    check_plan_eps(1000000, 1, 0, 0.5);
    check_plan_eps(1500000, 1, 1, 0.25); /* 1.5 / 2 / 3 */
    check_plan_eps(3000000, 0, 1, 1.0);  /* 3 / 3 */
    check_plan_eps(5000000, 0, 2, 1.0);  /* 5 / 5 */
    check_plan_eps(5000000, 1, 2, 0.5);  /* 5 / 2 / 5 */
    check_plan_eps(100000000, 1, 1, share(100000000, 6));
    /* Shares that are not binary fractions: the exact value rounded down. */
    check_plan_eps(1000000, 1, 1, share(1000000, 6));
    check_plan_eps(1000000, 0, 1, share(1000000, 3));
    check_plan_eps(1000000, 0, 2, share(1000000, 5));
    check_plan_eps(1000000, 1, 2, share(1000000, 10));
    check_plan_eps(1, 1, 2, share(1, 10));
    CU_ASSERT(share(1000000, 3) <= 1.0 / 3);
    CU_ASSERT(share(1000000, 10) <= 0.1);
}

static void test_plan_sensitivities(void)
{
    veil_err err;
    veil_dc_plan p;
    mpz_t lo[2], hi[2];
    unsigned sc[2] = {0, 2};
    mpz_init_set_si(lo[0], -5);
    mpz_init_set_si(hi[0], 3);
    mpz_init_set_si(lo[1], 0);
    mpz_init_set_ui(hi[1], 100000000ul); /* 1000000.00 at scale 2 */
    CU_ASSERT_EQUAL_FATAL(
        veil_dc_plan_new(&p, 1000000, 1, 2, (const mpz_t *)lo, (const mpz_t *)hi, sc, &err),
        VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(p.nmeasures, 5);
    const veil_dc_measure *m = p.measures;
    CU_ASSERT_EQUAL(m[0].kind, VEIL_DC_COUNT);
    CU_ASSERT_EQUAL(m[0].scale, 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(m[0].sensitivity, 1), 0);
    CU_ASSERT_EQUAL(m[1].kind, VEIL_DC_SUM);
    CU_ASSERT_EQUAL(m[1].column, 0);
    CU_ASSERT_EQUAL(m[1].scale, 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(m[1].sensitivity, 5), 0);
    CU_ASSERT_EQUAL(m[2].kind, VEIL_DC_SUMSQ);
    CU_ASSERT_EQUAL(m[2].column, 0);
    CU_ASSERT_EQUAL(m[2].scale, 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(m[2].sensitivity, 25), 0);
    CU_ASSERT_EQUAL(m[3].kind, VEIL_DC_SUM);
    CU_ASSERT_EQUAL(m[3].column, 1);
    CU_ASSERT_EQUAL(m[3].scale, 2);
    CU_ASSERT_EQUAL(mpz_cmp_ui(m[3].sensitivity, 100000000ul), 0);
    CU_ASSERT_EQUAL(m[4].kind, VEIL_DC_SUMSQ);
    CU_ASSERT_EQUAL(m[4].column, 1);
    CU_ASSERT_EQUAL(m[4].scale, 4);
    mpz_t want;
    mpz_init(want);
    mpz_ui_pow_ui(want, 10, 16);
    CU_ASSERT_EQUAL(mpz_cmp(m[4].sensitivity, want), 0);
    /* The plan owns its values: changing the bounds changes nothing. */
    mpz_set_ui(hi[0], 999);
    CU_ASSERT_EQUAL(mpz_cmp_ui(m[1].sensitivity, 5), 0);
    veil_dc_plan_free(&p);
    /* A positive range: the largest square is hi^2; only-negative: lo^2. */
    mpz_set_si(lo[0], 2);
    mpz_set_si(hi[0], 7);
    mpz_set_si(lo[1], -9);
    mpz_set_si(hi[1], -4);
    CU_ASSERT_EQUAL_FATAL(
        veil_dc_plan_new(&p, 1000000, 0, 2, (const mpz_t *)lo, (const mpz_t *)hi, sc, &err),
        VEIL_OK);
    CU_ASSERT_EQUAL(mpz_cmp_ui(p.measures[1].sensitivity, 7), 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(p.measures[2].sensitivity, 49), 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(p.measures[3].sensitivity, 9), 0);
    CU_ASSERT_EQUAL(mpz_cmp_ui(p.measures[4].sensitivity, 81), 0);
    veil_dc_plan_free(&p);
    veil_dc_plan_free(&p); /* twice is harmless */
    mpz_clear(want);
    for (int j = 0; j < 2; j++)
        mpz_clears(lo[j], hi[j], NULL);
}

static void test_plan_usage(void)
{
    veil_err err;
    veil_dc_plan p;
    mpz_t lo[1], hi[1];
    unsigned sc[1] = {2};
    mpz_init_set_si(lo[0], -1);
    mpz_init_set_si(hi[0], 1);
    const mpz_t *L = (const mpz_t *)lo, *H = (const mpz_t *)hi;
    veil_status st = veil_dc_plan_new(&p, 0, 1, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be in (0, 100], not 0");
    CU_ASSERT_PTR_NULL(p.measures);
    veil_dc_plan_free(&p);
    st = veil_dc_plan_new(&p, 100000001, 1, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "epsilon must be in (0, 100], not 100.000001");
    CU_ASSERT_EQUAL(veil_dc_plan_new(&p, 100000000, 1, 1, L, H, sc, &err), VEIL_OK);
    veil_dc_plan_free(&p);
    st = veil_dc_plan_new(&p, 1000000, 1, 33, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "a noisy query has at most 32 value columns, not 33");
    st = veil_dc_plan_new(&p, 1000000, 1, 1, NULL, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "1 value columns but no clipping bounds or scales");
    sc[0] = 19;
    st = veil_dc_plan_new(&p, 1000000, 1, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "value column 0: scale 19 is above the maximum 18");
    sc[0] = 18;
    CU_ASSERT_EQUAL(veil_dc_plan_new(&p, 1000000, 1, 1, L, H, sc, &err), VEIL_OK);
    CU_ASSERT_EQUAL(p.measures[2].scale, 36);
    veil_dc_plan_free(&p);
    mpz_set_si(lo[0], 4);
    mpz_set_si(hi[0], 3);
    st = veil_dc_plan_new(&p, 1000000, 1, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "value column 0: clipping bound lo 4 is above hi 3");
    mpz_set_si(lo[0], 0);
    mpz_set_si(hi[0], 0);
    st = veil_dc_plan_new(&p, 1000000, 1, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "value column 0: clipping bounds are both 0");
    /* lo = hi != 0 is a constant column but a legitimate bound. */
    mpz_set_si(lo[0], 5);
    mpz_set_si(hi[0], 5);
    CU_ASSERT_EQUAL(veil_dc_plan_new(&p, 1000000, 0, 1, L, H, sc, &err), VEIL_OK);
    veil_dc_plan_free(&p);
    st = veil_dc_plan_new(NULL, 1000000, 0, 1, L, H, sc, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "noise plan: no plan to fill");
    mpz_clears(lo[0], hi[0], NULL);
}

/* ---- noise ---- */

#define NS 20000

/* P[z] ~ exp(-|z|) (epsilon 1, sensitivity 1): P[0] = tanh(1/2) = 0.4621,
 * E|z| = 2a / (1 - a^2) = 0.8509 with a = e^-1. Standard errors at 20000
 * samples: 0.0035 and 0.008, so the bounds are > 8 s.e. yet a sampler
 * with the wrong scale (a factor 2 either way) fails them. */
static void test_noise_distribution(void)
{
    veil_err err;
    veil_dc_plan p;
    CU_ASSERT_EQUAL_FATAL(veil_dc_plan_new(&p, 1000000, 0, 0, NULL, NULL, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(p.measures[0].epsilon, 1.0);
    mpz_t z;
    mpz_init(z);
    long zeros = 0, pos = 0, neg = 0;
    double abs_sum = 0;
    for (int i = 0; i < NS; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dc_noise(z, &p.measures[0], &err), VEIL_OK);
        CU_ASSERT_FATAL(mpz_cmpabs_ui(z, 1000) < 0);
        long v = mpz_get_si(z);
        zeros += v == 0;
        pos += v > 0;
        neg += v < 0;
        abs_sum += labs(v);
    }
    double mean_abs = abs_sum / NS, p0 = (double)zeros / NS;
    fprintf(stderr, "\n  eps 1 sens 1: mean |z| %.4f, P[0] %.4f ", mean_abs, p0);
    CU_ASSERT(mean_abs >= 0.78 && mean_abs <= 0.92);
    CU_ASSERT(fabs(p0 - tanh(0.5)) <= 0.03);
    CU_ASSERT(labs(pos - neg) < 600); /* symmetric: s.e. of pos - neg ~ 104 */
    veil_dc_plan_free(&p);
    mpz_clear(z);
}

/* Sensitivity 10^16 at epsilon 1: variance 2a/(1-a)^2 ~ 2 * 10^32. */
static void test_noise_large_sensitivity(void)
{
    veil_err err;
    veil_dc_measure m;
    memset(&m, 0, sizeof m);
    m.kind = VEIL_DC_SUMSQ;
    m.scale = 4;
    m.epsilon = 1.0;
    mpz_init(m.sensitivity);
    mpz_ui_pow_ui(m.sensitivity, 10, 16);
    mpz_t z, sq, acc, small;
    mpz_inits(z, sq, acc, small, NULL);
    mpz_ui_pow_ui(small, 10, 12);
    const int n = 2000;
    int nsmall = 0;
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_dc_noise(z, &m, &err), VEIL_OK);
        nsmall += mpz_cmpabs(z, small) < 0;
        mpz_mul(sq, z, z);
        mpz_add(acc, acc, sq);
    }
    /* P[|z| < 10^12] ~ 10^-4: almost never. */
    CU_ASSERT(nsmall < 10);
    double var = mpz_get_d(acc) / n;
    fprintf(stderr, "variance at sens 1e16: %.3g ", var);
    CU_ASSERT(var > 1e32 && var < 4e32);
    mpz_clears(z, sq, acc, small, m.sensitivity, NULL);
}

static void test_noise_usage(void)
{
    veil_err err;
    veil_dc_measure m;
    memset(&m, 0, sizeof m);
    m.kind = VEIL_DC_COUNT;
    mpz_init_set_ui(m.sensitivity, 1);
    mpz_t z;
    mpz_init(z);
    veil_status st = veil_dc_noise(z, &m, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "noise: epsilon must be a number in (0, 100]");
    m.epsilon = 1.0;
    mpz_set_ui(m.sensitivity, 0);
    st = veil_dc_noise(z, &m, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "noise: sensitivity must be positive");
    st = veil_dc_noise(z, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "noise: no measure");
    mpz_clears(z, m.sensitivity, NULL);
}

/* ---- clip ---- */

static void test_clip(void)
{
    mpz_t v, lo, hi;
    mpz_init(v);
    mpz_init_set_si(lo, -5);
    mpz_init_set_si(hi, 3);
    mpz_set_si(v, -6);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 1);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, -5), 0);
    mpz_set_si(v, 100);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 1);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, 3), 0);
    mpz_set_si(v, 0);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 0);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, 0), 0);
    mpz_set_si(v, -5);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 0);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, -5), 0);
    mpz_set_si(v, 3);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 0);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, 3), 0);
    mpz_ui_pow_ui(v, 10, 40);
    CU_ASSERT_EQUAL(veil_dc_clip(v, lo, hi), 1);
    CU_ASSERT_EQUAL(mpz_cmp_si(v, 3), 0);
    mpz_clears(v, lo, hi, NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"no cell below the minimum: nothing suppressed", test_nothing_below},
        {"one small cell: it and the smallest released cell", test_one_below_complementary},
        {"small cells short of the minimum together: one more joins", test_tiny_cells_short},
        {"empty cells protect nothing: cascade", test_zero_cell_cascade},
        {"docs/disclosure.md worked example", test_docs_example},
        {"two small cells reaching the minimum: just those", test_two_below_enough},
        {"ties: lowest index joins first", test_ties_lowest_index},
        {"nothing left to release: total suppressed", test_all_below_total},
        {"ungrouped total below and above the minimum", test_ungrouped_total},
        {"negative noisy counts", test_negative_counts},
        {"empty table and a huge minimum", test_empty_table_and_huge_min},
        {"2^20 cells", test_largest_table},
        {"suppression usage errors", test_suppress_usage},
        {"plan: epsilon split", test_plan_epsilon_split},
        {"plan: sensitivities from the bounds", test_plan_sensitivities},
        {"plan: usage errors", test_plan_usage},
        {"noise: discrete Laplace at epsilon 1, sensitivity 1", test_noise_distribution},
        {"noise: sensitivity 10^16 gives large noise", test_noise_large_sensitivity},
        {"noise: bad measure", test_noise_usage},
        {"clip: below, above, inside", test_clip},
        {NULL, NULL},
    };
    return tu_main("disclosure", NULL, NULL, tests);
}
