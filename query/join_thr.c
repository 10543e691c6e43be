/* Decryption of the released cells by the share holders of a threshold key
 * (query/joinpriv.h; docs/query.md, "Threshold key").
 *
 * Each holder computes, with its share only, a partial decryption of every
 * released ciphertext together with its proof (veil/threshold.h), packs
 * them as a QueryPartials and seals the packet to the analyst's fresh
 * X25519 key (crypto_box_seal): the combiner relays it but cannot open it,
 * so it never holds t partials, and so never the released values it
 * could otherwise strip of their noise. The analyst opens each packet,
 * checks every proof and combines the first t holders that check. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "joinpriv.h"

static void parts_free(veil_threshold_partial *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++)
        veil_threshold_partial_clear(&p[i]);
    free(p);
}

static veil_threshold_partial *parts_new(size_t n)
{
    veil_threshold_partial *p = malloc((n > 0 ? n : 1) * sizeof *p);
    for (size_t i = 0; p != NULL && i < n; i++)
        veil_threshold_partial_init(&p[i]);
    return p;
}

/* v as unsigned big-endian bytes into b (at least one byte). */
static int int_out(ProtobufCBinaryData *b, const mpz_t v)
{
    size_t n = mpz_sgn(v) == 0 ? 1 : (mpz_sizeinbase(v, 2) + 7) / 8;
    b->data = calloc(n, 1);
    if (b->data == NULL)
        return -1;
    size_t w = 0;
    if (mpz_sgn(v) != 0)
        mpz_export(b->data, &w, 1, 1, 1, 0, v);
    b->len = n;
    return 0;
}

/* Big-endian bytes into v; at most max bytes. */
static int int_in(mpz_t v, const ProtobufCBinaryData *b, size_t max)
{
    if (b->len == 0 || b->len > max)
        return -1;
    mpz_import(v, b->len, 1, 1, 1, 0, b->data);
    return 0;
}

veil_status q_thr_partials(const qctx *x, const uint8_t *cts, size_t n, const uint8_t *seal_pk,
                           uint8_t **out, size_t *outlen, veil_err *err)
{
    *out = NULL;
    *outlen = 0;
    const veil_threshold_share *share = x->p->share;
    if (share == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s holds no share of the threshold key",
                            x->p->self_id);
    mpz_t *c = malloc((n > 0 ? n : 1) * sizeof *c);
    veil_threshold_partial *p = parts_new(n);
    ProtobufCBinaryData *f = calloc(3 * n + 1, sizeof *f);
    veil_status st = VEIL_OK;
    if (c == NULL || p == NULL || f == NULL) {
        free(c);
        parts_free(p, n);
        free(f);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for %zu partial decryptions", n);
    }
    for (size_t i = 0; i < n; i++) {
        mpz_init(c[i]);
        veil_qpack_ct_import(c[i], cts + i * x->ctlen, x->ctlen);
    }
    st = veil_threshold_partial_decrypt_batch(p, share, (const mpz_t *)c, n, x->threads, err);
    for (size_t i = 0; i < n && st == VEIL_OK; i++)
        if (int_out(&f[i], p[i].ci) != 0 || int_out(&f[n + i], p[i].e) != 0 ||
            int_out(&f[2 * n + i], p[i].z) != 0)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    uint8_t *plain = NULL, *sealed = NULL;
    size_t len = 0;
    if (st == VEIL_OK) {
        Veil__QueryPartials m = VEIL__QUERY_PARTIALS__INIT;
        m.index = veil_threshold_share_index(share);
        m.n_ci = m.n_e = m.n_z = n;
        m.ci = f;
        m.e = f + n;
        m.z = f + 2 * n;
        len = veil__query_partials__get_packed_size(&m);
        plain = malloc(len > 0 ? len : 1);
        sealed = malloc(len + crypto_box_SEALBYTES);
        if (plain == NULL || sealed == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            veil__query_partials__pack(&m, plain);
    }
    if (st == VEIL_OK && crypto_box_seal(sealed, plain, len, seal_pk) != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "the analyst's seal key is not a usable X25519 key");
    if (plain != NULL)
        sodium_memzero(plain, len);
    free(plain);
    for (size_t i = 0; i < 3 * n; i++)
        free(f[i].data);
    free(f);
    parts_free(p, n);
    for (size_t i = 0; i < n; i++)
        mpz_clear(c[i]);
    free(c);
    if (st != VEIL_OK) {
        free(sealed);
        return st;
    }
    *out = sealed;
    *outlen = len + crypto_box_SEALBYTES;
    return VEIL_OK;
}

veil_status q_thr_serve(const qctx *x, veil_conn *c, const uint8_t *seal_pk, veil_err *err)
{
    const char *peer = veil_conn_peer(c);
    if (x->p->share == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s asks %s for a partial decryption, but %s holds no share "
                            "(veil query run --share)",
                            peer, x->p->self_id, x->p->self_id);
    ProtobufCMessage *m = NULL;
    veil_status st = q_recv_msg(x, c, QMSG_DECRYPT, &veil__query_decrypt__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    const Veil__QueryDecrypt *d = (const Veil__QueryDecrypt *)m;
    uint8_t *cts = NULL;
    if (d->n_cts == 0 || d->n_cts > QDECRYPT_MAX)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: a decryption request of %zu ciphertexts (1 to %llu allowed)", peer,
                          d->n_cts, (unsigned long long)QDECRYPT_MAX);
    if (st == VEIL_OK && (cts = malloc(d->n_cts * x->ctlen)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n_cts && st == VEIL_OK; i++) {
        if (d->cts[i].len != x->ctlen)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s: ciphertext %zu of the decryption request has %zu bytes, not %zu",
                              peer, i, d->cts[i].len, x->ctlen);
        else
            memcpy(cts + i * x->ctlen, d->cts[i].data, x->ctlen);
    }
    size_t n = d->n_cts;
    protobuf_c_message_free_unpacked(m, NULL);
    uint8_t *sealed = NULL;
    size_t slen = 0;
    if (st == VEIL_OK) {
        q_log(x, "partially decrypting %zu released ciphertexts for %s (share %u), sealed to it", n,
              x->q->analyst_id, veil_threshold_share_index(x->p->share));
        st = q_thr_partials(x, cts, n, seal_pk, &sealed, &slen, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "%s's decryption request", peer);
    }
    free(cts);
    if (st == VEIL_OK) {
        Veil__QuerySealedPartials sp = VEIL__QUERY_SEALED_PARTIALS__INIT;
        sp.holder = (char *)x->p->self_id;
        sp.sealed.data = sealed;
        sp.sealed.len = slen;
        st = q_send_msg(c, QMSG_PARTIALS, &sp.base, err);
    }
    free(sealed);
    return st;
}

/* Opens and checks one holder's packet: *out = its n partials. 0 when they
 * check; otherwise the reason is in err and nothing is kept. */
static veil_status open_holder(const qctx *x, const mpz_t *cts, size_t n,
                               const Veil__QuerySealedPartials *sp, unsigned index,
                               veil_threshold_partial **out, veil_err *err)
{
    *out = NULL;
    if (sp->sealed.len < crypto_box_SEALBYTES)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "its sealed packet is %zu bytes, too short",
                            sp->sealed.len);
    size_t len = sp->sealed.len - crypto_box_SEALBYTES;
    uint8_t *plain = malloc(len > 0 ? len : 1);
    if (plain == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (crypto_box_seal_open(plain, sp->sealed.data, sp->sealed.len, x->seal_pk, x->seal_sk) != 0) {
        free(plain);
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "its packet does not open with this query's seal key (altered, or "
                            "sealed to another key)");
    }
    Veil__QueryPartials *m = veil__query_partials__unpack(NULL, len, plain);
    sodium_memzero(plain, len);
    free(plain);
    if (m == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "its partial decryptions are malformed");
    veil_status st = VEIL_OK;
    veil_threshold_partial *p = NULL;
    size_t cap = 2 * x->ctlen + 256; /* z is |n^2| + |Delta| + 512 bits */
    if (m->index != index)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "its partial decryptions are made with share %u; the query gives it "
                          "share %u",
                          m->index, index);
    else if (m->n_ci != n || m->n_e != n || m->n_z != n)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "it gives %zu partial decryptions for %zu released ciphertexts", m->n_ci,
                          n);
    else if ((p = parts_new(n)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        p[i].index = index;
        if (int_in(p[i].ci, &m->ci[i], x->ctlen) != 0 || int_in(p[i].e, &m->e[i], 32) != 0 ||
            int_in(p[i].z, &m->z[i], cap) != 0)
            st = veil_err_set(err, VEIL_ERR_INPUT, "partial decryption %zu has a field of bad size",
                              i);
    }
    veil__query_partials__free_unpacked(m, NULL);
    size_t bad = n;
    if (st == VEIL_OK)
        st = veil_threshold_partial_verify_batch(&bad, x->p->tkey, cts, p, n, x->threads, err);
    if (st == VEIL_OK && bad < n)
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "its partial decryption of released ciphertext %zu fails its proof", bad);
    if (st != VEIL_OK) {
        parts_free(p, n);
        return st;
    }
    *out = p;
    return VEIL_OK;
}

veil_status q_thr_combine(const qctx *x, const mpz_t *cts, size_t n,
                          Veil__QuerySealedPartials *const *sealed, size_t nsealed, mpz_t *m,
                          veil_err *err)
{
    const veil_query *q = x->q;
    const veil_threshold_key *k = x->p->tkey;
    unsigned t = veil_threshold_key_threshold(k);
    veil_threshold_partial **good = calloc(q->nholders + 1, sizeof *good);
    unsigned char *seen = calloc(q->nholders + 1, 1);
    veil_threshold_partial *pick = malloc((t > 0 ? t : 1) * sizeof *pick);
    size_t ngood = 0;
    veil_status st = VEIL_OK;
    if (good == NULL || seen == NULL || pick == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    /* The analyst's own share, if it holds one, counts first. */
    if (st == VEIL_OK && x->p->share != NULL) {
        good[0] = parts_new(n);
        if (good[0] == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            st =
                veil_threshold_partial_decrypt_batch(good[0], x->p->share, cts, n, x->threads, err);
        if (st == VEIL_OK)
            ngood = 1;
        long own = veil_query_find_holder(q, q->npeers - 1);
        if (own >= 0)
            seen[own] = 1;
    }
    for (size_t i = 0; i < nsealed && st == VEIL_OK && ngood < t; i++) {
        const char *id = sealed[i]->holder;
        long pos = -1;
        for (size_t j = 0; j < q->npeers && pos < 0; j++)
            if (strcmp(q->peers[j].id, id) == 0)
                pos = veil_query_find_holder(q, j);
        if (pos < 0 || seen[pos]) {
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "the result carries partial decryptions from %.64s, %s", id,
                              pos < 0 ? "which holds no share in this query" : "a second time");
            break;
        }
        seen[pos] = 1;
        veil_err herr;
        veil_err_clear(&herr);
        veil_threshold_partial *p = NULL;
        if (open_holder(x, cts, n, sealed[i], q->holder_index[pos], &p, &herr) != VEIL_OK) {
            q_log(x, "share holder %s skipped: %s", id, herr.msg);
            continue;
        }
        good[ngood++] = p;
    }
    if (st == VEIL_OK && ngood < t)
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "only %zu share holder%s gave partial decryptions that check; the "
                          "threshold key needs %u",
                          ngood, ngood == 1 ? "" : "s", t);
    for (size_t j = 0; j < n && st == VEIL_OK; j++) {
        for (unsigned h = 0; h < t; h++)
            memcpy(&pick[h], &good[h][j], sizeof pick[h]); /* read-only views */
        st = veil_threshold_combine(m[j], k, pick, t, err);
        if (st != VEIL_OK)
            st = veil_err_prefix(err, "released ciphertext %zu", j);
    }
    if (st == VEIL_OK)
        q_log(x, "combined the partial decryptions of %u share holders", t);
    for (size_t h = 0; good != NULL && h < ngood; h++)
        parts_free(good[h], n);
    free(good);
    free(seen);
    free(pick);
    return st;
}
