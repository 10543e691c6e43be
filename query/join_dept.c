/* A department other than the combiner; what every party does to reach
 * the combiner; the budget (query/joinpriv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joinpriv.h"
#include "veil/disclosure.h"
#include "veil/proto/query.pb-c.h"

#define QFRAME_MAX (64u << 20) /* the result: up to 65536 cells of ciphertexts */

veil_status q_open_net(qctx *x, veil_err *err)
{
    x->roster.peers = x->q->peers;
    x->roster.npeers = x->q->npeers;
    veil_net_config cfg = {
        .identity_dir = x->p->identity_dir,
        .self_id = x->p->self_id,
        .session_id = x->q->id,
        .roster = &x->roster,
        .connect_timeout_ms = x->q->connect_timeout * 1000u,
        /* A party may wait for the next message as long as another party
         * computes (blinding 10^7 IDs takes minutes): any single wait is
         * bounded by the query timeout, connecting by the io timeout. */
        .io_timeout_ms =
            (x->q->query_timeout > x->q->io_timeout ? x->q->query_timeout : x->q->io_timeout) *
            1000u,
        .frame_max = QFRAME_MAX,
        .spool_dir = x->p->spool_dir,
    };
    return veil_net_new(&x->net, &cfg, err);
}

static veil_status send_hello(const qctx *x, veil_conn *c, veil_err *err)
{
    Veil__QueryHello h = VEIL__QUERY_HELLO__INIT;
    h.version = QPROTO_VERSION;
    h.query_digest.data = (uint8_t *)x->q->digest;
    h.query_digest.len = sizeof x->q->digest;
    h.key_fingerprint.data = (uint8_t *)veil_paillier_pub_fingerprint(x->pk);
    h.key_fingerprint.len = VEIL_FINGERPRINT_BYTES;
    if (x->has_seal) {
        h.has_seal_key = 1;
        h.seal_key.data = (uint8_t *)x->seal_pk;
        h.seal_key.len = QSEAL_KEY_BYTES;
    }
    return q_send_msg(c, QMSG_HELLO, &h.base, err);
}

static veil_status connect_raw(const qctx *x, veil_conn **out, veil_err *err)
{
    const veil_query_dept *cd = &x->q->depts[x->q->combiner];
    double until = q_now() + x->q->io_timeout;
    if (until > x->deadline)
        until = x->deadline;
    for (;;) {
        veil_status st = veil_net_connect(x->net, cd->id, out, err);
        if (st == VEIL_OK)
            return VEIL_OK;
        if (st != VEIL_ERR_IO || q_now() + 0.25 >= until)
            return x->p->spool_dir != NULL
                       ? veil_err_prefix(err, "combiner %s (spool %s)", cd->id, x->p->spool_dir)
                       : veil_err_prefix(err, "combiner %s (%s:%u)", cd->id, cd->host, cd->port);
        if (q_stopped(x))
            return veil_err_set(err, VEIL_ERR_IO, "interrupted");
        q_sleep_ms(250);
    }
}

veil_status q_connect_combiner(const qctx *x, veil_conn **out, veil_err *err)
{
    veil_status st = connect_raw(x, out, err);
    if (st != VEIL_OK)
        return st;
    st = send_hello(x, *out, err);
    if (st != VEIL_OK) {
        veil_conn_close(*out);
        *out = NULL;
    }
    return st;
}

veil_status q_check_budget(const qctx *x, size_t dept, veil_err *err)
{
    const veil_query *q = x->q;
    const char *id = q->depts[dept].id;
    if (q->epsilon == 0) {
        if (x->p->ledger != NULL)
            q_log(x, "the query adds no noise: the budget ledger %s is not touched", x->p->ledger);
        return VEIL_OK;
    }
    char eps[VEIL_EPS_TEXT_MAX];
    veil_eps_format(eps, q->epsilon);
    if (x->p->ledger == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s spends epsilon %s: department %s needs "
                            "its dataset's budget ledger (--ledger)",
                            q->id, eps, id);
    uint64_t left = 0;
    veil_status st = veil_ledger_check(x->p->ledger, q->epsilon, &left, err);
    if (st != VEIL_OK)
        return st;
    char lt[VEIL_EPS_TEXT_MAX];
    veil_eps_format(lt, left);
    q_log(x, "epsilon %s is available in %s (%s left); it is spent when %s's data is about to "
             "leave",
          eps, x->p->ledger, lt, id);
    return VEIL_OK;
}

veil_status q_spend_budget(const qctx *x, size_t dept, veil_err *err)
{
    const veil_query *q = x->q;
    const char *id = q->depts[dept].id;
    if (q->epsilon == 0)
        return VEIL_OK;
    char eps[VEIL_EPS_TEXT_MAX];
    veil_eps_format(eps, q->epsilon);
    if (x->p->ledger == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s spends epsilon %s: department %s needs "
                            "its dataset's budget ledger (--ledger)",
                            q->id, eps, id);
    uint64_t left = 0;
    veil_status st = veil_ledger_spend(x->p->ledger, q->id, q->digest, q->epsilon, &left, err);
    if (st != VEIL_OK)
        return st;
    char lt[VEIL_EPS_TEXT_MAX];
    veil_eps_format(lt, left);
    q_log(x, "spent epsilon %s from %s; %s left", eps, x->p->ledger, lt);
    return VEIL_OK;
}

static void fill_stats(const qctx *x, veil_query_stats *stats)
{
    if (stats == NULL)
        return;
    if (x->net != NULL)
        veil_net_traffic(x->net, &stats->bytes_sent, &stats->bytes_received);
    stats->seconds = q_now() - x->start;
}

/* Streams the department's set to the combiner chunk by chunk: hashed,
 * blinded, encrypted and sent a chunk at a time, so memory stays bounded
 * by the chunk whatever the number of rows. */
static veil_status send_set(qctx *x, veil_conn *c, size_t dept, const qrecords *r,
                            const veil_psi_key *key, veil_err *err)
{
    qsetgen g;
    veil_status st = q_setgen_init(&g, x, dept, r, key, NULL, err);
    if (st != VEIL_OK)
        return st;
    size_t per = q_chunk_elems((uint32_t)g.l.ncts, 0, x->ctlen);
    qbatch b;
    memset(&b, 0, sizeof b);
    st = q_batch_alloc(&b, per < r->n ? per : r->n, (uint32_t)g.l.ncts, 0, x->ctlen, err);
    if (st == VEIL_OK) {
        q_log(x, "sending %zu blinded IDs%s to the combiner", r->n,
              g.l.ncts > 0 ? " with their encrypted values" : "");
        st = q_send_header(c, QPURPOSE_SET, r->n, (uint32_t)g.l.ncts, 0, NULL, err);
    }
    double last = q_now();
    for (size_t off = 0; st == VEIL_OK && off < r->n; off += per) {
        size_t n = r->n - off < per ? r->n - off : per;
        if (q_stopped(x))
            st = veil_err_set(err, VEIL_ERR_IO, "interrupted");
        if (st == VEIL_OK)
            st = q_setgen_fill(&g, off, n, &b, err);
        if (st == VEIL_OK)
            st = q_send_chunk(x, c, off, &b, 0, n, err);
        if (st == VEIL_OK && off + n < r->n && q_now() - last >= 5.0) {
            q_log(x, "sent %zu of %zu elements", off + n, r->n);
            last = q_now();
        }
    }
    if (st == VEIL_OK)
        st = q_send_done(c, r->n, err);
    q_batch_free(&b);
    q_setgen_free(&g);
    return st;
}

/* Answers the combiner's requests until it reports the query complete. */
static veil_status serve_loop(qctx *x, veil_conn *c, size_t dept, const qrecords *r,
                              const veil_psi_key *key, veil_err *err)
{
    int sent = 0, decrypted = 0;
    for (;;) {
        if (q_stopped(x))
            return veil_err_set(err, VEIL_ERR_IO, "interrupted");
        qbatch b;
        uint32_t purpose = 0;
        uint8_t tag_key[VEIL_PSI_POINT_BYTES];
        int done = 0;
        veil_status st = q_recv_batch(x, c, 0, &b, &purpose, tag_key, &done, err);
        if (st != VEIL_OK)
            return st;
        if (done) {
            q_log(x, "the combiner reports the query complete");
            return VEIL_OK;
        }
        if (purpose == QPURPOSE_SEND_SET) {
            q_batch_free(&b);
            if (sent)
                return veil_err_set(err, VEIL_ERR_INPUT, "%s asked for the set a second time",
                                    veil_conn_peer(c));
            sent = 1;
            /* The department's data leaves now: its budget is spent now,
             * after every party checked its own. */
            st = q_spend_budget(x, dept, err);
            if (st == VEIL_OK)
                st = send_set(x, c, dept, r, key, err);
            if (st != VEIL_OK)
                return st;
            continue;
        }
        if (purpose == QPURPOSE_DECRYPT) {
            q_batch_free(&b);
            if (decrypted)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "%s asked for partial decryptions a second time",
                                    veil_conn_peer(c));
            decrypted = 1;
            st = q_thr_serve(x, c, tag_key, err);
            if (st != VEIL_OK)
                return st;
            continue;
        }
        int shuffle = purpose == QPURPOSE_SHUFFLE;
        if (!shuffle && (b.has_tags || b.cts_per > 0)) {
            q_batch_free(&b);
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: a blinding request carries tags or "
                                "ciphertexts",
                                veil_conn_peer(c));
        }
        if (shuffle || b.count > QCHUNK_MAX_ELEMS)
            q_log(x, "%s %zu elements for the combiner",
                  shuffle ? "blinding and shuffling" : "blinding", b.count);
        st = q_serve(x, key, &b, shuffle, tag_key, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "%s's %s request", veil_conn_peer(c),
                                 shuffle ? "shuffle" : "blinding");
        if (st == VEIL_OK)
            st = q_send_batch(x, c, QPURPOSE_ANSWER, &b, NULL, err);
        q_batch_free(&b);
        if (st != VEIL_OK)
            return st;
    }
}

veil_status q_department(qctx *x, size_t dept, veil_query_stats *stats, veil_err *err)
{
    const veil_query_dept *d = &x->q->depts[dept];
    qrecords r;
    veil_status st = q_load_records(x, dept, &r, err);
    if (st != VEIL_OK)
        return st;
    if (stats != NULL) {
        stats->rows = r.n;
        stats->clipped = r.clipped;
    }
    q_log(x, "%s: %zu rows from %s%s", d->id, r.n, x->p->input,
          r.clipped > 0 ? " (some values clipped to the declared bounds)" : "");
    veil_conn *c = NULL;
    st = q_open_net(x, err);
    if (st == VEIL_OK) {
        veil_status bs = q_check_budget(x, dept, err);
        if (bs != VEIL_OK) {
            /* Tell the combiner why, so it stops everyone with the reason. */
            veil_err ignored;
            if (connect_raw(x, &c, &ignored) == VEIL_OK)
                q_tell_stop(c, err->msg);
            veil_conn_close(c);
            q_records_free(&r);
            fill_stats(x, stats);
            return bs;
        }
    }
    if (st == VEIL_OK)
        st = q_connect_combiner(x, &c, err);
    if (st == VEIL_OK) {
        q_log(x, "connected to the combiner %s; waiting for every party",
              x->q->depts[x->q->combiner].id);
        st = q_recv_status(x, c, err);
    }
    veil_psi_key key;
    veil_psi_key_new(&key);
    if (st == VEIL_OK)
        st = serve_loop(x, c, dept, &r, &key, err);
    q_records_free(&r);
    veil_psi_key_wipe(&key);
    if (st != VEIL_OK && c != NULL)
        q_tell_stop(c, err->msg);
    fill_stats(x, stats);
    veil_conn_close(c);
    return st;
}
