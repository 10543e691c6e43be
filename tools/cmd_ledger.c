/* veil ledger init / veil ledger show: a dataset's privacy budget ledger
 * (docs/ledger.md). Spending happens in the query commands, through
 * veil_ledger_spend; these two create a ledger and read it back. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/disclosure.h"

/* ---- veil ledger init ---- */

enum { I_DATASET = 1, I_BUDGET, I_OUT, I_FORCE };

static const veil_opt init_opts[] = {
    {"dataset", I_DATASET, "NAME", "dataset name: 1-64 of A-Z a-z 0-9 . _ - (e.g. tax)", 1},
    {"budget", I_BUDGET, "EPS", "total privacy budget: a decimal epsilon > 0, at most 6 decimals",
     1},
    {"out", I_OUT, "FILE", "ledger file to create (mode 0600)", 1, VEIL_IO_OUT},
    {"force", I_FORCE, NULL, "replace an existing ledger (its spends are lost)", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run_init(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    uint64_t budget = 0;
    veil_status st = veil_eps_parse(&budget, a.val[I_BUDGET], &err);
    if (st != VEIL_OK) {
        /* A bad option value is a usage error, not bad input. */
        rc = veil_cli_fail(cmd, VEIL_ERR_USAGE, "--budget: %s", err.msg);
        veil_args_free(&a);
        return rc;
    }
    st = veil_ledger_init(a.val[I_OUT], a.val[I_DATASET], budget, a.val[I_FORCE] != NULL, &err);
    if (st == VEIL_OK) {
        char eps[VEIL_EPS_TEXT_MAX];
        veil_eps_format(eps, budget);
        printf("wrote %s (dataset %s, budget %s, mode 0600)\n", a.val[I_OUT], a.val[I_DATASET],
               eps);
    }
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_ledger_init = {
    .name = "ledger init",
    .summary = "Create a dataset's privacy budget ledger.",
    .synopsis = "--dataset NAME --budget EPS --out FILE [--force]",
    .description =
        "Writes an empty ledger (format veil-ledger-v1, docs/ledger.md) for one dataset\n"
        "with its total privacy budget, atomically and with mode 0600. Every\n"
        "differentially private query on the dataset then records its epsilon in the\n"
        "ledger, under a lock on FILE.lock, and is refused once the budget would be\n"
        "exceeded. Epsilons are exact decimals with at most 6 decimals (0.1 ten times is\n"
        "exactly 1); the budget must be greater than 0 and at most 100.\n"
        "\n"
        "Refuses to overwrite an existing ledger without --force: a new ledger forgets\n"
        "every spend, and with them the privacy already lost.",
    .opts = init_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil ledger init --dataset tax --budget 1 --out /var/lib/veil/tax.ledger",
    .run = run_init,
};

/* ---- veil ledger show ---- */

enum { S_JSON = 1 };

static const veil_opt show_opts[] = {
    {"json", S_JSON, NULL, "print one JSON document with every field", 0},
    {NULL, 0, NULL, NULL, 0},
};

static void to_hex(char out[65], const uint8_t d[32])
{
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static veil_status print_json(const veil_ledger *l, veil_err *err)
{
    char budget[VEIL_EPS_TEXT_MAX], spent[VEIL_EPS_TEXT_MAX], left[VEIL_EPS_TEXT_MAX];
    veil_eps_format(budget, l->budget);
    veil_eps_format(spent, l->spent);
    veil_eps_format(left, l->budget - l->spent);
    json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "dataset", l->dataset, "budget", budget,
                             "spent", spent, "remaining", left, "spends");
    json_t *spends = root == NULL ? NULL : json_object_get(root, "spends");
    for (size_t i = 0; spends != NULL && i < l->nspends; i++) {
        char hex[65], eps[VEIL_EPS_TEXT_MAX];
        to_hex(hex, l->spends[i].digest);
        veil_eps_format(eps, l->spends[i].epsilon);
        if (json_array_append_new(spends, json_pack("{s:s, s:s, s:s, s:s}", "time",
                                                    l->spends[i].time, "query", l->spends[i].query,
                                                    "digest", hex, "epsilon", eps)) != 0)
            spends = NULL;
    }
    char *text = spends == NULL ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(root);
    if (text == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    printf("%s\n", text);
    free(text);
    return VEIL_OK;
}

static void print_text(const veil_ledger *l)
{
    char budget[VEIL_EPS_TEXT_MAX], spent[VEIL_EPS_TEXT_MAX], left[VEIL_EPS_TEXT_MAX];
    veil_eps_format(budget, l->budget);
    veil_eps_format(spent, l->spent);
    veil_eps_format(left, l->budget - l->spent);
    printf("dataset:   %s\n"
           "budget:    %s\n"
           "spent:     %s\n"
           "remaining: %s\n"
           "spends:    %zu\n",
           l->dataset, budget, spent, left, l->nspends);
    if (l->nspends > 0)
        printf("%-20s  %-10s  %-64s  %s\n", "time (UTC)", "epsilon", "digest (BLAKE2b-256)",
               "query");
    for (size_t i = 0; i < l->nspends; i++) {
        char hex[65], eps[VEIL_EPS_TEXT_MAX];
        to_hex(hex, l->spends[i].digest);
        veil_eps_format(eps, l->spends[i].epsilon);
        printf("%-20s  %-10s  %s  %s\n", l->spends[i].time, eps, hex, l->spends[i].query);
    }
}

static int run_show(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_ledger l;
    veil_status st = veil_ledger_load(&l, a.args[0], &err);
    if (st == VEIL_OK) {
        if (a.val[S_JSON] != NULL)
            st = print_json(&l, &err);
        else
            print_text(&l);
        veil_ledger_free(&l);
    }
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_ledger_show = {
    .name = "ledger show",
    .summary = "Show a privacy budget ledger: budget, spent, remaining and every spend.",
    .synopsis = "[--json] FILE",
    .description =
        "Loads the ledger with every check the spenders apply (format, fields, spends\n"
        "adding up to no more than the budget, mode 0600, not a symbolic link) and prints\n"
        "the dataset, its budget, the epsilon spent and remaining, then one line per\n"
        "spend: UTC time, epsilon, digest of the query description and query id. It\n"
        "takes no lock: spends replace the file atomically, so it always reads a whole\n"
        "ledger.",
    .opts = show_opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil ledger show /var/lib/veil/tax.ledger",
    .run = run_show,
    .args_io = VEIL_IO_IN,
};
