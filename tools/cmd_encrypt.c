/* veil encrypt: one CSV column to a column file of ciphertexts. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cliutil.h"
#include "commands.h"
#include "csv_column.h"
#include "progress.h"
#include "veil/batch.h"
#include "veil/ctfile.h"
#include "veil/fixed.h"
#include "veil/keyfile.h"

#define ENCRYPT_BLOCK   4096 /* values encrypted per batch call */
#define DEFAULT_MAX_ABS "1e15"

enum { O_KEY = 1, O_IN, O_COLUMN, O_SCALE, O_MAX_ABS, O_GROUP, O_THREADS, O_OUT };

static const veil_opt opts[] = {
    {"key", O_KEY, "PUB", "public key to encrypt under", 1, VEIL_IO_IN},
    {"in", O_IN, "FILE.csv", "CSV file with a header row", 1, VEIL_IO_IN},
    {"column", O_COLUMN, "NAME", "column to encrypt, by its exact header name", 1},
    {"scale", O_SCALE, "S",
     "decimal places kept: 12.34 at scale 2 is 1234 (default 0, max " VEIL_STR(VEIL_SCALE_MAX) ")",
     0},
    {"max-abs", O_MAX_ABS, "X", "declared bound on |value|, decimal or 1eN (default 1e15)", 0},
    {"group", O_GROUP, "NAME", "column whose text labels each value's group", 0},
    {"threads", O_THREADS, "N", "worker threads (default: one per CPU)", 0},
    {"out", O_OUT, "FILE.vcol", "column file to write", 1, VEIL_IO_OUT},
    {NULL, 0, NULL, NULL, 0},
};

typedef struct {
    const veil_paillier_pub *pk;
    unsigned scale;
    mpz_t bound;
    const char *max_abs;
    int encrypting; /* 0 during the validation pass */
    unsigned threads;
    veil_column_writer *w;
    mpz_t v;
    mpz_t *m, *c;
    char (*labels)[VEIL_GROUP_LABEL_MAX + 1];
    size_t n;
    int block_ready; /* m and c initialised */
    uint64_t done;
    veil_progress prog;
} enc_ctx;

static veil_status flush(enc_ctx *x, veil_err *err)
{
    if (x->n == 0)
        return VEIL_OK;
    veil_status st =
        veil_paillier_encrypt_batch(x->c, x->pk, (const mpz_t *)x->m, x->n, x->threads, err);
    for (size_t i = 0; st == VEIL_OK && i < x->n; i++)
        st = veil_column_writer_append(x->w, x->c[i], x->labels ? x->labels[i] : NULL, err);
    for (size_t i = 0; i < x->n; i++)
        mpz_set_ui(x->m[i], 0);
    x->done += x->n;
    x->n = 0;
    veil_progress_update(&x->prog, x->done);
    return st;
}

static veil_status on_row(void *ctx, const veil_csv_row *row, veil_err *err)
{
    enc_ctx *x = ctx;
    veil_status st = veil_cli_check_interrupt(err);
    if (st != VEIL_OK)
        return st;
    st = veil_fixed_parse(x->v, row->value, row->value_len, x->scale, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s:%llu: column \"%s\"", row->file,
                               (unsigned long long)row->line, row->column);
    if (mpz_cmpabs(x->v, x->bound) > 0)
        return veil_err_set(
            err, VEIL_ERR_INPUT, "%s:%llu: column \"%s\": '%.*s' is beyond --max-abs %s", row->file,
            (unsigned long long)row->line, row->column,
            (int)(row->value_len > 64 ? 64 : row->value_len), row->value, x->max_abs);
    if (row->group != NULL && (st = veil_check_group_label(row, err)) != VEIL_OK)
        return st;
    if (!x->encrypting)
        return VEIL_OK;
    if ((st = veil_paillier_encode(x->m[x->n], x->pk, x->v, err)) != VEIL_OK)
        return veil_err_prefix(err, "%s:%llu", row->file, (unsigned long long)row->line);
    if (x->labels != NULL)
        memcpy(x->labels[x->n], row->group, row->group_len + 1);
    if (++x->n == ENCRYPT_BLOCK)
        return flush(x, err);
    return VEIL_OK;
}

static veil_status ctx_alloc(enc_ctx *x, int grouped, veil_err *err)
{
    x->m = calloc(ENCRYPT_BLOCK, sizeof *x->m);
    x->c = calloc(ENCRYPT_BLOCK, sizeof *x->c);
    if (grouped)
        x->labels = malloc(ENCRYPT_BLOCK * sizeof *x->labels);
    if (x->m == NULL || x->c == NULL || (grouped && x->labels == NULL))
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ENCRYPT_BLOCK; i++) {
        mpz_init(x->m[i]);
        mpz_init(x->c[i]);
    }
    x->block_ready = 1;
    return VEIL_OK;
}

static void ctx_free(enc_ctx *x)
{
    for (size_t i = 0; x->block_ready && i < ENCRYPT_BLOCK; i++) {
        mpz_clear(x->m[i]);
        mpz_clear(x->c[i]);
    }
    free(x->m);
    free(x->c);
    free(x->labels);
    mpz_clears(x->v, x->bound, NULL);
}

/* Checks the options that need the key: scale, threads and the bound. */
static veil_status read_options(enc_ctx *x, const veil_args *a, veil_err *err)
{
    veil_status st;
    if (a->val[O_SCALE] != NULL &&
        (st = veil_cli_parse_uint(&x->scale, a->val[O_SCALE], 0, VEIL_SCALE_MAX, "scale", err)) !=
            VEIL_OK)
        return st;
    if (a->val[O_THREADS] != NULL && (st = veil_cli_parse_uint(&x->threads, a->val[O_THREADS], 1,
                                                               1024, "threads", err)) != VEIL_OK)
        return st;
    x->max_abs = a->val[O_MAX_ABS] ? a->val[O_MAX_ABS] : DEFAULT_MAX_ABS;
    if ((st = veil_cli_parse_bound(x->bound, x->max_abs, x->scale, "max-abs", err)) != VEIL_OK)
        return st;
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, x->pk);
    int too_big = mpz_cmp(x->bound, max) > 0;
    mpz_clear(max);
    if (too_big)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "--max-abs %s at scale %u is too large for a %u-bit key", x->max_abs,
                            x->scale, veil_paillier_pub_bits(x->pk));
    if (a->val[O_GROUP] != NULL && strcmp(a->val[O_GROUP], a->val[O_COLUMN]) == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "--group and --column name the same column");
    struct stat sb;
    if (stat(a->val[O_IN], &sb) == 0 && !S_ISREG(sb.st_mode))
        return veil_err_set(err, VEIL_ERR_USAGE, "--in %s is not a regular file", a->val[O_IN]);
    return veil_cli_check_distinct(a->val[O_IN], a->val[O_OUT], err);
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_paillier_pub *pk = NULL;
    enc_ctx x;
    memset(&x, 0, sizeof x);
    mpz_inits(x.v, x.bound, NULL);
    const char *in = a.val[O_IN], *column = a.val[O_COLUMN], *group = a.val[O_GROUP];
    uint64_t rows = 0, rows2 = 0;

    veil_status st = veil_pub_load(&pk, a.val[O_KEY], &err);
    x.pk = pk;
    if (st == VEIL_OK)
        st = read_options(&x, &a, &err);
    /* First pass: check every row before any expensive work, so a bad cell
     * at the end of a large file is reported in seconds. */
    if (st == VEIL_OK)
        st = veil_csv_read_file(in, column, group, on_row, &x, &rows, &err);
    if (st == VEIL_OK)
        st = ctx_alloc(&x, group != NULL, &err);
    if (st == VEIL_OK)
        st = veil_column_writer_open(&x.w, a.val[O_OUT], pk, column, x.scale, x.bound, group, &err);
    if (st == VEIL_OK) {
        x.encrypting = 1;
        veil_progress_start(&x.prog, "veil encrypt", rows);
        st = veil_csv_read_file(in, column, group, on_row, &x, &rows2, &err);
        if (st == VEIL_OK)
            st = flush(&x, &err);
        veil_progress_end(&x.prog);
    }
    if (st == VEIL_OK && rows2 != rows)
        st = veil_err_set(&err, VEIL_ERR_INPUT, "%s changed while being read", in);
    if (st == VEIL_OK) {
        st = veil_column_writer_commit(x.w, &err);
        x.w = NULL;
    }
    veil_column_writer_abort(x.w);
    ctx_free(&x);
    veil_paillier_pub_free(pk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_encrypt = {
    .name = "encrypt",
    .summary = "Encrypt one numeric column of a CSV file.",
    .synopsis = "--key PUB --in FILE.csv --column NAME --out FILE.vcol [options]",
    .description =
        "Reads FILE.csv (RFC 4180, header row required), checks every row first, then\n"
        "encrypts the column's values on all cores and writes them, in row order, to a\n"
        "column file. Values are exact decimals (\"-1234.50\"); one with more decimal\n"
        "places than --scale, an empty or non-numeric cell, a value beyond --max-abs or a\n"
        "row with the wrong number of fields stops the command with the file, line and\n"
        "column, and nothing is written. With --group every value keeps the plaintext\n"
        "label from that column (at most 256 bytes, not empty), so aggregate can sum by\n"
        "group. --max-abs is part of the proof that sums never overflow: choose a true\n"
        "bound on the values. A progress line is shown when stderr is a terminal.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil encrypt --key bureau.pub --in tax.csv --column income --scale 2 \\\n"
               "    --max-abs 1e9 --group region --out tax-income.vcol",
    .run = run,
    .audited = 1,
};
