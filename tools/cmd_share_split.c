/* veil share split: splits one CSV column into share files, one per party
 * (veil/share.h, veil/sharefile.h). The column streams through in chunks:
 * memory stays bounded whatever the number of rows. All or nothing: on
 * any failure no share file is left behind. */
#include <errno.h>
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cliutil.h"
#include "commands.h"
#include "csv_column.h"
#include "veil/fixed.h"
#include "veil/share.h"
#include "veil/sharefile.h"

enum {
    O_INPUT = 1,
    O_COLUMN,
    O_SCALE,
    O_PARTIES,
    O_THRESHOLD,
    O_SCHEME,
    O_OUT_DIR,
    O_PREFIX,
    O_FORCE
};

static const veil_opt opts[] = {
    {"input", O_INPUT, "FILE.csv", "CSV file holding the column", 1, VEIL_IO_IN},
    {"column", O_COLUMN, "NAME", "the column to split (its exact header name)", 1},
    {"scale", O_SCALE, "S",
     "decimal places of the values (default 0); a value with more is refused, never rounded", 0},
    {"parties", O_PARTIES, "N", "number of share holders, 2 to " VEIL_STR(VEIL_SHARE_PARTIES_MAX),
     1},
    {"threshold", O_THRESHOLD, "T",
     "shares needed to reconstruct (Shamir: 2 to N, default N/2+1; additive: N)", 0},
    {"scheme", O_SCHEME, "shamir|additive", "sharing scheme (default shamir)", 0},
    {"out-dir", O_OUT_DIR, "DIR", "directory for the share files (created, mode 0700, if missing)",
     1},
    {"prefix", O_PREFIX, "NAME",
     "share files are DIR/NAME.<index>.vsh (default: the input's base name without extension)", 0},
    {"force", O_FORCE, NULL, "replace existing share files", 0},
    {NULL, 0, NULL, NULL, 0},
};

/* Elements split per round: bounded memory, two buffers of this many
 * elements per party that receives values. */
#define CHUNK 16384

_Static_assert(sizeof(long) == 8, "mantissas are read from GMP as long");

typedef struct {
    const veil_share_plan *plan;
    unsigned n, m, scale;
    veil_sharefile_writer **w; /* [n]; NULL for seeded parties */
    veil_fe *secret;           /* CHUNK */
    veil_fe **out;             /* [n]; NULL for seeded parties */
    size_t pending;
    uint64_t rows;
    mpz_t v, lo, hi;
} split_ctx;

static veil_status flush(split_ctx *x, veil_err *err)
{
    if (x->pending == 0)
        return VEIL_OK;
    veil_share_plan_split(x->plan, x->secret, x->rows - x->pending, x->pending, x->out);
    veil_status st = VEIL_OK;
    for (unsigned i = x->m; i < x->n && st == VEIL_OK; i++)
        st = veil_sharefile_writer_append(x->w[i], x->out[i], x->pending, err);
    x->pending = 0;
    if (st == VEIL_OK)
        st = veil_cli_check_interrupt(err);
    return st;
}

static veil_status on_row(void *ctx, const veil_csv_row *row, veil_err *err)
{
    split_ctx *x = ctx;
    veil_status st = veil_fixed_parse(x->v, row->value, row->value_len, x->scale, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s:%llu: column \"%s\"", row->file,
                               (unsigned long long)row->line, row->column);
    if (mpz_cmp(x->v, x->lo) < 0 || mpz_cmp(x->v, x->hi) > 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: column \"%s\": value \"%.*s\" overflows: at scale %u its "
                            "mantissa does not fit in a signed 64-bit integer",
                            row->file, (unsigned long long)row->line, row->column,
                            row->value_len > 64 ? 64 : (int)row->value_len, row->value, x->scale);
    if (x->rows >= VEIL_SHARE_LEN_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: more than %llu rows", row->file,
                            (unsigned long long)row->line, (unsigned long long)VEIL_SHARE_LEN_MAX);
    x->secret[x->pending++] = veil_fe_from_i64((int64_t)mpz_get_si(x->v));
    x->rows++;
    return x->pending == CHUNK ? flush(x, err) : VEIL_OK;
}

/* "dir/prefix.index.vsh", malloc'd. */
static char *share_path(const char *dir, const char *prefix, unsigned index)
{
    size_t len = strlen(dir) + strlen(prefix) + 16;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s.%u.vsh", dir, prefix, index);
    return p;
}

/* The input's base name without its last extension. */
static char *default_prefix(const char *input)
{
    const char *b = strrchr(input, '/');
    b = b != NULL ? b + 1 : input;
    char *p = strdup(*b != '\0' ? b : "share");
    char *dot = p != NULL ? strrchr(p, '.') : NULL;
    if (dot != NULL && dot != p)
        *dot = '\0';
    return p;
}

static veil_status parse_scheme(veil_scheme *s, const char *text, veil_err *err)
{
    if (text == NULL || strcmp(text, "shamir") == 0)
        *s = VEIL_SCHEME_SHAMIR;
    else if (strcmp(text, "additive") == 0)
        *s = VEIL_SCHEME_ADDITIVE;
    else
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "--scheme: '%s' is not a scheme (shamir or additive)", text);
    return VEIL_OK;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    const char *dir = a.val[O_OUT_DIR], *column = a.val[O_COLUMN];
    int force = a.val[O_FORCE] != NULL, made_dir = 0;
    unsigned n = 0, t = 0, committed = 0;
    veil_scheme scheme = VEIL_SCHEME_SHAMIR;
    veil_share_plan *plan = NULL;
    char *prefix = NULL, **paths = NULL;
    veil_sharefile_info info;
    memset(&info, 0, sizeof info);
    split_ctx x = {0};
    mpz_inits(x.v, x.lo, x.hi, NULL);
    mpz_set_si(x.lo, INT64_MIN);
    mpz_set_si(x.hi, INT64_MAX);

    veil_status st =
        veil_cli_parse_uint(&n, a.val[O_PARTIES], 2, VEIL_SHARE_PARTIES_MAX, "parties", &err);
    if (st == VEIL_OK && a.val[O_SCALE] != NULL)
        st = veil_cli_parse_uint(&x.scale, a.val[O_SCALE], 0, VEIL_SCALE_MAX, "scale", &err);
    if (st == VEIL_OK)
        st = parse_scheme(&scheme, a.val[O_SCHEME], &err);
    if (st == VEIL_OK) {
        t = scheme == VEIL_SCHEME_ADDITIVE ? n : n / 2 + 1;
        if (a.val[O_THRESHOLD] != NULL)
            st = veil_cli_parse_uint(&t, a.val[O_THRESHOLD], 1, VEIL_SHARE_PARTIES_MAX, "threshold",
                                     &err);
    }
    if (st == VEIL_OK && (strlen(column) == 0 || strlen(column) > VEIL_SHAREFILE_COLUMN_MAX))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--column: the name must be 1 to %d bytes",
                          VEIL_SHAREFILE_COLUMN_MAX);
    if (st == VEIL_OK) {
        prefix = a.val[O_PREFIX] != NULL ? strdup(a.val[O_PREFIX]) : default_prefix(a.val[O_INPUT]);
        if (prefix == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        else if (*prefix == '\0' || strchr(prefix, '/') != NULL)
            st = veil_err_set(&err, VEIL_ERR_USAGE,
                              "--prefix: '%s' must be a non-empty file name without '/'", prefix);
    }
    if (st == VEIL_OK) {
        veil_audit_note("n", "%u", n);
        veil_audit_note("t", "%u", t);
    }
    if (st == VEIL_OK)
        st = veil_share_plan_new(&plan, scheme, n, t, &err);
    if (st != VEIL_OK)
        goto done;

    x.plan = plan;
    x.n = n;
    x.m = veil_share_seeded_count(scheme, n, t);
    paths = calloc(n, sizeof *paths);
    x.w = calloc(n, sizeof *x.w);
    x.out = calloc(n, sizeof *x.out);
    x.secret = malloc(CHUNK * sizeof *x.secret);
    if (paths == NULL || x.w == NULL || x.out == NULL || x.secret == NULL) {
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (unsigned i = 0; i < n && st == VEIL_OK; i++) {
        if ((paths[i] = share_path(dir, prefix, i + 1)) == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        else
            st = veil_cli_check_new(paths[i], force, &err);
    }
    if (st == VEIL_OK && mkdir(dir, 0700) == 0)
        made_dir = 1;
    else if (st == VEIL_OK && errno != EEXIST)
        st = veil_err_set(&err, VEIL_ERR_IO, "%s: cannot create the directory: %s", dir,
                          strerror(errno));
    if (st != VEIL_OK)
        goto done;

    randombytes_buf(info.split_id, sizeof info.split_id);
    info.scheme = scheme;
    info.n = n;
    info.t = t;
    info.scale = x.scale;
    snprintf(info.column, sizeof info.column, "%s", column);
    /* Parties that get values stream; seeded ones are written at the end,
     * when the length is known. */
    for (unsigned i = x.m; i < n && st == VEIL_OK; i++) {
        info.index = i + 1;
        if ((x.out[i] = malloc(CHUNK * sizeof **x.out)) == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        else
            st = veil_sharefile_writer_open(&x.w[i], paths[i], &info, &err);
    }
    veil_cli_catch_signals();
    if (st == VEIL_OK)
        st = veil_csv_read_file(a.val[O_INPUT], column, NULL, on_row, &x, NULL, &err);
    if (st == VEIL_OK)
        st = flush(&x, &err);
    info.seeded = 1;
    info.length = x.rows;
    for (unsigned i = 0; i < x.m && st == VEIL_OK; i++) {
        info.index = i + 1;
        veil_share_plan_seed(plan, i + 1, info.seed);
        st = veil_sharefile_writer_open(&x.w[i], paths[i], &info, &err);
    }
    /* Every file is complete in its temporary; rename them into place.
     * Should one fail, the ones already renamed are removed again. */
    for (unsigned i = 0; i < n && st == VEIL_OK; i++) {
        veil_sharefile_writer *w = x.w[i];
        x.w[i] = NULL;
        st = veil_sharefile_writer_commit(w, &err);
        if (st == VEIL_OK)
            committed = i + 1;
    }
    if (st == VEIL_OK)
        st = veil_cli_check_interrupt(&err);
done:
    for (unsigned i = 0; x.w != NULL && i < n; i++)
        veil_sharefile_writer_abort(x.w[i]);
    if (st != VEIL_OK) {
        for (unsigned i = 0; i < committed; i++)
            unlink(paths[i]);
        if (made_dir)
            rmdir(dir);
    } else {
        for (unsigned i = 0; i < n; i++) /* digested into the audit entry */
            veil_audit_note_output(paths[i]);
        fprintf(stderr,
                "veil share split: %llu value%s of \"%s\" split into %u shares (%s, any %u of "
                "%u reconstruct): %s/%s.1.vsh .. %s.%u.vsh\n",
                (unsigned long long)x.rows, x.rows == 1 ? "" : "s", column, n,
                scheme == VEIL_SCHEME_ADDITIVE ? "additive" : "Shamir", t, n, dir, prefix, prefix,
                n);
    }
    sodium_memzero(&info, sizeof info);
    if (x.secret != NULL) {
        sodium_memzero(x.secret, CHUNK * sizeof *x.secret);
        free(x.secret);
    }
    for (unsigned i = 0; x.out != NULL && i < n; i++) {
        if (x.out[i] != NULL)
            sodium_memzero(x.out[i], CHUNK * sizeof **x.out);
        free(x.out[i]);
    }
    for (unsigned i = 0; paths != NULL && i < n; i++)
        free(paths[i]);
    free(paths);
    free(x.out);
    free(x.w);
    free(prefix);
    mpz_clears(x.v, x.lo, x.hi, NULL);
    veil_share_plan_free(plan);
    veil_args_free(&a);
    if (st != VEIL_OK && veil_cli_interrupted())
        veil_cli_reraise();
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_share_split = {
    .name = "share split",
    .summary = "Split a CSV column into secret shares, one file per party.",
    .synopsis = "--input FILE.csv --column NAME [--scale S] --parties N [--threshold T]\n"
                "    [--scheme shamir|additive] --out-dir DIR [--prefix NAME] [--force]",
    .description =
        "Reads one column of a CSV file as exact fixed-point values at --scale (each\n"
        "mantissa must fit in a signed 64-bit integer; a value that does not is refused\n"
        "naming its file, line and column) and splits the whole column into N shares\n"
        "over the prime field GF(2^127-1): Shamir t-of-N (any T shares reconstruct it,\n"
        "T-1 reveal nothing) or additive N-of-N. Writes DIR/NAME.<index>.vsh for index\n"
        "1..N (mode 0600), to be handed to N different holders. The shares of parties\n"
        "1..T-1 (Shamir) or 1..N-1 (additive) are pseudo-random and their files hold only\n"
        "a 32-byte seed; the others hold one 16-byte value per row.\n\n"
        "All or nothing: when anything fails, no share file is left behind. The column\n"
        "streams through in bounded memory. See docs/share.md.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil share split --input income.csv --column income --scale 2 \\\n"
               "    --parties 5 --threshold 3 --out-dir shares --prefix income\n"
               "# shares/income.1.vsh .. shares/income.5.vsh; any 3 give the column back",
    .run = run,
    .audited = 1,
};
