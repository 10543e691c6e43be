/* Share files (.vsh): magic, header, frames of packed field elements,
 * trailer with count and BLAKE2b-256 digest (veil/sharefile.h,
 * docs/share.md). Built on the framing helpers of crypto/framing.h. */
#include "veil/sharefile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe_inline.h"
#include "framing.h"
#include "veil/fixed.h"
#include "veil/proto/share.pb-c.h"

#define MAGIC_LEN 8
static const uint8_t MAGIC[MAGIC_LEN] = {'V', 'E', 'I', 'L', 'S', 'H', 'R', 1};
#define SHAREFILE_VERSION 1
#define TAG_HEADER        'H'
#define TAG_FRAME         'F'
#define TAG_TRAILER       'T'
/* Shares are secret-ish: t of them give the secret away. */
#define SHAREFILE_MODE 0600
/* The largest frame: a full ShareFileFrame (offset varint, 1 MiB of
 * values with its length prefix) with room to spare; the header and the
 * trailer are far smaller. */
#define FRAME_BYTES_MAX ((size_t)VEIL_SHAREFILE_FRAME * VEIL_FE_BYTES + 64)
/* Elements per frame written: a quarter of what readers accept, so a
 * split among many parties keeps 256 KiB, not 1 MiB, per open writer. */
#define WRITE_FRAME 16384

/* Sets err to "<name>: <message>". */
static veil_status ferr(veil_err *err, veil_status code, const char *name, const char *fmt, ...)
    VEIL_PRINTF(4, 5);
static veil_status ferr(veil_err *err, veil_status code, const char *name, const char *fmt, ...)
{
    char msg[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return veil_err_set(err, code, "%s: %s", name, msg);
}

static const char *scheme_name(veil_scheme s)
{
    return s == VEIL_SCHEME_ADDITIVE ? "additive" : "Shamir";
}

/* The header rules, shared by the writer (VEIL_ERR_USAGE: a caller's
 * mistake) and the reader (VEIL_ERR_INPUT: a bad file). The column name
 * and seed lengths are checked where they are decoded. */
static veil_status check_info(const veil_sharefile_info *in, veil_status code, const char *name,
                              veil_err *err)
{
    if (in->scheme != VEIL_SCHEME_ADDITIVE && in->scheme != VEIL_SCHEME_SHAMIR)
        return ferr(err, code, name, "header: unknown scheme %u (1 additive, 2 Shamir)",
                    (unsigned)in->scheme);
    if (in->n < 2 || in->n > VEIL_SHARE_PARTIES_MAX)
        return ferr(err, code, name, "header: %u parties; 2 to %d are supported", in->n,
                    VEIL_SHARE_PARTIES_MAX);
    if (in->scheme == VEIL_SCHEME_ADDITIVE && in->t != in->n)
        return ferr(err, code, name, "header: additive sharing with threshold %u of %u parties",
                    in->t, in->n);
    if (in->scheme == VEIL_SCHEME_SHAMIR && (in->t < 2 || in->t > in->n))
        return ferr(err, code, name, "header: Shamir threshold %u out of range 2 to %u", in->t,
                    in->n);
    if (in->index < 1 || in->index > in->n)
        return ferr(err, code, name, "header: party index %u out of range 1 to %u", in->index,
                    in->n);
    if (in->scale > VEIL_SCALE_MAX)
        return ferr(err, code, name, "header: scale %u is above %d", in->scale, VEIL_SCALE_MAX);
    if (in->length > VEIL_SHARE_LEN_MAX)
        return ferr(err, code, name, "header: length %llu is above the %llu elements a share holds",
                    (unsigned long long)in->length, (unsigned long long)VEIL_SHARE_LEN_MAX);
    unsigned m = veil_share_seeded_count(in->scheme, in->n, in->t);
    if (in->seeded && in->index > m)
        return ferr(err, code, name,
                    "header: party %u has a seed, but in a %s %u-of-%u split only parties 1 to "
                    "%u receive seeds",
                    in->index, scheme_name(in->scheme), in->t, in->n, m);
    return VEIL_OK;
}

/* ================= writing ================= */

struct veil_sharefile_writer {
    veil_atomic_file *f;
    veil_sharefile_info info;
    size_t header_len;
    uint8_t *pending; /* packed elements of the frame being filled */
    size_t npending;
    uint64_t count; /* elements appended */
    int failed;
};

static void writer_free(veil_sharefile_writer *w)
{
    if (w == NULL)
        return;
    veil_secret_free(w->pending, (size_t)WRITE_FRAME * VEIL_FE_BYTES);
    sodium_memzero(&w->info, sizeof w->info);
    free(w);
}

static veil_status pack_header(uint8_t **out, size_t *len, const veil_sharefile_info *in,
                               uint64_t length, veil_err *err)
{
    Veil__ShareFileHeader h = VEIL__SHARE_FILE_HEADER__INIT;
    h.version = SHAREFILE_VERSION;
    h.split_id.data = (uint8_t *)in->split_id;
    h.split_id.len = VEIL_SHAREFILE_ID_BYTES;
    h.scheme = (uint32_t)in->scheme;
    h.parties = in->n;
    h.threshold = in->t;
    h.index = in->index;
    h.scale = in->scale;
    h.length = length;
    h.column.data = (uint8_t *)in->column;
    h.column.len = strlen(in->column);
    if (in->seeded) {
        h.has_seed = 1;
        h.seed.data = (uint8_t *)in->seed;
        h.seed.len = VEIL_SHARE_SEED;
    }
    return veil_frame_pack(out, len, TAG_HEADER, &h.base, FRAME_BYTES_MAX, err);
}

veil_status veil_sharefile_writer_open(veil_sharefile_writer **out, const char *path,
                                       const veil_sharefile_info *info, veil_err *err)
{
    *out = NULL;
    veil_status st = check_info(info, VEIL_ERR_USAGE, path, err);
    if (st != VEIL_OK)
        return st;
    size_t clen = strnlen(info->column, sizeof info->column);
    if (clen == 0 || clen > VEIL_SHAREFILE_COLUMN_MAX)
        return ferr(err, VEIL_ERR_USAGE, path, "the column name is empty or longer than %d bytes",
                    VEIL_SHAREFILE_COLUMN_MAX);
    veil_sharefile_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    w->info = *info;
    uint8_t *hdr = NULL;
    if (!info->seeded && (w->pending = malloc((size_t)WRITE_FRAME * VEIL_FE_BYTES)) == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* An unseeded share's length is known at commit only; the header is
     * written now with 0 and rewritten then (length is fixed64, so the
     * header keeps its size). */
    st = pack_header(&hdr, &w->header_len, info, info->seeded ? info->length : 0, err);
    if (st == VEIL_OK)
        st = veil_atomic_open(&w->f, path, SHAREFILE_MODE, err);
    if (st == VEIL_OK)
        st = veil_atomic_write(w->f, MAGIC, MAGIC_LEN, err);
    if (st == VEIL_OK)
        st = veil_atomic_write(w->f, hdr, w->header_len, err);
    if (st != VEIL_OK)
        goto fail;
    veil_secret_free(hdr, w->header_len);
    *out = w;
    return VEIL_OK;
fail:
    veil_secret_free(hdr, w->header_len);
    veil_atomic_abort(w->f);
    writer_free(w);
    return st;
}

static veil_status writer_flush(veil_sharefile_writer *w, veil_err *err)
{
    if (w->npending == 0)
        return VEIL_OK;
    Veil__ShareFileFrame fr = VEIL__SHARE_FILE_FRAME__INIT;
    fr.offset = w->count - w->npending;
    fr.values.data = w->pending;
    fr.values.len = w->npending * VEIL_FE_BYTES;
    w->npending = 0;
    return veil_frame_write(w->f, NULL, TAG_FRAME, &fr.base, FRAME_BYTES_MAX, err);
}

veil_status veil_sharefile_writer_append(veil_sharefile_writer *w, const veil_fe *values,
                                         size_t count, veil_err *err)
{
    const char *path = veil_atomic_path(w->f);
    if (w->failed)
        return ferr(err, VEIL_ERR_USAGE, path, "an earlier write failed; abort the writer");
    if (w->info.seeded)
        return ferr(err, VEIL_ERR_USAGE, path, "a seeded share takes no values");
    if (count > VEIL_SHARE_LEN_MAX - w->count)
        return ferr(err, VEIL_ERR_USAGE, path, "a share holds at most %llu elements",
                    (unsigned long long)VEIL_SHARE_LEN_MAX);
    for (size_t i = 0; i < count; i++) {
        if (values[i] >= VEIL_FE_P)
            return ferr(err, VEIL_ERR_USAGE, path, "element %llu is not a reduced field element",
                        (unsigned long long)(w->count + i));
    }
    for (size_t i = 0; i < count; i++) {
        veil_fe_store(w->pending + w->npending * VEIL_FE_BYTES, values[i]);
        w->npending++;
        w->count++;
        if (w->npending == WRITE_FRAME) {
            veil_status st = writer_flush(w, err);
            if (st != VEIL_OK) {
                w->failed = 1;
                return st;
            }
        }
    }
    return VEIL_OK;
}

veil_status veil_sharefile_writer_commit(veil_sharefile_writer *w, veil_err *err)
{
    veil_status st = VEIL_OK;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    crypto_generichash_state h;
    uint8_t digest[VEIL_DIGEST_BYTES];
    if (w->failed) {
        st = ferr(err, VEIL_ERR_USAGE, veil_atomic_path(w->f),
                  "an earlier write failed; nothing was saved");
        goto fail;
    }
    if (!w->info.seeded) {
        st = writer_flush(w, err);
        if (st == VEIL_OK)
            st = pack_header(&hdr, &hlen, &w->info, w->count, err);
        if (st == VEIL_OK && hlen != w->header_len)
            st = veil_err_set(err, VEIL_ERR_INTERNAL, "the share file header changed size");
        if (st == VEIL_OK)
            st = veil_atomic_pwrite(w->f, hdr, hlen, MAGIC_LEN, err);
        if (st != VEIL_OK)
            goto fail;
    }
    /* The digest covers the rewritten header: hash the file as it is. */
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    st = veil_atomic_hash(w->f, &h, err);
    if (st != VEIL_OK)
        goto fail;
    crypto_generichash_final(&h, digest, sizeof digest);
    Veil__ShareFileTrailer t = VEIL__SHARE_FILE_TRAILER__INIT;
    t.count = w->count;
    t.digest.data = digest;
    t.digest.len = sizeof digest;
    st = veil_frame_write(w->f, NULL, TAG_TRAILER, &t.base, FRAME_BYTES_MAX, err);
    if (st != VEIL_OK)
        goto fail;
    st = veil_atomic_commit(w->f, err);
    w->f = NULL;
    veil_secret_free(hdr, hlen);
    writer_free(w);
    return st;
fail:
    veil_secret_free(hdr, hlen);
    veil_sharefile_writer_abort(w);
    return st;
}

void veil_sharefile_writer_abort(veil_sharefile_writer *w)
{
    if (w == NULL)
        return;
    veil_atomic_abort(w->f);
    writer_free(w);
}

/* ================= reading ================= */

struct veil_sharefile_reader {
    veil_frame_reader *fr;
    veil_sharefile_info info;
    crypto_generichash_state *h; /* 64-byte aligned, allocated apart */
    veil_fe *frame;              /* decoded elements of the current frame */
    size_t frame_len, frame_pos;
    uint64_t pos;  /* elements handed out */
    uint64_t held; /* elements in the frames read so far */
    int done, failed;
};

const char *veil_sharefile_reader_name(const veil_sharefile_reader *r)
{
    return veil_frame_reader_name(r->fr);
}

void veil_sharefile_reader_close(veil_sharefile_reader *r)
{
    if (r == NULL)
        return;
    veil_frame_reader_close(r->fr);
    veil_secret_free(r->frame, (size_t)VEIL_SHAREFILE_FRAME * sizeof *r->frame);
    free(r->h);
    sodium_memzero(&r->info, sizeof r->info);
    free(r);
}

/* Reads the next frame; an input that ends here is truncated. *fno is the
 * frame's number (the header is frame 0) and *at its byte offset. */
static veil_status next_frame(veil_sharefile_reader *r, uint8_t *tag, const uint8_t **p,
                              size_t *len, uint64_t *fno, uint64_t *at, veil_err *err)
{
    int eof;
    *fno = veil_frame_reader_frames(r->fr);
    *at = veil_frame_reader_offset(r->fr);
    veil_status st = veil_frame_read(r->fr, tag, p, len, FRAME_BYTES_MAX, &eof, err);
    if (st != VEIL_OK)
        return st;
    if (eof && r->info.seeded)
        return ferr(err, VEIL_ERR_INPUT, veil_sharefile_reader_name(r),
                    "truncated: the file ends before its trailer");
    if (eof)
        return ferr(err, VEIL_ERR_INPUT, veil_sharefile_reader_name(r),
                    "truncated: the file ends after %llu of %llu elements, before its trailer",
                    (unsigned long long)r->held, (unsigned long long)r->info.length);
    return VEIL_OK;
}

static veil_status read_magic(veil_sharefile_reader *r, veil_err *err)
{
    const char *name = veil_sharefile_reader_name(r);
    uint8_t buf[MAGIC_LEN];
    size_t got;
    veil_status st = veil_frame_reader_raw(r->fr, buf, sizeof buf, &got, err);
    if (st != VEIL_OK)
        return st;
    if (memcmp(buf, MAGIC, got < MAGIC_LEN - 1 ? got : MAGIC_LEN - 1) != 0)
        return ferr(err, VEIL_ERR_INPUT, name, "not a veil share file (bad magic)");
    if (got < MAGIC_LEN)
        return ferr(err, VEIL_ERR_INPUT, name, "truncated: the file ends inside its magic");
    if (buf[MAGIC_LEN - 1] != MAGIC[MAGIC_LEN - 1])
        return ferr(err, VEIL_ERR_INPUT, name,
                    "share file format version %u is not supported (this veil reads version %u)",
                    buf[MAGIC_LEN - 1], MAGIC[MAGIC_LEN - 1]);
    crypto_generichash_update(r->h, buf, sizeof buf);
    return VEIL_OK;
}

/* Decodes and checks the header message into r->info. */
static veil_status parse_header(veil_sharefile_reader *r, const uint8_t *p, size_t len,
                                veil_err *err)
{
    const char *name = veil_sharefile_reader_name(r);
    Veil__ShareFileHeader *h = veil__share_file_header__unpack(NULL, len, p);
    if (h == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "header: does not decode");
    veil_status st = VEIL_OK;
    veil_sharefile_info *in = &r->info;
    if (h->version != SHAREFILE_VERSION) {
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "header: version %u is not supported (this veil reads version %d)", h->version,
                  SHAREFILE_VERSION);
        goto done;
    }
    if (h->split_id.len != VEIL_SHAREFILE_ID_BYTES) {
        st = ferr(err, VEIL_ERR_INPUT, name, "header: the split id is %zu bytes, not %d",
                  h->split_id.len, VEIL_SHAREFILE_ID_BYTES);
        goto done;
    }
    if (h->column.len == 0 || h->column.len > VEIL_SHAREFILE_COLUMN_MAX ||
        memchr(h->column.data, 0, h->column.len) != NULL) {
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "header: the column name is empty, longer than %d bytes or holds a NUL byte",
                  VEIL_SHAREFILE_COLUMN_MAX);
        goto done;
    }
    if (h->has_seed && h->seed.len != VEIL_SHARE_SEED) {
        st = ferr(err, VEIL_ERR_INPUT, name, "header: the seed is %zu bytes, not %d", h->seed.len,
                  VEIL_SHARE_SEED);
        goto done;
    }
    /* Out-of-range values are refused by check_info; keep them visible
     * in the message rather than truncating them to the enum. */
    if (h->scheme != VEIL_SCHEME_ADDITIVE && h->scheme != VEIL_SCHEME_SHAMIR) {
        st = ferr(err, VEIL_ERR_INPUT, name, "header: unknown scheme %u (1 additive, 2 Shamir)",
                  h->scheme);
        goto done;
    }
    memcpy(in->split_id, h->split_id.data, VEIL_SHAREFILE_ID_BYTES);
    in->scheme = (veil_scheme)h->scheme;
    in->n = h->parties;
    in->t = h->threshold;
    in->index = h->index;
    in->scale = h->scale;
    in->length = h->length;
    memcpy(in->column, h->column.data, h->column.len);
    in->column[h->column.len] = 0;
    in->seeded = h->has_seed;
    if (h->has_seed)
        memcpy(in->seed, h->seed.data, VEIL_SHARE_SEED);
    st = check_info(in, VEIL_ERR_INPUT, name, err);
done:
    if (h->has_seed && h->seed.data != NULL)
        sodium_memzero(h->seed.data, h->seed.len);
    veil__share_file_header__free_unpacked(h, NULL);
    return st;
}

/* Checks the trailer frame: count, digest of every byte before it, and
 * nothing after it. */
static veil_status check_trailer(veil_sharefile_reader *r, const uint8_t *p, size_t len,
                                 uint64_t fno, veil_err *err)
{
    const char *name = veil_sharefile_reader_name(r);
    uint64_t want = r->info.seeded ? 0 : r->info.length;
    if (r->held != want)
        return ferr(err, VEIL_ERR_INPUT, name,
                    "truncated: the trailer (frame %llu) follows %llu of %llu elements",
                    (unsigned long long)fno, (unsigned long long)r->held, (unsigned long long)want);
    Veil__ShareFileTrailer *t = veil__share_file_trailer__unpack(NULL, len, p);
    if (t == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "the trailer (frame %llu) does not decode",
                    (unsigned long long)fno);
    veil_status st = VEIL_OK;
    uint8_t digest[VEIL_DIGEST_BYTES];
    crypto_generichash_final(r->h, digest, sizeof digest);
    if (t->count != r->held)
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "the trailer (frame %llu) counts %llu elements but the file holds %llu",
                  (unsigned long long)fno, (unsigned long long)t->count,
                  (unsigned long long)r->held);
    else if (t->digest.len != VEIL_DIGEST_BYTES ||
             sodium_memcmp(t->digest.data, digest, VEIL_DIGEST_BYTES) != 0)
        st = ferr(err, VEIL_ERR_INPUT, name, "digest mismatch: the file was altered or corrupted");
    else
        st = veil_frame_reader_expect_end(r->fr, "the trailer", err);
    veil__share_file_trailer__free_unpacked(t, NULL);
    return st;
}

/* Loads the next 'F' frame into r->frame, checking its offset, size and
 * every element; or, once every element was read, checks the trailer. */
static veil_status reader_advance(veil_sharefile_reader *r, veil_err *err)
{
    const char *name = veil_sharefile_reader_name(r);
    uint8_t tag;
    const uint8_t *p;
    size_t len;
    uint64_t fno, at;
    veil_status st = next_frame(r, &tag, &p, &len, &fno, &at, err);
    if (st != VEIL_OK)
        return st;
    if (tag == TAG_TRAILER) {
        st = check_trailer(r, p, len, fno, err);
        if (st == VEIL_OK)
            r->done = 1;
        return st;
    }
    if (tag != TAG_FRAME)
        return ferr(err, VEIL_ERR_INPUT, name,
                    "frame %llu (byte %llu) has the unexpected tag 0x%02x", (unsigned long long)fno,
                    (unsigned long long)at, tag);
    if (r->info.seeded)
        return ferr(err, VEIL_ERR_INPUT, name,
                    "frame %llu (byte %llu): a seeded share holds no values",
                    (unsigned long long)fno, (unsigned long long)at);
    Veil__ShareFileFrame *f = veil__share_file_frame__unpack(NULL, len, p);
    if (f == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "frame %llu (byte %llu) does not decode",
                    (unsigned long long)fno, (unsigned long long)at);
    size_t n = f->values.len / VEIL_FE_BYTES;
    if (f->offset != r->held)
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "frame %llu (byte %llu) starts at element %llu; %llu expected (frames are "
                  "contiguous)",
                  (unsigned long long)fno, (unsigned long long)at, (unsigned long long)f->offset,
                  (unsigned long long)r->held);
    else if (f->values.len % VEIL_FE_BYTES != 0 || n == 0 || n > VEIL_SHAREFILE_FRAME)
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "frame %llu (byte %llu) holds %zu bytes of values; 1 to %d elements of %d "
                  "bytes expected",
                  (unsigned long long)fno, (unsigned long long)at, f->values.len,
                  VEIL_SHAREFILE_FRAME, VEIL_FE_BYTES);
    else if (n > r->info.length - r->held)
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "frame %llu (byte %llu) goes past the %llu elements the header announces",
                  (unsigned long long)fno, (unsigned long long)at,
                  (unsigned long long)r->info.length);
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        veil_err e;
        if (veil_fe_load(&r->frame[i], f->values.data + i * VEIL_FE_BYTES, &e) != VEIL_OK)
            st = ferr(err, VEIL_ERR_INPUT, name,
                      "frame %llu (byte %llu): element %llu is not below 2^127-1",
                      (unsigned long long)fno, (unsigned long long)at,
                      (unsigned long long)(r->held + i));
    }
    if (st == VEIL_OK) {
        veil_frame_hash(r->h, tag, p, len);
        r->frame_len = n;
        r->frame_pos = 0;
        r->held += n;
    }
    sodium_memzero(f->values.data, f->values.len);
    veil__share_file_frame__free_unpacked(f, NULL);
    return st;
}

/* Reads magic and header; for a seeded share also the trailer. */
static veil_status reader_start(veil_sharefile_reader *r, veil_err *err)
{
    const char *name = veil_sharefile_reader_name(r);
    uint8_t tag;
    const uint8_t *p;
    size_t len;
    uint64_t fno, at;
    veil_status st = read_magic(r, err);
    if (st != VEIL_OK)
        return st;
    int eof;
    st = veil_frame_read(r->fr, &tag, &p, &len, FRAME_BYTES_MAX, &eof, err);
    if (st != VEIL_OK)
        return st;
    if (eof)
        return ferr(err, VEIL_ERR_INPUT, name, "truncated: the file ends before its header");
    if (tag != TAG_HEADER)
        return ferr(err, VEIL_ERR_INPUT, name, "expected the header frame ('H'), found tag 0x%02x",
                    tag);
    st = parse_header(r, p, len, err);
    if (st != VEIL_OK)
        return st;
    veil_frame_hash(r->h, tag, p, len);
    if (!r->info.seeded)
        return VEIL_OK;
    st = next_frame(r, &tag, &p, &len, &fno, &at, err);
    if (st != VEIL_OK)
        return st;
    if (tag != TAG_TRAILER)
        return ferr(err, VEIL_ERR_INPUT, name,
                    "frame %llu (byte %llu): a seeded share holds no values; the trailer was "
                    "expected",
                    (unsigned long long)fno, (unsigned long long)at);
    st = check_trailer(r, p, len, fno, err);
    if (st == VEIL_OK)
        r->done = 1;
    return st;
}

static veil_status reader_open(veil_sharefile_reader **out, veil_frame_reader *fr, veil_err *err)
{
    *out = NULL;
    veil_sharefile_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        veil_frame_reader_close(fr);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    r->fr = fr;
    r->h = aligned_alloc(64, sizeof *r->h);
    r->frame = malloc((size_t)VEIL_SHAREFILE_FRAME * sizeof *r->frame);
    if (r->h == NULL || r->frame == NULL) {
        veil_sharefile_reader_close(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    crypto_generichash_init(r->h, NULL, 0, VEIL_DIGEST_BYTES);
    veil_status st = reader_start(r, err);
    if (st != VEIL_OK) {
        veil_sharefile_reader_close(r);
        return st;
    }
    *out = r;
    return VEIL_OK;
}

veil_status veil_sharefile_reader_open(veil_sharefile_reader **out, const char *path, veil_err *err)
{
    *out = NULL;
    veil_frame_reader *fr = NULL;
    veil_status st = veil_frame_reader_open_file(&fr, path, err);
    if (st != VEIL_OK)
        return st;
    return reader_open(out, fr, err);
}

veil_status veil_sharefile_reader_open_mem(veil_sharefile_reader **out, const uint8_t *buf,
                                           size_t len, const char *name, veil_err *err)
{
    *out = NULL;
    veil_frame_reader *fr = NULL;
    veil_status st =
        veil_frame_reader_open_mem(&fr, buf, len, name != NULL ? name : "share file", err);
    if (st != VEIL_OK)
        return st;
    return reader_open(out, fr, err);
}

const veil_sharefile_info *veil_sharefile_reader_info(const veil_sharefile_reader *r)
{
    return &r->info;
}

veil_status veil_sharefile_reader_read(veil_sharefile_reader *r, veil_fe *out, size_t max,
                                       size_t *got, veil_err *err)
{
    *got = 0;
    if (r->failed)
        return ferr(err, VEIL_ERR_USAGE, veil_sharefile_reader_name(r),
                    "the reader stopped at an earlier error");
    uint64_t left = r->info.length - r->pos;
    size_t want = left < max ? (size_t)left : max;
    if (r->info.seeded) {
        veil_share_expand(out, r->info.seed, r->pos, want);
        r->pos += want;
        *got = want;
        return VEIL_OK;
    }
    veil_status st = VEIL_OK;
    size_t n = 0;
    while (n < want) {
        if (r->frame_pos == r->frame_len) {
            st = reader_advance(r, err);
            if (st != VEIL_OK)
                goto fail;
            if (r->done) /* a trailer before the announced length: caught there */
                break;
            continue;
        }
        size_t take = r->frame_len - r->frame_pos;
        if (take > want - n)
            take = want - n;
        memcpy(out + n, r->frame + r->frame_pos, take * sizeof *out);
        r->frame_pos += take;
        n += take;
    }
    if (left == 0 && !r->done) {
        /* Every element was handed out: the next frame must be the trailer. */
        st = reader_advance(r, err);
        if (st == VEIL_OK && !r->done)
            st = ferr(err, VEIL_ERR_INPUT, veil_sharefile_reader_name(r),
                      "frame %llu goes past the %llu elements the header announces",
                      (unsigned long long)(veil_frame_reader_frames(r->fr) - 1),
                      (unsigned long long)r->info.length);
        if (st != VEIL_OK)
            goto fail;
    }
    r->pos += n;
    *got = n;
    return VEIL_OK;
fail:
    r->failed = 1;
    return st;
}

veil_status veil_sharefile_load(veil_sharefile_info *info, veil_fe **values, const char *path,
                                veil_err *err)
{
    *values = NULL;
    veil_sharefile_reader *r = NULL;
    veil_status st = veil_sharefile_reader_open(&r, path, err);
    if (st != VEIL_OK)
        return st;
    /* Grow with the data actually read: a hostile header may announce
     * 2^34 elements in a file of a few bytes. */
    uint64_t length = r->info.length;
    size_t cap = 0, used = 0;
    veil_fe *v = NULL;
    for (;;) {
        if (used == cap && used < length) {
            uint64_t want = cap == 0 ? VEIL_SHAREFILE_FRAME : (uint64_t)cap * 2;
            if (want > length)
                want = length;
            veil_fe *nv = want > SIZE_MAX / sizeof *v ? NULL : realloc(v, (size_t)want * sizeof *v);
            if (nv == NULL) {
                st = veil_err_set(err, VEIL_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            v = nv;
            cap = (size_t)want;
        }
        size_t got;
        st = veil_sharefile_reader_read(r, v + used, cap - used, &got, err);
        if (st != VEIL_OK || got == 0)
            break;
        used += got;
    }
    if (st == VEIL_OK) {
        *info = r->info;
        *values = v != NULL ? v : malloc(sizeof *v);
        if (*values == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    } else {
        free(v);
    }
    veil_sharefile_reader_close(r);
    return st;
}

static void id_hex(char out[2 * VEIL_SHAREFILE_ID_BYTES + 1], const uint8_t *id)
{
    sodium_bin2hex(out, 2 * VEIL_SHAREFILE_ID_BYTES + 1, id, VEIL_SHAREFILE_ID_BYTES);
}

veil_status veil_sharefile_check_set(const veil_sharefile_info *const *infos,
                                     const char *const *names, unsigned k, veil_err *err)
{
    if (k == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "no share files given");
    const veil_sharefile_info *a = infos[0];
    for (unsigned i = 1; i < k; i++) {
        const veil_sharefile_info *b = infos[i];
        if (memcmp(a->split_id, b->split_id, VEIL_SHAREFILE_ID_BYTES) != 0) {
            char ha[2 * VEIL_SHAREFILE_ID_BYTES + 1], hb[2 * VEIL_SHAREFILE_ID_BYTES + 1];
            id_hex(ha, a->split_id);
            id_hex(hb, b->split_id);
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s and %s come from different splits (split ids %s and %s)",
                                names[0], names[i], ha, hb);
        }
        const char *what = NULL;
        if (a->scheme != b->scheme)
            what = "scheme";
        else if (a->n != b->n)
            what = "number of parties";
        else if (a->t != b->t)
            what = "threshold";
        else if (a->scale != b->scale)
            what = "scale";
        else if (a->length != b->length)
            what = "length";
        else if (strcmp(a->column, b->column) != 0)
            what = "column name";
        if (what != NULL)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s and %s have the same split id but a different %s: a file "
                                "was altered",
                                names[0], names[i], what);
        for (unsigned j = 0; j < i; j++)
            if (infos[j]->index == b->index)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "%s and %s both hold the share of party %u", names[j], names[i],
                                    b->index);
    }
    unsigned need = a->scheme == VEIL_SCHEME_ADDITIVE ? a->n : a->t;
    if (k < need)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%u share file%s given; the %s %u-of-%u split needs %u", k,
                            k == 1 ? "" : "s", scheme_name(a->scheme), a->t, a->n, need);
    return VEIL_OK;
}
