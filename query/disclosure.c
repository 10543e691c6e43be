/* Disclosure control on released cells (veil/disclosure.h,
 * docs/disclosure.md): minimum-count and complementary suppression, the
 * noise plan (epsilon split and sensitivities), discrete Laplace noise
 * from deid/'s exact sampler, and clipping. The ledger is in ledger.c. */
#include <stdlib.h>
#include <string.h>

#include "veil/disclosure.h"
#include "veil/dp.h"

#define DC_CELLS_MAX   ((size_t)1 << 20) /* cells a one-way table may have */
#define DC_VALUES_MAX  32u               /* value columns of one query */
#define DC_SCALE_MAX   18u               /* int64 mantissas, as query.h */
#define DC_BOUND_PRINT 48                /* bytes of a bound quoted in a message */

/* ---- suppression ---- */

/* A count below min_count; min_count may exceed INT64_MAX. */
static int below_min(int64_t c, uint64_t min_count)
{
    return c < 0 || (uint64_t)c < min_count;
}

/* The suppressed set so far: how many of its cells have a count > 0 and
 * what those counts add up to (saturating: only ">= min_count" matters).
 * Zero and negative (noisy) counts protect nothing and subtract nothing. */
typedef struct {
    size_t npositive;
    uint64_t sum;
} dc_set;

static void set_add(dc_set *s, int64_t c)
{
    if (c <= 0)
        return;
    s->npositive++;
    uint64_t u = (uint64_t)c;
    s->sum = (s->sum > UINT64_MAX - u) ? UINT64_MAX : s->sum + u;
}

static int set_safe(const dc_set *s, size_t nsuppressed, uint64_t min_count)
{
    return nsuppressed == 0 || (s->npositive >= 2 && s->sum >= min_count);
}

/* qsort context: counts to order released cells by (count, index). */
typedef struct {
    size_t index;
    int64_t count;
} dc_cell;

static int cell_cmp(const void *a, const void *b)
{
    const dc_cell *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

veil_status veil_dc_suppress(unsigned char *suppressed, int *total_suppressed,
                             const int64_t *counts, size_t ncells, uint64_t min_count,
                             veil_err *err)
{
    if (total_suppressed == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "suppression: no place for the total's flag");
    *total_suppressed = 0;
    if (min_count == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "suppression: the minimum count must be >= 1");
    if (ncells > DC_CELLS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "suppression: %zu cells is more than the %zu a table may have", ncells,
                            DC_CELLS_MAX);
    if (ncells > 0 && (counts == NULL || suppressed == NULL))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "suppression: %zu cells but no counts or no output flags", ncells);

    /* Primary suppression. */
    dc_set set = {0, 0};
    size_t nsuppressed = 0, nreleased = 0;
    for (size_t i = 0; i < ncells; i++) {
        suppressed[i] = (unsigned char)below_min(counts[i], min_count);
        if (suppressed[i]) {
            set_add(&set, counts[i]);
            nsuppressed++;
        }
    }
    if (set_safe(&set, nsuppressed, min_count))
        return VEIL_OK;

    /* Complementary: released cells join smallest first (lowest index on
     * ties). Released cells only ever leave in that order, so one sort
     * replaces a scan per step. */
    dc_cell *order = malloc((ncells - nsuppressed) * sizeof *order + 1);
    if (order == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "suppression: out of memory");
    for (size_t i = 0; i < ncells; i++)
        if (!suppressed[i])
            order[nreleased++] = (dc_cell){i, counts[i]};
    qsort(order, nreleased, sizeof *order, cell_cmp);
    size_t next = 0;
    while (!set_safe(&set, nsuppressed, min_count)) {
        if (next == nreleased) {
            /* No released cell left: the total would give S away. */
            *total_suppressed = 1;
            break;
        }
        suppressed[order[next].index] = 1;
        set_add(&set, order[next].count);
        nsuppressed++;
        next++;
    }
    free(order);
    return VEIL_OK;
}

/* ---- noise plan ---- */

/* out = max(a, b). */
static void mpz_max2(mpz_t out, const mpz_t a, const mpz_t b)
{
    mpz_set(out, mpz_cmp(a, b) >= 0 ? a : b);
}

static veil_status check_column(size_t j, const mpz_t lo, const mpz_t hi, unsigned scale,
                                veil_err *err)
{
    if (scale > DC_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "value column %zu: scale %u is above the maximum %u", j, scale,
                            DC_SCALE_MAX);
    if (mpz_cmp(lo, hi) > 0) {
        char l[DC_BOUND_PRINT], h[DC_BOUND_PRINT];
        gmp_snprintf(l, sizeof l, "%Zd", lo);
        gmp_snprintf(h, sizeof h, "%Zd", hi);
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "value column %zu: clipping bound lo %s is above hi %s", j, l, h);
    }
    if (mpz_sgn(lo) == 0 && mpz_sgn(hi) == 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "value column %zu: clipping bounds are both 0, so the column can "
                            "only be 0; declare the range its values really take",
                            j);
    return VEIL_OK;
}

static veil_status check_plan_args(uint64_t epsilon, size_t nvalues, const mpz_t *lo,
                                   const mpz_t *hi, const unsigned *scales, veil_err *err)
{
    const uint64_t eps_max = (uint64_t)VEIL_DP_EPSILON_MAX * VEIL_EPS_UNIT;
    if (epsilon == 0 || epsilon > eps_max) {
        char text[VEIL_EPS_TEXT_MAX];
        veil_eps_format(text, epsilon);
        return veil_err_set(err, VEIL_ERR_USAGE, "epsilon must be in (0, %g], not %s",
                            VEIL_DP_EPSILON_MAX, text);
    }
    if (nvalues > DC_VALUES_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "a noisy query has at most %u value columns, not %zu", DC_VALUES_MAX,
                            nvalues);
    if (nvalues > 0 && (lo == NULL || hi == NULL || scales == NULL))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%zu value columns but no clipping bounds or scales", nvalues);
    for (size_t j = 0; j < nvalues; j++) {
        veil_status st = check_column(j, lo[j], hi[j], scales[j], err);
        if (st != VEIL_OK)
            return st;
    }
    return VEIL_OK;
}

/* Every measure's share: epsilon / (parts * (1 + 2 nvalues)), parts = 2
 * when grouped (cells and total), computed exactly and rounded toward
 * zero to a double, so the shares can never add up to more than epsilon.
 * The sampler then uses that double exactly. */
static double measure_epsilon(uint64_t epsilon, int grouped, size_t nvalues)
{
    mpq_t q;
    mpz_t den;
    mpq_init(q);
    mpz_init_set_ui(den, (unsigned long)VEIL_EPS_UNIT);
    mpz_mul_ui(den, den, (unsigned long)(1 + 2 * nvalues));
    if (grouped)
        mpz_mul_ui(den, den, 2);
    mpz_set_ui(mpq_numref(q), 0);
    mpz_import(mpq_numref(q), 1, 1, sizeof epsilon, 0, 0, &epsilon);
    mpz_set(mpq_denref(q), den);
    mpq_canonicalize(q);
    double d = mpq_get_d(q); /* truncates */
    mpq_clear(q);
    mpz_clear(den);
    return d;
}

veil_status veil_dc_plan_new(veil_dc_plan *plan, uint64_t epsilon, int grouped, size_t nvalues,
                             const mpz_t *lo, const mpz_t *hi, const unsigned *scales,
                             veil_err *err)
{
    if (plan == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "noise plan: no plan to fill");
    memset(plan, 0, sizeof *plan);
    veil_status st = check_plan_args(epsilon, nvalues, lo, hi, scales, err);
    if (st != VEIL_OK)
        return st;
    size_t n = 1 + 2 * nvalues;
    veil_dc_measure *m = calloc(n, sizeof *m);
    if (m == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "noise plan: out of memory");
    double eps = measure_epsilon(epsilon, grouped, nvalues);
    for (size_t i = 0; i < n; i++) {
        mpz_init(m[i].sensitivity);
        m[i].epsilon = eps;
    }
    m[0].kind = VEIL_DC_COUNT;
    m[0].column = 0;
    m[0].scale = 0;
    mpz_set_ui(m[0].sensitivity, 1);
    mpz_t a, b;
    mpz_inits(a, b, NULL);
    for (size_t j = 0; j < nvalues; j++) {
        veil_dc_measure *sum = &m[1 + 2 * j], *sq = &m[2 + 2 * j];
        mpz_abs(a, lo[j]);
        mpz_abs(b, hi[j]);
        sum->kind = VEIL_DC_SUM;
        sum->column = j;
        sum->scale = scales[j];
        mpz_max2(sum->sensitivity, a, b);
        /* max(lo^2, hi^2) = max(|lo|, |hi|)^2 */
        sq->kind = VEIL_DC_SUMSQ;
        sq->column = j;
        sq->scale = 2 * scales[j];
        mpz_mul(sq->sensitivity, sum->sensitivity, sum->sensitivity);
    }
    mpz_clears(a, b, NULL);
    plan->epsilon = epsilon;
    plan->grouped = grouped != 0;
    plan->nvalues = nvalues;
    plan->nmeasures = n;
    plan->measures = m;
    return VEIL_OK;
}

void veil_dc_plan_free(veil_dc_plan *plan)
{
    if (plan == NULL)
        return;
    if (plan->measures != NULL)
        for (size_t i = 0; i < plan->nmeasures; i++)
            mpz_clear(plan->measures[i].sensitivity);
    free(plan->measures);
    memset(plan, 0, sizeof *plan);
}

/* ---- noise and clipping ---- */

veil_status veil_dc_noise(mpz_t z, const veil_dc_measure *m, veil_err *err)
{
    if (m == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "noise: no measure");
    /* veil_dp_laplace_fixed checks epsilon, sensitivity and scale and adds
     * Z to the value; with value 0 (aliasing is allowed) out is Z itself. */
    mpz_set_ui(z, 0);
    veil_status st = veil_dp_laplace_fixed(z, z, m->scale, m->epsilon, m->sensitivity, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "noise");
    return VEIL_OK;
}

int veil_dc_clip(mpz_t v, const mpz_t lo, const mpz_t hi)
{
    if (mpz_cmp(v, lo) < 0) {
        mpz_set(v, lo);
        return 1;
    }
    if (mpz_cmp(v, hi) > 0) {
        mpz_set(v, hi);
        return 1;
    }
    return 0;
}
