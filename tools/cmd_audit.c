/* veil audit init | show | verify | export: a party's audit log
 * (veil/audit.h, docs/audit.md). init creates the signing key and the
 * log; the other three only read a log, so an auditor runs them on a copy
 * with the public key received out of band. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/audit.h"

/* ---- shared: which log, under which key ---- */

typedef struct {
    char log[4096];
    const char *pub_path; /* NULL: verified under the key in the log's header */
    char pub_buf[4096];
    uint8_t pub[VEIL_AUDIT_PUB_BYTES];
} log_source;

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* --dir DIR (DIR/audit.log, trusting DIR/audit.pub) or --log FILE, else
 * $VEIL_AUDIT_DIR; --pub overrides the trusted key. */
static veil_status resolve(log_source *src, const char *dir, const char *log, const char *pub,
                           veil_err *err)
{
    memset(src, 0, sizeof *src);
    if (dir != NULL && log != NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "give --dir or --log, not both");
    if (dir == NULL && log == NULL) {
        dir = getenv("VEIL_AUDIT_DIR");
        if (dir == NULL || dir[0] == '\0')
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "which log? give --dir DIR, --log FILE or set VEIL_AUDIT_DIR");
    }
    if (log != NULL) {
        snprintf(src->log, sizeof src->log, "%s", log);
    } else {
        snprintf(src->log, sizeof src->log, "%s/audit.log", dir);
        snprintf(src->pub_buf, sizeof src->pub_buf, "%s/audit.pub", dir);
        if (pub == NULL && file_exists(src->pub_buf))
            pub = src->pub_buf;
    }
    src->pub_path = pub;
    if (pub != NULL)
        return veil_audit_read_pub(src->pub, pub, err);
    return VEIL_OK;
}

static const uint8_t *trusted(const log_source *src)
{
    return src->pub_path != NULL ? src->pub : NULL;
}

static void to_hex(char *out, const uint8_t *b, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

/* "2026-11-23T13:57:41.123Z" */
static void iso_time(char out[32], int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || gmtime_r(&s, &tm) == NULL) {
        snprintf(out, 32, "(time %lld)", (long long)ms);
        return;
    }
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* What verify and show say after the walk; returns the exit code. */
static int report_outcome(const veil_cmd *cmd, veil_status st, const veil_err *err,
                          const veil_audit_report *rep, const log_source *src, int strict,
                          FILE *out)
{
    char hh[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
    to_hex(hh, rep->head_hash, sizeof rep->head_hash);
    if (st != VEIL_OK) {
        fprintf(out, "%llu entries verified before the failure\n",
                (unsigned long long)rep->entries);
        return veil_cli_fail_err(cmd, err);
    }
    if (rep->complete && rep->entries == 0)
        fprintf(out, "0 entries verified (the log is empty)\n");
    else if (rep->complete)
        fprintf(out, "%llu entries verified; head seq %llu hash %s\n",
                (unsigned long long)rep->entries, (unsigned long long)rep->head_seq, hh);
    if (rep->truncated_tail) {
        if (rep->entries > 0)
            fprintf(out, "valid up to entry %llu (head hash %s); ",
                    (unsigned long long)rep->head_seq, hh);
        else
            fprintf(out, "no complete entry; ");
        fprintf(out,
                "then %llu bytes of an incomplete entry (an interrupted write); the next "
                "audited command removes them and records that it did\n",
                (unsigned long long)rep->tail_bytes);
    }
    if (src->pub_path == NULL)
        veil_cli_warn(cmd, "verified under the key in the log's own header; give --pub audit.pub "
                           "(received out of band) for an independent check");
    if (rep->truncated_tail && strict)
        return veil_cli_fail(cmd, VEIL_ERR_INPUT, "%s ends with an incomplete entry (--strict)",
                             src->log);
    return 0;
}

/* ---- veil audit init ---- */

enum { I_DIR = 1, I_PARTY, I_FORCE };

static const veil_opt init_opts[] = {
    {"dir", I_DIR, "DIR", "audit directory to create (mode 0700)", 1},
    {"party", I_PARTY, "ID", "this party's id: 1-64 of A-Z a-z 0-9 . _ -", 1},
    {"force", I_FORCE, NULL, "replace the signing key (the existing log is kept)", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run_init(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    char pub[65];
    const char *dir = a.val[I_DIR];
    veil_status st = veil_audit_init(dir, a.val[I_PARTY], a.val[I_FORCE] != NULL, pub, &err);
    if (st == VEIL_OK)
        printf("audit log of party %s in %s (audit.key: secret, mode 0600; audit.log)\n"
               "public key: %s\n"
               "Give %s/audit.pub to your auditors by a channel that cannot be tampered with;\n"
               "then run commands with --audit %s or VEIL_AUDIT_DIR=%s.\n",
               a.val[I_PARTY], dir, pub, dir, dir, dir);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_audit_init = {
    .name = "audit init",
    .summary = "Create this party's audit log and its Ed25519 signing key.",
    .synopsis = "--dir DIR --party ID [--force]",
    .description = "Creates DIR (mode 0700) with audit.key (the party id and the Ed25519 signing\n"
                   "key, mode 0600), audit.pub (the public key, for auditors) and an empty\n"
                   "audit.log. Every command that touches personal data or keys (keygen, encrypt,\n"
                   "aggregate, decrypt, deid, threshold, share, sum, ...) then appends a signed,\n"
                   "hash-chained entry to the log when given --audit DIR or run with\n"
                   "VEIL_AUDIT_DIR=DIR. Refuses a DIR that already holds a key or a log; --force\n"
                   "replaces the key but keeps the log, which then no longer verifies under the\n"
                   "new key (an auditor sees the change).",
    .opts = init_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil audit init --dir /var/lib/veil/audit --party tax\n"
               "export VEIL_AUDIT_DIR=/var/lib/veil/audit",
    .run = run_init,
};

/* ---- veil audit show ---- */

enum { S_DIR = 1, S_LOG, S_PUB, S_JSON, S_STRICT };

static const veil_opt show_opts[] = {
    {"dir", S_DIR, "DIR", "audit directory (default $VEIL_AUDIT_DIR); trusts DIR/audit.pub", 0},
    {"log", S_LOG, "FILE", "an audit log file (e.g. a copy handed to an auditor)", 0},
    {"pub", S_PUB, "FILE", "public key to verify under (audit.pub received out of band)", 0},
    {"json", S_JSON, NULL, "print one JSON document with every field", 0},
    {NULL, 0, NULL, NULL, 0},
};

static json_t *json_files(const veil_audit_file *f, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char hx[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
        to_hex(hx, f[i].digest, sizeof f[i].digest);
        json_t *o =
            json_pack("{s:s, s:b}", "path", f[i].path ? f[i].path : "", "present", f[i].present);
        if (o != NULL && f[i].present) {
            json_object_set_new(o, "size", json_integer((json_int_t)f[i].size));
            json_object_set_new(o, "blake2b_256", json_string(hx));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* An entry as JSON (show --json and export). */
static json_t *json_entry(const veil_audit_entry *e)
{
    char t[32], hx[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
    iso_time(t, e->time_ms);
    to_hex(hx, e->hash, sizeof e->hash);
    json_t *params = json_array();
    for (size_t i = 0; params != NULL && i < e->nparams; i++)
        json_array_append_new(params, json_pack("{s:s, s:s}", "name", e->params[i].name, "value",
                                                e->params[i].value));
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:s, s:s, s:i, s:o, s:o, s:o, s:I, s:s}", "seq", (json_int_t)e->seq,
        "time", t, "time_ms", (json_int_t)e->time_ms, "party", e->party ? e->party : "",
        "operation", e->operation ? e->operation : "", "status", e->status, "params", params,
        "inputs", json_files(e->inputs, e->ninputs), "outputs", json_files(e->outputs, e->noutputs),
        "offset", (json_int_t)e->offset, "hash", hx);
    if (o != NULL)
        json_object_set_new(o, "message", e->message ? json_string(e->message) : json_null());
    return o;
}

typedef struct {
    FILE *out;
    json_t *entries; /* --json: entries collected here */
    int failed;      /* out of memory */
} show_ctx;

static void print_files(FILE *out, const char *dir, const veil_audit_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char hx[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
        to_hex(hx, f[i].digest, sizeof f[i].digest);
        if (f[i].present)
            fprintf(out, "      %s %s (%llu bytes, %.16s)\n", dir, f[i].path,
                    (unsigned long long)f[i].size, hx);
        else
            fprintf(out, "      %s %s (absent)\n", dir, f[i].path);
    }
}

static int show_one(void *ctx, const veil_audit_entry *e)
{
    show_ctx *c = ctx;
    if (c->entries != NULL) {
        json_t *o = json_entry(e);
        if (o == NULL || json_array_append_new(c->entries, o) != 0)
            c->failed = 1;
        return c->failed;
    }
    char t[32], outcome[32];
    iso_time(t, e->time_ms);
    if (e->status == 0)
        snprintf(outcome, sizeof outcome, "ok");
    else
        snprintf(outcome, sizeof outcome, "exit %d", e->status);
    fprintf(c->out, "%-5llu %-24s %-12s %-24s %s\n", (unsigned long long)e->seq, t,
            e->party ? e->party : "", e->operation ? e->operation : "", outcome);
    if (e->nparams > 0) {
        fprintf(c->out, "      params:");
        for (size_t i = 0; i < e->nparams; i++)
            fprintf(c->out, " %s%s%s", e->params[i].name, e->params[i].value[0] ? "=" : "",
                    e->params[i].value);
        fputc('\n', c->out);
    }
    print_files(c->out, "in ", e->inputs, e->ninputs);
    print_files(c->out, "out", e->outputs, e->noutputs);
    if (e->status != 0 && e->message != NULL)
        fprintf(c->out, "      error: %s\n", e->message);
    return 0;
}

static int run_show(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    log_source src;
    veil_audit_report rep;
    memset(&rep, 0, sizeof rep);
    show_ctx c = {stdout, NULL, 0};
    int json = a.val[S_JSON] != NULL;
    veil_status st = resolve(&src, a.val[S_DIR], a.val[S_LOG], a.val[S_PUB], &err);
    if (st == VEIL_OK && json && (c.entries = json_array()) == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && !json)
        printf("%-5s %-24s %-12s %-24s %s\n", "seq", "time (UTC)", "party", "operation", "outcome");
    if (st == VEIL_OK)
        st = veil_audit_verify(src.log, trusted(&src), show_one, &c, &rep, &err);
    if (st == VEIL_OK && c.failed)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (json && c.entries != NULL) {
        /* Printed even when verification failed, with the error, so the
         * entries before the failure can be inspected. */
        char pub[2 * VEIL_AUDIT_PUB_BYTES + 1], hh[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
        to_hex(pub, rep.pub, sizeof rep.pub);
        to_hex(hh, rep.head_hash, sizeof rep.head_hash);
        json_t *root = json_pack(
            "{s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:o}", "log", src.log, "party", rep.party,
            "public_key", pub, "key_source", src.pub_path ? src.pub_path : "log header", "complete",
            rep.complete, "truncated_tail", rep.truncated_tail, "tail_bytes",
            (json_int_t)rep.tail_bytes, "count", (json_int_t)rep.entries, "entries", c.entries);
        c.entries = NULL;
        if (root != NULL && rep.entries > 0)
            json_object_set_new(
                root, "head", json_pack("{s:I, s:s}", "seq", (json_int_t)rep.head_seq, "hash", hh));
        if (root != NULL && st != VEIL_OK)
            json_object_set_new(root, "error", json_string(err.msg));
        if (root == NULL || json_dumpf(root, stdout, JSON_INDENT(2)) != 0)
            st = st != VEIL_OK ? st : veil_err_set(&err, VEIL_ERR_IO, "cannot print the JSON");
        else
            putchar('\n');
        json_decref(root);
        veil_args_free(&a);
        return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
    }
    json_decref(c.entries);
    veil_args_free(&a);
    if (st != VEIL_OK && rep.entries == 0 && rep.party[0] == '\0')
        return veil_cli_fail_err(cmd, &err);
    return report_outcome(cmd, st, &err, &rep, &src, 0, stdout);
}

const veil_cmd veil_cmd_audit_show = {
    .name = "audit show",
    .summary = "Print an audit log's entries (verifying them on the way).",
    .synopsis = "[--dir DIR | --log FILE] [--pub FILE] [--json]",
    .description = "Prints one entry per block: sequence number, time (UTC, ISO 8601), party,\n"
                   "operation and outcome (ok, or the exit status and the error message), then\n"
                   "the parameters, and the files read (in) and written (out) with their size\n"
                   "and the first 16 hex digits of their BLAKE2b-256 digest. --json prints one\n"
                   "JSON document with every field: full digests, each record's byte offset and\n"
                   "hash, and the head of the log. Every entry is verified before it is shown;\n"
                   "the first one that fails stops the listing with the error (exit 3 or 4).",
    .opts = show_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil audit show --dir /var/lib/veil/audit\n"
               "veil audit show --log tax-audit.log --pub tax-audit.pub --json",
    .run = run_show,
};

/* ---- veil audit verify ---- */

enum { V_DIR = 1, V_LOG, V_PUB, V_STRICT };

static const veil_opt verify_opts[] = {
    {"dir", V_DIR, "DIR", "audit directory (default $VEIL_AUDIT_DIR); trusts DIR/audit.pub", 0},
    {"log", V_LOG, "FILE", "an audit log file (e.g. a copy handed to an auditor)", 0},
    {"pub", V_PUB, "FILE", "public key to verify under (audit.pub received out of band)", 0},
    {"strict", V_STRICT, NULL, "fail (exit 3) when the log ends with an incomplete entry", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run_verify(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    log_source src;
    veil_audit_report rep;
    memset(&rep, 0, sizeof rep);
    int strict = a.val[V_STRICT] != NULL;
    veil_status st = resolve(&src, a.val[V_DIR], a.val[V_LOG], a.val[V_PUB], &err);
    veil_args_free(&a);
    if (st != VEIL_OK)
        return veil_cli_fail_err(cmd, &err);
    st = veil_audit_verify(src.log, trusted(&src), NULL, NULL, &rep, &err);
    return report_outcome(cmd, st, &err, &rep, &src, strict, stdout);
}

const veil_cmd veil_cmd_audit_verify = {
    .name = "audit verify",
    .summary = "Check an audit log's signatures and hash chain.",
    .synopsis = "[--dir DIR | --log FILE] [--pub FILE] [--strict]",
    .description = "Verifies every entry's Ed25519 signature under the trusted public key (--pub,\n"
                   "else DIR/audit.pub with --dir, else the key in the log's header, which proves\n"
                   "only internal consistency), that sequence numbers run 0, 1, 2, ... and that\n"
                   "each entry names the hash of the one before. Prints \"N entries verified;\n"
                   "head seq S hash H\": keep the head and compare it at the next check, since\n"
                   "entries cut from the end of a log leave a valid shorter chain.\n"
                   "\n"
                   "A log that ends in the middle of an entry (a write interrupted by a crash) is\n"
                   "reported as valid up to the last complete entry (exit 0; 3 with --strict).\n"
                   "Any other failure names the entry: exit 4 for a bad signature, a broken chain\n"
                   "or the wrong key, exit 3 for damaged framing.",
    .opts = verify_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil audit verify --log tax-audit.log --pub tax-audit.pub",
    .run = run_verify,
};

/* ---- veil audit export ---- */

enum { E_DIR = 1, E_LOG, E_PUB, E_OUT, E_FORCE };

static const veil_opt export_opts[] = {
    {"dir", E_DIR, "DIR", "audit directory (default $VEIL_AUDIT_DIR); trusts DIR/audit.pub", 0},
    {"log", E_LOG, "FILE", "an audit log file", 0},
    {"pub", E_PUB, "FILE", "public key to verify under (audit.pub received out of band)", 0},
    {"out", E_OUT, "FILE.json", "bundle to write (mode 0600)", 1},
    {"force", E_FORCE, NULL, "replace an existing FILE.json", 0},
    {NULL, 0, NULL, NULL, 0},
};

/* Reads a protobuf varint at *p (bounded by end). */
static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Splits a stored AuditRecord into the signed entry bytes and the
 * signature. Decoded generically (length-delimited fields 1 and 2), so it
 * needs no generated code; a 64-byte field is taken as the signature
 * should the numbering differ. */
static int split_record(const uint8_t *rec, size_t len, const uint8_t **entry, size_t *elen,
                        const uint8_t **sig)
{
    const uint8_t *p = rec, *end = rec + len;
    const uint8_t *f[3] = {NULL, NULL, NULL};
    size_t fl[3] = {0, 0, 0};
    while (p < end) {
        uint64_t key, v;
        if (pb_varint(&p, end, &key) != 0)
            return -1;
        if ((key & 7) == 0) {
            if (pb_varint(&p, end, &v) != 0)
                return -1;
            continue;
        }
        if ((key & 7) != 2 || pb_varint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
            return -1;
        if ((key >> 3) >= 1 && (key >> 3) <= 2) {
            f[key >> 3] = p;
            fl[key >> 3] = (size_t)v;
        }
        p += v;
    }
    if (f[1] == NULL || f[2] == NULL)
        return -1;
    int s = fl[2] == crypto_sign_BYTES ? 2 : fl[1] == crypto_sign_BYTES ? 1 : 0;
    if (s == 0)
        return -1;
    *sig = f[s];
    *entry = f[3 - s];
    *elen = fl[3 - s];
    return 0;
}

typedef struct {
    FILE *log;
    const uint8_t *pub;
    json_t *entries;
    veil_err *err;
    veil_status st;
} export_ctx;

static int export_one(void *ctx, const veil_audit_entry *e)
{
    export_ctx *c = ctx;
    uint8_t len4[4];
    uint8_t *rec = NULL;
    size_t rlen = 0;
    if (fseeko(c->log, (off_t)e->offset, SEEK_SET) != 0 || fread(len4, 1, 4, c->log) != 4) {
        c->st = veil_err_set(c->err, VEIL_ERR_IO, "entry %llu: cannot read the record at %llu",
                             (unsigned long long)e->seq, (unsigned long long)e->offset);
        return 1;
    }
    rlen = (size_t)len4[0] << 24 | (size_t)len4[1] << 16 | (size_t)len4[2] << 8 | len4[3];
    if (rlen > VEIL_AUDIT_RECORD_MAX || (rec = malloc(rlen ? rlen : 1)) == NULL ||
        fread(rec, 1, rlen, c->log) != rlen) {
        free(rec);
        c->st = veil_err_set(c->err, VEIL_ERR_IO, "entry %llu: cannot read the record at %llu",
                             (unsigned long long)e->seq, (unsigned long long)e->offset);
        return 1;
    }
    const uint8_t *ent = NULL, *sig = NULL;
    size_t elen = 0;
    json_t *o = json_entry(e);
    if (o != NULL && split_record(rec, rlen, &ent, &elen, &sig) == 0) {
        char *b64 = malloc(sodium_base64_ENCODED_LEN(elen, sodium_base64_VARIANT_ORIGINAL));
        char sh[2 * crypto_sign_BYTES + 1];
        to_hex(sh, sig, crypto_sign_BYTES);
        if (b64 != NULL) {
            sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(elen, sodium_base64_VARIANT_ORIGINAL),
                              ent, elen, sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(o, "entry_base64", json_string(b64));
        }
        json_object_set_new(o, "signature_hex", json_string(sh));
        /* The signed message is the domain text with its NUL, then the
         * entry bytes (docs/audit.md); an auditor recomputes this check. */
        size_t dlen = sizeof VEIL_AUDIT_SIG_DOMAIN;
        uint8_t *msg = malloc(dlen + elen);
        int ok = 0;
        if (msg != NULL) {
            memcpy(msg, VEIL_AUDIT_SIG_DOMAIN, dlen);
            memcpy(msg + dlen, ent, elen);
            ok = crypto_sign_verify_detached(sig, msg, dlen + elen, c->pub) == 0;
            free(msg);
        }
        json_object_set_new(o, "signature_verifies", json_boolean(ok));
        free(b64);
    }
    char *rb = o ? malloc(sodium_base64_ENCODED_LEN(rlen, sodium_base64_VARIANT_ORIGINAL)) : NULL;
    if (rb != NULL) {
        sodium_bin2base64(rb, sodium_base64_ENCODED_LEN(rlen, sodium_base64_VARIANT_ORIGINAL), rec,
                          rlen, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(o, "record_base64", json_string(rb));
        free(rb);
    }
    free(rec);
    if (o == NULL || json_array_append_new(c->entries, o) != 0) {
        c->st = veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        return 1;
    }
    return 0;
}

static veil_status write_bundle(const char *path, json_t *root, veil_err *err)
{
    veil_outfile *o = NULL;
    veil_status st = veil_out_open(&o, path, 0600, err);
    if (st != VEIL_OK)
        return st;
    if (json_dumpf(root, veil_out_fp(o), JSON_INDENT(2)) != 0 ||
        fputc('\n', veil_out_fp(o)) == EOF) {
        veil_out_abort(o);
        return veil_err_set(err, VEIL_ERR_IO, "%s: write failed", path);
    }
    return veil_out_commit(o, err);
}

static int run_export(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    log_source src;
    veil_audit_report rep;
    memset(&rep, 0, sizeof rep);
    export_ctx c = {NULL, NULL, json_array(), &err, VEIL_OK};
    json_t *root = NULL;
    const char *out = a.val[E_OUT];
    veil_status st = c.entries ? resolve(&src, a.val[E_DIR], a.val[E_LOG], a.val[E_PUB], &err)
                               : veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK)
        st = veil_cli_check_new(out, a.val[E_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(src.log, out, &err);
    /* Verify the whole log first: an export of a log that does not verify
     * would lend it credibility it has not earned. */
    if (st == VEIL_OK)
        st = veil_audit_verify(src.log, trusted(&src), NULL, NULL, &rep, &err);
    if (st == VEIL_OK && !rep.complete)
        st = veil_err_set(&err, VEIL_ERR_INPUT,
                          "%s: valid up to %llu entries, then %llu bytes of an incomplete entry; "
                          "run an audited command (it repairs the log) or export a complete copy",
                          src.log, (unsigned long long)rep.entries,
                          (unsigned long long)rep.tail_bytes);
    if (st == VEIL_OK && (c.log = fopen(src.log, "rb")) == NULL)
        st = veil_err_set(&err, VEIL_ERR_IO, "%s: cannot open", src.log);
    if (st == VEIL_OK) {
        c.pub = rep.pub;
        veil_audit_report rep2;
        st = veil_audit_verify(src.log, rep.pub, export_one, &c, &rep2, &err);
        if (st == VEIL_OK)
            st = c.st;
        /* The log may have grown between the two walks: export what the
         * second walk saw. */
        if (st == VEIL_OK)
            rep = rep2;
    }
    if (c.log != NULL)
        fclose(c.log);
    if (st == VEIL_OK) {
        char pub[2 * VEIL_AUDIT_PUB_BYTES + 1], hh[2 * VEIL_AUDIT_DIGEST_BYTES + 1];
        to_hex(pub, rep.pub, sizeof rep.pub);
        to_hex(hh, rep.head_hash, sizeof rep.head_hash);
        root = json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:{s:I, s:s}, s:s, s:O}", "format", "veil-audit-export-1",
            "party", rep.party, "public_key", pub, "key_source",
            src.pub_path ? src.pub_path : "log header", "count", (json_int_t)rep.entries, "head",
            "seq", (json_int_t)rep.head_seq, "hash", hh, "verify",
            "each entry_base64 is an entry (a protobuf AuditEntry); signature_hex is the Ed25519 "
            "signature under public_key of the 14 bytes 'veil-audit-v1' plus a NUL byte followed "
            "by those entry bytes; record_base64 is the stored AuditRecord, and hash is "
            "BLAKE2b-256 over the record as stored, with its two length fields (docs/audit.md)",
            "entries", c.entries);
        if (root == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    }
    if (st == VEIL_OK)
        st = write_bundle(out, root, &err);
    if (st == VEIL_OK)
        printf("%llu entries of party %s exported to %s; head seq %llu\n",
               (unsigned long long)rep.entries, rep.party, out, (unsigned long long)rep.head_seq);
    json_decref(root);
    json_decref(c.entries);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_audit_export = {
    .name = "audit export",
    .summary = "Write a verified audit log as a JSON bundle for an auditor.",
    .synopsis = "[--dir DIR | --log FILE] [--pub FILE] --out FILE.json [--force]",
    .description = "Verifies the log first and refuses one that does not verify or ends with an\n"
                   "incomplete entry. The bundle holds the party, the public key (hex), the head\n"
                   "(last seq and hash) and every entry: its decoded fields as in 'audit show\n"
                   "--json', the signed entry bytes (base64), the Ed25519 signature (hex) and the\n"
                   "stored record (base64), so an auditor can check each signature with any\n"
                   "Ed25519 tool and recompute the hash chain without veil.",
    .opts = export_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil audit export --dir /var/lib/veil/audit --out tax-audit-2025Q4.json",
    .run = run_export,
};
