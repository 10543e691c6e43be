/* The secure-sum protocol (docs/sum.md) on net/'s channel.
 *
 * Input party:  connect to every compute party; Hello -> Ack; share header
 *               (a seed, or the length) and chunks of its share; Done ->
 *               Ack. Succeeds when enough compute parties acknowledged.
 * Compute party: accepts input parties until all have submitted or its
 *               inputs window closes; adds each complete share into a
 *               running sum (a share that does not arrive completely is
 *               dropped whole); then sends the sum and the list of input
 *               parties in it to the output party.
 * Output party: accepts compute parties' sums until all have delivered or
 *               its deadline passes; picks the largest group of at least t
 *               compute parties that summed the same input parties, and
 *               reconstructs, checking any further shares of the group for
 *               consistency.
 *
 * One thread accepts; each connection is served by its own thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "veil/proto/sum.pb-c.h"
#include "veil/sum.h"

enum {
    MSG_HELLO = 1,
    MSG_SHARE_HEADER = 2,
    MSG_CHUNK = 3,
    MSG_DONE = 4,
    MSG_ACK = 5,
    MSG_RESULT_HEADER = 6,
};
enum { PURPOSE_INPUT = 1, PURPOSE_RESULT = 2 };

#define CHUNK_ELEMS    65536u
#define FRAME_MAX      (CHUNK_ELEMS * VEIL_FE_BYTES + 4096u)
#define POLL_MS        100
#define ERROR_TEXT_MAX 400

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void logf_(const veil_sum_hooks *h, const char *fmt, ...) VEIL_PRINTF(2, 3);
static void logf_(const veil_sum_hooks *h, const char *fmt, ...)
{
    if (h == NULL || h->log == NULL)
        return;
    char line[VEIL_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    h->log(h->ctx, line);
}

static int stopped(const veil_sum_hooks *h)
{
    return h != NULL && h->stop != NULL && h->stop(h->ctx);
}

/* ---- messages ---- */

static veil_status send_msg(veil_conn *c, uint32_t type, const ProtobufCMessage *m, veil_err *err)
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

static const char *msg_name(uint32_t type)
{
    switch (type) {
    case MSG_HELLO: return "hello";
    case MSG_SHARE_HEADER: return "share header";
    case MSG_CHUNK: return "chunk";
    case MSG_DONE: return "done";
    case MSG_ACK: return "acknowledgement";
    case MSG_RESULT_HEADER: return "result header";
    default: return "unknown message";
    }
}

/* Receives a message of type `want` and unpacks it. */
static veil_status recv_msg(const veil_sum_hooks *h, veil_conn *c, uint32_t want,
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
    if (h != NULL && h->message != NULL)
        h->message(h->ctx, veil_conn_peer(c), type, buf, len);
    if (type != want) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a %s (type %u) where a %s was expected",
                            veil_conn_peer(c), msg_name(type), type, msg_name(want));
    }
    *out = protobuf_c_message_unpack(desc, NULL, len, buf);
    free(buf);
    if (*out == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: malformed %s message", veil_conn_peer(c),
                            msg_name(want));
    return VEIL_OK;
}

/* Printable copy of text a peer sent. */
static void clean_text(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (src[i] >= ' ' && src[i] < 0x7f) ? src[i] : '?';
    dst[i] = '\0';
}

static veil_status send_ack(veil_conn *c, const char *error, veil_err *err)
{
    Veil__SumAck ack = VEIL__SUM_ACK__INIT;
    char text[ERROR_TEXT_MAX];
    ack.ok = error == NULL;
    if (error != NULL) {
        clean_text(text, sizeof text, error);
        ack.error = text;
    }
    return send_msg(c, MSG_ACK, &ack.base, err);
}

/* Waits for the peer's acknowledgement; a refusal is VEIL_ERR_INPUT with
 * the peer's reason. */
static veil_status expect_ack(const veil_sum_hooks *h, veil_conn *c, const char *what,
                              veil_err *err)
{
    ProtobufCMessage *m;
    veil_status st = recv_msg(h, c, MSG_ACK, &veil__sum_ack__descriptor, &m, err);
    if (st != VEIL_OK)
        return st;
    Veil__SumAck *ack = (Veil__SumAck *)m;
    if (!ack->ok) {
        char text[ERROR_TEXT_MAX];
        clean_text(text, sizeof text, ack->error != NULL ? ack->error : "no reason given");
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s refused %s: %s", veil_conn_peer(c), what, text);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

static veil_status send_hello(const veil_sum_hooks *h, veil_conn *c, const veil_sum_session *s,
                              uint32_t purpose, veil_err *err)
{
    Veil__SumHello hello = VEIL__SUM_HELLO__INIT;
    hello.version = 1;
    hello.session_digest.data = (uint8_t *)s->digest;
    hello.session_digest.len = sizeof s->digest;
    hello.purpose = purpose;
    veil_status st = send_msg(c, MSG_HELLO, &hello.base, err);
    return st == VEIL_OK ? expect_ack(h, c, "the session", err) : st;
}

/* Sends values[0..len) in chunks. */
static veil_status send_chunks(veil_conn *c, const veil_fe *values, uint64_t offset, size_t count,
                               uint8_t *scratch, veil_err *err)
{
    veil_fe_store_vec(scratch, values, count);
    Veil__SumChunk ch = VEIL__SUM_CHUNK__INIT;
    ch.offset = offset;
    ch.values.data = scratch;
    ch.values.len = count * VEIL_FE_BYTES;
    return send_msg(c, MSG_CHUNK, &ch.base, err);
}

static veil_status send_done(veil_conn *c, uint64_t elements, veil_err *err)
{
    Veil__SumDone d = VEIL__SUM_DONE__INIT;
    d.elements = elements;
    return send_msg(c, MSG_DONE, &d.base, err);
}

/* Receives `length` elements in chunks, then Done, into *out (malloc'd). */
static veil_status recv_vector(const veil_sum_hooks *h, veil_conn *c, uint64_t length,
                               veil_fe **out, veil_err *err)
{
    veil_fe *v = malloc((size_t)length * sizeof *v);
    uint64_t got = 0;
    veil_status st = v == NULL ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory") : VEIL_OK;
    while (st == VEIL_OK && got < length) {
        ProtobufCMessage *m;
        st = recv_msg(h, c, MSG_CHUNK, &veil__sum_chunk__descriptor, &m, err);
        if (st != VEIL_OK)
            break;
        Veil__SumChunk *ch = (Veil__SumChunk *)m;
        size_t n = ch->values.len / VEIL_FE_BYTES;
        if (ch->offset != got)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: chunk at element %llu, expected %llu",
                              veil_conn_peer(c), (unsigned long long)ch->offset,
                              (unsigned long long)got);
        else if (ch->values.len % VEIL_FE_BYTES != 0 || n == 0 || n > CHUNK_ELEMS ||
                 n > length - got)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s: chunk at element %llu has %zu bytes (16 per element, at most "
                              "%u elements, %llu left)",
                              veil_conn_peer(c), (unsigned long long)got, ch->values.len,
                              CHUNK_ELEMS, (unsigned long long)(length - got));
        size_t bad = st == VEIL_OK ? veil_fe_load_vec(v + got, ch->values.data, n) : n;
        if (bad < n)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s: element %llu: field element out of range (not below 2^127-1)",
                              veil_conn_peer(c), (unsigned long long)(got + bad));
        got += n;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (st == VEIL_OK) {
        ProtobufCMessage *m;
        st = recv_msg(h, c, MSG_DONE, &veil__sum_done__descriptor, &m, err);
        if (st == VEIL_OK && ((Veil__SumDone *)m)->elements != length)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: says it sent %llu elements, received %llu",
                              veil_conn_peer(c), (unsigned long long)((Veil__SumDone *)m)->elements,
                              (unsigned long long)length);
        if (m != NULL)
            protobuf_c_message_free_unpacked(m, NULL);
    }
    if (st != VEIL_OK) {
        free(v);
        return st;
    }
    *out = v;
    return VEIL_OK;
}

static veil_status open_net(veil_net **net, const veil_sum_session *s, const char *dir,
                            const char *self, veil_err *err)
{
    veil_roster roster = {s->peers, s->nparties};
    veil_net_config cfg = {
        .identity_dir = dir,
        .self_id = self,
        .session_id = s->id,
        .roster = &roster,
        .connect_timeout_ms = s->connect_timeout * 1000u,
        .io_timeout_ms = s->io_timeout * 1000u,
        .frame_max = FRAME_MAX,
    };
    return veil_net_new(net, &cfg, err);
}

/* Connects to peer, retrying refused connections (the peer may not be up
 * yet) until `deadline`. */
static veil_status connect_retry(veil_net *net, const char *peer, double deadline,
                                 const veil_sum_hooks *hooks, veil_conn **c, veil_err *err)
{
    for (;;) {
        veil_status st = veil_net_connect(net, peer, c, err);
        if (st != VEIL_ERR_IO || now_s() + 0.25 >= deadline)
            return st;
        if (stopped(hooks))
            return veil_err_set(err, VEIL_ERR_IO, "interrupted");
        sleep_ms(250);
    }
}

static size_t party_pos(const veil_sum_session *s, const veil_sum_party *p)
{
    return (size_t)(p - s->parties);
}

/* ---- input party ---- */

veil_status veil_sum_submit(const veil_sum_session *s, const char *identity_dir,
                            const char *self_id, const int64_t *values, const veil_sum_hooks *hooks,
                            unsigned char *status, char (*messages)[VEIL_ERR_MSG_MAX],
                            veil_sum_traffic *traffic, veil_err *err)
{
    const veil_sum_party *me = veil_sum_session_find(s, self_id);
    if (me == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "session %s has no party \"%s\"", s->id, self_id);
    if (!(me->roles & VEIL_SUM_ROLE_INPUT))
        return veil_err_set(err, VEIL_ERR_USAGE, "%s is not an input party of session %s", self_id,
                            s->id);
    unsigned n = s->n_compute;
    veil_net *net = NULL;
    veil_share_plan *plan = NULL;
    veil_conn **conns = calloc(n, sizeof *conns);
    size_t *pos = calloc(n, sizeof *pos);
    veil_err *perr = calloc(n, sizeof *perr);
    int *seeded = calloc(n, sizeof *seeded);
    veil_fe **shares = calloc(n, sizeof *shares);
    veil_fe *secret = malloc(CHUNK_ELEMS * sizeof *secret);
    uint8_t *scratch = malloc(CHUNK_ELEMS * VEIL_FE_BYTES);
    veil_status st = VEIL_OK;
    if (conns == NULL || pos == NULL || perr == NULL || seeded == NULL || shares == NULL ||
        secret == NULL || scratch == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK)
        st = veil_share_plan_new(&plan, s->scheme, n, s->threshold, err);
    if (st == VEIL_OK)
        st = open_net(&net, s, identity_dir, self_id, err);
    for (size_t i = 0; st == VEIL_OK && i < s->nparties; i++)
        if (s->parties[i].index > 0)
            pos[s->parties[i].index - 1] = i;
    for (unsigned k = 0; st == VEIL_OK && k < n; k++) {
        uint8_t seed[VEIL_SHARE_SEED];
        seeded[k] = veil_share_plan_seed(plan, k + 1, seed);
        if (!seeded[k] && (shares[k] = malloc(CHUNK_ELEMS * sizeof(veil_fe))) == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        const char *peer = s->parties[pos[k]].id;
        veil_status ps = st;
        if (ps == VEIL_OK)
            ps = connect_retry(net, peer, now_s() + s->connect_timeout, hooks, &conns[k], &perr[k]);
        if (ps == VEIL_OK)
            ps = send_hello(hooks, conns[k], s, PURPOSE_INPUT, &perr[k]);
        if (ps == VEIL_OK) {
            Veil__SumShareHeader h = VEIL__SUM_SHARE_HEADER__INIT;
            h.length = s->length;
            if (seeded[k]) {
                h.has_seed = 1;
                h.seed.data = seed;
                h.seed.len = sizeof seed;
            }
            ps = send_msg(conns[k], MSG_SHARE_HEADER, &h.base, &perr[k]);
        }
        sodium_memzero(seed, sizeof seed);
        if (st == VEIL_OK && ps != VEIL_OK) {
            if (ps == VEIL_ERR_NOMEM || ps == VEIL_ERR_INTERNAL) {
                *err = perr[k];
                st = ps;
            }
            logf_(hooks, "%s: %s", peer, perr[k].msg);
            veil_conn_close(conns[k]);
            conns[k] = NULL;
        }
    }
    for (uint64_t off = 0; st == VEIL_OK && off < s->length; off += CHUNK_ELEMS) {
        size_t cnt = (size_t)(s->length - off < CHUNK_ELEMS ? s->length - off : CHUNK_ELEMS);
        if (stopped(hooks)) {
            st = veil_err_set(err, VEIL_ERR_IO, "interrupted");
            break;
        }
        for (size_t i = 0; i < cnt; i++)
            secret[i] = veil_fe_from_i64(values[off + i]);
        veil_share_plan_split(plan, secret, off, cnt, shares);
        for (unsigned k = 0; k < n; k++) {
            if (conns[k] == NULL || seeded[k])
                continue;
            if (send_chunks(conns[k], shares[k], off, cnt, scratch, &perr[k]) != VEIL_OK) {
                logf_(hooks, "%s: %s", s->parties[pos[k]].id, perr[k].msg);
                veil_conn_close(conns[k]);
                conns[k] = NULL;
            }
        }
        if (hooks != NULL && hooks->progress != NULL)
            hooks->progress(hooks->ctx, off + cnt, s->length);
    }
    unsigned accepted = 0;
    for (unsigned k = 0; st == VEIL_OK && k < n; k++) {
        if (conns[k] == NULL)
            continue;
        veil_status ps = send_done(conns[k], seeded[k] ? 0 : s->length, &perr[k]);
        if (ps == VEIL_OK)
            ps = expect_ack(hooks, conns[k], "the shares", &perr[k]);
        if (ps == VEIL_OK)
            accepted++;
        else
            logf_(hooks, "%s: %s", s->parties[pos[k]].id, perr[k].msg);
        if (ps != VEIL_OK) {
            veil_conn_close(conns[k]);
            conns[k] = NULL;
        }
    }
    if (st == VEIL_OK) {
        for (unsigned k = 0; k < n; k++) {
            if (status != NULL)
                status[pos[k]] = conns[k] != NULL ? VEIL_SUM_INCLUDED : VEIL_SUM_FAILED;
            if (messages != NULL)
                snprintf(messages[pos[k]], VEIL_ERR_MSG_MAX, "%s",
                         conns[k] != NULL ? "accepted" : perr[k].msg);
        }
        if (accepted < s->threshold)
            st = veil_err_set(err, VEIL_ERR_IO,
                              "only %u of %u compute parties accepted the shares of %s; the "
                              "session needs %u",
                              accepted, n, self_id, s->threshold);
    }
    for (unsigned k = 0; conns != NULL && k < n; k++) {
        veil_conn_close(conns[k]);
        if (shares[k] != NULL) {
            sodium_memzero(shares[k], CHUNK_ELEMS * sizeof(veil_fe));
            free(shares[k]);
        }
    }
    if (secret != NULL)
        sodium_memzero(secret, CHUNK_ELEMS * sizeof *secret);
    if (scratch != NULL)
        sodium_memzero(scratch, CHUNK_ELEMS * VEIL_FE_BYTES);
    free(secret);
    free(scratch);
    free(conns);
    free(pos);
    free(perr);
    free(seeded);
    free(shares);
    veil_share_plan_free(plan);
    if (traffic != NULL && net != NULL)
        veil_net_traffic(net, &traffic->sent, &traffic->received);
    veil_net_free(net);
    return st;
}

/* ---- compute and output party ---- */

enum { IN_NONE = 0, IN_BUSY, IN_DONE };

typedef struct server server;

typedef struct worker {
    server *sv;
    veil_conn *conn;
    pthread_t thread;
    int started;
    struct worker *next;
} worker;

struct server {
    const veil_sum_session *s;
    const veil_sum_hooks *hooks;
    veil_net *net;
    const veil_sum_party *me;
    pthread_mutex_t mu;
    /* compute role */
    veil_fe *total;
    unsigned char *input_state; /* per party: IN_* */
    unsigned n_included;
    int inputs_closed;
    /* output role, per compute index - 1 */
    veil_fe **results;
    unsigned char **result_sets; /* per party: 1 when that input party is in the sum */
    unsigned n_results;
    int results_closed;
    worker *workers;
    unsigned n_workers;
    int wake[2]; /* workers write a byte when an input or result is in */
};

static void wake_up(server *sv)
{
    char b = 1;
    ssize_t r = write(sv->wake[1], &b, 1); /* full pipe: already awake */
    (void)r;
}

static void log_locked(server *sv, const char *fmt, ...) VEIL_PRINTF(2, 3);
static void log_locked(server *sv, const char *fmt, ...)
{
    if (sv->hooks == NULL || sv->hooks->log == NULL)
        return;
    char line[VEIL_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&sv->mu);
    sv->hooks->log(sv->hooks->ctx, line);
    pthread_mutex_unlock(&sv->mu);
}

/* Adds one input party's complete share (a vector, or a seed expanded
 * piece by piece) into the running sum. Called with mu held. */
static void add_share(server *sv, const veil_fe *vec, const uint8_t *seed)
{
    if (vec != NULL) {
        veil_fe_vec_add(sv->total, vec, (size_t)sv->s->length);
        return;
    }
    veil_fe buf[4096];
    for (uint64_t off = 0; off < sv->s->length; off += 4096) {
        size_t cnt = (size_t)(sv->s->length - off < 4096 ? sv->s->length - off : 4096);
        veil_share_expand(buf, seed, off, cnt);
        veil_fe_vec_add(sv->total + off, buf, cnt);
    }
    sodium_memzero(buf, sizeof buf);
}

static veil_status serve_input(server *sv, veil_conn *c, const veil_sum_party *peer, veil_err *err)
{
    const veil_sum_session *s = sv->s;
    size_t pi = party_pos(s, peer);
    pthread_mutex_lock(&sv->mu);
    const char *refuse = NULL;
    if (sv->inputs_closed)
        refuse = "the inputs of this session are closed";
    else if (sv->input_state[pi] == IN_DONE)
        refuse = "shares already received from this party in this session";
    else if (sv->input_state[pi] == IN_BUSY)
        refuse = "another connection of this party is already sending shares";
    else
        sv->input_state[pi] = IN_BUSY;
    pthread_mutex_unlock(&sv->mu);
    if (refuse != NULL) {
        (void)send_ack(c, refuse, err);
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: refused: %s", peer->id, refuse);
    }
    veil_status st = send_ack(c, NULL, err);
    ProtobufCMessage *m = NULL;
    veil_fe *vec = NULL;
    uint8_t seed[VEIL_SHARE_SEED];
    int has_seed = 0;
    if (st == VEIL_OK)
        st = recv_msg(sv->hooks, c, MSG_SHARE_HEADER, &veil__sum_share_header__descriptor, &m, err);
    if (st == VEIL_OK) {
        Veil__SumShareHeader *h = (Veil__SumShareHeader *)m;
        if (h->length != s->length)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s: shares of %llu elements; the session has %llu", peer->id,
                              (unsigned long long)h->length, (unsigned long long)s->length);
        else if (h->has_seed && h->seed.len != VEIL_SHARE_SEED)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: seed of %zu bytes, expected %d", peer->id,
                              h->seed.len, VEIL_SHARE_SEED);
        if (st == VEIL_OK && h->has_seed) {
            memcpy(seed, h->seed.data, VEIL_SHARE_SEED);
            sodium_memzero(h->seed.data, h->seed.len);
            has_seed = 1;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (st == VEIL_OK && !has_seed)
        st = recv_vector(sv->hooks, c, s->length, &vec, err);
    if (st == VEIL_OK && has_seed) {
        ProtobufCMessage *d;
        st = recv_msg(sv->hooks, c, MSG_DONE, &veil__sum_done__descriptor, &d, err);
        if (st == VEIL_OK && ((Veil__SumDone *)d)->elements != 0)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a seed and then elements", peer->id);
        if (d != NULL)
            protobuf_c_message_free_unpacked(d, NULL);
    }
    pthread_mutex_lock(&sv->mu);
    if (st == VEIL_OK && sv->inputs_closed)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: shares arrived after the inputs of this session closed", peer->id);
    if (st == VEIL_OK) {
        add_share(sv, vec, has_seed ? seed : NULL);
        sv->input_state[pi] = IN_DONE;
        sv->n_included++;
        wake_up(sv);
    } else {
        sv->input_state[pi] = IN_NONE; /* the party may try again */
    }
    pthread_mutex_unlock(&sv->mu);
    sodium_memzero(seed, sizeof seed);
    if (vec != NULL) {
        sodium_memzero(vec, (size_t)s->length * sizeof *vec);
        free(vec);
    }
    if (st == VEIL_OK)
        return send_ack(c, NULL, err);
    veil_err e2;
    (void)send_ack(c, err->msg, &e2);
    return st;
}

static veil_status serve_result(server *sv, veil_conn *c, const veil_sum_party *peer, veil_err *err)
{
    const veil_sum_session *s = sv->s;
    unsigned idx = peer->index - 1;
    veil_status st = send_ack(c, NULL, err);
    ProtobufCMessage *m = NULL;
    unsigned char *set = calloc(s->nparties, 1);
    veil_fe *vec = NULL;
    if (set == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK)
        st = recv_msg(sv->hooks, c, MSG_RESULT_HEADER, &veil__sum_result_header__descriptor, &m,
                      err);
    if (st == VEIL_OK) {
        Veil__SumResultHeader *h = (Veil__SumResultHeader *)m;
        if (h->length != s->length)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s: a result of %llu elements; the session has %llu", peer->id,
                              (unsigned long long)h->length, (unsigned long long)s->length);
        for (size_t i = 0; st == VEIL_OK && i < h->n_included; i++) {
            const veil_sum_party *in = veil_sum_session_find(s, h->included[i]);
            char name[VEIL_PARTY_ID_MAX + 1];
            clean_text(name, sizeof name, h->included[i]);
            if (in == NULL || !(in->roles & VEIL_SUM_ROLE_INPUT))
                st = veil_err_set(err, VEIL_ERR_INPUT,
                                  "%s: result names \"%s\", which is not an input party", peer->id,
                                  name);
            else if (set[party_pos(s, in)])
                st = veil_err_set(err, VEIL_ERR_INPUT, "%s: result names \"%s\" twice", peer->id,
                                  name);
            else
                set[party_pos(s, in)] = 1;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (st == VEIL_OK)
        st = recv_vector(sv->hooks, c, s->length, &vec, err);
    pthread_mutex_lock(&sv->mu);
    if (st == VEIL_OK && sv->results_closed)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: result arrived after the deadline", peer->id);
    if (st == VEIL_OK && sv->results[idx] != NULL)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: sent a second result", peer->id);
    if (st == VEIL_OK) {
        sv->results[idx] = vec;
        sv->result_sets[idx] = set;
        sv->n_results++;
        wake_up(sv);
        vec = NULL;
        set = NULL;
    }
    pthread_mutex_unlock(&sv->mu);
    free(vec);
    free(set);
    if (st == VEIL_OK)
        return send_ack(c, NULL, err);
    veil_err e2;
    (void)send_ack(c, err->msg, &e2);
    return st;
}

/* One accepted connection: handshake, hello, then the input or result. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    server *sv = w->sv;
    const veil_sum_session *s = sv->s;
    veil_conn *c = w->conn;
    veil_err err;
    ProtobufCMessage *m = NULL;
    veil_status st = veil_conn_handshake(c, &err);
    if (st != VEIL_OK) {
        log_locked(sv, "refused a connection: %s", err.msg);
        return NULL;
    }
    const veil_sum_party *peer = veil_sum_session_find(s, veil_conn_peer(c));
    st = recv_msg(sv->hooks, c, MSG_HELLO, &veil__sum_hello__descriptor, &m, &err);
    if (st == VEIL_OK && peer == NULL)
        st = veil_err_set(&err, VEIL_ERR_INTERNAL, "%s: authenticated but not in the session",
                          veil_conn_peer(c));
    const char *refuse = NULL;
    uint32_t purpose = 0;
    if (st == VEIL_OK) {
        Veil__SumHello *h = (Veil__SumHello *)m;
        purpose = h->purpose;
        if (h->version != 1)
            refuse = "unsupported protocol version";
        else if (h->session_digest.len != sizeof s->digest ||
                 sodium_memcmp(h->session_digest.data, s->digest, sizeof s->digest) != 0)
            refuse = "its session file differs from ours (compare the files: every party must "
                     "hold the same one)";
        else if (purpose == PURPOSE_INPUT && !(peer->roles & VEIL_SUM_ROLE_INPUT))
            refuse = "it is not an input party of the session";
        else if (purpose == PURPOSE_INPUT && !(sv->me->roles & VEIL_SUM_ROLE_COMPUTE))
            refuse = "this party is not a compute party of the session";
        else if (purpose == PURPOSE_RESULT && !(peer->roles & VEIL_SUM_ROLE_COMPUTE))
            refuse = "it is not a compute party of the session";
        else if (purpose == PURPOSE_RESULT && !(sv->me->roles & VEIL_SUM_ROLE_OUTPUT))
            refuse = "this party is not the output party of the session";
        else if (purpose != PURPOSE_INPUT && purpose != PURPOSE_RESULT)
            refuse = "unknown purpose";
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (st == VEIL_OK && refuse != NULL) {
        (void)send_ack(c, refuse, &err);
        st = veil_err_set(&err, VEIL_ERR_INPUT, "%s: refused: %s", peer->id, refuse);
    } else if (st == VEIL_OK && purpose == PURPOSE_INPUT) {
        st = serve_input(sv, c, peer, &err);
        if (st == VEIL_OK)
            log_locked(sv, "%s: shares received", peer->id);
    } else if (st == VEIL_OK) {
        st = serve_result(sv, c, peer, &err);
        if (st == VEIL_OK)
            log_locked(sv, "%s: result received", peer->id);
    }
    if (st != VEIL_OK)
        log_locked(sv, "%s", err.msg);
    return NULL;
}

static void join_workers(server *sv)
{
    for (worker *w = sv->workers; w != NULL;) {
        worker *next = w->next;
        if (w->started)
            pthread_join(w->thread, NULL);
        veil_conn_close(w->conn);
        free(w);
        w = next;
    }
    sv->workers = NULL;
}

/* Waits at most POLL_MS for a connection on fd (or a worker's wake-up)
 * and starts a worker for it. */
static veil_status accept_one(server *sv, int fd, veil_err *err)
{
    struct pollfd p[2] = {{fd, POLLIN, 0}, {sv->wake[0], POLLIN, 0}};
    if (poll(p, 2, POLL_MS) < 0 && errno != EINTR)
        return veil_err_set(err, VEIL_ERR_IO, "waiting for connections: %s", strerror(errno));
    if (p[1].revents & POLLIN) {
        char buf[64];
        while (read(sv->wake[0], buf, sizeof buf) > 0)
            ;
    }
    if (!(p[0].revents & POLLIN))
        return VEIL_OK;
    veil_conn *c = NULL;
    veil_status st = veil_net_accept(sv->net, fd, -1, &c, err);
    if (st != VEIL_OK || c == NULL)
        return st;
    /* Every party may hold a connection or two; more is a flood. */
    if (sv->n_workers >= 4 * sv->s->nparties + 16) {
        log_locked(sv, "%s: too many connections; closed", veil_conn_addr(c));
        veil_conn_close(c);
        return VEIL_OK;
    }
    worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        veil_conn_close(c);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    w->sv = sv;
    w->conn = c;
    w->next = sv->workers;
    sv->workers = w;
    sv->n_workers++;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "cannot start a thread");
    w->started = 1;
    return VEIL_OK;
}

/* The compute party's result goes to the output party (or to itself). */
static veil_status deliver(server *sv, double deadline, veil_err *err)
{
    const veil_sum_session *s = sv->s;
    unsigned idx = sv->me->index - 1;
    if (sv->me->roles & VEIL_SUM_ROLE_OUTPUT) {
        unsigned char *set = calloc(s->nparties, 1);
        if (set == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        pthread_mutex_lock(&sv->mu);
        for (size_t i = 0; i < s->nparties; i++)
            set[i] = sv->input_state[i] == IN_DONE;
        sv->results[idx] = sv->total;
        sv->result_sets[idx] = set;
        sv->total = NULL;
        sv->n_results++;
        pthread_mutex_unlock(&sv->mu);
        return VEIL_OK;
    }
    const char *out_id = s->parties[s->output].id;
    const char **names = calloc(s->nparties, sizeof *names);
    uint8_t *scratch = malloc(CHUNK_ELEMS * VEIL_FE_BYTES);
    veil_conn *c = NULL;
    veil_status st = names == NULL || scratch == NULL
                         ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory")
                         : VEIL_OK;
    Veil__SumResultHeader h = VEIL__SUM_RESULT_HEADER__INIT;
    h.length = s->length;
    for (size_t i = 0; st == VEIL_OK && i < s->nparties; i++)
        if (sv->input_state[i] == IN_DONE)
            names[h.n_included++] = s->parties[i].id;
    h.included = (char **)names;
    if (st == VEIL_OK)
        st = connect_retry(sv->net, out_id, deadline, sv->hooks, &c, err);
    if (st == VEIL_OK)
        st = send_hello(sv->hooks, c, s, PURPOSE_RESULT, err);
    if (st == VEIL_OK)
        st = send_msg(c, MSG_RESULT_HEADER, &h.base, err);
    for (uint64_t off = 0; st == VEIL_OK && off < s->length; off += CHUNK_ELEMS) {
        size_t cnt = (size_t)(s->length - off < CHUNK_ELEMS ? s->length - off : CHUNK_ELEMS);
        st = send_chunks(c, sv->total + off, off, cnt, scratch, err);
    }
    if (st == VEIL_OK)
        st = send_done(c, s->length, err);
    if (st == VEIL_OK)
        st = expect_ack(sv->hooks, c, "the result", err);
    veil_conn_close(c);
    free(names);
    free(scratch);
    return st;
}

/* Picks the group of compute parties to reconstruct from and does it. */
static veil_status reconstruct(server *sv, veil_sum_outcome *out, veil_err *err)
{
    const veil_sum_session *s = sv->s;
    unsigned n = s->n_compute, best = UINT32_MAX, best_members = 0, best_size = 0;
    /* Candidate groups are identified by their first member. */
    for (unsigned i = 0; i < n; i++) {
        if (sv->results[i] == NULL)
            continue;
        unsigned members = 0, size = 0;
        for (unsigned j = 0; j < n; j++)
            if (sv->results[j] != NULL &&
                memcmp(sv->result_sets[i], sv->result_sets[j], s->nparties) == 0)
                members++;
        for (size_t p = 0; p < s->nparties; p++)
            size += sv->result_sets[i][p];
        if (members >= s->threshold &&
            (size > best_size || (size == best_size && members > best_members) ||
             best == UINT32_MAX)) {
            best = i;
            best_members = members;
            best_size = size;
        }
    }
    if (best == UINT32_MAX) {
        char have[VEIL_ERR_MSG_MAX] = "";
        size_t o = 0;
        for (size_t p = 0; p < s->nparties; p++) {
            unsigned ix = s->parties[p].index;
            if (ix > 0 && sv->results[ix - 1] != NULL && o < sizeof have)
                o += (size_t)snprintf(have + o, sizeof have - o, "%s%s", o ? ", " : "",
                                      s->parties[p].id);
        }
        return veil_err_set(err, VEIL_ERR_IO,
                            "%u of %u compute parties delivered a result (%s), and no %u of them "
                            "summed the same input parties; the sum cannot be reconstructed",
                            sv->n_results, n, o ? have : "none", s->threshold);
    }
    veil_share_part *parts = calloc(best_members, sizeof *parts);
    veil_fe *secret = malloc(CHUNK_ELEMS * sizeof *secret);
    out->sums = malloc((size_t)s->length * sizeof *out->sums);
    if (parts == NULL || secret == NULL || out->sums == NULL) {
        free(parts);
        free(secret);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    unsigned k = 0;
    for (size_t p = 0; p < s->nparties; p++) {
        unsigned ix = s->parties[p].index;
        if (s->parties[p].roles & VEIL_SUM_ROLE_INPUT)
            out->inputs[p] = sv->result_sets[best][p] ? VEIL_SUM_INCLUDED : VEIL_SUM_DROPPED;
        if (ix == 0)
            continue;
        if (sv->results[ix - 1] == NULL) {
            out->computes[p] = VEIL_SUM_DROPPED;
        } else if (memcmp(sv->result_sets[ix - 1], sv->result_sets[best], s->nparties) != 0) {
            out->computes[p] = VEIL_SUM_EXCLUDED;
        } else {
            out->computes[p] = VEIL_SUM_USED;
            parts[k].index = ix;
            k++;
        }
    }
    /* |sum| <= addends * (2^63 - 1) for int64 addends. */
    unsigned __int128 bound = (unsigned __int128)best_size * (((unsigned __int128)1 << 63) - 1);
    veil_status st = VEIL_OK;
    __int128 total = 0;
    for (uint64_t off = 0; st == VEIL_OK && off < s->length; off += CHUNK_ELEMS) {
        size_t cnt = (size_t)(s->length - off < CHUNK_ELEMS ? s->length - off : CHUNK_ELEMS);
        for (unsigned j = 0; j < k; j++)
            parts[j].values = sv->results[parts[j].index - 1] + off;
        st = veil_share_reconstruct(secret, s->scheme, n, s->threshold, parts, k, off, cnt, err);
        for (size_t i = 0; st == VEIL_OK && i < cnt; i++) {
            __int128 v = veil_fe_to_i128(secret[i]);
            unsigned __int128 mag = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
            if (mag > bound)
                st = veil_err_set(err, VEIL_ERR_CRYPTO,
                                  "element %llu: the reconstructed sum is larger than %u int64 "
                                  "values can add up to; a share was corrupted",
                                  (unsigned long long)(off + i), best_size);
            else if (__builtin_add_overflow(total, v, &total))
                st = veil_err_set(err, VEIL_ERR_CRYPTO, "the total of all elements overflows");
            out->sums[off + i] = v;
        }
    }
    free(parts);
    free(secret);
    if (st != VEIL_OK)
        return st;
    out->total = total;
    out->compute_used = k;
    out->have_sums = 1;
    return VEIL_OK;
}

static int inputs_done(server *sv, double deadline)
{
    pthread_mutex_lock(&sv->mu);
    int done = sv->n_included == sv->s->n_input || now_s() >= deadline;
    if (done)
        sv->inputs_closed = 1;
    pthread_mutex_unlock(&sv->mu);
    return done;
}

static int results_done(server *sv, double deadline)
{
    pthread_mutex_lock(&sv->mu);
    int done = sv->n_results == sv->s->n_compute || now_s() >= deadline;
    if (done)
        sv->results_closed = 1;
    pthread_mutex_unlock(&sv->mu);
    return done;
}

veil_status veil_sum_serve(const veil_sum_session *s, const char *identity_dir, const char *self_id,
                           const veil_sum_hooks *hooks, veil_sum_outcome *out, veil_err *err)
{
    memset(out, 0, sizeof *out);
    const veil_sum_party *me = veil_sum_session_find(s, self_id);
    if (me == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "session %s has no party \"%s\"", s->id, self_id);
    if (!(me->roles & (VEIL_SUM_ROLE_COMPUTE | VEIL_SUM_ROLE_OUTPUT)))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s is neither a compute nor the output party of session %s; input "
                            "parties run `veil sum submit`",
                            self_id, s->id);
    server sv;
    memset(&sv, 0, sizeof sv);
    sv.wake[0] = sv.wake[1] = -1;
    sv.s = s;
    sv.hooks = hooks;
    sv.me = me;
    pthread_mutex_init(&sv.mu, NULL);
    int compute = (me->roles & VEIL_SUM_ROLE_COMPUTE) != 0;
    int output = (me->roles & VEIL_SUM_ROLE_OUTPUT) != 0;
    veil_status st = VEIL_OK;
    out->inputs = calloc(s->nparties, 1);
    out->computes = calloc(s->nparties, 1);
    sv.input_state = calloc(s->nparties, 1);
    if (out->inputs == NULL || out->computes == NULL || sv.input_state == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && compute && (sv.total = calloc((size_t)s->length, sizeof(veil_fe))) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for %llu elements",
                          (unsigned long long)s->length);
    if (st == VEIL_OK && output) {
        sv.results = calloc(s->n_compute, sizeof *sv.results);
        sv.result_sets = calloc(s->n_compute, sizeof *sv.result_sets);
        if (sv.results == NULL || sv.result_sets == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    if (st == VEIL_OK && pipe(sv.wake) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "pipe: %s", strerror(errno));
    for (int i = 0; st == VEIL_OK && i < 2; i++)
        if (fcntl(sv.wake[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(sv.wake[i], F_SETFD, FD_CLOEXEC) != 0)
            st = veil_err_set(err, VEIL_ERR_IO, "pipe: %s", strerror(errno));
    if (st == VEIL_OK)
        st = open_net(&sv.net, s, identity_dir, self_id, err);
    int fd = -1;
    if (st == VEIL_OK)
        st = veil_net_listen(sv.net, &fd, err);
    double start = now_s();
    double inputs_deadline = start + s->inputs_timeout;
    double results_deadline = inputs_deadline + s->results_timeout;
    int delivered = !compute;
    while (st == VEIL_OK) {
        if (stopped(hooks)) {
            st = veil_err_set(err, VEIL_ERR_IO, "interrupted");
            break;
        }
        if (!delivered && inputs_done(&sv, inputs_deadline)) {
            delivered = 1;
            logf_(hooks, "inputs closed: %u of %u input parties submitted", sv.n_included,
                  s->n_input);
            veil_status ds = deliver(&sv, results_deadline, err);
            if (ds != VEIL_OK && !output) {
                st = veil_err_prefix(err, "delivering the result to %s", s->parties[s->output].id);
                break;
            }
            if (!output)
                break;
        }
        if (delivered && output && results_done(&sv, results_deadline))
            break;
        st = accept_one(&sv, fd, err);
    }
    /* Stop taking anything new, then wait for the connections in flight
     * (each bounded by the io timeout). */
    pthread_mutex_lock(&sv.mu);
    sv.inputs_closed = 1;
    sv.results_closed = 1;
    pthread_mutex_unlock(&sv.mu);
    if (fd >= 0)
        close(fd);
    join_workers(&sv);
    if (compute)
        for (size_t i = 0; i < s->nparties; i++)
            if (s->parties[i].roles & VEIL_SUM_ROLE_INPUT)
                out->inputs[i] =
                    sv.input_state[i] == IN_DONE ? VEIL_SUM_INCLUDED : VEIL_SUM_DROPPED;
    if (st == VEIL_OK && output)
        st = reconstruct(&sv, out, err);
    if (sv.total != NULL) {
        sodium_memzero(sv.total, (size_t)s->length * sizeof(veil_fe));
        free(sv.total);
    }
    for (unsigned i = 0; sv.results != NULL && i < s->n_compute; i++) {
        if (sv.results[i] != NULL)
            sodium_memzero(sv.results[i], (size_t)s->length * sizeof(veil_fe));
        free(sv.results[i]);
        free(sv.result_sets[i]);
    }
    free(sv.results);
    free(sv.result_sets);
    free(sv.input_state);
    for (int i = 0; i < 2; i++)
        if (sv.wake[i] >= 0)
            close(sv.wake[i]);
    if (sv.net != NULL)
        veil_net_traffic(sv.net, &out->traffic.sent, &out->traffic.received);
    veil_net_free(sv.net);
    pthread_mutex_destroy(&sv.mu);
    if (st != VEIL_OK)
        veil_sum_outcome_free(out);
    return st;
}

void veil_sum_outcome_free(veil_sum_outcome *o)
{
    if (o == NULL)
        return;
    free(o->inputs);
    free(o->computes);
    free(o->sums);
    memset(o, 0, sizeof *o);
}
