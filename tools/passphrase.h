/* Passphrases for sealed private keys: from the first line of a file
 * (--passphrase-file) or typed on the terminal with echo off
 * (--ask-passphrase). Buffers come from sodium_malloc (guarded, locked
 * memory) and are zeroized when freed. */
#ifndef VEIL_PASSPHRASE_H
#define VEIL_PASSPHRASE_H

#include <stddef.h>

#include "cliutil.h"
#include "veil/error.h"
#include "veil/paillier.h"

#define VEIL_PASSPHRASE_MAX 1024 /* bytes */

typedef struct {
    const char *file; /* --passphrase-file, or NULL */
    int ask;          /* --ask-passphrase */
} veil_pass_opts;

/* The passphrase options' descriptions, for command option tables. */
#define VEIL_PASS_OPT_FILE_HELP "read the passphrase from the first line of F"
#define VEIL_PASS_OPT_ASK_HELP  "type the passphrase on the terminal, echo off"

/* Obtains a passphrase as the options say: *out is NUL-terminated, *len its
 * length; *out is NULL when neither option was given. With confirm the
 * terminal asks twice and both must match. Warnings (a passphrase file
 * other users can read) go to stderr under cmd's name. */
veil_status veil_pass_get(char **out, size_t *len, const veil_pass_opts *o, int confirm,
                          const veil_cmd *cmd, veil_err *err) VEIL_WUR;
/* Zeroizes and frees; NULL is accepted. */
void veil_pass_free(char *p);

/* Loads the private key at path, getting the passphrase only when the file
 * is sealed (VEIL_ERR_USAGE if it is and no option says how). */
veil_status veil_pass_load_priv(veil_paillier_priv **out, const char *path, const veil_pass_opts *o,
                                const veil_cmd *cmd, veil_err *err) VEIL_WUR;

#endif
