/* The parsed policy, shared by policy.c and transform.c only. */
#ifndef VEIL_POLICY_INTERNAL_H
#define VEIL_POLICY_INTERNAL_H

#include <gmp.h>

#include "veil/deid_policy.h"
#include "veil/generalize.h"
#include "veil/hierarchy.h"
#include "veil/mask.h"
#include "veil/pseudonym.h"

typedef enum {
    ACT_KEEP,
    ACT_DROP,
    ACT_REDACT,
    ACT_MASK,
    ACT_PSEUDONYMIZE,
    ACT_FPE,
    ACT_GENERALIZE,
    ACT_NOISE
} pol_action;
typedef enum { INVALID_FAIL, INVALID_REDACT, INVALID_SUPPRESS } pol_invalid;

typedef struct {
    char *name;
    unsigned line;
    int level; /* 1..4 */
    pol_action action;
    pol_invalid on_invalid;
    char *replacement; /* redact and on_invalid redact */
    veil_mask_spec mask;
    veil_pseudo_method method;
    veil_pseudo_format format;
    unsigned bytes;
    char *domain;
    int fpe_resident_id;
    char *alphabet;
    veil_gen_num *num;
    int is_date;
    veil_date_level date;
    veil_hierarchy *hier; /* generalize through a hierarchy */
    unsigned hier_level;
    double epsilon; /* noise */
    unsigned scale;
    int sens_init;
    mpz_t sensitivity;
} pol_column;

typedef struct {
    char *column;
    unsigned line;
    char **values;
    size_t nvalues;
} pol_rule;

typedef enum { UNLISTED_REFUSE, UNLISTED_DROP, UNLISTED_KEEP } pol_unlisted;

struct veil_deid_policy {
    char *name;
    pol_unlisted unlisted;
    unsigned columns_line;
    pol_column *cols;
    size_t ncols;
    pol_rule *records, *cells;
    size_t nrecords, ncells;
    char *cell_replacement;
};

#endif
