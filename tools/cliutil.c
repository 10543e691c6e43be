/* Option parsing, help text, error printing and output files shared by
 * every `veil` command. */
#include "cliutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veil/fixed.h"

static const veil_opt *find_opt(const veil_cmd *cmd, const char *name, size_t len)
{
    for (const veil_opt *o = cmd->opts; o != NULL && o->name != NULL; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

/* Options every audited command accepts besides its own (ids unused:
 * take_option stores them in veil_args.audit_dir / no_audit). */
static const veil_opt audit_opts[] = {
    {"audit", 0, "DIR", "audit directory (from 'veil audit init'); default $VEIL_AUDIT_DIR", 0, 0},
    {"no-audit", 0, NULL, "run without an audit entry (also: VEIL_NO_AUDIT=1)", 0, 0},
    {NULL, 0, NULL, NULL, 0, 0},
};

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

void veil_args_free(veil_args *a)
{
    free(a->args);
    a->args = NULL;
    a->nargs = 0;
}

/* Fails the parse: prints the message, frees a, returns the usage code. */
static int usage_error(veil_args *a, const veil_cmd *cmd, const char *fmt, ...) VEIL_PRINTF(3, 4);
static int usage_error(veil_args *a, const veil_cmd *cmd, const char *fmt, ...)
{
    veil_args_free(a);
    char msg[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return veil_cli_fail(cmd, VEIL_ERR_USAGE, "%s", msg);
}

/* Stores one --name[=value] occurrence found at argv[*i]. */
static int take_option(veil_args *a, const veil_cmd *cmd, int argc, char **argv, int *i)
{
    const char *s = argv[*i];
    if (s[1] != '-')
        return usage_error(a, cmd, "unknown option '%s'", s);
    const char *name = s + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const veil_opt *o = find_opt(cmd, name, len);
    if (o == NULL && cmd->audited) {
        veil_cmd common = {.opts = audit_opts};
        o = find_opt(&common, name, len);
    }
    if (o == NULL)
        return usage_error(a, cmd, "unknown option '%s'", s);
    const char *value;
    if (o->arg == NULL) {
        if (eq != NULL)
            return usage_error(a, cmd, "option --%s takes no value", o->name);
        value = "";
    } else if (eq != NULL) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        return usage_error(a, cmd, "option --%s needs a value (%s)", o->name, o->arg);
    }
    if (o == &audit_opts[0] || o == &audit_opts[1]) {
        if (a->audit_dir != NULL || a->no_audit)
            return usage_error(a, cmd, "give one of --audit DIR and --no-audit, once");
        if (o == &audit_opts[0])
            a->audit_dir = value;
        else
            a->no_audit = 1;
        return -1;
    }
    if (o->id <= 0 || o->id >= VEIL_OPT_MAX)
        return usage_error(a, cmd, "internal: bad option id for --%s", o->name);
    if (a->val[o->id] != NULL)
        return usage_error(a, cmd, "option --%s given twice", o->name);
    a->val[o->id] = value;
    return -1;
}

int veil_cli_begin(veil_args *a, const veil_cmd *cmd, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    if (wants_help(argc, argv)) {
        veil_cli_print_help(cmd, stdout);
        return fflush(stdout) == 0 ? 0 : VEIL_ERR_IO;
    }
    a->args = calloc(argc > 0 ? (size_t)argc : 1, sizeof *a->args);
    if (a->args == NULL)
        return veil_cli_fail(cmd, VEIL_ERR_NOMEM, "out of memory");
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (only_args || s[0] != '-' || s[1] == '\0') {
            a->args[a->nargs++] = argv[i];
        } else if (strcmp(s, "--") == 0) {
            only_args = 1;
        } else {
            int rc = take_option(a, cmd, argc, argv, &i);
            if (rc >= 0)
                return rc;
        }
    }
    for (const veil_opt *o = cmd->opts; o != NULL && o->name != NULL; o++)
        if (o->required && a->val[o->id] == NULL)
            return usage_error(a, cmd, "missing option --%s%s%s", o->name, o->arg ? " " : "",
                               o->arg ? o->arg : "");
    if (a->nargs < cmd->min_args || (cmd->max_args >= 0 && a->nargs > cmd->max_args)) {
        const char *what = a->nargs < cmd->min_args ? "missing" : "too many";
        return usage_error(a, cmd, "%s arguments; usage: %s", what, cmd->synopsis);
    }
    /* The line is well formed: an audited command now opens its log and
     * digests its inputs, before it does any work. */
    int rc = cmd->audited ? veil_cli_audit_begin(cmd, a) : -1;
    if (rc >= 0)
        veil_args_free(a);
    return rc;
}

static void vprint_error(const veil_cmd *cmd, const char *kind, const char *fmt, va_list ap)
    VEIL_PRINTF(3, 0);
static void vprint_error(const veil_cmd *cmd, const char *kind, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "veil%s%s: %s: ", cmd ? " " : "", cmd ? cmd->name : "", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* The last error message printed, for the command's audit entry. */
static char last_error[VEIL_ERR_MSG_MAX];

const char *veil_cli_last_error(void)
{
    return last_error[0] != '\0' ? last_error : NULL;
}

int veil_cli_fail(const veil_cmd *cmd, veil_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(cmd, "error", fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (code == VEIL_ERR_USAGE)
        fprintf(stderr, "Try 'veil %s --help'.\n", cmd ? cmd->name : "");
    return code == VEIL_OK ? VEIL_ERR_INTERNAL : (int)code;
}

int veil_cli_fail_err(const veil_cmd *cmd, const veil_err *err)
{
    return veil_cli_fail(cmd, err->code, "%s",
                         err->msg[0] ? err->msg : veil_status_name(err->code));
}

void veil_cli_warn(const veil_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(cmd, "warning", fmt, ap);
    va_end(ap);
}

/* ---- signals ---- */

static volatile sig_atomic_t caught_signal;
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void on_stop_signal(int sig)
{
    if (caught_signal != 0) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    caught_signal = sig;
}

void veil_cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
        /* A signal ignored on entry (nohup, background jobs) stays so. */
        struct sigaction old;
        if (sigaction(stop_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(stop_signals[i], &sa, NULL);
    }
}

int veil_cli_interrupted(void)
{
    return caught_signal != 0;
}

veil_status veil_cli_check_interrupt(veil_err *err)
{
    if (caught_signal == 0)
        return VEIL_OK;
    return veil_err_set(err, VEIL_ERR_IO, "interrupted by signal %d; nothing was written",
                        (int)caught_signal);
}

void veil_cli_reraise(void)
{
    int sig = caught_signal;
    if (sig == 0)
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- help ---- */

static size_t opt_width(const veil_cmd *cmd)
{
    size_t w = strlen("--help");
    for (int common = 0; common <= cmd->audited; common++)
        for (const veil_opt *o = common ? audit_opts : cmd->opts; o != NULL && o->name != NULL;
             o++) {
            size_t l = 2 + strlen(o->name) + (o->arg ? 1 + strlen(o->arg) : 0);
            if (l > w)
                w = l;
        }
    return w;
}

static void print_indented(FILE *out, const char *text, const char *indent)
{
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0)
            fprintf(out, "%s%.*s\n", indent, (int)len, p);
        else
            fputc('\n', out);
        p += len + (nl ? 1 : 0);
    }
}

void veil_cli_print_help(const veil_cmd *cmd, FILE *out)
{
    fprintf(out, "Usage: veil %s %s\n\n%s\n\n", cmd->name, cmd->synopsis, cmd->summary);
    if (cmd->description != NULL && cmd->description[0] != '\0') {
        print_indented(out, cmd->description, "");
        fputc('\n', out);
    }
    fprintf(out, "Options:\n");
    int w = (int)opt_width(cmd);
    char buf[128];
    for (const veil_opt *o = cmd->opts; o != NULL && o->name != NULL; o++) {
        snprintf(buf, sizeof buf, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-*s  %s%s\n", w, buf, o->help, o->required ? " (required)" : "");
    }
    if (cmd->audited) {
        fprintf(out, "\nCommon options (this command is recorded in the audit log):\n");
        for (const veil_opt *o = audit_opts; o->name != NULL; o++) {
            snprintf(buf, sizeof buf, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
            fprintf(out, "  %-*s  %s\n", w, buf, o->help);
        }
    }
    fprintf(out, "  %-*s  %s\n", w, "--help", "show this help and exit");
    if (cmd->example != NULL) {
        fprintf(out, "\nExample:\n");
        print_indented(out, cmd->example, "  ");
    }
}

void veil_cli_print_markdown(const veil_cmd *cmd, FILE *out)
{
    fprintf(out, "### veil %s\n\n%s\n\n```\nveil %s %s\n```\n\n", cmd->name, cmd->summary,
            cmd->name, cmd->synopsis);
    if (cmd->description != NULL && cmd->description[0] != '\0') {
        print_indented(out, cmd->description, "");
        fputc('\n', out);
    }
    fprintf(out, "| option | meaning |\n|---|---|\n");
    for (const veil_opt *o = cmd->opts; o != NULL && o->name != NULL; o++)
        fprintf(out, "| `--%s%s%s` | %s%s |\n", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
                o->help, o->required ? " (required)" : "");
    for (const veil_opt *o = audit_opts; cmd->audited && o->name != NULL; o++)
        fprintf(out, "| `--%s%s%s` | common option: %s |\n", o->name, o->arg ? " " : "",
                o->arg ? o->arg : "", o->help);
    fprintf(out, "| `--help` | show this help and exit |\n");
    if (cmd->example != NULL) {
        fprintf(out, "\nExample:\n\n```sh\n");
        print_indented(out, cmd->example, "");
        fprintf(out, "```\n");
    }
    fputc('\n', out);
}

/* ---- option values ---- */

veil_status veil_cli_parse_uint(unsigned *out, const char *text, unsigned min, unsigned max,
                                const char *opt, veil_err *err)
{
    unsigned long v = 0;
    const char *p = text;
    if (*p == '\0')
        return veil_err_set(err, VEIL_ERR_USAGE, "--%s: empty value", opt);
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return veil_err_set(err, VEIL_ERR_USAGE, "--%s: '%s' is not a whole number", opt, text);
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > max)
            break;
    }
    if (v < min || v > max)
        return veil_err_set(err, VEIL_ERR_USAGE, "--%s: %s is out of range (%u to %u)", opt, text,
                            min, max);
    *out = (unsigned)v;
    return VEIL_OK;
}

#define BOUND_EXP_MAX 4096

veil_status veil_cli_parse_bound(mpz_t out, const char *text, unsigned scale, const char *opt,
                                 veil_err *err)
{
    size_t len = strlen(text);
    const char *e = strpbrk(text, "eE");
    unsigned exp = 0;
    if (e != NULL) {
        veil_status st = veil_cli_parse_uint(&exp, e + 1, 0, BOUND_EXP_MAX, opt, err);
        if (st != VEIL_OK)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "--%s: '%s' has a bad exponent (a whole number 0..%d)", opt, text,
                                BOUND_EXP_MAX);
        len = (size_t)(e - text);
    }
    /* value = M * 10^exp, so M parsed at scale + exp is the mantissa at
     * `scale`; beyond VEIL_SCALE_MAX the rest is a plain multiplication. */
    unsigned total = scale + exp;
    unsigned at = total > VEIL_SCALE_MAX ? VEIL_SCALE_MAX : total;
    veil_status st = veil_fixed_parse(out, text, len, at, err);
    if (st != VEIL_OK) {
        veil_err_prefix(err, "--%s", opt);
        if (err->code == VEIL_ERR_INPUT)
            err->code = VEIL_ERR_USAGE;
        return err->code;
    }
    if (mpz_sgn(out) < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "--%s: '%s' must not be negative", opt, text);
    if (total > at) {
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, total - at);
        mpz_mul(out, out, p);
        mpz_clear(p);
    }
    return VEIL_OK;
}

/* ---- files ---- */

/* Moves buf to a larger block, wiping the old one (it may hold secrets). */
static char *grow_secret(char *buf, size_t used, size_t old_cap, size_t new_cap)
{
    char *b = malloc(new_cap);
    if (b != NULL && used > 0)
        memcpy(b, buf, used);
    veil_cli_free_secret(buf, old_cap);
    return b;
}

veil_status veil_cli_read_file(char **out, size_t *len, const char *path, size_t max, veil_err *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    veil_status st = VEIL_OK;
    struct stat sb;
    size_t cap = 64 * 1024, used = 0;
    /* A regular file's size is known: one exact allocation. Pipes grow. */
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > max) {
            close(fd);
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %zu bytes", path, max);
        }
        cap = (size_t)sb.st_size + 1;
    }
    char *buf = malloc(cap);
    if (buf == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    while (st == VEIL_OK) {
        if (used == cap - 1) {
            if (cap - 1 >= max) {
                char extra;
                if (read(fd, &extra, 1) != 0)
                    st = veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %zu bytes", path, max);
                break;
            }
            size_t ncap = 2 * (cap - 1) + 4096;
            if (ncap > max + 1)
                ncap = max + 1;
            if ((buf = grow_secret(buf, used, cap, ncap)) == NULL) {
                st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
                break;
            }
            cap = ncap;
        }
        ssize_t r = read(fd, buf + used, cap - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    if (st != VEIL_OK) {
        veil_cli_free_secret(buf, cap);
        return st;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return VEIL_OK;
}

void veil_cli_free_secret(char *buf, size_t len)
{
    if (buf == NULL)
        return;
    volatile char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = 0;
    free(buf);
}

/* 1 when path names an existing device, FIFO or socket: output to it is
 * written straight through (/dev/null, /dev/stdout, a pipe), never
 * replaced. */
static int is_special(const char *path)
{
    struct stat sb;
    return path != NULL && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
}

veil_status veil_cli_check_new(const char *path, int force, veil_err *err)
{
    struct stat sb;
    if (is_special(path))
        return VEIL_OK;
    if (!force && lstat(path, &sb) == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s already exists; use --force to replace it",
                            path);
    return VEIL_OK;
}

int veil_cli_same_path(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

veil_status veil_cli_check_distinct(const char *in, const char *out, veil_err *err)
{
    if (out == NULL || strcmp(out, "-") == 0)
        return VEIL_OK;
    if (veil_cli_same_path(in, out))
        return veil_err_set(err, VEIL_ERR_USAGE, "%s is both input and output", out);
    return VEIL_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

veil_file_kind veil_cli_file_kind(const char *path)
{
    if (ends_with(path, ".vcol"))
        return VEIL_FILE_COLUMN;
    if (ends_with(path, ".vct"))
        return VEIL_FILE_RESULT;
    return VEIL_FILE_OTHER;
}

struct veil_outfile {
    FILE *fp;
    char *path; /* NULL for standard output */
    char *tmp;
};

static int is_stdout(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0;
}

veil_status veil_out_open(veil_outfile **out, const char *path, mode_t mode, veil_err *err)
{
    *out = NULL;
    veil_outfile *o = calloc(1, sizeof *o);
    if (o == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (is_stdout(path)) {
        o->fp = stdout;
        *out = o;
        return VEIL_OK;
    }
    veil_status st = VEIL_OK;
    if (is_special(path)) {
        /* Written straight through: a device or pipe cannot be replaced
         * by a rename (and must not be). */
        o->path = strdup(path);
        o->fp = o->path != NULL ? fopen(path, "w") : NULL;
        if (o->fp == NULL) {
            st = o->path == NULL ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory")
                                 : veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
            free(o->path);
            free(o);
            return st;
        }
        *out = o;
        return VEIL_OK;
    }
    size_t len = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (o->path == NULL || o->tmp == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(o->tmp, path, len);
    memcpy(o->tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot create a temporary file: %s", path,
                          strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        goto done;
    }
    if (fchmod(fd, mode) != 0 || (o->fp = fdopen(fd, "w")) == NULL) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", o->tmp, strerror(errno));
        close(fd);
        goto done;
    }
done:
    if (st != VEIL_OK) {
        if (o->tmp != NULL)
            unlink(o->tmp);
        free(o->tmp);
        free(o->path);
        free(o);
        return st;
    }
    *out = o;
    return VEIL_OK;
}

FILE *veil_out_fp(veil_outfile *o)
{
    return o->fp;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

veil_status veil_out_commit(veil_outfile *o, veil_err *err)
{
    veil_status st = VEIL_OK;
    const char *name = o->path ? o->path : "standard output";
    if (fflush(o->fp) != 0 || ferror(o->fp))
        st = veil_err_set(err, VEIL_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    if (o->path == NULL) {
        free(o);
        return st;
    }
    if (o->tmp == NULL) { /* a device or pipe, written straight through */
        if (fclose(o->fp) != 0 && st == VEIL_OK)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: close failed: %s", name, strerror(errno));
        free(o->path);
        free(o);
        return st;
    }
    if (st == VEIL_OK && fsync(fileno(o->fp)) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: fsync failed: %s", name, strerror(errno));
    if (fclose(o->fp) != 0 && st == VEIL_OK)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: close failed: %s", name, strerror(errno));
    if (st == VEIL_OK && rename(o->tmp, o->path) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: rename failed: %s", name, strerror(errno));
    if (st != VEIL_OK)
        unlink(o->tmp);
    else
        sync_dir(o->path);
    free(o->tmp);
    free(o->path);
    free(o);
    return st;
}

void veil_out_abort(veil_outfile *o)
{
    if (o == NULL)
        return;
    if (o->path != NULL) {
        fclose(o->fp);
        if (o->tmp != NULL)
            unlink(o->tmp);
        free(o->tmp);
        free(o->path);
    } else {
        fflush(o->fp);
    }
    free(o);
}

veil_status veil_out_write_all(const char *path, const void *buf, size_t len, mode_t mode,
                               veil_err *err)
{
    veil_outfile *o = NULL;
    veil_status st = veil_out_open(&o, path, mode, err);
    if (st != VEIL_OK)
        return st;
    if (len > 0 && fwrite(buf, 1, len, veil_out_fp(o)) != len) {
        veil_out_abort(o);
        return veil_err_set(err, VEIL_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return veil_out_commit(o, err);
}
