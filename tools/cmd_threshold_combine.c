/* veil threshold combine: checks every department's partial decryptions,
 * names the ones that fail, and combines any t valid ones into the same CSV
 * `veil decrypt` prints. */
#include <stdio.h>
#include <stdlib.h>

#include "cliutil.h"
#include "commands.h"
#include "result_csv.h"
#include "veil/ctfile.h"
#include "veil/rand.h"
#include "veil/threshold.h"

enum { O_KEY = 1, O_OUT, O_THREADS, O_STRICT };

static const veil_opt opts[] = {
    {"key", O_KEY, "TKEY", "the threshold key parameters (threshold.tkey)", 1, VEIL_IO_IN},
    {"out", O_OUT, "FILE.csv", "CSV file to write (mode 0600; default: standard output)", 0,
     VEIL_IO_OUT},
    {"threads", O_THREADS, "N", "worker threads for checking proofs (default: one per CPU)", 0},
    {"strict", O_STRICT, NULL, "fail when any partial decryption is invalid", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    const char *in = a.args[0];
    size_t nfiles = (size_t)a.nargs - 1, nvalid = 0, nbad = 0;
    unsigned threads = 0;
    veil_threshold_key *key = NULL;
    veil_result res;
    veil_result_init(&res);
    veil_threshold_partials *parts = calloc(nfiles, sizeof *parts);
    const veil_threshold_partials **valid = calloc(nfiles, sizeof *valid);
    mpz_t *vals = NULL;
    veil_outfile *out = NULL;
    veil_status st = VEIL_OK;
    if (parts == NULL || valid == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && veil_cli_file_kind(in) != VEIL_FILE_RESULT)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%s: expected a result file (.vct) first", in);
    if (st == VEIL_OK && a.val[O_THREADS] != NULL)
        st = veil_cli_parse_uint(&threads, a.val[O_THREADS], 1, 1024, "threads", &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(in, a.val[O_OUT], &err);
    if (st == VEIL_OK)
        st = veil_threshold_key_load(&key, a.val[O_KEY], &err);
    if (st == VEIL_OK)
        st = veil_result_load(&res, in, veil_threshold_key_pub(key), &err);
    /* Check every file; a bad one is named and left out, not fatal. */
    for (size_t i = 0; i < nfiles && st == VEIL_OK; i++) {
        const char *path = a.args[i + 1];
        veil_err e;
        veil_status s = veil_threshold_partials_load(&parts[i], path, &e);
        if (s == VEIL_OK)
            s = veil_threshold_partials_check(key, &res, &parts[i], threads, &e);
        for (size_t j = 0; s == VEIL_OK && j < nvalid; j++)
            if (valid[j]->index == parts[i].index)
                s = veil_err_set(&e, VEIL_ERR_USAGE, "party %u: given twice (ignored)",
                                 parts[i].index);
        if (s == VEIL_OK) {
            valid[nvalid++] = &parts[i];
            continue;
        }
        nbad++;
        if (s == VEIL_ERR_IO || s == VEIL_ERR_NOMEM || s == VEIL_ERR_INTERNAL) {
            err = e;
            st = s;
        } else {
            veil_cli_warn(cmd, "%s: %s", path, e.msg);
        }
    }
    unsigned t = key != NULL ? veil_threshold_key_threshold(key) : 0;
    if (st == VEIL_OK && a.val[O_STRICT] != NULL && nbad > 0)
        st = veil_err_set(&err, VEIL_ERR_CRYPTO, "%zu invalid partial decryption file%s (--strict)",
                          nbad, nbad == 1 ? "" : "s");
    if (st == VEIL_OK && nvalid < t)
        st = veil_err_set(&err, VEIL_ERR_CRYPTO,
                          "only %zu valid partial decryption%s of %s, but %u departments are "
                          "needed",
                          nvalid, nvalid == 1 ? "" : "s", in, t);
    if (st == VEIL_OK && (vals = calloc(res.count, sizeof *vals)) == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (vals != NULL)
        for (size_t i = 0; i < res.count; i++)
            mpz_init(vals[i]);
    if (st == VEIL_OK &&
        (st = veil_threshold_combine_result(vals, key, &res, valid, nvalid, &err)) != VEIL_OK)
        veil_err_prefix(&err, "%s", in);
    if (st == VEIL_OK)
        st = veil_out_open(&out, a.val[O_OUT], 0600, &err);
    if (st == VEIL_OK)
        st = veil_result_csv_write(veil_out_fp(out), in, &res, (const mpz_t *)vals, &err);
    if (st == VEIL_OK) {
        st = veil_out_commit(out, &err);
        out = NULL;
    }
    veil_out_abort(out);
    if (st == VEIL_OK) {
        fprintf(stderr, "veil threshold combine: combined parties");
        for (size_t j = 0; j < t; j++)
            fprintf(stderr, " %u", valid[j]->index);
        fprintf(stderr, " (%zu valid, %zu rejected)\n", nvalid, nbad);
    }
    if (vals != NULL)
        for (size_t i = 0; i < res.count; i++)
            veil_mpz_wipe(vals[i]);
    free(vals);
    for (size_t i = 0; parts != NULL && i < nfiles; i++)
        veil_threshold_partials_clear(&parts[i]);
    free(parts);
    free(valid);
    veil_result_clear(&res);
    veil_threshold_key_free(key);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_threshold_combine = {
    .name = "threshold combine",
    .summary = "Combine t departments' partial decryptions into the totals.",
    .synopsis = "--key TKEY [--out FILE.csv] RESULT.vct PARTIAL.vpd...",
    .description = "Checks every partial decryption file against the threshold key and the result\n"
                   "file (key fingerprint, input digest, party index, every proof), names each\n"
                   "department whose file fails (on standard error) and leaves it out, then\n"
                   "combines the first t valid ones and prints the same CSV as `veil decrypt`:\n"
                   "\"count,sum\" or \"group,count,sum\" rows with the overall total last. Fewer\n"
                   "than t valid files is an error (exit 4), as is a value outside its proven\n"
                   "bound (overflow). With --strict any invalid file is an error.",
    .opts = opts,
    .min_args = 2,
    .max_args = -1,
    .example = "veil threshold combine --key threshold.tkey --out income.csv \\\n"
               "    income-by-region.vct tax.vpd health.vpd edu.vpd",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
