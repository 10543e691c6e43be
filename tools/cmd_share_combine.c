/* veil share combine: reconstructs a column from share files written by
 * `veil share split`, checking that they belong together and, with more
 * than t of them, that they agree. Streams in bounded memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cliutil.h"
#include "commands.h"
#include "csv_column.h"
#include "veil/fixed.h"
#include "veil/share.h"
#include "veil/sharefile.h"

enum { O_OUT = 1, O_FORCE };

static const veil_opt opts[] = {
    {"out", O_OUT, "FILE.csv", "CSV file to write (mode 0600; default: standard output)", 0,
     VEIL_IO_OUT},
    {"force", O_FORCE, NULL, "replace an existing output file", 0},
    {NULL, 0, NULL, NULL, 0},
};

#define CHUNK 16384

/* After a reconstruction failure, reads every file to its end: when one
 * of them is damaged its own error (naming the file) says more than the
 * failed check. Returns the first such status, with err filled. */
static veil_status find_bad_file(veil_sharefile_reader **r, unsigned k, veil_fe *buf, veil_err *err)
{
    for (unsigned i = 0; i < k; i++) {
        size_t got;
        veil_status st;
        do
            st = veil_sharefile_reader_read(r[i], buf, CHUNK, &got, err);
        while (st == VEIL_OK && got > 0);
        if (st != VEIL_OK)
            return st;
    }
    return VEIL_OK;
}

/* Reconstructs every chunk and writes its rows. */
static veil_status combine(FILE *f, veil_sharefile_reader **r, unsigned k, veil_fe **bufs,
                           veil_fe *secret, veil_err *err)
{
    const veil_sharefile_info *in = veil_sharefile_reader_info(r[0]);
    veil_share_part parts[VEIL_SHARE_PARTIES_MAX];
    uint64_t offset = 0;
    for (;;) {
        size_t got0 = 0;
        for (unsigned i = 0; i < k; i++) {
            size_t got;
            veil_status st = veil_sharefile_reader_read(r[i], bufs[i], CHUNK, &got, err);
            if (st != VEIL_OK)
                return st;
            if (i == 0)
                got0 = got;
            else if (got != got0) /* same length in every header: cannot happen */
                return veil_err_set(err, VEIL_ERR_INTERNAL, "share files out of step");
            parts[i].index = veil_sharefile_reader_info(r[i])->index;
            parts[i].values = bufs[i];
        }
        if (got0 == 0)
            return VEIL_OK;
        veil_status st =
            veil_share_reconstruct(secret, in->scheme, in->n, in->t, parts, k, offset, got0, err);
        for (size_t e = 0; e < got0 && st == VEIL_OK; e++) {
            __int128 v = veil_fe_to_i128(secret[e]);
            char text[48 + VEIL_SCALE_MAX];
            if (v < INT64_MIN || v > INT64_MAX) {
                st = veil_err_set(err, VEIL_ERR_CRYPTO,
                                  "element %llu reconstructs to a value outside the signed 64-bit "
                                  "range split writes: a share is corrupted or the files come "
                                  "from different splits",
                                  (unsigned long long)(offset + e));
                break;
            }
            veil_i128_format(text, sizeof text, v, in->scale);
            if (fprintf(f, "%llu,%s\n", (unsigned long long)(offset + e + 1), text) < 0)
                st = veil_err_set(err, VEIL_ERR_IO, "write failed");
        }
        sodium_memzero(secret, got0 * sizeof *secret);
        if (st == VEIL_ERR_CRYPTO) {
            veil_err e2;
            if (find_bad_file(r, k, secret, &e2) != VEIL_OK)
                *err = e2;
            return err->code;
        }
        if (st != VEIL_OK)
            return st;
        offset += got0;
    }
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    unsigned k = (unsigned)a.nargs;
    veil_status st = VEIL_OK;
    veil_outfile *out = NULL;
    veil_sharefile_reader **r = calloc(k, sizeof *r);
    const veil_sharefile_info **infos = calloc(k, sizeof *infos);
    veil_fe **bufs = calloc(k, sizeof *bufs);
    veil_fe *secret = malloc(CHUNK * sizeof *secret);
    if (r == NULL || infos == NULL || bufs == NULL || secret == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && k > VEIL_SHARE_PARTIES_MAX)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%u share files given; at most %d parties exist", k,
                          VEIL_SHARE_PARTIES_MAX);
    if (st == VEIL_OK && a.val[O_OUT] != NULL)
        st = veil_cli_check_new(a.val[O_OUT], a.val[O_FORCE] != NULL, &err);
    for (unsigned i = 0; i < k && st == VEIL_OK; i++) {
        if (a.val[O_OUT] != NULL)
            st = veil_cli_check_distinct(a.args[i], a.val[O_OUT], &err);
        if (st == VEIL_OK)
            st = veil_sharefile_reader_open(&r[i], a.args[i], &err);
        if (st == VEIL_OK && (bufs[i] = malloc(CHUNK * sizeof **bufs)) == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        if (st == VEIL_OK)
            infos[i] = veil_sharefile_reader_info(r[i]);
    }
    if (st == VEIL_OK)
        st = veil_sharefile_check_set(infos, (const char *const *)a.args, k, &err);
    if (st == VEIL_OK)
        st = veil_out_open(&out, a.val[O_OUT], 0600, &err);
    if (st == VEIL_OK) {
        FILE *f = veil_out_fp(out);
        fputs("index,", f);
        veil_csv_write_field(f, infos[0]->column, strlen(infos[0]->column));
        fputc('\n', f);
        st = combine(f, r, k, bufs, secret, &err);
    }
    if (st == VEIL_OK) {
        veil_outfile *o = out;
        out = NULL;
        st = veil_out_commit(o, &err);
    }
    veil_out_abort(out);
    if (st == VEIL_OK) {
        fprintf(stderr, "veil share combine: %llu value%s of \"%s\" from parties",
                (unsigned long long)infos[0]->length, infos[0]->length == 1 ? "" : "s",
                infos[0]->column);
        for (unsigned i = 0; i < k; i++)
            fprintf(stderr, " %u", infos[i]->index);
        fprintf(stderr, "%s\n", k > infos[0]->t ? " (extra shares checked)" : "");
    }
    for (unsigned i = 0; i < k && r != NULL; i++) {
        veil_sharefile_reader_close(r[i]);
        if (bufs[i] != NULL)
            sodium_memzero(bufs[i], CHUNK * sizeof **bufs);
        free(bufs[i]);
    }
    free(secret);
    free(bufs);
    free(infos);
    free(r);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_share_combine = {
    .name = "share combine",
    .summary = "Reconstruct a column from share files.",
    .synopsis = "[--out FILE.csv] [--force] SHARE.vsh...",
    .description =
        "Reads share files written by `veil share split`, checks that they come from the\n"
        "same split (split id, scheme, parties, threshold, scale, length, column), that\n"
        "their party indices are distinct and that there are enough of them (T for\n"
        "Shamir, all N for additive), then reconstructs the column and writes it as CSV:\n"
        "a header \"index,<column>\" and one row per value, index 1 for the first row of\n"
        "the original file, values at the original scale. With more than T Shamir shares\n"
        "every extra share is checked to agree with the others; a disagreement or a\n"
        "damaged file is an error naming the party or the file, and no output is left.",
    .opts = opts,
    .min_args = 1,
    .max_args = -1,
    .example = "veil share combine shares/income.1.vsh shares/income.3.vsh \\\n"
               "    shares/income.4.vsh --out income.csv",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
