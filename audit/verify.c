/* Reading the audit log: the header, each record's framing, signature,
 * fields, seq and prev_hash, in one pass over the bytes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_internal.h"
#include "veil/audit.h"
#include "veil/proto/audit.pb-c.h"

static int len_ok(const char *s, size_t min, size_t max)
{
    size_t n = s == NULL ? 0 : strlen(s);
    return n >= min && n <= max;
}

static veil_status check_file(const Veil__AuditFile *f, const char *what, const char *kind,
                              size_t i, veil_err *err)
{
    if (!len_ok(f->path, 1, AUDIT_PATH_MAX))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s %zu: path is not 1..%d bytes", what, kind,
                            i, AUDIT_PATH_MAX);
    if (f->present && (!f->has_size || f->digest.len != VEIL_AUDIT_DIGEST_BYTES))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: %s %zu: a present file needs a size and a "
                            "32-byte digest",
                            what, kind, i);
    if (!f->present && (f->has_size || f->has_digest))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: %s %zu: an absent file has neither size nor digest", what, kind,
                            i);
    return VEIL_OK;
}

/* The fields of a decoded (and signed) entry, against the limits the
 * writer enforces, so a reader never hands the caller oversized strings. */
static veil_status check_entry(const Veil__AuditEntry *e, const char *party, const char *what,
                               veil_err *err)
{
    if (e->version != AUDIT_VERSION)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: entry version %u, this veil reads %d", what,
                            (unsigned)e->version, AUDIT_VERSION);
    if (e->prev_hash.len != VEIL_AUDIT_DIGEST_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: prev_hash of %zu bytes, expected %d", what,
                            e->prev_hash.len, VEIL_AUDIT_DIGEST_BYTES);
    if (strcmp(e->party, party) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "%s: the entry names party \"%.64s\", the log's header \"%s\"", what,
                            e->party, party);
    if (!len_ok(e->operation, 1, AUDIT_OPERATION_MAX))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: operation is not 1..%d bytes", what,
                            AUDIT_OPERATION_MAX);
    if (e->n_params > AUDIT_LIST_MAX || e->n_inputs > AUDIT_LIST_MAX ||
        e->n_outputs > AUDIT_LIST_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: more than %d parameters, inputs or outputs",
                            what, AUDIT_LIST_MAX);
    for (size_t i = 0; i < e->n_params; i++)
        if (!len_ok(e->params[i]->name, 1, AUDIT_NAME_MAX) ||
            !len_ok(e->params[i]->value, 0, AUDIT_VALUE_MAX))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: parameter %zu: name not 1..%d or value over %d bytes", what, i,
                                AUDIT_NAME_MAX, AUDIT_VALUE_MAX);
    veil_status st;
    for (size_t i = 0; i < e->n_inputs; i++)
        if ((st = check_file(e->inputs[i], what, "input", i, err)) != VEIL_OK)
            return st;
    for (size_t i = 0; i < e->n_outputs; i++)
        if ((st = check_file(e->outputs[i], what, "output", i, err)) != VEIL_OK)
            return st;
    if (e->message != NULL && !len_ok(e->message, 0, AUDIT_MESSAGE_MAX))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: message over %d bytes", what,
                            AUDIT_MESSAGE_MAX);
    return VEIL_OK;
}

veil_status veil_audit_record_check(const uint8_t *rec, size_t reclen, const uint8_t *pub,
                                    const char *party, const char *what,
                                    struct Veil__AuditEntry **entry_out,
                                    uint8_t hash[VEIL_AUDIT_DIGEST_BYTES], veil_err *err)
{
    *entry_out = NULL;
    Veil__AuditRecord *r = veil__audit_record__unpack(NULL, reclen - 8, rec + 4);
    if (r == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a valid AuditRecord message", what);
    veil_status st = VEIL_OK;
    uint8_t *msg = NULL;
    if (r->signature.len != crypto_sign_BYTES) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: signature of %zu bytes, expected %d", what,
                          r->signature.len, crypto_sign_BYTES);
        goto done;
    }
    /* The signed message is the domain prefix and the entry bytes, so a
     * signature made with this key for anything else never verifies here. */
    msg = malloc(AUDIT_SIG_DOMAIN_LEN + r->entry.len);
    if (msg == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(msg, AUDIT_SIG_DOMAIN, AUDIT_SIG_DOMAIN_LEN);
    if (r->entry.len > 0)
        memcpy(msg + AUDIT_SIG_DOMAIN_LEN, r->entry.data, r->entry.len);
    if (crypto_sign_verify_detached(r->signature.data, msg, AUDIT_SIG_DOMAIN_LEN + r->entry.len,
                                    pub) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "%s: signature does not verify", what);
        goto done;
    }
    Veil__AuditEntry *e = veil__audit_entry__unpack(NULL, r->entry.len, r->entry.data);
    if (e == NULL) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: the signed entry is not a valid AuditEntry",
                          what);
        goto done;
    }
    st = check_entry(e, party, what, err);
    if (st != VEIL_OK) {
        veil__audit_entry__free_unpacked(e, NULL);
        goto done;
    }
    crypto_generichash(hash, VEIL_AUDIT_DIGEST_BYTES, rec, reclen, NULL, 0);
    *entry_out = e;
done:
    free(msg);
    veil__audit_record__free_unpacked(r, NULL);
    return st;
}

static void copy_files(veil_audit_file *out, Veil__AuditFile **in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i].path = in[i]->path;
        out[i].present = in[i]->present;
        out[i].size = in[i]->present ? in[i]->size : 0;
        memset(out[i].digest, 0, sizeof out[i].digest);
        if (in[i]->present)
            memcpy(out[i].digest, in[i]->digest.data, VEIL_AUDIT_DIGEST_BYTES);
    }
}

/* Hands one verified entry to fn; returns fn's result, or -1 when out of
 * memory. */
static int deliver(const Veil__AuditEntry *e, const uint8_t *hash, uint64_t offset,
                   veil_audit_entry_fn fn, void *ctx)
{
    veil_audit_param *params = calloc(e->n_params + 1, sizeof *params);
    veil_audit_file *files = calloc(e->n_inputs + e->n_outputs + 1, sizeof *files);
    if (params == NULL || files == NULL) {
        free(params);
        free(files);
        return -1;
    }
    for (size_t i = 0; i < e->n_params; i++) {
        params[i].name = e->params[i]->name;
        params[i].value = e->params[i]->value;
    }
    copy_files(files, e->inputs, e->n_inputs);
    copy_files(files + e->n_inputs, e->outputs, e->n_outputs);
    veil_audit_entry ve = {
        .seq = e->seq,
        .time_ms = e->time_ms,
        .party = e->party,
        .operation = e->operation,
        .nparams = e->n_params,
        .params = params,
        .ninputs = e->n_inputs,
        .noutputs = e->n_outputs,
        .inputs = files,
        .outputs = files + e->n_inputs,
        .status = e->status,
        .message = e->message,
        .offset = offset,
    };
    memcpy(ve.hash, hash, VEIL_AUDIT_DIGEST_BYTES);
    int r = fn(ctx, &ve);
    free(params);
    free(files);
    return r;
}

/* 1 when the bytes from off on end with a complete, consistently framed
 * record. A crash leaves a prefix of one record, which (but for a 2^-32
 * coincidence) does not; so a length that runs past the end while a
 * complete record follows was altered, not cut short. */
static int complete_record_at_end(const uint8_t *buf, size_t len, size_t off)
{
    if (len - off < 8)
        return 0;
    uint32_t t = audit_be32(buf + len - 4);
    if (t == 0 || t > VEIL_AUDIT_RECORD_MAX || (uint64_t)t + 8 > len - off)
        return 0;
    size_t start = len - 8 - t;
    return start == off || audit_be32(buf + start) == t;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

veil_status veil_audit_walk(const uint8_t *buf, size_t len, const char *name,
                            const uint8_t *trusted_pub, veil_audit_entry_fn fn, void *ctx,
                            veil_audit_report *rep, uint64_t *valid_end, veil_err *err)
{
    veil_err_clear(err);
    memset(rep, 0, sizeof *rep);
    *valid_end = 0;
    if (sodium_init() < 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    size_t hlen;
    uint8_t hpub[VEIL_AUDIT_PUB_BYTES];
    veil_status st = veil_audit_header_parse(buf, len, name, &hlen, rep->party, hpub, err);
    if (st != VEIL_OK)
        return st;
    const uint8_t *pub = trusted_pub != NULL ? trusted_pub : hpub;
    memcpy(rep->pub, pub, VEIL_AUDIT_PUB_BYTES);
    if (trusted_pub != NULL && memcmp(hpub, trusted_pub, VEIL_AUDIT_PUB_BYTES) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "%s: header: the log names another public key than the trusted one: "
                            "it was not written (or was re-signed) by another key",
                            name);
    uint8_t prev[VEIL_AUDIT_DIGEST_BYTES];
    crypto_generichash(prev, sizeof prev, buf, hlen, NULL, 0);
    size_t off = hlen;
    *valid_end = hlen;
    for (uint64_t seq = 0;; seq++) {
        size_t rem = len - off;
        if (rem == 0) {
            rep->complete = 1;
            return VEIL_OK;
        }
        char what[96 + VEIL_ERR_MSG_MAX / 2];
        snprintf(what, sizeof what, "%.200s: entry %" PRIu64 " (offset %zu)", name, seq, off);
        if (rem < 4)
            break;
        uint32_t n = audit_be32(buf + off);
        if (n == 0) {
            /* A crash can leave zero-filled blocks where the last write
             * was to be; anything else after a zero length is garbage. */
            if (all_zero(buf + off, rem))
                break;
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: record length 0", what);
        }
        if (n > VEIL_AUDIT_RECORD_MAX)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: record length %u exceeds the maximum of %u bytes", what,
                                (unsigned)n, VEIL_AUDIT_RECORD_MAX);
        if ((uint64_t)n + 8 > rem) {
            if (complete_record_at_end(buf, len, off))
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "%s: record length %u runs past the end of the file, yet a "
                                    "complete record ends there: a length was altered",
                                    what, (unsigned)n);
            break;
        }
        uint32_t t = audit_be32(buf + off + 4 + n);
        if (t != n)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: trailing length %u does not match the leading length %u", what,
                                (unsigned)t, (unsigned)n);
        Veil__AuditEntry *e = NULL;
        uint8_t hash[VEIL_AUDIT_DIGEST_BYTES];
        st =
            veil_audit_record_check(buf + off, (size_t)n + 8, pub, rep->party, what, &e, hash, err);
        if (st != VEIL_OK)
            return st;
        if (sodium_memcmp(e->prev_hash.data, prev, sizeof prev) != 0) {
            if (seq == 0)
                st = veil_err_set(err, VEIL_ERR_CRYPTO,
                                  "%s: prev_hash does not match the header: the header was "
                                  "altered or an entry was inserted or removed",
                                  what);
            else
                st = veil_err_set(err, VEIL_ERR_CRYPTO,
                                  "%s: prev_hash does not match entry %" PRIu64
                                  ": an entry was deleted, inserted or reordered",
                                  what, seq - 1);
        } else if (e->seq != seq)
            st = veil_err_set(err, VEIL_ERR_CRYPTO, "%s: seq %" PRIu64 ", expected %" PRIu64, what,
                              e->seq, seq);
        if (st != VEIL_OK) {
            veil__audit_entry__free_unpacked(e, NULL);
            return st;
        }
        rep->entries++;
        rep->head_seq = seq;
        memcpy(rep->head_hash, hash, sizeof hash);
        *valid_end = off + n + 8;
        int stop = fn == NULL ? 0 : deliver(e, hash, off, fn, ctx);
        veil__audit_entry__free_unpacked(e, NULL);
        if (stop < 0)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        if (stop != 0)
            return VEIL_OK;
        memcpy(prev, hash, sizeof prev);
        off += (size_t)n + 8;
    }
    rep->truncated_tail = 1;
    rep->tail_bytes = len - off;
    return VEIL_OK;
}

veil_status veil_audit_verify_mem(const uint8_t *buf, size_t len, const char *name,
                                  const uint8_t *trusted_pub, veil_audit_entry_fn fn, void *ctx,
                                  veil_audit_report *rep, veil_err *err)
{
    uint64_t end;
    return veil_audit_walk(buf, len, name, trusted_pub, fn, ctx, rep, &end, err);
}

veil_status veil_audit_verify(const char *path, const uint8_t *trusted_pub, veil_audit_entry_fn fn,
                              void *ctx, veil_audit_report *rep, veil_err *err)
{
    veil_err_clear(err);
    memset(rep, 0, sizeof *rep);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* A shared lock: no append (which may cut an incomplete tail) changes
     * the file while it is mapped and walked. */
    while (flock(fd, LOCK_SH) != 0)
        if (errno != EINTR) {
            veil_status st =
                veil_err_set(err, VEIL_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
            close(fd);
            return st;
        }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return veil_err_set(err, VEIL_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    /* Mapped, not read: a log of millions of entries costs no heap. */
    const uint8_t *buf = (const uint8_t *)"";
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return veil_err_set(err, VEIL_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
        buf = map;
    }
    veil_status st = veil_audit_verify_mem(buf, len, path, trusted_pub, fn, ctx, rep, err);
    if (map != NULL)
        munmap(map, len);
    close(fd);
    return st;
}
