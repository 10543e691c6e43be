/* Writing the audit log: file digests, and appending one signed, chained
 * record under an exclusive lock, recovering an incomplete tail first. */
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
#include <time.h>
#include <unistd.h>

#include "audit_internal.h"
#include "veil/audit.h"
#include "veil/proto/audit.pb-c.h"

veil_status veil_audit_digest_file(veil_audit_file *f, const char *path, veil_err *err)
{
    veil_err_clear(err);
    memset(f, 0, sizeof *f);
    f->path = path;
    if (strcmp(path, "-") == 0)
        return VEIL_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return VEIL_OK;
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, VEIL_AUDIT_DIGEST_BYTES);
    static const size_t CHUNK = 1 << 16;
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        close(fd);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    uint64_t size = 0;
    veil_status st = VEIL_OK;
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        crypto_generichash_update(&h, buf, (size_t)got);
        size += (uint64_t)got;
    }
    free(buf);
    close(fd);
    if (st != VEIL_OK)
        return st;
    crypto_generichash_final(&h, f->digest, VEIL_AUDIT_DIGEST_BYTES);
    f->present = 1;
    f->size = size;
    return VEIL_OK;
}

/* ---- building a record ---- */

static int len_ok(const char *s, size_t min, size_t max)
{
    size_t n = s == NULL ? 0 : strlen(s);
    return s != NULL && n >= min && n <= max;
}

static veil_status check_files(const veil_audit_file *fs, size_t n, const char *kind, veil_err *err)
{
    if (n > AUDIT_LIST_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "audit entry: more than %d %s files",
                            AUDIT_LIST_MAX, kind);
    for (size_t i = 0; i < n; i++)
        if (!len_ok(fs[i].path, 1, AUDIT_PATH_MAX))
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "audit entry: %s file %zu: path is not 1..%d bytes", kind, i,
                                AUDIT_PATH_MAX);
    return VEIL_OK;
}

/* The limits the reader enforces, checked before anything is written. */
static veil_status check_event(const veil_audit_event *ev, veil_err *err)
{
    if (!len_ok(ev->operation, 1, AUDIT_OPERATION_MAX))
        return veil_err_set(err, VEIL_ERR_USAGE, "audit entry: operation is not 1..%d bytes",
                            AUDIT_OPERATION_MAX);
    if (ev->nparams > AUDIT_LIST_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "audit entry: more than %d parameters",
                            AUDIT_LIST_MAX);
    for (size_t i = 0; i < ev->nparams; i++) {
        if (!len_ok(ev->params[i].name, 1, AUDIT_NAME_MAX))
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "audit entry: parameter %zu: name is not 1..%d bytes", i,
                                AUDIT_NAME_MAX);
        if (!len_ok(ev->params[i].value, 0, AUDIT_VALUE_MAX))
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "audit entry: parameter %s: value missing or over %d bytes",
                                ev->params[i].name, AUDIT_VALUE_MAX);
    }
    veil_status st = check_files(ev->inputs, ev->ninputs, "input", err);
    if (st == VEIL_OK)
        st = check_files(ev->outputs, ev->noutputs, "output", err);
    if (st == VEIL_OK && ev->message != NULL && !len_ok(ev->message, 0, AUDIT_MESSAGE_MAX))
        st = veil_err_set(err, VEIL_ERR_USAGE, "audit entry: message over %d bytes",
                          AUDIT_MESSAGE_MAX);
    return st;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill_files(Veil__AuditFile *pb, Veil__AuditFile **ptrs, const veil_audit_file *fs,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        veil__audit_file__init(&pb[i]);
        pb[i].path = (char *)fs[i].path;
        pb[i].present = fs[i].present != 0;
        if (fs[i].present) {
            pb[i].has_size = 1;
            pb[i].size = fs[i].size;
            pb[i].has_digest = 1;
            pb[i].digest.data = (uint8_t *)fs[i].digest;
            pb[i].digest.len = VEIL_AUDIT_DIGEST_BYTES;
        }
        ptrs[i] = &pb[i];
    }
}

/* Packs, signs and frames one entry into a malloc'd record. */
static veil_status make_record(uint8_t **out, size_t *outlen, const veil_audit_signer *s,
                               const veil_audit_event *ev, uint64_t seq, const uint8_t *prev,
                               veil_err *err)
{
    size_t np = ev->nparams, ni = ev->ninputs, no = ev->noutputs;
    Veil__AuditParam *params = calloc(np + 1, sizeof *params);
    Veil__AuditParam **pptr = calloc(np + 1, sizeof *pptr);
    Veil__AuditFile *files = calloc(ni + no + 1, sizeof *files);
    Veil__AuditFile **fptr = calloc(ni + no + 1, sizeof *fptr);
    uint8_t *msg = NULL, *rec = NULL;
    veil_status st = VEIL_OK;
    if (params == NULL || pptr == NULL || files == NULL || fptr == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    Veil__AuditEntry e = VEIL__AUDIT_ENTRY__INIT;
    e.version = AUDIT_VERSION;
    e.seq = seq;
    e.prev_hash.data = (uint8_t *)prev;
    e.prev_hash.len = VEIL_AUDIT_DIGEST_BYTES;
    e.time_ms = ev->time_ms != 0 ? ev->time_ms : now_ms();
    e.party = (char *)s->party;
    e.operation = (char *)ev->operation;
    for (size_t i = 0; i < np; i++) {
        veil__audit_param__init(&params[i]);
        params[i].name = (char *)ev->params[i].name;
        params[i].value = (char *)ev->params[i].value;
        pptr[i] = &params[i];
    }
    e.n_params = np;
    e.params = pptr;
    fill_files(files, fptr, ev->inputs, ni);
    fill_files(files + ni, fptr + ni, ev->outputs, no);
    e.n_inputs = ni;
    e.inputs = fptr;
    e.n_outputs = no;
    e.outputs = fptr + ni;
    e.status = ev->status;
    e.message = (char *)ev->message;

    size_t elen = veil__audit_entry__get_packed_size(&e);
    if (elen > VEIL_AUDIT_RECORD_MAX) {
        st = veil_err_set(err, VEIL_ERR_USAGE, "audit entry: %zu bytes, over the %u-byte limit",
                          elen, VEIL_AUDIT_RECORD_MAX);
        goto done;
    }
    msg = malloc(AUDIT_SIG_DOMAIN_LEN + elen);
    if (msg == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(msg, AUDIT_SIG_DOMAIN, AUDIT_SIG_DOMAIN_LEN);
    veil__audit_entry__pack(&e, msg + AUDIT_SIG_DOMAIN_LEN);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, msg, AUDIT_SIG_DOMAIN_LEN + elen, s->sk);

    Veil__AuditRecord r = VEIL__AUDIT_RECORD__INIT;
    r.entry.data = msg + AUDIT_SIG_DOMAIN_LEN;
    r.entry.len = elen;
    r.signature.data = sig;
    r.signature.len = sizeof sig;
    size_t rlen = veil__audit_record__get_packed_size(&r);
    if (rlen > VEIL_AUDIT_RECORD_MAX) {
        st = veil_err_set(err, VEIL_ERR_USAGE, "audit record: %zu bytes, over the %u-byte limit",
                          rlen, VEIL_AUDIT_RECORD_MAX);
        goto done;
    }
    rec = malloc(rlen + 8);
    if (rec == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    audit_put_be32(rec, (uint32_t)rlen);
    veil__audit_record__pack(&r, rec + 4);
    audit_put_be32(rec + 4 + rlen, (uint32_t)rlen);
    *out = rec;
    *outlen = rlen + 8;
    rec = NULL;
done:
    free(rec);
    free(msg);
    free(params);
    free(pptr);
    free(files);
    free(fptr);
    return st;
}

/* ---- the locked append ---- */

static veil_status read_at(int fd, void *buf, size_t len, uint64_t off, const char *path,
                           veil_err *err)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t got = pread(fd, p, len, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return veil_err_set(err, VEIL_ERR_IO, "%s: cannot read: %s", path,
                                got < 0 ? strerror(errno) : "unexpected end of file");
        p += got;
        len -= (size_t)got;
        off += (uint64_t)got;
    }
    return VEIL_OK;
}

static veil_status write_all(int fd, const uint8_t *buf, size_t len, const char *path,
                             veil_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return veil_err_set(err, VEIL_ERR_IO, "%s: cannot write: %s", path,
                                n < 0 ? strerror(errno) : "no progress");
        buf += n;
        len -= (size_t)n;
    }
    return VEIL_OK;
}

/* Where the chain stands: the seq and prev_hash the next entry takes. */
typedef struct {
    uint64_t seq;
    uint8_t prev[VEIL_AUDIT_DIGEST_BYTES];
    uint64_t cut_at;    /* when recovering: the end of the last valid record */
    uint64_t cut_bytes; /* bytes removed after it (0: nothing to recover) */
    int have_entries;   /* cut_at follows an entry (else the header) */
} chain_pos;

/* The fast path: the last record, found from the trailing length, is
 * complete and verifies. Returns 1 when it did (pos filled), 0 when the
 * tail is not a well-framed record (the caller then scans), and -1 with
 * err set when a well-framed last record fails its signature or fields:
 * nothing may be appended after it. */
static int tail_record(int fd, const veil_audit_signer *s, uint64_t hlen, uint64_t size,
                       chain_pos *pos, veil_err *err)
{
    uint8_t b[4];
    if (size - hlen < 8 || read_at(fd, b, 4, size - 4, s->log_path, err) != VEIL_OK)
        return 0;
    uint32_t n = audit_be32(b);
    if (n == 0 || n > VEIL_AUDIT_RECORD_MAX || (uint64_t)n + 8 > size - hlen)
        return 0;
    uint64_t off = size - 8 - n;
    uint8_t *rec = malloc((size_t)n + 8);
    if (rec == NULL || read_at(fd, rec, (size_t)n + 8, off, s->log_path, err) != VEIL_OK ||
        audit_be32(rec) != n) {
        free(rec);
        return 0;
    }
    char what[VEIL_ERR_MSG_MAX / 2];
    snprintf(what, sizeof what, "%.200s: last entry (offset %" PRIu64 ")", s->log_path, off);
    Veil__AuditEntry *e = NULL;
    veil_status st =
        veil_audit_record_check(rec, (size_t)n + 8, s->pk, s->party, what, &e, pos->prev, err);
    free(rec);
    if (st != VEIL_OK) {
        if (st == VEIL_ERR_CRYPTO || st == VEIL_ERR_INPUT) {
            err->code = VEIL_ERR_CRYPTO;
            veil_err_prefix(err, "refusing to append to a log whose last record does not verify");
        }
        return -1;
    }
    pos->seq = e->seq + 1;
    veil__audit_entry__free_unpacked(e, NULL);
    return 1;
}

/* The slow path: walks the whole log (mapped) under the signer's key to
 * find the end of the last valid record. A chain broken anywhere is an
 * error; only an incomplete tail may be cut. */
static veil_status scan_log(int fd, const veil_audit_signer *s, uint64_t size, chain_pos *pos,
                            veil_err *err)
{
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot map: %s", s->log_path, strerror(errno));
    veil_audit_report rep;
    uint64_t end;
    veil_status st =
        veil_audit_walk(map, (size_t)size, s->log_path, s->pk, NULL, NULL, &rep, &end, err);
    if (st == VEIL_OK) {
        if (rep.entries > 0) {
            pos->seq = rep.head_seq + 1;
            memcpy(pos->prev, rep.head_hash, sizeof pos->prev);
            pos->have_entries = 1;
        } else {
            pos->seq = 0;
            crypto_generichash(pos->prev, sizeof pos->prev, map, (size_t)end, NULL, 0);
        }
        pos->cut_at = end;
        pos->cut_bytes = size - end;
    } else if (st == VEIL_ERR_INPUT) {
        err->code = VEIL_ERR_CRYPTO;
        veil_err_prefix(err, "refusing to append to a broken log");
        st = VEIL_ERR_CRYPTO;
    } else if (st == VEIL_ERR_CRYPTO) {
        veil_err_prefix(err, "refusing to append to a broken log");
    }
    munmap(map, (size_t)size);
    return st;
}

/* Reads the header and finds where the chain stands (fd locked). */
static veil_status find_position(int fd, const veil_audit_signer *s, chain_pos *pos, veil_err *err)
{
    memset(pos, 0, sizeof *pos);
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot stat: %s", s->log_path, strerror(errno));
    uint64_t size = (uint64_t)sb.st_size;
    uint8_t head[AUDIT_MAGIC_LEN + 4 + AUDIT_HEADER_MAX];
    size_t want = size < sizeof head ? (size_t)size : sizeof head, hlen;
    char party[VEIL_AUDIT_PARTY_MAX + 1];
    uint8_t pub[VEIL_AUDIT_PUB_BYTES];
    veil_status st = read_at(fd, head, want, 0, s->log_path, err);
    if (st == VEIL_OK)
        st = veil_audit_header_parse(head, want, s->log_path, &hlen, party, pub, err);
    if (st != VEIL_OK)
        return st;
    if (sodium_memcmp(pub, s->pk, sizeof pub) != 0 || strcmp(party, s->party) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "%s: the log's header names another key or party than the signer's",
                            s->log_path);
    if (size == hlen) {
        crypto_generichash(pos->prev, sizeof pos->prev, head, hlen, NULL, 0);
        return VEIL_OK;
    }
    int r = tail_record(fd, s, hlen, size, pos, err);
    if (r < 0)
        return err->code;
    if (r > 0)
        return VEIL_OK;
    return scan_log(fd, s, size, pos, err);
}

veil_status veil_audit_append(veil_audit_signer *s, const veil_audit_event *ev, veil_err *err)
{
    veil_err_clear(err);
    veil_status st = check_event(ev, err);
    if (st != VEIL_OK)
        return st;
    int fd = open(s->log_path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open the audit log: %s", s->log_path,
                            strerror(errno));
    /* One writer at a time: the lock covers reading the tail, so two
     * commands never chain onto the same record. */
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            st =
                veil_err_set(err, VEIL_ERR_IO, "%s: cannot lock: %s", s->log_path, strerror(errno));
            close(fd);
            return st;
        }
    }
    uint8_t *rec = NULL;
    size_t rlen = 0;
    chain_pos pos;
    st = find_position(fd, s, &pos, err);
    if (st != VEIL_OK)
        goto done;
    if (pos.cut_bytes > 0) {
        /* A crash cut the last write short: remove its bytes and say so in
         * the log itself, so the gap is on the record. */
        if (ftruncate(fd, (off_t)pos.cut_at) != 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot truncate: %s", s->log_path,
                              strerror(errno));
            goto done;
        }
        char bytes[24], after[24];
        snprintf(bytes, sizeof bytes, "%" PRIu64, pos.cut_bytes);
        if (pos.have_entries)
            snprintf(after, sizeof after, "%" PRIu64, pos.seq - 1);
        else
            snprintf(after, sizeof after, "header");
        veil_audit_param p[2] = {{"removed_bytes", bytes}, {"after_entry", after}};
        veil_audit_event rec_ev = {.operation = "audit recovered", .params = p, .nparams = 2};
        st = make_record(&rec, &rlen, s, &rec_ev, pos.seq, pos.prev, err);
        if (st != VEIL_OK)
            goto done;
        st = write_all(fd, rec, rlen, s->log_path, err);
        if (st != VEIL_OK)
            goto done;
        crypto_generichash(pos.prev, sizeof pos.prev, rec, rlen, NULL, 0);
        pos.seq++;
        free(rec);
        rec = NULL;
    }
    st = make_record(&rec, &rlen, s, ev, pos.seq, pos.prev, err);
    if (st != VEIL_OK)
        goto done;
    /* One write() of the whole record: with O_APPEND and the lock, a crash
     * leaves at worst a prefix of it, which the next append cuts. */
    st = write_all(fd, rec, rlen, s->log_path, err);
    if (st == VEIL_OK && fsync(fd) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot fsync: %s", s->log_path, strerror(errno));
done:
    free(rec);
    flock(fd, LOCK_UN);
    close(fd);
    return st;
}
