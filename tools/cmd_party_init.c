/* veil party init: a party's identity for the network protocols. */
#include <stdio.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/net.h"

enum { O_ID = 1, O_DIR, O_FORCE };

static const veil_opt opts[] = {
    {"id", O_ID, "ID", "party id: 1-64 of A-Z a-z 0-9 . _ - (e.g. tax, civil-affairs)", 1},
    {"dir", O_DIR, "DIR", "identity directory to create (mode 0700)", 1},
    {"force", O_FORCE, NULL, "replace an identity already in DIR", 0},
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
    char fp[VEIL_FINGERPRINT_TEXT_LEN];
    veil_status st = veil_party_init(a.val[O_DIR], a.val[O_ID], a.val[O_FORCE] != NULL, fp, &err);
    if (st == VEIL_OK)
        printf("wrote %s/party.key (secret, mode 0600), %s/party.crt, %s/party.id\n"
               "fingerprint: %s\n\n"
               "Roster entry for the other parties (set the address this party listens on,\n"
               "and send it to them by a channel that cannot be tampered with):\n"
               "{\"id\": \"%s\", \"address\": \"HOST:PORT\", \"fingerprint\": \"%s\"}\n",
               a.val[O_DIR], a.val[O_DIR], a.val[O_DIR], fp, a.val[O_ID], fp);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_party_init = {
    .name = "party init",
    .summary = "Create this party's network identity (Ed25519 key and certificate).",
    .synopsis = "--id ID --dir DIR [--force]",
    .description = "Creates DIR (mode 0700) with party.key (Ed25519 private key, PKCS#8 PEM, mode\n"
                   "0600), party.crt (self-signed X.509 certificate, CN = ID, valid 10 years) and\n"
                   "party.id. Prints the certificate's SHA-256 fingerprint and a roster entry.\n"
                   "\n"
                   "Every party of a multiparty computation runs this once. The fingerprints are\n"
                   "what the parties trust: exchange them out of band (signed letter, phone call\n"
                   "read-back, the bureau's published list), never over the network they protect.\n"
                   "Each party's roster lists every party's id, address and fingerprint; a peer\n"
                   "whose certificate does not match is refused during the TLS handshake.\n"
                   "\n"
                   "Refuses to overwrite an existing identity without --force: a new key means a\n"
                   "new fingerprint, which every peer must pin again.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil party init --id tax --dir /etc/veil/party",
    .run = run,
    .audited = 1,
};
