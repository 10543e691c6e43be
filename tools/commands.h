/* The table of `veil` commands (OpenSSL apps style): each command lives
 * in its own cmd_*.c file and exports one descriptor. */
#ifndef VEIL_COMMANDS_H
#define VEIL_COMMANDS_H

#include <stdio.h>

#include "cliutil.h"
#include "csv_column.h"

/* Group label of the overall total in decrypted CSV output; refused as a
 * real group label so the two can never be confused. */
#define VEIL_TOTAL_LABEL "*total*"

extern const veil_cmd veil_cmd_keygen;
extern const veil_cmd veil_cmd_encrypt;
extern const veil_cmd veil_cmd_aggregate;
extern const veil_cmd veil_cmd_decrypt;
extern const veil_cmd veil_cmd_key_show;
extern const veil_cmd veil_cmd_key_import;
extern const veil_cmd veil_cmd_key_export;
extern const veil_cmd veil_cmd_ciphertext_import;
extern const veil_cmd veil_cmd_ciphertext_export;
extern const veil_cmd veil_cmd_gen;
extern const veil_cmd veil_cmd_plainsum;
extern const veil_cmd veil_cmd_deid_apply;
extern const veil_cmd veil_cmd_deid_keygen;
extern const veil_cmd veil_cmd_deid_anonymize;
extern const veil_cmd veil_cmd_deid_risk;
extern const veil_cmd veil_cmd_threshold_keygen;
extern const veil_cmd veil_cmd_threshold_party_key;
extern const veil_cmd veil_cmd_threshold_decrypt_share;
extern const veil_cmd veil_cmd_threshold_combine;
extern const veil_cmd veil_cmd_share_split;
extern const veil_cmd veil_cmd_share_combine;
extern const veil_cmd veil_cmd_party_init;
extern const veil_cmd veil_cmd_party_show;
extern const veil_cmd veil_cmd_sum_serve;
extern const veil_cmd veil_cmd_query_check;
extern const veil_cmd veil_cmd_query_run;
extern const veil_cmd veil_cmd_sum_submit;
extern const veil_cmd veil_cmd_audit_init;
extern const veil_cmd veil_cmd_audit_show;
extern const veil_cmd veil_cmd_audit_verify;
extern const veil_cmd veil_cmd_audit_export;
extern const veil_cmd veil_cmd_ledger_init;
extern const veil_cmd veil_cmd_ledger_show;

/* All commands in the order `veil --help` lists them; NULL-terminated. */
extern const veil_cmd *const veil_commands[];

/* Finds the command named by argv[0] (and argv[1] for two-word commands
 * such as "key show"); *words is set to the number of words used. NULL if
 * none matches. */
const veil_cmd *veil_command_find(int argc, char **argv, int *words);
/* 1 if word starts a two-word command ("key", "ciphertext"). */
int veil_command_is_group(const char *word);

/* VEIL_OK when the row's group label is usable (1 to VEIL_GROUP_LABEL_MAX
 * bytes, no NUL, not VEIL_TOTAL_LABEL); else VEIL_ERR_INPUT naming
 * file:line and the group column. */
veil_status veil_check_group_label(const veil_csv_row *row, veil_err *err) VEIL_WUR;

/* `veil --help`: usage and the list of commands. */
void veil_commands_usage(FILE *out);
/* `veil help --markdown`: the reference section of docs/cli.md. */
void veil_commands_markdown(FILE *out);

#endif
