/* veil: the command-line tool. Sets up the process-wide state, then hands
 * over to the command named on the command line (see commands.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "veil/engine.h"
#include "veil/error.h"
#include "veil/rand.h"

#ifndef VEIL_VERSION
#define VEIL_VERSION "unknown"
#endif

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "veil: error: %s '%s'\nTry 'veil --help'.\n", what, arg);
    return VEIL_ERR_USAGE;
}

/* veil help [--markdown | <command> [<sub>]] */
static int help(int argc, char **argv)
{
    if (argc == 0) {
        veil_commands_usage(stdout);
        return 0;
    }
    if (strcmp(argv[0], "--markdown") == 0 && argc == 1) {
        veil_commands_markdown(stdout);
        return 0;
    }
    int words = 0;
    const veil_cmd *cmd = veil_command_find(argc, argv, &words);
    if (cmd == NULL || words != argc)
        return usage_error("no command", argv[0]);
    veil_cli_print_help(cmd, stdout);
    return 0;
}

static int group_usage(const char *group)
{
    fprintf(stderr, "veil %s: error: expected one of:", group);
    size_t n = strlen(group);
    for (const veil_cmd *const *c = veil_commands; *c != NULL; c++)
        if (strncmp((*c)->name, group, n) == 0 && (*c)->name[n] == ' ')
            fprintf(stderr, " '%s'", (*c)->name + n + 1);
    fprintf(stderr, "\nTry 'veil --help'.\n");
    return VEIL_ERR_USAGE;
}

int main(int argc, char **argv)
{
    veil_gmp_use_zeroizing_allocator();
    if (veil_crypto_init() != 0) {
        fprintf(stderr, "veil: error: cannot initialize libsodium\n");
        return VEIL_ERR_INTERNAL;
    }
    /* VEIL_ENGINE=scalar turns the AVX512-IFMA batch engine off
     * (veil/engine.h); unset or "auto" uses it where the CPU has it. */
    veil_engine engine;
    if (veil_engine_parse(getenv("VEIL_ENGINE"), &engine) != 0) {
        fprintf(stderr, "veil: error: VEIL_ENGINE must be auto, ifma or scalar\n");
        return VEIL_ERR_USAGE;
    }
    veil_engine_select(engine);
    if (argc < 2) {
        veil_commands_usage(stderr);
        return VEIL_ERR_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        veil_commands_usage(stdout);
        return 0;
    }
    if (strcmp(first, "--version") == 0) {
        printf("veil %s\n", VEIL_VERSION);
        return 0;
    }
    if (strcmp(first, "help") == 0)
        return help(argc - 2, argv + 2);
    int words = 0;
    const veil_cmd *cmd = veil_command_find(argc - 1, argv + 1, &words);
    if (cmd == NULL) {
        if (veil_command_is_group(first))
            return group_usage(first);
        return usage_error(first[0] == '-' ? "unknown option" : "unknown command", first);
    }
    /* The command sees argv[0] = its last word, then its own arguments. */
    veil_cli_catch_signals();
    int rc = cmd->run(cmd, argc - words, argv + words);
    /* An audited command's entry is appended once its exit code is known
     * (a no-op when it has no audit log open: see cli_audit.c). */
    rc = veil_cli_audit_end(cmd, rc);
    veil_cli_reraise();
    return rc;
}
