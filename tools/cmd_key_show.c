/* veil key show: what a key file holds, without its passphrase. */
#include <stdio.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/keyfile.h"

static const veil_opt opts[] = {
    {NULL, 0, NULL, NULL, 0},
};

static const char *kind_name(veil_key_kind k)
{
    switch (k) {
    case VEIL_KEY_PUBLIC: return "public key";
    case VEIL_KEY_PRIVATE: return "private key (not protected by a passphrase)";
    case VEIL_KEY_PRIVATE_SEALED: return "private key (protected by a passphrase)";
    }
    return "unknown";
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_keyfile_info info;
    veil_status st = veil_keyfile_info_read(&info, a.args[0], &err);
    if (st == VEIL_OK)
        printf("file:        %s\n"
               "kind:        %s\n"
               "bits:        %u\n"
               "randomizer:  %s\n"
               "fingerprint: %s\n"
               "comment:     %s\n",
               a.args[0], kind_name(info.kind), info.bits,
               info.djn ? "DJN (Damgard-Jurik-Nielsen)" : "textbook (r^n)", info.fingerprint_hex,
               info.comment);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_key_show = {
    .name = "key show",
    .summary = "Show a key file's kind, size, randomizer, fingerprint and comment.",
    .synopsis = "KEYFILE",
    .description = "Never asks for a passphrase: the public part of a sealed private key is\n"
                   "stored in clear. Compare fingerprints to check that departments encrypt\n"
                   "under the key you expect.",
    .opts = opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil key show bureau.pub",
    .run = run,
};
