/* veil_query_run: the analyst, the dispatch to the roles, the result and
 * its CSV form (query/joinpriv.h; docs/query.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "joinpriv.h"
#include "veil/batch.h"
#include "veil/fixed.h"
#include "veil/proto/query.pb-c.h"

/* ---- results ---- */

static void cell_clear(veil_query_cell *c, size_t nvalues)
{
    free(c->label);
    for (size_t j = 0; c->sum != NULL && j < nvalues; j++)
        mpz_clear(c->sum[j]);
    for (size_t j = 0; c->sumsq != NULL && j < nvalues; j++)
        mpz_clear(c->sumsq[j]);
    free(c->sum);
    free(c->sumsq);
    memset(c, 0, sizeof *c);
}

void veil_query_result_free(veil_query_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ncells; i++)
        cell_clear(&r->cells[i], r->nvalues);
    free(r->cells);
    cell_clear(&r->total, r->nvalues);
    free(r);
}

static veil_status cell_init(veil_query_cell *c, const char *label, size_t nvalues, veil_err *err)
{
    memset(c, 0, sizeof *c);
    c->label = strdup(label);
    c->sum = malloc((nvalues > 0 ? nvalues : 1) * sizeof *c->sum);
    c->sumsq = malloc((nvalues > 0 ? nvalues : 1) * sizeof *c->sumsq);
    if (c->label == NULL || c->sum == NULL || c->sumsq == NULL) {
        free(c->label);
        free(c->sum);
        free(c->sumsq);
        memset(c, 0, sizeof *c);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < nvalues; j++)
        mpz_inits(c->sum[j], c->sumsq[j], NULL);
    return VEIL_OK;
}

/* ---- the analyst ---- */

typedef struct {
    size_t nvd;
    size_t *vd;
    veil_qpack_layout *lay;
    size_t per;
} alayout;

static void alayout_free(alayout *a)
{
    for (size_t i = 0; a->lay != NULL && i < a->nvd; i++)
        veil_qpack_layout_free(&a->lay[i]);
    free(a->lay);
    free(a->vd);
    memset(a, 0, sizeof *a);
}

/* The departments with values, as the result lists them, and their
 * layouts from the set sizes the combiner reports. */
static veil_status result_layout(const qctx *x, const Veil__QueryResult *res, alayout *a,
                                 veil_err *err)
{
    const veil_query *q = x->q;
    memset(a, 0, sizeof *a);
    size_t want = 0;
    for (size_t d = 0; d < q->ndepts; d++)
        want += q_dept_sends_values(q, d) ? 1 : 0;
    if (res->n_depts != want)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "the result lists %zu departments with values; "
                            "the query has %zu",
                            res->n_depts, want);
    a->vd = malloc((want + 1) * sizeof *a->vd);
    a->lay = calloc(want + 1, sizeof *a->lay);
    if (a->vd == NULL || a->lay == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t d = 0, i = 0; d < q->ndepts; d++) {
        if (!q_dept_sends_values(q, d))
            continue;
        const Veil__QueryDeptInfo *di = res->depts[i];
        if (strcmp(di->id, q->depts[d].id) != 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "the result's department %zu is %.64s; the "
                                "query has %s there",
                                i, di->id, q->depts[d].id);
        if (di->rows == 0 || di->rows > QSET_MAX_ELEMS)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "the result gives department %s %" PRIu64 " rows", q->depts[d].id,
                                di->rows);
        veil_status st = q_layout(x, d, di->rows, &a->lay[i], err);
        if (st != VEIL_OK)
            return st;
        a->vd[i] = d;
        a->per += a->lay[i].ncts;
        a->nvd = ++i;
    }
    return VEIL_OK;
}

/* Checks the released cell `in` and gathers its ciphertexts into
 * c[0..a->per). */
static veil_status cell_cts(const qctx *x, const alayout *a, const Veil__QueryCell *in, mpz_t *c,
                            veil_err *err)
{
    if (!in->has_count)
        return veil_err_set(err, VEIL_ERR_INPUT, "a released cell without a count");
    if (in->n_cts != a->per)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "a released cell carries %zu ciphertexts; the "
                            "layout has %zu",
                            in->n_cts, a->per);
    for (size_t j = 0; j < a->per; j++) {
        if (in->cts[j].len != x->ctlen)
            return veil_err_set(err, VEIL_ERR_INPUT, "ciphertext %zu has %zu bytes, not %zu", j,
                                in->cts[j].len, x->ctlen);
        veil_qpack_ct_import(c[j], in->cts[j].data, x->ctlen);
    }
    return VEIL_OK;
}

/* One released cell from the plaintext residues m[0..a->per) of its
 * ciphertexts (overwritten). */
static veil_status decode_cell(const qctx *x, const alayout *a, const Veil__QueryCell *in,
                               mpz_t *m, veil_query_cell *out, veil_err *err)
{
    const veil_query *q = x->q;
    out->released = in->released ? 1 : 0;
    if (!in->released)
        return VEIL_OK;
    out->count = in->count;
    mpz_t *sums = malloc((q->nvalues + 1) * sizeof *sums);
    mpz_t *sqs = malloc((q->nvalues + 1) * sizeof *sqs);
    if (sums == NULL || sqs == NULL) {
        free(sums), free(sqs);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < q->nvalues; j++)
        mpz_inits(sums[j], sqs[j], NULL);
    veil_status st = VEIL_OK;
    for (size_t i = 0, base = 0; i < a->nvd && st == VEIL_OK; base += a->lay[i].ncts, i++) {
        const veil_query_dept *d = &q->depts[a->vd[i]];
        for (size_t k = 0; k < a->lay[i].ncts && st == VEIL_OK; k++) {
            st = veil_paillier_decode(m[base + k], x->pk, m[base + k], err);
            if (st == VEIL_OK)
                st = veil_qpack_unpack(sums + d->value_base, sqs + d->value_base, &a->lay[i], k,
                                       m[base + k], err);
        }
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "department %s's values", d->id);
    }
    for (size_t j = 0; j < q->nvalues && st == VEIL_OK; j++) {
        mpz_swap(out->sum[j], sums[j]);
        mpz_swap(out->sumsq[j], sqs[j]);
    }
    for (size_t j = 0; j < q->nvalues; j++)
        mpz_clears(sums[j], sqs[j], NULL);
    free(sums), free(sqs);
    return st;
}

/* The cells in order, then the total: what the combiner released. */
static const Veil__QueryCell *nth_cell(const Veil__QueryResult *res, size_t i)
{
    return i < res->n_cells ? res->cells[i] : res->total;
}

/* m[...] = the plaintext residues of every released ciphertext, cells in
 * order then the total (the order the combiner sends holders), decrypted
 * with the private key or combined from the holders' partials. */
static veil_status decrypt_all(const qctx *x, const alayout *a, const Veil__QueryResult *res,
                               mpz_t **out, size_t *count, veil_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i <= res->n_cells; i++)
        n += nth_cell(res, i)->released ? a->per : 0;
    mpz_t *c = malloc((n + 1) * sizeof *c), *m = malloc((n + 1) * sizeof *m);
    if (c == NULL || m == NULL) {
        free(c), free(m);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < n; j++)
        mpz_inits(c[j], m[j], NULL);
    veil_status st = VEIL_OK;
    for (size_t i = 0, at = 0; i <= res->n_cells && st == VEIL_OK; i++) {
        const Veil__QueryCell *cell = nth_cell(res, i);
        if (!cell->released)
            continue;
        st = cell_cts(x, a, cell, c + at, err);
        if (st != VEIL_OK)
            st = i < res->n_cells ? veil_err_prefix(err, "result cell %zu", i)
                                  : veil_err_prefix(err, "result total");
        at += a->per;
    }
    if (st == VEIL_OK && !x->q->threshold && res->n_partials > 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "the result carries partial decryptions, but "
                                               "the query has no threshold key");
    if (st == VEIL_OK && n > 0) {
        if (x->q->threshold)
            st = q_thr_combine(x, (const mpz_t *)c, n, res->partials, res->n_partials, m, err);
        else
            st = veil_paillier_decrypt_batch(m, x->p->sk, (const mpz_t *)c, n, x->threads, err);
    }
    for (size_t j = 0; j < n; j++)
        mpz_clear(c[j]);
    free(c);
    if (st != VEIL_OK) {
        for (size_t j = 0; j < n; j++)
            mpz_clear(m[j]);
        free(m);
        return st;
    }
    *out = m;
    *count = n;
    return VEIL_OK;
}

static veil_status decode_result(const qctx *x, const Veil__QueryResult *res,
                                 veil_query_result **out, veil_err *err)
{
    const veil_query *q = x->q;
    if (!q->grouped && res->n_cells != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "the result of an ungrouped query has %zu cells",
                            res->n_cells);
    if (res->n_cells > VEIL_PSI_TAGS_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "the result has %zu cells, over the limit of %u",
                            res->n_cells, VEIL_PSI_TAGS_MAX);
    for (size_t i = 1; i < res->n_cells; i++)
        if (strcmp(res->cells[i - 1]->label, res->cells[i]->label) >= 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "the result's cells are not in label order "
                                "at cell %zu",
                                i);
    alayout a;
    mpz_t *m = NULL;
    size_t nm = 0, at = 0;
    veil_status st = result_layout(x, res, &a, err);
    if (st == VEIL_OK)
        st = decrypt_all(x, &a, res, &m, &nm, err);
    veil_query_result *r = calloc(1, sizeof *r);
    if (st == VEIL_OK && r == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK) {
        r->nvalues = q->nvalues;
        r->cells = calloc(res->n_cells + 1, sizeof *r->cells);
        if (r->cells == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < res->n_cells && st == VEIL_OK; i++) {
        st = cell_init(&r->cells[i], res->cells[i]->label, q->nvalues, err);
        if (st == VEIL_OK) {
            r->ncells = i + 1;
            st = decode_cell(x, &a, res->cells[i], m + at, &r->cells[i], err);
            at += res->cells[i]->released ? a.per : 0;
        }
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "result cell %zu", i);
    }
    if (st == VEIL_OK)
        st = cell_init(&r->total, "", q->nvalues, err);
    if (st == VEIL_OK) {
        st = decode_cell(x, &a, res->total, m + at, &r->total, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "result total");
    }
    for (size_t j = 0; j < nm; j++)
        mpz_clear(m[j]);
    free(m);
    alayout_free(&a);
    if (st != VEIL_OK) {
        veil_query_result_free(r);
        return st;
    }
    *out = r;
    return VEIL_OK;
}

static veil_status analyst(qctx *x, veil_query_result **out, veil_query_stats *stats, veil_err *err)
{
    veil_conn *c = NULL;
    ProtobufCMessage *m = NULL;
    veil_status st = q_open_net(x, err);
    if (st == VEIL_OK)
        st = q_connect_combiner(x, &c, err);
    if (st == VEIL_OK) {
        q_log(x, "connected to the combiner %s; waiting for the result",
              x->q->depts[x->q->combiner].id);
        st = q_recv_status(x, c, err);
    }
    if (st == VEIL_OK)
        st = q_recv_msg(x, c, QMSG_RESULT, &veil__query_result__descriptor, &m, err);
    if (st == VEIL_OK) {
        st = decode_result(x, (Veil__QueryResult *)m, out, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "%s's result", veil_conn_peer(c));
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    if (st == VEIL_OK)
        st = q_send_status(c, 1, NULL, err);
    if (st != VEIL_OK && c != NULL)
        q_tell_stop(c, err->msg);
    if (stats != NULL && x->net != NULL) {
        veil_net_traffic(x->net, &stats->bytes_sent, &stats->bytes_received);
        stats->seconds = q_now() - x->start;
    }
    veil_conn_close(c);
    if (st != VEIL_OK && *out != NULL) {
        veil_query_result_free(*out);
        *out = NULL;
    }
    return st;
}

/* ---- dispatch ---- */

/* The threshold key and share a party gives match the query: the same
 * dealing, the share the query names for this party; nothing of the kind
 * for a query without one. */
static veil_status check_threshold(const veil_query *q, const veil_query_party *p, int is_analyst,
                                   veil_err *err)
{
    if (!q->threshold) {
        if (p->tkey != NULL || p->share != NULL)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "query %s has no threshold key; %s gives a threshold %s", q->id,
                                p->self_id, p->share != NULL ? "share" : "key");
        return VEIL_OK;
    }
    if (is_analyst && p->sk != NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s is decrypted by the holders of a threshold key; the "
                            "analyst %s gives that key (--threshold-key), not a private key",
                            q->id, p->self_id);
    const veil_threshold_key *k = p->tkey;
    if (k == NULL && p->share != NULL)
        k = veil_threshold_share_key(p->share);
    if (k != NULL) {
        char fp[VEIL_FINGERPRINT_HEX];
        veil_threshold_key_fingerprint_hex(fp, k);
        if (strcmp(fp, q->threshold_key) != 0)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "the threshold key has fingerprint %s but query %s names %s", fp,
                                q->id, q->threshold_key);
        unsigned l = veil_threshold_key_parties(k), t = veil_threshold_key_threshold(k);
        for (size_t i = 0; i < q->nholders; i++)
            if (q->holder_index[i] > l)
                return veil_err_set(err, VEIL_ERR_USAGE,
                                    "query %s gives %s share %u, but the threshold key has %u "
                                    "shares",
                                    q->id, q->peers[q->holder_peer[i]].id, q->holder_index[i], l);
        if (q->nholders < t)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "query %s names %zu share holder%s, but the threshold key needs "
                                "%u to decrypt",
                                q->id, q->nholders, q->nholders == 1 ? "" : "s", t);
    }
    size_t self = 0;
    while (self < q->npeers && strcmp(q->peers[self].id, p->self_id) != 0)
        self++;
    long h = veil_query_find_holder(q, self);
    if (h < 0 && p->share != NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s gives a threshold share, but query %s does not name it a holder",
                            p->self_id, q->id);
    if (h >= 0 && p->share == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s names %s a share holder (share %u): it needs its share "
                            "(--share)",
                            q->id, p->self_id, q->holder_index[h]);
    if (h >= 0 && veil_threshold_share_index(p->share) != q->holder_index[h])
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s gives share %u, but query %s gives it share %u", p->self_id,
                            veil_threshold_share_index(p->share), q->id, q->holder_index[h]);
    if (p->tkey != NULL && p->share != NULL &&
        memcmp(veil_threshold_key_fingerprint(p->tkey),
               veil_threshold_key_fingerprint(veil_threshold_share_key(p->share)),
               VEIL_THRESHOLD_DIGEST_BYTES) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s's share belongs to another threshold key than the one it gives",
                            p->self_id);
    return VEIL_OK;
}

veil_status veil_query_run(const veil_query *q, const veil_query_party *p, veil_query_result **out,
                           veil_query_stats *stats, veil_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    if (q == NULL || p == NULL || p->self_id == NULL || p->identity_dir == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "veil_query_run: missing query or party");
    long dept = veil_query_find_dept(q, p->self_id);
    int is_analyst = strcmp(p->self_id, q->analyst_id) == 0;
    if (dept < 0 && !is_analyst)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "party %s is not part of query %s (its parties "
                            "are the departments and the analyst %s)",
                            p->self_id, q->id, q->analyst_id);
    qctx x;
    memset(&x, 0, sizeof x);
    x.q = q;
    x.p = p;
    x.h = p->hooks;
    x.threads = p->threads;
    x.start = q_now();
    x.deadline = x.start + q->query_timeout;
    veil_status st = check_threshold(q, p, is_analyst, err);
    if (st != VEIL_OK)
        return st;
    if (is_analyst) {
        if (out == NULL || (q->threshold ? p->tkey == NULL : p->sk == NULL))
            return veil_err_set(err, VEIL_ERR_USAGE, "the analyst %s needs %s", p->self_id,
                                q->threshold ? "the threshold key" : "its private key");
        x.pk = q->threshold ? veil_threshold_key_pub(p->tkey) : veil_paillier_priv_pub(p->sk);
    } else {
        const veil_paillier_pub *pk = p->pk != NULL ? p->pk
                                      : p->tkey != NULL ? veil_threshold_key_pub(p->tkey)
                                                        : NULL;
        if (pk == NULL || p->input == NULL)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "department %s needs the query's public key "
                                "and its input file",
                                p->self_id);
        x.pk = pk;
    }
    char fp[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(fp, x.pk);
    if (strcmp(fp, q->key_fingerprint) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the %s key has fingerprint %s but query %s names "
                            "%s",
                            is_analyst ? "private" : "public", fp, q->id, q->key_fingerprint);
    x.ctlen = veil_qpack_ct_bytes(x.pk);
    if (is_analyst && q->threshold) {
        crypto_box_keypair(x.seal_pk, x.seal_sk);
        x.has_seal = 1;
    }
    if (is_analyst)
        st = analyst(&x, out, stats, err);
    else if ((size_t)dept == q->combiner)
        st = q_combiner(&x, stats, err);
    else
        st = q_department(&x, (size_t)dept, stats, err);
    sodium_memzero(x.seal_sk, sizeof x.seal_sk);
    veil_net_free(x.net);
    return st;
}

veil_status veil_query_check_input(const veil_query *q, const char *dept_id, const char *path,
                                   veil_query_input_info *info, veil_err *err)
{
    memset(info, 0, sizeof *info);
    long dept = q != NULL && dept_id != NULL ? veil_query_find_dept(q, dept_id) : -1;
    if (dept < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "%.64s is not a department of query %s",
                            dept_id != NULL ? dept_id : "(none)", q != NULL ? q->id : "?");
    veil_query_party p;
    memset(&p, 0, sizeof p);
    p.self_id = dept_id;
    p.input = path;
    qctx x;
    memset(&x, 0, sizeof x);
    x.q = q;
    x.p = &p;
    qrecords r;
    veil_status st = q_load_records(&x, (size_t)dept, &r, err);
    if (st != VEIL_OK)
        return st;
    info->rows = r.n;
    info->clipped = r.clipped;
    info->nlabels = r.nlabels;
    q_records_free(&r);
    return VEIL_OK;
}

/* ---- the CSV result ---- */

static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* num / den as a decimal with `decimals` digits after the point, where
 * num is a mantissa at scale `scale` (den > 0), rounded half away from
 * zero. */
static char *ratio_text(const mpz_t num, const mpz_t den, unsigned scale, unsigned decimals)
{
    mpz_t a, b, qt, r;
    mpz_inits(a, b, qt, r, NULL);
    /* value * 10^decimals = num * 10^decimals / (den * 10^scale) */
    mpz_ui_pow_ui(a, 10, decimals);
    mpz_mul(a, a, num);
    mpz_ui_pow_ui(b, 10, scale);
    mpz_mul(b, b, den);
    mpz_tdiv_qr(qt, r, a, b);
    mpz_abs(r, r);
    mpz_mul_2exp(r, r, 1);
    if (mpz_cmp(r, b) >= 0) {
        if (mpz_sgn(a) < 0)
            mpz_sub_ui(qt, qt, 1);
        else
            mpz_add_ui(qt, qt, 1);
    }
    char *s = veil_fixed_format(qt, decimals);
    mpz_clears(a, b, qt, r, NULL);
    return s;
}

static int write_cell(FILE *f, const veil_query *q, const veil_query_cell *c, const char *label)
{
    csv_field(f, label);
    fputs(c->released ? ",released" : ",suppressed", f);
    if (q->stats & VEIL_QSTAT_COUNT) {
        if (c->released)
            fprintf(f, ",%" PRId64, c->count);
        else
            fputc(',', f);
    }
    mpz_t n, num, t;
    mpz_inits(n, num, t, NULL);
    mpz_set_si(n, c->released ? c->count : 0);
    int ok = 1;
    for (size_t d = 0, j = 0; d < q->ndepts; d++)
        for (size_t v = 0; v < q->depts[d].nvalues; v++, j++) {
            unsigned s = q->depts[d].values[v].scale;
            int have = c->released && mpz_sgn(n) > 0;
            if (q->stats & VEIL_QSTAT_SUM) {
                fputc(',', f);
                if (c->released) {
                    char *txt = veil_fixed_format(c->sum[j], s);
                    ok = ok && txt != NULL;
                    if (txt != NULL)
                        fputs(txt, f);
                    free(txt);
                }
            }
            if (q->stats & VEIL_QSTAT_MEAN) {
                fputc(',', f);
                if (have) {
                    char *txt = ratio_text(c->sum[j], n, s, s + 4);
                    ok = ok && txt != NULL;
                    if (txt != NULL)
                        fputs(txt, f);
                    free(txt);
                }
            }
            if (q->stats & VEIL_QSTAT_VARIANCE) {
                fputc(',', f);
                if (have) {
                    /* population variance: (n * sumsq - sum^2) / n^2 at scale 2s;
                     * noise can make it negative, which is reported as 0 */
                    mpz_mul(num, n, c->sumsq[j]);
                    mpz_submul(num, c->sum[j], c->sum[j]);
                    if (mpz_sgn(num) < 0)
                        mpz_set_ui(num, 0);
                    mpz_mul(t, n, n);
                    char *txt = ratio_text(num, t, 2 * s, 2 * s + 4);
                    ok = ok && txt != NULL;
                    if (txt != NULL)
                        fputs(txt, f);
                    free(txt);
                }
            }
        }
    fputc('\n', f);
    mpz_clears(n, num, t, NULL);
    return ok;
}

veil_status veil_query_result_write(FILE *out, const veil_query *q, const veil_query_result *r,
                                    veil_err *err)
{
    const char *gcol = "group";
    if (q->grouped)
        gcol = q->depts[q->combiner].group_by;
    csv_field(out, gcol);
    fputs(",status", out);
    if (q->stats & VEIL_QSTAT_COUNT)
        fputs(",count", out);
    for (size_t d = 0; d < q->ndepts; d++)
        for (size_t v = 0; v < q->depts[d].nvalues; v++) {
            const char *col = q->depts[d].values[v].column;
            static const struct {
                unsigned bit;
                const char *suffix;
            } st[] = {{VEIL_QSTAT_SUM, "_sum"},
                      {VEIL_QSTAT_MEAN, "_mean"},
                      {VEIL_QSTAT_VARIANCE, "_variance"}};
            for (size_t i = 0; i < 3; i++)
                if (q->stats & st[i].bit) {
                    char name[VEIL_QUERY_NAME_MAX + 16];
                    snprintf(name, sizeof name, "%s%s", col, st[i].suffix);
                    fputc(',', out);
                    csv_field(out, name);
                }
        }
    fputc('\n', out);
    int ok = 1;
    for (size_t i = 0; i < r->ncells; i++)
        ok = write_cell(out, q, &r->cells[i], r->cells[i].label) && ok;
    ok = write_cell(out, q, &r->total, "*total*") && ok;
    if (!ok)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory formatting the result");
    if (ferror(out))
        return veil_err_set(err, VEIL_ERR_IO, "writing the result failed");
    return VEIL_OK;
}
