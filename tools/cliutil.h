/* Shared plumbing of the `veil` command: the command descriptor every
 * sub-command fills in, option parsing driven by the same table that
 * --help and docs/cli.md are printed from, error printing with the exit
 * code mapping (exit code == veil_status), numeric option values, and a
 * crash-safe output file for the CSV and JSON the commands write. */
#ifndef VEIL_CLIUTIL_H
#define VEIL_CLIUTIL_H

#include <gmp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "veil/error.h"

#define VEIL_OPT_MAX 32
/* A macro's value as a string literal, for help texts. */
#define VEIL_STR_(x) #x
#define VEIL_STR(x)  VEIL_STR_(x) /* option ids are 1 .. VEIL_OPT_MAX - 1 */

/* What a file option (or the positional arguments) is to the audit log
 * (tools/cli_audit.c): an input is digested before the command runs, an
 * output after it; a secret file (a passphrase file) is recorded by its
 * path only, because a digest of a short secret could be brute-forced. 0:
 * not a file; the option's value is recorded as a parameter. */
enum { VEIL_IO_NONE = 0, VEIL_IO_IN, VEIL_IO_OUT, VEIL_IO_SECRET };

/* One option: --name (with a value named `arg`, or a flag when arg is
 * NULL). Ids are small positive integers chosen by the command. */
typedef struct {
    const char *name;
    int id;
    const char *arg;
    const char *help;
    int required;
    int io; /* VEIL_IO_*: how the audit log records the value */
} veil_opt;

typedef struct veil_cmd veil_cmd;

/* A command, described once: the dispatcher, --help, `veil help` and the
 * markdown reference (`veil help --markdown`) all read this. */
struct veil_cmd {
    const char *name;        /* "encrypt", "key show" */
    const char *summary;     /* one line */
    const char *synopsis;    /* what follows "veil <name> " */
    const char *description; /* paragraphs separated by blank lines */
    const veil_opt *opts;    /* ends with {NULL}; --help is implicit */
    int min_args, max_args;  /* positional arguments; max -1 = unbounded */
    const char *example;     /* shell lines */
    int (*run)(const veil_cmd *cmd, int argc, char **argv);
    /* 1: the command touches personal data or keys, so every run appends
     * an entry to the audit log (docs/audit.md); it then accepts the
     * common options --audit DIR and --no-audit. */
    int audited;
    int args_io; /* VEIL_IO_* of the positional arguments */
};

/* Parsed command line: val[id] is the option's value ("" for a flag) or
 * NULL when absent; args are the positional arguments in order. */
typedef struct {
    const char *val[VEIL_OPT_MAX];
    char **args;
    int nargs;
    const char *audit_dir; /* --audit DIR (audited commands only) */
    int no_audit;          /* --no-audit */
} veil_args;

/* Parses argv[1..argc) against cmd->opts. Returns -1 when the command
 * should go on; otherwise the exit code to return at once (0 after
 * printing --help, VEIL_ERR_USAGE after printing a usage error). Options
 * are --name VALUE or --name=VALUE, anywhere on the line; "--" ends them;
 * an option given twice is an error. For an audited command it then
 * opens the audit log and digests the inputs (veil_cli_audit_begin), and
 * refuses to go on without an audit log. Free with veil_args_free. */
int veil_cli_begin(veil_args *a, const veil_cmd *cmd, int argc, char **argv);
void veil_args_free(veil_args *a);

/* Prints "veil <cmd>: error: <message>" and, for usage errors, a hint to
 * run --help. Returns the exit code for `code`. */
int veil_cli_fail(const veil_cmd *cmd, veil_status code, const char *fmt, ...) VEIL_PRINTF(3, 4);
/* Same for a library error. */
int veil_cli_fail_err(const veil_cmd *cmd, const veil_err *err);
/* The message of the last veil_cli_fail* (NULL if none), for the audit
 * entry of a failed command. */
const char *veil_cli_last_error(void);
void veil_cli_warn(const veil_cmd *cmd, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* SIGINT, SIGTERM and SIGHUP only set a flag, so long commands can stop
 * between rows and remove their temporary files; veil_cli_reraise then
 * delivers the signal again with its default action, so the caller sees
 * the process killed by it as usual. A second signal kills at once. */
void veil_cli_catch_signals(void);
int veil_cli_interrupted(void);
/* VEIL_ERR_IO "interrupted" when a signal was caught, else VEIL_OK. */
veil_status veil_cli_check_interrupt(veil_err *err) VEIL_WUR;
void veil_cli_reraise(void);

/* ---- the audit log of audited commands (cli_audit.c) ---- */

/* Called by veil_cli_begin once the line parsed: resolves the audit
 * directory (--audit, else $VEIL_AUDIT_DIR; --no-audit or
 * VEIL_NO_AUDIT=1 turn it off), opens it and digests the input files.
 * Returns -1 to go on, else the exit code (after printing why). */
int veil_cli_audit_begin(const veil_cmd *cmd, const veil_args *a);
/* Called by main() with the command's exit code: digests the outputs and
 * appends the entry. Returns the exit code to use (VEIL_ERR_IO when a
 * successful command's entry could not be appended). */
int veil_cli_audit_end(const veil_cmd *cmd, int rc);
/* Adds a parameter computed by the command ("epsilon_spent", ...) to its
 * entry; never a personal value. No-op when no audit log is open. */
void veil_audit_note(const char *name, const char *fmt, ...) VEIL_PRINTF(2, 3);
/* Adds an output file the command learnt only while running (a share
 * file in --out-dir); it is digested at the end. */
void veil_audit_note_output(const char *path);

/* Help output (stdout) generated from the descriptor. */
void veil_cli_print_help(const veil_cmd *cmd, FILE *out);
void veil_cli_print_markdown(const veil_cmd *cmd, FILE *out);

/* Parses a whole unsigned decimal number in [min, max] given to --opt. */
veil_status veil_cli_parse_uint(unsigned *out, const char *text, unsigned min, unsigned max,
                                const char *opt, veil_err *err) VEIL_WUR;
/* Parses a non-negative decimal bound ("1000000.50", or "1e15" with a
 * non-negative integer exponent) into a mantissa at `scale`: the bound
 * must be exact at that scale. */
veil_status veil_cli_parse_bound(mpz_t out, const char *text, unsigned scale, const char *opt,
                                 veil_err *err) VEIL_WUR;

/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer; free secrets with veil_cli_free_secret(buf, len). */
veil_status veil_cli_read_file(char **out, size_t *len, const char *path, size_t max,
                               veil_err *err) VEIL_WUR;
void veil_cli_free_secret(char *buf, size_t len);

/* Refuses (VEIL_ERR_USAGE) when path exists and force is 0. */
veil_status veil_cli_check_new(const char *path, int force, veil_err *err) VEIL_WUR;
/* 1 when a and b are the same string or name the same existing file. */
int veil_cli_same_path(const char *a, const char *b);
/* Refuses (VEIL_ERR_USAGE) when out names the same file as in. */
veil_status veil_cli_check_distinct(const char *in, const char *out, veil_err *err) VEIL_WUR;

/* What an input file holds, from its name: a column file (.vcol) or a
 * result file (.vct). */
typedef enum { VEIL_FILE_OTHER = 0, VEIL_FILE_COLUMN, VEIL_FILE_RESULT } veil_file_kind;
veil_file_kind veil_cli_file_kind(const char *path);

/* An output file written as "<path>.tmp.XXXXXX" and renamed into place on
 * commit (after fflush + fsync), or standard output when path is NULL or
 * "-". Nothing is left at path after abort or a failed commit. */
typedef struct veil_outfile veil_outfile;

veil_status veil_out_open(veil_outfile **out, const char *path, mode_t mode,
                          veil_err *err) VEIL_WUR;
FILE *veil_out_fp(veil_outfile *o);
/* Frees o in every case. */
veil_status veil_out_commit(veil_outfile *o, veil_err *err) VEIL_WUR;
void veil_out_abort(veil_outfile *o);
/* Writes buf to path (or stdout) through veil_out_*. */
veil_status veil_out_write_all(const char *path, const void *buf, size_t len, mode_t mode,
                               veil_err *err) VEIL_WUR;

#endif
