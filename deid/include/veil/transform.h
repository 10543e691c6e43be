/* The streaming de-identification of a CSV table under a policy: rows are
 * read with libcsv (strict RFC 4180), transformed column by column, checked
 * against the suppression rules and written at once, so memory is bounded
 * by the longest row whatever the number of rows.
 *
 * The header row binds the policy: a policy column missing from the header
 * is an error naming the policy line; a header column missing from the
 * policy is an error unless the policy's "unlisted" says drop or keep.
 * Ragged rows, malformed quotes, invalid values for a preset (with
 * on_invalid "fail") stop the run with "file:line: column \"c\": why". */
#ifndef VEIL_TRANSFORM_H
#define VEIL_TRANSFORM_H

#include <stdint.h>
#include <stdio.h>

#include "veil/deid_policy.h"
#include "veil/error.h"
#include "veil/pseudonym.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_DEID_FIELD_MAX   (1u << 20) /* bytes in one cell */
#define VEIL_DEID_COLUMNS_MAX 4096

typedef struct {
    uint64_t rows_in, rows_out;
    uint64_t records_suppressed; /* by rules or on_invalid "suppress" */
    uint64_t cells_suppressed;   /* by cells_where rules */
    uint64_t invalid_redacted;   /* cells redacted by on_invalid "redact" */
} veil_deid_stats;

typedef struct veil_deid_transform veil_deid_transform;

/* key may be NULL when the policy needs none. Output goes to out. */
veil_status veil_deid_transform_new(veil_deid_transform **t, const veil_deid_policy *p,
                                    const veil_deid_key *key, const char *in_name, FILE *out,
                                    veil_err *err) VEIL_WUR;
veil_status veil_deid_transform_feed(veil_deid_transform *t, const void *buf, size_t len,
                                     veil_err *err) VEIL_WUR;
veil_status veil_deid_transform_finish(veil_deid_transform *t, veil_err *err) VEIL_WUR;
void veil_deid_transform_stats(const veil_deid_transform *t, veil_deid_stats *out);
void veil_deid_transform_free(veil_deid_transform *t);

/* A whole file (read in chunks) or memory buffer. stats may be NULL. */
veil_status veil_deid_apply_file(const veil_deid_policy *p, const veil_deid_key *key,
                                 const char *in_path, FILE *out, veil_deid_stats *stats,
                                 veil_err *err) VEIL_WUR;
veil_status veil_deid_apply_mem(const veil_deid_policy *p, const veil_deid_key *key,
                                const void *buf, size_t len, const char *name, FILE *out,
                                veil_deid_stats *stats, veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
