/* De-identification policies: a JSON file (docs/deid.md) that gives every
 * column of a table a sensitivity level (L1 public .. L4 highly sensitive)
 * and a transformation, plus record and cell suppression rules. Parsing
 * checks everything that can be checked without the data: unknown or
 * duplicate keys, unknown actions and presets, parameters that do not
 * belong to the action, "keep" on an L3/L4 column without "allow_keep".
 * Errors are VEIL_ERR_INPUT "file:line: ..." naming the policy line. */
#ifndef VEIL_DEID_POLICY_H
#define VEIL_DEID_POLICY_H

#include <stddef.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_POLICY_MAX_BYTES   (1u << 20)
#define VEIL_POLICY_MAX_COLUMNS 4096

typedef struct veil_deid_policy veil_deid_policy;

/* text: the policy (len bytes); name: used in messages. */
veil_status veil_deid_policy_parse(veil_deid_policy **out, const char *text, size_t len,
                                   const char *name, veil_err *err) VEIL_WUR;
veil_status veil_deid_policy_load(veil_deid_policy **out, const char *path, veil_err *err) VEIL_WUR;
void veil_deid_policy_free(veil_deid_policy *p);
/* 1 when some column pseudonymizes or encrypts, so a key file is needed. */
int veil_deid_policy_needs_key(const veil_deid_policy *p);
/* The i-th column (0-based, in policy order) that receives differential-
 * privacy noise: its name and the epsilon spent on each record's value.
 * Returns 0 once i is past the last such column. */
int veil_deid_policy_noise_column(const veil_deid_policy *p, size_t i, const char **name,
                                  double *epsilon);

#ifdef __cplusplus
}
#endif
#endif
