/* Messages and batches of the query protocol (query/joinpriv.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "joinpriv.h"
#include "veil/proto/query.pb-c.h"

double q_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void q_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void q_log(const qctx *x, const char *fmt, ...)
{
    if (x->h == NULL || x->h->log == NULL)
        return;
    char line[VEIL_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    x->h->log(x->h->ctx, line);
}

int q_stopped(const qctx *x)
{
    return x->h != NULL && x->h->stop != NULL && x->h->stop(x->h->ctx);
}

const char *q_msg_name(uint32_t type)
{
    switch (type) {
    case QMSG_HELLO: return "hello";
    case QMSG_STATUS: return "status";
    case QMSG_BATCH: return "batch header";
    case QMSG_CHUNK: return "chunk";
    case QMSG_DONE: return "done";
    case QMSG_RESULT: return "result";
    case QMSG_DECRYPT: return "decryption request";
    case QMSG_PARTIALS: return "partial decryptions";
    default: return "unknown message";
    }
}

veil_status q_send_msg(veil_conn *c, uint32_t type, const ProtobufCMessage *m, veil_err *err)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    protobuf_c_message_pack(m, buf);
    veil_status st = veil_conn_send(c, type, buf, len, err);
    free(buf);
    return st;
}

veil_status q_send_status(veil_conn *c, int ok, const char *text, veil_err *err)
{
    Veil__QueryStatus s = VEIL__QUERY_STATUS__INIT;
    char buf[QSTATUS_TEXT_MAX + 1];
    s.ok = ok ? 1 : 0;
    if (text != NULL) {
        snprintf(buf, sizeof buf, "%s", text);
        s.error = buf;
    }
    return q_send_msg(c, QMSG_STATUS, &s.base, err);
}

void q_tell_stop(veil_conn *c, const char *text)
{
    if (c == NULL)
        return;
    veil_err ignored;
    veil_err_clear(&ignored);
    if (q_send_status(c, 0, text, &ignored) != VEIL_OK)
        return; /* the peer is gone: nothing more to tell it */
}

/* Printable copy of text a peer sent. */
static void clean_text(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (src[i] >= ' ' && src[i] < 0x7f) ? src[i] : '?';
    dst[i] = '\0';
}

static veil_status refusal(veil_conn *c, const uint8_t *buf, size_t len, veil_err *err)
{
    Veil__QueryStatus *s = veil__query_status__unpack(NULL, len, buf);
    if (s == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: malformed status message", veil_conn_peer(c));
    char text[QSTATUS_TEXT_MAX + 1];
    clean_text(text, sizeof text, s->error != NULL ? s->error : "no reason given");
    int ok = s->ok;
    veil__query_status__free_unpacked(s, NULL);
    if (ok)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a status where data was expected",
                            veil_conn_peer(c));
    return veil_err_set(err, VEIL_ERR_USAGE, "%s stopped the query: %s", veil_conn_peer(c), text);
}

veil_status q_recv_msg(const qctx *x, veil_conn *c, uint32_t want,
                       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                       veil_err *err)
{
    uint32_t type;
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    veil_status st = veil_conn_recv(c, &type, &buf, &len, err);
    if (st != VEIL_OK)
        return st;
    if (x->h != NULL && x->h->message != NULL)
        x->h->message(x->h->ctx, veil_conn_peer(c), type, buf, len);
    if (type == QMSG_STATUS && want != QMSG_STATUS) {
        st = refusal(c, buf, len, err);
        free(buf);
        return st;
    }
    if (type != want) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a %s (type %u) where a %s was expected",
                            veil_conn_peer(c), q_msg_name(type), type, q_msg_name(want));
    }
    *out = protobuf_c_message_unpack(desc, NULL, len, buf);
    free(buf);
    if (*out == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: malformed %s message", veil_conn_peer(c),
                            q_msg_name(want));
    return VEIL_OK;
}

veil_status q_recv_status(const qctx *x, veil_conn *c, veil_err *err)
{
    ProtobufCMessage *m;
    veil_status st = q_recv_msg(x, c, QMSG_STATUS, &veil__query_status__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    Veil__QueryStatus *s = (Veil__QueryStatus *)m;
    if (!s->ok) {
        char text[QSTATUS_TEXT_MAX + 1];
        clean_text(text, sizeof text, s->error != NULL ? s->error : "no reason given");
        st = veil_err_set(err, VEIL_ERR_USAGE, "%s stopped the query: %s", veil_conn_peer(c), text);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

/* ---- batches ---- */

static size_t elem_bytes(uint32_t cts_per, int has_tags, size_t ctlen)
{
    return VEIL_PSI_POINT_BYTES + (has_tags ? QEG_CT_BYTES : 0) + (size_t)cts_per * ctlen;
}

veil_status q_batch_alloc(qbatch *b, size_t count, uint32_t cts_per, int has_tags, size_t ctlen,
                          veil_err *err)
{
    memset(b, 0, sizeof *b);
    if (count > QSET_MAX_ELEMS || cts_per > VEIL_QUERY_VALUES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "a batch of %zu elements with %u ciphertexts each "
                            "is over the limit",
                            count, cts_per);
    b->count = count;
    b->cts_per = cts_per;
    b->has_tags = has_tags;
    size_t n = count > 0 ? count : 1;
    b->points = malloc(n * VEIL_PSI_POINT_BYTES);
    if (has_tags)
        b->tags = malloc(n * QEG_CT_BYTES);
    if (cts_per > 0)
        b->cts = malloc(n * cts_per * ctlen);
    if (b->points == NULL || (has_tags && b->tags == NULL) || (cts_per > 0 && b->cts == NULL)) {
        q_batch_free(b);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for a batch of %zu elements",
                            count);
    }
    return VEIL_OK;
}

void q_batch_free(qbatch *b)
{
    if (b == NULL)
        return;
    free(b->points);
    free(b->tags);
    free(b->cts);
    memset(b, 0, sizeof *b);
}

size_t q_chunk_elems(uint32_t cts_per, int has_tags, size_t ctlen)
{
    size_t per = elem_bytes(cts_per, has_tags, ctlen);
    size_t n = QCHUNK_MAX_BYTES / per;
    if (n > QCHUNK_MAX_ELEMS)
        n = QCHUNK_MAX_ELEMS;
    return n > 0 ? n : 1;
}

veil_status q_send_header(veil_conn *c, uint32_t purpose, size_t count, uint32_t cts_per,
                          int has_tags, const uint8_t *tag_key, veil_err *err)
{
    Veil__QueryBatch hdr = VEIL__QUERY_BATCH__INIT;
    hdr.purpose = purpose;
    hdr.count = count;
    hdr.cts_per_element = cts_per;
    hdr.tags = has_tags ? 1 : 0;
    if (tag_key != NULL) {
        hdr.has_tag_key = 1;
        hdr.tag_key.data = (uint8_t *)tag_key;
        hdr.tag_key.len = VEIL_PSI_POINT_BYTES;
    }
    return q_send_msg(c, QMSG_BATCH, &hdr.base, err);
}

veil_status q_send_chunk(const qctx *x, veil_conn *c, size_t offset, const qbatch *b, size_t at,
                         size_t n, veil_err *err)
{
    Veil__QueryChunk ch = VEIL__QUERY_CHUNK__INIT;
    ch.offset = offset;
    ch.points.data = b->points + at * VEIL_PSI_POINT_BYTES;
    ch.points.len = n * VEIL_PSI_POINT_BYTES;
    if (b->has_tags) {
        ch.has_tags = 1;
        ch.tags.data = b->tags + at * QEG_CT_BYTES;
        ch.tags.len = n * QEG_CT_BYTES;
    }
    if (b->cts_per > 0) {
        size_t w = (size_t)b->cts_per * x->ctlen;
        ch.has_cts = 1;
        ch.cts.data = b->cts + at * w;
        ch.cts.len = n * w;
    }
    return q_send_msg(c, QMSG_CHUNK, &ch.base, err);
}

veil_status q_send_done(veil_conn *c, size_t count, veil_err *err)
{
    Veil__QueryDone d = VEIL__QUERY_DONE__INIT;
    d.elements = count;
    return q_send_msg(c, QMSG_DONE, &d.base, err);
}

veil_status q_send_batch(const qctx *x, veil_conn *c, uint32_t purpose, const qbatch *b,
                         const uint8_t *tag_key, veil_err *err)
{
    veil_status st = q_send_header(c, purpose, b->count, b->cts_per, b->has_tags, tag_key, err);
    size_t per = q_chunk_elems(b->cts_per, b->has_tags, x->ctlen);
    for (size_t off = 0; st == VEIL_OK && off < b->count; off += per) {
        size_t n = b->count - off < per ? b->count - off : per;
        st = q_send_chunk(x, c, off, b, off, n, err);
    }
    if (st == VEIL_OK)
        st = q_send_done(c, b->count, err);
    return st;
}

static const char *purpose_name(uint32_t p)
{
    switch (p) {
    case QPURPOSE_SET: return "set";
    case QPURPOSE_BLIND: return "blinding request";
    case QPURPOSE_SHUFFLE: return "shuffle request";
    case QPURPOSE_ANSWER: return "answer";
    case QPURPOSE_SEND_SET: return "set request";
    case QPURPOSE_DECRYPT: return "decryption request";
    default: return "unknown batch";
    }
}

veil_status q_recv_chunk(const qctx *x, veil_conn *c, const qhdr *h, size_t next, qbatch *dst,
                         size_t at, size_t *got, veil_err *err)
{
    const char *peer = veil_conn_peer(c);
    size_t w = (size_t)h->cts_per * x->ctlen;
    *got = 0;
    if (q_stopped(x))
        return veil_err_set(err, VEIL_ERR_IO, "interrupted");
    ProtobufCMessage *m;
    veil_status st = q_recv_msg(x, c, QMSG_CHUNK, &veil__query_chunk__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    Veil__QueryChunk *ch = (Veil__QueryChunk *)m;
    size_t n = ch->points.len / VEIL_PSI_POINT_BYTES;
    if (ch->offset != next)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: chunk at element %llu where %zu was expected",
                          peer, (unsigned long long)ch->offset, next);
    else if (ch->points.len % VEIL_PSI_POINT_BYTES != 0 || n == 0 ||
             n > q_chunk_elems(h->cts_per, h->has_tags, x->ctlen) || n > h->count - next ||
             n > dst->count - at)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: chunk at element %zu: %zu bytes of points do not fit the batch",
                          peer, next, ch->points.len);
    else if (h->has_tags != (ch->has_tags != 0) || (h->has_tags && ch->tags.len != n * QEG_CT_BYTES))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: chunk at element %zu: tags do not match "
                          "its %zu points",
                          peer, next, n);
    else if ((h->cts_per > 0) != (ch->has_cts != 0) || (h->cts_per > 0 && ch->cts.len != n * w))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: chunk at element %zu: ciphertexts do not "
                          "match its %zu points",
                          peer, next, n);
    if (st == VEIL_OK) {
        memcpy(dst->points + at * VEIL_PSI_POINT_BYTES, ch->points.data, ch->points.len);
        if (h->has_tags)
            memcpy(dst->tags + at * QEG_CT_BYTES, ch->tags.data, ch->tags.len);
        if (h->cts_per > 0)
            memcpy(dst->cts + at * w, ch->cts.data, ch->cts.len);
        *got = n;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

veil_status q_recv_done(const qctx *x, veil_conn *c, const qhdr *h, veil_err *err)
{
    ProtobufCMessage *m;
    veil_status st = q_recv_msg(x, c, QMSG_DONE, &veil__query_done__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    if (((Veil__QueryDone *)m)->elements != h->count)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: done says %llu elements but the batch has %zu",
                          veil_conn_peer(c), (unsigned long long)((Veil__QueryDone *)m)->elements,
                          h->count);
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

static veil_status recv_body(const qctx *x, veil_conn *c, const qhdr *h, qbatch *b, veil_err *err)
{
    size_t next = 0;
    while (next < h->count) {
        size_t n;
        veil_status st = q_recv_chunk(x, c, h, next, b, next, &n, err);
        if (st != VEIL_OK)
            return st;
        next += n;
    }
    return q_recv_done(x, c, h, err);
}

veil_status q_recv_header(const qctx *x, veil_conn *c, uint32_t want, qhdr *h, int *status_ok,
                          veil_err *err)
{
    memset(h, 0, sizeof *h);
    uint32_t type;
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_conn_recv(c, &type, &buf, &len, err);
    if (st != VEIL_OK)
        return st;
    if (x->h != NULL && x->h->message != NULL)
        x->h->message(x->h->ctx, veil_conn_peer(c), type, buf, len);
    if (type == QMSG_STATUS) {
        if (status_ok != NULL) {
            Veil__QueryStatus *s = veil__query_status__unpack(NULL, len, buf);
            if (s != NULL && s->ok) {
                veil__query_status__free_unpacked(s, NULL);
                free(buf);
                *status_ok = 1;
                return VEIL_OK;
            }
            if (s != NULL)
                veil__query_status__free_unpacked(s, NULL);
        }
        st = refusal(c, buf, len, err);
        free(buf);
        return st;
    }
    if (type != QMSG_BATCH) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: sent a %s (type %u) where a batch header "
                            "was expected",
                            veil_conn_peer(c), q_msg_name(type), type);
    }
    Veil__QueryBatch *hdr = veil__query_batch__unpack(NULL, len, buf);
    free(buf);
    if (hdr == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: malformed batch header", veil_conn_peer(c));
    uint32_t p = hdr->purpose;
    int ok_purpose = want != 0 ? p == want
                               : (p == QPURPOSE_BLIND || p == QPURPOSE_SHUFFLE ||
                                  p == QPURPOSE_SEND_SET || p == QPURPOSE_DECRYPT);
    if (!ok_purpose)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a %s (purpose %u) where a %s was expected",
                          veil_conn_peer(c), purpose_name(p), p,
                          want != 0 ? purpose_name(want) : "request");
    else if (p == QPURPOSE_SHUFFLE &&
             (!hdr->has_tag_key || hdr->tag_key.len != VEIL_PSI_POINT_BYTES) && hdr->tags)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: a shuffle request with tags needs a 32-byte "
                          "tag key",
                          veil_conn_peer(c));
    else if (hdr->count > QSET_MAX_ELEMS || hdr->cts_per_element > VEIL_QUERY_VALUES_MAX)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: a batch of %llu elements with %u ciphertexts each is over the "
                          "limit of %llu elements and %u ciphertexts",
                          veil_conn_peer(c), (unsigned long long)hdr->count,
                          hdr->cts_per_element, (unsigned long long)QSET_MAX_ELEMS,
                          (unsigned)VEIL_QUERY_VALUES_MAX);
    else if (p == QPURPOSE_SEND_SET && (hdr->count != 0 || hdr->cts_per_element != 0 || hdr->tags))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: a set request carries elements",
                          veil_conn_peer(c));
    else if (p == QPURPOSE_DECRYPT && (hdr->count != 0 || hdr->cts_per_element != 0 ||
                                       hdr->tags || !hdr->has_tag_key ||
                                       hdr->tag_key.len != QSEAL_KEY_BYTES))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: a decryption request must carry the analyst's %u-byte seal key "
                          "and no elements",
                          veil_conn_peer(c), QSEAL_KEY_BYTES);
    if (st == VEIL_OK) {
        h->purpose = p;
        h->count = (size_t)hdr->count;
        h->cts_per = hdr->cts_per_element;
        h->has_tags = hdr->tags != 0;
        if (hdr->has_tag_key && hdr->tag_key.len == VEIL_PSI_POINT_BYTES)
            memcpy(h->tag_key, hdr->tag_key.data, VEIL_PSI_POINT_BYTES);
    }
    veil__query_batch__free_unpacked(hdr, NULL);
    return st;
}

veil_status q_recv_batch(const qctx *x, veil_conn *c, uint32_t want, qbatch *b, uint32_t *purpose,
                         uint8_t *tag_key, int *status_ok, veil_err *err)
{
    memset(b, 0, sizeof *b);
    if (purpose != NULL)
        *purpose = 0;
    qhdr h;
    veil_status st = q_recv_header(x, c, want, &h, status_ok, err);
    if (st != VEIL_OK || (status_ok != NULL && *status_ok))
        return st;
    st = q_batch_alloc(b, h.count, h.cts_per, h.has_tags, x->ctlen, err);
    if (st == VEIL_OK && tag_key != NULL)
        memcpy(tag_key, h.tag_key, VEIL_PSI_POINT_BYTES);
    if (st == VEIL_OK)
        st = recv_body(x, c, &h, b, err);
    if (st != VEIL_OK) {
        q_batch_free(b);
        return st;
    }
    if (purpose != NULL)
        *purpose = h.purpose;
    return VEIL_OK;
}
