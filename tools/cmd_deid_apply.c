/* veil deid apply: de-identify a CSV file under a policy. */
#include <string.h>
#include <sys/stat.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/deid_policy.h"
#include "veil/pseudonym.h"
#include "veil/transform.h"

enum { O_POLICY = 1, O_IN, O_OUT, O_KEY, O_FORCE, O_QUIET };

static const veil_opt opts[] = {
    {"policy", O_POLICY, "P.json", "de-identification policy (docs/deid.md)", 1, VEIL_IO_IN},
    {"in", O_IN, "IN.csv", "CSV file with a header row", 1, VEIL_IO_IN},
    {"out", O_OUT, "OUT.csv", "de-identified CSV to write (- for standard output)", 1, VEIL_IO_OUT},
    {"key-file", O_KEY, "K", "key file from 'veil deid keygen' (pseudonymize, fpe)", 0, VEIL_IO_IN},
    {"force", O_FORCE, NULL, "overwrite OUT.csv if it exists", 0},
    {"quiet", O_QUIET, NULL, "do not print the summary on standard error", 0},
    {NULL, 0, NULL, NULL, 0},
};

/* The privacy loss of the release, printed even with --quiet because it is
 * part of what was published: each noised column releases every record's
 * value once (epsilon per person for that column); columns add up for a
 * person (sequential composition). */
static void report_epsilon(const veil_deid_policy *pol)
{
    const char *name;
    double eps, total = 0;
    size_t i = 0;
    while (veil_deid_policy_noise_column(pol, i, &name, &eps)) {
        fprintf(stderr,
                "veil deid apply: differential privacy: column \"%s\": Laplace noise, "
                "epsilon %g per person\n",
                name, eps);
        total += eps;
        i++;
    }
    /* The privacy budget spent goes to the audit log too (the policy
     * itself is recorded by its digest, as an input). */
    veil_audit_note("epsilon_spent", "%g", total);
    veil_audit_note("noised_columns", "%zu", i);
    if (i > 0)
        fprintf(stderr,
                "veil deid apply: differential privacy: epsilon spent %g per person "
                "(%zu noised column%s)\n",
                total, i, i == 1 ? "" : "s");
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_deid_policy *pol = NULL;
    veil_deid_key *key = NULL;
    veil_outfile *o = NULL;
    veil_deid_stats stats;
    memset(&stats, 0, sizeof stats);
    const char *out = a.val[O_OUT];
    int to_stdout = strcmp(out, "-") == 0;
    veil_status st = veil_deid_policy_load(&pol, a.val[O_POLICY], &err);
    if (st == VEIL_OK && a.val[O_KEY] != NULL)
        st = veil_deid_key_load(&key, a.val[O_KEY], &err);
    if (st == VEIL_OK && key == NULL && veil_deid_policy_needs_key(pol))
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "%s pseudonymizes or encrypts columns: give --key-file", a.val[O_POLICY]);
    if (st == VEIL_OK && !to_stdout)
        st = veil_cli_check_distinct(a.val[O_IN], out, &err);
    if (st == VEIL_OK && !to_stdout)
        st = veil_cli_check_new(out, a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_out_open(&o, to_stdout ? NULL : out, 0600, &err);
    if (st == VEIL_OK)
        st = veil_deid_apply_file(pol, key, a.val[O_IN], veil_out_fp(o), &stats, &err);
    if (st == VEIL_OK) {
        st = veil_out_commit(o, &err);
        o = NULL;
    }
    veil_out_abort(o);
    if (st == VEIL_OK && a.val[O_QUIET] == NULL)
        fprintf(stderr,
                "veil deid apply: %llu rows in, %llu rows out, %llu records suppressed, "
                "%llu cells suppressed, %llu invalid cells redacted\n",
                (unsigned long long)stats.rows_in, (unsigned long long)stats.rows_out,
                (unsigned long long)stats.records_suppressed,
                (unsigned long long)stats.cells_suppressed,
                (unsigned long long)stats.invalid_redacted);
    if (st == VEIL_OK)
        report_epsilon(pol);
    veil_deid_key_free(key);
    veil_deid_policy_free(pol);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_deid_apply = {
    .name = "deid apply",
    .summary = "De-identify a CSV file under a policy (mask, pseudonymize, generalize...).",
    .synopsis = "--policy P.json --in IN.csv --out OUT.csv [--key-file K]",
    .description =
        "Streams IN.csv (RFC 4180, header row) through the policy: every column is kept,\n"
        "dropped, redacted, masked, pseudonymized with the key file, format-preservingly\n"
        "encrypted (FF1) or generalized, then records and cells matching the suppression\n"
        "rules are removed. Memory stays bounded whatever the number of rows. A column\n"
        "of the policy missing from the file, a column of the file missing from the\n"
        "policy (unless \"unlisted\" says), a ragged row or a value a preset refuses stops\n"
        "the command with the file and line, and nothing is written. The output file\n"
        "is created with mode 0600. See docs/deid.md for the policy format.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil deid keygen --out civil.deidkey\n"
               "veil deid apply --policy citizens.json --in citizens.csv --out shared.csv \\\n"
               "    --key-file civil.deidkey",
    .run = run,
    .audited = 1,
};
