/* veil ciphertext import: python-paillier encrypted numbers to a result
 * file. */
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/ctfile.h"
#include "veil/keyfile.h"
#include "veil/pyjson.h"

#define DEFAULT_MAX_ABS "1e15"

enum { O_FROM = 1, O_KEY, O_IN, O_MAX_ABS, O_OUT };

static const veil_opt opts[] = {
    {"from", O_FROM, "FORMAT", "format of IN.json: phe (python-paillier)", 1},
    {"key", O_KEY, "PUB", "public key the numbers are encrypted under", 1, VEIL_IO_IN},
    {"in", O_IN, "IN.json", "one {\"v\",\"e\"} object or an array of them", 1, VEIL_IO_IN},
    {"max-abs", O_MAX_ABS, "X",
     "declared bound on |mantissa| of the phe numbers, integer or 1eN (default 1e15)", 0},
    {"out", O_OUT, "RESULT.vct", "result file to write", 1, VEIL_IO_OUT},
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
    size_t count = 0, json_len = 0;
    char *json = NULL;
    const char *in = a.val[O_IN];
    const char *max_abs = a.val[O_MAX_ABS] ? a.val[O_MAX_ABS] : DEFAULT_MAX_ABS;
    veil_result res;
    veil_result_init(&res);
    mpz_t bound;
    mpz_init(bound);
    veil_status st = VEIL_OK;

    if (strcmp(a.val[O_FROM], "phe") != 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--from %s: the only format is phe", a.val[O_FROM]);
    if (st == VEIL_OK)
        st = veil_cli_parse_bound(bound, max_abs, 0, "max-abs", &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(in, a.val[O_OUT], &err);
    if (st == VEIL_OK)
        st = veil_pub_load(&pk, a.val[O_KEY], &err);
    if (st == VEIL_OK)
        st = veil_cli_read_file(&json, &json_len, in, VEIL_PYJSON_MAX, &err);
    if (st == VEIL_OK &&
        (st = veil_pyjson_numbers_import(&values, &count, pk, json, json_len, bound, &err)) !=
            VEIL_OK &&
        strstr(err.msg, in) == NULL)
        veil_err_prefix(&err, "%s", in);
    if (st == VEIL_OK && count == 0)
        st = veil_err_set(&err, VEIL_ERR_INPUT, "%s holds no encrypted numbers", in);
    /* Each number becomes one ungrouped item, in the order of the JSON. */
    for (size_t i = 0; st == VEIL_OK && i < count; i++)
        st = veil_result_append(&res, NULL, 0, &values[i], &err);
    if (st == VEIL_OK)
        st = veil_result_save(a.val[O_OUT], pk, &res, &err);
    veil_pyjson_numbers_free(values, count);
    free(json);
    veil_result_clear(&res);
    mpz_clear(bound);
    veil_paillier_pub_free(pk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_ciphertext_import = {
    .name = "ciphertext import",
    .summary = "Import python-paillier (phe) encrypted numbers as a result file.",
    .synopsis = "--from phe --key PUB --in IN.json --out RESULT.vct [--max-abs X]",
    .description =
        "IN.json is one {\"v\": \"<ciphertext>\", \"e\": <exponent>} object (as pheutil\n"
        "encrypt writes it), a JSON array of them, or phe's {\"public_key\", \"values\"}\n"
        "list layout. Each number becomes one ungrouped value of the result file, in\n"
        "order: exponent e >= 0 gives scale 0 (mantissa times 16^e),\n"
        "e < 0 gives scale -4e (exact, as 16^e = 5^(-4e) / 10^(-4e)). phe ciphertexts\n"
        "carry no bound, so --max-abs declares one for the mantissas; decrypt reports\n"
        "overflow (exit 4) when a value breaks it. Every ciphertext is range- and\n"
        "gcd-checked against the key.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil ciphertext import --from phe --key bureau.pub --in phe-sum.json \\\n"
               "    --max-abs 1e12 --out phe-sum.vct",
    .run = run,
    .audited = 1,
};
