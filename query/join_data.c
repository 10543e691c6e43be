/* A department's records and the sets it sends (query/joinpriv.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "joinpriv.h"
#include "veil/batch.h"
#include "veil/fixed.h"
#include "veil/table.h"

#define QBLOCK_ROWS 65536u /* rows encrypted per block (bounds temporaries) */

/* ---- loading ---- */

typedef struct {
    const qctx *x;
    const veil_query_dept *d;
    const char *file;
    long jk, gb;
    long *vcol; /* [d->nvalues] */
    qrecords *r;
    size_t cap;
    size_t idcap, idused;
    char *lbuf;
    size_t *loff, *llen;
    size_t lcap, lbcap, lused;
    mpz_t v;
} loader;

static veil_status grow(void **p, size_t *cap, size_t need, size_t elem, veil_err *err)
{
    if (need <= *cap)
        return VEIL_OK;
    size_t n = *cap > 0 ? *cap : 1024;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (q == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    *p = q;
    *cap = n;
    return VEIL_OK;
}

static veil_status find_col(const veil_table_row *row, const char *file, const char *name,
                            long *out, veil_err *err)
{
    *out = -1;
    for (size_t i = 0; i < row->nfields; i++) {
        if (strlen(name) == row->lens[i] && memcmp(row->fields[i], name, row->lens[i]) == 0) {
            if (*out >= 0)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "%s:%llu: column '%s' appears twice in "
                                    "the header",
                                    file, (unsigned long long)row->line, name);
            *out = (long)i;
        }
    }
    if (*out < 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: no column '%s' in the header (the "
                            "query needs it)",
                            file, (unsigned long long)row->line, name);
    return VEIL_OK;
}

static veil_status on_row(void *ctx, const veil_table_row *row, veil_err *err)
{
    loader *L = ctx;
    const veil_query_dept *d = L->d;
    qrecords *r = L->r;
    unsigned long long line = (unsigned long long)row->line;
    veil_status st;
    if (row->row == 0) {
        if ((st = find_col(row, L->file, L->x->q->join_key, &L->jk, err)) != VEIL_OK)
            return st;
        if (d->group_by[0] != '\0' &&
            (st = find_col(row, L->file, d->group_by, &L->gb, err)) != VEIL_OK)
            return st;
        for (size_t j = 0; j < d->nvalues; j++)
            if ((st = find_col(row, L->file, d->values[j].column, &L->vcol[j], err)) != VEIL_OK)
                return st;
        return VEIL_OK;
    }
    size_t i = r->n;
    if (i >= QSET_MAX_ELEMS)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: more than %llu rows", L->file, line,
                            (unsigned long long)QSET_MAX_ELEMS);
    if ((st = grow((void **)&r->idoff, &L->cap, i + 1, sizeof *r->idoff, err)) != VEIL_OK)
        return st;
    size_t cap = L->cap;
    /* The other per-row arrays follow idoff's capacity. */
    size_t *nl = realloc(r->idlen, cap * sizeof *nl);
    if (nl == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    r->idlen = nl;
    uint64_t *ln = realloc(r->line, cap * sizeof *ln);
    if (ln == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    r->line = ln;
    if (d->nvalues > 0) {
        int64_t *nv = realloc(r->values, cap * d->nvalues * sizeof *nv);
        if (nv == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        r->values = nv;
    }
    const char *id = row->fields[L->jk];
    size_t idlen = row->lens[L->jk];
    if (idlen == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: %s is empty", L->file, line,
                            L->x->q->join_key);
    if ((st = grow((void **)&r->idbuf, &L->idcap, L->idused + idlen, 1, err)) != VEIL_OK)
        return st;
    memcpy(r->idbuf + L->idused, id, idlen);
    r->idoff[i] = L->idused;
    r->idlen[i] = idlen;
    L->idused += idlen;
    r->line[i] = row->line;
    if (L->gb >= 0) {
        size_t ll = row->lens[L->gb];
        if (ll == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: %s (the group-by column) is empty",
                                L->file, line, d->group_by);
        size_t lc = L->lcap, lc2 = L->lcap;
        if ((st = grow((void **)&L->loff, &lc, i + 1, sizeof *L->loff, err)) != VEIL_OK)
            return st;
        if ((st = grow((void **)&L->llen, &lc2, i + 1, sizeof *L->llen, err)) != VEIL_OK)
            return st;
        L->lcap = lc;
        if ((st = grow((void **)&L->lbuf, &L->lbcap, L->lused + ll, 1, err)) != VEIL_OK)
            return st;
        memcpy(L->lbuf + L->lused, row->fields[L->gb], ll);
        L->loff[i] = L->lused;
        L->llen[i] = ll;
        L->lused += ll;
    }
    for (size_t j = 0; j < d->nvalues; j++) {
        const veil_query_value *qv = &d->values[j];
        const char *f = row->fields[L->vcol[j]];
        size_t fl = row->lens[L->vcol[j]];
        if (fl == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: %s is empty", L->file, line,
                                qv->column);
        if ((st = veil_fixed_parse(L->v, f, fl, qv->scale, err)) != VEIL_OK)
            return veil_err_prefix(err, "%s:%llu: %s", L->file, line, qv->column);
        if (qv->has_bounds) {
            if (mpz_cmp(L->v, qv->lo) < 0) {
                mpz_set(L->v, qv->lo);
                r->clipped++;
            } else if (mpz_cmp(L->v, qv->hi) > 0) {
                mpz_set(L->v, qv->hi);
                r->clipped++;
            }
        }
        if (!mpz_fits_slong_p(L->v))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s:%llu: %s: the value does not fit in 64 "
                                "bits at scale %u",
                                L->file, line, qv->column, qv->scale);
        r->values[i * d->nvalues + j] = (int64_t)mpz_get_si(L->v);
    }
    r->n = i + 1;
    return VEIL_OK;
}

typedef struct {
    const char *p;
    size_t len;
    size_t idx;
} qkey;

static int key_cmp(const void *a, const void *b)
{
    const qkey *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

static int key_eq(const qkey *x, const qkey *y)
{
    return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

static veil_status finish_labels(loader *L, veil_err *err)
{
    qrecords *r = L->r;
    size_t n = r->n;
    qkey *k = malloc((n > 0 ? n : 1) * sizeof *k);
    r->tags = malloc((n > 0 ? n : 1) * sizeof *r->tags);
    if (k == NULL || r->tags == NULL) {
        free(k);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (qkey){L->lbuf + L->loff[i], L->llen[i], i};
    qsort(k, n, sizeof *k, key_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || !key_eq(&k[i], &k[i - 1]))
            distinct++;
    if (distinct > VEIL_PSI_TAGS_MAX) {
        free(k);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: the group-by column %s has %zu distinct "
                            "values (at most %u)",
                            L->file, L->d->group_by, distinct, VEIL_PSI_TAGS_MAX);
    }
    r->labels = calloc(distinct > 0 ? distinct : 1, sizeof *r->labels);
    if (r->labels == NULL) {
        free(k);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !key_eq(&k[i], &k[i - 1]))
            t++;
        if (i == 0 || !key_eq(&k[i], &k[i - 1])) {
            r->labels[t] = malloc(k[i].len + 1);
            if (r->labels[t] == NULL) {
                free(k);
                return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            }
            memcpy(r->labels[t], k[i].p, k[i].len);
            r->labels[t][k[i].len] = '\0';
            r->nlabels = t + 1;
            if (memchr(k[i].p, '\0', k[i].len) != NULL) {
                unsigned long long line = (unsigned long long)r->line[k[i].idx];
                free(k);
                return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: %s holds a NUL byte", L->file,
                                    line, L->d->group_by);
            }
        }
        r->tags[k[i].idx] = (uint32_t)t;
    }
    free(k);
    return VEIL_OK;
}

static veil_status check_duplicates(loader *L, veil_err *err)
{
    qrecords *r = L->r;
    size_t n = r->n;
    qkey *k = malloc((n > 0 ? n : 1) * sizeof *k);
    if (k == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        k[i] = (qkey){r->idbuf + r->idoff[i], r->idlen[i], i};
    qsort(k, n, sizeof *k, key_cmp);
    veil_status st = VEIL_OK;
    for (size_t i = 1; i < n && st == VEIL_OK; i++)
        if (key_eq(&k[i], &k[i - 1]))
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s:%llu: %s '%.*s' appears again (first on "
                              "line %llu); every citizen must appear once",
                              L->file, (unsigned long long)r->line[k[i].idx], L->x->q->join_key,
                              (int)(k[i].len > 40 ? 40 : k[i].len), k[i].p,
                              (unsigned long long)r->line[k[i - 1].idx]);
    free(k);
    return st;
}

veil_status q_load_records(const qctx *x, size_t dept, qrecords *r, veil_err *err)
{
    memset(r, 0, sizeof *r);
    const veil_query_dept *d = &x->q->depts[dept];
    if (x->p->input == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "department %s needs its input file", d->id);
    loader L;
    memset(&L, 0, sizeof L);
    L.x = x;
    L.d = d;
    L.file = x->p->input;
    L.jk = L.gb = -1;
    L.r = r;
    r->ncols = d->nvalues;
    L.vcol = calloc(d->nvalues + 1, sizeof *L.vcol);
    if (L.vcol == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_init(L.v);
    uint64_t rows = 0;
    veil_status st = veil_table_read_file(x->p->input, ',', 1, on_row, &L, &rows, err);
    if (st == VEIL_OK && L.jk < 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: the file is empty (no header row)", L.file);
    if (st == VEIL_OK && r->n == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: no data rows", L.file);
    if (st == VEIL_OK)
        st = check_duplicates(&L, err);
    if (st == VEIL_OK && L.gb >= 0)
        st = finish_labels(&L, err);
    mpz_clear(L.v);
    free(L.vcol);
    free(L.lbuf);
    free(L.loff);
    free(L.llen);
    if (st != VEIL_OK)
        q_records_free(r);
    return st;
}

void q_records_free(qrecords *r)
{
    if (r == NULL)
        return;
    if (r->idbuf != NULL)
        sodium_memzero(r->idbuf,
                       r->idoff != NULL && r->n > 0 ? r->idoff[r->n - 1] + r->idlen[r->n - 1] : 0);
    free(r->idbuf);
    free(r->idoff);
    free(r->idlen);
    free(r->line);
    free(r->values);
    free(r->tags);
    for (size_t i = 0; i < r->nlabels; i++)
        free(r->labels[i]);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

/* ---- sets ---- */

int q_dept_sends_values(const veil_query *q, size_t dept)
{
    return q->depts[dept].nvalues > 0 &&
           (q->stats & (VEIL_QSTAT_SUM | VEIL_QSTAT_MEAN | VEIL_QSTAT_VARIANCE)) != 0;
}

veil_status q_layout(const qctx *x, size_t dept, uint64_t rows, veil_qpack_layout *l, veil_err *err)
{
    size_t ncols = q_dept_sends_values(x->q, dept) ? x->q->depts[dept].nvalues : 0;
    veil_status st = veil_qpack_layout_new(l, ncols, rows, x->q->epsilon > 0,
                                           veil_paillier_pub_bits(x->pk), err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "department %s", x->q->depts[dept].id);
    return VEIL_OK;
}

static veil_status mpz_array(mpz_t **out, size_t n, veil_err *err)
{
    *out = malloc((n > 0 ? n : 1) * sizeof **out);
    if (*out == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        mpz_init((*out)[i]);
    return VEIL_OK;
}

static void mpz_array_free(mpz_t *a, size_t n)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        mpz_clear(a[i]);
    free(a);
}

/* Encrypts the packed values of rows order[0..n) into b->cts. */
static veil_status encrypt_values(const qctx *x, const veil_qpack_layout *l, const qrecords *r,
                                  const size_t *order, size_t n, qbatch *b, veil_err *err)
{
    size_t ncols = l->ncols, ncts = l->ncts;
    int squares = (x->q->stats & VEIL_QSTAT_VARIANCE) != 0;
    size_t block = QBLOCK_ROWS < n ? QBLOCK_ROWS : n;
    mpz_t *m = NULL, *c = NULL, *sums = NULL, *sqs = NULL;
    veil_status st = mpz_array(&m, block * ncts, err);
    if (st == VEIL_OK)
        st = mpz_array(&c, block * ncts, err);
    if (st == VEIL_OK)
        st = mpz_array(&sums, ncols, err);
    if (st == VEIL_OK)
        st = mpz_array(&sqs, ncols, err);
    size_t w = ncts * x->ctlen;
    for (size_t start = 0; st == VEIL_OK && start < n; start += block) {
        size_t nb = n - start < block ? n - start : block;
        for (size_t i = 0; i < nb && st == VEIL_OK; i++) {
            const int64_t *v = r->values + order[start + i] * r->ncols;
            for (size_t j = 0; j < ncols; j++) {
                mpz_set_si(sums[j], (long)v[j]);
                if (squares)
                    mpz_mul(sqs[j], sums[j], sums[j]);
                else
                    mpz_set_ui(sqs[j], 0);
            }
            st = veil_qpack_pack(m + i * ncts, l, sums, sqs, err);
            for (size_t k = 0; k < ncts && st == VEIL_OK; k++)
                st = veil_paillier_encode(m[i * ncts + k], x->pk, m[i * ncts + k], err);
        }
        if (st == VEIL_OK)
            st = veil_paillier_encrypt_batch(c, x->pk, m, nb * ncts, x->threads, err);
        for (size_t i = 0; i < nb && st == VEIL_OK; i++)
            for (size_t k = 0; k < ncts; k++)
                veil_qpack_ct_export(b->cts + (start + i) * w + k * x->ctlen, x->ctlen,
                                     c[i * ncts + k]);
    }
    /* The packed plaintexts are the department's data. */
    for (size_t i = 0; m != NULL && i < block * ncts; i++)
        mpz_set_ui(m[i], 0);
    mpz_array_free(m, block * ncts);
    mpz_array_free(c, block * ncts);
    mpz_array_free(sums, ncols);
    mpz_array_free(sqs, ncols);
    return st;
}

veil_status q_setgen_init(qsetgen *g, const qctx *x, size_t dept, const qrecords *r,
                          const veil_psi_key *key, const uint8_t *eg_y, veil_err *err)
{
    memset(g, 0, sizeof *g);
    g->x = x;
    g->r = r;
    g->key = key;
    g->eg_y = eg_y;
    g->tags = r->tags != NULL && eg_y != NULL;
    veil_status st = q_layout(x, dept, r->n, &g->l, err);
    if (st != VEIL_OK)
        return st;
    g->order = malloc((r->n > 0 ? r->n : 1) * sizeof *g->order);
    if (g->order == NULL) {
        q_setgen_free(g);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    /* A fresh order, so nothing downstream follows the file's order. */
    veil_psi_permutation(g->order, r->n);
    return VEIL_OK;
}

void q_setgen_free(qsetgen *g)
{
    if (g->order != NULL) {
        sodium_memzero(g->order, (g->r->n > 0 ? g->r->n : 1) * sizeof *g->order);
        free(g->order);
    }
    veil_qpack_layout_free(&g->l);
    memset(g, 0, sizeof *g);
}

veil_status q_setgen_fill(qsetgen *g, size_t off, size_t n, qbatch *b, veil_err *err)
{
    const qctx *x = g->x;
    const qrecords *r = g->r;
    if (off > r->n || n > r->n - off || n > b->count || b->cts_per != g->l.ncts ||
        b->has_tags != g->tags)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "set elements %zu..%zu of %zu", off, off + n,
                            r->n);
    const size_t *order = g->order + off;
    const char **ids = malloc((n > 0 ? n : 1) * sizeof *ids);
    size_t *lens = malloc((n > 0 ? n : 1) * sizeof *lens);
    uint32_t *tg = g->tags ? malloc((n > 0 ? n : 1) * sizeof *tg) : NULL;
    veil_status st = VEIL_OK;
    if (ids == NULL || lens == NULL || (g->tags && tg == NULL))
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK) {
        for (size_t i = 0; i < n; i++) {
            ids[i] = r->idbuf + r->idoff[order[i]];
            lens[i] = r->idlen[order[i]];
            if (g->tags)
                tg[i] = r->tags[order[i]];
        }
        st = veil_psi_hash_blind(b->points, g->key, x->q->id, ids, lens, n, x->threads, err);
    }
    if (st == VEIL_OK && g->tags)
        st = veil_psi_eg_encrypt((veil_psi_eg_ct *)b->tags, g->eg_y, tg, n, x->threads, err);
    if (st == VEIL_OK && g->l.ncts > 0)
        st = encrypt_values(x, &g->l, r, order, n, b, err);
    free(ids);
    free(lens);
    free(tg);
    return st;
}

veil_status q_build_set(const qctx *x, size_t dept, const qrecords *r, const veil_psi_key *key,
                        const uint8_t *eg_y, qbatch *b, veil_err *err)
{
    qsetgen g;
    memset(b, 0, sizeof *b);
    veil_status st = q_setgen_init(&g, x, dept, r, key, eg_y, err);
    if (st != VEIL_OK)
        return st;
    st = q_batch_alloc(b, r->n, (uint32_t)g.l.ncts, g.tags, x->ctlen, err);
    if (st == VEIL_OK && g.l.ncts > 0)
        q_log(x, "encrypting %zu rows (%zu ciphertexts each)", r->n, g.l.ncts);
    if (st == VEIL_OK)
        st = q_setgen_fill(&g, 0, r->n, b, err);
    if (st != VEIL_OK)
        q_batch_free(b);
    q_setgen_free(&g);
    return st;
}

/* Re-randomizes every ciphertext of b (checked first). */
static veil_status rerandomize_cts(const qctx *x, qbatch *b, veil_err *err)
{
    size_t total = b->count * b->cts_per;
    size_t block = QBLOCK_ROWS < total ? QBLOCK_ROWS : total;
    mpz_t *z = NULL, *e = NULL, c;
    veil_status st = mpz_array(&z, block, err);
    if (st == VEIL_OK)
        st = mpz_array(&e, block, err);
    mpz_init(c);
    for (size_t start = 0; st == VEIL_OK && start < total; start += block) {
        size_t nb = total - start < block ? total - start : block;
        st = veil_paillier_encrypt_batch(e, x->pk, z, nb, x->threads, err);
        for (size_t i = 0; i < nb && st == VEIL_OK; i++) {
            uint8_t *p = b->cts + (start + i) * x->ctlen;
            veil_qpack_ct_import(c, p, x->ctlen);
            st = veil_paillier_check_ct(x->pk, c, err);
            if (st != VEIL_OK) {
                st = veil_err_prefix(err, "element %zu, ciphertext %zu", (start + i) / b->cts_per,
                                     (start + i) % b->cts_per);
                break;
            }
            veil_paillier_add(c, x->pk, c, e[i]);
            veil_qpack_ct_export(p, x->ctlen, c);
        }
    }
    mpz_clear(c);
    mpz_array_free(z, block);
    mpz_array_free(e, block);
    return st;
}

static veil_status permute(uint8_t *data, size_t count, size_t width, const size_t *perm,
                           veil_err *err)
{
    if (data == NULL || width == 0)
        return VEIL_OK;
    uint8_t *tmp = malloc(count * width > 0 ? count * width : 1);
    if (tmp == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        memcpy(tmp + i * width, data + perm[i] * width, width);
    memcpy(data, tmp, count * width);
    free(tmp);
    return VEIL_OK;
}

veil_status q_serve(const qctx *x, const veil_psi_key *key, qbatch *b, int shuffle,
                    const uint8_t *tag_key, veil_err *err)
{
    veil_status st = veil_psi_blind(b->points, key, b->points, b->count, x->threads, err);
    if (st != VEIL_OK || !shuffle)
        return st;
    if (b->has_tags)
        st = veil_psi_eg_rerandomize((veil_psi_eg_ct *)b->tags, tag_key,
                                     (const veil_psi_eg_ct *)b->tags, b->count, x->threads, err);
    if (st == VEIL_OK && b->cts_per > 0)
        st = rerandomize_cts(x, b, err);
    if (st != VEIL_OK)
        return st;
    size_t *perm = malloc((b->count > 0 ? b->count : 1) * sizeof *perm);
    if (perm == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_psi_permutation(perm, b->count);
    st = permute(b->points, b->count, VEIL_PSI_POINT_BYTES, perm, err);
    if (st == VEIL_OK && b->has_tags)
        st = permute(b->tags, b->count, QEG_CT_BYTES, perm, err);
    if (st == VEIL_OK)
        st = permute(b->cts, b->count, (size_t)b->cts_per * x->ctlen, perm, err);
    sodium_memzero(perm, b->count * sizeof *perm);
    free(perm);
    return st;
}
