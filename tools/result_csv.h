/* The CSV layout of decrypted result files, shared by `veil decrypt` and
 * `veil threshold combine`: "count,sum" rows for an ungrouped result, or
 * "group,count,sum" rows with the overall total labelled VEIL_TOTAL_LABEL. */
#ifndef VEIL_RESULT_CSV_H
#define VEIL_RESULT_CSV_H

#include <gmp.h>
#include <stdio.h>

#include "veil/ctfile.h"
#include "veil/error.h"

/* The CSV label of item i: VEIL_TOTAL_LABEL for the total, the group, or
 * NULL for an ungrouped value. */
const char *veil_result_csv_label(const veil_result *res, size_t i);

/* The header line: "group,count,sum" or "count,sum". */
veil_status veil_result_csv_header(FILE *f, int grouped, veil_err *err) VEIL_WUR;
/* One row: `[label,]count,sum` with sum a mantissa formatted at `scale`
 * (label NULL for an ungrouped result). */
veil_status veil_result_csv_row(FILE *f, const char *label, unsigned long long count,
                                const mpz_t sum, unsigned scale, veil_err *err) VEIL_WUR;

/* Writes the header and one row per item with values[i] the decrypted
 * signed mantissa of item i. Checks the labels first: in a grouped result
 * every item needs one, and no group may be called VEIL_TOTAL_LABEL
 * (VEIL_ERR_INPUT naming path and item). */
veil_status veil_result_csv_write(FILE *f, const char *path, const veil_result *res,
                                  const mpz_t *values, veil_err *err) VEIL_WUR;

#endif
