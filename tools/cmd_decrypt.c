/* veil decrypt: result or column file to CSV. */
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "csv_column.h"
#include "passphrase.h"
#include "progress.h"
#include "result_csv.h"
#include "veil/batch.h"
#include "veil/ctfile.h"
#include "veil/fixed.h"
#include "veil/rand.h"

#define DECRYPT_BLOCK VEIL_COLUMN_FRAME

enum { O_KEY = 1, O_PASSFILE, O_ASK, O_OUT, O_THREADS };

static const veil_opt opts[] = {
    {"key", O_KEY, "PRIV", "private key", 1, VEIL_IO_IN},
    {"passphrase-file", O_PASSFILE, "F", VEIL_PASS_OPT_FILE_HELP, 0, VEIL_IO_SECRET},
    {"ask-passphrase", O_ASK, NULL, VEIL_PASS_OPT_ASK_HELP, 0},
    {"out", O_OUT, "FILE.csv", "CSV file to write (mode 0600; default: standard output)", 0,
     VEIL_IO_OUT},
    {"threads", O_THREADS, "N", "worker threads for column files (default: one per CPU)", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int put_field(FILE *f, const char *s)
{
    return veil_csv_write_field(f, s, strlen(s));
}

static veil_status decrypt_result(FILE *f, const char *path, const veil_paillier_priv *sk,
                                  veil_err *err)
{
    veil_result res;
    veil_result_init(&res);
    mpz_t *v = NULL;
    veil_status st = veil_result_load(&res, path, veil_paillier_priv_pub(sk), err);
    if (st == VEIL_OK && (v = calloc(res.count, sizeof *v)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; v != NULL && i < res.count; i++)
        mpz_init(v[i]);
    for (size_t i = 0; st == VEIL_OK && i < res.count; i++) {
        const char *label = veil_result_csv_label(&res, i);
        if ((st = veil_enc_decrypt(v[i], sk, &res.items[i].value, err)) != VEIL_OK) {
            if (label != NULL)
                veil_err_prefix(err, "%s: group \"%s\"", path, label);
            else
                veil_err_prefix(err, "%s: item %zu", path, i + 1);
        }
    }
    if (st == VEIL_OK)
        st = veil_result_csv_write(f, path, &res, (const mpz_t *)v, err);
    for (size_t i = 0; v != NULL && i < res.count; i++)
        veil_mpz_wipe(v[i]);
    free(v);
    veil_result_clear(&res);
    return st;
}

typedef struct {
    mpz_t c[DECRYPT_BLOCK], m[DECRYPT_BLOCK];
    char labels[DECRYPT_BLOCK][VEIL_GROUP_LABEL_MAX + 1];
    size_t n;
} dec_block;

/* Decrypts the block and writes its rows; `first` is the 1-based index of
 * its first value, for messages. */
static veil_status flush_block(FILE *f, dec_block *b, const veil_column_info *info,
                               const veil_paillier_priv *sk, unsigned threads, uint64_t first,
                               const char *path, veil_err *err)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    veil_status st = veil_paillier_decrypt_batch(b->m, sk, (const mpz_t *)b->c, b->n, threads, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s", path);
    mpz_t v;
    mpz_init(v);
    for (size_t i = 0; st == VEIL_OK && i < b->n; i++) {
        st = veil_paillier_decode(v, pk, b->m[i], err);
        if (st == VEIL_OK && mpz_cmpabs(v, info->bound) > 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "overflow: the decrypted value lies outside the column's declared "
                              "bound; the file does not hold what its header claims");
        if (st != VEIL_OK) {
            veil_err_prefix(err, "%s: value %llu", path, (unsigned long long)(first + i));
            break;
        }
        char *text = veil_fixed_format(v, info->scale);
        if (text == NULL) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            break;
        }
        int bad = fputs(text, f) == EOF;
        free(text);
        if (info->grouped)
            bad = bad || fputc(',', f) == EOF || put_field(f, b->labels[i]) != 0;
        if (bad || fputc('\n', f) == EOF)
            st = veil_err_set(err, VEIL_ERR_IO, "write failed");
    }
    for (size_t i = 0; i < b->n; i++)
        mpz_set_ui(b->m[i], 0);
    veil_mpz_wipe(v);
    b->n = 0;
    return st;
}

static veil_status decrypt_column(FILE *f, const char *path, const veil_paillier_priv *sk,
                                  unsigned threads, veil_err *err)
{
    veil_column_reader *r = NULL;
    veil_status st = veil_column_reader_open(&r, path, veil_paillier_priv_pub(sk), err);
    if (st != VEIL_OK)
        return st;
    const veil_column_info *info = veil_column_reader_info(r);
    dec_block *b = malloc(sizeof *b);
    if (b == NULL) {
        veil_column_reader_close(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < DECRYPT_BLOCK; i++)
        mpz_inits(b->c[i], b->m[i], NULL);
    b->n = 0;
    int bad = put_field(f, info->name) != 0;
    if (info->grouped)
        bad = bad || fputc(',', f) == EOF || put_field(f, info->group_name) != 0;
    if (bad || fputc('\n', f) == EOF)
        st = veil_err_set(err, VEIL_ERR_IO, "write failed");
    veil_progress prog;
    veil_progress_start(&prog, "veil decrypt", info->count);
    uint64_t done = 0;
    while (st == VEIL_OK) {
        const char *group = NULL;
        int eof = 0;
        st = veil_cli_check_interrupt(err);
        if (st == VEIL_OK)
            st = veil_column_reader_next(r, b->c[b->n], &group, &eof, err);
        if (st != VEIL_OK)
            break;
        if (!eof) {
            snprintf(b->labels[b->n], sizeof b->labels[0], "%s", group ? group : "");
            b->n++;
        }
        if (b->n == DECRYPT_BLOCK || (eof && b->n > 0)) {
            uint64_t first = done + 1;
            done += b->n;
            st = flush_block(f, b, info, sk, threads, first, path, err);
            veil_progress_update(&prog, done);
        }
        if (eof)
            break;
    }
    veil_progress_end(&prog);
    for (size_t i = 0; i < DECRYPT_BLOCK; i++) {
        mpz_clear(b->c[i]);
        veil_mpz_wipe(b->m[i]);
    }
    free(b);
    veil_column_reader_close(r);
    return st;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_paillier_priv *sk = NULL;
    veil_outfile *out = NULL;
    const char *in = a.args[0];
    veil_pass_opts po = {a.val[O_PASSFILE], a.val[O_ASK] != NULL};
    unsigned threads = 0;
    veil_file_kind kind = veil_cli_file_kind(in);

    veil_status st = VEIL_OK;
    if (kind == VEIL_FILE_OTHER)
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "%s: expected a result file (.vct) or a column file (.vcol)", in);
    if (st == VEIL_OK && a.val[O_THREADS] != NULL)
        st = veil_cli_parse_uint(&threads, a.val[O_THREADS], 1, 1024, "threads", &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(in, a.val[O_OUT], &err);
    if (st == VEIL_OK)
        st = veil_pass_load_priv(&sk, a.val[O_KEY], &po, cmd, &err);
    if (st == VEIL_OK)
        st = veil_out_open(&out, a.val[O_OUT], 0600, &err);
    if (st == VEIL_OK)
        st = kind == VEIL_FILE_RESULT ? decrypt_result(veil_out_fp(out), in, sk, &err)
                                      : decrypt_column(veil_out_fp(out), in, sk, threads, &err);
    if (st == VEIL_OK) {
        st = veil_out_commit(out, &err);
        out = NULL;
    }
    veil_out_abort(out);
    veil_paillier_priv_free(sk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_decrypt = {
    .name = "decrypt",
    .summary = "Decrypt a result file or a column file to CSV.",
    .synopsis = "--key PRIV [--out FILE.csv] INPUT",
    .description =
        "A result file (.vct) becomes \"count,sum\" rows (ungrouped), or\n"
        "\"group,count,sum\" rows: one per group in the file's order (byte order of the\n"
        "labels) and last the overall total, whose group is \"*total*\" (a label that\n"
        "encrypt refuses, so it cannot clash). count is the number of input values in\n"
        "the sum; sum is exact, with as many decimal places as the scale. A column\n"
        "file (.vcol) becomes a CSV with one column named like the original (plus the\n"
        "group column when the file is grouped), one row per value in the original\n"
        "order. A value outside its proven bound is reported as overflow (exit 4).\n"
        "--out is written to a temporary file and renamed into place only on success;\n"
        "on standard output a failure can leave partial output.",
    .opts = opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil decrypt --key bureau.key --ask-passphrase --out income-total.csv \\\n"
               "    income-total.vct",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
