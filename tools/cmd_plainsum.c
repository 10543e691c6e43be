/* veil plainsum: the plaintext baseline of encrypt + aggregate + decrypt.
 *
 * Sums a column of one or more CSV files exactly (GMP), optionally by group,
 * and prints the same CSV layout `veil decrypt` prints for a result file, so
 * the two can be compared with diff. It parses values with the same rules as
 * `veil encrypt`, so a file one refuses the other refuses too. */
#define _GNU_SOURCE /* tdestroy */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "csv_column.h"
#include "result_csv.h"
#include "veil/ctfile.h"
#include "veil/fixed.h"

enum { O_COLUMN = 1, O_SCALE, O_GROUP, O_OUT, O_FORCE };

typedef struct {
    char *label;
    mpz_t sum;
    unsigned long long count;
} group_sum;

typedef struct {
    unsigned scale;
    int grouped;
    void *tree; /* tsearch tree of group_sum, ordered by label bytes */
    size_t ngroups;
    mpz_t total, v;
    unsigned long long count;
} sum_ctx;

#define PLAINSUM_GROUPS_MAX 1000000

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const group_sum *)a)->label, ((const group_sum *)b)->label);
}

static void free_group(void *p)
{
    group_sum *g = p;
    free(g->label);
    mpz_clear(g->sum);
    free(g);
}

static veil_status add_to_group(sum_ctx *x, const veil_csv_row *row, veil_err *err)
{
    veil_status st = veil_check_group_label(row, err);
    if (st != VEIL_OK)
        return st;
    group_sum key = {.label = (char *)row->group};
    group_sum **found = (group_sum **)tfind(&key, &x->tree, cmp_group);
    if (found == NULL) {
        if (x->ngroups >= PLAINSUM_GROUPS_MAX)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: more than %d groups", row->file,
                                (unsigned long long)row->line, PLAINSUM_GROUPS_MAX);
        group_sum *g = calloc(1, sizeof *g);
        if (g == NULL || (g->label = strdup(row->group)) == NULL) {
            free(g);
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        mpz_init(g->sum);
        found = (group_sum **)tsearch(g, &x->tree, cmp_group);
        if (found == NULL) {
            free_group(g);
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        x->ngroups++;
    }
    mpz_add((*found)->sum, (*found)->sum, x->v);
    (*found)->count++;
    return VEIL_OK;
}

static veil_status on_row(void *ctx, const veil_csv_row *row, veil_err *err)
{
    sum_ctx *x = ctx;
    veil_status st = veil_fixed_parse(x->v, row->value, row->value_len, x->scale, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s:%llu: column \"%s\"", row->file,
                               (unsigned long long)row->line, row->column);
    mpz_add(x->total, x->total, x->v);
    x->count++;
    return x->grouped ? add_to_group(x, row, err) : VEIL_OK;
}

/* twalk has no context argument: the walk state lives here for one call. */
static struct {
    FILE *f;
    unsigned scale;
    veil_status st;
    veil_err *err;
} walk;

static void put_group(const void *node, VISIT which, int depth)
{
    (void)depth;
    if ((which != postorder && which != leaf) || walk.st != VEIL_OK)
        return;
    const group_sum *g = *(group_sum *const *)node;
    walk.st = veil_result_csv_row(walk.f, g->label, g->count, g->sum, walk.scale, walk.err);
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_outfile *out = NULL;
    sum_ctx x = {.grouped = a.val[O_GROUP] != NULL};
    mpz_inits(x.total, x.v, NULL);
    veil_status st = VEIL_OK;
    if (a.val[O_SCALE] != NULL)
        st = veil_cli_parse_uint(&x.scale, a.val[O_SCALE], 0, VEIL_SCALE_MAX, "scale", &err);
    if (st == VEIL_OK && a.val[O_OUT] != NULL)
        st = veil_cli_check_new(a.val[O_OUT], a.val[O_FORCE] != NULL, &err);
    for (int i = 0; st == VEIL_OK && i < a.nargs; i++)
        st = veil_csv_read_file(a.args[i], a.val[O_COLUMN], a.val[O_GROUP], on_row, &x, NULL, &err);
    if (st == VEIL_OK)
        st = veil_out_open(&out, a.val[O_OUT], 0644, &err);
    if (st == VEIL_OK) {
        FILE *f = veil_out_fp(out);
        st = veil_result_csv_header(f, x.grouped, &err);
        if (st == VEIL_OK && x.grouped) {
            walk.f = f;
            walk.scale = x.scale;
            walk.st = VEIL_OK;
            walk.err = &err;
            twalk(x.tree, put_group);
            st = walk.st;
        }
        if (st == VEIL_OK)
            st = veil_result_csv_row(f, x.grouped ? VEIL_TOTAL_LABEL : NULL, x.count, x.total,
                                     x.scale, &err);
    }
    if (st == VEIL_OK) {
        veil_outfile *o = out;
        out = NULL;
        st = veil_out_commit(o, &err);
    }
    veil_out_abort(out);
    tdestroy(x.tree, free_group);
    mpz_clears(x.total, x.v, NULL);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

static const veil_opt opts[] = {
    {"column", O_COLUMN, "NAME", "column to sum", 1},
    {"scale", O_SCALE, "S", "decimal places of the values (default 0), as for encrypt", 0},
    {"group", O_GROUP, "NAME", "also sum per label of this column", 0},
    {"out", O_OUT, "FILE.csv", "CSV file to write (default: standard output)", 0, VEIL_IO_OUT},
    {"force", O_FORCE, NULL, "overwrite FILE.csv if it exists", 0},
    {NULL, 0, NULL, NULL, 0},
};

const veil_cmd veil_cmd_plainsum = {
    .name = "plainsum",
    .summary = "Sum a CSV column in the clear: the baseline a decrypted total must equal.",
    .synopsis = "--column NAME [--scale S] [--group NAME] [--out FILE.csv] FILE.csv...",
    .description = "Adds up a column of one or more CSV files exactly (no floating point) and\n"
                   "prints the same CSV that `veil decrypt` prints for the encrypted route:\n"
                   "\"count,sum\", or with --group one \"group,count,sum\" row per label in byte\n"
                   "order and a last row for the overall total labelled \"*total*\". Values are\n"
                   "parsed with the rules of `veil encrypt`. Use it on data you are allowed to\n"
                   "see, to check or benchmark the encrypted computation.",
    .opts = opts,
    .min_args = 1,
    .max_args = -1,
    .example = "veil plainsum --column refund --scale 2 --group region tax.csv > expected.csv\n"
               "diff expected.csv <(veil decrypt --key bureau.key total.vct)",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
