/* The combining department (query/joinpriv.h; docs/query.md, "Protocol").
 *
 * It waits for every other party, sends its own set (with ElGamal-encrypted
 * group tags) through a shuffle by another department and a blinding by the
 * rest, then asks each other department for its set and matches it chunk
 * by chunk as it streams in (blinded with its own key and by every other
 * department), keeping only the ciphertexts of matched elements; it
 * multiplies them per group, adds noise, applies suppression and sends the
 * analyst the released cells. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "joinpriv.h"
#include "veil/batch.h"
#include "veil/disclosure.h"
#include "veil/proto/query.pb-c.h"

#define QACCEPT_SLICE_MS 250

typedef struct qsorted_ {
    uint8_t p[VEIL_PSI_POINT_BYTES];
    size_t idx;
} qsorted;

static int qsorted_cmp(const void *a, const void *b)
{
    return memcmp(((const qsorted *)a)->p, ((const qsorted *)b)->p, VEIL_PSI_POINT_BYTES);
}

typedef struct {
    veil_conn **conn; /* [npeers]: roster order; NULL for self */
    size_t self;      /* roster index of the combiner */
    qbatch *sets;     /* [ndepts] */
    size_t *ncts;     /* [ndepts]: ciphertexts per element */
    qrecords rec;     /* the combiner's own records */
    veil_psi_key key;
    veil_psi_eg_key eg;
    /* Streamed sets are matched as they arrive against the combiner's own
     * fully blinded set; only what matched is kept, per own element i: */
    struct qsorted_ *own_sorted; /* own points, sorted */
    uint64_t **hit;              /* [ndepts]: 1 + d's element matching i, 0 for none */
    uint8_t **store;             /* [ndepts]: d's ciphertexts for i (ncts[d] each) */
    uint8_t seal_key[QSEAL_KEY_BYTES]; /* threshold queries: the analyst's, from its hello */
} comb;

static void hex8(char out[17], const uint8_t *b)
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static long roster_index(const veil_query *q, const char *id)
{
    for (size_t i = 0; i < q->npeers; i++)
        if (strcmp(q->peers[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* The hello every party sends first: same query description, same key;
 * the analyst of a threshold query adds its seal key (into seal). */
static veil_status check_hello(const qctx *x, veil_conn *c, uint8_t *seal, veil_err *err)
{
    ProtobufCMessage *m;
    veil_status st = q_recv_msg(x, c, QMSG_HELLO, &veil__query_hello__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    Veil__QueryHello *h = (Veil__QueryHello *)m;
    const char *peer = veil_conn_peer(c);
    char a[17], b[17];
    if (h->version != QPROTO_VERSION)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s speaks query protocol version %u; this party "
                          "speaks %u",
                          peer, h->version, QPROTO_VERSION);
    else if (h->query_digest.len != sizeof x->q->digest ||
             memcmp(h->query_digest.data, x->q->digest, sizeof x->q->digest) != 0) {
        hex8(b, x->q->digest);
        if (h->query_digest.len >= 8)
            hex8(a, h->query_digest.data);
        else
            snprintf(a, sizeof a, "?");
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "%s holds a different description of query %s "
                          "(digest %s..., here %s...)",
                          peer, x->q->id, a, b);
    } else if (h->key_fingerprint.len != VEIL_FINGERPRINT_BYTES ||
               memcmp(h->key_fingerprint.data, veil_paillier_pub_fingerprint(x->pk),
                      VEIL_FINGERPRINT_BYTES) != 0) {
        if (h->key_fingerprint.len >= 8)
            hex8(a, h->key_fingerprint.data);
        else
            snprintf(a, sizeof a, "?");
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "%s holds the public key %s..., but query %s names "
                          "%.16s...",
                          peer, a, x->q->id, x->q->key_fingerprint);
    } else if (seal != NULL && x->q->threshold &&
               (!h->has_seal_key || h->seal_key.len != QSEAL_KEY_BYTES)) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s sent no %u-byte seal key for the partial decryptions of query %s "
                          "(threshold key)",
                          peer, QSEAL_KEY_BYTES, x->q->id);
    } else if ((seal == NULL || !x->q->threshold) && h->has_seal_key) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s sent a seal key, which only the analyst of a "
                          "query with a threshold key sends", peer);
    } else if (seal != NULL && x->q->threshold) {
        memcpy(seal, h->seal_key.data, QSEAL_KEY_BYTES);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

static void tell_all(comb *k, const qctx *x, const char *text)
{
    for (size_t i = 0; i < x->q->npeers; i++)
        if (k->conn[i] != NULL)
            q_tell_stop(k->conn[i], text);
}

/* Waits for every other department and the analyst, each authenticated by
 * TLS and agreeing on the query. */
static veil_status gather(qctx *x, comb *k, veil_err *err)
{
    const veil_query *q = x->q;
    int fd = -1;
    veil_status st = veil_net_listen(x->net, &fd, err);
    if (st != VEIL_OK)
        return st;
    const veil_query_dept *cd = &q->depts[q->combiner];
    if (x->p->spool_dir != NULL)
        q_log(x, "waiting in the spool %s for %zu parties", x->p->spool_dir, q->npeers - 1);
    else
        q_log(x, "listening on %s:%u for %zu parties", cd->host, cd->port, q->npeers - 1);
    size_t need = q->npeers - 1, have = 0;
    double until = q_now() + q->io_timeout;
    if (until > x->deadline)
        until = x->deadline;
    while (st == VEIL_OK && have < need) {
        if (q_stopped(x)) {
            st = veil_err_set(err, VEIL_ERR_IO, "interrupted");
            break;
        }
        double left = until - q_now();
        if (left <= 0) {
            char missing[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < q->npeers; i++)
                if (i != k->self && k->conn[i] == NULL && used < sizeof missing - 1) {
                    int w = snprintf(missing + used, sizeof missing - used, "%s%s",
                                     used > 0 ? ", " : "", q->peers[i].id);
                    used += w > 0 ? (size_t)w : 0;
                }
            st = veil_err_set(err, VEIL_ERR_IO, "no connection from %s within %u s", missing,
                              q->io_timeout);
            break;
        }
        int slice = left * 1000 < QACCEPT_SLICE_MS ? (int)(left * 1000) + 1 : QACCEPT_SLICE_MS;
        veil_conn *c = NULL;
        st = veil_net_accept(x->net, fd, slice, &c, err);
        if (st != VEIL_OK || c == NULL)
            continue;
        veil_err herr;
        veil_err_clear(&herr);
        if (veil_conn_handshake(c, &herr) != VEIL_OK) {
            q_log(x, "refused a connection: %s", herr.msg);
            veil_conn_close(c);
            continue;
        }
        long idx = roster_index(q, veil_conn_peer(c));
        if (idx < 0 || (size_t)idx == k->self || k->conn[idx] != NULL) {
            q_log(x, "refused a second connection from %s", veil_conn_peer(c));
            q_tell_stop(c, "already connected");
            veil_conn_close(c);
            continue;
        }
        st = check_hello(x, c, (size_t)idx == q->npeers - 1 ? k->seal_key : NULL, err);
        if (st != VEIL_OK) {
            q_tell_stop(c, err->msg);
            veil_conn_close(c);
            break;
        }
        k->conn[idx] = c;
        have++;
        q_log(x, "%s joined (%zu of %zu)", q->peers[idx].id, have, need);
    }
    if (fd >= 0)
        close(fd);
    return st;
}

/* The ciphertexts per element department d sends (0 without values). */
static veil_status dept_ncts(const qctx *x, size_t d, uint64_t rows, size_t *out, veil_err *err)
{
    veil_qpack_layout l;
    veil_status st = q_layout(x, d, rows, &l, err);
    if (st != VEIL_OK)
        return st;
    *out = l.ncts;
    veil_qpack_layout_free(&l);
    return VEIL_OK;
}

/* Has department `via` blind `count` points in place (purpose 2). */
static veil_status blind_via(qctx *x, comb *k, size_t via, uint8_t *points, size_t count,
                             veil_err *err)
{
    veil_conn *c = k->conn[via];
    qbatch v;
    memset(&v, 0, sizeof v);
    v.count = count;
    v.points = points;
    veil_status st = q_send_batch(x, c, QPURPOSE_BLIND, &v, NULL, err);
    qbatch a;
    uint32_t purpose;
    if (st == VEIL_OK)
        st = q_recv_batch(x, c, QPURPOSE_ANSWER, &a, &purpose, NULL, NULL, err);
    if (st != VEIL_OK)
        return st;
    if (a.count != count || a.has_tags || a.cts_per != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s answered a blinding request of %zu elements "
                          "with %zu elements%s",
                          veil_conn_peer(c), count, a.count,
                          a.has_tags || a.cts_per ? " carrying tags or ciphertexts" : "");
    else
        memcpy(points, a.points, count * VEIL_PSI_POINT_BYTES);
    q_batch_free(&a);
    return st;
}

/* The combiner's own set goes to the first other department to be blinded,
 * re-randomized and shuffled (purpose 3), then to the rest for blinding. */
static veil_status shuffle_own(qctx *x, comb *k, veil_err *err)
{
    const veil_query *q = x->q;
    size_t C = q->combiner, first = C == 0 ? 1 : 0;
    qbatch *own = &k->sets[C];
    veil_conn *c = k->conn[first];
    q_log(x, "sending its own %zu elements to %s to be shuffled", own->count, q->depts[first].id);
    veil_status st = q_send_batch(x, c, QPURPOSE_SHUFFLE, own, own->has_tags ? k->eg.y : NULL, err);
    qbatch a;
    uint32_t purpose;
    if (st == VEIL_OK)
        st = q_recv_batch(x, c, QPURPOSE_ANSWER, &a, &purpose, NULL, NULL, err);
    if (st != VEIL_OK)
        return st;
    if (a.count != own->count || a.has_tags != own->has_tags || a.cts_per != own->cts_per) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s answered the shuffle of %zu elements with a "
                          "different batch (%zu elements)",
                          q->depts[first].id, own->count, a.count);
        q_batch_free(&a);
        return st;
    }
    q_batch_free(own);
    *own = a;
    for (size_t d = 0; d < q->ndepts && st == VEIL_OK; d++)
        if (d != C && d != first)
            st = blind_via(x, k, d, own->points, own->count, err);
    return st;
}


/* Asks department d for its set and matches it as it streams in: each
 * chunk is blinded with the combiner's key and by every other department,
 * looked up in the combiner's own fully blinded set, and only the
 * ciphertexts of matched elements are kept. Memory: one chunk plus what the
 * combiner's own set needs, however large d's set is. */
static veil_status recv_set(qctx *x, comb *k, size_t d, veil_err *err)
{
    const veil_query *q = x->q;
    size_t C = q->combiner, own_n = k->sets[C].count;
    veil_conn *c = k->conn[d];
    qbatch req;
    memset(&req, 0, sizeof req);
    veil_status st = q_send_batch(x, c, QPURPOSE_SEND_SET, &req, NULL, err);
    q_log(x, "waiting for %s's set", q->depts[d].id);
    qhdr h;
    if (st == VEIL_OK)
        st = q_recv_header(x, c, QPURPOSE_SET, &h, NULL, err);
    if (st == VEIL_OK && h.count == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s sent an empty set", q->depts[d].id);
    if (st == VEIL_OK)
        st = dept_ncts(x, d, h.count, &k->ncts[d], err);
    if (st == VEIL_OK && (h.has_tags || h.cts_per != k->ncts[d]))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: its set carries %s%u ciphertexts per element; "
                          "the query calls for %zu and no tags",
                          q->depts[d].id, h.has_tags ? "tags and " : "", h.cts_per, k->ncts[d]);
    if (st != VEIL_OK)
        return st;
    k->sets[d].count = h.count; /* its size only: the elements are not kept */
    size_t w = k->ncts[d] * x->ctlen;
    k->hit[d] = calloc(own_n > 0 ? own_n : 1, sizeof *k->hit[d]);
    if (k->hit[d] == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (w > 0) {
        k->store[d] = malloc((own_n > 0 ? own_n : 1) * w);
        if (k->store[d] == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM,
                                "out of memory for %zu matched elements of %s", own_n,
                                q->depts[d].id);
    }
    size_t per = q_chunk_elems(h.cts_per, 0, x->ctlen);
    qbatch ch;
    st = q_batch_alloc(&ch, per < h.count ? per : h.count, h.cts_per, 0, x->ctlen, err);
    size_t next = 0, matched = 0;
    double last = q_now();
    while (st == VEIL_OK && next < h.count) {
        size_t n;
        st = q_recv_chunk(x, c, &h, next, &ch, 0, &n, err);
        if (st == VEIL_OK)
            st = veil_psi_blind(ch.points, &k->key, ch.points, n, x->threads, err);
        for (size_t via = 0; via < q->ndepts && st == VEIL_OK; via++)
            if (via != C && via != d)
                st = blind_via(x, k, via, ch.points, n, err);
        for (size_t e = 0; e < n && st == VEIL_OK; e++) {
            qsorted key;
            memcpy(key.p, ch.points + e * VEIL_PSI_POINT_BYTES, VEIL_PSI_POINT_BYTES);
            const qsorted *f = bsearch(&key, k->own_sorted, own_n, sizeof *k->own_sorted,
                                       qsorted_cmp);
            if (f == NULL)
                continue;
            if (k->hit[d][f->idx] != 0) {
                st = veil_err_set(err, VEIL_ERR_INPUT,
                                  "%s's set holds the same resident twice (elements %llu and %zu)",
                                  q->depts[d].id, (unsigned long long)(k->hit[d][f->idx] - 1),
                                  next + e);
                break;
            }
            k->hit[d][f->idx] = (uint64_t)(next + e) + 1;
            if (w > 0)
                memcpy(k->store[d] + f->idx * w, ch.cts + e * w, w);
            matched++;
        }
        next += n;
        if (st == VEIL_OK && next < h.count && q_now() - last >= 5.0) {
            q_log(x, "%s's set: %zu of %zu elements received and blinded, %zu of them matched",
                  q->depts[d].id, next, h.count, matched);
            last = q_now();
        }
    }
    q_batch_free(&ch);
    if (st == VEIL_OK)
        st = q_recv_done(x, c, &h, err);
    if (st == VEIL_OK)
        q_log(x, "%s sent %zu elements; %zu are in the combiner's set", q->depts[d].id, h.count,
              matched);
    return st;
}

static veil_status sort_set(const char *who, const qbatch *b, qsorted **out, veil_err *err)
{
    qsorted *s = malloc((b->count > 0 ? b->count : 1) * sizeof *s);
    if (s == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory sorting %zu elements", b->count);
    for (size_t i = 0; i < b->count; i++) {
        memcpy(s[i].p, b->points + i * VEIL_PSI_POINT_BYTES, VEIL_PSI_POINT_BYTES);
        s[i].idx = i;
    }
    qsort(s, b->count, sizeof *s, qsorted_cmp);
    for (size_t i = 1; i < b->count; i++)
        if (memcmp(s[i - 1].p, s[i].p, VEIL_PSI_POINT_BYTES) == 0) {
            size_t a = s[i - 1].idx, b2 = s[i].idx;
            free(s);
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s's set holds the same resident twice "
                                "(elements %zu and %zu)",
                                who, a < b2 ? a : b2, a < b2 ? b2 : a);
        }
    *out = s;
    return VEIL_OK;
}

/* ---- aggregation ---- */

typedef struct {
    size_t nvd;     /* departments with values */
    size_t *vd;     /* their indices */
    size_t *off;    /* [nvd + 1]: first ciphertext of department vd[i] in a cell */
    size_t per;     /* ciphertexts per cell */
    size_t ncells;  /* groups; 1 when ungrouped (the total only) */
    int64_t *count; /* [ncells + 1]: exact, then noisy; [ncells] = the total */
    mpz_t *acc;     /* [(ncells + 1) * per] */
    unsigned char *suppressed;
    int total_suppressed;
} qagg;

static void agg_free(qagg *g)
{
    if (g->acc != NULL)
        for (size_t i = 0; i < (g->ncells + 1) * g->per; i++)
            mpz_clear(g->acc[i]);
    free(g->acc);
    free(g->vd);
    free(g->off);
    free(g->count);
    free(g->suppressed);
    memset(g, 0, sizeof *g);
}

static veil_status agg_init(const qctx *x, const comb *k, qagg *g, veil_err *err)
{
    const veil_query *q = x->q;
    memset(g, 0, sizeof *g);
    g->ncells = q->grouped ? k->rec.nlabels : 1;
    g->vd = malloc(q->ndepts * sizeof *g->vd);
    g->off = malloc((q->ndepts + 1) * sizeof *g->off);
    g->count = calloc(g->ncells + 1, sizeof *g->count);
    g->suppressed = calloc(g->ncells, 1);
    if (g->vd == NULL || g->off == NULL || g->count == NULL || g->suppressed == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    g->off[0] = 0;
    for (size_t d = 0; d < q->ndepts; d++)
        if (k->ncts[d] > 0) {
            g->vd[g->nvd] = d;
            g->off[g->nvd + 1] = g->off[g->nvd] + k->ncts[d];
            g->nvd++;
        }
    g->per = g->off[g->nvd];
    size_t n = (g->ncells + 1) * g->per;
    g->acc = malloc((n > 0 ? n : 1) * sizeof *g->acc);
    if (g->acc == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for %zu cells", g->ncells);
    for (size_t i = 0; i < n; i++)
        mpz_init_set_ui(g->acc[i], 1);
    return VEIL_OK;
}

/* Ciphertexts waiting to be multiplied into their accumulators: checked
 * when they arrive, multiplied a block at a time so that the long runs of
 * one accumulator go through veil_paillier_add_many (the IFMA engine's
 * eight running Montgomery products) instead of one mul + mod each. The
 * product is the same whatever the order. */
#define AGG_BLOCK 4096

typedef struct {
    size_t slot, at;
} agg_item;

typedef struct {
    mpz_t *ct;      /* [AGG_BLOCK], in arrival order */
    mpz_t *sorted;  /* [AGG_BLOCK], grouped by accumulator */
    agg_item *item; /* [AGG_BLOCK] */
    size_t n;
} agg_buf;

static void aggbuf_free(agg_buf *b)
{
    if (b->ct != NULL)
        for (size_t i = 0; i < AGG_BLOCK; i++)
            mpz_clear(b->ct[i]);
    if (b->sorted != NULL)
        for (size_t i = 0; i < AGG_BLOCK; i++)
            mpz_clear(b->sorted[i]);
    free(b->ct);
    free(b->sorted);
    free(b->item);
    memset(b, 0, sizeof *b);
}

static veil_status aggbuf_init(agg_buf *b, veil_err *err)
{
    memset(b, 0, sizeof *b);
    b->ct = malloc(AGG_BLOCK * sizeof *b->ct);
    b->sorted = malloc(AGG_BLOCK * sizeof *b->sorted);
    b->item = malloc(AGG_BLOCK * sizeof *b->item);
    if (b->ct == NULL || b->sorted == NULL || b->item == NULL) {
        free(b->ct);
        free(b->sorted);
        free(b->item);
        memset(b, 0, sizeof *b);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < AGG_BLOCK; i++) {
        mpz_init(b->ct[i]);
        mpz_init(b->sorted[i]);
    }
    return VEIL_OK;
}

static int item_cmp(const void *pa, const void *pb)
{
    const agg_item *a = pa, *b = pb;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    return a->at < b->at ? -1 : a->at > b->at;
}

/* Runs shorter than this are multiplied in one by one. */
#define AGG_RUN_MIN 16

static veil_status aggbuf_flush(const qctx *x, qagg *g, agg_buf *b, veil_err *err)
{
    qsort(b->item, b->n, sizeof *b->item, item_cmp);
    for (size_t i = 0; i < b->n; i++)
        mpz_swap(b->sorted[i], b->ct[b->item[i].at]);
    veil_status st = VEIL_OK;
    mpz_t run;
    mpz_init(run);
    for (size_t i = 0; i < b->n && st == VEIL_OK;) {
        size_t slot = b->item[i].slot, j = i;
        while (j < b->n && b->item[j].slot == slot)
            j++;
        mpz_t *a = &g->acc[slot];
        if (j - i >= AGG_RUN_MIN) {
            if (veil_paillier_add_many(run, x->pk, b->sorted + i, j - i) != 0)
                st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            else
                veil_paillier_add(*a, x->pk, *a, run);
        } else {
            for (size_t u = i; u < j; u++)
                veil_paillier_add(*a, x->pk, *a, b->sorted[u]);
        }
        i = j;
    }
    mpz_clear(run);
    b->n = 0;
    return st;
}

/* Queues the ciphertexts department vd[i] holds for the combiner's own
 * element e for cell `cell`, each checked first. */
static veil_status agg_add(const qctx *x, const comb *k, qagg *g, agg_buf *b, size_t cell, size_t i,
                           size_t e, veil_err *err)
{
    size_t d = g->vd[i], n = k->ncts[d];
    const uint8_t *p = (d == x->q->combiner ? k->sets[d].cts : k->store[d]) + e * n * x->ctlen;
    for (size_t j = 0; j < n; j++) {
        if (b->n == AGG_BLOCK) {
            veil_status st = aggbuf_flush(x, g, b, err);
            if (st != VEIL_OK)
                return st;
        }
        mpz_t *ct = &b->ct[b->n];
        veil_qpack_ct_import(*ct, p + j * x->ctlen, x->ctlen);
        veil_status st = veil_paillier_check_ct(x->pk, *ct, err);
        if (st != VEIL_OK) {
            if (d == x->q->combiner)
                return veil_err_prefix(err, "%s's own set after the shuffle: ciphertext %zu",
                                       x->q->depts[d].id, j);
            return veil_err_prefix(err, "%s: element %llu, ciphertext %zu", x->q->depts[d].id,
                                   (unsigned long long)(k->hit[d][e] - 1), j);
        }
        b->item[b->n].slot = cell * g->per + g->off[i] + j;
        b->item[b->n].at = b->n;
        b->n++;
    }
    return VEIL_OK;
}

/* The combiner's own elements that every other department's set matched,
 * their groups (ElGamal tags, decrypted for these only) and the
 * aggregates. */
static veil_status match(qctx *x, comb *k, qagg *g, veil_err *err)
{
    const veil_query *q = x->q;
    size_t C = q->combiner;
    const qbatch *own = &k->sets[C];
    size_t *midx = malloc((own->count > 0 ? own->count : 1) * sizeof *midx);
    uint32_t *tags = NULL;
    veil_psi_eg_ct *mtags = NULL;
    veil_psi_tag_table *table = NULL;
    size_t nm = 0;
    veil_status st = midx != NULL ? VEIL_OK : veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < own->count && st == VEIL_OK; i++) {
        int all = 1;
        for (size_t d = 0; d < q->ndepts && all; d++)
            if (d != C && k->hit[d][i] == 0)
                all = 0;
        if (all)
            midx[nm++] = i;
    }
    q_log(x, "%zu residents are known to all %zu departments", nm, q->ndepts);
    if (st == VEIL_OK && q->grouped && nm > 0) {
        tags = malloc(nm * sizeof *tags);
        mtags = malloc(nm * sizeof *mtags);
        if (tags == NULL || mtags == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        for (size_t m = 0; m < nm && st == VEIL_OK; m++)
            memcpy(&mtags[m], own->tags + midx[m] * QEG_CT_BYTES, QEG_CT_BYTES);
        if (st == VEIL_OK)
            st = veil_psi_tag_table_new(&table, (uint32_t)k->rec.nlabels, err);
        if (st == VEIL_OK)
            st = veil_psi_eg_decrypt(tags, &k->eg, table, mtags, nm, x->threads, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "the group tags returned by the shuffle");
    }
    agg_buf buf;
    if (st == VEIL_OK)
        st = aggbuf_init(&buf, err);
    else
        memset(&buf, 0, sizeof buf);
    for (size_t m = 0; m < nm && st == VEIL_OK; m++) {
        size_t cell = q->grouped ? tags[m] : 0;
        g->count[cell]++;
        for (size_t i = 0; i < g->nvd && st == VEIL_OK; i++)
            st = agg_add(x, k, g, &buf, cell, i, midx[m], err);
    }
    if (st == VEIL_OK)
        st = aggbuf_flush(x, g, &buf, err);
    aggbuf_free(&buf);
    /* The total row: the product of every cell. */
    for (size_t c = 0; c < g->ncells && st == VEIL_OK; c++) {
        g->count[g->ncells] += g->count[c];
        for (size_t j = 0; j < g->per; j++)
            veil_paillier_add(g->acc[g->ncells * g->per + j], x->pk, g->acc[g->ncells * g->per + j],
                              g->acc[c * g->per + j]);
    }
    veil_psi_tag_table_free(table);
    free(tags);
    free(mtags);
    free(midx);
    return st;
}

/* Adds an encryption of the noise (or of 0 without noise: a fresh
 * randomization) to every cell and the total, noise to the counts, then
 * decides suppression on the counts the analyst would see. */
static veil_status finish_cells(qctx *x, comb *k, qagg *g, veil_err *err)
{
    const veil_query *q = x->q;
    int noise = q->epsilon > 0, squares = (q->stats & VEIL_QSTAT_VARIANCE) != 0;
    size_t rows = g->ncells + 1, n = rows * g->per, nv = q->nvalues;
    veil_dc_plan plan;
    memset(&plan, 0, sizeof plan);
    mpz_t *lo = NULL, *hi = NULL, *m = NULL, *e = NULL, *sums = NULL, *sqs = NULL;
    unsigned *scales = NULL;
    mpz_t z, lim;
    mpz_inits(z, lim, NULL);
    veil_status st = VEIL_OK;
    lo = malloc((nv + 1) * sizeof *lo);
    hi = malloc((nv + 1) * sizeof *hi);
    scales = malloc((nv + 1) * sizeof *scales);
    m = malloc((n + 1) * sizeof *m);
    e = malloc((n + 1) * sizeof *e);
    sums = malloc((nv + 1) * sizeof *sums);
    sqs = malloc((nv + 1) * sizeof *sqs);
    if (lo == NULL || hi == NULL || scales == NULL || m == NULL || e == NULL || sums == NULL ||
        sqs == NULL) {
        free(lo), free(hi), free(scales), free(m), free(e), free(sums), free(sqs);
        mpz_clears(z, lim, NULL);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        mpz_inits(m[i], e[i], NULL);
    for (size_t j = 0; j < nv; j++)
        mpz_inits(sums[j], sqs[j], NULL);
    for (size_t d = 0, j = 0; d < q->ndepts; d++)
        for (size_t v = 0; v < q->depts[d].nvalues; v++, j++) {
            lo[j][0] = q->depts[d].values[v].lo[0]; /* borrowed, not cleared */
            hi[j][0] = q->depts[d].values[v].hi[0];
            scales[j] = q->depts[d].values[v].scale;
        }
    if (noise)
        st = veil_dc_plan_new(&plan, q->epsilon, q->grouped, nv, (const mpz_t *)lo,
                              (const mpz_t *)hi, scales, err);
    for (size_t r = 0; r < rows && st == VEIL_OK; r++) {
        if (q->grouped ? 0 : r == 0) /* ungrouped: cell 0 is the total itself */
            continue;
        if (noise) {
            st = veil_dc_noise(z, &plan.measures[0], err);
            if (st == VEIL_OK && !mpz_fits_slong_p(z))
                st = veil_err_set(err, VEIL_ERR_INTERNAL, "count noise out of range");
            if (st == VEIL_OK)
                g->count[r] += mpz_get_si(z);
        }
        for (size_t i = 0; i < g->nvd && st == VEIL_OK; i++) {
            const veil_query_dept *qd = &q->depts[g->vd[i]];
            for (size_t v = 0; v < qd->nvalues && st == VEIL_OK; v++) {
                size_t gj = qd->value_base + v;
                mpz_set_ui(sums[v], 0);
                mpz_set_ui(sqs[v], 0);
                for (int w = 0; w < 2 && noise && st == VEIL_OK; w++) {
                    if (w == 1 && !squares)
                        break;
                    const veil_dc_measure *ms = &plan.measures[1 + 2 * gj + (size_t)w];
                    mpz_mul_2exp(lim, ms->sensitivity, VEIL_QPACK_NOISE_BITS);
                    do
                        st = veil_dc_noise(z, ms, err);
                    while (st == VEIL_OK && mpz_cmpabs(z, lim) > 0);
                    mpz_set(w == 0 ? sums[v] : sqs[v], z);
                }
            }
            veil_qpack_layout l;
            if (st == VEIL_OK)
                st = q_layout(x, g->vd[i], k->sets[g->vd[i]].count, &l, err);
            if (st == VEIL_OK) {
                mpz_t *mk = &m[r * g->per + g->off[i]];
                st = veil_qpack_pack(mk, &l, sums, sqs, err);
                for (size_t j = 0; j < l.ncts && st == VEIL_OK; j++)
                    st = veil_paillier_encode(mk[j], x->pk, mk[j], err);
                veil_qpack_layout_free(&l);
            }
        }
    }
    if (st == VEIL_OK && n > 0)
        st = veil_paillier_encrypt_batch(e, x->pk, m, n, x->threads, err);
    for (size_t i = 0; i < n && st == VEIL_OK; i++)
        veil_paillier_add(g->acc[i], x->pk, g->acc[i], e[i]);
    if (st == VEIL_OK) {
        if (q->grouped) {
            st = veil_dc_suppress(g->suppressed, &g->total_suppressed, g->count, g->ncells,
                                  q->min_count, err);
        } else {
            /* The total is the only cell: it alone decides. */
            unsigned char s = 0;
            int ts = 0;
            st = veil_dc_suppress(&s, &ts, &g->count[1], 1, q->min_count, err);
            g->total_suppressed = s || ts;
        }
    }
    if (noise)
        veil_dc_plan_free(&plan);
    for (size_t i = 0; i < n; i++)
        mpz_clears(m[i], e[i], NULL);
    for (size_t j = 0; j < nv; j++)
        mpz_clears(sums[j], sqs[j], NULL);
    mpz_clears(z, lim, NULL);
    free(lo), free(hi), free(scales), free(m), free(e), free(sums), free(sqs);
    return st;
}

static void fill_cell(const qctx *x, const qagg *g, size_t row, const char *label, int released,
                      Veil__QueryCell *cell, uint8_t *buf, ProtobufCBinaryData *cts)
{
    veil__query_cell__init(cell);
    cell->label = (char *)label;
    cell->released = released ? 1 : 0;
    if (!released)
        return;
    cell->has_count = 1;
    cell->count = g->count[row];
    cell->n_cts = g->per;
    cell->cts = cts;
    for (size_t j = 0; j < g->per; j++) {
        veil_qpack_ct_export(buf + j * x->ctlen, x->ctlen, g->acc[row * g->per + j]);
        cts[j].data = buf + j * x->ctlen;
        cts[j].len = x->ctlen;
    }
}

/* Has every share holder but the analyst partially decrypt the n released
 * ciphertexts in cts (their partials come back sealed to the analyst): the
 * requests go out first, so the holders work at the same time. */
static veil_status threshold_round(qctx *x, comb *k, const uint8_t *cts, size_t n,
                                   Veil__QuerySealedPartials *sp, size_t *nsp, veil_err *err)
{
    const veil_query *q = x->q;
    ProtobufCBinaryData *list = calloc(n, sizeof *list);
    if (list == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        list[i].data = (uint8_t *)cts + i * x->ctlen;
        list[i].len = x->ctlen;
    }
    Veil__QueryDecrypt req = VEIL__QUERY_DECRYPT__INIT;
    req.n_cts = n;
    req.cts = list;
    veil_status st = VEIL_OK;
    size_t asked = 0;
    for (size_t h = 0; h < q->nholders && st == VEIL_OK; h++) {
        size_t peer = q->holder_peer[h];
        if (peer == q->npeers - 1 || peer == k->self)
            continue;
        qbatch none;
        memset(&none, 0, sizeof none);
        st = q_send_batch(x, k->conn[peer], QPURPOSE_DECRYPT, &none, k->seal_key, err);
        if (st == VEIL_OK)
            st = q_send_msg(k->conn[peer], QMSG_DECRYPT, &req.base, err);
        asked++;
    }
    free(list);
    if (st == VEIL_OK)
        q_log(x, "%zu released ciphertexts sent to %zu share holder%s for partial decryption", n,
              asked, asked == 1 ? "" : "s");
    for (size_t h = 0; h < q->nholders && st == VEIL_OK; h++) {
        size_t peer = q->holder_peer[h];
        if (peer == q->npeers - 1)
            continue;
        Veil__QuerySealedPartials *out = &sp[*nsp];
        veil__query_sealed_partials__init(out);
        if (peer == k->self) {
            size_t len = 0;
            st = q_thr_partials(x, cts, n, k->seal_key, &out->sealed.data, &len, err);
            out->sealed.len = len;
            out->holder = strdup(q->peers[peer].id);
        } else {
            ProtobufCMessage *m = NULL;
            st = q_recv_msg(x, k->conn[peer], QMSG_PARTIALS,
                            &veil__query_sealed_partials__descriptor, &m, err);
            if (st == VEIL_OK) {
                const Veil__QuerySealedPartials *r = (const Veil__QuerySealedPartials *)m;
                if (strcmp(r->holder, q->peers[peer].id) != 0)
                    st = veil_err_set(err, VEIL_ERR_INPUT,
                                      "%s sent partial decryptions in the name of %.64s",
                                      q->peers[peer].id, r->holder);
                else if ((out->sealed.data = malloc(r->sealed.len + 1)) != NULL) {
                    memcpy(out->sealed.data, r->sealed.data, r->sealed.len);
                    out->sealed.len = r->sealed.len;
                }
                out->holder = strdup(q->peers[peer].id);
                protobuf_c_message_free_unpacked(m, NULL);
            }
        }
        if (st == VEIL_OK && (out->holder == NULL || out->sealed.data == NULL))
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        if (out->holder != NULL || out->sealed.data != NULL)
            (*nsp)++;
    }
    return st;
}

static veil_status send_result(qctx *x, comb *k, qagg *g, veil_conn *analyst, veil_err *err)
{
    const veil_query *q = x->q;
    size_t ncells = q->grouped ? g->ncells : 0;
    size_t nrel = 0;
    for (size_t c = 0; c < ncells; c++)
        nrel += !g->suppressed[c];
    Veil__QueryResult res = VEIL__QUERY_RESULT__INIT;
    Veil__QueryDeptInfo *info = calloc(g->nvd + 1, sizeof *info);
    Veil__QueryDeptInfo **infop = calloc(g->nvd + 1, sizeof *infop);
    Veil__QueryCell *cells = calloc(ncells + 1, sizeof *cells);
    Veil__QueryCell **cellp = calloc(ncells + 1, sizeof *cellp);
    size_t nct = (nrel + 1) * g->per;
    ProtobufCBinaryData *cts = calloc(nct + 1, sizeof *cts);
    uint8_t *buf = malloc((nct + 1) * x->ctlen);
    veil_status st = VEIL_OK;
    if (info == NULL || infop == NULL || cells == NULL || cellp == NULL || cts == NULL ||
        buf == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for the result");
    size_t used = 0;
    for (size_t i = 0; i < g->nvd && st == VEIL_OK; i++) {
        veil__query_dept_info__init(&info[i]);
        info[i].id = (char *)q->depts[g->vd[i]].id;
        info[i].rows = k->sets[g->vd[i]].count;
        infop[i] = &info[i];
    }
    for (size_t c = 0; c < ncells && st == VEIL_OK; c++) {
        int rel = !g->suppressed[c];
        fill_cell(x, g, c, k->rec.labels[c], rel, &cells[c], buf + used * x->ctlen, cts + used);
        cellp[c] = &cells[c];
        used += rel ? g->per : 0;
    }
    Veil__QueryCell total;
    if (st == VEIL_OK) {
        fill_cell(x, g, g->ncells, "", !g->total_suppressed, &total, buf + used * x->ctlen,
                  cts + used);
        res.n_depts = g->nvd;
        res.depts = infop;
        res.n_cells = ncells;
        res.cells = cellp;
        res.total = &total;
        used += total.released ? g->per : 0;
    }
    Veil__QuerySealedPartials *sp = NULL, **spp = NULL;
    size_t nsp = 0;
    if (st == VEIL_OK && q->threshold) {
        sp = calloc(q->nholders + 1, sizeof *sp);
        spp = calloc(q->nholders + 1, sizeof *spp);
        if (sp == NULL || spp == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        if (st == VEIL_OK && used > 0)
            st = threshold_round(x, k, buf, used, sp, &nsp, err);
        for (size_t i = 0; i < nsp; i++)
            spp[i] = &sp[i];
        res.n_partials = nsp;
        res.partials = spp;
    }
    if (st == VEIL_OK) {
        q_log(x, "releasing %zu of %zu cells%s to %s", nrel, ncells,
              g->total_suppressed ? " (the total is suppressed)" : " and the total", q->analyst_id);
        st = q_send_msg(analyst, QMSG_RESULT, &res.base, err);
    }
    for (size_t i = 0; i < nsp; i++) {
        free(sp[i].holder);
        free(sp[i].sealed.data);
    }
    free(sp);
    free(spp);
    free(info);
    free(infop);
    free(cells);
    free(cellp);
    free(cts);
    free(buf);
    return st;
}

static veil_status run(qctx *x, comb *k, veil_query_stats *stats, veil_err *err)
{
    const veil_query *q = x->q;
    size_t C = q->combiner;
    veil_status st = q_load_records(x, C, &k->rec, err);
    if (st != VEIL_OK)
        return st;
    if (stats != NULL) {
        stats->rows = k->rec.n;
        stats->clipped = k->rec.clipped;
    }
    q_log(x, "%s: %zu rows from %s%s", q->depts[C].id, k->rec.n, x->p->input,
          k->rec.clipped > 0 ? " (some values clipped to the declared bounds)" : "");
    st = q_open_net(x, err);
    if (st == VEIL_OK)
        st = gather(x, k, err);
    if (st == VEIL_OK)
        st = q_check_budget(x, C, err);
    for (size_t i = 0; i < q->npeers && st == VEIL_OK; i++)
        if (k->conn[i] != NULL)
            st = q_send_status(k->conn[i], 1, NULL, err);
    if (st != VEIL_OK)
        return st;
    q_log(x, "every party is here; blinding its own %zu resident IDs", k->rec.n);
    veil_psi_key_new(&k->key);
    if (q->grouped)
        veil_psi_eg_keygen(&k->eg);
    st = q_build_set(x, C, &k->rec, &k->key, q->grouped ? k->eg.y : NULL, &k->sets[C], err);
    if (st == VEIL_OK)
        st = dept_ncts(x, C, k->rec.n, &k->ncts[C], err);
    /* The combiner's own set first: shuffled and blinded by every other
     * department, so the others' sets can be matched as they stream in. */
    if (st == VEIL_OK)
        st = shuffle_own(x, k, err);
    if (st == VEIL_OK)
        st = sort_set(q->depts[C].id, &k->sets[C], &k->own_sorted, err);
    for (size_t d = 0; d < q->ndepts && st == VEIL_OK; d++)
        if (d != C) {
            st = recv_set(x, k, d, err);
            if (st != VEIL_OK)
                st = veil_err_prefix(err, "%s's set", q->depts[d].id);
        }
    qagg g;
    memset(&g, 0, sizeof g);
    if (st == VEIL_OK)
        st = agg_init(x, k, &g, err);
    if (st == VEIL_OK)
        st = match(x, k, &g, err);
    if (st == VEIL_OK)
        st = finish_cells(x, k, &g, err);
    veil_conn *analyst = k->conn[q->npeers - 1];
    /* The combiner's own data (its labels and values) leaves in the
     * result: its budget is spent just before. */
    if (st == VEIL_OK)
        st = q_spend_budget(x, C, err);
    if (st == VEIL_OK)
        st = send_result(x, k, &g, analyst, err);
    agg_free(&g);
    if (st == VEIL_OK) {
        st = q_recv_status(x, analyst, err);
        if (st == VEIL_OK)
            q_log(x, "%s has the result", q->analyst_id);
    }
    for (size_t i = 0; i < q->ndepts && st == VEIL_OK; i++)
        if (k->conn[i] != NULL)
            st = q_send_status(k->conn[i], 1, NULL, err);
    return st;
}

veil_status q_combiner(qctx *x, veil_query_stats *stats, veil_err *err)
{
    const veil_query *q = x->q;
    comb k;
    memset(&k, 0, sizeof k);
    k.self = q->combiner; /* departments come first in the roster */
    k.conn = calloc(q->npeers, sizeof *k.conn);
    k.sets = calloc(q->ndepts, sizeof *k.sets);
    k.ncts = calloc(q->ndepts, sizeof *k.ncts);
    k.hit = calloc(q->ndepts, sizeof *k.hit);
    k.store = calloc(q->ndepts, sizeof *k.store);
    veil_status st = VEIL_OK;
    if (k.conn == NULL || k.sets == NULL || k.ncts == NULL || k.hit == NULL || k.store == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK)
        st = run(x, &k, stats, err);
    if (st != VEIL_OK)
        tell_all(&k, x, err->msg);
    if (stats != NULL && x->net != NULL) {
        veil_net_traffic(x->net, &stats->bytes_sent, &stats->bytes_received);
        stats->seconds = q_now() - x->start;
    }
    for (size_t i = 0; k.conn != NULL && i < q->npeers; i++)
        veil_conn_close(k.conn[i]);
    for (size_t d = 0; k.sets != NULL && d < q->ndepts; d++)
        q_batch_free(&k.sets[d]);
    for (size_t d = 0; k.hit != NULL && d < q->ndepts; d++)
        free(k.hit[d]);
    for (size_t d = 0; k.store != NULL && d < q->ndepts; d++)
        free(k.store[d]);
    free(k.hit);
    free(k.store);
    free(k.own_sorted);
    q_records_free(&k.rec);
    veil_psi_key_wipe(&k.key);
    veil_psi_eg_key_wipe(&k.eg);
    free(k.conn);
    free(k.sets);
    free(k.ncts);
    return st;
}
