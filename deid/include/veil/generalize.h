/* Generalization of single values: numeric intervals with top and bottom
 * coding, and date truncation.
 *
 * Numbers are exact decimals at a declared scale (veil/fixed.h). With an
 * interval of width w and origin o, v becomes "[lo,hi)" where
 * lo = o + w * floor((v - o) / w) and hi = lo + w. With top t, any v >= t
 * becomes ">=t"; with bottom b, any v < b becomes "<b". Without an interval,
 * values between bottom and top are written back unchanged.
 *
 * Dates are "YYYY-MM-DD" (a real calendar date); truncation to month gives
 * "YYYY-MM", to year "YYYY", to day the date itself. */
#ifndef VEIL_GENERALIZE_H
#define VEIL_GENERALIZE_H

#include <stddef.h>

#include "veil/deid_buf.h"
#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct veil_gen_num veil_gen_num;

/* Each of interval, origin, top and bottom may be NULL (absent); at least
 * one of interval, top and bottom must be given. Texts are decimals at
 * `scale`; the interval must be positive and bottom < top. */
veil_status veil_gen_num_new(veil_gen_num **out, const char *interval, const char *origin,
                             const char *top, const char *bottom, unsigned scale,
                             veil_err *err) VEIL_WUR;
void veil_gen_num_free(veil_gen_num *g);
veil_status veil_gen_num_apply(veil_deid_buf *out, veil_gen_num *g, const char *in, size_t len,
                               veil_err *err) VEIL_WUR;

typedef enum { VEIL_DATE_DAY = 0, VEIL_DATE_MONTH, VEIL_DATE_YEAR } veil_date_level;

veil_status veil_gen_date(veil_deid_buf *out, veil_date_level level, const char *in, size_t len,
                          veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
