/* veil/query.h — cross-department statistical queries (docs/query.md).
 *
 * A query description (JSON, every party holds a copy) names the
 * departments, the join key, each department's value columns, the
 * group-by column, the statistics, the minimum cell count and optionally
 * epsilon. The private join runs between the departments: resident IDs
 * are hashed onto ristretto255 and blinded by every department's secret
 * scalar (veil/psi.h), values travel Paillier-encrypted under the
 * analyst's (or a threshold) public key, and the combining department
 * (the one holding the group-by column, else the first listed) matches
 * fully blinded IDs, adds the encrypted values of the citizens known to
 * every department per group, applies disclosure control
 * (veil/disclosure.h) and sends the analyst only the released cells.
 *
 * Libraries never print: failures are a veil_status and a message naming
 * the file, field, party or element. */
#ifndef VEIL_QUERY_H
#define VEIL_QUERY_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_QUERY_FILE_MAX    (1u << 20) /* bytes of a query description */
#define VEIL_QUERY_NAME_MAX    128        /* bytes of a column name */
#define VEIL_QUERY_DEPTS_MAX   16u
#define VEIL_QUERY_VALUES_MAX  32u         /* value columns in one query */
#define VEIL_QUERY_SCALE_MAX   18u         /* values are int64 mantissas */
#define VEIL_QUERY_MIN_COUNT_MAX 1000000000ull
#define VEIL_QUERY_HOLDERS_MAX (VEIL_QUERY_DEPTS_MAX + 1u) /* each party at most once */
#define VEIL_QUERY_SHARE_INDEX_MAX 64u                    /* veil/threshold.h's party limit */

/* Statistics a query may ask for (bits of veil_query.stats). */
#define VEIL_QSTAT_COUNT    1u
#define VEIL_QSTAT_SUM      2u
#define VEIL_QSTAT_MEAN     4u
#define VEIL_QSTAT_VARIANCE 8u

typedef struct {
    char column[VEIL_QUERY_NAME_MAX + 1];
    unsigned scale;
    int has_bounds; /* min and max given */
    mpz_t lo, hi;   /* mantissas at scale; 0 when !has_bounds */
} veil_query_value;

typedef struct {
    char id[VEIL_PARTY_ID_MAX + 1];
    uint8_t fingerprint[VEIL_FINGERPRINT_LEN];
    char host[VEIL_HOST_MAX + 1]; /* the combiner only; "" otherwise */
    uint16_t port;                /* the combiner only; 0 otherwise */
    char group_by[VEIL_QUERY_NAME_MAX + 1]; /* "" when this department groups nothing */
    size_t nvalues;
    veil_query_value *values;
    size_t value_base; /* index of values[0] among all the query's value columns */
} veil_query_dept;

typedef struct {
    char id[VEIL_SESSION_ID_MAX + 1]; /* "query": also the net/ session id */
    char key_fingerprint[2 * 32 + 1]; /* "key": hex fingerprint of the Paillier public key */
    char join_key[VEIL_QUERY_NAME_MAX + 1];
    size_t ndepts;
    veil_query_dept *depts; /* in the file's order */
    size_t combiner;        /* index in depts: the group-by holder, else 0 */
    int grouped;            /* some department has group_by */
    size_t nvalues;         /* value columns over all departments */
    char analyst_id[VEIL_PARTY_ID_MAX + 1];
    uint8_t analyst_fingerprint[VEIL_FINGERPRINT_LEN];
    unsigned stats;     /* VEIL_QSTAT_* bits */
    uint64_t min_count; /* >= 1 */
    uint64_t epsilon;   /* millionths (veil/disclosure.h); 0 = no noise */
    /* "threshold": the released cells are decrypted by t of these share
     * holders (veil/threshold.h) instead of one private key. */
    int threshold;
    char threshold_key[2 * 32 + 1]; /* hex fingerprint of the threshold key */
    size_t nholders;
    size_t holder_peer[VEIL_QUERY_HOLDERS_MAX];    /* roster index of each holder */
    unsigned holder_index[VEIL_QUERY_HOLDERS_MAX]; /* its share index, 1..64 */
    /* Seconds: TCP connect + TLS handshake; one message; the whole query. */
    unsigned connect_timeout, io_timeout, query_timeout;
    /* The roster for net/: the departments in file order, then the
     * analyst. Only the combiner has an address. */
    size_t npeers;
    veil_peer *peers;
    uint8_t digest[32]; /* BLAKE2b-256 of the canonical JSON */
} veil_query;

/* Parses and checks a query description (docs/query.md, "Query file").
 * Every error is VEIL_ERR_INPUT naming the file and the field
 * ("q.json: departments[1] (tax).values[0].max: ..."); unknown fields are
 * refused so a typo is not silently ignored. */
veil_status veil_query_parse(veil_query **out, const char *text, size_t len, const char *name,
                             veil_err *err) VEIL_WUR;
veil_status veil_query_load(veil_query **out, const char *path, veil_err *err) VEIL_WUR;
void veil_query_free(veil_query *q);
/* The department with this id (its index in q->depts), or -1. */
long veil_query_find_dept(const veil_query *q, const char *id);
/* The position in q->holder_peer of the party at roster index peer, or
 * -1 when it holds no share (or the query has no threshold key). */
long veil_query_find_holder(const veil_query *q, size_t peer);
/* The value column with this name over all departments, or NULL. */
const veil_query_value *veil_query_find_value(const veil_query *q, const char *column,
                                              size_t *dept, size_t *index);

#ifdef __cplusplus
}
#endif
#endif
