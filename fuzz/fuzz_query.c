/* Fuzzes the query description parser: any input gives a query whose
 * invariants hold, or an error with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/query.h"

static void check(const veil_query *q)
{
    size_t nvalues = 0, grouped = 0;
    if (!veil_net_id_ok(q->id, VEIL_SESSION_ID_MAX) || strlen(q->key_fingerprint) != 64 ||
        q->ndepts < 2 || q->ndepts > VEIL_QUERY_DEPTS_MAX || q->combiner >= q->ndepts ||
        q->npeers != q->ndepts + 1 || q->stats == 0 || q->min_count < 1 ||
        q->min_count > VEIL_QUERY_MIN_COUNT_MAX || q->connect_timeout == 0 || q->io_timeout == 0 ||
        q->query_timeout == 0 || q->join_key[0] == '\0')
        abort();
    if (veil_query_find_dept(q, q->analyst_id) != -1 ||
        strcmp(q->peers[q->ndepts].id, q->analyst_id) != 0 || q->peers[q->ndepts].port != 0)
        abort();
    for (size_t k = 0; k < q->ndepts; k++) {
        const veil_query_dept *d = &q->depts[k];
        if (!veil_net_id_ok(d->id, VEIL_PARTY_ID_MAX) ||
            veil_query_find_dept(q, d->id) != (long)k || strcmp(q->peers[k].id, d->id) != 0 ||
            (k == q->combiner) != (q->peers[k].port != 0) || (k == q->combiner) != (d->port != 0))
            abort();
        if (d->group_by[0] != '\0') {
            grouped++;
            if (k != q->combiner || strcmp(d->group_by, q->join_key) == 0)
                abort();
        }
        if (d->nvalues > 0 && d->value_base != nvalues)
            abort();
        for (size_t i = 0; i < d->nvalues; i++) {
            const veil_query_value *v = &d->values[i];
            size_t dk, di;
            if (veil_query_find_value(q, v->column, &dk, &di) != v || dk != k || di != i ||
                v->scale > VEIL_QUERY_SCALE_MAX || strcmp(v->column, q->join_key) == 0 ||
                (v->has_bounds && mpz_cmp(v->lo, v->hi) > 0) ||
                (!v->has_bounds && (mpz_sgn(v->lo) != 0 || mpz_sgn(v->hi) != 0 || q->epsilon)))
                abort();
        }
        nvalues += d->nvalues;
    }
    if (nvalues != q->nvalues || nvalues > VEIL_QUERY_VALUES_MAX || (size_t)q->grouped != grouped ||
        grouped > 1 || (nvalues == 0 && (q->stats & ~VEIL_QSTAT_COUNT) != 0))
        abort();
    /* Threshold holders: parties of the query, each once, distinct share
     * indices in 1..64; none without a threshold section. */
    if (!q->threshold && (q->nholders != 0 || q->threshold_key[0] != '\0'))
        abort();
    if (q->threshold && (q->nholders == 0 || q->nholders > VEIL_QUERY_HOLDERS_MAX ||
                         strlen(q->threshold_key) != 64))
        abort();
    for (size_t i = 0; q->threshold && i < q->nholders; i++) {
        if (q->holder_peer[i] >= q->npeers || q->holder_index[i] < 1 ||
            q->holder_index[i] > VEIL_QUERY_SHARE_INDEX_MAX ||
            veil_query_find_holder(q, q->holder_peer[i]) != (long)i)
            abort();
        for (size_t j = 0; j < i; j++)
            if (q->holder_index[j] == q->holder_index[i])
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_query *q = NULL;
    veil_err err;
    if (veil_query_parse(&q, (const char *)data, size, "fuzz", &err) != VEIL_OK) {
        if (q != NULL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    check(q);
    veil_query_free(q);
    return 0;
}
