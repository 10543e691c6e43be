/* The command table and the top-level help. */
#include "commands.h"

#include <string.h>

#include "veil/ctfile.h"

const veil_cmd *const veil_commands[] = {
    &veil_cmd_keygen,
    &veil_cmd_encrypt,
    &veil_cmd_aggregate,
    &veil_cmd_decrypt,
    &veil_cmd_key_show,
    &veil_cmd_key_import,
    &veil_cmd_key_export,
    &veil_cmd_ciphertext_import,
    &veil_cmd_ciphertext_export,
    &veil_cmd_gen,
    &veil_cmd_plainsum,
    &veil_cmd_deid_apply,
    &veil_cmd_deid_keygen,
    &veil_cmd_deid_anonymize,
    &veil_cmd_deid_risk,
    &veil_cmd_threshold_keygen,
    &veil_cmd_threshold_party_key,
    &veil_cmd_threshold_decrypt_share,
    &veil_cmd_threshold_combine,
    &veil_cmd_share_split,
    &veil_cmd_share_combine,
    &veil_cmd_party_init,
    &veil_cmd_party_show,
    &veil_cmd_sum_serve,
    &veil_cmd_sum_submit,
    &veil_cmd_query_check,
    &veil_cmd_query_run,
    &veil_cmd_audit_init,
    &veil_cmd_audit_show,
    &veil_cmd_audit_verify,
    &veil_cmd_audit_export,
    &veil_cmd_ledger_init,
    &veil_cmd_ledger_show,
    NULL,
};

/* 1 if the command's name is `first` or "first second". */
static int name_matches(const veil_cmd *c, const char *first, const char *second)
{
    size_t n = strlen(first);
    if (strncmp(c->name, first, n) != 0)
        return 0;
    if (c->name[n] == '\0')
        return 1;
    return c->name[n] == ' ' && second != NULL && strcmp(c->name + n + 1, second) == 0 ? 2 : 0;
}

const veil_cmd *veil_command_find(int argc, char **argv, int *words)
{
    *words = 0;
    if (argc < 1)
        return NULL;
    for (const veil_cmd *const *c = veil_commands; *c != NULL; c++) {
        int w = name_matches(*c, argv[0], argc > 1 ? argv[1] : NULL);
        if (w > 0) {
            *words = w;
            return *c;
        }
    }
    return NULL;
}

int veil_command_is_group(const char *word)
{
    size_t n = strlen(word);
    for (const veil_cmd *const *c = veil_commands; *c != NULL; c++)
        if (strncmp((*c)->name, word, n) == 0 && (*c)->name[n] == ' ')
            return 1;
    return 0;
}

void veil_commands_usage(FILE *out)
{
    fprintf(out, "Usage: veil <command> [options]\n\n"
                 "Privacy-preserving statistics: departments encrypt CSV columns under one\n"
                 "Paillier public key, anyone sums the ciphertexts, only the key holder\n"
                 "decrypts the totals.\n\nCommands:\n");
    for (const veil_cmd *const *c = veil_commands; *c != NULL; c++)
        fprintf(out, "  %-20s %s\n", (*c)->name, (*c)->summary);
    fprintf(out, "\n"
                 "  veil <command> --help     options of one command (or: veil help <command>)\n"
                 "  veil --version            print the version\n\n"
                 "Exit status: 0 success, 1 internal error, 2 usage error, 3 bad input,\n"
                 "4 crypto failure (wrong key or passphrase, overflow), 5 I/O error,\n"
                 "6 out of memory.\n");
}

void veil_commands_markdown(FILE *out)
{
    for (const veil_cmd *const *c = veil_commands; *c != NULL; c++)
        veil_cli_print_markdown(*c, out);
}

/* Group labels travel in clear inside column files and come back in the
 * decrypted CSV, so the rules are shared by every command that reads them. */
veil_status veil_check_group_label(const veil_csv_row *row, veil_err *err)
{
    const char *why = NULL;
    if (row->group_len == 0)
        why = "is empty";
    else if (row->group_len > VEIL_GROUP_LABEL_MAX)
        why = "is longer than 256 bytes";
    else if (memchr(row->group, '\0', row->group_len) != NULL)
        why = "contains a NUL byte";
    else if (strcmp(row->group, VEIL_TOTAL_LABEL) == 0)
        why = "is '" VEIL_TOTAL_LABEL "', which veil reserves for the overall total";
    if (why == NULL)
        return VEIL_OK;
    return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: group column \"%s\": the label %s",
                        row->file, (unsigned long long)row->line, row->group_column, why);
}
