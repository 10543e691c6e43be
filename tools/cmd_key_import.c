/* veil key import: a python-paillier (phe) JWK key to a veil key file. */
#include <stdio.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "passphrase.h"
#include "veil/keyfile.h"
#include "veil/pyjson.h"

enum { O_FROM = 1, O_PUBLIC, O_PRIVATE, O_OUT, O_PASSFILE, O_ASK, O_COMMENT, O_FORCE };

static const veil_opt opts[] = {
    {"from", O_FROM, "FORMAT", "format of IN.json: phe (python-paillier JWK)", 1},
    {"public", O_PUBLIC, NULL, "IN.json is a public key", 0},
    {"private", O_PRIVATE, NULL, "IN.json is a private key", 0},
    {"out", O_OUT, "KEYFILE", "veil key file to write (mode 0600 for a private key)", 1,
     VEIL_IO_OUT},
    {"passphrase-file", O_PASSFILE, "F", VEIL_PASS_OPT_FILE_HELP " (private keys)", 0,
     VEIL_IO_SECRET},
    {"ask-passphrase", O_ASK, NULL, VEIL_PASS_OPT_ASK_HELP ", twice (private keys)", 0},
    {"comment", O_COMMENT, "TEXT", "comment stored in the key file", 0},
    {"force", O_FORCE, NULL, "replace an existing KEYFILE", 0},
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
    char *json = NULL, *pass = NULL;
    size_t json_len = 0, pass_len = 0;
    const char *in = a.args[0], *out = a.val[O_OUT];
    int priv = a.val[O_PRIVATE] != NULL;
    veil_pass_opts po = {a.val[O_PASSFILE], a.val[O_ASK] != NULL};
    veil_status st = VEIL_OK;

    if (strcmp(a.val[O_FROM], "phe") != 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--from %s: the only format is phe", a.val[O_FROM]);
    else if ((a.val[O_PUBLIC] != NULL) == priv)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "give exactly one of --public and --private");
    else if (!priv && (po.file != NULL || po.ask))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "a public key takes no passphrase");
    if (st == VEIL_OK)
        st = veil_cli_check_new(out, a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_cli_read_file(&json, &json_len, in, VEIL_PYJSON_MAX, &err);
    if (st == VEIL_OK && priv)
        st = veil_pyjson_priv_import(&sk, json, json_len, &err);
    else if (st == VEIL_OK)
        st = veil_pyjson_pub_import(&pk, json, json_len, &err);
    if (st != VEIL_OK && err.msg[0] != '\0' && strstr(err.msg, in) == NULL)
        veil_err_prefix(&err, "%s", in);
    if (st == VEIL_OK && priv &&
        (st = veil_pass_get(&pass, &pass_len, &po, 1, cmd, &err)) == VEIL_OK)
        st = veil_priv_save(out, sk, pass, pass_len, a.val[O_COMMENT], &err);
    else if (st == VEIL_OK && !priv)
        st = veil_pub_save(out, pk, a.val[O_COMMENT], &err);
    if (st == VEIL_OK) {
        char fp[VEIL_FINGERPRINT_HEX];
        veil_paillier_pub_fingerprint_hex(fp, priv ? veil_paillier_priv_pub(sk) : pk);
        printf("%s: %s key, fingerprint %s\n", out, priv ? "private" : "public", fp);
    }
    veil_cli_free_secret(json, json_len + 1);
    veil_pass_free(pass);
    veil_paillier_pub_free(pk);
    veil_paillier_priv_free(sk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_key_import = {
    .name = "key import",
    .summary = "Import a python-paillier (phe) key.",
    .synopsis = "--from phe (--public | --private) --out KEYFILE [options] IN.json",
    .description = "Reads a key in phe's JWK layout (as written by pheutil), checks it and writes\n"
                   "a veil key file. A private key is written with mode 0600, sealed with a\n"
                   "passphrase when a passphrase option is given. KEYFILE is never replaced\n"
                   "without --force.",
    .opts = opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil key import --from phe --public --out bureau.pub phe-public.json",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
