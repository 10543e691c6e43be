/* Result files (.vct) and column files (.vcol): magic, framed protobuf
 * messages, trailer with count and BLAKE2b-256 digest (docs/formats.md). */
#include "veil/ctfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "veil.pb-c.h"
#include "veil/fixed.h"

#define MAGIC_LEN 8
static const uint8_t RESULT_MAGIC[MAGIC_LEN] = {'V', 'E', 'I', 'L', 'R', 'E', 'S', 1};
static const uint8_t COLUMN_MAGIC[MAGIC_LEN] = {'V', 'E', 'I', 'L', 'C', 'O', 'L', 1};
#define CT_VERSION         1
#define TAG_HEADER         'H'
#define TAG_FRAME          'F'
#define TAG_RESULT         'R'
#define TAG_TRAILER        'T'
#define RESULT_FRAME_ITEMS 1024 /* items per 'R' frame written */
/* Column files hold row-level data: private to their owner even encrypted.
 * Result files hold aggregates meant to be passed on. */
#define COLUMN_MODE 0600
#define RESULT_MODE 0644

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

static size_t mpz_bytes(const mpz_t x)
{
    return (mpz_sizeinbase(x, 2) + 7) / 8;
}

/* Byte lengths of n and n^2 for this key. */
static void key_sizes(const veil_paillier_pub *pk, size_t *nlen, size_t *n2len)
{
    mpz_t x;
    mpz_init(x);
    veil_paillier_pub_n(x, pk);
    *nlen = mpz_bytes(x);
    veil_paillier_pub_n2(x, pk);
    *n2len = mpz_bytes(x);
    mpz_clear(x);
}

/* Reads a ciphertext and checks it against the key: a value longer than
 * n^2 is out of range before it is even converted. */
/* unit_check 0: the range only (veil_column_reader_defer_unit_check). */
static veil_status ct_from_bytes_ex(mpz_t c, const ProtobufCBinaryData *b,
                                    const veil_paillier_pub *pk, size_t n2len, int unit_check,
                                    veil_err *err)
{
    if (b->len > n2len)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "ciphertext out of range (%zu bytes; n^2 has %zu)", b->len, n2len);
    veil_status st = veil_be_to_mpz(c, b->data, b->len, n2len, "the ciphertext", err);
    if (st != VEIL_OK)
        return st;
    if (!unit_check) {
        mpz_t n2;
        mpz_init(n2);
        veil_paillier_pub_n2(n2, pk);
        int ok = mpz_sgn(c) > 0 && mpz_cmp(c, n2) < 0;
        mpz_clear(n2);
        return ok ? VEIL_OK
                  : veil_err_set(err, VEIL_ERR_CRYPTO,
                                 "ciphertext is out of range (must be in (0, n^2))");
    }
    return veil_paillier_check_ct(pk, c, err);
}

static veil_status ct_from_bytes(mpz_t c, const ProtobufCBinaryData *b, const veil_paillier_pub *pk,
                                 size_t n2len, veil_err *err)
{
    return ct_from_bytes_ex(c, b, pk, n2len, 1, err);
}

/* A bound read from a file: 0 <= bound <= max_int of the key. */
static veil_status bound_from_bytes(mpz_t bound, const ProtobufCBinaryData *b,
                                    const veil_paillier_pub *pk, size_t nlen, veil_err *err)
{
    if (b->len > nlen)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "the bound exceeds the key's max_int (n/3)");
    veil_status st = veil_be_to_mpz(bound, b->data, b->len, nlen, "the bound", err);
    if (st != VEIL_OK)
        return st;
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, pk);
    int ok = mpz_cmp(bound, max) <= 0;
    mpz_clear(max);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "the bound exceeds the key's max_int (n/3)");
    return VEIL_OK;
}

/* A label or name from a file: at most VEIL_GROUP_LABEL_MAX bytes, no NUL.
 * Copies it NUL-terminated into out (VEIL_GROUP_LABEL_MAX + 1 bytes). */
static veil_status label_from_bytes(char *out, const ProtobufCBinaryData *b, const char *what,
                                    veil_err *err)
{
    if (b->len > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s is %zu bytes long; at most %d are allowed",
                            what, b->len, VEIL_GROUP_LABEL_MAX);
    if (b->len > 0 && memchr(b->data, 0, b->len) != NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s contains a NUL byte", what);
    if (b->len > 0)
        memcpy(out, b->data, b->len);
    out[b->len] = 0;
    return VEIL_OK;
}

static veil_status check_fingerprint(const ProtobufCBinaryData *fp, const veil_paillier_pub *pk,
                                     const char *name, veil_err *err)
{
    if (fp->len != VEIL_FINGERPRINT_BYTES)
        return ferr(err, VEIL_ERR_INPUT, name, "the key fingerprint is %zu bytes, not %d", fp->len,
                    VEIL_FINGERPRINT_BYTES);
    if (sodium_memcmp(fp->data, veil_paillier_pub_fingerprint(pk), VEIL_FINGERPRINT_BYTES) != 0) {
        char have[VEIL_FINGERPRINT_HEX], want[VEIL_FINGERPRINT_HEX];
        sodium_bin2hex(have, sizeof have, fp->data, VEIL_FINGERPRINT_BYTES);
        veil_paillier_pub_fingerprint_hex(want, pk);
        return ferr(err, VEIL_ERR_CRYPTO, name,
                    "the file was made for key %.16s but the key given is %.16s", have, want);
    }
    return VEIL_OK;
}

/* Reads and checks the 8-byte magic, telling a truncated file, a file of
 * the other kind, an unknown format version and a foreign file apart. */
static veil_status read_magic(veil_frame_reader *fr, const uint8_t magic[MAGIC_LEN],
                              const char *kind, crypto_generichash_state *h, veil_err *err)
{
    const char *name = veil_frame_reader_name(fr);
    uint8_t buf[MAGIC_LEN];
    size_t got;
    veil_status st = veil_frame_reader_raw(fr, buf, sizeof buf, &got, err);
    if (st != VEIL_OK)
        return st;
    const uint8_t *other = magic == RESULT_MAGIC ? COLUMN_MAGIC : RESULT_MAGIC;
    if (got == MAGIC_LEN && memcmp(buf, other, MAGIC_LEN - 1) == 0)
        return ferr(err, VEIL_ERR_INPUT, name, "this is a veil %s file, not a %s file",
                    magic == RESULT_MAGIC ? "column" : "result", kind);
    if (memcmp(buf, magic, got < MAGIC_LEN - 1 ? got : MAGIC_LEN - 1) != 0)
        return ferr(err, VEIL_ERR_INPUT, name, "not a veil %s file (bad magic)", kind);
    if (got < MAGIC_LEN)
        return ferr(err, VEIL_ERR_INPUT, name, "truncated: the file ends inside its magic");
    if (buf[MAGIC_LEN - 1] != magic[MAGIC_LEN - 1])
        return ferr(err, VEIL_ERR_INPUT, name,
                    "%s file format version %u is not supported (this veil reads version %u)", kind,
                    buf[MAGIC_LEN - 1], magic[MAGIC_LEN - 1]);
    crypto_generichash_update(h, buf, sizeof buf);
    return VEIL_OK;
}

/* Reads the next frame, which must have tag `want` (or be the trailer when
 * trailer_ok); an input that ends here is truncated. */
static veil_status next_frame(veil_frame_reader *fr, uint8_t *tag, const uint8_t **p, size_t *len,
                              const char *where, veil_err *err)
{
    int eof;
    veil_status st = veil_frame_read(fr, tag, p, len, VEIL_MESSAGE_MAX, &eof, err);
    if (st != VEIL_OK)
        return st;
    if (eof)
        return ferr(err, VEIL_ERR_INPUT, veil_frame_reader_name(fr), "truncated: the file ends %s",
                    where);
    return VEIL_OK;
}

/* Checks the trailer frame: counts, digest of every byte before it, and
 * nothing after it. */
static veil_status check_trailer(veil_frame_reader *fr, const uint8_t *p, size_t len,
                                 uint64_t header_count, uint64_t read, const char *what,
                                 crypto_generichash_state *h, veil_err *err)
{
    const char *name = veil_frame_reader_name(fr);
    /* ColumnTrailer and ResultTrailer have the same fields. */
    Veil__ColumnTrailer *t = veil__column_trailer__unpack(NULL, len, p);
    if (t == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "the trailer does not decode");
    veil_status st = VEIL_OK;
    uint8_t digest[VEIL_DIGEST_BYTES];
    crypto_generichash_final(h, digest, sizeof digest);
    if (read != header_count)
        st = ferr(err, VEIL_ERR_INPUT, name, "the header announces %llu %s but the file holds %llu",
                  (unsigned long long)header_count, what, (unsigned long long)read);
    else if (t->count != read)
        st = ferr(err, VEIL_ERR_INPUT, name, "the trailer counts %llu %s but the file holds %llu",
                  (unsigned long long)t->count, what, (unsigned long long)read);
    else if (t->digest.len != VEIL_DIGEST_BYTES ||
             sodium_memcmp(t->digest.data, digest, VEIL_DIGEST_BYTES) != 0)
        st = ferr(err, VEIL_ERR_INPUT, name, "digest mismatch: the file was altered or corrupted");
    else
        st = veil_frame_reader_expect_end(fr, "the trailer", err);
    veil__column_trailer__free_unpacked(t, NULL);
    return st;
}

/* Commits a file whose frames are all written: rewrites the header frame
 * in place when given (same size), hashes everything written, appends the
 * trailer and renames into place. Frees f in every case. */
static veil_status commit_stream(veil_atomic_file *f, const uint8_t *header, size_t header_len,
                                 uint64_t count, veil_err *err)
{
    veil_status st = VEIL_OK;
    crypto_generichash_state h;
    uint8_t digest[VEIL_DIGEST_BYTES];
    if (header != NULL) {
        st = veil_atomic_pwrite(f, header, header_len, MAGIC_LEN, err);
        if (st != VEIL_OK)
            goto fail;
    }
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    st = veil_atomic_hash(f, &h, err);
    if (st != VEIL_OK)
        goto fail;
    crypto_generichash_final(&h, digest, sizeof digest);
    Veil__ColumnTrailer t = VEIL__COLUMN_TRAILER__INIT;
    t.count = count;
    t.digest.data = digest;
    t.digest.len = sizeof digest;
    st = veil_frame_write(f, NULL, TAG_TRAILER, &t.base, VEIL_MESSAGE_MAX, err);
    if (st != VEIL_OK)
        goto fail;
    return veil_atomic_commit(f, err);
fail:
    veil_atomic_abort(f);
    return st;
}

/* ================= result files ================= */

void veil_result_init(veil_result *r)
{
    r->items = NULL;
    r->count = 0;
    r->cap = 0;
}

void veil_result_clear(veil_result *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].group);
        veil_enc_clear(&r->items[i].value);
    }
    free(r->items);
    veil_result_init(r);
}

veil_status veil_result_append(veil_result *r, const char *group, int is_total,
                               const veil_enc *value, veil_err *err)
{
    if (r->count >= VEIL_RESULT_ITEMS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "a result holds at most %d items",
                            VEIL_RESULT_ITEMS_MAX);
    if (group != NULL && strlen(group) > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "group label is longer than %d bytes",
                            VEIL_GROUP_LABEL_MAX);
    if (r->count == r->cap) {
        size_t ncap = r->cap == 0 ? 8 : r->cap * 2;
        veil_result_item *n = realloc(r->items, ncap * sizeof *n);
        if (n == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        r->items = n;
        r->cap = ncap;
    }
    veil_result_item *it = &r->items[r->count];
    it->group = NULL;
    if (group != NULL && (it->group = strdup(group)) == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    it->is_total = is_total ? 1 : 0;
    veil_enc_init(&it->value);
    veil_enc_set(&it->value, value);
    r->count++;
    return VEIL_OK;
}

/* Refuses to write an item a reader would refuse. */
static veil_status result_item_check(const veil_paillier_pub *pk, const veil_result_item *it,
                                     const mpz_t max, veil_err *err)
{
    if (mpz_sgn(it->value.bound) < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the bound is negative");
    if (mpz_cmp(it->value.bound, max) > 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "the bound exceeds the key's max_int (n/3)");
    if (it->value.scale > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "scale %u is above %d", it->value.scale,
                            VEIL_SCALE_MAX);
    if (it->group != NULL && strlen(it->group) > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "group label is longer than %d bytes",
                            VEIL_GROUP_LABEL_MAX);
    if (it->group != NULL && it->is_total)
        return veil_err_set(err, VEIL_ERR_USAGE, "an overall total has no group label");
    return veil_paillier_check_ct(pk, it->value.c, err);
}

/* Writes items [from, to) as one 'R' frame. */
static veil_status result_write_frame(veil_atomic_file *f, const veil_result *r, size_t from,
                                      size_t to, veil_err *err)
{
    size_t n = to - from;
    Veil__Ciphertext *msgs = calloc(n, sizeof *msgs);
    Veil__Ciphertext **ptrs = calloc(n, sizeof *ptrs);
    veil_status st = VEIL_OK;
    if (msgs == NULL || ptrs == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const veil_result_item *it = &r->items[from + i];
        Veil__Ciphertext init = VEIL__CIPHERTEXT__INIT;
        msgs[i] = init;
        ptrs[i] = &msgs[i];
        st = veil_mpz_to_be(&msgs[i].value.data, &msgs[i].value.len, it->value.c, err);
        if (st == VEIL_OK)
            st = veil_mpz_to_be(&msgs[i].bound.data, &msgs[i].bound.len, it->value.bound, err);
        if (st != VEIL_OK)
            goto done;
        msgs[i].scale = it->value.scale;
        msgs[i].count = it->value.count;
        if (it->group != NULL) {
            msgs[i].has_group = 1;
            msgs[i].group.data = (uint8_t *)it->group;
            msgs[i].group.len = strlen(it->group);
        }
        if (it->is_total) {
            msgs[i].has_is_total = 1;
            msgs[i].is_total = 1;
        }
    }
    Veil__ResultFrame fr = VEIL__RESULT_FRAME__INIT;
    fr.n_items = n;
    fr.items = ptrs;
    st = veil_frame_write(f, NULL, TAG_RESULT, &fr.base, VEIL_MESSAGE_MAX, err);
done:
    if (msgs != NULL) {
        for (size_t i = 0; i < n; i++) {
            free(msgs[i].value.data);
            free(msgs[i].bound.data);
        }
    }
    free(msgs);
    free(ptrs);
    return st;
}

veil_status veil_result_save(const char *path, const veil_paillier_pub *pk, const veil_result *r,
                             veil_err *err)
{
    if (r->count == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: nothing to save: the result is empty", path);
    if (r->count > VEIL_RESULT_ITEMS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: a result holds at most %d items", path,
                            VEIL_RESULT_ITEMS_MAX);
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, pk);
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < r->count && st == VEIL_OK; i++) {
        st = result_item_check(pk, &r->items[i], max, err);
        if (st != VEIL_OK)
            veil_err_prefix(err, "%s: item %zu", path, i);
    }
    mpz_clear(max);
    if (st != VEIL_OK)
        return st;

    veil_atomic_file *f = NULL;
    st = veil_atomic_open(&f, path, RESULT_MODE, err);
    if (st != VEIL_OK)
        return st;
    st = veil_atomic_write(f, RESULT_MAGIC, MAGIC_LEN, err);
    if (st != VEIL_OK)
        goto fail;
    Veil__ResultFile h = VEIL__RESULT_FILE__INIT;
    h.version = CT_VERSION;
    h.key_fingerprint.data = (uint8_t *)veil_paillier_pub_fingerprint(pk);
    h.key_fingerprint.len = VEIL_FINGERPRINT_BYTES;
    h.count = r->count;
    st = veil_frame_write(f, NULL, TAG_HEADER, &h.base, VEIL_MESSAGE_MAX, err);
    for (size_t i = 0; i < r->count && st == VEIL_OK; i += RESULT_FRAME_ITEMS) {
        size_t to = r->count - i < RESULT_FRAME_ITEMS ? r->count : i + RESULT_FRAME_ITEMS;
        st = result_write_frame(f, r, i, to, err);
    }
    if (st != VEIL_OK)
        goto fail;
    return commit_stream(f, NULL, 0, r->count, err);
fail:
    veil_atomic_abort(f);
    return st;
}

/* Checks one item read from a file and appends it to out. */
static veil_status result_item_read(veil_result *out, const Veil__Ciphertext *m,
                                    const veil_paillier_pub *pk, size_t nlen, size_t n2len,
                                    veil_err *err)
{
    char label[VEIL_GROUP_LABEL_MAX + 1];
    veil_enc e;
    veil_enc_init(&e);
    veil_status st = ct_from_bytes(e.c, &m->value, pk, n2len, err);
    if (st != VEIL_OK)
        goto done;
    st = bound_from_bytes(e.bound, &m->bound, pk, nlen, err);
    if (st != VEIL_OK)
        goto done;
    if (m->scale > VEIL_SCALE_MAX) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "scale %u is above %d", m->scale, VEIL_SCALE_MAX);
        goto done;
    }
    if (m->has_group) {
        st = label_from_bytes(label, &m->group, "the group label", err);
        if (st != VEIL_OK)
            goto done;
    }
    int is_total = m->has_is_total && m->is_total;
    if (is_total && m->has_group) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "an overall total must not carry a group label");
        goto done;
    }
    e.scale = m->scale;
    e.count = m->count;
    st = veil_result_append(out, m->has_group ? label : NULL, is_total, &e, err);
done:
    veil_enc_clear(&e);
    return st;
}

static veil_status result_read(veil_result *out, veil_frame_reader *fr, const veil_paillier_pub *pk,
                               veil_err *err)
{
    const char *name = veil_frame_reader_name(fr);
    size_t nlen, n2len;
    key_sizes(pk, &nlen, &n2len);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, VEIL_DIGEST_BYTES);
    Veil__ResultFile *hdr = NULL;
    uint8_t tag;
    const uint8_t *p;
    size_t len;
    uint64_t read = 0;
    veil_status st = read_magic(fr, RESULT_MAGIC, "result", &h, err);
    if (st != VEIL_OK)
        goto done;
    st = next_frame(fr, &tag, &p, &len, "before its header", err);
    if (st != VEIL_OK)
        goto done;
    if (tag != TAG_HEADER) {
        st = ferr(err, VEIL_ERR_INPUT, name, "expected the header frame ('H'), found tag 0x%02x",
                  tag);
        goto done;
    }
    hdr = veil__result_file__unpack(NULL, len, p);
    if (hdr == NULL) {
        st = ferr(err, VEIL_ERR_INPUT, name, "the header does not decode");
        goto done;
    }
    if (hdr->version != CT_VERSION) {
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "result header version %u is not supported (this veil reads version %d)",
                  hdr->version, CT_VERSION);
        goto done;
    }
    st = check_fingerprint(&hdr->key_fingerprint, pk, name, err);
    if (st != VEIL_OK)
        goto done;
    if (hdr->count == 0 || hdr->count > VEIL_RESULT_ITEMS_MAX) {
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "the header announces %llu items; a result holds 1 to %d",
                  (unsigned long long)hdr->count, VEIL_RESULT_ITEMS_MAX);
        goto done;
    }
    veil_frame_hash(&h, tag, p, len);
    for (;;) {
        uint64_t fno = veil_frame_reader_frames(fr);
        char where[64];
        snprintf(where, sizeof where, "after %llu items, before its trailer",
                 (unsigned long long)read);
        st = next_frame(fr, &tag, &p, &len, where, err);
        if (st != VEIL_OK)
            goto done;
        if (tag == TAG_TRAILER) {
            st = check_trailer(fr, p, len, hdr->count, read, "items", &h, err);
            goto done;
        }
        if (tag != TAG_RESULT) {
            st = ferr(err, VEIL_ERR_INPUT, name, "frame %llu has the unexpected tag 0x%02x",
                      (unsigned long long)fno, tag);
            goto done;
        }
        Veil__ResultFrame *rf = veil__result_frame__unpack(NULL, len, p);
        if (rf == NULL) {
            st = ferr(err, VEIL_ERR_INPUT, name, "frame %llu does not decode",
                      (unsigned long long)fno);
            goto done;
        }
        if (rf->n_items == 0 || rf->n_items > hdr->count - read) {
            st = ferr(err, VEIL_ERR_INPUT, name,
                      rf->n_items == 0 ? "frame %llu is empty"
                                       : "frame %llu holds more items than the header announces",
                      (unsigned long long)fno);
            veil__result_frame__free_unpacked(rf, NULL);
            goto done;
        }
        for (size_t i = 0; i < rf->n_items && st == VEIL_OK; i++) {
            st = result_item_read(out, rf->items[i], pk, nlen, n2len, err);
            if (st != VEIL_OK)
                veil_err_prefix(err, "%s: item %llu (frame %llu)", name,
                                (unsigned long long)(read + i), (unsigned long long)fno);
        }
        read += rf->n_items;
        veil__result_frame__free_unpacked(rf, NULL);
        if (st != VEIL_OK)
            goto done;
        veil_frame_hash(&h, tag, p, len);
    }
done:
    if (hdr != NULL)
        veil__result_file__free_unpacked(hdr, NULL);
    return st;
}

veil_status veil_result_parse(veil_result *out, const uint8_t *buf, size_t len, const char *name,
                              const veil_paillier_pub *pk, veil_err *err)
{
    veil_result_init(out);
    veil_frame_reader *fr = NULL;
    veil_status st = veil_frame_reader_open_mem(&fr, buf, len, name != NULL ? name : "result", err);
    if (st != VEIL_OK)
        return st;
    st = result_read(out, fr, pk, err);
    veil_frame_reader_close(fr);
    if (st != VEIL_OK)
        veil_result_clear(out);
    return st;
}

veil_status veil_result_load(veil_result *out, const char *path, const veil_paillier_pub *pk,
                             veil_err *err)
{
    veil_result_init(out);
    veil_frame_reader *fr = NULL;
    veil_status st = veil_frame_reader_open_file(&fr, path, err);
    if (st != VEIL_OK)
        return st;
    st = result_read(out, fr, pk, err);
    veil_frame_reader_close(fr);
    if (st != VEIL_OK)
        veil_result_clear(out);
    return st;
}

/* ================= column files ================= */

struct veil_column_writer {
    veil_atomic_file *f;
    const veil_paillier_pub *pk;
    size_t n2len;
    /* Header fields, kept to rewrite the header with the final count. */
    uint8_t fp[VEIL_FINGERPRINT_BYTES];
    char *name, *group_name;
    uint8_t *bound;
    size_t bound_len;
    uint32_t scale;
    size_t header_len; /* bytes of the header frame */
    uint64_t count;
    int failed;
    /* The frame being filled: values in fixed slots of n2len bytes. */
    size_t pending;
    uint8_t *vals;
    ProtobufCBinaryData vbin[VEIL_COLUMN_FRAME];
    char *labels; /* VEIL_COLUMN_FRAME slots of VEIL_GROUP_LABEL_MAX bytes */
    ProtobufCBinaryData gbin[VEIL_COLUMN_FRAME];
};

static void writer_free(veil_column_writer *w)
{
    free(w->name);
    free(w->group_name);
    free(w->bound);
    free(w->vals);
    free(w->labels);
    free(w);
}

/* Packs the header frame with the given count. Its size does not depend on
 * the count (fixed64), which is what lets commit rewrite it in place. */
static veil_status writer_header(uint8_t **out, size_t *len, const veil_column_writer *w,
                                 uint64_t count, veil_err *err)
{
    Veil__ColumnHeader h = VEIL__COLUMN_HEADER__INIT;
    h.version = CT_VERSION;
    h.key_fingerprint.data = (uint8_t *)w->fp;
    h.key_fingerprint.len = sizeof w->fp;
    h.name.data = (uint8_t *)w->name;
    h.name.len = strlen(w->name);
    h.scale = w->scale;
    h.bound.data = w->bound;
    h.bound.len = w->bound_len;
    h.count = count;
    if (w->group_name != NULL) {
        h.has_group_name = 1;
        h.group_name.data = (uint8_t *)w->group_name;
        h.group_name.len = strlen(w->group_name);
    }
    return veil_frame_pack(out, len, TAG_HEADER, &h.base, VEIL_MESSAGE_MAX, err);
}

veil_status veil_column_writer_open(veil_column_writer **out, const char *path,
                                    const veil_paillier_pub *pk, const char *name, uint32_t scale,
                                    const mpz_t bound, const char *group_name, veil_err *err)
{
    *out = NULL;
    if (name == NULL || strlen(name) > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: the column name is missing or longer "
                            "than %d bytes",
                            path, VEIL_GROUP_LABEL_MAX);
    if (group_name != NULL && strlen(group_name) > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: the group column name is longer than %d bytes", path,
                            VEIL_GROUP_LABEL_MAX);
    if (scale > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: scale %u is above %d", path, scale,
                            VEIL_SCALE_MAX);
    if (mpz_sgn(bound) < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: the bound is negative", path);
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, pk);
    int ok = mpz_cmp(bound, max) <= 0;
    mpz_clear(max);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "%s: the bound exceeds the key's max_int (n/3)",
                            path);

    veil_column_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t nlen;
    key_sizes(pk, &nlen, &w->n2len);
    w->pk = pk;
    w->scale = scale;
    memcpy(w->fp, veil_paillier_pub_fingerprint(pk), sizeof w->fp);
    uint8_t *hdr = NULL;
    veil_status st = veil_mpz_to_be(&w->bound, &w->bound_len, bound, err);
    if (st != VEIL_OK)
        goto fail;
    w->name = strdup(name);
    w->group_name = group_name != NULL ? strdup(group_name) : NULL;
    w->vals = malloc(VEIL_COLUMN_FRAME * w->n2len);
    w->labels =
        group_name != NULL ? malloc((size_t)VEIL_COLUMN_FRAME * VEIL_GROUP_LABEL_MAX) : NULL;
    if (w->name == NULL || (group_name != NULL && (w->group_name == NULL || w->labels == NULL)) ||
        w->vals == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    st = writer_header(&hdr, &w->header_len, w, 0, err);
    if (st != VEIL_OK)
        goto fail;
    st = veil_atomic_open(&w->f, path, COLUMN_MODE, err);
    if (st != VEIL_OK)
        goto fail;
    st = veil_atomic_write(w->f, COLUMN_MAGIC, MAGIC_LEN, err);
    if (st == VEIL_OK)
        st = veil_atomic_write(w->f, hdr, w->header_len, err);
    if (st != VEIL_OK)
        goto fail;
    free(hdr);
    *out = w;
    return VEIL_OK;
fail:
    free(hdr);
    veil_atomic_abort(w->f);
    writer_free(w);
    return st;
}

static veil_status writer_flush(veil_column_writer *w, veil_err *err)
{
    if (w->pending == 0)
        return VEIL_OK;
    Veil__ColumnFrame fr = VEIL__COLUMN_FRAME__INIT;
    fr.n_values = w->pending;
    fr.values = w->vbin;
    if (w->group_name != NULL) {
        fr.n_groups = w->pending;
        fr.groups = w->gbin;
    }
    veil_status st = veil_frame_write(w->f, NULL, TAG_FRAME, &fr.base, VEIL_MESSAGE_MAX, err);
    w->pending = 0;
    return st;
}

veil_status veil_column_writer_append(veil_column_writer *w, const mpz_t c, const char *group,
                                      veil_err *err)
{
    const char *path = veil_atomic_path(w->f);
    if (w->failed)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s: an earlier write failed; abort the writer",
                            path);
    if ((group != NULL) != (w->group_name != NULL))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            group != NULL ? "%s: the column is not grouped; no label expected"
                                          : "%s: the column is grouped; a label is needed",
                            path);
    size_t glen = group != NULL ? strlen(group) : 0;
    if (glen > VEIL_GROUP_LABEL_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: value %llu: group label is longer than %d "
                            "bytes",
                            path, (unsigned long long)w->count, VEIL_GROUP_LABEL_MAX);
    veil_status st = veil_paillier_check_ct(w->pk, c, err);
    if (st != VEIL_OK) {
        veil_err_prefix(err, "%s: value %llu", path, (unsigned long long)w->count);
        return st;
    }
    size_t i = w->pending;
    uint8_t *slot = w->vals + i * w->n2len;
    size_t n = 0;
    mpz_export(slot, &n, 1, 1, 1, 0, c);
    w->vbin[i].data = slot;
    w->vbin[i].len = n;
    if (group != NULL) {
        char *ls = w->labels + i * VEIL_GROUP_LABEL_MAX;
        memcpy(ls, group, glen);
        w->gbin[i].data = (uint8_t *)ls;
        w->gbin[i].len = glen;
    }
    w->pending++;
    w->count++;
    if (w->pending == VEIL_COLUMN_FRAME) {
        st = writer_flush(w, err);
        if (st != VEIL_OK)
            w->failed = 1;
    }
    return st;
}

veil_status veil_column_writer_commit(veil_column_writer *w, veil_err *err)
{
    veil_status st;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    if (w->failed) {
        st = veil_err_set(err, VEIL_ERR_USAGE, "%s: an earlier write failed; nothing was saved",
                          veil_atomic_path(w->f));
        goto fail;
    }
    st = writer_flush(w, err);
    if (st == VEIL_OK)
        st = writer_header(&hdr, &hlen, w, w->count, err);
    if (st == VEIL_OK && hlen != w->header_len)
        st = veil_err_set(err, VEIL_ERR_INTERNAL, "the column header changed size");
    if (st != VEIL_OK)
        goto fail;
    st = commit_stream(w->f, hdr, hlen, w->count, err);
    w->f = NULL;
    free(hdr);
    writer_free(w);
    return st;
fail:
    free(hdr);
    veil_column_writer_abort(w);
    return st;
}

void veil_column_writer_abort(veil_column_writer *w)
{
    if (w == NULL)
        return;
    veil_atomic_abort(w->f);
    writer_free(w);
}

struct veil_column_reader {
    veil_frame_reader *fr;
    const veil_paillier_pub *pk;
    size_t n2len;
    veil_column_info info;
    crypto_generichash_state *h; /* 64-byte aligned, allocated apart */
    Veil__ColumnFrame *frame;    /* the frame being read */
    size_t pos;                  /* next value in frame */
    uint64_t frame_no;
    uint64_t read; /* values returned so far */
    int done, failed;
    int defer_unit; /* veil_column_reader_defer_unit_check */
    char label[VEIL_GROUP_LABEL_MAX + 1];
};

void veil_column_reader_defer_unit_check(veil_column_reader *r)
{
    r->defer_unit = 1;
}

void veil_column_reader_close(veil_column_reader *r)
{
    if (r == NULL)
        return;
    veil_frame_reader_close(r->fr);
    if (r->frame != NULL)
        veil__column_frame__free_unpacked(r->frame, NULL);
    free(r->h);
    free(r->info.name);
    free(r->info.group_name);
    mpz_clear(r->info.bound);
    free(r);
}

/* Reads magic and header and checks them against the key. */
static veil_status reader_start(veil_column_reader *r, veil_err *err)
{
    const char *name = veil_frame_reader_name(r->fr);
    uint8_t tag;
    const uint8_t *p;
    size_t len, nlen;
    char buf[VEIL_GROUP_LABEL_MAX + 1];
    key_sizes(r->pk, &nlen, &r->n2len);
    veil_status st = read_magic(r->fr, COLUMN_MAGIC, "column", r->h, err);
    if (st != VEIL_OK)
        return st;
    st = next_frame(r->fr, &tag, &p, &len, "before its header", err);
    if (st != VEIL_OK)
        return st;
    if (tag != TAG_HEADER)
        return ferr(err, VEIL_ERR_INPUT, name, "expected the header frame ('H'), found tag 0x%02x",
                    tag);
    Veil__ColumnHeader *h = veil__column_header__unpack(NULL, len, p);
    if (h == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "the header does not decode");
    if (h->version != CT_VERSION) {
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "column header version %u is not supported (this veil reads version %d)",
                  h->version, CT_VERSION);
        goto done;
    }
    st = check_fingerprint(&h->key_fingerprint, r->pk, name, err);
    if (st != VEIL_OK)
        goto done;
    if (h->scale > VEIL_SCALE_MAX) {
        st = ferr(err, VEIL_ERR_INPUT, name, "header: scale %u is above %d", h->scale,
                  VEIL_SCALE_MAX);
        goto done;
    }
    st = bound_from_bytes(r->info.bound, &h->bound, r->pk, nlen, err);
    if (st == VEIL_OK)
        st = label_from_bytes(buf, &h->name, "the column name", err);
    if (st == VEIL_OK && (r->info.name = strdup(buf)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && h->has_group_name) {
        st = label_from_bytes(buf, &h->group_name, "the group column name", err);
        if (st == VEIL_OK && (r->info.group_name = strdup(buf)) == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        r->info.grouped = 1;
    }
    if (st != VEIL_OK) {
        veil_err_prefix(err, "%s: header", name);
        goto done;
    }
    r->info.scale = h->scale;
    r->info.count = h->count;
    veil_frame_hash(r->h, tag, p, len);
done:
    veil__column_header__free_unpacked(h, NULL);
    return st;
}

static veil_status reader_open(veil_column_reader **out, veil_frame_reader *fr,
                               const veil_paillier_pub *pk, veil_err *err)
{
    *out = NULL;
    veil_column_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        veil_frame_reader_close(fr);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    r->fr = fr;
    r->pk = pk;
    mpz_init(r->info.bound);
    r->h = aligned_alloc(64, sizeof *r->h);
    if (r->h == NULL) {
        veil_column_reader_close(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    crypto_generichash_init(r->h, NULL, 0, VEIL_DIGEST_BYTES);
    veil_status st = reader_start(r, err);
    if (st != VEIL_OK) {
        veil_column_reader_close(r);
        return st;
    }
    *out = r;
    return VEIL_OK;
}

veil_status veil_column_reader_open(veil_column_reader **out, const char *path,
                                    const veil_paillier_pub *pk, veil_err *err)
{
    *out = NULL;
    veil_frame_reader *fr = NULL;
    veil_status st = veil_frame_reader_open_file(&fr, path, err);
    if (st != VEIL_OK)
        return st;
    return reader_open(out, fr, pk, err);
}

veil_status veil_column_reader_open_mem(veil_column_reader **out, const uint8_t *buf, size_t len,
                                        const char *name, const veil_paillier_pub *pk,
                                        veil_err *err)
{
    *out = NULL;
    veil_frame_reader *fr = NULL;
    veil_status st = veil_frame_reader_open_mem(&fr, buf, len, name != NULL ? name : "column", err);
    if (st != VEIL_OK)
        return st;
    return reader_open(out, fr, pk, err);
}

const veil_column_info *veil_column_reader_info(const veil_column_reader *r)
{
    return &r->info;
}

/* Loads the next 'F' frame, or checks the trailer and sets r->done. */
static veil_status reader_advance(veil_column_reader *r, veil_err *err)
{
    const char *name = veil_frame_reader_name(r->fr);
    uint8_t tag;
    const uint8_t *p;
    size_t len;
    if (r->frame != NULL) {
        veil__column_frame__free_unpacked(r->frame, NULL);
        r->frame = NULL;
    }
    r->pos = 0;
    char where[64];
    snprintf(where, sizeof where, "after %llu values, before its trailer",
             (unsigned long long)r->read);
    uint64_t fno = veil_frame_reader_frames(r->fr);
    veil_status st = next_frame(r->fr, &tag, &p, &len, where, err);
    if (st != VEIL_OK)
        return st;
    if (tag == TAG_TRAILER) {
        st = check_trailer(r->fr, p, len, r->info.count, r->read, "values", r->h, err);
        if (st == VEIL_OK)
            r->done = 1;
        return st;
    }
    if (tag != TAG_FRAME)
        return ferr(err, VEIL_ERR_INPUT, name, "frame %llu has the unexpected tag 0x%02x",
                    (unsigned long long)fno, tag);
    Veil__ColumnFrame *f = veil__column_frame__unpack(NULL, len, p);
    if (f == NULL)
        return ferr(err, VEIL_ERR_INPUT, name, "frame %llu does not decode",
                    (unsigned long long)fno);
    if (f->n_values == 0 || f->n_values > VEIL_COLUMN_FRAME)
        st = ferr(err, VEIL_ERR_INPUT, name, "frame %llu holds %zu values; 1 to %d expected",
                  (unsigned long long)fno, f->n_values, VEIL_COLUMN_FRAME);
    else if (f->n_groups != (r->info.grouped ? f->n_values : 0))
        st = ferr(err, VEIL_ERR_INPUT, name, "frame %llu has %zu group labels for %zu values",
                  (unsigned long long)fno, f->n_groups, f->n_values);
    else if (f->n_values > r->info.count - r->read)
        st = ferr(err, VEIL_ERR_INPUT, name,
                  "frame %llu goes past the %llu values the header announces",
                  (unsigned long long)fno, (unsigned long long)r->info.count);
    if (st != VEIL_OK) {
        veil__column_frame__free_unpacked(f, NULL);
        return st;
    }
    veil_frame_hash(r->h, tag, p, len);
    r->frame = f;
    r->frame_no = fno;
    return VEIL_OK;
}

veil_status veil_column_reader_next(veil_column_reader *r, mpz_t c, const char **group, int *eof,
                                    veil_err *err)
{
    const char *name = veil_frame_reader_name(r->fr);
    *eof = 0;
    if (group != NULL)
        *group = NULL;
    if (r->failed)
        return ferr(err, VEIL_ERR_USAGE, name, "the reader stopped at an earlier error");
    veil_status st = VEIL_OK;
    while (!r->done && (r->frame == NULL || r->pos == r->frame->n_values)) {
        st = reader_advance(r, err);
        if (st != VEIL_OK)
            goto fail;
    }
    if (r->done) {
        *eof = 1;
        return VEIL_OK;
    }
    st = ct_from_bytes_ex(c, &r->frame->values[r->pos], r->pk, r->n2len, !r->defer_unit, err);
    if (st == VEIL_OK && r->info.grouped)
        st = label_from_bytes(r->label, &r->frame->groups[r->pos], "the group label", err);
    if (st != VEIL_OK) {
        veil_err_prefix(err, "%s: value %llu (frame %llu)", name, (unsigned long long)r->read,
                        (unsigned long long)r->frame_no);
        goto fail;
    }
    if (group != NULL && r->info.grouped)
        *group = r->label;
    r->pos++;
    r->read++;
    return VEIL_OK;
fail:
    r->failed = 1;
    return st;
}
