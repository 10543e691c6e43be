/* veil/join.h — running a cross-department query (docs/query.md,
 * "Protocol"): every party calls veil_query_run with the same query
 * description and its own role.
 *
 *  - the combiner (q->depts[q->combiner]) listens on its roster address,
 *    waits for every other department and the analyst, runs the private
 *    join and the encrypted aggregation, applies disclosure control and
 *    sends the analyst the released cells;
 *  - every other department connects to the combiner, sends its blinded,
 *    shuffled set with its encrypted values, and blinds what the combiner
 *    asks it to;
 *  - the analyst connects to the combiner and decrypts the released cells
 *    (*out): with its private key, or, when the query has a threshold key,
 *    by combining the partial decryptions that t share holders sealed to
 *    it (each proof checked).
 *
 * Who learns what is in docs/query.md ("Leakage"). Failures name the party
 * and the reason; a party that refuses (a budget ledger that is spent, a
 * different query description or key) stops the query for everyone with
 * its message. Libraries never print: progress goes to hooks->log. */
#ifndef VEIL_JOIN_H
#define VEIL_JOIN_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "veil/error.h"
#include "veil/paillier.h"
#include "veil/query.h"
#include "veil/threshold.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *ctx;
    void (*log)(void *ctx, const char *line);
    /* Every protocol message this party receives (inside TLS, after the
     * envelope is checked), for audits and the wire-content test. */
    void (*message)(void *ctx, const char *peer, uint32_t type, const uint8_t *payload, size_t len);
    /* Returns non-zero to stop waiting (e.g. on SIGINT). */
    int (*stop)(void *ctx);
} veil_query_hooks;

typedef struct {
    const char *identity_dir; /* party.key, party.crt (veil party init) */
    const char *self_id;
    /* Departments: the CSV file (header row; the join key, the group-by
     * column if any and the department's value columns). */
    const char *input;
    /* Departments contributing data when the query has an epsilon: the
     * dataset's budget ledger (veil/disclosure.h), spent before any data
     * leaves. */
    const char *ledger;
    const veil_paillier_pub *pk;  /* departments: the query's public key */
    const veil_paillier_priv *sk; /* the analyst: its private key */
    /* A query with "threshold" (docs/query.md): the threshold key, which
     * the analyst needs instead of sk and every department may give
     * instead of pk; and a holder's share (its index is the one the query
     * gives the holder). Both NULL for other queries. */
    const veil_threshold_key *tkey;
    const veil_threshold_share *share;
    unsigned threads;             /* 0 = every CPU */
    const veil_query_hooks *hooks;
    /* NULL: TCP and mutual TLS to the combiner's address. Otherwise every
     * party of the run gives the same directory and the parties exchange
     * signed, sealed message files there (docs/net.md, "File exchange");
     * the combiner's address is then unused. */
    const char *spool_dir;
} veil_query_party;

typedef struct {
    char *label;  /* malloc'd; "" for the total row */
    int released; /* 0: suppressed (nothing else is set) */
    int64_t count;
    mpz_t *sum;   /* [q->nvalues] mantissas at the column's scale */
    mpz_t *sumsq; /* [q->nvalues] at twice the scale */
} veil_query_cell;

typedef struct {
    size_t nvalues;
    size_t ncells;
    veil_query_cell *cells; /* one per group, in label order; none when ungrouped */
    veil_query_cell total;
} veil_query_result;

typedef struct {
    uint64_t rows;    /* departments: rows read */
    uint64_t clipped; /* departments: values clipped to the declared bounds */
    uint64_t bytes_sent, bytes_received;
    double seconds;
} veil_query_stats;

/* What a department's input holds, as veil_query_run would read it. */
typedef struct {
    uint64_t rows;    /* data rows */
    uint64_t clipped; /* values clipped to the declared bounds */
    size_t nlabels;   /* distinct group-by values (the grouping department) */
} veil_query_input_info;

/* Reads department dept_id's records from path with every check
 * veil_query_run applies (columns, resident IDs once each, values at their
 * scale, group labels) and the same messages, without any network or key:
 * the dry run of `veil query check`. */
veil_status veil_query_check_input(const veil_query *q, const char *dept_id, const char *path,
                                   veil_query_input_info *info, veil_err *err) VEIL_WUR;

/* out: the analyst's result (NULL for departments); stats may be NULL. */
veil_status veil_query_run(const veil_query *q, const veil_query_party *p, veil_query_result **out,
                           veil_query_stats *stats, veil_err *err) VEIL_WUR;
void veil_query_result_free(veil_query_result *r);

/* Writes the released table as CSV (docs/query.md, "Result file"): the
 * group-by column (or "group"), status, then count and per value column
 * <col>_sum, <col>_mean, <col>_variance as the query's statistics ask;
 * the total row is labelled "*total*". */
veil_status veil_query_result_write(FILE *out, const veil_query *q, const veil_query_result *r,
                                    veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
