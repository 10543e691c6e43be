/* veil deid risk: re-identification risk of a table over chosen
 * quasi-identifiers (prosecutor, journalist, marketer, uniques, class-size
 * distribution), as a table or as JSON. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/risk.h"
#include "veil/table.h"

enum { O_IN = 1, O_DELIM, O_QI, O_POP, O_JSON };

/* Splits a comma-separated list into a malloc'd array of malloc'd names. */
static veil_status split_names(char ***out, size_t *n, const char *list, veil_err *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof *v);
    if (v == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    const char *p = list;
    for (size_t i = 0; i < cap; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return veil_err_set(err, VEIL_ERR_USAGE, "--qi: empty column name in \"%s\"", list);
        }
        v[i] = strndup(p, len);
        if (v[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        p = e ? e + 1 : p + len;
    }
    *out = v;
    *n = cap;
    return VEIL_OK;
}

static veil_status parse_delim(unsigned char *d, const char *s, veil_err *err)
{
    if (s == NULL) {
        *d = ',';
        return VEIL_OK;
    }
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0) {
        *d = '\t';
        return VEIL_OK;
    }
    if (strlen(s) != 1 || s[0] == '"' || s[0] == '\r' || s[0] == '\n')
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "--delimiter must be one character other than a quote (or \"tab\")");
    *d = (unsigned char)s[0];
    return VEIL_OK;
}

static json_t *report_json(const veil_risk_report *r, char **names, size_t n)
{
    json_t *qi = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(qi, json_string(names[i]));
    json_t *hist = json_array();
    for (int b = 0; b < VEIL_RISK_BUCKETS; b++) {
        json_t *o = json_object();
        json_object_set_new(o, "min_size", json_integer((json_int_t)veil_risk_bucket_low[b]));
        if (b + 1 < VEIL_RISK_BUCKETS)
            json_object_set_new(o, "max_size",
                                json_integer((json_int_t)veil_risk_bucket_low[b + 1] - 1));
        json_object_set_new(o, "classes", json_integer((json_int_t)r->bucket_classes[b]));
        json_object_set_new(o, "records", json_integer((json_int_t)r->bucket_rows[b]));
        json_array_append_new(hist, o);
    }
    return json_pack(
        "{s:o,s:I,s:I,s:I,s:I,s:{s:f,s:f},s:{s:f,s:f,s:b},s:f,s:I,s:f,s:o}", "quasi_identifiers",
        qi, "records", (json_int_t)r->rows, "classes", (json_int_t)r->classes, "smallest_class",
        (json_int_t)r->min_class, "largest_class", (json_int_t)r->max_class, "prosecutor", "max",
        r->prosecutor_max, "average", r->prosecutor_avg, "journalist", "max", r->journalist_max,
        "average", r->journalist_avg, "from_population", r->has_population, "marketer", r->marketer,
        "unique_records", (json_int_t)r->unique_rows, "unique_share", r->unique_share,
        "class_sizes", hist);
}

static void print_table(FILE *f, const veil_risk_report *r)
{
    fprintf(f, "records                 %llu\n", (unsigned long long)r->rows);
    fprintf(f, "equivalence classes     %llu (sizes %llu to %llu)\n",
            (unsigned long long)r->classes, (unsigned long long)r->min_class,
            (unsigned long long)r->max_class);
    fprintf(f, "prosecutor risk         max %.6f  average %.6f\n", r->prosecutor_max,
            r->prosecutor_avg);
    fprintf(f, "journalist risk         max %.6f  average %.6f%s\n", r->journalist_max,
            r->journalist_avg,
            r->has_population ? "" : "  (no --population: equal to prosecutor risk)");
    fprintf(f, "marketer risk           %.6f\n", r->marketer);
    fprintf(f, "unique records          %llu (%.4f %%)\n", (unsigned long long)r->unique_rows,
            100.0 * r->unique_share);
    fprintf(f, "\nclass size   classes   records   share of records\n");
    for (int b = 0; b < VEIL_RISK_BUCKETS; b++) {
        char label[32];
        if (b + 1 == VEIL_RISK_BUCKETS)
            snprintf(label, sizeof label, "%llu+", (unsigned long long)veil_risk_bucket_low[b]);
        else if (veil_risk_bucket_low[b + 1] - 1 == veil_risk_bucket_low[b])
            snprintf(label, sizeof label, "%llu", (unsigned long long)veil_risk_bucket_low[b]);
        else
            snprintf(label, sizeof label, "%llu-%llu", (unsigned long long)veil_risk_bucket_low[b],
                     (unsigned long long)veil_risk_bucket_low[b + 1] - 1);
        fprintf(f, "%-10s %9llu %9llu   %8.4f %%\n", label,
                (unsigned long long)r->bucket_classes[b], (unsigned long long)r->bucket_rows[b],
                r->rows ? 100.0 * (double)r->bucket_rows[b] / (double)r->rows : 0.0);
    }
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    char **names = NULL;
    size_t n = 0;
    veil_table *t = NULL, *pop = NULL;
    unsigned char delim = ',';
    veil_risk_report r;
    veil_status st = parse_delim(&delim, a.val[O_DELIM], &err);
    if (st == VEIL_OK)
        st = split_names(&names, &n, a.val[O_QI], &err);
    if (st == VEIL_OK)
        st = veil_table_load(&t, a.val[O_IN], delim, (const char *const *)names, n, NULL, &err);
    if (st == VEIL_OK && a.val[O_POP] != NULL)
        st = veil_table_load(&pop, a.val[O_POP], delim, (const char *const *)names, n, NULL, &err);
    if (st == VEIL_OK) {
        st = veil_risk_compute(&r, t, pop, &err);
        if (st != VEIL_OK)
            veil_err_prefix(&err, "%s", a.val[O_IN]);
    }
    if (st == VEIL_OK && a.val[O_JSON] != NULL) {
        json_t *j = report_json(&r, names, n);
        if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0)
            st = veil_err_set(&err, VEIL_ERR_IO, "cannot write the JSON report");
        else
            fputc('\n', stdout);
        json_decref(j);
    } else if (st == VEIL_OK) {
        print_table(stdout, &r);
    }
    if (st == VEIL_OK && fflush(stdout) != 0)
        st = veil_err_set(&err, VEIL_ERR_IO, "write to standard output failed");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    veil_table_free(t);
    veil_table_free(pop);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

static const veil_opt opts[] = {
    {"in", O_IN, "TABLE.csv", "table to assess (header row required)", 1, VEIL_IO_IN},
    {"delimiter", O_DELIM, "C", "field delimiter (default ','; \"tab\" for tabs)", 0},
    {"qi", O_QI, "COL,COL,...", "quasi-identifier columns", 1},
    {"population", O_POP, "POP.csv", "population table with the same columns (journalist risk)", 0,
     VEIL_IO_IN},
    {"json", O_JSON, NULL, "print the report as JSON", 0},
    {NULL, 0, NULL, NULL, 0},
};

const veil_cmd veil_cmd_deid_risk = {
    .name = "deid risk",
    .summary = "Re-identification risk of a table over its quasi-identifiers.",
    .synopsis = "--in TABLE.csv --qi COL,COL,... [--delimiter C] [--population POP.csv] [--json]",
    .description = "Groups the records by their quasi-identifier values and reports the\n"
                   "prosecutor risk (max and average of 1/class size), the journalist risk\n"
                   "(1/size of the matching population class; without --population it equals\n"
                   "the prosecutor risk, its upper bound), the marketer risk (expected share of\n"
                   "records re-identified), the share of unique records and the distribution\n"
                   "of class sizes. Run it before and after `veil deid anonymize`.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil deid risk --in adult.csv --delimiter ';' --qi age,sex,race,education\n"
               "veil deid risk --in anon.csv --delimiter ';' --qi age,sex,race,education --json",
    .run = run,
    .audited = 1,
};
