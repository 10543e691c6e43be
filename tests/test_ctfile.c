/* Result and column files: round trips against the plaintexts, and
 * truncated, altered, foreign and out-of-range files. */
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/framing.h"
#include "testutil.h"
#include "veil.pb-c.h"
#include "veil/ctfile.h"
#include "veil/fixed.h"
#include "veil/rand.h"

#define NVALUES 3000
#define NGROUPS 5

static veil_paillier_priv *sk, *sk2;
static const veil_paillier_pub *pk, *pk2;
static char *dir;
static long plain[NVALUES];
static mpz_t cts[NVALUES];
static const char *const group_names[NGROUPS] = {"primary", "secondary", "tertiary", "", "none"};

static int suite_init(void)
{
    sk = tu_random_key(2048, 1);
    pk = veil_paillier_priv_pub(sk);
    sk2 = tu_fixed_key(1);
    pk2 = veil_paillier_priv_pub(sk2);
    dir = tu_tempdir();
    /* 3000 real encryptions (about 3 s), shared by the column tests. */
    veil_err err;
    mpz_t v, m;
    mpz_inits(v, m, NULL);
    for (size_t i = 0; i < NVALUES; i++) {
        plain[i] = (long)(randombytes_uniform(2000001)) - 1000000;
        mpz_init(cts[i]);
        mpz_set_si(v, plain[i]);
        if (veil_paillier_encode(m, pk, v, &err) != VEIL_OK ||
            veil_paillier_encrypt(cts[i], pk, m, &err) != VEIL_OK)
            return 1;
    }
    mpz_clears(v, m, NULL);
    return dir == NULL;
}

static int suite_cleanup(void)
{
    for (size_t i = 0; i < NVALUES; i++)
        mpz_clear(cts[i]);
    veil_paillier_priv_free(sk);
    veil_paillier_priv_free(sk2);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static unsigned file_mode(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    return (unsigned)(sb.st_mode & 07777);
}

static int temp_files_left(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.") != NULL)
            n++;
    if (d != NULL)
        closedir(d);
    return n;
}

static long decrypt_long(const veil_paillier_priv *key, const mpz_t c)
{
    veil_err err;
    mpz_t m, v;
    mpz_inits(m, v, NULL);
    long out = 0x7fffffff;
    if (veil_paillier_decrypt(m, key, c, &err) == VEIL_OK &&
        veil_paillier_decode(v, veil_paillier_priv_pub(key), m, &err) == VEIL_OK)
        out = mpz_get_si(v);
    mpz_clears(m, v, NULL);
    return out;
}

/* ---- column helpers ---- */

/* Writes the first n values to path, grouped by i % NGROUPS when grouped. */
static void write_column(const char *path, size_t n, int grouped)
{
    veil_err err;
    mpz_t bound;
    mpz_init_set_ui(bound, 1000000);
    veil_column_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, path, pk, "income", 2, bound,
                                                  grouped ? "education" : NULL, &err),
                          VEIL_OK);
    /* Nothing appears at path before the commit. */
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(
            veil_column_writer_append(w, cts[i], grouped ? group_names[i % NGROUPS] : NULL, &err),
            VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_commit(w, &err), VEIL_OK);
    mpz_clear(bound);
}

/* Reads a whole column from memory; returns the status of the first
 * failure (or VEIL_OK) and the number of values read. */
static veil_status read_all_mem(const uint8_t *buf, size_t len, const veil_paillier_pub *key,
                                size_t *nread, veil_err *err)
{
    veil_column_reader *r = NULL;
    *nread = 0;
    veil_status st = veil_column_reader_open_mem(&r, buf, len, "col.vcol", key, err);
    if (st != VEIL_OK)
        return st;
    mpz_t c;
    mpz_init(c);
    int eof = 0;
    const char *g;
    while (st == VEIL_OK && !eof) {
        st = veil_column_reader_next(r, c, &g, &eof, err);
        if (st == VEIL_OK && !eof)
            (*nread)++;
    }
    mpz_clear(c);
    veil_column_reader_close(r);
    return st;
}

/* A byte buffer for crafting files by hand. */
typedef struct {
    uint8_t *data;
    size_t len;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n)
{
    b->data = realloc(b->data, b->len + n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_frame(buf_t *b, uint8_t tag, const ProtobufCMessage *msg)
{
    veil_err err;
    uint8_t *f;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(veil_frame_pack(&f, &n, tag, msg, VEIL_MESSAGE_MAX, &err), VEIL_OK);
    buf_add(b, f, n);
    free(f);
}

/* Appends a correct trailer: count and digest of everything so far. */
static void buf_trailer(buf_t *b, uint64_t count)
{
    uint8_t digest[32];
    crypto_generichash(digest, sizeof digest, b->data, b->len, NULL, 0);
    Veil__ColumnTrailer t = VEIL__COLUMN_TRAILER__INIT;
    t.count = count;
    t.digest.data = digest;
    t.digest.len = sizeof digest;
    buf_frame(b, 'T', &t.base);
}

static void set_bytes(ProtobufCBinaryData *b, const mpz_t x)
{
    b->data = mpz_export(NULL, &b->len, 1, 1, 1, 0, x);
    if (b->data == NULL) /* zero: empty string */
        b->len = 0;
}

/* A column file of the given values (no groups) made by hand. */
static void craft_column(buf_t *b, const veil_paillier_pub *key, mpz_t *vals, size_t n)
{
    b->data = NULL;
    b->len = 0;
    buf_add(b, "VEILCOL\x01", 8);
    Veil__ColumnHeader h = VEIL__COLUMN_HEADER__INIT;
    h.version = 1;
    h.key_fingerprint.data = (uint8_t *)veil_paillier_pub_fingerprint(key);
    h.key_fingerprint.len = 32;
    h.name.data = (uint8_t *)"x";
    h.name.len = 1;
    h.bound.data = (uint8_t *)"\x10";
    h.bound.len = 1;
    h.count = n;
    buf_frame(b, 'H', &h.base);
    Veil__ColumnFrame f = VEIL__COLUMN_FRAME__INIT;
    ProtobufCBinaryData *v = calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        set_bytes(&v[i], vals[i]);
    f.n_values = n;
    f.values = v;
    buf_frame(b, 'F', &f.base);
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
    buf_trailer(b, n);
}

/* ---- column tests ---- */

static void test_column_round_trip_3000_values_ungrouped(void)
{
    veil_err err;
    char *path = tu_path(dir, "plain.vcol");
    write_column(path, NVALUES, 0);
    CU_ASSERT_EQUAL(file_mode(path), 0600);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    veil_column_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_column_reader_open(&r, path, pk, &err), VEIL_OK);
    const veil_column_info *info = veil_column_reader_info(r);
    CU_ASSERT_STRING_EQUAL(info->name, "income");
    CU_ASSERT_EQUAL(info->scale, 2);
    CU_ASSERT(mpz_cmp_ui(info->bound, 1000000) == 0);
    CU_ASSERT_EQUAL(info->grouped, 0);
    CU_ASSERT_PTR_NULL(info->group_name);
    CU_ASSERT_EQUAL(info->count, NVALUES);
    mpz_t c;
    mpz_init(c);
    int eof = 0;
    size_t n = 0, wrong = 0;
    const char *g = "x";
    while (n <= NVALUES) {
        CU_ASSERT_EQUAL_FATAL(veil_column_reader_next(r, c, &g, &eof, &err), VEIL_OK);
        if (eof)
            break;
        CU_ASSERT_PTR_NULL(g);
        if (mpz_cmp(c, cts[n]) != 0 || decrypt_long(sk, c) != plain[n])
            wrong++;
        n++;
    }
    CU_ASSERT_EQUAL(n, NVALUES);
    CU_ASSERT_EQUAL(wrong, 0);
    /* Still at the end. */
    CU_ASSERT_EQUAL(veil_column_reader_next(r, c, &g, &eof, &err), VEIL_OK);
    CU_ASSERT_EQUAL(eof, 1);
    mpz_clear(c);
    veil_column_reader_close(r);
    /* Three frames: 1024 + 1024 + 952 values. */
    size_t len;
    char *data = tu_read_file(path, &len);
    size_t off = 8, frames = 0;
    while (off + 5 <= len) {
        size_t fl = ((size_t)(uint8_t)data[off + 1] << 24) |
                    ((size_t)(uint8_t)data[off + 2] << 16) | ((size_t)(uint8_t)data[off + 3] << 8) |
                    (size_t)(uint8_t)data[off + 4];
        frames += data[off] == 'F';
        off += 5 + fl;
    }
    CU_ASSERT_EQUAL(off, len);
    CU_ASSERT_EQUAL(frames, 3);
    free(data);
    free(path);
}

static void test_column_round_trip_grouped(void)
{
    veil_err err;
    char *path = tu_path(dir, "grouped.vcol");
    write_column(path, NVALUES, 1);
    veil_column_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_column_reader_open(&r, path, pk, &err), VEIL_OK);
    const veil_column_info *info = veil_column_reader_info(r);
    CU_ASSERT_EQUAL(info->grouped, 1);
    CU_ASSERT_STRING_EQUAL(info->group_name, "education");
    mpz_t c;
    mpz_init(c);
    int eof = 0;
    size_t n = 0, wrong = 0;
    const char *g;
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(veil_column_reader_next(r, c, &g, &eof, &err), VEIL_OK);
        if (eof || n > NVALUES)
            break;
        if (g == NULL || strcmp(g, group_names[n % NGROUPS]) != 0 || mpz_cmp(c, cts[n]) != 0)
            wrong++;
        /* Decrypt a sample (the ungrouped test decrypts everything). */
        if (n % 97 == 0 && decrypt_long(sk, c) != plain[n])
            wrong++;
        n++;
    }
    CU_ASSERT_EQUAL(n, NVALUES);
    CU_ASSERT_EQUAL(wrong, 0);
    mpz_clear(c);
    veil_column_reader_close(r);
    free(path);
}

static void test_empty_column_round_trip(void)
{
    veil_err err;
    char *path = tu_path(dir, "empty.vcol");
    write_column(path, 0, 0);
    size_t len;
    char *data = tu_read_file(path, &len);
    size_t n;
    CU_ASSERT_EQUAL(read_all_mem((uint8_t *)data, len, pk, &n, &err), VEIL_OK);
    CU_ASSERT_EQUAL(n, 0);
    free(data);
    free(path);
}

static void test_truncated_column_file(void)
{
    veil_err err;
    char *path = tu_path(dir, "trunc.vcol");
    write_column(path, 1500, 1);
    size_t len;
    uint8_t *data = (uint8_t *)tu_read_file(path, &len);
    /* Header frame length, to cut right after the header. */
    size_t hend = 8 + 5 +
                  (((size_t)data[9] << 24) | ((size_t)data[10] << 16) | ((size_t)data[11] << 8) |
                   (size_t)data[12]);
    size_t fend = hend + 5 +
                  (((size_t)data[hend + 1] << 24) | ((size_t)data[hend + 2] << 16) |
                   ((size_t)data[hend + 3] << 8) | (size_t)data[hend + 4]);
    size_t cuts[] = {0,        1,        7,        8,           10,       12,   13,
                     hend - 1, hend,     hend + 3, hend + 1000, fend - 1, fend, fend + 2,
                     len / 2,  len - 50, len - 45, len - 10,    len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t n;
        veil_status st = read_all_mem(data, cuts[i], pk, &n, &err);
        if (st != VEIL_ERR_INPUT)
            fprintf(stderr, "\n  cut at %zu of %zu: status %d (%s)\n", cuts[i], len, st, err.msg);
        CU_ASSERT_EQUAL(st, VEIL_ERR_INPUT);
        CU_ASSERT(strstr(err.msg, "col.vcol") != NULL);
    }
    size_t n;
    TU_ASSERT_ERR(read_all_mem(data, fend, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "truncated: the file ends after 1024 values, before its trailer");
    CU_ASSERT_EQUAL(n, 1024);
    TU_ASSERT_ERR(read_all_mem(data, hend + 1000, pk, &n, &err), err, VEIL_ERR_INPUT, "truncated");
    TU_ASSERT_ERR(read_all_mem(data, 4, pk, &n, &err), err, VEIL_ERR_INPUT, "truncated");
    /* Through a real file too. */
    char *cut = tu_path(dir, "cut.vcol");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, data, len - 1), 0);
    veil_column_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_column_reader_open(&r, cut, pk, &err), VEIL_OK);
    mpz_t c;
    mpz_init(c);
    int eof = 0;
    veil_status st = VEIL_OK;
    while (st == VEIL_OK && !eof)
        st = veil_column_reader_next(r, c, NULL, &eof, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "truncated");
    CU_ASSERT(strstr(err.msg, cut) != NULL);
    /* A reader that failed stays failed. */
    TU_ASSERT_ERR(veil_column_reader_next(r, c, NULL, &eof, &err), err, VEIL_ERR_USAGE,
                  "earlier error");
    veil_column_reader_close(r);
    /* Data after the trailer. */
    uint8_t *more = malloc(len + 1);
    memcpy(more, data, len);
    more[len] = 0;
    TU_ASSERT_ERR(read_all_mem(more, len + 1, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "after the trailer");
    free(more);
    mpz_clear(c);
    free(cut);
    free(data);
    free(path);
}

static void test_altered_column_file(void)
{
    veil_err err;
    char *path = tu_path(dir, "flip.vcol");
    write_column(path, 2100, 0);
    size_t len, n;
    uint8_t *data = (uint8_t *)tu_read_file(path, &len);
    /* Flip one byte at many places inside the frames: each is caught. */
    size_t caught = 0, tries = 0;
    for (size_t off = 200; off < len - 60; off += len / 40) {
        data[off] ^= 0x20;
        veil_status st = read_all_mem(data, len, pk, &n, &err);
        data[off] ^= 0x20;
        tries++;
        if (st == VEIL_ERR_INPUT || st == VEIL_ERR_CRYPTO)
            caught++;
        else
            fprintf(stderr, "\n  flip at %zu: status %d\n", off, st);
    }
    CU_ASSERT_EQUAL(caught, tries);
    /* A flip inside the first ciphertext's bytes passes the range check
     * and is caught by the digest. */
    size_t hend = 8 + 5 + (((size_t)data[11] << 8) | (size_t)data[12]);
    size_t in_value = hend + 5 + 3 + 3 + 100;
    data[in_value] ^= 1;
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT, "digest mismatch");
    CU_ASSERT_EQUAL(n, 2100);
    data[in_value] ^= 1;
    /* The digest itself. */
    data[len - 3] ^= 1;
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT, "digest mismatch");
    data[len - 3] ^= 1;
    /* The count in the header (the last 8 bytes of a header without a
     * group name are the fixed64 count, least significant byte first). */
    data[hend - 8] ^= 1;
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "the header announces 2101 values but the file holds 2100");
    data[hend - 8] ^= 1;
    /* The magic and its version byte. */
    data[0] = 'X';
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT, "bad magic");
    data[0] = 'V';
    data[7] = 2;
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "format version 2 is not supported");
    data[7] = 1;
    /* Unchanged, it reads. */
    CU_ASSERT_EQUAL(read_all_mem(data, len, pk, &n, &err), VEIL_OK);
    CU_ASSERT_EQUAL(n, 2100);
    /* A frame length above the limit is refused before any allocation. */
    data[hend + 1] = 0x7f;
    TU_ASSERT_ERR(read_all_mem(data, len, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "at most 8388608 are allowed");
    free(data);
    free(path);
}

static void test_column_from_another_key(void)
{
    veil_err err;
    char *path = tu_path(dir, "other.vcol");
    write_column(path, 10, 0);
    veil_column_reader *r = NULL;
    veil_status st = veil_column_reader_open(&r, path, pk2, &err);
    char want[200], a[VEIL_FINGERPRINT_HEX], b[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(a, pk);
    veil_paillier_pub_fingerprint_hex(b, pk2);
    snprintf(want, sizeof want, "the file was made for key %.16s but the key given is %.16s", a, b);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, want);
    CU_ASSERT(strstr(err.msg, path) != NULL);
    CU_ASSERT_PTR_NULL(r);
    free(path);
}

static void test_column_ciphertext_out_of_range(void)
{
    veil_err err;
    mpz_t vals[3], n2, p;
    mpz_inits(vals[0], vals[1], vals[2], n2, p, NULL);
    veil_paillier_pub_n2(n2, pk);
    veil_paillier_priv_p(p, sk);
    mpz_set(vals[0], cts[0]);
    buf_t b;
    size_t n;
    const char *what[3] = {"zero", "n^2", "multiple of p"};
    for (int k = 0; k < 3; k++) {
        if (k == 0)
            mpz_set_ui(vals[1], 0);
        else if (k == 1)
            mpz_set(vals[1], n2);
        else
            mpz_mul_ui(vals[1], p, 12345);
        mpz_set(vals[2], cts[2]);
        craft_column(&b, pk, vals, 3);
        veil_status st = read_all_mem(b.data, b.len, pk, &n, &err);
        if (st != VEIL_ERR_CRYPTO)
            fprintf(stderr, "\n  %s: %s\n", what[k], err.msg);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "col.vcol: value 1 (frame 1)");
        CU_ASSERT_EQUAL(n, 1);
        free(b.data);
    }
    /* The crafted file with good values reads (the crafting is right). */
    mpz_set(vals[1], cts[1]);
    craft_column(&b, pk, vals, 3);
    CU_ASSERT_EQUAL(read_all_mem(b.data, b.len, pk, &n, &err), VEIL_OK);
    CU_ASSERT_EQUAL(n, 3);
    free(b.data);
    /* The writer refuses them too. */
    char *path = tu_path(dir, "range.vcol");
    veil_column_writer *w = NULL;
    mpz_set_ui(p, 10);
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, path, pk, "x", 0, p, NULL, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_column_writer_append(w, n2, NULL, &err), err, VEIL_ERR_CRYPTO, "value 0");
    veil_column_writer_abort(w);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
    mpz_clears(vals[0], vals[1], vals[2], n2, p, NULL);
}

static void test_column_writer_abort_and_failure_leave_nothing(void)
{
    veil_err err;
    mpz_t bound;
    mpz_init_set_ui(bound, 100);
    char *path = tu_path(dir, "aborted.vcol");
    veil_column_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, path, pk, "x", 0, bound, "g", &err), VEIL_OK);
    CU_ASSERT_EQUAL(temp_files_left(), 1);
    for (size_t i = 0; i < 1100; i++)
        CU_ASSERT_EQUAL(veil_column_writer_append(w, cts[i], "a", &err), VEIL_OK);
    TU_ASSERT_ERR(veil_column_writer_append(w, cts[0], NULL, &err), err, VEIL_ERR_USAGE,
                  "a label is needed");
    char label[VEIL_GROUP_LABEL_MAX + 2];
    memset(label, 'l', sizeof label - 1);
    label[sizeof label - 1] = 0;
    TU_ASSERT_ERR(veil_column_writer_append(w, cts[0], label, &err), err, VEIL_ERR_USAGE,
                  "longer than 256");
    label[VEIL_GROUP_LABEL_MAX] = 0; /* exactly 256 bytes is fine */
    CU_ASSERT_EQUAL(veil_column_writer_append(w, cts[0], label, &err), VEIL_OK);
    veil_column_writer_abort(w);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    veil_column_writer_abort(NULL);

    /* Ungrouped writer given a label. */
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, path, pk, "x", 0, bound, NULL, &err),
                          VEIL_OK);
    TU_ASSERT_ERR(veil_column_writer_append(w, cts[0], "g", &err), err, VEIL_ERR_USAGE,
                  "not grouped");
    veil_column_writer_abort(w);

    /* A directory that does not exist. */
    TU_ASSERT_ERR(
        veil_column_writer_open(&w, "/nonexistent-dir/c.vcol", pk, "x", 0, bound, NULL, &err), err,
        VEIL_ERR_IO, "/nonexistent-dir/c.vcol");
    /* Negative bound, scale too large. */
    mpz_set_si(bound, -1);
    TU_ASSERT_ERR(veil_column_writer_open(&w, path, pk, "x", 0, bound, NULL, &err), err,
                  VEIL_ERR_USAGE, "negative");
    mpz_set_si(bound, 1);
    char want[64];
    snprintf(want, sizeof want, "scale %d is above %d", VEIL_SCALE_MAX + 1, VEIL_SCALE_MAX);
    veil_status st =
        veil_column_writer_open(&w, path, pk, "x", VEIL_SCALE_MAX + 1, bound, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, want);
    veil_column_writer_abort(w); /* NULL unless the check above failed */

    /* Commit fails at the rename (path is a directory): nothing left. */
    char *dpath = tu_path(dir, "is-a-dir.vcol");
    CU_ASSERT_EQUAL_FATAL(mkdir(dpath, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, dpath, pk, "x", 0, bound, NULL, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(veil_column_writer_append(w, cts[0], NULL, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_column_writer_commit(w, &err), err, VEIL_ERR_IO, "cannot rename");
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    rmdir(dpath);
    free(dpath);
    mpz_clear(bound);
    free(path);
}

/* ---- result files ---- */

static void make_enc(veil_enc *e, long v, unsigned scale, unsigned long bound, uint64_t count)
{
    veil_err err;
    mpz_t x, b;
    mpz_init_set_si(x, v);
    mpz_init_set_ui(b, bound);
    CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(e, pk, x, scale, b, &err), VEIL_OK);
    e->count = count;
    mpz_clears(x, b, NULL);
}

/* Three groups and the overall total. */
static void make_result(veil_result *r)
{
    veil_err err;
    veil_result_init(r);
    veil_enc e;
    veil_enc_init(&e);
    const char *groups[] = {"north", "south", "\xe5\x8c\x97\xe4\xba\xac"};
    long vals[] = {-1250, 77, 900001};
    for (int i = 0; i < 3; i++) {
        make_enc(&e, vals[i], 2, 1000000 + (unsigned long)i, (uint64_t)(10 + i));
        CU_ASSERT_EQUAL_FATAL(veil_result_append(r, groups[i], 0, &e, &err), VEIL_OK);
    }
    make_enc(&e, -1250 + 77 + 900001, 2, 3000003, 33);
    CU_ASSERT_EQUAL_FATAL(veil_result_append(r, NULL, 1, &e, &err), VEIL_OK);
    veil_enc_clear(&e);
}

static void test_result_round_trip_with_groups(void)
{
    veil_err err;
    char *path = tu_path(dir, "sum.vct");
    veil_result r, back;
    make_result(&r);
    CU_ASSERT_EQUAL_FATAL(veil_result_save(path, pk, &r, &err), VEIL_OK);
    CU_ASSERT_EQUAL(file_mode(path), 0644);
    CU_ASSERT_EQUAL_FATAL(veil_result_load(&back, path, pk, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(back.count, 4);
    long want[] = {-1250, 77, 900001, -1250 + 77 + 900001};
    for (size_t i = 0; i < 4; i++) {
        const veil_result_item *a = &r.items[i], *b = &back.items[i];
        CU_ASSERT(mpz_cmp(a->value.c, b->value.c) == 0);
        CU_ASSERT(mpz_cmp(a->value.bound, b->value.bound) == 0);
        CU_ASSERT_EQUAL(a->value.scale, b->value.scale);
        CU_ASSERT_EQUAL(a->value.count, b->value.count);
        CU_ASSERT_EQUAL(a->is_total, b->is_total);
        if (a->group == NULL) {
            CU_ASSERT_PTR_NULL(b->group);
        } else {
            CU_ASSERT(b->group != NULL && strcmp(a->group, b->group) == 0);
        }
        CU_ASSERT_EQUAL(decrypt_long(sk, b->value.c), want[i]);
    }
    CU_ASSERT_EQUAL(back.items[3].is_total, 1);
    CU_ASSERT_EQUAL(back.items[2].value.count, 12);
    veil_result_clear(&back);
    /* From memory, and a column reader refusing it. */
    size_t len;
    char *data = tu_read_file(path, &len);
    CU_ASSERT_EQUAL(veil_result_parse(&back, (uint8_t *)data, len, "mem.vct", pk, &err), VEIL_OK);
    CU_ASSERT_EQUAL(back.count, 4);
    veil_result_clear(&back);
    size_t n;
    TU_ASSERT_ERR(read_all_mem((uint8_t *)data, len, pk, &n, &err), err, VEIL_ERR_INPUT,
                  "this is a veil result file, not a column file");
    /* From another key. */
    TU_ASSERT_ERR(veil_result_load(&back, path, pk2, &err), err, VEIL_ERR_CRYPTO,
                  "the file was made for key");
    CU_ASSERT_EQUAL(back.count, 0);
    /* Every truncation is bad input. */
    size_t bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        veil_status st = veil_result_parse(&back, (uint8_t *)data, cut, "cut.vct", pk, &err);
        if (st != VEIL_ERR_INPUT || strstr(err.msg, "cut.vct") == NULL)
            bad++;
        veil_result_clear(&back);
    }
    CU_ASSERT_EQUAL(bad, 0);
    TU_ASSERT_ERR(veil_result_parse(&back, (uint8_t *)data, len - 20, "cut.vct", pk, &err), err,
                  VEIL_ERR_INPUT, "truncated");
    free(data);
    veil_result_clear(&r);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
}

static void test_result_save_refuses_bad_items(void)
{
    veil_err err;
    char *path = tu_path(dir, "bad.vct");
    veil_result r;
    make_result(&r);
    mpz_set_si(r.items[1].value.bound, -5);
    TU_ASSERT_ERR(veil_result_save(path, pk, &r, &err), err, VEIL_ERR_USAGE,
                  "item 1: the bound is negative");
    veil_paillier_pub_max_int(r.items[1].value.bound, pk);
    mpz_add_ui(r.items[1].value.bound, r.items[1].value.bound, 1);
    TU_ASSERT_ERR(veil_result_save(path, pk, &r, &err), err, VEIL_ERR_CRYPTO, "max_int");
    mpz_set_ui(r.items[1].value.bound, 5);
    mpz_set_ui(r.items[1].value.c, 0);
    TU_ASSERT_ERR(veil_result_save(path, pk, &r, &err), err, VEIL_ERR_CRYPTO, "item 1");
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    veil_result_clear(&r);
    TU_ASSERT_ERR(veil_result_save(path, pk, &r, &err), err, VEIL_ERR_USAGE, "empty");
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
}

/* A result file made by hand from one frame of items. */
static void craft_result(buf_t *b, uint64_t header_count, Veil__Ciphertext **items, size_t n)
{
    b->data = NULL;
    b->len = 0;
    buf_add(b, "VEILRES\x01", 8);
    Veil__ResultFile h = VEIL__RESULT_FILE__INIT;
    h.version = 1;
    h.key_fingerprint.data = (uint8_t *)veil_paillier_pub_fingerprint(pk);
    h.key_fingerprint.len = 32;
    h.count = header_count;
    buf_frame(b, 'H', &h.base);
    Veil__ResultFrame f = VEIL__RESULT_FRAME__INIT;
    f.n_items = n;
    f.items = items;
    buf_frame(b, 'R', &f.base);
    buf_trailer(b, n);
}

static void test_result_loader_refuses_hostile_files(void)
{
    veil_err err;
    veil_result r;
    buf_t b;
    Veil__Ciphertext it = VEIL__CIPHERTEXT__INIT, *items[1] = {&it};
    mpz_t x;
    mpz_init(x);
    set_bytes(&it.value, cts[5]);
    mpz_set_ui(x, 1000);
    set_bytes(&it.bound, x);
    it.scale = 2;
    it.count = 1;
    /* Well formed: accepted. */
    craft_result(&b, 1, items, 1);
    CU_ASSERT_EQUAL(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), VEIL_OK);
    CU_ASSERT_EQUAL(r.count, 1);
    CU_ASSERT_EQUAL(decrypt_long(sk, r.items[0].value.c), plain[5]);
    veil_result_clear(&r);
    free(b.data);
    /* Bound above max_int. */
    free(it.bound.data);
    veil_paillier_pub_max_int(x, pk);
    mpz_add_ui(x, x, 1);
    set_bytes(&it.bound, x);
    craft_result(&b, 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_CRYPTO,
                  "h.vct: item 0 (frame 1): the bound exceeds the key's max_int");
    free(b.data);
    free(it.bound.data);
    mpz_set_ui(x, 1000);
    set_bytes(&it.bound, x);
    /* Ciphertext n^2 and a multiple of p. */
    ProtobufCBinaryData good = it.value;
    veil_paillier_pub_n2(x, pk);
    set_bytes(&it.value, x);
    craft_result(&b, 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_CRYPTO,
                  "item 0");
    free(b.data);
    free(it.value.data);
    veil_paillier_priv_p(x, sk);
    set_bytes(&it.value, x);
    craft_result(&b, 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_CRYPTO,
                  "item 0");
    free(b.data);
    free(it.value.data);
    it.value = good;
    /* Too many items announced; a count that disagrees with the body. */
    craft_result(&b, VEIL_RESULT_ITEMS_MAX + 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_INPUT,
                  "announces 1000001 items");
    free(b.data);
    craft_result(&b, 2, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_INPUT,
                  "the header announces 2 items but the file holds 1");
    free(b.data);
    /* A label with a NUL; a total with a label. */
    it.has_group = 1;
    it.group.data = (uint8_t *)"a\0b";
    it.group.len = 3;
    craft_result(&b, 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_INPUT,
                  "NUL");
    free(b.data);
    it.group.len = 1;
    it.has_is_total = 1;
    it.is_total = 1;
    craft_result(&b, 1, items, 1);
    TU_ASSERT_ERR(veil_result_parse(&r, b.data, b.len, "h.vct", pk, &err), err, VEIL_ERR_INPUT,
                  "overall total");
    free(b.data);
    CU_ASSERT_EQUAL(r.count, 0);
    free(it.value.data);
    free(it.bound.data);
    mpz_clear(x);
}

int main(void)
{
    static const tu_test tests[] = {
        {"column round trip, 3000 values in 3 frames",
         test_column_round_trip_3000_values_ungrouped},
        {"column round trip with groups", test_column_round_trip_grouped},
        {"empty column round trip", test_empty_column_round_trip},
        {"truncated column file", test_truncated_column_file},
        {"altered column file", test_altered_column_file},
        {"column file from another key", test_column_from_another_key},
        {"column ciphertext out of range", test_column_ciphertext_out_of_range},
        {"abort and failure leave nothing", test_column_writer_abort_and_failure_leave_nothing},
        {"result round trip with groups", test_result_round_trip_with_groups},
        {"result save refuses bad items", test_result_save_refuses_bad_items},
        {"result loader refuses hostile files", test_result_loader_refuses_hostile_files},
        {NULL, NULL},
    };
    return tu_main("ctfile", suite_init, suite_cleanup, tests);
}
