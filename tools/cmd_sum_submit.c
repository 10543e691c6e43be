/* veil sum submit: an input party secret-shares one CSV column among the
 * compute parties of a secure-sum session (docs/sum.md). */
#include <gmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "progress.h"
#include "veil/fixed.h"
#include "veil/rand.h"
#include "veil/sum.h"

enum { O_SESSION = 1, O_PARTY, O_IDENTITY, O_INPUT, O_COLUMN, O_INDEX };

static const veil_opt opts[] = {
    {"session", O_SESSION, "FILE.json", "the session file every party holds", 1, VEIL_IO_IN},
    {"party", O_PARTY, "ID", "this department's party id in the session", 1},
    {"identity", O_IDENTITY, "DIR", "this party's identity (made by `veil party init`)", 1},
    {"input", O_INPUT, "FILE.csv", "CSV file with a header row", 1, VEIL_IO_IN},
    {"column", O_COLUMN, "NAME", "the column to sum (decimals at the session's scale)", 1},
    {"index-column", O_INDEX, "NAME",
     "column giving each row's element (0 .. length-1); rows may come in any order and missing "
     "elements count as 0 (default: row i is element i and the file has exactly `length` rows)",
     0},
    {NULL, 0, NULL, NULL, 0},
};

typedef struct {
    const veil_sum_session *s;
    int64_t *values;
    unsigned char *seen; /* with --index-column */
    uint64_t rows;
    mpz_t v;
    veil_progress prog;
} reader;

static veil_status parse_index(uint64_t *out, const veil_csv_row *row, uint64_t length,
                               veil_err *err)
{
    uint64_t x = 0;
    size_t i = 0, n = row->group_len;
    while (i < n && row->group[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < n && row->group[i] >= '0' && row->group[i] <= '9'; i++, digits++) {
        if (x > (UINT64_MAX - 9) / 10)
            break;
        x = x * 10 + (uint64_t)(row->group[i] - '0');
    }
    while (i < n && row->group[i] == ' ')
        i++;
    if (digits == 0 || i != n || x >= length)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: column %s: \"%.*s\" is not an element index in 0..%llu",
                            row->file, (unsigned long long)row->line, row->group_column,
                            (int)(n > 40 ? 40 : n), row->group, (unsigned long long)(length - 1));
    *out = x;
    return VEIL_OK;
}

static veil_status on_row(void *ctx, const veil_csv_row *row, veil_err *err)
{
    reader *r = ctx;
    uint64_t at = row->row - 1;
    if (row->group != NULL) {
        veil_status st = parse_index(&at, row, r->s->length, err);
        if (st != VEIL_OK)
            return st;
        if (r->seen[at])
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: column %s: element %llu given twice",
                                row->file, (unsigned long long)row->line, row->group_column,
                                (unsigned long long)at);
        r->seen[at] = 1;
    } else if (at >= r->s->length) {
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: more data rows than the session's length %llu", row->file,
                            (unsigned long long)row->line, (unsigned long long)r->s->length);
    }
    if (veil_fixed_parse(r->v, row->value, row->value_len, r->s->scale, err) != VEIL_OK)
        return veil_err_prefix(err, "%s:%llu: column %s", row->file, (unsigned long long)row->line,
                               row->column);
    if (mpz_sizeinbase(r->v, 2) > 63)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: column %s: %.*s does not fit in a 64-bit mantissa at scale "
                            "%u (overflow)",
                            row->file, (unsigned long long)row->line, row->column,
                            (int)(row->value_len > 60 ? 60 : row->value_len), row->value,
                            r->s->scale);
    r->values[at] = (int64_t)mpz_get_si(r->v);
    r->rows++;
    veil_progress_update(&r->prog, r->rows);
    return VEIL_OK;
}

static void on_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "veil sum submit: %s\n", line);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    veil_progress_update(ctx, done);
}

static int on_stop(void *ctx)
{
    (void)ctx;
    return veil_cli_interrupted();
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    veil_err err;
    veil_err_clear(&err);
    veil_sum_session *s = NULL;
    reader r;
    memset(&r, 0, sizeof r);
    mpz_init(r.v);
    unsigned char *status = NULL;
    veil_status st = veil_sum_session_load(&s, a.val[O_SESSION], &err);
    const veil_sum_party *me = NULL;
    if (st == VEIL_OK && (me = veil_sum_session_find(s, a.val[O_PARTY])) == NULL)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%s: no party \"%s\" in session %s",
                          a.val[O_SESSION], a.val[O_PARTY], s->id);
    if (st == VEIL_OK && !(me->roles & VEIL_SUM_ROLE_INPUT))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%s: %s is not an input party of session %s",
                          a.val[O_SESSION], me->id, s->id);
    if (st == VEIL_OK) {
        r.s = s;
        r.values = calloc((size_t)s->length, sizeof *r.values);
        status = calloc(s->nparties, 1);
        if (a.val[O_INDEX] != NULL)
            r.seen = calloc((size_t)s->length, 1);
        if (r.values == NULL || status == NULL || (a.val[O_INDEX] != NULL && r.seen == NULL))
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory for %llu elements",
                              (unsigned long long)s->length);
    }
    if (st == VEIL_OK) {
        veil_progress_start(&r.prog, "veil sum submit: reading", a.val[O_INDEX] ? 0 : s->length);
        st = veil_csv_read_file(a.val[O_INPUT], a.val[O_COLUMN], a.val[O_INDEX], on_row, &r, NULL,
                                &err);
        veil_progress_end(&r.prog);
    }
    if (st == VEIL_OK && a.val[O_INDEX] == NULL && r.rows != s->length)
        st = veil_err_set(&err, VEIL_ERR_INPUT,
                          "%s: %llu data rows, but session %s sums vectors of %llu elements (use "
                          "--index-column to place rows by index)",
                          a.val[O_INPUT], (unsigned long long)r.rows, s->id,
                          (unsigned long long)s->length);
    if (st == VEIL_OK) {
        veil_sum_hooks hooks = {on_log, on_progress, on_stop, &r.prog};
        veil_progress_start(&r.prog, "veil sum submit: sending", s->length);
        st = veil_sum_submit(s, a.val[O_IDENTITY], me->id, r.values, &hooks, status, NULL, NULL,
                             &err);
        veil_progress_end(&r.prog);
    }
    if (status != NULL && s != NULL) {
        unsigned ok = 0;
        for (size_t i = 0; i < s->nparties; i++)
            ok += status[i] == VEIL_SUM_INCLUDED;
        if (st == VEIL_OK || ok > 0) {
            fprintf(stderr,
                    "veil sum submit: %s: shares of %llu values accepted by %u of %u "
                    "compute parties (",
                    me->id, (unsigned long long)s->length, ok, s->n_compute);
            const char *sep = "";
            for (size_t i = 0; i < s->nparties; i++)
                if (status[i] == VEIL_SUM_INCLUDED) {
                    fprintf(stderr, "%s%s", sep, s->parties[i].id);
                    sep = ", ";
                }
            fprintf(stderr, ")");
            sep = "; failed: ";
            for (size_t i = 0; i < s->nparties; i++)
                if (status[i] == VEIL_SUM_FAILED) {
                    fprintf(stderr, "%s%s", sep, s->parties[i].id);
                    sep = ", ";
                }
            fprintf(stderr, "\n");
        }
    }
    if (r.values != NULL) {
        sodium_memzero(r.values, (size_t)s->length * sizeof *r.values);
        free(r.values);
    }
    free(r.seen);
    free(status);
    veil_mpz_wipe(r.v);
    veil_sum_session_free(s);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_sum_submit = {
    .name = "sum submit",
    .summary = "Secret-share a CSV column among the compute parties of a secure sum.",
    .synopsis = "--session FILE.json --party ID --identity DIR --input FILE.csv --column NAME",
    .description =
        "Reads the column (exact decimals at the session's scale, each fitting a 64-bit\n"
        "mantissa), splits every value into shares (Shamir t-of-n or additive n-of-n, as\n"
        "the session says) and sends each compute party its share over mutual TLS. No\n"
        "compute party sees a value: t-1 of them together learn nothing. Parties whose\n"
        "share can be derived from a seed get the 32-byte seed instead of the vector.\n\n"
        "Succeeds (exit 0) when at least t compute parties (all of them for the additive\n"
        "scheme) acknowledged their share, and names the ones that did not. Connection\n"
        "attempts to a compute party that is not up yet are retried for the session's\n"
        "connect timeout. Run it after the compute parties' `veil sum serve` started,\n"
        "within their inputs window.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil sum submit --session census.json --party tax --identity /etc/veil/tax \\\n"
               "    --input income.csv --column income",
    .run = run,
    .audited = 1,
};
