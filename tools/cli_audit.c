/* The audit hook of the `veil` command: every run of an audited command
 * (veil_cmd.audited) appends one entry to the party's audit log
 * (veil/audit.h): the options given, digests of the files read (taken
 * before the command runs) and written (after), notes the command adds,
 * and the exit status with the error message. Only option values, paths
 * and digests are recorded, never a value read from a file.
 *
 * The state is process-wide because one process runs one command:
 * veil_cli_begin opens it, main() closes it with the exit code. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "veil/audit.h"

#define NOTES_MAX 64

static struct {
    veil_audit_signer *signer; /* NULL: no entry to write */
    veil_audit_param params[VEIL_OPT_MAX + NOTES_MAX];
    size_t nparams;
    char *owned[NOTES_MAX * 2]; /* note names and values we allocated */
    size_t nowned;
    veil_audit_file *inputs;
    size_t ninputs;
    const char **outputs; /* paths, digested at the end */
    size_t noutputs, outputs_cap;
    int notes_full;
} g;

static const char *const HOW_TO =
    "this command handles personal data or keys and must be recorded in an audit log. "
    "Create one with 'veil audit init --dir DIR --party ID', then give --audit DIR or set "
    "VEIL_AUDIT_DIR=DIR; or give --no-audit (or set VEIL_NO_AUDIT=1) to run it unrecorded";

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static void add_param(const char *name, const char *value)
{
    if (g.nparams < sizeof g.params / sizeof g.params[0]) {
        g.params[g.nparams].name = name;
        g.params[g.nparams].value = value;
        g.nparams++;
    } else {
        g.notes_full = 1;
    }
}

static int add_output(const char *path)
{
    if (g.noutputs == g.outputs_cap) {
        size_t cap = g.outputs_cap ? 2 * g.outputs_cap : 8;
        const char **p = realloc(g.outputs, cap * sizeof *p);
        if (p == NULL)
            return -1;
        g.outputs = p;
        g.outputs_cap = cap;
    }
    g.outputs[g.noutputs++] = path;
    return 0;
}

/* Digests one input into g.inputs. */
static veil_status add_input(const char *path, veil_err *err)
{
    veil_audit_file *f = &g.inputs[g.ninputs];
    memset(f, 0, sizeof *f);
    veil_status st = veil_audit_digest_file(f, path, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "audit: cannot digest input");
    g.ninputs++;
    return VEIL_OK;
}

/* Splits the parsed line into parameters, inputs (digested now) and
 * outputs (remembered). */
static veil_status collect(const veil_cmd *cmd, const veil_args *a, veil_err *err)
{
    size_t max_in = (size_t)a->nargs + VEIL_OPT_MAX;
    if ((g.inputs = calloc(max_in, sizeof *g.inputs)) == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (const veil_opt *o = cmd->opts; o != NULL && o->name != NULL; o++) {
        const char *v = a->val[o->id];
        if (v == NULL)
            continue;
        veil_status st = VEIL_OK;
        switch (o->io) {
        case VEIL_IO_IN: st = add_input(v, err); break;
        case VEIL_IO_OUT:
            if (add_output(v) != 0)
                st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            break;
        default: add_param(o->name, v); break; /* not a file, or a secret file: its path only */
        }
        if (st != VEIL_OK)
            return st;
    }
    for (int i = 0; i < a->nargs; i++) {
        if (cmd->args_io == VEIL_IO_IN) {
            veil_status st = add_input(a->args[i], err);
            if (st != VEIL_OK)
                return st;
        } else if (cmd->args_io == VEIL_IO_OUT) {
            if (add_output(a->args[i]) != 0)
                return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        } else {
            add_param("arg", a->args[i]);
        }
    }
    return VEIL_OK;
}

static void reset(void)
{
    veil_audit_close(g.signer);
    for (size_t i = 0; i < g.nowned; i++)
        free(g.owned[i]);
    free(g.inputs);
    free(g.outputs);
    memset(&g, 0, sizeof g);
}

int veil_cli_audit_begin(const veil_cmd *cmd, const veil_args *a)
{
    const char *dir = a->audit_dir;
    if (dir == NULL && (a->no_audit || env_set("VEIL_NO_AUDIT")))
        return -1; /* explicitly unrecorded */
    if (dir == NULL && getenv("VEIL_AUDIT_DIR") != NULL && getenv("VEIL_AUDIT_DIR")[0] != '\0')
        dir = getenv("VEIL_AUDIT_DIR");
    if (dir == NULL)
        return veil_cli_fail(cmd, VEIL_ERR_USAGE, "no audit log configured: %s", HOW_TO);
    veil_err err;
    veil_err_clear(&err);
    reset();
    veil_status st = veil_audit_open(&g.signer, dir, &err);
    if (st != VEIL_OK) {
        g.signer = NULL;
        veil_err_prefix(&err, "audit log %s cannot be written, so the command was not run", dir);
        reset();
        return veil_cli_fail_err(cmd, &err);
    }
    st = collect(cmd, a, &err);
    if (st != VEIL_OK) /* recorded as a failed run: the log is open */
        return veil_cli_audit_end(cmd, veil_cli_fail_err(cmd, &err));
    return -1;
}

void veil_audit_note(const char *name, const char *fmt, ...)
{
    if (g.signer == NULL)
        return;
    if (g.nowned + 2 > sizeof g.owned / sizeof g.owned[0]) {
        g.notes_full = 1;
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *n = strdup(name), *v = strdup(buf);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        g.notes_full = 1;
        return;
    }
    g.owned[g.nowned++] = n;
    g.owned[g.nowned++] = v;
    add_param(n, v);
}

void veil_audit_note_output(const char *path)
{
    if (g.signer == NULL)
        return;
    char *p = g.nowned < sizeof g.owned / sizeof g.owned[0] ? strdup(path) : NULL;
    if (p == NULL || add_output(p) != 0) {
        free(p);
        g.notes_full = 1;
        return;
    }
    g.owned[g.nowned++] = p;
}

/* veil's error messages quote the offending cell value in single quotes
 * ("tax.csv:2: column \"income\": '131747.23' has 2 decimal places"); the
 * log must not hold personal values, so every quoted span is replaced by
 * <value>. An apostrophe inside a word ("party's") opens no quote. */
static void redact_quoted(char *out, size_t cap, const char *msg)
{
    size_t o = 0;
    for (size_t i = 0; msg[i] != '\0' && o + 1 < cap; i++) {
        const char *close = NULL;
        if (msg[i] == '\'' && (i == 0 || strchr(" (:=\"[", msg[i - 1]) != NULL))
            for (const char *q = strchr(msg + i + 1, '\''); q != NULL && close == NULL;
                 q = strchr(q + 1, '\''))
                if (q[1] == '\0' || strchr(" ,.;:)]\"", q[1]) != NULL)
                    close = q;
        if (close == NULL) {
            out[o++] = msg[i];
            continue;
        }
        o += (size_t)snprintf(out + o, cap - o, "'<value>'");
        if (o >= cap)
            o = cap - 1;
        i = (size_t)(close - msg);
    }
    out[o] = '\0';
}

int veil_cli_audit_end(const veil_cmd *cmd, int rc)
{
    if (g.signer == NULL)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_status st = VEIL_OK;
    veil_audit_file *outs = calloc(g.noutputs ? g.noutputs : 1, sizeof *outs);
    if (outs == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    /* An output the command did not write (it failed) is recorded as
     * absent; one that cannot be read is recorded as absent too, with a
     * note, so the entry still says what happened. */
    for (size_t i = 0; st == VEIL_OK && i < g.noutputs; i++) {
        veil_err derr;
        veil_err_clear(&derr);
        if (veil_audit_digest_file(&outs[i], g.outputs[i], &derr) != VEIL_OK) {
            memset(&outs[i], 0, sizeof outs[i]);
            veil_audit_note("output_unreadable", "%s", g.outputs[i]);
        }
        outs[i].path = g.outputs[i];
    }
    if (g.notes_full)
        add_param("notes_truncated", "");
    char message[VEIL_ERR_MSG_MAX + 64] = "";
    if (rc != 0 && veil_cli_last_error() != NULL)
        redact_quoted(message, sizeof message, veil_cli_last_error());
    if (st == VEIL_OK) {
        veil_audit_event ev = {
            .operation = cmd->name,
            .params = g.params,
            .nparams = g.nparams,
            .inputs = g.inputs,
            .ninputs = g.ninputs,
            .outputs = outs,
            .noutputs = g.noutputs,
            .status = rc,
            .message = rc != 0 ? message : NULL,
            .time_ms = 0,
        };
        st = veil_audit_append(g.signer, &ev, &err);
    }
    free(outs);
    reset();
    if (st == VEIL_OK)
        return rc;
    if (rc == 0) {
        veil_err_prefix(&err, "the command's output was written but its audit entry could not be");
        return veil_cli_fail(cmd, VEIL_ERR_IO, "%s", err.msg);
    }
    veil_cli_warn(cmd, "this failure could not be recorded in the audit log: %s", err.msg);
    return rc;
}
