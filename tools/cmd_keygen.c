/* veil keygen: a new Paillier key pair. */
#include <stdio.h>
#include <unistd.h>

#include "cliutil.h"
#include "commands.h"
#include "passphrase.h"
#include "veil/keyfile.h"
#include "veil/paillier.h"

enum { O_BITS = 1, O_TEXTBOOK, O_PUBLIC, O_PRIVATE, O_PASSFILE, O_ASK, O_COMMENT, O_FORCE };

static const veil_opt opts[] = {
    {"bits", O_BITS, "N", "modulus size: 2048 (default), 3072 or 4096", 0},
    {"textbook", O_TEXTBOOK, NULL, "textbook r^n randomizers instead of DJN (slower encryption)",
     0},
    {"public", O_PUBLIC, "PUB", "where to write the public key", 1, VEIL_IO_OUT},
    {"private", O_PRIVATE, "PRIV", "where to write the private key (mode 0600)", 1, VEIL_IO_OUT},
    {"passphrase-file", O_PASSFILE, "F", VEIL_PASS_OPT_FILE_HELP, 0, VEIL_IO_SECRET},
    {"ask-passphrase", O_ASK, NULL, VEIL_PASS_OPT_ASK_HELP ", twice", 0},
    {"comment", O_COMMENT, "TEXT", "comment stored in both key files", 0},
    {"force", O_FORCE, NULL, "replace existing key files", 0},
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
    veil_paillier_priv *sk = NULL;
    char *pass = NULL;
    size_t pass_len = 0;
    int wrote_priv = 0;
    unsigned bits = VEIL_PAILLIER_BITS_DEFAULT;
    const char *pub_path = a.val[O_PUBLIC], *priv_path = a.val[O_PRIVATE];
    veil_pass_opts po = {a.val[O_PASSFILE], a.val[O_ASK] != NULL};
    veil_status st = VEIL_OK;

    if (a.val[O_BITS] != NULL &&
        (st = veil_cli_parse_uint(&bits, a.val[O_BITS], 0, 1u << 16, "bits", &err)) != VEIL_OK)
        goto done;
    if (!veil_paillier_bits_supported(bits)) {
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--bits %u is not supported (2048, 3072, 4096)",
                          bits);
        goto done;
    }
    if (veil_cli_same_path(pub_path, priv_path)) {
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--public and --private name the same file");
        goto done;
    }
    if ((st = veil_cli_check_new(pub_path, a.val[O_FORCE] != NULL, &err)) != VEIL_OK ||
        (st = veil_cli_check_new(priv_path, a.val[O_FORCE] != NULL, &err)) != VEIL_OK)
        goto done;
    if ((st = veil_pass_get(&pass, &pass_len, &po, 1, cmd, &err)) != VEIL_OK)
        goto done;
    if ((st = veil_paillier_keygen(&sk, bits, a.val[O_TEXTBOOK] == NULL, &err)) != VEIL_OK)
        goto done;
    /* The private key first: a pair whose public half failed to save is
     * removed again, so no half-made pair is left behind. */
    if ((st = veil_priv_save(priv_path, sk, pass, pass_len, a.val[O_COMMENT], &err)) != VEIL_OK)
        goto done;
    wrote_priv = 1;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    if ((st = veil_pub_save(pub_path, pk, a.val[O_COMMENT], &err)) != VEIL_OK)
        goto done;
    char fp[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(fp, pk);
    printf("public key:  %s\nprivate key: %s%s\nfingerprint: %s\n", pub_path, priv_path,
           pass ? " (protected by a passphrase)" : "", fp);
    if (pass == NULL)
        veil_cli_warn(cmd,
                      "%s is not protected by a passphrase (see --passphrase-file, "
                      "--ask-passphrase)",
                      priv_path);
done:
    if (st != VEIL_OK && wrote_priv)
        unlink(priv_path);
    veil_pass_free(pass);
    veil_paillier_priv_free(sk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_keygen = {
    .name = "keygen",
    .summary = "Generate a Paillier key pair.",
    .synopsis = "--public PUB --private PRIV [options]",
    .description = "Writes the public key (give it to every department that encrypts) and the\n"
                   "private key (keep it with whoever may decrypt totals), then prints the key's\n"
                   "fingerprint. Keys use Damgard-Jurik-Nielsen randomizers unless --textbook is\n"
                   "given. Existing files are never replaced without --force. Without a\n"
                   "passphrase option the private key is stored unencrypted (with a warning).",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil keygen --public bureau.pub --private bureau.key --ask-passphrase \\\n"
               "    --comment \"statistics bureau 2025\"",
    .run = run,
    .audited = 1,
};
