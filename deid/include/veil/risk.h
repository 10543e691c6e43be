/* Re-identification risk of a table, from the sizes of its equivalence
 * classes over the chosen quasi-identifiers (El Emam's measures):
 *
 * - prosecutor risk (the attacker knows the person is in the table): a
 *   record in a class of size f is re-identified with probability 1/f;
 *   reported as the maximum and the average over records (the average is
 *   #classes / #records);
 * - journalist risk (the attacker holds a population register): 1/F with
 *   F the size of the matching class in the population; without a
 *   population table it is reported equal to the prosecutor risk, its
 *   upper bound;
 * - marketer risk (the attacker links every record): the expected share
 *   of records re-identified, #classes / #records, or the mean of f/F with
 *   a population table;
 * - the share of unique records and the class-size distribution. */
#ifndef VEIL_RISK_H
#define VEIL_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_RISK_BUCKETS 8 /* class sizes 1, 2, 3-4, 5-9, 10-19, 20-49, 50-99, 100+ */

typedef struct {
    uint64_t rows, classes;
    uint64_t min_class, max_class;
    double prosecutor_max, prosecutor_avg;
    int has_population;
    double journalist_max, journalist_avg;
    double marketer;
    uint64_t unique_rows;
    double unique_share;
    uint64_t bucket_classes[VEIL_RISK_BUCKETS];
    uint64_t bucket_rows[VEIL_RISK_BUCKETS];
} veil_risk_report;

/* Lower bound of each bucket (the last is open-ended). */
extern const uint64_t veil_risk_bucket_low[VEIL_RISK_BUCKETS];

/* Risk of table t over all its columns (each column a quasi-identifier).
 * pop (may be NULL) holds the same columns of the population; every
 * class of t must occur in pop at least as often (VEIL_ERR_INPUT naming
 * the line of t's first record of the offending class otherwise). */
veil_status veil_risk_compute(veil_risk_report *out, const veil_table *t, const veil_table *pop,
                              veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
