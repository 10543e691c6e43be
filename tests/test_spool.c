/* net/'s file exchange (net/spool.h): one message file packed and opened
 * (round trip; every kind of tampering refused with its own message), and
 * the channel in spool mode between two parties of one process sharing a
 * directory — files consumed, mode 0600, a leftover refused, a file never
 * replaced, certificates checked against the roster, timeouts. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../net/spool.h"
#include "framing.h"
#include "testutil.h"
#include "veil/net.h"

#define SESSION   "census-2024"
#define FRAME_MAX 4096u

/* Message keys of three parties (from fixed seeds) for the pure tests. */
static veil_spool_keys k_tax, k_edu, k_soc;
/* Identities and a roster for the channel tests. */
static char *dir, *d_tax, *d_edu, *d_imp;
static uint8_t fp_tax[32], fp_edu[32];

static int make_identity(char **d, const char *name, const char *id, uint8_t fp[32])
{
    veil_err err;
    char text[VEIL_FINGERPRINT_TEXT_LEN];
    *d = tu_path(dir, name);
    if (veil_party_init(*d, id, 0, text, &err) != VEIL_OK)
        return -1;
    return veil_fingerprint_parse(fp, text, &err) == VEIL_OK ? 0 : -1;
}

/* 1 when needle[0..n) occurs in hay[0..len). */
static int contains(const uint8_t *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static int keys(veil_spool_keys *k, uint8_t fill)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    return veil_spool_keys_from_seed(k, seed);
}

static int suite_init(void)
{
    if (sodium_init() < 0 || keys(&k_tax, 1) != 0 || keys(&k_edu, 2) != 0 || keys(&k_soc, 3) != 0)
        return 1;
    dir = tu_tempdir();
    if (dir == NULL)
        return 1;
    uint8_t fp_imp[32];
    return make_identity(&d_tax, "tax", "tax", fp_tax) ||
           make_identity(&d_edu, "education", "education", fp_edu) ||
           make_identity(&d_imp, "impostor", "education", fp_imp);
}

static int suite_cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    free(d_tax);
    free(d_edu);
    free(d_imp);
    return 0;
}

/* ---- one message file ---- */

static const char MSG[] = "blinded resident ids, block 1";

/* A file from tax to education with the given envelope fields, signed
 * with `signer`, addressed (in the signature) to `recipient` and sealed to
 * `seal_pk`. */
static size_t pack(uint8_t **out, const veil_spool_keys *signer, const char *recipient,
                   const uint8_t *seal_pk, const char *session, const char *sender, uint64_t seq)
{
    veil_err err;
    size_t len = 0;
    veil_status st = veil_spool_pack(out, &len, signer, recipient, seal_pk, session, sender, seq,
                                     17, MSG, sizeof MSG, FRAME_MAX, &err);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    return len;
}

static const veil_net_expect WANT = {"tax (spool file x.msg)", SESSION, "tax", 3};

/* Opens buf as education expecting message 3 from tax; on failure checks
 * the code, the message and that nothing was returned. */
static veil_status open_as(const uint8_t *buf, size_t len, const veil_spool_keys *k,
                           const char *self, veil_status want_st, const char *needle)
{
    veil_err err;
    veil_err_clear(&err);
    uint32_t type = 99;
    uint8_t *p = (uint8_t *)"not touched";
    size_t plen = 99;
    veil_status st =
        veil_spool_open(buf, len, k, self, k_tax.sign_pk, &WANT, FRAME_MAX, &type, &p, &plen, &err);
    if (want_st == VEIL_OK) {
        CU_ASSERT_EQUAL(st, VEIL_OK);
        CU_ASSERT_EQUAL(type, 17);
        CU_ASSERT_EQUAL(plen, sizeof MSG);
        CU_ASSERT(p != NULL && memcmp(p, MSG, sizeof MSG) == 0);
        free(p);
        return st;
    }
    TU_ASSERT_ERR(st, err, want_st, needle);
    CU_ASSERT(strncmp(err.msg, WANT.who, strlen(WANT.who)) == 0);
    CU_ASSERT(p == NULL && plen == 0 && type == 0);
    return st;
}

static void test_pack_open_round_trip(void)
{
    uint8_t *f = NULL;
    size_t len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 3);
    CU_ASSERT(memcmp(f, "VEILSPL1", 8) == 0);
    size_t sealed = (size_t)f[8] << 24 | (size_t)f[9] << 16 | (size_t)f[10] << 8 | f[11];
    CU_ASSERT_EQUAL(sealed, len - VEIL_SPOOL_HEAD);
    CU_ASSERT(len > VEIL_SPOOL_OVERHEAD + sizeof MSG);
    CU_ASSERT(len <= VEIL_SPOOL_OVERHEAD + sizeof MSG + VEIL_NET_ENVELOPE_OVERHEAD);
    /* The payload, the session and the sender are inside the seal. */
    CU_ASSERT(!contains(f, len, MSG, 8));
    CU_ASSERT(!contains(f, len, SESSION, strlen(SESSION)));
    CU_ASSERT(!contains(f, len, "tax", 3));
    open_as(f, len, &k_edu, "education", VEIL_OK, NULL);
    /* Sealing is randomized: the same message packs differently. */
    uint8_t *g = NULL;
    size_t glen = pack(&g, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 3);
    CU_ASSERT(glen == len && memcmp(f, g, len) != 0);
    open_as(g, glen, &k_edu, "education", VEIL_OK, NULL);
    veil_secret_free(f, len);
    veil_secret_free(g, glen);

    /* An empty payload. */
    veil_err err;
    uint8_t *e = NULL, *p = NULL;
    size_t elen = 0, plen = 1;
    uint32_t type = 0;
    CU_ASSERT_EQUAL(veil_spool_pack(&e, &elen, &k_tax, "education", k_edu.sign_pk, SESSION, "tax",
                                    3, 5, NULL, 0, FRAME_MAX, &err),
                    VEIL_OK);
    CU_ASSERT_EQUAL(veil_spool_open(e, elen, &k_edu, "education", k_tax.sign_pk, &WANT, FRAME_MAX,
                                    &type, &p, &plen, &err),
                    VEIL_OK);
    CU_ASSERT(type == 5 && p == NULL && plen == 0);
    veil_secret_free(e, elen);

    /* Over the frame limit: refused when packing. */
    static uint8_t big[FRAME_MAX];
    veil_status st = veil_spool_pack(&e, &elen, &k_tax, "education", k_edu.sign_pk, SESSION, "tax",
                                     3, 5, big, sizeof big, FRAME_MAX, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INTERNAL, "over the channel's limit of 3584 bytes");
    CU_ASSERT(e == NULL && elen == 0);
    st = veil_spool_pack(&e, &elen, &k_tax, "edu cation", k_edu.sign_pk, SESSION, "tax", 3, 5, NULL,
                         0, FRAME_MAX, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INTERNAL, "invalid recipient id");
}

static void test_open_refuses_bad_framing(void)
{
    uint8_t *f = NULL;
    size_t len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 3);
    uint8_t *b = malloc(len + 1);
    CU_ASSERT_FATAL(b != NULL);
    char want[200];

    /* magic */
    memcpy(b, f, len);
    b[7] = '2';
    open_as(b, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): not a veil message file (no VEILSPL1 header)");
    open_as(b, 3, &k_edu, "education", VEIL_ERR_INPUT, "no VEILSPL1 header");
    open_as(b, 0, &k_edu, "education", VEIL_ERR_INPUT, "no VEILSPL1 header");
    /* the length head cut off */
    open_as(f, 10, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): truncated (10 bytes, no length)");
    /* the sealed box cut short */
    snprintf(want, sizeof want,
             "tax (spool file x.msg): truncated (%zu bytes; its header announces %zu)", len - 1,
             len);
    open_as(f, len - 1, &k_edu, "education", VEIL_ERR_INPUT, want);
    snprintf(want, sizeof want, "truncated (12 bytes; its header announces %zu)", len);
    open_as(f, 12, &k_edu, "education", VEIL_ERR_INPUT, want);
    /* trailing bytes */
    memcpy(b, f, len);
    b[len] = 0;
    open_as(b, len + 1, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): 1 trailing byte(s) after the message");
    /* a length head that announces more than the limit allows */
    memcpy(b, f, len);
    b[8] = 0x7f;
    snprintf(want, sizeof want, "announces a %zu-byte message; the limit is %u",
             (size_t)0x7f << 24 | (size_t)b[9] << 16 | (size_t)b[10] << 8 | b[11],
             FRAME_MAX + crypto_box_SEALBYTES + crypto_sign_BYTES);
    open_as(b, len, &k_edu, "education", VEIL_ERR_INPUT, want);
    /* a length head too short for a seal and a signature */
    uint8_t tiny[VEIL_SPOOL_HEAD + 8] = "VEILSPL1";
    tiny[11] = 8;
    open_as(tiny, sizeof tiny, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): truncated (a 8-byte sealed message)");
    /* a whole file over the limit, refused before anything is read */
    size_t huge = FRAME_MAX + VEIL_SPOOL_OVERHEAD + 1;
    uint8_t *h = calloc(1, huge);
    CU_ASSERT_FATAL(h != NULL);
    snprintf(want, sizeof want, "the file is %zu bytes; the limit is %zu", huge, huge - 1);
    open_as(h, huge, &k_edu, "education", VEIL_ERR_INPUT, want);
    free(h);
    /* the self id is checked before it is signed over */
    open_as(f, len, &k_edu, "edu/cation", VEIL_ERR_INTERNAL, "invalid recipient id");
    free(b);
    veil_secret_free(f, len);
}

static void test_open_refuses_other_recipient_and_alteration(void)
{
    uint8_t *f = NULL;
    size_t len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 3);
    /* social cannot open what was sealed to education */
    open_as(f, len, &k_soc, "social", VEIL_ERR_INPUT,
            "tax (spool file x.msg): cannot be opened: it is not sealed to social, or it was "
            "altered");
    /* any byte of the box flipped: ephemeral key, MAC, ciphertext */
    size_t at[] = {VEIL_SPOOL_HEAD, VEIL_SPOOL_HEAD + 40, VEIL_SPOOL_HEAD + 60, len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        f[at[i]] ^= 0x20;
        open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
                "cannot be opened: it is not sealed to education, or it was altered");
        f[at[i]] ^= 0x20;
    }
    open_as(f, len, &k_edu, "education", VEIL_OK, NULL);
    veil_secret_free(f, len);
}

static void test_open_refuses_bad_signature(void)
{
    /* Sealed to education but signed by social's key. */
    uint8_t *f = NULL;
    size_t len = pack(&f, &k_soc, "education", k_edu.sign_pk, SESSION, "tax", 3);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): bad signature: message 3 is not signed by tax's pinned key "
            "for education");
    veil_secret_free(f, len);
    /* Signed by tax for social, then sealed to education (what social
     * could do with a message tax sent it): the signature names the
     * recipient. */
    len = pack(&f, &k_tax, "social", k_edu.sign_pk, SESSION, "tax", 3);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "bad signature: message 3 is not signed by tax's pinned key for education");
    veil_secret_free(f, len);
}

static void test_open_refuses_wrong_envelope(void)
{
    uint8_t *f = NULL;
    size_t len = pack(&f, &k_tax, "education", k_edu.sign_pk, "census-2023", "tax", 3);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): message 3 belongs to session \"census-2023\", not to "
            "session \"census-2024\"");
    veil_secret_free(f, len);
    len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "social", 3);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): message 3 claims to come from \"social\", but the "
            "authenticated peer is \"tax\"");
    veil_secret_free(f, len);
    len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 2);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): message 2 replayed (expected 3)");
    veil_secret_free(f, len);
    len = pack(&f, &k_tax, "education", k_edu.sign_pk, SESSION, "tax", 4);
    open_as(f, len, &k_edu, "education", VEIL_ERR_INPUT,
            "tax (spool file x.msg): message 4 out of order (expected 3)");
    veil_secret_free(f, len);
}

/* ---- the channel in spool mode ---- */

static veil_peer roster[2];

static veil_status spool_net(veil_net **net, const char *idir, const char *self, const char *spool,
                             unsigned io_ms, veil_err *err)
{
    memset(roster, 0, sizeof roster);
    snprintf(roster[0].id, sizeof roster[0].id, "tax");
    memcpy(roster[0].fingerprint, fp_tax, 32);
    snprintf(roster[1].id, sizeof roster[1].id, "education");
    memcpy(roster[1].fingerprint, fp_edu, 32);
    veil_roster r = {roster, 2};
    veil_net_config cfg = {idir, self, SESSION, &r, 1000, io_ms, FRAME_MAX, spool};
    return veil_net_new(net, &cfg, err);
}

static unsigned file_mode(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 ? (unsigned)(sb.st_mode & 07777) : 0;
}

static char *msg_path(const char *spool, const char *from, const char *to, unsigned seq)
{
    char name[256];
    snprintf(name, sizeof name, SESSION ",%s,%s,%u.msg", from, to, seq);
    return tu_path(spool, name);
}

/* A fresh spool directory under the suite's directory. */
static char *new_spool(const char *name)
{
    char *s = tu_path(dir, name);
    CU_ASSERT_FATAL(mkdir(s, 0700) == 0);
    return s;
}

static void test_channel_exchange(void)
{
    char *spool = new_spool("spool-exchange");
    veil_err err;
    veil_net *edu = NULL, *tax = NULL;
    CU_ASSERT_EQUAL_FATAL(spool_net(&edu, d_edu, "education", spool, 2000, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(spool_net(&tax, d_tax, "tax", spool, 2000, &err), VEIL_OK);
    char *crt = tu_path(spool, "certs/tax.crt");
    CU_ASSERT(access(crt, R_OK) == 0);
    int fd = 99;
    CU_ASSERT_EQUAL(veil_net_listen(edu, &fd, &err), VEIL_OK);
    CU_ASSERT_EQUAL(fd, -1);
    veil_conn *a = NULL, *c = NULL;
    CU_ASSERT_EQUAL(veil_net_accept(edu, fd, -1, &a, &err), VEIL_OK);
    CU_ASSERT(a == NULL); /* nothing sent yet */

    CU_ASSERT_EQUAL_FATAL(veil_net_connect(tax, "education", &c, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(veil_conn_peer(c), "education");
    CU_ASSERT_EQUAL(veil_conn_send(c, 1, "hello", 5, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_send(c, 2, NULL, 0, &err), VEIL_OK);
    char *m1 = msg_path(spool, "tax", "education", 1);
    char *m2 = msg_path(spool, "tax", "education", 2);
    CU_ASSERT_EQUAL(file_mode(m1), 0600);
    CU_ASSERT_EQUAL(file_mode(m2), 0600);

    CU_ASSERT_EQUAL(veil_net_accept(edu, fd, 1000, &a, &err), VEIL_OK);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL_FATAL(veil_conn_handshake(a, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(veil_conn_peer(a), "tax");
    uint32_t type = 0;
    uint8_t *p = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(veil_conn_recv(a, &type, &p, &len, &err), VEIL_OK);
    CU_ASSERT(type == 1 && len == 5 && p != NULL && memcmp(p, "hello", 5) == 0);
    free(p);
    CU_ASSERT(access(m1, F_OK) != 0 && errno == ENOENT); /* consumed */
    CU_ASSERT_EQUAL(veil_conn_recv(a, &type, &p, &len, &err), VEIL_OK);
    CU_ASSERT(type == 2 && len == 0 && p == NULL);
    CU_ASSERT(access(m2, F_OK) != 0);
    /* A second conversation from the same peer is not offered. */
    veil_conn *again = NULL;
    CU_ASSERT_EQUAL(veil_net_accept(edu, fd, -1, &again, &err), VEIL_OK);
    CU_ASSERT(again == NULL);

    /* The reply, 3000 bytes byte-exact. */
    uint8_t big[3000];
    randombytes_buf(big, sizeof big);
    CU_ASSERT_EQUAL(veil_conn_send(a, 7, big, sizeof big, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_recv(c, &type, &p, &len, &err), VEIL_OK);
    CU_ASSERT(type == 7 && len == sizeof big && memcmp(p, big, sizeof big) == 0);
    free(p);
    uint64_t sent = 0, received = 0;
    veil_net_traffic(tax, &sent, &received);
    CU_ASSERT(sent > 2 * VEIL_SPOOL_OVERHEAD && received > sizeof big + VEIL_SPOOL_OVERHEAD);

    /* Nothing waits: the next receive times out naming the file. */
    veil_net *quick = NULL;
    CU_ASSERT_EQUAL_FATAL(spool_net(&quick, d_tax, "tax", spool, 200, &err), VEIL_OK);
    veil_conn *q = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_net_connect(quick, "education", &q, &err), VEIL_OK);
    char *m = msg_path(spool, "education", "tax", 1);
    char want[512];
    snprintf(want, sizeof want, "timed out after 0.2 s waiting for %s", m);
    veil_status st = veil_conn_recv(q, &type, &p, &len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_IO, want);
    free(m);
    veil_conn_close(q);
    veil_net_free(quick);

    /* No conversation with oneself. */
    st = veil_net_connect(tax, "tax", &q, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "party tax cannot exchange files with itself");

    veil_conn_close(a);
    veil_conn_close(c);
    veil_net_free(edu);
    veil_net_free(tax);
    free(m1);
    free(m2);
    free(crt);
    tu_rmtree(spool);
    free(spool);
}

static void test_channel_leftover_refused(void)
{
    char *spool = new_spool("spool-leftover");
    veil_err err;
    veil_net *edu = NULL, *tax = NULL;
    CU_ASSERT_EQUAL_FATAL(spool_net(&edu, d_edu, "education", spool, 1000, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(spool_net(&tax, d_tax, "tax", spool, 1000, &err), VEIL_OK);
    veil_conn *c = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_net_connect(tax, "education", &c, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_send(c, 1, "x", 1, &err), VEIL_OK);
    veil_conn_close(c);
    veil_net_free(tax);
    tax = NULL;
    /* tax runs the session again while its first message is still there. */
    char want[512];
    snprintf(want, sizeof want,
             "spool directory %s holds " SESSION
             ",tax,education,1.msg, a message of session " SESSION " sent by tax in an earlier run",
             spool);
    veil_status st = spool_net(&tax, d_tax, "tax", spool, 1000, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, want);
    CU_ASSERT(tax == NULL);
    /* A file is never replaced. */
    char *m1 = msg_path(spool, "tax", "education", 1);
    st = veil_spool_write_file(m1, spool, (const uint8_t *)"y", 1, &err);
    snprintf(want, sizeof want, "%s already exists: a leftover of an earlier run", m1);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, want);
    size_t n = 0;
    char *data = tu_read_file(m1, &n);
    CU_ASSERT(data != NULL && n > 1);
    free(data);
    /* No temporary file is left behind. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c tmp", spool);
    char *out = NULL, *eout = NULL;
    tu_run(cmd, &out, &eout);
    CU_ASSERT(out != NULL && strcmp(out, "0\n") == 0);
    free(out);
    free(eout);
    /* Another session's files are no leftover of this one. */
    unlink(m1);
    CU_ASSERT_EQUAL(veil_spool_write_file(m1, spool, (const uint8_t *)"y", 1, &err), VEIL_OK);
    char *other = tu_path(spool, "census-2023,tax,education,1.msg");
    CU_ASSERT(rename(m1, other) == 0);
    CU_ASSERT_EQUAL(spool_net(&tax, d_tax, "tax", spool, 1000, &err), VEIL_OK);
    veil_net_free(tax);
    veil_net_free(edu);
    free(other);
    free(m1);
    tu_rmtree(spool);
    free(spool);
}

static void test_channel_refuses_bad_files(void)
{
    char *spool = new_spool("spool-bad");
    veil_err err;
    veil_net *edu = NULL, *tax = NULL;
    CU_ASSERT_EQUAL_FATAL(spool_net(&tax, d_tax, "tax", spool, 1000, &err), VEIL_OK);
    veil_conn *c = NULL;
    /* education has not published its certificate yet */
    char want[600];
    snprintf(want, sizeof want,
             "%s/certs/education.crt: education has not published its "
             "certificate yet",
             spool);
    veil_status st = veil_net_connect(tax, "education", &c, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_IO, want);
    CU_ASSERT(c == NULL);
    /* an impostor's certificate published under education's name */
    char *crt = tu_path(spool, "certs/education.crt");
    char *imp = tu_path(d_imp, "party.crt");
    size_t n = 0;
    char *pem = tu_read_file(imp, &n);
    CU_ASSERT_FATAL(pem != NULL);
    CU_ASSERT(tu_write_file(crt, pem, n) == 0);
    free(pem);
    st = veil_net_connect(tax, "education", &c, &err);
    snprintf(want, sizeof want, "%s: certificate sha256:", crt);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, want);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "is not the one the roster pins for education");
    CU_ASSERT(tu_write_file(crt, "junk", 4) == 0);
    st = veil_net_connect(tax, "education", &c, &err);
    snprintf(want, sizeof want, "%s: not a PEM certificate", crt);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, want);

    /* education publishes its own certificate; tax sends two messages */
    CU_ASSERT_EQUAL_FATAL(spool_net(&edu, d_edu, "education", spool, 1000, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_net_connect(tax, "education", &c, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_send(c, 1, "one", 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_send(c, 2, "two", 3, &err), VEIL_OK);
    veil_conn *a = NULL;
    CU_ASSERT_EQUAL(veil_net_accept(edu, -1, 1000, &a, &err), VEIL_OK);
    CU_ASSERT_FATAL(a != NULL);
    CU_ASSERT_EQUAL_FATAL(veil_conn_handshake(a, &err), VEIL_OK);
    uint32_t type = 0;
    uint8_t *p = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(veil_conn_recv(a, &type, &p, &len, &err), VEIL_OK);
    free(p);
    /* message 2 altered on disk: refused naming the file, left in place,
     * and the conversation is over */
    char *m2 = msg_path(spool, "tax", "education", 2);
    char *data = tu_read_file(m2, &n);
    CU_ASSERT_FATAL(data != NULL && n > 50);
    data[n - 1] ^= 1;
    CU_ASSERT(unlink(m2) == 0 && tu_write_file(m2, data, n) == 0);
    free(data);
    st = veil_conn_recv(a, &type, &p, &len, &err);
    snprintf(want, sizeof want,
             "tax (spool file %s): cannot be opened: it is not sealed to education, or it was "
             "altered",
             m2);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, want);
    CU_ASSERT(p == NULL && len == 0);
    CU_ASSERT(access(m2, F_OK) == 0);
    st = veil_conn_recv(a, &type, &p, &len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "the connection failed earlier; close it");
    veil_conn_close(a);

    /* message 3 a symbolic link, message 4 over the size limit */
    veil_net *edu2 = NULL;
    CU_ASSERT_EQUAL_FATAL(spool_net(&edu2, d_edu, "education", spool, 1000, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_conn_send(c, 3, "three", 5, &err), VEIL_OK);
    veil_conn *b = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_net_connect(edu2, "tax", &b, &err), VEIL_OK);
    char *r1 = msg_path(spool, "tax", "education", 1);
    CU_ASSERT(symlink(m2, r1) == 0);
    /* b is education's side of the same pair: it reads tax's message 1 */
    st = veil_conn_recv(b, &type, &p, &len, &err);
    snprintf(want, sizeof want, "tax: %s: a symbolic link, not a file", r1);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, want);
    veil_conn_close(b);
    CU_ASSERT(unlink(r1) == 0);
    CU_ASSERT_EQUAL_FATAL(veil_net_connect(edu2, "tax", &b, &err), VEIL_OK);
    FILE *fh = fopen(r1, "wb");
    CU_ASSERT_FATAL(fh != NULL);
    CU_ASSERT(fseek(fh, FRAME_MAX + VEIL_SPOOL_OVERHEAD, SEEK_SET) == 0 && fputc(0, fh) == 0);
    fclose(fh);
    st = veil_conn_recv(b, &type, &p, &len, &err);
    snprintf(want, sizeof want, "tax: %s: the file is %u bytes; the limit is %u", r1,
             FRAME_MAX + (unsigned)VEIL_SPOOL_OVERHEAD + 1,
             FRAME_MAX + (unsigned)VEIL_SPOOL_OVERHEAD);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, want);
    veil_conn_close(b);

    veil_conn_close(c);
    veil_net_free(edu2);
    veil_net_free(edu);
    veil_net_free(tax);
    free(r1);
    free(m2);
    free(imp);
    free(crt);
    tu_rmtree(spool);
    free(spool);
}

static void test_spool_dir_checked(void)
{
    veil_err err;
    veil_net *tax = NULL;
    char *missing = tu_path(dir, "no-such-spool");
    veil_status st = spool_net(&tax, d_tax, "tax", missing, 1000, &err);
    char want[600];
    snprintf(want, sizeof want, "spool directory %s: No such file or directory", missing);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, want);
    char *file = tu_path(dir, "a-file");
    CU_ASSERT(tu_write_file(file, "x", 1) == 0);
    st = spool_net(&tax, d_tax, "tax", file, 1000, &err);
    snprintf(want, sizeof want, "spool directory %s: not a directory", file);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, want);
    CU_ASSERT(tax == NULL);
    free(file);
    free(missing);
}

int main(void)
{
    static const tu_test tests[] = {
        {"spool file: round trip, sealed, randomized, empty payload, size limit",
         test_pack_open_round_trip},
        {"spool file: magic, truncated head, truncated box, trailing bytes, oversize",
         test_open_refuses_bad_framing},
        {"spool file: another recipient's key, any byte altered",
         test_open_refuses_other_recipient_and_alteration},
        {"spool file: signed by another key, signed for another recipient",
         test_open_refuses_bad_signature},
        {"spool file: wrong session, sender, replayed and skipped sequence numbers",
         test_open_refuses_wrong_envelope},
        {"spool channel: messages both ways, files 0600 and consumed, timeout, no self",
         test_channel_exchange},
        {"spool channel: a leftover of an earlier run refused, a file never replaced",
         test_channel_leftover_refused},
        {"spool channel: certificates checked, altered file, symbolic link, oversize",
         test_channel_refuses_bad_files},
        {"spool channel: the directory must exist", test_spool_dir_checked},
        {NULL, NULL},
    };
    return tu_main("spool", suite_init, suite_cleanup, tests);
}
