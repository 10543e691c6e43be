/* veil deid keygen: a new de-identification key file (mode 0600). */
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/pseudonym.h"

enum { O_OUT = 1, O_FORCE };

static const veil_opt opts[] = {
    {"out", O_OUT, "K", "key file to write (mode 0600)", 1, VEIL_IO_OUT},
    {"force", O_FORCE, NULL, "overwrite K if it exists", 0},
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
    veil_deid_key *k = NULL;
    char *text = NULL;
    size_t len = 0;
    char id[VEIL_DEID_KEY_ID_HEX + 1] = "";
    veil_status st = strcmp(a.val[O_OUT], "-") == 0
                         ? veil_err_set(&err, VEIL_ERR_USAGE, "--out must name a file")
                         : veil_cli_check_new(a.val[O_OUT], a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_deid_key_generate(&k, &err);
    if (st == VEIL_OK)
        st = veil_deid_key_format(&text, &len, k, &err);
    if (st == VEIL_OK)
        st = veil_out_write_all(a.val[O_OUT], text, len, 0600, &err);
    if (st == VEIL_OK) {
        veil_deid_key_id(id, k);
        printf("wrote %s (key id %s)\n", a.val[O_OUT], id);
    }
    veil_deid_key_text_free(text, len);
    veil_deid_key_free(k);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_deid_keygen = {
    .name = "deid keygen",
    .summary = "Create a de-identification key file for pseudonyms and FF1.",
    .synopsis = "--out K [--force]",
    .description = "Writes a fresh 256-bit key to K (mode 0600) and prints its public key id.\n"
                   "Departments that must link records give the same key file to 'veil deid\n"
                   "apply': the same value then gets the same pseudonym everywhere. Anyone with\n"
                   "the file can link pseudonyms and decrypt FF1-encrypted values: keep it secret.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil deid keygen --out civil.deidkey",
    .run = run,
    .audited = 1,
};
