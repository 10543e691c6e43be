/* veil party show: the id, fingerprint and validity of an identity. */
#include <stdio.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/net.h"

enum { O_DIR = 1 };

static const veil_opt opts[] = {
    {"dir", O_DIR, "DIR", "identity directory made by 'veil party init'", 1},
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
    veil_party_info info;
    veil_status st = veil_party_info_load(&info, a.val[O_DIR], &err);
    if (st == VEIL_OK) {
        char fp[VEIL_FINGERPRINT_TEXT_LEN];
        veil_fingerprint_format(info.fingerprint, fp);
        printf("id:          %s\n"
               "fingerprint: %s\n"
               "not before:  %s\n"
               "not after:   %s\n",
               info.id, fp, info.not_before, info.not_after);
    }
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_party_show = {
    .name = "party show",
    .summary = "Show a party identity's id, fingerprint and certificate validity.",
    .synopsis = "--dir DIR",
    .description = "Loads the identity as the network commands do (the key must be mode 0600 and\n"
                   "match the certificate) and prints the fingerprint peers must pin in their\n"
                   "rosters. Compare it with what a peer read back to you before trusting a\n"
                   "roster.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil party show --dir /etc/veil/party",
    .run = run,
};
