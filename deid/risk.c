/* Re-identification risk from equivalence-class sizes: one hash pass over
 * the coded rows of the sample (and of the population when given). */
#include "veil/risk.h"

#include <stdlib.h>
#include <string.h>

#include "dict_internal.h"

const uint64_t veil_risk_bucket_low[VEIL_RISK_BUCKETS] = {1, 2, 3, 5, 10, 20, 50, 100};

typedef struct {
    uint32_t *slots; /* class id or UINT32_MAX */
    size_t nslots;
    uint32_t *first; /* first row of each class */
    uint64_t *size;
    size_t n;
} classes;

static void row_codes(const veil_table *t, size_t r, uint32_t *c)
{
    for (size_t j = 0; j < veil_table_cols(t); j++)
        c[j] = veil_table_code(t, j, r);
}

static void classes_free(classes *c)
{
    free(c->slots);
    free(c->first);
    free(c->size);
}

/* Groups the rows of t by all their codes. */
static veil_status group(classes *c, const veil_table *t, veil_err *err)
{
    size_t n = veil_table_rows(t), w = veil_table_cols(t);
    memset(c, 0, sizeof *c);
    c->nslots = 16;
    while (c->nslots < 2 * n)
        c->nslots *= 2;
    c->slots = malloc(c->nslots * sizeof *c->slots);
    c->first = malloc((n ? n : 1) * sizeof *c->first);
    c->size = malloc((n ? n : 1) * sizeof *c->size);
    uint32_t *a = malloc(w * sizeof *a), *b = malloc(w * sizeof *b);
    if (!c->slots || !c->first || !c->size || !a || !b) {
        free(a);
        free(b);
        classes_free(c);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    memset(c->slots, 0xff, c->nslots * sizeof *c->slots);
    size_t mask = c->nslots - 1;
    for (size_t r = 0; r < n; r++) {
        row_codes(t, r, a);
        for (size_t i = (size_t)veil_hash_bytes(a, w * sizeof *a) & mask;; i = (i + 1) & mask) {
            uint32_t k = c->slots[i];
            if (k == UINT32_MAX) {
                c->slots[i] = (uint32_t)c->n;
                c->first[c->n] = (uint32_t)r;
                c->size[c->n++] = 1;
                break;
            }
            row_codes(t, c->first[k], b);
            if (memcmp(a, b, w * sizeof *a) == 0) {
                c->size[k]++;
                break;
            }
        }
    }
    free(a);
    free(b);
    return VEIL_OK;
}

/* Size of the population class matching sample row r (by text), 0 if none. */
static uint64_t pop_size(const classes *pc, const veil_table *pop, const veil_table *t, size_t r,
                         uint32_t *a, uint32_t *b)
{
    size_t w = veil_table_cols(t);
    for (size_t j = 0; j < w; j++) {
        const char *s = veil_table_value(t, j, veil_table_code(t, j, r));
        int64_t code = veil_table_lookup(pop, j, s, strlen(s));
        if (code < 0)
            return 0;
        a[j] = (uint32_t)code;
    }
    size_t mask = pc->nslots - 1;
    for (size_t i = (size_t)veil_hash_bytes(a, w * sizeof *a) & mask;; i = (i + 1) & mask) {
        uint32_t k = pc->slots[i];
        if (k == UINT32_MAX)
            return 0;
        row_codes(pop, pc->first[k], b);
        if (memcmp(a, b, w * sizeof *a) == 0)
            return pc->size[k];
    }
}

veil_status veil_risk_compute(veil_risk_report *out, const veil_table *t, const veil_table *pop,
                              veil_err *err)
{
    memset(out, 0, sizeof *out);
    if (pop != NULL && veil_table_cols(pop) != veil_table_cols(t))
        return veil_err_set(err, VEIL_ERR_USAGE, "the population table must have the same columns");
    classes c, pc;
    memset(&pc, 0, sizeof pc);
    veil_status st = group(&c, t, err);
    if (st != VEIL_OK)
        return st;
    uint32_t *a = NULL, *b = NULL;
    if (pop != NULL) {
        st = group(&pc, pop, err);
        if (st != VEIL_OK)
            goto done;
        a = malloc(veil_table_cols(t) * sizeof *a);
        b = malloc(veil_table_cols(t) * sizeof *b);
        if (!a || !b) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    out->rows = veil_table_rows(t);
    out->classes = c.n;
    out->has_population = pop != NULL;
    double jsum = 0;
    for (size_t k = 0; k < c.n; k++) {
        uint64_t f = c.size[k];
        if (out->min_class == 0 || f < out->min_class)
            out->min_class = f;
        if (f > out->max_class)
            out->max_class = f;
        if (f == 1)
            out->unique_rows++;
        int bk = VEIL_RISK_BUCKETS - 1;
        while (bk > 0 && f < veil_risk_bucket_low[bk])
            bk--;
        out->bucket_classes[bk]++;
        out->bucket_rows[bk] += f;
        if (pop != NULL) {
            uint64_t F = pop_size(&pc, pop, t, c.first[k], a, b);
            if (F < f) {
                st = veil_err_set(err, VEIL_ERR_INPUT,
                                  "line %llu: the population has %llu record%s like this one but "
                                  "the table has %llu (is the population really a superset?)",
                                  (unsigned long long)veil_table_line(t, c.first[k]),
                                  (unsigned long long)F, F == 1 ? "" : "s", (unsigned long long)f);
                goto done;
            }
            double r = 1.0 / (double)F;
            if (r > out->journalist_max)
                out->journalist_max = r;
            jsum += (double)f * r;
        }
    }
    if (out->rows > 0) {
        out->prosecutor_max = 1.0 / (double)out->min_class;
        out->prosecutor_avg = (double)c.n / (double)out->rows;
        out->unique_share = (double)out->unique_rows / (double)out->rows;
        if (pop != NULL) {
            out->journalist_avg = jsum / (double)out->rows;
            out->marketer = out->journalist_avg;
        } else {
            out->journalist_max = out->prosecutor_max;
            out->journalist_avg = out->prosecutor_avg;
            out->marketer = out->prosecutor_avg;
        }
    }
done:
    free(a);
    free(b);
    classes_free(&c);
    classes_free(&pc);
    return st;
}
