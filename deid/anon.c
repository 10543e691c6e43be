/* Optimal full-domain generalization search. The rows are read once into
 * a frequency table of distinct (quasi-identifier codes, sensitive code)
 * tuples; every lattice node's table is rolled up from a cached direct
 * predecessor's table (one column raised one level, equal tuples merged),
 * never from the rows. Nodes are visited by height; a node whose lower
 * bound already exceeds the best loss found is skipped together with all
 * its generalizations (see docs/deid-privacy.md for the bounds). */
#include "veil/anon.h"

#include <gmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_ENTRIES (8u << 20) /* tuples kept in cached node tables */

typedef struct {
    uint32_t *codes; /* n rows of w codes */
    uint32_t *cnt;
    size_t n;
} ftab;

typedef struct {
    const veil_table *t;
    size_t q;   /* quasi-identifiers */
    unsigned w; /* codes per tuple: q, plus 1 with a sensitive column */
    veil_hierarchy *const *h;
    int sens;
    const veil_anon_config *cfg;
    uint64_t n, limit;
    unsigned nlev[VEIL_ANON_QI_MAX];
    uint64_t stride[VEIL_ANON_QI_MAX];
    uint64_t nodes;
    double *pglob; /* global sensitive distribution (t-closeness) */
    size_t nsens;
    mpz_t lcm;                       /* lcm of (domain_j - 1) */
    mpz_t mult[VEIL_ANON_QI_MAX];    /* lcm / (domain_j - 1), 0 if domain 1 */
    uint64_t dom1[VEIL_ANON_QI_MAX]; /* domain_j - 1 */
    uint64_t *lb[VEIL_ANON_QI_MAX];  /* lb[j][l]: sum of leaves-1 over rows */
    ftab bottom;
    /* scratch */
    uint32_t *slots;
    size_t nslots, slots_cap; /* ensure_slots uses the pair */
    uint32_t *cslots;
    size_t ncslots, cslots_cap;
    uint32_t *cls; /* class of each entry */
    uint64_t *csize;
    uint32_t *cdist;
    double *cent, *cemd;
    uint32_t *crep; /* an entry of each class */
    size_t ccap;
    /* node tables kept for roll-up, oldest evicted first */
    ftab *cache;
    uint64_t *fifo;
    uint64_t fhead, ftail, cached;
} anon_ctx;

/* What one node evaluation yields. loss is the exact loss-metric
 * numerator over the common denominator n * q * lcm. */
typedef struct {
    int feasible;
    uint64_t suppressed, classes, dm, dm_lb;
    mpz_t lm, lm_lb;
} node_eval;

static uint64_t hash_codes(const uint32_t *c, unsigned w)
{
    uint64_t h = 0x243F6A8885A308D3ULL;
    for (unsigned i = 0; i < w; i++) {
        h ^= c[i];
        h *= 0x9E3779B97F4A7C15ULL;
        h ^= h >> 31;
    }
    return h;
}

static void ftab_free(ftab *f)
{
    free(f->codes);
    free(f->cnt);
    f->codes = NULL;
    f->cnt = NULL;
    f->n = 0;
}

/* Makes *slots hold at least 2n empty slots; *nslots is set to the size
 * in use (a power of two), the buffer itself only ever grows. */
static int ensure_slots(uint32_t **slots, size_t *nslots, size_t *cap, size_t n)
{
    size_t want = 16;
    while (want < 2 * n)
        want *= 2;
    if (*cap < want) {
        uint32_t *s = realloc(*slots, want * sizeof *s);
        if (s == NULL)
            return -1;
        *slots = s;
        *cap = want;
    }
    *nslots = want;
    memset(*slots, 0xff, want * sizeof **slots);
    return 0;
}

/* Inserts tuple c with count k into out (capacity preallocated), merging
 * equal tuples. */
static void ftab_add(ftab *out, uint32_t *slots, size_t nslots, unsigned w, const uint32_t *c,
                     uint32_t k)
{
    size_t mask = nslots - 1;
    for (size_t i = (size_t)hash_codes(c, w) & mask;; i = (i + 1) & mask) {
        uint32_t e = slots[i];
        if (e == UINT32_MAX) {
            memcpy(out->codes + out->n * w, c, w * sizeof *c);
            out->cnt[out->n] = k;
            slots[i] = (uint32_t)out->n++;
            return;
        }
        if (memcmp(out->codes + (size_t)e * w, c, w * sizeof *c) == 0) {
            out->cnt[e] += k;
            return;
        }
    }
}

static int ftab_alloc(ftab *f, size_t n, unsigned w)
{
    f->n = 0;
    f->codes = malloc((n ? n : 1) * w * sizeof *f->codes);
    f->cnt = malloc((n ? n : 1) * sizeof *f->cnt);
    return f->codes && f->cnt ? 0 : -1;
}

static void ftab_shrink(ftab *f, unsigned w)
{
    uint32_t *c = realloc(f->codes, (f->n ? f->n : 1) * w * sizeof *c);
    if (c != NULL)
        f->codes = c;
    uint32_t *k = realloc(f->cnt, (f->n ? f->n : 1) * sizeof *k);
    if (k != NULL)
        f->cnt = k;
}

/* Rolls src (at levels from[]) up to levels to[] (to >= from). */
static veil_status rollup(anon_ctx *a, ftab *out, const ftab *src, const unsigned *from,
                          const unsigned *to, veil_err *err)
{
    if (ftab_alloc(out, src->n, a->w) != 0 ||
        ensure_slots(&a->slots, &a->nslots, &a->slots_cap, src->n) != 0) {
        ftab_free(out);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    uint32_t tmp[VEIL_ANON_QI_MAX + 1];
    for (size_t e = 0; e < src->n; e++) {
        const uint32_t *c = src->codes + e * a->w;
        memcpy(tmp, c, a->w * sizeof *tmp);
        for (size_t j = 0; j < a->q; j++)
            for (unsigned l = from[j]; l < to[j]; l++)
                tmp[j] = veil_hierarchy_up(a->h[j], l, tmp[j]);
        ftab_add(out, a->slots, a->nslots, a->w, tmp, src->cnt[e]);
    }
    ftab_shrink(out, a->w);
    return VEIL_OK;
}

static int ensure_classes(anon_ctx *a, size_t n)
{
    if (n <= a->ccap)
        return 0;
    size_t cap = n;
    uint32_t *cls = realloc(a->cls, cap * sizeof *cls);
    if (cls == NULL)
        return -1;
    a->cls = cls;
    uint64_t *cs = realloc(a->csize, cap * sizeof *cs);
    if (cs == NULL)
        return -1;
    a->csize = cs;
    uint32_t *cd = realloc(a->cdist, cap * sizeof *cd);
    if (cd == NULL)
        return -1;
    a->cdist = cd;
    double *ce = realloc(a->cent, cap * sizeof *ce);
    if (ce == NULL)
        return -1;
    a->cent = ce;
    double *cm = realloc(a->cemd, cap * sizeof *cm);
    if (cm == NULL)
        return -1;
    a->cemd = cm;
    uint32_t *cr = realloc(a->crep, cap * sizeof *cr);
    if (cr == NULL)
        return -1;
    a->crep = cr;
    a->ccap = cap;
    return 0;
}

/* Groups the entries of f (at levels lv) into classes and decides for each
 * whether it is kept. Returns the number of classes; good[c] via
 * a->cdist reused as flag after the call (1 kept, 0 suppressed). */
static veil_status classify(anon_ctx *a, const ftab *f, size_t *nclasses, veil_err *err)
{
    if (ensure_classes(a, f->n ? f->n : 1) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t nc = 0;
    if (a->sens < 0) {
        for (size_t e = 0; e < f->n; e++) {
            a->cls[e] = (uint32_t)e;
            a->csize[e] = f->cnt[e];
            a->crep[e] = (uint32_t)e;
        }
        nc = f->n;
    } else {
        if (ensure_slots(&a->cslots, &a->ncslots, &a->cslots_cap, f->n) != 0)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        size_t mask = a->ncslots - 1;
        for (size_t e = 0; e < f->n; e++) {
            const uint32_t *c = f->codes + e * a->w;
            for (size_t i = (size_t)hash_codes(c, (unsigned)a->q) & mask;; i = (i + 1) & mask) {
                uint32_t k = a->cslots[i];
                if (k == UINT32_MAX) {
                    a->cslots[i] = (uint32_t)nc;
                    a->crep[nc] = (uint32_t)e;
                    a->csize[nc] = 0;
                    a->cdist[nc] = 0;
                    a->cent[nc] = 0;
                    a->cemd[nc] = 0;
                    a->cls[e] = (uint32_t)nc++;
                    break;
                }
                if (memcmp(f->codes + (size_t)a->crep[k] * a->w, c, a->q * sizeof *c) == 0) {
                    a->cls[e] = k;
                    break;
                }
            }
            uint32_t k = a->cls[e];
            a->csize[k] += f->cnt[e];
            a->cdist[k]++;
            a->cent[k] += f->cnt[e] * log((double)f->cnt[e]);
        }
        if (a->cfg->t >= 0) {
            for (size_t e = 0; e < f->n; e++) {
                uint32_t k = a->cls[e];
                double p = a->pglob[f->codes[e * a->w + a->q]];
                a->cemd[k] += fabs((double)f->cnt[e] / (double)a->csize[k] - p) - p;
            }
        }
    }
    /* Decide each class; reuse cdist as the kept flag. */
    for (size_t k = 0; k < nc; k++) {
        int good = a->csize[k] >= a->cfg->k;
        if (good && a->sens >= 0 && a->cfg->l > 1) {
            if (a->cfg->entropy_l) {
                double sz = (double)a->csize[k];
                double H = log(sz) - a->cent[k] / sz;
                good = H >= log((double)a->cfg->l) - 1e-12;
            } else {
                good = a->cdist[k] >= a->cfg->l;
            }
        }
        if (good && a->sens >= 0 && a->cfg->t >= 0)
            good = 0.5 * (a->cemd[k] + 1.0) <= a->cfg->t + 1e-12;
        a->cdist[k] = (uint32_t)good;
    }
    *nclasses = nc;
    return VEIL_OK;
}

/* Information loss of the node whose table (with classes) is f. */
static void measure(anon_ctx *a, const ftab *f, const unsigned *lv, size_t nc, node_eval *ev)
{
    uint64_t supp = 0, dm = 0, dmlb = 0, kept = 0;
    uint64_t num[VEIL_ANON_QI_MAX] = {0};
    for (size_t k = 0; k < nc; k++) {
        uint64_t s = a->csize[k];
        dmlb += s * (s > a->cfg->k ? s : a->cfg->k); /* a kept class has >= k */
        if (!a->cdist[k]) {
            supp += s;
            continue;
        }
        kept++;
        dm += s * s;
        const uint32_t *c = f->codes + (size_t)a->crep[k] * a->w;
        for (size_t j = 0; j < a->q; j++)
            num[j] += s * (veil_hierarchy_leaves(a->h[j], lv[j], c[j]) - 1);
    }
    ev->suppressed = supp;
    ev->classes = kept;
    ev->feasible = supp <= a->limit;
    ev->dm = dm + supp * a->n;
    ev->dm_lb = dmlb;
    mpz_set_ui(ev->lm, 0);
    for (size_t j = 0; j < a->q; j++) {
        uint64_t x = num[j] + supp * a->dom1[j];
        mpz_addmul_ui(ev->lm, a->mult[j], (unsigned long)x);
    }
}

static void lm_lower_bound(anon_ctx *a, const unsigned *lv, mpz_t out)
{
    mpz_set_ui(out, 0);
    for (size_t j = 0; j < a->q; j++)
        mpz_addmul_ui(out, a->mult[j], (unsigned long)a->lb[j][lv[j]]);
}

static void node_levels(const anon_ctx *a, uint64_t idx, unsigned *lv)
{
    for (size_t j = 0; j < a->q; j++)
        lv[j] = (unsigned)((idx / a->stride[j]) % a->nlev[j]);
}

static unsigned node_height(const anon_ctx *a, const unsigned *lv)
{
    unsigned h = 0;
    for (size_t j = 0; j < a->q; j++)
        h += lv[j];
    return h;
}

static void ctx_free(anon_ctx *a)
{
    ftab_free(&a->bottom);
    free(a->slots);
    free(a->cslots);
    free(a->cls);
    free(a->csize);
    free(a->cdist);
    free(a->cent);
    free(a->cemd);
    free(a->crep);
    free(a->pglob);
    for (size_t j = 0; j < a->q; j++) {
        free(a->lb[j]);
        mpz_clear(a->mult[j]);
    }
    mpz_clear(a->lcm);
}

static veil_status ctx_init(anon_ctx *a, const veil_table *t, size_t nqi,
                            veil_hierarchy *const *hier, int sens, const veil_anon_config *cfg,
                            veil_err *err)
{
    memset(a, 0, sizeof *a);
    mpz_init_set_ui(a->lcm, 1);
    a->q = nqi;
    for (size_t j = 0; j < nqi && j < VEIL_ANON_QI_MAX; j++)
        mpz_init(a->mult[j]);
    if (nqi == 0 || nqi > VEIL_ANON_QI_MAX || nqi > veil_table_cols(t)) {
        a->q = nqi > VEIL_ANON_QI_MAX ? VEIL_ANON_QI_MAX : nqi;
        return veil_err_set(err, VEIL_ERR_USAGE, "between 1 and %d quasi-identifiers needed",
                            VEIL_ANON_QI_MAX);
    }
    if (cfg->k < 1 || cfg->supp_den == 0 || cfg->supp_num > cfg->supp_den)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "k must be at least 1 and the suppression limit in [0, 1]");
    if ((cfg->l > 1 || cfg->t >= 0) &&
        (sens < 0 || (size_t)sens < nqi || (size_t)sens >= veil_table_cols(t)))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "l-diversity and t-closeness need a sensitive column that is not a "
                            "quasi-identifier");
    if (cfg->t >= 1.0)
        return veil_err_set(err, VEIL_ERR_USAGE, "t must be below 1");
    a->t = t;
    a->h = hier;
    a->sens = (cfg->l > 1 || cfg->t >= 0) ? sens : -1;
    a->cfg = cfg;
    a->w = (unsigned)nqi + (a->sens >= 0);
    a->n = veil_table_rows(t);
    mpz_t lim;
    mpz_init(lim);
    mpz_set_ui(lim, (unsigned long)a->n);
    mpz_mul_ui(lim, lim, (unsigned long)cfg->supp_num);
    mpz_fdiv_q_ui(lim, lim, (unsigned long)cfg->supp_den);
    a->limit = mpz_get_ui(lim);
    mpz_clear(lim);
    a->nodes = 1;
    for (size_t j = 0; j < nqi; j++) {
        a->nlev[j] = veil_hierarchy_levels(hier[j]);
        a->stride[j] = a->nodes;
        a->nodes *= a->nlev[j];
        if (a->nodes > VEIL_ANON_NODES_MAX)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "the generalization lattice has more than %u nodes",
                                VEIL_ANON_NODES_MAX);
        a->dom1[j] = veil_hierarchy_size(hier[j], 0) - 1;
        if (a->dom1[j] > 0)
            mpz_lcm_ui(a->lcm, a->lcm, (unsigned long)a->dom1[j]);
    }
    for (size_t j = 0; j < nqi; j++)
        if (a->dom1[j] > 0)
            mpz_divexact_ui(a->mult[j], a->lcm, (unsigned long)a->dom1[j]);
    /* Per-column loss lower bounds, from the column alone. */
    for (size_t j = 0; j < nqi; j++) {
        a->lb[j] = calloc(a->nlev[j], sizeof *a->lb[j]);
        if (a->lb[j] == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        const uint32_t *col = veil_table_column(t, j);
        for (size_t r = 0; r < a->n; r++)
            for (unsigned l = 0; l < a->nlev[j]; l++)
                a->lb[j][l] +=
                    veil_hierarchy_leaves(hier[j], l, veil_hierarchy_map(hier[j], col[r], l)) - 1;
    }
    if (a->sens >= 0 && cfg->t >= 0) {
        a->nsens = veil_table_domain(t, (size_t)a->sens);
        a->pglob = calloc(a->nsens ? a->nsens : 1, sizeof *a->pglob);
        if (a->pglob == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        const uint32_t *sc = veil_table_column(t, (size_t)a->sens);
        for (size_t r = 0; r < a->n; r++)
            a->pglob[sc[r]] += 1.0 / (double)a->n;
    }
    /* The bottom frequency table: the only pass over the rows. */
    if (ftab_alloc(&a->bottom, a->n, a->w) != 0 ||
        ensure_slots(&a->slots, &a->nslots, &a->slots_cap, a->n) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    uint32_t tmp[VEIL_ANON_QI_MAX + 1];
    for (size_t r = 0; r < a->n; r++) {
        for (size_t j = 0; j < nqi; j++)
            tmp[j] = veil_table_code(t, j, r);
        if (a->sens >= 0)
            tmp[nqi] = veil_table_code(t, (size_t)a->sens, r);
        ftab_add(&a->bottom, a->slots, a->nslots, a->w, tmp, 1);
    }
    ftab_shrink(&a->bottom, a->w);
    return VEIL_OK;
}

static void fill_result(const anon_ctx *a, veil_anon_result *res, const unsigned *lv,
                        const node_eval *ev)
{
    res->found = ev->feasible;
    for (size_t j = 0; j < a->q; j++)
        res->levels[j] = lv[j];
    res->rows = a->n;
    res->suppressed = ev->suppressed;
    res->classes = ev->classes;
    res->discernibility = ev->dm;
    /* loss = lm / (n * q * lcm) */
    mpq_t x;
    mpq_init(x);
    mpz_set(mpq_numref(x), ev->lm);
    mpz_mul_ui(mpq_denref(x), a->lcm, (unsigned long)(a->n ? a->n : 1));
    mpz_mul_ui(mpq_denref(x), mpq_denref(x), (unsigned long)a->q);
    mpq_canonicalize(x);
    res->loss = mpq_get_d(x);
    mpq_clear(x);
}

/* -1, 0, 1 comparing the loss of ev with the best so far. */
static int cmp_loss(const anon_ctx *a, const node_eval *ev, uint64_t best_dm, const mpz_t best_lm)
{
    if (a->cfg->metric == VEIL_ANON_DISCERNIBILITY)
        return ev->dm < best_dm ? -1 : ev->dm > best_dm;
    return mpz_cmp(ev->lm, best_lm);
}

/* Keeps node idx's table for later roll-ups (or frees it). */
static void cache_put(anon_ctx *a, uint64_t idx, ftab *cur)
{
    if (cur->n > CACHE_ENTRIES || a->cache[idx].codes != NULL) {
        ftab_free(cur);
        return;
    }
    while (a->cached + cur->n > CACHE_ENTRIES && a->fhead < a->ftail) {
        ftab *old = &a->cache[a->fifo[a->fhead++]];
        a->cached -= old->n;
        ftab_free(old);
    }
    a->cache[idx] = *cur;
    a->fifo[a->ftail++] = idx;
    a->cached += cur->n;
    memset(cur, 0, sizeof *cur);
}

/* The smallest cached table of a node below lv (a direct predecessor, or
 * one of the most recently cached nodes), else the bottom table. */
static const ftab *cache_find(anon_ctx *a, uint64_t idx, const unsigned *lv, unsigned *from)
{
    const ftab *src = &a->bottom;
    uint64_t best = UINT64_MAX;
    for (size_t j = 0; j < a->q; j++)
        if (lv[j] > 0 && a->cache[idx - a->stride[j]].codes != NULL &&
            (best == UINT64_MAX || a->cache[idx - a->stride[j]].n < src->n)) {
            best = idx - a->stride[j];
            src = &a->cache[best];
        }
    if (best == UINT64_MAX) {
        unsigned ml[VEIL_ANON_QI_MAX];
        uint64_t lo = a->ftail > a->fhead + 256 ? a->ftail - 256 : a->fhead;
        for (uint64_t f = a->ftail; f > lo; f--) {
            uint64_t m = a->fifo[f - 1];
            if (a->cache[m].codes == NULL || a->cache[m].n >= src->n)
                continue;
            node_levels(a, m, ml);
            size_t j = 0;
            while (j < a->q && ml[j] <= lv[j])
                j++;
            if (j == a->q) {
                best = m;
                src = &a->cache[m];
            }
        }
    }
    if (best == UINT64_MAX)
        memset(from, 0, a->q * sizeof *from);
    else
        node_levels(a, best, from);
    return src;
}

/* Feasibility of one node (phase 1). */
static veil_status check_feasible(anon_ctx *a, uint64_t idx, const unsigned *lv, int *feasible,
                                  node_eval *ev, veil_err *err)
{
    unsigned from[VEIL_ANON_QI_MAX];
    const ftab *src = cache_find(a, idx, lv, from);
    ftab cur;
    veil_status st = rollup(a, &cur, src, from, lv, err);
    if (st != VEIL_OK)
        return st;
    size_t nc;
    st = classify(a, &cur, &nc, err);
    if (st == VEIL_OK) {
        measure(a, &cur, lv, nc, ev);
        *feasible = ev->feasible;
        cache_put(a, idx, &cur);
    }
    ftab_free(&cur);
    return st;
}

/* Marks idx and all its generalizations (up = 1, state 1) or all its
 * specializations (up = 0, state 2), stopping at nodes already marked. */
static void tag(const anon_ctx *a, uint8_t *state, uint64_t *stack, uint64_t idx, int up)
{
    uint8_t mark = up ? 1 : 2;
    size_t sp = 0;
    if (state[idx] == mark)
        return;
    state[idx] = mark;
    stack[sp++] = idx;
    unsigned lv[VEIL_ANON_QI_MAX];
    while (sp > 0) {
        uint64_t i = stack[--sp];
        node_levels(a, i, lv);
        for (size_t j = 0; j < a->q; j++) {
            uint64_t n;
            if (up && lv[j] + 1 < a->nlev[j])
                n = i + a->stride[j];
            else if (!up && lv[j] > 0)
                n = i - a->stride[j];
            else
                continue;
            if (state[n] != mark) {
                state[n] = mark;
                stack[sp++] = n;
            }
        }
    }
}

/* Phase 1, for models where feasibility is monotone (a record kept at a
 * node stays kept at every generalization: k-anonymity and distinct
 * l-diversity with class suppression). From each untagged node, a chain
 * up to the top is binary-searched for its lowest feasible node; a
 * feasible node tags its generalizations feasible, an infeasible one its
 * specializations infeasible. Afterwards every node is tagged. */
static veil_status tag_feasibility(anon_ctx *a, const uint64_t *order, uint8_t *state,
                                   uint64_t *evaluated, veil_err *err)
{
    uint64_t *stack = malloc(a->nodes * sizeof *stack);
    uint64_t *chain = malloc(a->nodes * sizeof *chain);
    node_eval ev;
    mpz_inits(ev.lm, ev.lm_lb, NULL);
    veil_status st = VEIL_OK;
    if (stack == NULL || chain == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    unsigned lv[VEIL_ANON_QI_MAX];
    for (uint64_t oi = 0; oi < a->nodes && st == VEIL_OK; oi++) {
        uint64_t idx = order[oi];
        if (state[idx] != 0)
            continue;
        size_t len = 0;
        uint64_t cur = idx;
        size_t turn = 0;
        chain[len++] = cur;
        for (;;) {
            node_levels(a, cur, lv);
            size_t j = 0;
            for (; j < a->q; j++)
                if (lv[(turn + j) % a->q] + 1 < a->nlev[(turn + j) % a->q])
                    break;
            if (j == a->q)
                break;
            size_t d = (turn + j) % a->q;
            cur += a->stride[d];
            turn = d + 1;
            chain[len++] = cur;
        }
        size_t lo = 0, hi = len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int f;
            if (state[chain[mid]] != 0) {
                f = state[chain[mid]] == 1;
            } else {
                node_levels(a, chain[mid], lv);
                st = check_feasible(a, chain[mid], lv, &f, &ev, err);
                if (st != VEIL_OK)
                    break;
                (*evaluated)++;
                tag(a, state, stack, chain[mid], f);
            }
            if (f)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
done:
    mpz_clears(ev.lm, ev.lm_lb, NULL);
    free(stack);
    free(chain);
    return st;
}

veil_status veil_anon_search(veil_anon_result *res, const veil_table *t, size_t nqi,
                             veil_hierarchy *const *hier, int sens, const veil_anon_config *cfg,
                             veil_err *err)
{
    memset(res, 0, sizeof *res);
    anon_ctx a;
    veil_status st = ctx_init(&a, t, nqi, hier, sens, cfg, err);
    uint8_t *pruned = NULL, *state = NULL;
    uint64_t *order = NULL;
    node_eval ev, best;
    mpz_inits(ev.lm, ev.lm_lb, best.lm, best.lm_lb, NULL);
    if (st != VEIL_OK)
        goto done;
    res->nodes = a.nodes;
    res->rows = a.n;
    a.cache = calloc(a.nodes, sizeof *a.cache);
    pruned = calloc(a.nodes, 1);
    order = malloc(a.nodes * sizeof *order);
    a.fifo = malloc(a.nodes * sizeof *a.fifo);
    if (!a.cache || !pruned || !order || !a.fifo) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Nodes by height, then by index (a counting sort on height). */
    unsigned maxh = 0;
    unsigned lv[VEIL_ANON_QI_MAX], pl[VEIL_ANON_QI_MAX];
    for (size_t j = 0; j < a.q; j++)
        maxh += a.nlev[j] - 1;
    uint64_t *hcount = calloc(maxh + 2, sizeof *hcount);
    if (hcount == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (uint64_t i = 0; i < a.nodes; i++) {
        node_levels(&a, i, lv);
        hcount[node_height(&a, lv) + 1]++;
    }
    for (unsigned h = 1; h <= maxh + 1; h++)
        hcount[h] += hcount[h - 1];
    for (uint64_t i = 0; i < a.nodes; i++) {
        node_levels(&a, i, lv);
        order[hcount[node_height(&a, lv)]++] = i;
    }
    free(hcount);

    /* Phase 1 (monotone models only): tag every node feasible or not. */
    int monotone = cfg->t < 0 && !(cfg->l > 1 && cfg->entropy_l) && !cfg->exhaustive;
    if (monotone) {
        state = calloc(a.nodes, 1);
        if (state == NULL) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            goto done;
        }
        st = tag_feasibility(&a, order, state, &res->evaluated, err);
        if (st != VEIL_OK)
            goto done;
    }
    int have_best = 0;
    for (uint64_t oi = 0; oi < a.nodes; oi++) {
        uint64_t idx = order[oi];
        node_levels(&a, idx, lv);
        /* An infeasible node is not the answer; it says nothing about
         * its generalizations' loss, so it prunes nothing. */
        if (state != NULL && state[idx] == 2 && !pruned[idx])
            continue;
        int skip = pruned[idx] && !cfg->exhaustive;
        if (!skip && have_best && !cfg->exhaustive && cfg->metric == VEIL_ANON_LOSS) {
            lm_lower_bound(&a, lv, ev.lm_lb);
            /* Every node still to come is higher than the best (or equal
             * height and later): equal loss cannot win the tie. */
            skip = mpz_cmp(ev.lm_lb, best.lm) >= 0;
        }
        if (skip) {
            for (size_t j = 0; j < a.q; j++)
                if (lv[j] + 1 < a.nlev[j])
                    pruned[idx + a.stride[j]] = 1;
            continue;
        }
        /* Roll up from the smallest cached table below this node. */
        const ftab *src = cache_find(&a, idx, lv, pl);
        const unsigned *from = pl;
        ftab cur;
        st = rollup(&a, &cur, src, from, lv, err);
        if (st != VEIL_OK)
            goto done;
        size_t nc;
        st = classify(&a, &cur, &nc, err);
        if (st != VEIL_OK) {
            ftab_free(&cur);
            goto done;
        }
        measure(&a, &cur, lv, nc, &ev);
        res->evaluated++;
        if (ev.feasible && (!have_best || cmp_loss(&a, &ev, best.dm, best.lm) < 0)) {
            have_best = 1;
            best.dm = ev.dm;
            mpz_set(best.lm, ev.lm);
            best.suppressed = ev.suppressed;
            best.classes = ev.classes;
            best.feasible = 1;
            fill_result(&a, res, lv, &ev);
        }
        /* Generalizations cost at least this node's no-suppression loss. */
        int prune_up;
        if (cfg->metric == VEIL_ANON_DISCERNIBILITY) {
            prune_up = have_best && ev.dm_lb >= best.dm;
        } else {
            lm_lower_bound(&a, lv, ev.lm_lb);
            prune_up = have_best && mpz_cmp(ev.lm_lb, best.lm) >= 0;
        }
        if (prune_up)
            for (size_t j = 0; j < a.q; j++)
                if (lv[j] + 1 < a.nlev[j])
                    pruned[idx + a.stride[j]] = 1;
        /* Cache the table for the successors, evicting the oldest. */
        cache_put(&a, idx, &cur);
        ftab_free(&cur);
    }
done:
    if (a.cache != NULL)
        for (uint64_t i = 0; i < a.nodes; i++)
            ftab_free(&a.cache[i]);
    free(a.cache);
    free(a.fifo);
    free(pruned);
    free(state);
    free(order);
    mpz_clears(ev.lm, ev.lm_lb, best.lm, best.lm_lb, NULL);
    ctx_free(&a);
    return st;
}

veil_status veil_anon_evaluate(veil_anon_result *res, uint8_t *keep, const veil_table *t,
                               size_t nqi, veil_hierarchy *const *hier, int sens,
                               const veil_anon_config *cfg, const unsigned *levels, veil_err *err)
{
    memset(res, 0, sizeof *res);
    anon_ctx a;
    ftab cur = {0};
    node_eval ev;
    mpz_inits(ev.lm, ev.lm_lb, NULL);
    unsigned zero[VEIL_ANON_QI_MAX] = {0};
    veil_status st = ctx_init(&a, t, nqi, hier, sens, cfg, err);
    if (st != VEIL_OK)
        goto done;
    for (size_t j = 0; j < a.q; j++)
        if (levels[j] >= a.nlev[j]) {
            st = veil_err_set(err, VEIL_ERR_USAGE, "level %u of column %zu is above the top %u",
                              levels[j], j + 1, a.nlev[j] - 1);
            goto done;
        }
    res->nodes = a.nodes;
    res->evaluated = 1;
    st = rollup(&a, &cur, &a.bottom, zero, levels, err);
    if (st != VEIL_OK)
        goto done;
    size_t nc;
    st = classify(&a, &cur, &nc, err);
    if (st != VEIL_OK)
        goto done;
    measure(&a, &cur, levels, nc, &ev);
    fill_result(&a, res, levels, &ev);
    if (keep != NULL) {
        /* Find each row's class through the class table's tuples. */
        if (ensure_slots(&a.cslots, &a.ncslots, &a.cslots_cap, nc) != 0) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            goto done;
        }
        size_t mask = a.ncslots - 1;
        for (size_t k = 0; k < nc; k++) {
            const uint32_t *c = cur.codes + (size_t)a.crep[k] * a.w;
            size_t i = (size_t)hash_codes(c, (unsigned)a.q) & mask;
            while (a.cslots[i] != UINT32_MAX)
                i = (i + 1) & mask;
            a.cslots[i] = (uint32_t)k;
        }
        uint32_t tmp[VEIL_ANON_QI_MAX];
        for (size_t r = 0; r < a.n; r++) {
            for (size_t j = 0; j < a.q; j++)
                tmp[j] = veil_hierarchy_map(hier[j], veil_table_code(t, j, r), levels[j]);
            size_t i = (size_t)hash_codes(tmp, (unsigned)a.q) & mask;
            keep[r] = 0;
            for (;; i = (i + 1) & mask) {
                uint32_t k = a.cslots[i];
                if (k == UINT32_MAX)
                    break;
                if (memcmp(cur.codes + (size_t)a.crep[k] * a.w, tmp, a.q * sizeof *tmp) == 0) {
                    keep[r] = (uint8_t)a.cdist[k];
                    break;
                }
            }
        }
    }
done:
    ftab_free(&cur);
    mpz_clears(ev.lm, ev.lm_lb, NULL);
    ctx_free(&a);
    return st;
}
