/* veil-bench --psi: the ristretto255 group operations of the private join
 * (veil/psi.h). Elements per second, with one thread and with all threads,
 * of hash+blind, blind, ElGamal tag encryption, re-randomization and
 * decryption (against the full 65536-tag table), and the time to build
 * that table. Each row is a batch call over `items` elements repeated
 * until at least `seconds` have passed; every row's results are checked
 * (blinding commutes, decryptions return the encrypted tags). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/batch.h"
#include "veil/psi.h"

int veil_bench_psi(double seconds, unsigned threads, size_t items, const char *csv_path,
                   const char *json_path);

#define PSI_ROWS 16

typedef struct {
    const char *id, *label;
    unsigned threads;
    unsigned long long ops;
    double secs;
} psi_row;

typedef struct {
    size_t items;
    unsigned threads;
    veil_psi_key ka, kb;
    veil_psi_eg_key eg;
    veil_psi_tag_table *table;
    char **idbuf;
    const char **ids;
    size_t *lens;
    uint8_t *ha, *hab, *hba, *tmp;
    uint32_t *tags, *got;
    veil_psi_eg_ct *ct, *rr;
    veil_err err;
} psi_bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fputs("veil-bench: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static void fail(const char *what, const veil_err *err)
{
    fprintf(stderr, "veil-bench: psi %s failed: %s\n", what, err != NULL ? err->msg : "");
    exit(1);
}

static veil_status op_hash_blind(psi_bench *b)
{
    return veil_psi_hash_blind(b->ha, &b->ka, "bench-query", b->ids, b->lens, b->items, b->threads,
                               &b->err);
}

static veil_status op_blind(psi_bench *b)
{
    return veil_psi_blind(b->hab, &b->kb, b->ha, b->items, b->threads, &b->err);
}

static veil_status op_encrypt(psi_bench *b)
{
    return veil_psi_eg_encrypt(b->ct, b->eg.y, b->tags, b->items, b->threads, &b->err);
}

static veil_status op_rerandomize(psi_bench *b)
{
    return veil_psi_eg_rerandomize(b->rr, b->eg.y, b->ct, b->items, b->threads, &b->err);
}

static veil_status op_decrypt(psi_bench *b)
{
    return veil_psi_eg_decrypt(b->got, &b->eg, b->table, b->rr, b->items, b->threads, &b->err);
}

/* One untimed warm-up call, then calls until `seconds` have passed. */
static psi_row measure(psi_bench *b, const char *id, const char *label,
                       veil_status (*op)(psi_bench *), unsigned threads, double seconds)
{
    b->threads = threads;
    if (op(b) != VEIL_OK)
        fail(id, &b->err);
    unsigned long long runs = 0;
    double start = now_s(), elapsed;
    do {
        if (op(b) != VEIL_OK)
            fail(id, &b->err);
        runs++;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    psi_row r = {id, label, threads, runs * b->items, elapsed};
    return r;
}

static void print_row(const psi_row *r)
{
    printf("%-34s %7u %12.1f %10.3f %10llu\n", r->label, r->threads, (double)r->ops / r->secs,
           1e6 * r->secs / (double)r->ops, r->ops);
    fflush(stdout);
}

/* Checks the rows' last outputs: b * (a * H) == a * (b * H) for every ID,
 * and every decryption equals its tag. */
static void check_results(psi_bench *b)
{
    if (veil_psi_hash_blind(b->tmp, &b->kb, "bench-query", b->ids, b->lens, b->items, 0, &b->err) !=
            VEIL_OK ||
        veil_psi_blind(b->hba, &b->ka, b->tmp, b->items, 0, &b->err) != VEIL_OK)
        fail("check", &b->err);
    if (memcmp(b->hab, b->hba, b->items * VEIL_PSI_POINT_BYTES) != 0)
        fail("check: blinding does not commute", NULL);
    if (memcmp(b->got, b->tags, b->items * sizeof *b->tags) != 0)
        fail("check: a decryption returned a wrong tag", NULL);
}

static void setup(psi_bench *b, size_t items)
{
    memset(b, 0, sizeof *b);
    b->items = items;
    veil_psi_key_new(&b->ka);
    veil_psi_key_new(&b->kb);
    veil_psi_eg_keygen(&b->eg);
    b->idbuf = xcalloc(items, sizeof *b->idbuf);
    b->ids = xcalloc(items, sizeof *b->ids);
    b->lens = xcalloc(items, sizeof *b->lens);
    b->tags = xcalloc(items, sizeof *b->tags);
    b->got = xcalloc(items, sizeof *b->got);
    b->ha = xcalloc(items, VEIL_PSI_POINT_BYTES);
    b->hab = xcalloc(items, VEIL_PSI_POINT_BYTES);
    b->hba = xcalloc(items, VEIL_PSI_POINT_BYTES);
    b->tmp = xcalloc(items, VEIL_PSI_POINT_BYTES);
    b->ct = xcalloc(items, sizeof *b->ct);
    b->rr = xcalloc(items, sizeof *b->rr);
    for (size_t i = 0; i < items; i++) {
        b->idbuf[i] = xcalloc(1, 32);
        /* 18-character resident IDs, the length of a national ID number. */
        snprintf(b->idbuf[i], 32, "11010119%010zu", i);
        b->ids[i] = b->idbuf[i];
        b->lens[i] = strlen(b->idbuf[i]);
        b->tags[i] = (uint32_t)((i * 40503u) % VEIL_PSI_TAGS_MAX);
    }
}

static void teardown(psi_bench *b)
{
    for (size_t i = 0; i < b->items; i++)
        free(b->idbuf[i]);
    free(b->idbuf);
    free(b->ids);
    free(b->lens);
    free(b->tags);
    free(b->got);
    free(b->ha);
    free(b->hab);
    free(b->hba);
    free(b->tmp);
    free(b->ct);
    free(b->rr);
    veil_psi_tag_table_free(b->table);
    veil_psi_key_wipe(&b->ka);
    veil_psi_key_wipe(&b->kb);
    veil_psi_eg_key_wipe(&b->eg);
}

static int write_csv(const char *path, const psi_row *rows, size_t n, size_t items)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    fprintf(f, "operation,description,threads,items_per_call,ops,seconds,ops_per_sec,us_per_op\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s,\"%s\",%u,%zu,%llu,%.6f,%.3f,%.4f\n", rows[i].id, rows[i].label,
                rows[i].threads, items, rows[i].ops, rows[i].secs,
                (double)rows[i].ops / rows[i].secs, 1e6 * rows[i].secs / (double)rows[i].ops);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int write_json(const char *path, const psi_row *rows, size_t n, size_t items, double seconds)
{
    json_t *root = json_object(), *res = json_array();
    if (root == NULL || res == NULL)
        return 1;
    json_object_set_new(root, "tool", json_string("veil-bench"));
    json_object_set_new(root, "mode", json_string("psi"));
    json_object_set_new(root, "seconds_per_measurement", json_real(seconds));
    json_object_set_new(root, "items_per_call", json_integer((json_int_t)items));
    json_object_set_new(root, "cpus", json_integer(veil_cpu_count()));
    json_object_set_new(root, "sodium_version", json_string(sodium_version_string()));
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s, s:s, s:i, s:I, s:f, s:f, s:f}", "operation", rows[i].id,
                              "description", rows[i].label, "threads", (int)rows[i].threads, "ops",
                              (json_int_t)rows[i].ops, "seconds", rows[i].secs, "ops_per_sec",
                              (double)rows[i].ops / rows[i].secs, "us_per_op",
                              1e6 * rows[i].secs / (double)rows[i].ops);
        if (r == NULL || json_array_append_new(res, r) != 0) {
            json_decref(root);
            json_decref(res);
            return 1;
        }
    }
    json_object_set_new(root, "results", res);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "veil-bench: %s: cannot write\n", path);
    return rc;
}

int veil_bench_psi(double seconds, unsigned threads, size_t items, const char *csv_path,
                   const char *json_path)
{
    static psi_bench b;
    psi_row rows[PSI_ROWS];
    size_t n = 0;
    setup(&b, items);
    printf("veil-bench --psi: ristretto255 (libsodium %s), >= %.2f s per measurement, "
           "%zu elements per call, %u threads for 'all', %u CPUs\n\n",
           sodium_version_string(), seconds, items, threads, veil_cpu_count());
    printf("%-34s %7s %12s %10s %10s\n", "operation", "threads", "ops/s", "us/op", "ops");

    /* The tag table: built once per decrypting party. */
    double start = now_s();
    unsigned builds = 0;
    do {
        veil_psi_tag_table_free(b.table);
        b.table = NULL;
        if (veil_psi_tag_table_new(&b.table, VEIL_PSI_TAGS_MAX, &b.err) != VEIL_OK)
            fail("tag table", &b.err);
        builds++;
    } while (now_s() - start < seconds);
    psi_row tr = {"tag_table_65536", "tag table build (65536 tags)", 1, builds, now_s() - start};
    rows[n++] = tr;
    print_row(&rows[n - 1]);

    static const struct {
        const char *id1, *idall, *label;
        veil_status (*op)(psi_bench *);
    } ops[] = {
        {"hash_blind_1", "hash_blind_all", "hash + blind (H(q, id) * a)", op_hash_blind},
        {"blind_1", "blind_all", "blind (b * P, with validation)", op_blind},
        {"eg_encrypt_1", "eg_encrypt_all", "ElGamal encrypt tag", op_encrypt},
        {"eg_rerandomize_1", "eg_rerandomize_all", "ElGamal re-randomize", op_rerandomize},
        {"eg_decrypt_1", "eg_decrypt_all", "ElGamal decrypt (65536 tags)", op_decrypt},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        rows[n++] = measure(&b, ops[i].id1, ops[i].label, ops[i].op, 1, seconds);
        print_row(&rows[n - 1]);
        rows[n++] = measure(&b, ops[i].idall, ops[i].label, ops[i].op, threads, seconds);
        print_row(&rows[n - 1]);
    }
    check_results(&b);
    printf("\nall results checked (blinding commutes, every decryption returns its tag); "
           "tag table: %.1f ms per build\n",
           1000.0 * tr.secs / (double)tr.ops);
    int rc = 0;
    if (csv_path != NULL)
        rc |= write_csv(csv_path, rows, n, items);
    if (json_path != NULL)
        rc |= write_json(json_path, rows, n, items, seconds);
    teardown(&b);
    return rc;
}
