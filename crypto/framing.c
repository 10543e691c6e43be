/* Big-endian integers, capped whole-file reads, crash-safe writers and
 * framed protobuf messages (see framing.h and docs/formats.md). */
#include "framing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- big integers ---- */

veil_status veil_be_to_mpz(mpz_t out, const uint8_t *buf, size_t len, size_t max_len,
                           const char *what, veil_err *err)
{
    if (len > max_len)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s is %zu bytes long; at most %zu are allowed",
                            what, len, max_len);
    if (len > 0 && buf[0] == 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s starts with a zero byte (integers are stored without leading "
                            "zeros)",
                            what);
    if (len == 0)
        mpz_set_ui(out, 0);
    else
        mpz_import(out, len, 1, 1, 1, 0, buf);
    return VEIL_OK;
}

veil_status veil_mpz_to_be(uint8_t **out, size_t *len, const mpz_t x, veil_err *err)
{
    *out = NULL;
    *len = 0;
    if (mpz_sgn(x) < 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "cannot store a negative integer");
    size_t n = mpz_sgn(x) == 0 ? 0 : (mpz_sizeinbase(x, 2) + 7) / 8;
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t count = 0;
    if (n > 0)
        mpz_export(buf, &count, 1, 1, 1, 0, x);
    if (count != n) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_INTERNAL, "integer export gave %zu bytes, not %zu", count,
                            n);
    }
    *out = buf;
    *len = n;
    return VEIL_OK;
}

void veil_secret_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    sodium_memzero(p, len);
    free(p);
}

/* ---- whole files ---- */

/* Grows *buf from used bytes to cap bytes without leaving the old contents
 * behind in freed memory (the file may hold secrets). */
static int grow_wiped(uint8_t **buf, size_t used, size_t old_cap, size_t cap)
{
    uint8_t *n = malloc(cap);
    if (n == NULL)
        return -1;
    if (used > 0)
        memcpy(n, *buf, used);
    veil_secret_free(*buf, old_cap);
    *buf = n;
    return 0;
}

veil_status veil_file_read_all(uint8_t **out, size_t *len, const char *path, size_t max,
                               veil_err *err)
{
    *out = NULL;
    *len = 0;
    veil_status st = VEIL_OK;
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: is a directory", path);
        goto done;
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > (uint64_t)max) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: file is larger than %zu bytes", path, max);
        goto done;
    }
    cap = (S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 4096) + 2;
    if (cap > max + 2)
        cap = max + 2;
    buf = malloc(cap);
    if (buf == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory reading %s", path);
        goto done;
    }
    for (;;) {
        if (used + 1 >= cap) {
            /* Keep one byte free for the NUL; never hold more than max + 1. */
            size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
            if (ncap <= cap) {
                st = veil_err_set(err, VEIL_ERR_INPUT, "%s: file is larger than %zu bytes", path,
                                  max);
                goto done;
            }
            if (grow_wiped(&buf, used, cap, ncap) != 0) {
                st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory reading %s", path);
                goto done;
            }
            cap = ncap;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: file is larger than %zu bytes", path, max);
            goto done;
        }
    }
    buf[used] = 0;
done:
    close(fd);
    if (st != VEIL_OK) {
        veil_secret_free(buf, cap);
        return st;
    }
    *out = buf;
    *len = used;
    return VEIL_OK;
}

/* ---- crash-safe writers ---- */

struct veil_atomic_file {
    int fd;
    char *path;
    char *tmp;
    uint64_t size;
};

static void atomic_free(veil_atomic_file *f)
{
    free(f->path);
    free(f->tmp);
    free(f);
}

veil_status veil_atomic_open(veil_atomic_file **out, const char *path, mode_t mode, veil_err *err)
{
    *out = NULL;
    static const char suffix[] = ".tmp.XXXXXX";
    /* The rename at commit would replace whatever is at path: refuse a
     * device, FIFO or socket there (`--out /dev/null --force` must not
     * turn /dev/null into a regular file). */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s exists and is not a regular file; veil writes this file by "
                            "replacing it, so give the path of a regular file",
                            path);
    veil_atomic_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    f->fd = -1;
    size_t plen = strlen(path);
    f->path = malloc(plen + 1);
    f->tmp = malloc(plen + sizeof suffix);
    if (f->path == NULL || f->tmp == NULL) {
        atomic_free(f);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    memcpy(f->path, path, plen + 1);
    memcpy(f->tmp, path, plen);
    memcpy(f->tmp + plen, suffix, sizeof suffix);
    /* mkstemp opens with O_CREAT | O_EXCL and mode 0600. */
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        veil_status st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot create a temporary file: %s",
                                      path, strerror(errno));
        atomic_free(f);
        return st;
    }
    (void)fcntl(f->fd, F_SETFD, FD_CLOEXEC);
    if (fchmod(f->fd, mode) != 0) {
        veil_status st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot set mode %04o: %s", f->tmp,
                                      (unsigned)mode, strerror(errno));
        veil_atomic_abort(f);
        return st;
    }
    *out = f;
    return VEIL_OK;
}

veil_status veil_atomic_write(veil_atomic_file *f, const void *buf, size_t len, veil_err *err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return veil_err_set(err, VEIL_ERR_IO, "%s: write failed: %s", f->tmp,
                                n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
        f->size += (uint64_t)n;
    }
    return VEIL_OK;
}

veil_status veil_atomic_pwrite(veil_atomic_file *f, const void *buf, size_t len, uint64_t off,
                               veil_err *err)
{
    const uint8_t *p = buf;
    if (off > f->size || len > f->size - off)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: rewrite past the end of the file", f->tmp);
    while (len > 0) {
        ssize_t n = pwrite(f->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return veil_err_set(err, VEIL_ERR_IO, "%s: write failed: %s", f->tmp,
                                n < 0 ? strerror(errno) : "no progress");
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return VEIL_OK;
}

veil_status veil_atomic_hash(veil_atomic_file *f, crypto_generichash_state *h, veil_err *err)
{
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = VEIL_OK;
    uint64_t off = 0;
    while (off < f->size) {
        size_t want = f->size - off < CHUNK ? (size_t)(f->size - off) : CHUNK;
        ssize_t n = pread(f->fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot read back: %s", f->tmp,
                              n < 0 ? strerror(errno) : "file shrank");
            break;
        }
        crypto_generichash_update(h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    return st;
}

uint64_t veil_atomic_size(const veil_atomic_file *f)
{
    return f->size;
}

const char *veil_atomic_path(const veil_atomic_file *f)
{
    return f->path;
}

/* Makes the rename durable. Some file systems refuse fsync on a directory
 * (EINVAL); the data itself is already on disk then, so that is not an
 * error. */
static veil_status sync_dir(const char *path, veil_err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (slash == NULL) {
        dir = strdup(".");
    } else {
        size_t dlen = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(dlen + 1);
        if (dir != NULL) {
            memcpy(dir, path, dlen);
            dir[dlen] = 0;
        }
    }
    if (dir == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = VEIL_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot sync the directory: %s", dir,
                              strerror(errno));
        close(fd);
    }
    free(dir);
    return st;
}

veil_status veil_atomic_commit(veil_atomic_file *f, veil_err *err)
{
    veil_status st = VEIL_OK;
    if (fsync(f->fd) != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: fsync failed: %s", f->tmp, strerror(errno));
        goto done;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: close failed: %s", f->tmp, strerror(errno));
        goto done;
    }
    if (rename(f->tmp, f->path) != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot rename %s into place: %s", f->path, f->tmp,
                          strerror(errno));
        goto done;
    }
    st = sync_dir(f->path, err);
    atomic_free(f);
    return st;
done:
    veil_atomic_abort(f);
    return st;
}

void veil_atomic_abort(veil_atomic_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    atomic_free(f);
}

veil_status veil_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                                   veil_err *err)
{
    veil_atomic_file *f = NULL;
    veil_status st = veil_atomic_open(&f, path, mode, err);
    if (st != VEIL_OK)
        return st;
    st = veil_atomic_write(f, buf, len, err);
    if (st != VEIL_OK) {
        veil_atomic_abort(f);
        return st;
    }
    return veil_atomic_commit(f, err);
}

/* ---- frames ---- */

static void put_head(uint8_t head[VEIL_FRAME_HEAD], uint8_t tag, size_t len)
{
    head[0] = tag;
    head[1] = (uint8_t)(len >> 24);
    head[2] = (uint8_t)(len >> 16);
    head[3] = (uint8_t)(len >> 8);
    head[4] = (uint8_t)len;
}

void veil_frame_hash(crypto_generichash_state *h, uint8_t tag, const uint8_t *payload, size_t len)
{
    uint8_t head[VEIL_FRAME_HEAD];
    put_head(head, tag, len);
    crypto_generichash_update(h, head, sizeof head);
    if (len > 0)
        crypto_generichash_update(h, payload, len);
}

veil_status veil_frame_pack(uint8_t **out, size_t *len, uint8_t tag, const ProtobufCMessage *msg,
                            size_t max_len, veil_err *err)
{
    *out = NULL;
    *len = 0;
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (size > max_len || size > UINT32_MAX)
        return veil_err_set(err, VEIL_ERR_INTERNAL,
                            "a %s message of %zu bytes exceeds the %zu-byte frame limit",
                            msg->descriptor->short_name, size, max_len);
    uint8_t *buf = malloc(VEIL_FRAME_HEAD + size);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    put_head(buf, tag, size);
    size_t packed = protobuf_c_message_pack(msg, buf + VEIL_FRAME_HEAD);
    if (packed != size) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_INTERNAL, "protobuf packing gave %zu bytes, not %zu",
                            packed, size);
    }
    *out = buf;
    *len = VEIL_FRAME_HEAD + size;
    return VEIL_OK;
}

veil_status veil_frame_write(veil_atomic_file *f, crypto_generichash_state *h, uint8_t tag,
                             const ProtobufCMessage *msg, size_t max_len, veil_err *err)
{
    uint8_t *buf;
    size_t len;
    veil_status st = veil_frame_pack(&buf, &len, tag, msg, max_len, err);
    if (st != VEIL_OK)
        return st;
    st = veil_atomic_write(f, buf, len, err);
    if (st == VEIL_OK && h != NULL)
        crypto_generichash_update(h, buf, len);
    veil_secret_free(buf, len);
    return st;
}

struct veil_frame_reader {
    FILE *fp; /* NULL when reading from memory */
    const uint8_t *mem;
    size_t mem_len;
    uint64_t offset; /* bytes consumed */
    uint64_t frames; /* frames read */
    char *name;
    uint8_t *buf; /* payload buffer (file input only) */
    size_t cap;
};

static veil_status reader_new(veil_frame_reader **out, const char *name, veil_err *err)
{
    veil_frame_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->name = strdup(name)) == NULL) {
        free(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    *out = r;
    return VEIL_OK;
}

veil_status veil_frame_reader_open_file(veil_frame_reader **out, const char *path, veil_err *err)
{
    *out = NULL;
    veil_frame_reader *r = NULL;
    veil_status st = reader_new(&r, path, err);
    if (st != VEIL_OK)
        return st;
    r->fp = fopen(path, "rb");
    if (r->fp == NULL) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        veil_frame_reader_close(r);
        return st;
    }
    struct stat sb;
    if (fstat(fileno(r->fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        veil_frame_reader_close(r);
        return veil_err_set(err, VEIL_ERR_IO, "%s: is a directory", path);
    }
    *out = r;
    return VEIL_OK;
}

veil_status veil_frame_reader_open_mem(veil_frame_reader **out, const uint8_t *buf, size_t len,
                                       const char *name, veil_err *err)
{
    *out = NULL;
    veil_frame_reader *r = NULL;
    veil_status st = reader_new(&r, name, err);
    if (st != VEIL_OK)
        return st;
    r->mem = buf;
    r->mem_len = len;
    *out = r;
    return VEIL_OK;
}

void veil_frame_reader_close(veil_frame_reader *r)
{
    if (r == NULL)
        return;
    if (r->fp != NULL)
        fclose(r->fp);
    free(r->buf);
    free(r->name);
    free(r);
}

/* Copies up to len bytes into dst; *got says how many there were. */
static veil_status read_some(veil_frame_reader *r, uint8_t *dst, size_t len, size_t *got,
                             veil_err *err)
{
    *got = 0;
    if (r->fp == NULL) {
        size_t left = r->mem_len - (size_t)r->offset;
        size_t n = len < left ? len : left;
        if (n > 0)
            memcpy(dst, r->mem + r->offset, n);
        *got = n;
    } else {
        size_t n = fread(dst, 1, len, r->fp);
        if (n < len && ferror(r->fp))
            return veil_err_set(err, VEIL_ERR_IO, "%s: read failed at byte %llu", r->name,
                                (unsigned long long)(r->offset + n));
        *got = n;
    }
    r->offset += *got;
    return VEIL_OK;
}

veil_status veil_frame_reader_raw(veil_frame_reader *r, void *buf, size_t len, size_t *got,
                                  veil_err *err)
{
    size_t n;
    veil_status st = read_some(r, buf, len, &n, err);
    if (st != VEIL_OK)
        return st;
    if (got != NULL) {
        *got = n;
        return VEIL_OK;
    }
    if (n < len)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: truncated: the file ends at byte %llu",
                            r->name, (unsigned long long)r->offset);
    return VEIL_OK;
}

veil_status veil_frame_read(veil_frame_reader *r, uint8_t *tag, const uint8_t **payload,
                            size_t *len, size_t max_len, int *eof, veil_err *err)
{
    *eof = 0;
    *payload = NULL;
    *len = 0;
    uint8_t head[VEIL_FRAME_HEAD];
    size_t got;
    uint64_t start = r->offset;
    veil_status st = read_some(r, head, sizeof head, &got, err);
    if (st != VEIL_OK)
        return st;
    if (got == 0) {
        *eof = 1;
        return VEIL_OK;
    }
    if (got < sizeof head)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: truncated: the file ends inside the head of frame %llu "
                            "(byte %llu)",
                            r->name, (unsigned long long)r->frames, (unsigned long long)start);
    size_t n = ((size_t)head[1] << 24) | ((size_t)head[2] << 16) | ((size_t)head[3] << 8) |
               (size_t)head[4];
    if (n > max_len)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: frame %llu (byte %llu) claims %zu bytes; at most %zu are "
                            "allowed",
                            r->name, (unsigned long long)r->frames, (unsigned long long)start, n,
                            max_len);
    if (r->fp == NULL) {
        size_t left = r->mem_len - (size_t)r->offset;
        if (n > left)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: truncated: frame %llu (byte %llu) needs %zu bytes, %zu "
                                "are left",
                                r->name, (unsigned long long)r->frames, (unsigned long long)start,
                                n, left);
        *payload = r->mem + r->offset;
        r->offset += n;
    } else {
        if (n > r->cap) {
            uint8_t *nb = malloc(n);
            if (nb == NULL)
                return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            free(r->buf);
            r->buf = nb;
            r->cap = n;
        }
        st = read_some(r, r->buf, n, &got, err);
        if (st != VEIL_OK)
            return st;
        if (got < n)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: truncated: frame %llu (byte %llu) needs %zu bytes, %zu "
                                "are left",
                                r->name, (unsigned long long)r->frames, (unsigned long long)start,
                                n, got);
        *payload = r->buf;
    }
    *tag = head[0];
    *len = n;
    r->frames++;
    return VEIL_OK;
}

veil_status veil_frame_reader_expect_end(veil_frame_reader *r, const char *after, veil_err *err)
{
    uint8_t b;
    size_t got;
    uint64_t at = r->offset;
    veil_status st = read_some(r, &b, 1, &got, err);
    if (st != VEIL_OK)
        return st;
    if (got != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: unexpected data after %s (byte %llu)",
                            r->name, after, (unsigned long long)at);
    return VEIL_OK;
}

uint64_t veil_frame_reader_frames(const veil_frame_reader *r)
{
    return r->frames;
}

uint64_t veil_frame_reader_offset(const veil_frame_reader *r)
{
    return r->offset;
}

const char *veil_frame_reader_name(const veil_frame_reader *r)
{
    return r->name;
}
