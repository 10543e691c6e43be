/* veil ciphertext export: a result file to python-paillier encrypted
 * numbers. */
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/ctfile.h"
#include "veil/keyfile.h"
#include "veil/pyjson.h"

enum { O_TO = 1, O_KEY, O_IN, O_OUT };

static const veil_opt opts[] = {
    {"to", O_TO, "FORMAT", "output format: phe (python-paillier)", 1},
    {"key", O_KEY, "PUB", "public key of the result file", 1, VEIL_IO_IN},
    {"in", O_IN, "RESULT.vct", "result file to export", 1, VEIL_IO_IN},
    {"out", O_OUT, "OUT.json", "JSON file to write (\"-\": standard output)", 1, VEIL_IO_OUT},
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
    veil_paillier_pub *pk = NULL;
    veil_enc *values = NULL;
    char *json = NULL;
    const char *in = a.val[O_IN];
    veil_result res;
    veil_result_init(&res);
    veil_status st = VEIL_OK;

    if (strcmp(a.val[O_TO], "phe") != 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--to %s: the only format is phe", a.val[O_TO]);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(in, a.val[O_OUT], &err);
    if (st == VEIL_OK)
        st = veil_pub_load(&pk, a.val[O_KEY], &err);
    if (st == VEIL_OK)
        st = veil_result_load(&res, in, pk, &err);
    if (st == VEIL_OK && res.count > 0 && (values = calloc(res.count, sizeof *values)) == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    int grouped = 0;
    for (size_t i = 0; st == VEIL_OK && i < res.count; i++) {
        values[i] = res.items[i].value; /* shallow: read only, owned by res */
        grouped |= res.items[i].group != NULL || res.items[i].is_total;
    }
    if (st == VEIL_OK && grouped)
        veil_cli_warn(cmd,
                      "%s is grouped; phe numbers carry no labels, so the array holds the "
                      "groups in byte order of their labels, then the total",
                      in);
    if (st == VEIL_OK) {
        json = res.count == 1 ? veil_pyjson_number_export(&values[0], &err)
                              : veil_pyjson_numbers_export(values, res.count, &err);
        if (json == NULL)
            st = err.code;
    }
    if (st == VEIL_OK)
        st = veil_out_write_all(a.val[O_OUT], json, strlen(json), 0644, &err);
    free(json);
    free(values);
    veil_result_clear(&res);
    veil_paillier_pub_free(pk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_ciphertext_export = {
    .name = "ciphertext export",
    .summary = "Export a result file as python-paillier (phe) encrypted numbers.",
    .synopsis = "--to phe --key PUB --in RESULT.vct --out OUT.json",
    .description =
        "A result holding one value becomes one {\"v\", \"e\"} object, exactly as\n"
        "pheutil encrypt writes it; several values become a JSON array of such objects.\n"
        "e is -scale: exact with phe's default EncodedNumber at scale 0; at scale > 0\n"
        "phe must decode with a base-10 EncodedNumber (see docs/python-paillier.md).\n"
        "Group labels are not part of phe's format: a grouped result is exported as\n"
        "its groups in byte order of their labels, then the total (with a warning).",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil ciphertext export --to phe --key bureau.pub --in income-total.vct \\\n"
               "    --out income-total.json",
    .run = run,
    .audited = 1,
};
