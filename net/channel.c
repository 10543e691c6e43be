/* The channel: mutual TLS 1.3 between parties pinned in a roster, and
 * framed envelopes with session, sender and sequence checks on top.
 *
 * Sockets are non-blocking and every wait is a poll(2) with a deadline,
 * so no call can hang. OpenSSL talks to the socket through a small BIO of
 * our own that sends with MSG_NOSIGNAL: a peer that vanishes makes send
 * fail with EPIPE instead of raising SIGPIPE, and the library leaves the
 * process's signal dispositions alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "framing.h"
#include "net_internal.h"
#include "net_testhook.h"
#include "spool.h"

#define CONNECT_TIMEOUT_DEFAULT 10000u
#define IO_TIMEOUT_DEFAULT      30000u
#define ROSTER_MAX              4096u
#define ADDR_MAX                (VEIL_HOST_MAX + 8)

struct veil_net {
    SSL_CTX *ctx;
    BIO_METHOD *bio_method;
    veil_peer *peers;
    size_t npeers;
    size_t self;
    char session[VEIL_SESSION_ID_MAX + 1];
    unsigned connect_ms, io_ms;
    size_t frame_max;
    /* Bytes of frames written and read on all connections (relaxed
     * atomics: connections live in several threads). */
    uint64_t bytes_sent, bytes_received;
    /* File exchange (spool.h): the directory, this party's keys, and the
     * peers whose first file veil_net_accept already returned. */
    char *spool;
    veil_spool_keys *skeys;
    uint8_t *spool_taken;
};

struct veil_conn {
    veil_net *net;
    int fd;
    SSL *ssl;
    int server;
    long target;       /* client: the roster index it meant to reach */
    long peer;         /* the authenticated peer's roster index, -1 before */
    int rejected;      /* the verify callback refused rejected_fp */
    int usable;        /* 0 after an error that desynchronized the stream */
    int tls_failed;    /* no close_notify may be sent */
    int ready;         /* handshake and hellos done */
    uint64_t send_seq; /* next sequence number to send */
    uint64_t recv_seq; /* next sequence number expected */
    uint8_t rejected_fp[VEIL_FINGERPRINT_LEN];
    char addr[ADDR_MAX];
    char who[VEIL_PARTY_ID_MAX + ADDR_MAX + 4];
    uint8_t *sbuf, *rbuf; /* reused frame buffers, wiped on close */
    size_t scap, rcap;
    char *t_session, *t_sender; /* test overrides (net_testhook.h) */
    int spool;                  /* a file-exchange conversation: no socket, no TLS */
    int spool_recv_failed;      /* spool: a file was refused; sending still works */
    uint8_t peer_pk[crypto_sign_PUBLICKEYBYTES]; /* spool: the peer's pinned Ed25519 key */
};

/* ---- time ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline; a sliding one moves forward whenever bytes move, so it
 * bounds the time without progress (used after authentication, where a
 * 16 MB frame on a slow link may take longer than one timeout). */
typedef struct {
    int64_t end;
    unsigned ms;
    int sliding;
} deadline;

static deadline deadline_in(unsigned ms, int sliding)
{
    deadline d = {now_ms() + ms, ms, sliding};
    return d;
}

/* Waits for events on fd until d. 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, const deadline *d)
{
    for (;;) {
        int64_t left = d->end - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* "5 s", "0.3 s" */
static const char *secs(char *buf, size_t cap, unsigned ms)
{
    snprintf(buf, cap, "%g s", ms / 1000.0);
    return buf;
}

/* ---- the socket BIO ---- */

static int bio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) {
        *written = (size_t)n;
        return 1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        BIO_set_retry_write(b);
    return 0;
}

static int bio_read(BIO *b, char *buf, size_t len, size_t *got)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = recv(fd, buf, len, 0);
    if (n > 0) {
        *got = (size_t)n;
        return 1;
    }
    if (n == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        BIO_set_retry_read(b);
    return 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default: return 0;
    }
}

static BIO_METHOD *bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "veil socket");
    if (m != NULL &&
        (BIO_meth_set_write_ex(m, bio_write) != 1 || BIO_meth_set_read_ex(m, bio_read) != 1 ||
         BIO_meth_set_ctrl(m, bio_ctrl) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    return m;
}

/* ---- the roster ---- */

static long find_id(const veil_net *net, const char *id)
{
    for (size_t i = 0; i < net->npeers; i++)
        if (strcmp(net->peers[i].id, id) == 0)
            return (long)i;
    return -1;
}

static long find_fp(const veil_net *net, const uint8_t fp[VEIL_FINGERPRINT_LEN])
{
    for (size_t i = 0; i < net->npeers; i++)
        if (sodium_memcmp(net->peers[i].fingerprint, fp, VEIL_FINGERPRINT_LEN) == 0)
            return (long)i;
    return -1;
}

/* The roster index a presented certificate stands for, or -1 when the
 * connection must refuse it: not pinned at all, or (client side) not the
 * party the client meant to reach. */
static long pinned_index(const veil_conn *c, X509 *cert, uint8_t fp[VEIL_FINGERPRINT_LEN])
{
    if (cert == NULL || veil_cert_fingerprint(cert, fp, NULL) != VEIL_OK)
        return -1;
    long i = find_fp(c->net, fp);
    if (i < 0 || (!c->server && i != c->target))
        return -1;
    return i;
}

/* The certificate chain is never judged by a CA here: the self-signed
 * leaf is accepted exactly when its fingerprint is pinned. Returning 0
 * makes OpenSSL abort the handshake with an alert to the peer. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    (void)ok;
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return 1; /* only the leaf, whose key signed the handshake, counts */
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    veil_conn *c = ssl == NULL ? NULL : SSL_get_app_data(ssl);
    if (c == NULL)
        return 0;
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    if (pinned_index(c, X509_STORE_CTX_get_current_cert(xs), fp) >= 0) {
        X509_STORE_CTX_set_error(xs, X509_V_OK);
        return 1;
    }
    c->rejected = 1;
    memcpy(c->rejected_fp, fp, sizeof fp);
    X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
    return 0;
}

/* ---- the context ---- */

static veil_status check_roster(const veil_roster *r, veil_err *err)
{
    if (r == NULL || r->peers == NULL || r->npeers == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the roster is empty");
    if (r->npeers > ROSTER_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "the roster has %zu parties; at most %u are allowed", r->npeers,
                            ROSTER_MAX);
    for (size_t i = 0; i < r->npeers; i++) {
        const veil_peer *p = &r->peers[i];
        if (memchr(p->id, '\0', sizeof p->id) == NULL || !veil_net_id_ok(p->id, VEIL_PARTY_ID_MAX))
            return veil_err_set(err, VEIL_ERR_INPUT, "roster entry %zu: invalid party id", i + 1);
        if (memchr(p->host, '\0', sizeof p->host) == NULL || (p->host[0] == '\0') != (p->port == 0))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "roster entry %s: give both a host and a port, or neither", p->id);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->peers[j].id, p->id) == 0)
                return veil_err_set(err, VEIL_ERR_INPUT, "the roster lists party %s twice", p->id);
            if (sodium_memcmp(r->peers[j].fingerprint, p->fingerprint, VEIL_FINGERPRINT_LEN) == 0)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "parties %s and %s have the same certificate fingerprint",
                                    r->peers[j].id, p->id);
        }
    }
    return VEIL_OK;
}

static veil_status make_ctx(veil_net *net, EVP_PKEY *key, X509 *cert, veil_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    net->ctx = ctx;
    int ok = ctx != NULL && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
             SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
             SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set1_sigalgs_list(ctx, "ed25519") == 1;
    if (!ok) {
        char why[256];
        veil_ssl_err_text(why, sizeof why, "no detail");
        return veil_err_set(err, VEIL_ERR_INTERNAL, "cannot set up TLS: %s", why);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    /* Every connection authenticates with certificates: no resumption. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return VEIL_OK;
}

static veil_status spool_init(veil_net *net, const char *dir, EVP_PKEY *key, X509 *cert,
                              veil_err *err)
{
    net->spool = strdup(dir);
    net->skeys = calloc(1, sizeof *net->skeys);
    net->spool_taken = calloc(net->npeers, 1);
    if (net->spool == NULL || net->skeys == NULL || net->spool_taken == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = veil_spool_keys_load(net->skeys, key, err);
    if (st == VEIL_OK)
        st = veil_spool_setup(dir, net->session, net->peers[net->self].id, cert, err);
    return st;
}

veil_status veil_net_new(veil_net **out, const veil_net_config *cfg, veil_err *err)
{
    *out = NULL;
    if (cfg == NULL || cfg->identity_dir == NULL || cfg->self_id == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "no identity directory or party id given");
    if (cfg->session_id == NULL || !veil_net_id_ok(cfg->session_id, VEIL_SESSION_ID_MAX))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the session id must be 1 to %d characters of A-Z a-z 0-9 . _ - and "
                            "not start with '.' or '-'",
                            VEIL_SESSION_ID_MAX);
    veil_status st = check_roster(cfg->roster, err);
    if (st != VEIL_OK)
        return st;
    veil_net *net = calloc(1, sizeof *net);
    if (net == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    net->npeers = cfg->roster->npeers;
    net->peers = malloc(net->npeers * sizeof *net->peers);
    net->bio_method = bio_method_new();
    if (net->peers == NULL || net->bio_method == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(net->peers, cfg->roster->peers, net->npeers * sizeof *net->peers);
    snprintf(net->session, sizeof net->session, "%s", cfg->session_id);
    net->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : CONNECT_TIMEOUT_DEFAULT;
    net->io_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : IO_TIMEOUT_DEFAULT;
    net->frame_max = cfg->frame_max ? cfg->frame_max : VEIL_NET_FRAME_MAX_DEFAULT;
    if (net->frame_max <= VEIL_NET_ENVELOPE_OVERHEAD || net->frame_max > UINT32_MAX) {
        st = veil_err_set(err, VEIL_ERR_USAGE, "frame limit %zu is out of range (%d to %u)",
                          net->frame_max, VEIL_NET_ENVELOPE_OVERHEAD + 1, UINT32_MAX);
        goto done;
    }
    long self = find_id(net, cfg->self_id);
    if (self < 0) {
        st =
            veil_err_set(err, VEIL_ERR_USAGE, "party \"%.80s\" is not in the roster", cfg->self_id);
        goto done;
    }
    net->self = (size_t)self;
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    if ((st = veil_party_load(cfg->identity_dir, &key, &cert, err)) != VEIL_OK ||
        (st = veil_cert_fingerprint(cert, fp, err)) != VEIL_OK)
        goto done;
    if (sodium_memcmp(fp, net->peers[self].fingerprint, sizeof fp) != 0) {
        char have[VEIL_FINGERPRINT_TEXT_LEN], want[VEIL_FINGERPRINT_TEXT_LEN];
        veil_fingerprint_format(fp, have);
        veil_fingerprint_format(net->peers[self].fingerprint, want);
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "the identity in %s (%s) is not party %s of the roster (%s)",
                          cfg->identity_dir, have, cfg->self_id, want);
        goto done;
    }
    if (cfg->spool_dir != NULL)
        st = spool_init(net, cfg->spool_dir, key, cert, err);
    else
        st = make_ctx(net, key, cert, err);
done:
    EVP_PKEY_free(key);
    X509_free(cert);
    if (st != VEIL_OK) {
        veil_net_free(net);
        return st;
    }
    *out = net;
    return VEIL_OK;
}

void veil_net_free(veil_net *net)
{
    if (net == NULL)
        return;
    SSL_CTX_free(net->ctx);
    BIO_meth_free(net->bio_method);
    free(net->peers);
    free(net->spool);
    if (net->skeys != NULL)
        veil_secret_free(net->skeys, sizeof *net->skeys);
    free(net->spool_taken);
    free(net);
}

void veil_net_traffic(const veil_net *net, uint64_t *sent, uint64_t *received)
{
    *sent = __atomic_load_n(&net->bytes_sent, __ATOMIC_RELAXED);
    *received = __atomic_load_n(&net->bytes_received, __ATOMIC_RELAXED);
}

const char *veil_net_self(const veil_net *net)
{
    return net->peers[net->self].id;
}

/* ---- sockets ---- */

static void format_addr(char *out, size_t cap, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "(unknown address)");
    }
}

static void peer_addr(char *out, size_t cap, const veil_peer *p)
{
    snprintf(out, cap, strchr(p->host, ':') != NULL ? "[%s]:%u" : "%s:%u", p->host,
             (unsigned)p->port);
}

static veil_status resolve(struct addrinfo **res, const veil_peer *p, int passive, veil_err *err)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)p->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int r = getaddrinfo(p->host, port, &hints, res);
    if (r != 0)
        return veil_err_set(err, VEIL_ERR_IO, "cannot resolve %s: %s", p->host,
                            r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
    return VEIL_OK;
}

veil_status veil_net_listen(veil_net *net, int *fd, veil_err *err)
{
    *fd = -1;
    const veil_peer *me = &net->peers[net->self];
    char addr[ADDR_MAX];
    if (net->spool != NULL)
        return VEIL_OK; /* files need no socket */
    if (me->port == 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the roster gives party %s no address to listen on", me->id);
    peer_addr(addr, sizeof addr, me);
    struct addrinfo *res = NULL;
    veil_status st = resolve(&res, me, 1, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s", addr);
    int s =
        socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, res->ai_protocol);
    int one = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, res->ai_addr, res->ai_addrlen) != 0 || listen(s, 64) != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", addr, strerror(errno));
        if (s >= 0)
            close(s);
        s = -1;
    }
    freeaddrinfo(res);
    *fd = s;
    return st;
}

static void set_nodelay(int fd)
{
    /* Small messages (the hello, protocol rounds) must not wait for
     * Nagle's algorithm. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static veil_conn *conn_new(veil_net *net, int fd, int server, long target, veil_err *err)
{
    veil_conn *c = calloc(1, sizeof *c);
    BIO *bio = NULL;
    if (c == NULL)
        goto fail;
    c->net = net;
    c->fd = fd;
    c->server = server;
    c->target = target;
    c->peer = -1;
    c->usable = 1;
    c->send_seq = 1;
    c->recv_seq = 1;
    c->ssl = SSL_new(net->ctx);
    bio = BIO_new(net->bio_method);
    if (c->ssl == NULL || bio == NULL)
        goto fail;
    BIO_set_data(bio, (void *)(intptr_t)fd);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio);
    SSL_set_app_data(c->ssl, c);
    return c;
fail:
    BIO_free(bio);
    if (c != NULL)
        SSL_free(c->ssl);
    free(c);
    ERR_clear_error();
    veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for a connection");
    return NULL;
}

/* ---- file exchange (spool.h) ---- */

/* A conversation with roster peer t through the spool: no socket, no TLS;
 * the peer is known from the start (its files are signed). */
static veil_conn *spool_conn_new(veil_net *net, long t, int server, veil_err *err)
{
    veil_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for a connection");
        return NULL;
    }
    c->net = net;
    c->fd = -1;
    c->spool = 1;
    c->server = server;
    c->target = t;
    c->peer = t;
    c->usable = 1;
    c->send_seq = 1;
    c->recv_seq = 1;
    snprintf(c->addr, sizeof c->addr, "spool %.*s", (int)(ADDR_MAX - 7), net->spool);
    snprintf(c->who, sizeof c->who, "%s (%s)", net->peers[t].id, c->addr);
    return c;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The peer's key from its published certificate, checked against the
 * roster; the conversation is then ready. */
static veil_status spool_peer(veil_conn *c, veil_err *err)
{
    veil_status st = veil_spool_peer_key(c->net->spool, &c->net->peers[c->peer], c->peer_pk, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s", c->net->peers[c->peer].id);
    c->ready = 1;
    return VEIL_OK;
}

/* Waits (as veil_net_accept) for the first message file of a roster peer
 * not returned before, addressed to this party. */
static veil_status spool_accept(veil_net *net, int timeout_ms, veil_conn **conn, veil_err *err)
{
    int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    const char *self = net->peers[net->self].id;
    for (;;) {
        for (size_t i = 0; i < net->npeers; i++) {
            if (net->spool_taken[i] || i == net->self)
                continue;
            char path[VEIL_SPOOL_PATH_MAX];
            struct stat sb;
            if (veil_spool_path(path, net->spool, net->session, net->peers[i].id, self, 1) != 0)
                return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: name too long",
                                    net->spool);
            if (lstat(path, &sb) != 0)
                continue;
            veil_conn *c = spool_conn_new(net, (long)i, 1, err);
            if (c == NULL)
                return VEIL_ERR_NOMEM;
            net->spool_taken[i] = 1;
            *conn = c;
            return VEIL_OK;
        }
        int64_t left = end - now_ms();
        if (timeout_ms < 0 || (timeout_ms > 0 && left <= 0))
            return VEIL_OK;
        sleep_ms(timeout_ms == 0 || left > 50 ? 50 : (unsigned)left);
    }
}

static veil_status spool_connect(veil_net *net, long t, veil_conn **conn, veil_err *err)
{
    /* Both directions of a conversation with itself would use the same
     * file names. */
    if ((size_t)t == net->self)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "party %s cannot exchange files with itself through the spool",
                            net->peers[t].id);
    veil_conn *c = spool_conn_new(net, t, 0, err);
    if (c == NULL)
        return VEIL_ERR_NOMEM;
    veil_status st = spool_peer(c, err);
    if (st != VEIL_OK) {
        veil_conn_close(c);
        return st;
    }
    *conn = c;
    return VEIL_OK;
}

static veil_status spool_send(veil_conn *c, uint32_t type, const void *payload, size_t len,
                              veil_err *err)
{
    veil_net *net = c->net;
    const char *self = veil_net_self(net), *peer = net->peers[c->peer].id;
    const char *session = c->t_session != NULL ? c->t_session : net->session;
    const char *sender = c->t_sender != NULL ? c->t_sender : self;
    char path[VEIL_SPOOL_PATH_MAX];
    if (veil_spool_path(path, net->spool, net->session, self, peer, c->send_seq) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: name too long", net->spool);
    uint8_t *file = NULL;
    size_t flen = 0;
    veil_status st = veil_spool_pack(&file, &flen, net->skeys, peer, c->peer_pk, session, sender,
                                     c->send_seq, type, payload, len, net->frame_max, err);
    if (st == VEIL_OK)
        st = veil_spool_write_file(path, net->spool, file, flen, err);
    if (st == VEIL_OK)
        __atomic_fetch_add(&net->bytes_sent, (uint64_t)flen, __ATOMIC_RELAXED);
    veil_secret_free(file, flen);
    return st != VEIL_OK ? veil_err_prefix(err, "%s", c->who) : VEIL_OK;
}

/* Waits up to the io timeout for the peer's next file, opens and checks
 * it, and removes it. A rejected file stays where it is (for whoever
 * investigates) and the conversation is over. */
static veil_status spool_recv(veil_conn *c, uint32_t *type, uint8_t **payload, size_t *len,
                              veil_err *err)
{
    veil_net *net = c->net;
    const char *self = veil_net_self(net), *peer = net->peers[c->peer].id;
    char path[VEIL_SPOOL_PATH_MAX];
    if (veil_spool_path(path, net->spool, net->session, peer, self, c->recv_seq) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: name too long", net->spool);
    int64_t end = now_ms() + net->io_ms;
    unsigned nap = 1;
    uint8_t *file = NULL;
    size_t flen = 0;
    for (;;) {
        int missing = 0;
        veil_status st = veil_spool_read_file(path, net->frame_max + VEIL_SPOOL_OVERHEAD, &file,
                                              &flen, &missing, err);
        if (st != VEIL_OK) {
            c->spool_recv_failed = 1;
            return veil_err_prefix(err, "%s", peer);
        }
        if (!missing)
            break;
        int64_t left = end - now_ms();
        if (left <= 0) {
            char s[32];
            return veil_err_set(err, VEIL_ERR_IO, "%s: timed out after %s waiting for %s", c->who,
                                secs(s, sizeof s, net->io_ms), path);
        }
        sleep_ms(nap < left ? nap : (unsigned)left);
        nap = nap < 32 ? nap * 2 : 50;
    }
    __atomic_fetch_add(&net->bytes_received, (uint64_t)flen, __ATOMIC_RELAXED);
    char who[VEIL_PARTY_ID_MAX + VEIL_SPOOL_PATH_MAX + 16];
    snprintf(who, sizeof who, "%s (spool file %s)", peer, path);
    veil_net_expect want = {who, net->session, peer, c->recv_seq};
    veil_status st = veil_spool_open(file, flen, net->skeys, self, c->peer_pk, &want,
                                     net->frame_max, type, payload, len, err);
    veil_secret_free(file, flen);
    if (st != VEIL_OK) {
        c->spool_recv_failed = 1;
        return st;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        int e = errno;
        free(*payload);
        *payload = NULL;
        *len = 0;
        c->spool_recv_failed = 1;
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot remove it after reading: %s", who,
                            strerror(e));
    }
    return VEIL_OK;
}

veil_status veil_net_accept(veil_net *net, int fd, int timeout_ms, veil_conn **conn, veil_err *err)
{
    *conn = NULL;
    if (net->spool != NULL)
        return spool_accept(net, timeout_ms, conn, err);
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    do
        r = poll(&p, 1, timeout_ms == 0 ? -1 : timeout_ms < 0 ? 0 : timeout_ms);
    while (r < 0 && errno == EINTR && timeout_ms == 0);
    if (r < 0 && errno != EINTR)
        return veil_err_set(err, VEIL_ERR_IO, "waiting for connections: %s", strerror(errno));
    if (r <= 0)
        return VEIL_OK;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int s = accept(fd, (struct sockaddr *)&ss, &sl);
    if (s < 0) {
        /* Another thread took it, or the client gave up already. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR)
            return VEIL_OK;
        return veil_err_set(err, VEIL_ERR_IO, "accepting a connection: %s", strerror(errno));
    }
    if (fcntl(s, F_SETFD, FD_CLOEXEC) != 0 || fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
        veil_status st =
            veil_err_set(err, VEIL_ERR_IO, "accepting a connection: %s", strerror(errno));
        close(s);
        return st;
    }
    set_nodelay(s);
    veil_conn *c = conn_new(net, s, 1, -1, err);
    if (c == NULL) {
        close(s);
        return VEIL_ERR_NOMEM;
    }
    format_addr(c->addr, sizeof c->addr, (struct sockaddr *)&ss);
    snprintf(c->who, sizeof c->who, "%s", c->addr);
    *conn = c;
    return VEIL_OK;
}

/* ---- TLS I/O ---- */

/* Reasons that mean the peer refused our certificate. */
static int is_cert_alert(unsigned long e)
{
    int r = ERR_GET_REASON(e);
    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           (r == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || r == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
            r == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
            r == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
            r == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE);
}

/* Turns a failed SSL call into a message naming the peer. `mid` is set
 * when the failure cut a message in two. */
static veil_status tls_fail(veil_conn *c, int ret, const char *during, int mid, veil_err *err)
{
    int e = SSL_get_error(c->ssl, ret);
    int sys = errno;
    c->usable = 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return veil_err_set(err, VEIL_ERR_IO, "%s: closed the connection%s", c->who,
                            mid ? " in the middle of a message" : "");
    }
    c->tls_failed = 1;
    unsigned long code = ERR_peek_error();
    if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
        ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        return veil_err_set(err, VEIL_ERR_IO,
                            "%s: closed the connection%s (without TLS close_notify)", c->who,
                            mid ? " in the middle of a message" : "");
    }
    if (e == SSL_ERROR_SYSCALL && code == 0) {
        ERR_clear_error();
        return veil_err_set(err, VEIL_ERR_IO, "%s: connection lost%s: %s", c->who, during,
                            sys != 0 ? strerror(sys) : "unexpected end of stream");
    }
    char why[256];
    veil_ssl_err_text(why, sizeof why, "no detail");
    return veil_err_set(err, VEIL_ERR_CRYPTO, "%s: TLS error%s: %s%s", c->who, during, why,
                        is_cert_alert(code)
                            ? " (the peer refused this party's certificate: is its fingerprint in "
                              "the peer's roster?)"
                            : "");
}

static veil_status timed_out(veil_conn *c, const deadline *d, const char *what, veil_err *err)
{
    char s[32];
    return veil_err_set(err, VEIL_ERR_IO, "%s: timed out after %s %s", c->who,
                        secs(s, sizeof s, d->ms), what);
}

/* Waits until the SSL object can go on after WANT_READ / WANT_WRITE. */
static veil_status ssl_wait(veil_conn *c, int want, const deadline *d, const char *what,
                            veil_err *err)
{
    int r = wait_fd(c->fd, want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, d);
    if (r > 0)
        return VEIL_OK;
    c->usable = 0;
    if (r == 0)
        return timed_out(c, d, what, err);
    return veil_err_set(err, VEIL_ERR_IO, "%s: poll: %s", c->who, strerror(errno));
}

/* Writes all of buf. */
static veil_status ssl_write_all(veil_conn *c, const uint8_t *buf, size_t len, deadline *d,
                                 veil_err *err)
{
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_write_ex(c->ssl, buf + done, len - done, &n);
        if (r == 1) {
            done += n;
            __atomic_fetch_add(&c->net->bytes_sent, (uint64_t)n, __ATOMIC_RELAXED);
            if (d->sliding)
                d->end = now_ms() + d->ms;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return tls_fail(c, r, c->ready ? " while sending" : " during the handshake", 0, err);
        veil_status st = ssl_wait(c, e, d, "sending a message (the peer does not read)", err);
        if (st != VEIL_OK)
            return st;
    }
    return VEIL_OK;
}

/* Reads exactly len bytes. `started` says whether bytes of this message
 * were read before (a timeout then breaks the stream). */
static veil_status ssl_read_all(veil_conn *c, uint8_t *buf, size_t len, deadline *d, int started,
                                const char *what, veil_err *err)
{
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_read_ex(c->ssl, buf + done, len - done, &n);
        if (r == 1) {
            done += n;
            __atomic_fetch_add(&c->net->bytes_received, (uint64_t)n, __ATOMIC_RELAXED);
            if (d->sliding)
                d->end = now_ms() + d->ms;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return tls_fail(c, r, c->ready ? "" : " during the handshake", started || done > 0,
                            err);
        int keep = c->usable;
        veil_status st = ssl_wait(c, e, d, what, err);
        if (st != VEIL_OK) {
            /* Nothing of the message consumed: the stream is still whole. */
            if (!started && done == 0 && keep)
                c->usable = 1;
            return st;
        }
    }
    return VEIL_OK;
}

/* ---- frames ---- */

static veil_status send_frame(veil_conn *c, uint64_t seq, uint32_t type, const void *payload,
                              size_t len, deadline *d, veil_err *err)
{
    const char *session = c->t_session != NULL ? c->t_session : c->net->session;
    const char *sender = c->t_sender != NULL ? c->t_sender : veil_net_self(c->net);
    size_t flen = 0;
    veil_status st = veil_net_frame_pack(&c->sbuf, &c->scap, &flen, session, sender, seq, type,
                                         payload, len, c->net->frame_max, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s", c->who);
    return ssl_write_all(c, c->sbuf, flen, d, err);
}

static veil_status recv_frame(veil_conn *c, uint64_t seq, uint32_t *type, uint8_t **payload,
                              size_t *len, deadline *d, veil_err *err)
{
    uint8_t head[VEIL_NET_FRAME_HEAD];
    veil_status st =
        ssl_read_all(c, head, sizeof head, d, 0,
                     seq == 0 ? "waiting for the peer's hello" : "waiting for a message", err);
    if (st != VEIL_OK)
        return st;
    size_t n = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    if (n > c->net->frame_max) {
        c->usable = 0;
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: message %llu is %zu bytes long; the limit is %zu", c->who,
                            (unsigned long long)seq, n, c->net->frame_max);
    }
    if (n > c->rcap) {
        uint8_t *nb = malloc(n);
        if (nb == NULL) {
            c->usable = 0;
            return veil_err_set(err, VEIL_ERR_NOMEM, "%s: out of memory for a %zu-byte message",
                                c->who, n);
        }
        veil_secret_free(c->rbuf, c->rcap);
        c->rbuf = nb;
        c->rcap = n;
    }
    st = ssl_read_all(c, c->rbuf, n, d, 1, "in the middle of a message", err);
    if (st != VEIL_OK)
        return st;
    veil_net_expect want = {c->who, c->net->session, c->peer >= 0 ? c->net->peers[c->peer].id : "",
                            seq};
    st = veil_net_envelope_open(c->rbuf, n, &want, type, payload, len, err);
    if (st != VEIL_OK)
        c->usable = 0;
    return st;
}

/* ---- handshake ---- */

/* After the TLS handshake: the peer's certificate must be pinned (the
 * verify callback already said so; this check does not depend on it). */
static veil_status authenticate(veil_conn *c, veil_err *err)
{
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    long i = pinned_index(c, SSL_get0_peer_certificate(c->ssl), fp);
    if (i < 0) {
        c->usable = 0;
        return veil_err_set(err, VEIL_ERR_CRYPTO, "%s: the peer's certificate is not pinned",
                            c->who);
    }
    c->peer = i;
    snprintf(c->who, sizeof c->who, "%s (%s)", c->net->peers[i].id, c->addr);
    return VEIL_OK;
}

static veil_status rejected(veil_conn *c, veil_err *err)
{
    char have[VEIL_FINGERPRINT_TEXT_LEN];
    veil_fingerprint_format(c->rejected_fp, have);
    if (c->server)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "%s: certificate %s is not in the roster of session %s", c->who, have,
                            c->net->session);
    const veil_peer *t = &c->net->peers[c->target];
    char want[VEIL_FINGERPRINT_TEXT_LEN];
    veil_fingerprint_format(t->fingerprint, want);
    long other = find_fp(c->net, c->rejected_fp);
    return veil_err_set(err, VEIL_ERR_CRYPTO,
                        "%s: the server's certificate %s is not the one pinned for %s (%s)%s%s",
                        c->who, have, t->id, want, other >= 0 ? "; it is party " : "",
                        other >= 0 ? c->net->peers[other].id : "");
}

/* Reads whatever the peer already sent, so that closing the socket sends
 * a FIN after our alert instead of a reset that could destroy it. */
static void drain(int fd)
{
    char buf[4096];
    /* Bounded: a peer that keeps sending cannot hold us here. */
    for (int i = 0; i < 64 && recv(fd, buf, sizeof buf, 0) > 0; i++)
        ;
}

/* TLS handshake, pinning, then the hello envelopes (sequence number 0):
 * the server speaks first, so that a client the server refused reads the
 * server's alert, and both sides learn at once whether they are in the
 * same session. The whole exchange is bounded by the connect timeout. */
static veil_status handshake(veil_conn *c, deadline *d, veil_err *err)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = c->server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            veil_status st = ssl_wait(c, e, d, "during the TLS handshake", err);
            if (st != VEIL_OK)
                return st;
            continue;
        }
        veil_status st =
            c->rejected ? rejected(c, err) : tls_fail(c, r, " during the handshake", 0, err);
        if (c->rejected) {
            ERR_clear_error();
            c->usable = 0;
            c->tls_failed = 1;
        }
        drain(c->fd);
        return st;
    }
    veil_status st = authenticate(c, err);
    uint32_t type = 0;
    uint8_t *p = NULL;
    size_t n = 0;
    if (st == VEIL_OK && c->server)
        st = send_frame(c, 0, 0, NULL, 0, d, err);
    if (st == VEIL_OK)
        st = recv_frame(c, 0, &type, &p, &n, d, err);
    if (st == VEIL_OK && !c->server)
        st = send_frame(c, 0, 0, NULL, 0, d, err);
    free(p);
    if (st != VEIL_OK) {
        c->usable = 0;
        drain(c->fd);
    }
    c->ready = st == VEIL_OK;
    return st;
}

veil_status veil_conn_handshake(veil_conn *c, veil_err *err)
{
    if (!c->server || c->ready || !c->usable)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: not an accepted connection awaiting its handshake", c->who);
    if (c->spool)
        return spool_peer(c, err);
    deadline d = deadline_in(c->net->connect_ms, 0);
    return handshake(c, &d, err);
}

/* 1 when the connected socket s is connected to itself. A connect to a
 * local port in the ephemeral range with nobody listening can be given that
 * very port as its source (TCP simultaneous open): the client then talks to
 * itself, and holds the port the real server is about to bind. */
int veil_net_self_connected(int s)
{
    struct sockaddr_storage a, b;
    socklen_t al = sizeof a, bl = sizeof b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (getsockname(s, (struct sockaddr *)&a, &al) != 0 ||
        getpeername(s, (struct sockaddr *)&b, &bl) != 0 || al != bl || a.ss_family != b.ss_family)
        return 0;
    if (a.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a, *y = (const void *)&b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a, *y = (const void *)&b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return 0;
}

/* A connection to itself is reported as refused (nobody else listens). */
static int not_self(int s)
{
    if (!veil_net_self_connected(s))
        return s;
    close(s);
    errno = ECONNREFUSED;
    return -1;
}

/* Non-blocking connect to one address within d. */
static int connect_one(const struct addrinfo *ai, const deadline *d, int *timed_out_flag)
{
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (s < 0)
        return -1;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
        return not_self(s);
    if (errno != EINPROGRESS) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    int r = wait_fd(s, POLLOUT, d);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (r > 0 && getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
        return not_self(s);
    if (r == 0)
        *timed_out_flag = 1;
    int e = r > 0 ? soerr : errno;
    close(s);
    errno = e;
    return -1;
}

veil_status veil_net_connect(veil_net *net, const char *peer_id, veil_conn **conn, veil_err *err)
{
    *conn = NULL;
    long t = find_id(net, peer_id);
    if (t < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "party \"%.80s\" is not in the roster", peer_id);
    if (net->spool != NULL)
        return spool_connect(net, t, conn, err);
    /* Connecting to itself is allowed: a department that is both an input
     * and a compute party submits to its own server process. */
    const veil_peer *p = &net->peers[t];
    if (p->port == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the roster gives party %s no address", p->id);
    char addr[ADDR_MAX];
    peer_addr(addr, sizeof addr, p);
    struct addrinfo *res = NULL;
    veil_status st = resolve(&res, p, 0, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s: connect to %s", p->id, addr);
    deadline d = deadline_in(net->connect_ms, 0);
    int s = -1, e = 0, late = 0;
    for (const struct addrinfo *ai = res; ai != NULL && s < 0 && !late; ai = ai->ai_next) {
        s = connect_one(ai, &d, &late);
        e = errno;
    }
    freeaddrinfo(res);
    char tbuf[32];
    if (s < 0 && late)
        return veil_err_set(err, VEIL_ERR_IO, "%s: connect to %s: timed out after %s", p->id, addr,
                            secs(tbuf, sizeof tbuf, net->connect_ms));
    if (s < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: connect to %s: %s", p->id, addr, strerror(e));
    set_nodelay(s);
    veil_conn *c = conn_new(net, s, 0, t, err);
    if (c == NULL) {
        close(s);
        return VEIL_ERR_NOMEM;
    }
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    snprintf(c->who, sizeof c->who, "%s (%s)", p->id, addr);
    st = handshake(c, &d, err);
    if (st != VEIL_OK) {
        veil_conn_close(c);
        return st;
    }
    *conn = c;
    return VEIL_OK;
}

const char *veil_conn_peer(const veil_conn *c)
{
    return c->peer >= 0 ? c->net->peers[c->peer].id : "";
}

const char *veil_conn_addr(const veil_conn *c)
{
    return c->addr;
}

static veil_status check_ready(veil_conn *c, veil_err *err)
{
    if (!c->ready)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: the handshake has not been done", c->who);
    if (!c->usable)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: the connection failed earlier; close it",
                            c->who);
    return VEIL_OK;
}

veil_status veil_conn_send(veil_conn *c, uint32_t type, const void *payload, size_t len,
                           veil_err *err)
{
    veil_status st = check_ready(c, err);
    if (st != VEIL_OK)
        return st;
    deadline d = deadline_in(c->net->io_ms, 1);
    if (c->spool)
        st = spool_send(c, type, payload, len, err);
    else
        st = send_frame(c, c->send_seq, type, payload, len, &d, err);
    if (st == VEIL_OK)
        c->send_seq++;
    else if (st != VEIL_ERR_INTERNAL)
        c->usable = 0;
    return st;
}

veil_status veil_conn_recv(veil_conn *c, uint32_t *type, uint8_t **payload, size_t *len,
                           veil_err *err)
{
    *type = 0;
    *payload = NULL;
    *len = 0;
    veil_status st = check_ready(c, err);
    if (st != VEIL_OK)
        return st;
    if (c->spool_recv_failed)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: the connection failed earlier; close it",
                            c->who);
    deadline d = deadline_in(c->net->io_ms, 1);
    if (c->spool)
        st = spool_recv(c, type, payload, len, err);
    else
        st = recv_frame(c, c->recv_seq, type, payload, len, &d, err);
    if (st == VEIL_OK)
        c->recv_seq++;
    return st;
}

void veil_conn_close(veil_conn *c)
{
    if (c == NULL)
        return;
    if (c->ssl != NULL && c->peer >= 0 && !c->tls_failed) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl); /* one non-blocking try at close_notify */
    }
    ERR_clear_error();
    SSL_free(c->ssl);
    if (c->fd >= 0) {
        drain(c->fd);
        close(c->fd);
    }
    veil_secret_free(c->sbuf, c->scap);
    veil_secret_free(c->rbuf, c->rcap);
    free(c->t_session);
    free(c->t_sender);
    free(c);
}

/* ---- test hooks ---- */

void veil_conn_test_set_send_seq(veil_conn *c, uint64_t next)
{
    c->send_seq = next;
}

int veil_conn_test_override(veil_conn *c, const char *session, const char *sender)
{
    free(c->t_session);
    free(c->t_sender);
    c->t_session = session != NULL ? strdup(session) : NULL;
    c->t_sender = sender != NULL ? strdup(sender) : NULL;
    return (session != NULL && c->t_session == NULL) || (sender != NULL && c->t_sender == NULL) ? -1
                                                                                                : 0;
}

veil_status veil_conn_test_write(veil_conn *c, const void *buf, size_t len, veil_err *err)
{
    if (c->spool)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: no TLS stream in spool mode", c->who);
    deadline d = deadline_in(c->net->io_ms, 1);
    return ssl_write_all(c, buf, len, &d, err);
}
