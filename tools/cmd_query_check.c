/* veil query check: the dry run of a query file — every check veil query
 * run makes before it connects, a summary of who does what, and with
 * --party/--input the department's records read as the run would read
 * them. Nothing is sent anywhere and no key is needed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/disclosure.h"
#include "veil/fixed.h"
#include "veil/join.h"
#include "veil/query.h"

enum { O_QUERY = 1, O_PARTY, O_INPUT };

static const veil_opt opts[] = {
    {"query", O_QUERY, "FILE.json", "the query description", 1, VEIL_IO_IN},
    {"party", O_PARTY, "ID", "a department of the query: also check its records (with --input)",
     0},
    {"input", O_INPUT, "FILE.csv", "that department's records", 0, VEIL_IO_IN},
    {NULL, 0, NULL, NULL, 0},
};

static const char *stat_list(unsigned stats, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{VEIL_QSTAT_COUNT, "count"},
                 {VEIL_QSTAT_SUM, "sum"},
                 {VEIL_QSTAT_MEAN, "mean"},
                 {VEIL_QSTAT_VARIANCE, "variance"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (stats & names[i].bit) {
            size_t used = strlen(buf);
            snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", names[i].name);
        }
    return buf;
}

static void print_value(const veil_query_value *v)
{
    printf("%s (scale %u", v->column, v->scale);
    if (v->has_bounds) {
        char *lo = veil_fixed_format(v->lo, v->scale), *hi = veil_fixed_format(v->hi, v->scale);
        printf(", clipped to [%s, %s]", lo != NULL ? lo : "?", hi != NULL ? hi : "?");
        free(lo);
        free(hi);
    }
    printf(")");
}

static void print_summary(const veil_query *q)
{
    char buf[128];
    printf("query:       %s\n", q->id);
    printf("digest:      ");
    for (size_t i = 0; i < sizeof q->digest; i++)
        printf("%02x", q->digest[i]);
    printf("\nkey:         %s\n", q->key_fingerprint);
    printf("join key:    %s\n", q->join_key);
    printf("departments: %zu (the citizens known to all of them are counted)\n", q->ndepts);
    for (size_t k = 0; k < q->ndepts; k++) {
        const veil_query_dept *d = &q->depts[k];
        printf("  %-16s", d->id);
        if (k == q->combiner)
            printf(" combiner, listens on %s:%u;", d->host, d->port);
        if (d->group_by[0] != '\0')
            printf(" groups by %s;", d->group_by);
        if (d->nvalues == 0)
            printf(" no value columns");
        for (size_t j = 0; j < d->nvalues; j++) {
            printf("%s", j == 0 ? " values " : ", ");
            print_value(&d->values[j]);
        }
        printf("\n");
    }
    printf("analyst:     %s\n", q->analyst_id);
    printf("statistics:  %s; cells under %" PRIu64 " citizens are suppressed\n",
           stat_list(q->stats, buf, sizeof buf), q->min_count);
    if (q->epsilon > 0) {
        char eps[VEIL_EPS_TEXT_MAX];
        veil_eps_format(eps, q->epsilon);
        printf("noise:       epsilon %s from every department's budget ledger\n", eps);
    } else {
        printf("noise:       none (exact sums: see docs/query.md on outliers)\n");
    }
    if (q->threshold) {
        printf("decryption:  threshold key %s by the holders", q->threshold_key);
        for (size_t i = 0; i < q->nholders; i++)
            printf("%s %s (share %u)", i == 0 ? "" : ",", q->peers[q->holder_peer[i]].id,
                   q->holder_index[i]);
        printf("\n");
    } else {
        printf("decryption:  the analyst's private key\n");
    }
    printf("timeouts:    connect %u s, io %u s, query %u s\n", q->connect_timeout, q->io_timeout,
           q->query_timeout);
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_query *q = NULL;
    veil_status st = VEIL_OK;
    if ((a.val[O_PARTY] == NULL) != (a.val[O_INPUT] == NULL))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--party and --input go together");
    if (st == VEIL_OK)
        st = veil_query_load(&q, a.val[O_QUERY], &err);
    if (st == VEIL_OK && a.val[O_PARTY] != NULL &&
        veil_query_find_dept(q, a.val[O_PARTY]) < 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%s: %s is not a department of query %s",
                          a.val[O_QUERY], a.val[O_PARTY], q->id);
    veil_query_input_info info;
    if (st == VEIL_OK && a.val[O_INPUT] != NULL)
        st = veil_query_check_input(q, a.val[O_PARTY], a.val[O_INPUT], &info, &err);
    if (st == VEIL_OK) {
        print_summary(q);
        if (a.val[O_INPUT] != NULL) {
            const veil_query_dept *d = &q->depts[veil_query_find_dept(q, a.val[O_PARTY])];
            printf("input:       %s: %" PRIu64 " rows for %s", a.val[O_INPUT], info.rows, d->id);
            if (d->group_by[0] != '\0')
                printf(", %zu distinct values of %s", info.nlabels, d->group_by);
            if (info.clipped > 0)
                printf(", %" PRIu64 " values to be clipped to the declared bounds", info.clipped);
            printf("\n");
            veil_audit_note("party", "%s", d->id);
            veil_audit_note("rows", "%" PRIu64, info.rows);
        }
        veil_audit_note("query_id", "%s", q->id);
    }
    veil_query_free(q);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_query_check = {
    .name = "query check",
    .summary = "Check a query file (and a department's records) without running the query.",
    .synopsis = "--query FILE.json [--party ID --input FILE.csv]",
    .description =
        "Parses the query description with every check veil query run makes before it\n"
        "connects (docs/query.md: fields, parties, columns, statistics, epsilon and\n"
        "bounds, threshold holders) and prints who does what: the combiner and its\n"
        "address, each department's group-by and value columns, the statistics, the\n"
        "minimum cell count, the noise and how the result is decrypted, and the digest\n"
        "every party must share. With --party and --input it also reads that\n"
        "department's records exactly as the run would (join key present and unique,\n"
        "values exact at their scale, group labels) and reports the rows, the distinct\n"
        "group labels and how many values would be clipped. Nothing is sent and no key\n"
        "is needed; the first problem found is reported with its file, line or field.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil query check --query q.json\n"
               "veil query check --query q.json --party tax --input tax.csv",
    .run = run,
    .audited = 1,
};
