/* Optimal full-domain generalization for k-anonymity, distinct or entropy
 * l-diversity and t-closeness (equal ground distance) with a record
 * suppression limit.
 *
 * The quasi-identifiers are the first nqi columns of a veil_table loaded
 * with their hierarchies (veil_table_load). A lattice node gives one
 * generalization level per quasi-identifier; the lattice is the product of
 * the level ranges. At a node the records fall into equivalence classes
 * (equal generalized quasi-identifiers); a class smaller than k, or
 * failing the l-diversity / t-closeness test on the sensitive column, is
 * suppressed (its records removed). A node is feasible when at most
 * floor(n * supp_num / supp_den) records are suppressed. The search
 * returns the feasible node of least information loss; ties go to the
 * lower node (sum of levels), then to the lexicographically smaller one —
 * exactly what evaluating every node would return (docs/deid-privacy.md
 * proves the pruning bounds). */
#ifndef VEIL_ANON_H
#define VEIL_ANON_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/hierarchy.h"
#include "veil/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_ANON_QI_MAX    32
#define VEIL_ANON_NODES_MAX (1u << 24)

typedef enum {
    VEIL_ANON_DISCERNIBILITY = 0, /* sum of class size per record; n per suppressed record */
    VEIL_ANON_LOSS = 1            /* generalization intensity (Iyengar's loss metric) */
} veil_anon_metric;

typedef struct {
    unsigned k;        /* >= 1 */
    unsigned l;        /* 0 or 1: no l-diversity */
    int entropy_l;     /* 1: entropy l-diversity, 0: distinct l-diversity */
    double t;          /* t-closeness threshold in [0, 1); < 0 disables */
    uint64_t supp_num; /* suppression limit = supp_num / supp_den of the rows */
    uint64_t supp_den; /* > 0 */
    veil_anon_metric metric;
    int exhaustive; /* 1: evaluate every node, no pruning (for checks) */
} veil_anon_config;

typedef struct {
    int found; /* 0 when no node is feasible */
    unsigned levels[VEIL_ANON_QI_MAX];
    uint64_t rows;       /* records in the table */
    uint64_t suppressed; /* records removed */
    uint64_t classes;    /* equivalence classes kept */
    uint64_t discernibility;
    double loss;        /* loss metric normalized to [0, 1] */
    uint64_t nodes;     /* lattice size */
    uint64_t evaluated; /* nodes whose classes were computed */
} veil_anon_result;

/* sens: index of the sensitive column in t, or -1 (required when l > 1
 * or t >= 0). hier[0..nqi) are the hierarchies the first nqi columns were
 * loaded with. */
veil_status veil_anon_search(veil_anon_result *res, const veil_table *t, size_t nqi,
                             veil_hierarchy *const *hier, int sens, const veil_anon_config *cfg,
                             veil_err *err) VEIL_WUR;

/* Evaluates one node: fills res (found = feasible) and, when keep is not
 * NULL, keep[r] = 1 for every row r that is not suppressed. */
veil_status veil_anon_evaluate(veil_anon_result *res, uint8_t *keep, const veil_table *t,
                               size_t nqi, veil_hierarchy *const *hier, int sens,
                               const veil_anon_config *cfg, const unsigned *levels,
                               veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
