/* veil key export: a veil key file to python-paillier (phe) JWK JSON. */
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "passphrase.h"
#include "veil/keyfile.h"
#include "veil/pyjson.h"

enum { O_TO = 1, O_OUT, O_PUBLIC, O_PASSFILE, O_ASK, O_FORCE };

static const veil_opt opts[] = {
    {"to", O_TO, "FORMAT", "output format: phe (python-paillier JWK)", 1},
    {"out", O_OUT, "OUT.json", "JSON file to write (mode 0600 when it holds a private key)", 1,
     VEIL_IO_OUT},
    {"public", O_PUBLIC, NULL, "export only the public half of a private key", 0},
    {"passphrase-file", O_PASSFILE, "F", VEIL_PASS_OPT_FILE_HELP, 0, VEIL_IO_SECRET},
    {"ask-passphrase", O_ASK, NULL, VEIL_PASS_OPT_ASK_HELP, 0},
    {"force", O_FORCE, NULL, "replace an existing OUT.json", 0},
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
    veil_paillier_priv *sk = NULL;
    char *json = NULL;
    const char *in = a.args[0], *out = a.val[O_OUT];
    veil_pass_opts po = {a.val[O_PASSFILE], a.val[O_ASK] != NULL};
    veil_keyfile_info info;
    veil_status st = VEIL_OK;

    if (strcmp(a.val[O_TO], "phe") != 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--to %s: the only format is phe", a.val[O_TO]);
    if (st == VEIL_OK && strcmp(out, "-") != 0)
        st = veil_cli_check_new(out, a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_keyfile_info_read(&info, in, &err);
    int priv = st == VEIL_OK && info.kind != VEIL_KEY_PUBLIC && a.val[O_PUBLIC] == NULL;
    if (st == VEIL_OK && priv) {
        st = veil_pass_load_priv(&sk, in, &po, cmd, &err);
        if (st == VEIL_OK && (json = veil_pyjson_priv_export(sk, &err)) == NULL)
            st = err.code;
    } else if (st == VEIL_OK) {
        st = veil_pub_load(&pk, in, &err);
        if (st == VEIL_OK && (json = veil_pyjson_pub_export(pk, &err)) == NULL)
            st = err.code;
    }
    if (st == VEIL_OK)
        st = veil_out_write_all(out, json, strlen(json), priv ? 0600 : 0644, &err);
    if (json != NULL)
        veil_cli_free_secret(json, strlen(json));
    veil_paillier_pub_free(pk);
    veil_paillier_priv_free(sk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_key_export = {
    .name = "key export",
    .summary = "Export a key as python-paillier (phe) JSON.",
    .synopsis = "--to phe --out OUT.json [options] KEYFILE",
    .description = "Writes the key in phe's JWK layout (pheutil's format). A private key needs\n"
                   "its passphrase when sealed, and the JSON (which holds p and q in clear) is\n"
                   "written with mode 0600; --public exports only the public half. OUT.json is\n"
                   "never replaced without --force; \"-\" writes to standard output.",
    .opts = opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil key export --to phe --public --out phe-public.json bureau.key",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
