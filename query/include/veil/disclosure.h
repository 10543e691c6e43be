/* veil/disclosure.h — disclosure control on the cells a cross-department
 * query releases (docs/disclosure.md): minimum-count suppression with
 * complementary suppression against the released total, differentially
 * private noise calibrated to declared clipping bounds, and a privacy
 * budget ledger per dataset.
 *
 * Epsilons are exact: integers in millionths (VEIL_EPS_UNIT = 1.0), so a
 * ledger never drifts by floating-point rounding. Libraries never print. */
#ifndef VEIL_DISCLOSURE_H
#define VEIL_DISCLOSURE_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_EPS_UNIT        1000000ull /* epsilon 1.0 in millionths */
#define VEIL_EPS_TEXT_MAX    32         /* "123.456789" and a NUL, with room */
#define VEIL_DATASET_MAX     64         /* bytes of a dataset name, [A-Za-z0-9._-] */
#define VEIL_LEDGER_FILE_MAX (16u << 20)

/* ---- epsilons as text ----
 * Parses a decimal epsilon ("0.5", "1", "0.000001"): digits, an optional
 * point and at most 6 decimals; no sign, exponent or spaces. 0 is allowed
 * here (callers refuse it where it makes no sense); values above
 * VEIL_DP_EPSILON_MAX (100) are refused. VEIL_ERR_INPUT quoting the text. */
veil_status veil_eps_parse(uint64_t *out, const char *text, veil_err *err) VEIL_WUR;
/* Formats without trailing zeros: 500000 -> "0.5", 1000000 -> "1". */
void veil_eps_format(char out[VEIL_EPS_TEXT_MAX], uint64_t eps);

/* ---- suppression ----
 * A one-way table of ncells cells (groups) plus its total row. counts[i]
 * is what suppression decides on: the exact count, or the noisy count when
 * noise is on (may then be negative). On return suppressed[i] is 1 for
 * every cell not to be released and *total_suppressed is 1 when the total
 * row may not be released either.
 *
 * Primary: a cell with counts[i] < min_count is suppressed.
 * Complementary: the released total minus the released cells equals the
 * sum over suppressed cells, so the suppressed set S must not give a cell
 * away. S is safe when it is empty, or when it holds at least two cells
 * with a count > 0 and their counts add up to at least min_count. While S
 * is unsafe, the released cell with the smallest count (lowest index on
 * ties) joins S; when no released cell is left and S is still unsafe, the
 * total is suppressed too. A zero or negative (noisy) count is not > 0:
 * such a cell protects nothing and adds nothing to the sum.
 *
 * An ungrouped query passes its total as the single cell (ncells = 1): a
 * total below min_count makes S = {that cell} unsafe with no released
 * cell left, so *total_suppressed is 1 as well.
 *
 * VEIL_ERR_USAGE for min_count 0, more than 1 << 20 cells, or NULL counts
 * or suppressed with ncells > 0 (total_suppressed is never NULL). */
veil_status veil_dc_suppress(unsigned char *suppressed, int *total_suppressed,
                             const int64_t *counts, size_t ncells, uint64_t min_count,
                             veil_err *err) VEIL_WUR;

/* ---- noise ----
 * With noise on, a query releases, per cell and for the total row, the
 * count and per value column the sum and the sum of squares. Each citizen
 * is in exactly one cell (parallel composition) and in the total
 * (sequential), so epsilon is split: half for the cells, half for the
 * total (all of it for the total when there are no groups), and each half
 * equally among the 1 + 2 * nvalues measures. Sensitivities, from the
 * declared clipping bounds lo <= hi (mantissas at the column's scale s):
 * count 1; sum max(|lo|, |hi|) at scale s; sum of squares max(lo^2, hi^2)
 * at scale 2s. Every value is clipped to [lo, hi] before it is added. */
typedef enum {
    VEIL_DC_COUNT = 0,
    VEIL_DC_SUM = 1,
    VEIL_DC_SUMSQ = 2,
} veil_dc_measure_kind;

typedef struct {
    veil_dc_measure_kind kind;
    size_t column;        /* value column index for SUM and SUMSQ */
    unsigned scale;       /* of the released mantissa: 0, s or 2s */
    double epsilon;       /* this measure's share, per cell or for the total */
    mpz_t sensitivity;    /* in mantissa units at `scale` */
} veil_dc_measure;

typedef struct {
    uint64_t epsilon; /* millionths, > 0 */
    int grouped;      /* the query has a group-by column */
    size_t nvalues;
    size_t nmeasures;          /* 1 + 2 * nvalues */
    veil_dc_measure *measures; /* [0] count, then per column j: [1+2j] sum, [2+2j] sumsq */
} veil_dc_plan;

/* lo[j], hi[j]: clipping bounds of column j as mantissas at scales[j].
 * VEIL_ERR_USAGE for epsilon 0 or above VEIL_DP_EPSILON_MAX, lo > hi, or
 * bounds with lo = hi = 0 (a column that can only be 0), more than 32
 * value columns or a scale above 18. Each measure's epsilon is the exact
 * share rounded toward zero to a double (the shares never add up to more
 * than epsilon); the sampler uses that double exactly. The plan owns its
 * mpz values: veil_dc_plan_free it (also safe after a failed _new). */
veil_status veil_dc_plan_new(veil_dc_plan *plan, uint64_t epsilon, int grouped, size_t nvalues,
                             const mpz_t *lo, const mpz_t *hi, const unsigned *scales,
                             veil_err *err) VEIL_WUR;
void veil_dc_plan_free(veil_dc_plan *plan);

/* z = a fresh discrete Laplace sample for measure m of the plan: P[z] is
 * proportional to exp(-epsilon |z| / sensitivity) (deid/dp.c's exact
 * sampler). The caller adds z to the exact value (homomorphically when the
 * value is encrypted). */
veil_status veil_dc_noise(mpz_t z, const veil_dc_measure *m, veil_err *err) VEIL_WUR;

/* v = min(max(v, lo), hi); returns 1 when v was changed. lo <= hi (as
 * veil_dc_plan_new checks). */
int veil_dc_clip(mpz_t v, const mpz_t lo, const mpz_t hi);

/* ---- budget ledger ----
 * One JSON file per dataset (docs/ledger.md): the
 * dataset name, its total budget, and every spend (UTC time, query id,
 * BLAKE2b-256 of the query description, epsilon). Spends are serialized with
 * flock on PATH.lock and written to a temporary file that is fsync'd and
 * renamed over PATH, so a crash leaves the old or the new ledger, never a
 * half-written one. The ledger file is mode 0600. */
typedef struct {
    char time[32]; /* "2026-12-04T15:04:05Z" */
    char query[129];
    uint8_t digest[32];
    uint64_t epsilon;
} veil_ledger_spend_entry;

typedef struct {
    char dataset[VEIL_DATASET_MAX + 1];
    uint64_t budget;
    uint64_t spent;
    size_t nspends;
    veil_ledger_spend_entry *spends;
} veil_ledger;

/* Creates a ledger (VEIL_ERR_USAGE if path exists and !force; a budget of
 * 0 is refused). */
veil_status veil_ledger_init(const char *path, const char *dataset, uint64_t budget, int force,
                             veil_err *err) VEIL_WUR;
/* Loads and checks a ledger: every field, spends adding up, no unknown
 * field. Errors name the file and the field
 * ("tax.ledger: spends[2].epsilon: ..."). */
veil_status veil_ledger_load(veil_ledger *out, const char *path, veil_err *err) VEIL_WUR;
veil_status veil_ledger_parse(veil_ledger *out, const char *text, size_t len, const char *name,
                              veil_err *err) VEIL_WUR;
void veil_ledger_free(veil_ledger *l);

/* Records a spend of epsilon (> 0) for query_id with the query's digest,
 * under the lock. Over budget it writes nothing and fails with
 * VEIL_ERR_USAGE: "dataset tax: this query needs epsilon 0.5 but only 0.3
 * of 1 is left". *remaining (may be NULL) receives what is left after the
 * spend. */
veil_status veil_ledger_spend(const char *path, const char *query_id, const uint8_t digest[32],
                              uint64_t epsilon, uint64_t *remaining, veil_err *err) VEIL_WUR;
/* Checks, without writing, that epsilon (> 0) is still left: the same
 * VEIL_ERR_USAGE message as veil_ledger_spend when it is not. *remaining
 * (may be NULL) receives what is left now. A query checks every budget
 * before anything runs and spends each only when that dataset's data is
 * about to leave, so a refusal anywhere costs no other dataset budget. */
veil_status veil_ledger_check(const char *path, uint64_t epsilon, uint64_t *remaining,
                              veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
