/* Tests for the audit log (veil/audit.h): init/open and their refusals,
 * entries round trip, every kind of tampering detected with the entry
 * named (every single byte flipped, records deleted, inserted, swapped,
 * a log re-signed with another key), an incomplete tail recovered by the
 * next append, appends refused after a tampered last record, and two
 * processes appending at once. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/audit.h"

static char *g_dir;
static int g_count;

static int suite_init(void)
{
    if (sodium_init() < 0)
        return -1;
    g_dir = tu_tempdir();
    return g_dir == NULL ? -1 : 0;
}

static int suite_cleanup(void)
{
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* A fresh audit directory under the suite's temporary directory. */
static char *new_dir(char pub_hex[65])
{
    char name[32];
    snprintf(name, sizeof name, "a%d", g_count++);
    char *dir = tu_path(g_dir, name);
    veil_err err;
    char hex[65];
    CU_ASSERT_EQUAL_FATAL(veil_audit_init(dir, "hospital-1", 0, pub_hex ? pub_hex : hex, &err),
                          VEIL_OK);
    return dir;
}

static char *log_of(const char *dir)
{
    return tu_path(dir, "audit.log");
}

/* Appends entry i of a fixed family of entries (deterministic fields). */
static void append_nth(veil_audit_signer *s, int i)
{
    char val[32], path_in[32], path_out[32];
    snprintf(val, sizeof val, "%d", i * 7);
    snprintf(path_in, sizeof path_in, "in-%d.csv", i);
    snprintf(path_out, sizeof path_out, "out-%d.vct", i);
    veil_audit_param p[2] = {{"scale", val}, {"column", "income"}};
    veil_audit_file in[2], out[1];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    in[0].path = path_in;
    in[0].present = 1;
    in[0].size = 1000u + (unsigned)i;
    memset(in[0].digest, 0xa0 + i, sizeof in[0].digest);
    in[1].path = "-";
    out[0].path = path_out;
    out[0].present = 1;
    out[0].size = 17;
    memset(out[0].digest, i, sizeof out[0].digest);
    veil_audit_event ev = {.operation = i % 2 ? "encrypt" : "sum serve",
                           .params = p,
                           .nparams = (size_t)(i % 3),
                           .inputs = in,
                           .ninputs = 2,
                           .outputs = out,
                           .noutputs = (size_t)(i % 2),
                           .status = i == 4 ? 3 : 0,
                           .message = i == 4 ? "x.csv:3: bad number" : NULL,
                           .time_ms = 1700000000000 + i};
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_audit_append(s, &ev, &err), VEIL_OK);
}

/* A log of n entries in a fresh directory; returns the directory. */
static char *make_log(int n, char pub_hex[65])
{
    char *dir = new_dir(pub_hex);
    veil_audit_signer *s = NULL;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    for (int i = 0; i < n; i++)
        append_nth(s, i);
    veil_audit_close(s);
    return dir;
}

/* Collects the entries' offsets, seqs, operations and hashes. */
typedef struct {
    int n;
    uint64_t offset[256];
    uint64_t seq[256];
    char op[256][80];
    uint8_t hash[256][32];
    int stop_after; /* 0: never */
    int bad;        /* a field differed from append_nth's */
} collect;

static int check_nth(const veil_audit_entry *e, int i)
{
    char val[32], path_in[32], path_out[32];
    snprintf(val, sizeof val, "%d", i * 7);
    snprintf(path_in, sizeof path_in, "in-%d.csv", i);
    snprintf(path_out, sizeof path_out, "out-%d.vct", i);
    uint8_t d[32];
    int ok = e->seq == (uint64_t)i && e->time_ms == 1700000000000 + i &&
             strcmp(e->party, "hospital-1") == 0 &&
             strcmp(e->operation, i % 2 ? "encrypt" : "sum serve") == 0 &&
             e->nparams == (size_t)(i % 3) && e->ninputs == 2 && e->noutputs == (size_t)(i % 2) &&
             e->status == (i == 4 ? 3 : 0) &&
             (i == 4 ? e->message != NULL && strcmp(e->message, "x.csv:3: bad number") == 0
                     : e->message == NULL);
    if (!ok)
        return 0;
    if (e->nparams >= 1 && (strcmp(e->params[0].name, "scale") || strcmp(e->params[0].value, val)))
        return 0;
    if (e->nparams >= 2 &&
        (strcmp(e->params[1].name, "column") || strcmp(e->params[1].value, "income")))
        return 0;
    memset(d, 0xa0 + i, 32);
    if (strcmp(e->inputs[0].path, path_in) || !e->inputs[0].present ||
        e->inputs[0].size != 1000u + (unsigned)i || memcmp(e->inputs[0].digest, d, 32))
        return 0;
    if (strcmp(e->inputs[1].path, "-") || e->inputs[1].present || e->inputs[1].size != 0)
        return 0;
    memset(d, i, 32);
    if (e->noutputs == 1 && (strcmp(e->outputs[0].path, path_out) || !e->outputs[0].present ||
                             e->outputs[0].size != 17 || memcmp(e->outputs[0].digest, d, 32)))
        return 0;
    return 1;
}

static int collect_fn(void *ctx, const veil_audit_entry *e)
{
    collect *c = ctx;
    if (c->n >= 256)
        return 1;
    c->offset[c->n] = e->offset;
    c->seq[c->n] = e->seq;
    snprintf(c->op[c->n], sizeof c->op[c->n], "%s", e->operation);
    memcpy(c->hash[c->n], e->hash, 32);
    if (strcmp(e->operation, "encrypt") == 0 || strcmp(e->operation, "sum serve") == 0)
        if (c->seq[c->n] < 10 && !check_nth(e, (int)e->seq))
            c->bad = 1;
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

/* Reads the log and the offsets of its records (verify must pass). */
static uint8_t *load_log(const char *dir, size_t *len, collect *c)
{
    char *path = log_of(dir);
    memset(c, 0, sizeof *c);
    veil_audit_report rep;
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_verify(path, NULL, collect_fn, c, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    uint8_t *buf = (uint8_t *)tu_read_file(path, len);
    free(path);
    return buf;
}

static veil_status verify_buf(const uint8_t *buf, size_t len, const uint8_t *pub,
                              veil_audit_report *rep, veil_err *err)
{
    return veil_audit_verify_mem(buf, len, "audit.log", pub, NULL, NULL, rep, err);
}

/* ================= init and open ================= */

static void test_init_files_and_refusals(void)
{
    char hex[65];
    char *dir = new_dir(hex);
    char *key = tu_path(dir, "audit.key"), *pub = tu_path(dir, "audit.pub"), *log = log_of(dir);
    struct stat sb;
    CU_ASSERT(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
    CU_ASSERT(stat(key, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CU_ASSERT(stat(pub, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    CU_ASSERT(stat(log, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CU_ASSERT_EQUAL(strlen(hex), 64);
    uint8_t pk[32], want[32];
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_read_pub(pk, pub, &err), VEIL_OK);
    CU_ASSERT_EQUAL(sodium_hex2bin(want, 32, hex, 64, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(memcmp(pk, want, 32), 0);

    /* An empty log verifies, complete, with no entries, under that key. */
    veil_audit_report rep;
    CU_ASSERT_EQUAL(veil_audit_verify(log, pk, NULL, NULL, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    CU_ASSERT_EQUAL(rep.entries, 0);
    CU_ASSERT_STRING_EQUAL(rep.party, "hospital-1");

    char hex2[65];
    TU_ASSERT_ERR(veil_audit_init(dir, "hospital-1", 0, hex2, &err), err, VEIL_ERR_USAGE,
                  "refusing to overwrite");
    TU_ASSERT_ERR(veil_audit_init(dir, "bad party", 0, hex2, &err), err, VEIL_ERR_USAGE,
                  "party id \"bad party\"");

    /* Two entries, then force: the key changes, the log is kept. */
    veil_audit_signer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(veil_audit_party(s), "hospital-1");
    CU_ASSERT_STRING_EQUAL(veil_audit_log_path(s), log);
    append_nth(s, 0);
    append_nth(s, 1);
    veil_audit_close(s);
    size_t len1, len2;
    char *before = tu_read_file(log, &len1);
    CU_ASSERT_EQUAL(veil_audit_init(dir, "hospital-1", 1, hex2, &err), VEIL_OK);
    char *after = tu_read_file(log, &len2);
    CU_ASSERT(len1 == len2 && memcmp(before, after, len1) == 0);
    CU_ASSERT(strcmp(hex, hex2) != 0);
    free(before);
    free(after);
    /* The kept log belongs to the old key: open refuses it, and it fails
     * to verify under the new public key. */
    TU_ASSERT_ERR(veil_audit_open(&s, dir, &err), err, VEIL_ERR_CRYPTO,
                  "the log belongs to another key");
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(veil_audit_read_pub(pk, pub, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_audit_verify(log, pk, NULL, NULL, &rep, &err), err, VEIL_ERR_CRYPTO,
                  "header: the log names another public key than the trusted one");

    /* A key file others can read is refused, naming it. */
    char *dir2 = new_dir(NULL);
    char *key2 = tu_path(dir2, "audit.key");
    CU_ASSERT_EQUAL(chmod(key2, 0644), 0);
    char want_msg[600];
    snprintf(want_msg, sizeof want_msg,
             "%s: the audit key is readable by group or others (mode "
             "0644); run chmod 600 %s",
             key2, key2);
    TU_ASSERT_ERR(veil_audit_open(&s, dir2, &err), err, VEIL_ERR_USAGE, want_msg);
    CU_ASSERT_EQUAL(chmod(key2, 0600), 0);
    /* A missing log. */
    char *log2 = log_of(dir2);
    CU_ASSERT_EQUAL(unlink(log2), 0);
    TU_ASSERT_ERR(veil_audit_open(&s, dir2, &err), err, VEIL_ERR_IO,
                  "audit.log: cannot open the audit log: No such file or directory");
    /* A log that is not one. */
    CU_ASSERT_EQUAL(tu_write_file(log2, "hello", 5), 0);
    TU_ASSERT_ERR(veil_audit_open(&s, dir2, &err), err, VEIL_ERR_INPUT,
                  "not an audit log (no VEILAUD1 magic)");
    /* A garbled key file. */
    CU_ASSERT_EQUAL(tu_write_file(key2, "\xff\xff", 2), 0);
    CU_ASSERT_EQUAL(chmod(key2, 0600), 0);
    TU_ASSERT_ERR(veil_audit_open(&s, dir2, &err), err, VEIL_ERR_INPUT,
                  "audit.key: not an audit key file");
    /* A missing directory. */
    char *nodir = tu_path(g_dir, "nonexistent");
    TU_ASSERT_ERR(veil_audit_open(&s, nodir, &err), err, VEIL_ERR_IO,
                  "audit.key: cannot open: No such file or directory");
    free(nodir);
    free(key2);
    free(log2);
    free(dir2);
    free(key);
    free(pub);
    free(log);
    free(dir);
}

static void test_read_pub_refuses_garbage(void)
{
    char *p = tu_path(g_dir, "bad.pub");
    CU_ASSERT_EQUAL(tu_write_file(p, "abcd\n", 5), 0);
    uint8_t pk[32];
    veil_err err;
    TU_ASSERT_ERR(veil_audit_read_pub(pk, p, &err), err, VEIL_ERR_INPUT,
                  "bad.pub: not an audit public key (expected 64 hex digits)");
    char hex[66];
    memset(hex, 'g', 64);
    hex[64] = '\n';
    CU_ASSERT_EQUAL(tu_write_file(p, hex, 65), 0);
    TU_ASSERT_ERR(veil_audit_read_pub(pk, p, &err), err, VEIL_ERR_INPUT, "expected 64 hex");
    free(p);
}

/* ================= round trip ================= */

static void test_entries_round_trip(void)
{
    char hex[65];
    char *dir = make_log(10, hex);
    char *log = log_of(dir), *pubp = tu_path(dir, "audit.pub");
    uint8_t pk[32];
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_read_pub(pk, pubp, &err), VEIL_OK);
    collect c;
    memset(&c, 0, sizeof c);
    veil_audit_report rep;
    CU_ASSERT_EQUAL(veil_audit_verify(log, pk, collect_fn, &c, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.entries, 10);
    CU_ASSERT_EQUAL(rep.complete, 1);
    CU_ASSERT_EQUAL(rep.truncated_tail, 0);
    CU_ASSERT_EQUAL(rep.head_seq, 9);
    CU_ASSERT_EQUAL(memcmp(rep.head_hash, c.hash[9], 32), 0);
    CU_ASSERT_EQUAL(memcmp(rep.pub, pk, 32), 0);
    CU_ASSERT_STRING_EQUAL(rep.party, "hospital-1");
    CU_ASSERT_EQUAL(c.n, 10);
    CU_ASSERT_EQUAL(c.bad, 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(c.seq[i], (uint64_t)i);

    /* Each hash is BLAKE2b-256 of the record as stored. */
    size_t len;
    uint8_t *buf = (uint8_t *)tu_read_file(log, &len);
    for (int i = 0; i < 10; i++) {
        uint64_t end = i < 9 ? c.offset[i + 1] : len;
        uint8_t h[32];
        crypto_generichash(h, 32, buf + c.offset[i], end - c.offset[i], NULL, 0);
        CU_ASSERT_EQUAL(memcmp(h, c.hash[i], 32), 0);
    }
    /* A non-zero return stops the walk, with VEIL_OK. */
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    CU_ASSERT_EQUAL(veil_audit_verify_mem(buf, len, "x", NULL, collect_fn, &c, &rep, &err),
                    VEIL_OK);
    CU_ASSERT_EQUAL(c.n, 3);
    CU_ASSERT_EQUAL(rep.entries, 3);
    CU_ASSERT_EQUAL(rep.complete, 0);
    free(buf);
    free(pubp);
    free(log);
    free(dir);
}

/* The writer refuses what a reader would refuse. */
static void test_append_limits(void)
{
    char *dir = make_log(1, NULL);
    veil_audit_signer *s = NULL;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    veil_audit_event ev = {.operation = big};
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_USAGE,
                  "operation is not 1..64 bytes");
    ev.operation = "";
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_USAGE,
                  "operation is not 1..64 bytes");
    veil_audit_param p = {"name", big};
    ev.operation = "encrypt";
    ev.params = &p;
    ev.nparams = 1;
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_USAGE,
                  "parameter name: value missing or over 1024 bytes");
    ev.nparams = 0;
    ev.message = big;
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_USAGE, "message over 1024 bytes");
    veil_audit_file f;
    memset(&f, 0, sizeof f);
    f.path = "";
    ev.message = NULL;
    ev.inputs = &f;
    ev.ninputs = 1;
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_USAGE,
                  "input file 0: path is not 1..4096 bytes");
    veil_audit_close(s);

    /* Nothing was appended by the refusals. */
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    CU_ASSERT_EQUAL(c.n, 1);
    /* A record length over the maximum is refused by the reader. */
    uint8_t *big_log = malloc(c.offset[0] + 8);
    memcpy(big_log, buf, c.offset[0]);
    uint8_t lenb[8] = {0x00, 0x10, 0x00, 0x01, 0, 0, 0, 0};
    memcpy(big_log + c.offset[0], lenb, 8);
    veil_audit_report rep;
    char want[100];
    snprintf(want, sizeof want, "audit.log: entry 0 (offset %" PRIu64 "): record length 1048577",
             c.offset[0]);
    TU_ASSERT_ERR(verify_buf(big_log, c.offset[0] + 8, NULL, &rep, &err), err, VEIL_ERR_INPUT,
                  want);
    free(big_log);
    free(buf);
    free(dir);
}

/* ================= tampering ================= */

/* Which entry holds byte i (-1: the header). */
static int entry_at(const collect *c, size_t i)
{
    int k = -1;
    for (int j = 0; j < c->n; j++)
        if (i >= c->offset[j])
            k = j;
    return k;
}

/* Every single byte of a small log flipped (two ways): never a clean
 * pass, and never mistaken for an incomplete tail: a flipped length in
 * the last record either breaks the framing at once or runs past the end
 * while the trailing length still frames a complete record, which a crash
 * cannot leave. The error names the entry that holds the byte (or the
 * header, whose change breaks entry 0's prev_hash or signature). */
static void test_flip_every_byte(void)
{
    char hex[65];
    char *dir = make_log(3, hex);
    uint8_t pk[32];
    CU_ASSERT_EQUAL(sodium_hex2bin(pk, 32, hex, 64, NULL, NULL, NULL), 0);
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    CU_ASSERT_EQUAL_FATAL(c.n, 3);
    int failures = 0;
    for (size_t i = 0; i < len; i++) {
        for (int m = 0; m < 2; m++) {
            uint8_t mask = m == 0 ? 0x01 : 0x80;
            buf[i] ^= mask;
            for (int t = 0; t < 2; t++) {
                veil_audit_report rep;
                veil_err err;
                veil_status st = verify_buf(buf, len, t ? pk : NULL, &rep, &err);
                int k = entry_at(&c, i);
                char needle[64];
                if (k >= 0)
                    snprintf(needle, sizeof needle, "entry %d (offset %" PRIu64 ")", k,
                             c.offset[k]);
                int ok = st != VEIL_OK && err.code == st &&
                         (st == VEIL_ERR_CRYPTO || st == VEIL_ERR_INPUT) && !rep.complete &&
                         (k >= 0 ? strstr(err.msg, needle) != NULL
                                 : strstr(err.msg, "header") != NULL ||
                                       strstr(err.msg, "VEILAUD1 magic") != NULL ||
                                       strstr(err.msg, "entry 0 (offset") != NULL);
                if (!ok && failures++ < 5)
                    fprintf(stderr, "\n  byte %zu ^ %02x (trusted %d): status %d, \"%s\"\n", i,
                            mask, t, st, err.msg);
            }
            buf[i] ^= mask;
        }
    }
    CU_ASSERT_EQUAL(failures, 0);
    /* And the restored buffer verifies again. */
    veil_audit_report rep;
    veil_err err;
    CU_ASSERT_EQUAL(verify_buf(buf, len, pk, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    free(buf);
    free(dir);
}

/* Builds a log from the records of buf in the order given. */
static uint8_t *reorder(const uint8_t *buf, size_t len, const collect *c, const int *order, int n,
                        size_t *outlen)
{
    uint8_t *out = malloc(len * 2);
    size_t pos = c->offset[0];
    memcpy(out, buf, pos);
    for (int j = 0; j < n; j++) {
        int k = order[j];
        uint64_t end = k + 1 < c->n ? c->offset[k + 1] : len;
        memcpy(out + pos, buf + c->offset[k], end - c->offset[k]);
        pos += end - c->offset[k];
    }
    *outlen = pos;
    return out;
}

static void expect_chain_break(const uint8_t *buf, size_t len, const collect *c, const int *order,
                               int n, int at)
{
    size_t tlen;
    uint8_t *t = reorder(buf, len, c, order, n, &tlen);
    veil_audit_report rep;
    veil_err err;
    /* The offset of position `at` in the rearranged log. */
    uint64_t off = c->offset[0];
    for (int j = 0; j < at; j++) {
        int k = order[j];
        off += (k + 1 < c->n ? c->offset[k + 1] : len) - c->offset[k];
    }
    char want[200];
    snprintf(want, sizeof want,
             "audit.log: entry %d (offset %" PRIu64 "): prev_hash does not match entry %d: an "
             "entry was deleted, inserted or reordered",
             at, off, at - 1);
    TU_ASSERT_ERR(verify_buf(t, tlen, NULL, &rep, &err), err, VEIL_ERR_CRYPTO, want);
    CU_ASSERT_EQUAL(rep.entries, (uint64_t)at);
    CU_ASSERT_EQUAL(rep.complete, 0);
    free(t);
}

static void test_delete_insert_swap(void)
{
    char *dir = make_log(6, NULL);
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    CU_ASSERT_EQUAL_FATAL(c.n, 6);
    int del[] = {0, 1, 3, 4, 5};
    expect_chain_break(buf, len, &c, del, 5, 2);
    int ins[] = {0, 1, 2, 2, 3, 4, 5};
    expect_chain_break(buf, len, &c, ins, 7, 3);
    int ins_old[] = {0, 1, 2, 3, 1, 4, 5};
    expect_chain_break(buf, len, &c, ins_old, 7, 4);
    int swap[] = {0, 1, 3, 2, 4, 5};
    expect_chain_break(buf, len, &c, swap, 6, 2);
    int del_first[] = {1, 2, 3, 4, 5};
    size_t tlen;
    uint8_t *t = reorder(buf, len, &c, del_first, 5, &tlen);
    veil_audit_report rep;
    veil_err err;
    TU_ASSERT_ERR(verify_buf(t, tlen, NULL, &rep, &err), err, VEIL_ERR_CRYPTO, "entry 0 (offset");
    CU_ASSERT(strstr(err.msg, "prev_hash does not match the header") != NULL);
    free(t);
    /* Removing the last entry leaves a valid, shorter chain: only the head
     * an auditor kept from before shows it (docs/audit.md). */
    int drop_last[] = {0, 1, 2, 3, 4};
    t = reorder(buf, len, &c, drop_last, 5, &tlen);
    CU_ASSERT_EQUAL(verify_buf(t, tlen, NULL, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    CU_ASSERT_EQUAL(rep.head_seq, 4);
    CU_ASSERT(memcmp(rep.head_hash, c.hash[5], 32) != 0);
    free(t);
    free(buf);
    free(dir);
}

/* A log rebuilt entry by entry with a second key (header included) does
 * not verify under the first key's public key. */
static void test_resigned_with_another_key(void)
{
    char hex_a[65], hex_b[65];
    char *a = make_log(4, hex_a);
    char *b = make_log(4, hex_b);
    uint8_t pk_a[32];
    CU_ASSERT_EQUAL(sodium_hex2bin(pk_a, 32, hex_a, 64, NULL, NULL, NULL), 0);
    size_t la, lb;
    collect ca, cb;
    uint8_t *buf_a = load_log(a, &la, &ca), *buf_b = load_log(b, &lb, &cb);
    /* Same entries, same lengths: only keys and signatures differ. */
    CU_ASSERT_EQUAL(la, lb);
    veil_audit_report rep;
    veil_err err;
    TU_ASSERT_ERR(verify_buf(buf_b, lb, pk_a, &rep, &err), err, VEIL_ERR_CRYPTO,
                  "audit.log: header: the log names another public key than the trusted one");
    /* With A's header put back, entry 0 fails under A's key. */
    memcpy(buf_b, buf_a, ca.offset[0]);
    char want[120];
    snprintf(want, sizeof want,
             "audit.log: entry 0 (offset %" PRIu64 "): signature does not verify", ca.offset[0]);
    TU_ASSERT_ERR(verify_buf(buf_b, lb, pk_a, &rep, &err), err, VEIL_ERR_CRYPTO, want);
    /* Without a trusted key, the header's (A's) key is used: same answer. */
    TU_ASSERT_ERR(verify_buf(buf_b, lb, NULL, &rep, &err), err, VEIL_ERR_CRYPTO, want);
    free(buf_a);
    free(buf_b);
    free(a);
    free(b);
}

/* ================= incomplete tails and recovery ================= */

static int truncate_to(const char *path, off_t len)
{
    return truncate(path, len);
}

static void recover_case(int cut_kind)
{
    char *dir = make_log(5, NULL);
    char *log = log_of(dir);
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    uint64_t last = c.offset[4], tail;
    if (cut_kind == 0) { /* cut in the middle of the last record */
        tail = (len - last) / 2;
        CU_ASSERT_EQUAL(truncate_to(log, (off_t)(last + tail)), 0);
    } else if (cut_kind == 1) { /* only 2 bytes of its length */
        tail = 2;
        CU_ASSERT_EQUAL(truncate_to(log, (off_t)(last + tail)), 0);
    } else { /* a zero-filled block where the last write should have been */
        CU_ASSERT_EQUAL(truncate_to(log, (off_t)last), 0);
        tail = 4096;
        CU_ASSERT_EQUAL(truncate_to(log, (off_t)(last + tail)), 0);
    }
    veil_audit_report rep;
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_verify(log, NULL, NULL, NULL, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.entries, 4);
    CU_ASSERT_EQUAL(rep.complete, 0);
    CU_ASSERT_EQUAL(rep.truncated_tail, 1);
    CU_ASSERT_EQUAL(rep.tail_bytes, tail);
    CU_ASSERT_EQUAL(rep.head_seq, 3);
    CU_ASSERT_EQUAL(memcmp(rep.head_hash, c.hash[3], 32), 0);

    /* The next append cuts the tail and says so first. */
    veil_audit_signer *s = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    append_nth(s, 6);
    veil_audit_close(s);
    collect d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(veil_audit_verify(log, NULL, collect_fn, &d, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    CU_ASSERT_EQUAL(rep.entries, 6);
    CU_ASSERT_EQUAL(d.n, 6);
    CU_ASSERT_STRING_EQUAL(d.op[4], "audit recovered");
    CU_ASSERT_EQUAL(d.seq[4], 4);
    CU_ASSERT_EQUAL(d.offset[4], last);
    CU_ASSERT_STRING_EQUAL(d.op[5], "sum serve");
    CU_ASSERT_EQUAL(d.seq[5], 5);
    free(buf);
    free(log);
    free(dir);
}

static int recovered_params(void *ctx, const veil_audit_entry *e)
{
    char *out = ctx;
    if (strcmp(e->operation, "audit recovered") == 0 && e->nparams == 2)
        snprintf(out, 200, "%s=%s %s=%s status=%d", e->params[0].name, e->params[0].value,
                 e->params[1].name, e->params[1].value, e->status);
    return 0;
}

static void test_truncated_tail_recovered(void)
{
    recover_case(0);
    recover_case(1);
    recover_case(2);
    /* The recovered entry's parameters: bytes removed after which entry. */
    char *dir = make_log(2, NULL);
    char *log = log_of(dir);
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    CU_ASSERT_EQUAL(truncate_to(log, (off_t)(len - 3)), 0);
    veil_audit_signer *s = NULL;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    append_nth(s, 2);
    veil_audit_close(s);
    char got[200] = "";
    veil_audit_report rep;
    CU_ASSERT_EQUAL(veil_audit_verify(log, NULL, recovered_params, got, &rep, &err), VEIL_OK);
    char want[200];
    snprintf(want, sizeof want, "removed_bytes=%zu after_entry=0 status=0",
             (size_t)(len - 3 - c.offset[1]));
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(rep.entries, 3);
    /* A tail cut right after the header: recovered "after_entry=header". */
    CU_ASSERT_EQUAL(truncate_to(log, (off_t)(c.offset[0] + 5)), 0);
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    append_nth(s, 0);
    veil_audit_close(s);
    got[0] = 0;
    CU_ASSERT_EQUAL(veil_audit_verify(log, NULL, recovered_params, got, &rep, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(got, "removed_bytes=5 after_entry=header status=0");
    CU_ASSERT_EQUAL(rep.entries, 2);
    CU_ASSERT_EQUAL(rep.complete, 1);
    free(buf);
    free(log);
    free(dir);
}

/* Nothing is appended after a last record that does not verify, nor to a
 * log broken in the middle whose tail is incomplete. */
static void test_append_refuses_tampered_tail(void)
{
    char *dir = make_log(4, NULL);
    char *log = log_of(dir);
    size_t len;
    collect c;
    uint8_t *buf = load_log(dir, &len, &c);
    veil_audit_signer *s = NULL;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_audit_open(&s, dir, &err), VEIL_OK);
    /* A byte of the last record's signature. */
    buf[len - 10] ^= 0x04;
    CU_ASSERT_EQUAL(tu_write_file(log, buf, len), 0);
    veil_audit_event ev = {.operation = "encrypt"};
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_CRYPTO,
                  "refusing to append to a log whose last record does not verify");
    CU_ASSERT(strstr(err.msg, "signature does not verify") != NULL);
    size_t now;
    free(tu_read_file(log, &now));
    CU_ASSERT_EQUAL(now, len);
    buf[len - 10] ^= 0x04;
    /* A middle entry altered and the tail cut: the scan finds the break. */
    buf[c.offset[1] + 20] ^= 0x01;
    CU_ASSERT_EQUAL(tu_write_file(log, buf, len - 5), 0);
    TU_ASSERT_ERR(veil_audit_append(s, &ev, &err), err, VEIL_ERR_CRYPTO,
                  "refusing to append to a broken log");
    char needle[64];
    snprintf(needle, sizeof needle, "entry 1 (offset %" PRIu64 ")", c.offset[1]);
    CU_ASSERT(strstr(err.msg, needle) != NULL);
    free(tu_read_file(log, &now));
    CU_ASSERT_EQUAL(now, len - 5);
    veil_audit_close(s);
    free(buf);
    free(log);
    free(dir);
}

/* ================= concurrency ================= */

static void test_two_processes_append(void)
{
    char *dir = make_log(0, NULL);
    pid_t pid[2];
    for (int p = 0; p < 2; p++) {
        pid[p] = fork();
        CU_ASSERT_FATAL(pid[p] >= 0);
        if (pid[p] == 0) {
            alarm(60);
            veil_audit_signer *s = NULL;
            veil_err err;
            if (veil_audit_open(&s, dir, &err) != VEIL_OK)
                _exit(2);
            char val[16];
            veil_audit_param prm = {"i", val};
            veil_audit_event ev = {
                .operation = p == 0 ? "child-a" : "child-b", .params = &prm, .nparams = 1};
            for (int i = 0; i < 50; i++) {
                snprintf(val, sizeof val, "%d", i);
                if (veil_audit_append(s, &ev, &err) != VEIL_OK)
                    _exit(3);
            }
            veil_audit_close(s);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(pid[p], &status, 0), pid[p]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char *log = log_of(dir);
    collect c;
    memset(&c, 0, sizeof c);
    veil_audit_report rep;
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_verify(log, NULL, collect_fn, &c, &rep, &err), VEIL_OK);
    CU_ASSERT_EQUAL(rep.complete, 1);
    CU_ASSERT_EQUAL(rep.entries, 100);
    int na = 0, nb = 0;
    for (int i = 0; i < c.n; i++) {
        CU_ASSERT_EQUAL(c.seq[i], (uint64_t)i);
        na += strcmp(c.op[i], "child-a") == 0;
        nb += strcmp(c.op[i], "child-b") == 0;
    }
    CU_ASSERT_EQUAL(na, 50);
    CU_ASSERT_EQUAL(nb, 50);
    free(log);
    free(dir);
}

/* ================= file digests ================= */

static void test_digest_file(void)
{
    char *p = tu_path(g_dir, "data.csv");
    size_t n = 200000; /* several read chunks */
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    CU_ASSERT_EQUAL(tu_write_file(p, data, n), 0);
    veil_audit_file f;
    veil_err err;
    CU_ASSERT_EQUAL(veil_audit_digest_file(&f, p, &err), VEIL_OK);
    uint8_t want[32];
    crypto_generichash(want, 32, data, n, NULL, 0);
    CU_ASSERT_EQUAL(f.present, 1);
    CU_ASSERT_EQUAL(f.size, n);
    CU_ASSERT_EQUAL(memcmp(f.digest, want, 32), 0);
    CU_ASSERT_PTR_EQUAL(f.path, p);
    /* An empty file is present, with the digest of nothing. */
    CU_ASSERT_EQUAL(tu_write_file(p, "", 0), 0);
    CU_ASSERT_EQUAL(veil_audit_digest_file(&f, p, &err), VEIL_OK);
    crypto_generichash(want, 32, NULL, 0, NULL, 0);
    CU_ASSERT(f.present == 1 && f.size == 0 && memcmp(f.digest, want, 32) == 0);
    /* Missing file and "-": not present, no error. */
    char *missing = tu_path(g_dir, "missing.csv");
    CU_ASSERT_EQUAL(veil_audit_digest_file(&f, missing, &err), VEIL_OK);
    CU_ASSERT_EQUAL(f.present, 0);
    CU_ASSERT_EQUAL(f.size, 0);
    CU_ASSERT_EQUAL(veil_audit_digest_file(&f, "-", &err), VEIL_OK);
    CU_ASSERT_EQUAL(f.present, 0);
    /* A directory cannot be read. */
    TU_ASSERT_ERR(veil_audit_digest_file(&f, g_dir, &err), err, VEIL_ERR_IO, "cannot read");
    free(missing);
    free(data);
    free(p);
}

int main(void)
{
    static const tu_test tests[] = {
        {"init: files, modes, refusals, force keeps the log", test_init_files_and_refusals},
        {"read_pub refuses garbage", test_read_pub_refuses_garbage},
        {"ten entries round trip through verify", test_entries_round_trip},
        {"append refuses oversized fields", test_append_limits},
        {"every single byte flipped is detected, entry named", test_flip_every_byte},
        {"deleted, inserted, swapped records break the chain", test_delete_insert_swap},
        {"a log re-signed with another key fails", test_resigned_with_another_key},
        {"an incomplete tail is reported, then recovered", test_truncated_tail_recovered},
        {"append refuses a tampered last record", test_append_refuses_tampered_tail},
        {"two processes append 50 entries each", test_two_processes_append},
        {"file digests", test_digest_file},
        {NULL, NULL},
    };
    return tu_main("audit", suite_init, suite_cleanup, tests);
}
