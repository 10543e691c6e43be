/* veil deid anonymize: optimal full-domain generalization of a table's
 * quasi-identifiers for k-anonymity (and l-diversity / t-closeness), then
 * the generalized table written atomically with suppressed rows removed,
 * and an optional JSON report. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/anon.h"
#include "veil/fixed.h"
#include "veil/hierarchy.h"
#include "veil/table.h"

enum {
    O_IN = 1,
    O_DELIM,
    O_QI,
    O_K,
    O_L,
    O_ENTROPY,
    O_T,
    O_SENS,
    O_SUPP,
    O_METRIC,
    O_OUT,
    O_REPORT,
    O_FORCE
};

#define SUPP_SCALE 9

typedef struct {
    size_t nqi;
    char *names[VEIL_ANON_QI_MAX + 1];
    veil_hierarchy *h[VEIL_ANON_QI_MAX + 1];
} qi_spec;

static void qi_free(qi_spec *q)
{
    for (size_t i = 0; i <= VEIL_ANON_QI_MAX; i++) {
        free(q->names[i]);
        veil_hierarchy_free(q->h[i]);
    }
}

/* --qi age=hier_age.csv,sex=hier_sex.csv */
static veil_status parse_qi(qi_spec *q, const char *list, veil_err *err)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq == NULL || eq == p || eq == p + len - 1)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "--qi: expected COLUMN=HIERARCHY.csv, got \"%.*s\"", (int)len, p);
        if (q->nqi >= VEIL_ANON_QI_MAX)
            return veil_err_set(err, VEIL_ERR_USAGE, "--qi: at most %d quasi-identifiers",
                                VEIL_ANON_QI_MAX);
        char *path = strndup(eq + 1, len - (size_t)(eq - p) - 1);
        q->names[q->nqi] = strndup(p, (size_t)(eq - p));
        if (path == NULL || q->names[q->nqi] == NULL) {
            free(path);
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        veil_status st = veil_hierarchy_load(&q->h[q->nqi], path, err);
        free(path);
        if (st != VEIL_OK)
            return st;
        q->nqi++;
        p = e ? e + 1 : p + len;
    }
    if (q->nqi == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "--qi: no quasi-identifier given");
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

/* A share in [0, 1] given as a decimal ("0.05"), kept exact as num/10^9. */
static veil_status parse_share(uint64_t *num, uint64_t *den, const char *s, const char *opt,
                               veil_err *err)
{
    mpz_t m, one;
    mpz_inits(m, one, NULL);
    mpz_ui_pow_ui(one, 10, SUPP_SCALE);
    veil_status st = veil_fixed_parse(m, s, strlen(s), SUPP_SCALE, err);
    if (st != VEIL_OK || mpz_sgn(m) < 0 || mpz_cmp(m, one) > 0)
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "--%s must be a decimal between 0 and 1 with at most %d decimals, "
                          "not \"%.40s\"",
                          opt, SUPP_SCALE, s);
    if (st == VEIL_OK) {
        *num = mpz_get_ui(m);
        *den = mpz_get_ui(one);
    }
    mpz_clears(m, one, NULL);
    return st;
}

typedef struct {
    const qi_spec *q;
    const veil_table *t;
    const uint8_t *keep;
    const unsigned *levels;
    size_t *qidx; /* header position of each quasi-identifier */
    unsigned char delim;
    FILE *f;
    uint64_t written;
} write_ctx;

static veil_status write_row(void *ctx, const veil_table_row *row, veil_err *err)
{
    write_ctx *w = ctx;
    if (row->row > 0) {
        size_t r = (size_t)row->row - 1;
        if (r >= veil_table_rows(w->t))
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: the file grew while being read",
                                row->file, (unsigned long long)row->line);
        if (!w->keep[r])
            return VEIL_OK;
    }
    for (size_t i = 0; i < row->nfields; i++) {
        const char *s = row->fields[i];
        size_t len = row->lens[i];
        if (row->row > 0)
            for (size_t j = 0; j < w->q->nqi; j++) {
                if (w->qidx[j] != i)
                    continue;
                size_t r = (size_t)row->row - 1;
                int64_t c = veil_hierarchy_code(w->q->h[j], s, len);
                if (c < 0 || (uint32_t)c != veil_table_code(w->t, j, r))
                    return veil_err_set(err, VEIL_ERR_INPUT,
                                        "%s:%llu: the file changed while being read", row->file,
                                        (unsigned long long)row->line);
                s = veil_hierarchy_label(w->q->h[j], w->levels[j],
                                         veil_hierarchy_map(w->q->h[j], (uint32_t)c, w->levels[j]));
                len = strlen(s);
            }
        if ((i > 0 && fputc(w->delim, w->f) == EOF) ||
            veil_table_write_field(w->f, s, len, w->delim) != 0)
            return veil_err_set(err, VEIL_ERR_IO, "write failed");
    }
    if (fputc('\n', w->f) == EOF)
        return veil_err_set(err, VEIL_ERR_IO, "write failed");
    if (row->row > 0)
        w->written++;
    return VEIL_OK;
}

static json_t *result_json(const qi_spec *q, const veil_anon_result *r, const veil_anon_config *c,
                           const char *sens, double secs)
{
    json_t *lv = json_object();
    for (size_t j = 0; j < q->nqi; j++)
        json_object_set_new(lv, q->names[j], json_integer(r->levels[j]));
    json_t *o = json_pack(
        "{s:s,s:I,s:o,s:I,s:I,s:I,s:I,s:f,s:s,s:I,s:I,s:f}", "model",
        c->t >= 0  ? "k-anonymity + t-closeness"
        : c->l > 1 ? (c->entropy_l ? "k-anonymity + entropy l-diversity"
                                   : "k-anonymity + distinct l-diversity")
                   : "k-anonymity",
        "k", (json_int_t)c->k, "levels", lv, "records", (json_int_t)r->rows, "suppressed",
        (json_int_t)r->suppressed, "classes", (json_int_t)r->classes, "discernibility",
        (json_int_t)r->discernibility, "loss", r->loss, "metric",
        c->metric == VEIL_ANON_LOSS ? "loss" : "discernibility", "lattice_nodes",
        (json_int_t)r->nodes, "nodes_evaluated", (json_int_t)r->evaluated, "seconds", secs);
    if (o != NULL && c->l > 1)
        json_object_set_new(o, "l", json_integer(c->l));
    if (o != NULL && c->t >= 0)
        json_object_set_new(o, "t", json_real(c->t));
    if (o != NULL && sens != NULL)
        json_object_set_new(o, "sensitive", json_string(sens));
    if (o != NULL)
        json_object_set_new(o, "suppression_limit",
                            json_real((double)c->supp_num / (double)c->supp_den));
    return o;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    qi_spec q;
    memset(&q, 0, sizeof q);
    veil_table *t = NULL;
    uint8_t *keep = NULL;
    veil_outfile *out = NULL;
    size_t qidx[VEIL_ANON_QI_MAX];
    unsigned char delim = ',';
    veil_anon_config cfg = {.k = 0, .t = -1, .supp_num = 0, .supp_den = 1};
    veil_anon_result res;
    const char *sens = a.val[O_SENS];
    veil_status st = parse_delim(&delim, a.val[O_DELIM], &err);
    if (st == VEIL_OK)
        st = veil_cli_parse_uint(&cfg.k, a.val[O_K], 1, 1000000000u, "k", &err);
    if (st == VEIL_OK && a.val[O_L] != NULL)
        st = veil_cli_parse_uint(&cfg.l, a.val[O_L], 1, 1000000u, "l", &err);
    cfg.entropy_l = a.val[O_ENTROPY] != NULL;
    if (st == VEIL_OK && a.val[O_T] != NULL) {
        uint64_t tn, td;
        st = parse_share(&tn, &td, a.val[O_T], "t", &err);
        if (st == VEIL_OK && tn >= td)
            st = veil_err_set(&err, VEIL_ERR_USAGE, "--t must be below 1");
        cfg.t = st == VEIL_OK ? (double)tn / (double)td : -1;
    }
    if (st == VEIL_OK && a.val[O_SUPP] != NULL)
        st = parse_share(&cfg.supp_num, &cfg.supp_den, a.val[O_SUPP], "suppression", &err);
    if (st == VEIL_OK && a.val[O_METRIC] != NULL) {
        if (strcmp(a.val[O_METRIC], "discernibility") == 0)
            cfg.metric = VEIL_ANON_DISCERNIBILITY;
        else if (strcmp(a.val[O_METRIC], "loss") == 0)
            cfg.metric = VEIL_ANON_LOSS;
        else
            st = veil_err_set(&err, VEIL_ERR_USAGE,
                              "--metric must be discernibility or loss, not \"%s\"",
                              a.val[O_METRIC]);
    }
    if (st == VEIL_OK && (cfg.l > 1 || cfg.t >= 0) && sens == NULL)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--l and --t need --sensitive COLUMN");
    if (st == VEIL_OK)
        st = veil_cli_check_new(a.val[O_OUT], a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(a.val[O_IN], a.val[O_OUT], &err);
    if (st == VEIL_OK && a.val[O_REPORT] != NULL)
        st = veil_cli_check_new(a.val[O_REPORT], a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK)
        st = parse_qi(&q, a.val[O_QI], &err);
    size_t ncols = q.nqi;
    if (st == VEIL_OK && sens != NULL) {
        for (size_t j = 0; j < q.nqi; j++)
            if (strcmp(q.names[j], sens) == 0)
                st = veil_err_set(&err, VEIL_ERR_USAGE,
                                  "the sensitive column \"%s\" cannot be a quasi-identifier", sens);
        if (st == VEIL_OK && (q.names[ncols] = strdup(sens)) == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        ncols++;
    }
    if (st == VEIL_OK)
        st =
            veil_table_load(&t, a.val[O_IN], delim, (const char *const *)q.names, ncols, q.h, &err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (st == VEIL_OK)
        st = veil_anon_search(&res, t, q.nqi, q.h, sens ? (int)q.nqi : -1, &cfg, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (st == VEIL_OK && !res.found)
        st = veil_err_set(&err, VEIL_ERR_INPUT,
                          "%s: no generalization of the quasi-identifiers meets the privacy "
                          "model within the suppression limit (raise --suppression or lower --k)",
                          a.val[O_IN]);
    if (st == VEIL_OK && (keep = malloc(veil_table_rows(t) ? veil_table_rows(t) : 1)) == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK) {
        veil_anon_result again;
        st = veil_anon_evaluate(&again, keep, t, q.nqi, q.h, sens ? (int)q.nqi : -1, &cfg,
                                res.levels, &err);
    }
    if (st == VEIL_OK)
        st = veil_out_open(&out, a.val[O_OUT], 0644, &err);
    if (st == VEIL_OK) {
        for (size_t j = 0; j < q.nqi; j++)
            qidx[j] = veil_table_col_index(t, j);
        write_ctx w = {&q, t, keep, res.levels, qidx, delim, veil_out_fp(out), 0};
        uint64_t rows = 0;
        st = veil_table_read_file(a.val[O_IN], delim, 1, write_row, &w, &rows, &err);
        if (st == VEIL_OK && rows != veil_table_rows(t))
            st = veil_err_set(&err, VEIL_ERR_INPUT, "%s: the file changed while being read",
                              a.val[O_IN]);
    }
    if (st == VEIL_OK) {
        veil_outfile *o = out;
        out = NULL;
        st = veil_out_commit(o, &err);
    }
    if (st == VEIL_OK && a.val[O_REPORT] != NULL) {
        json_t *j = result_json(&q, &res, &cfg, sens, secs);
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
        if (text == NULL)
            st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
        else
            st = veil_out_write_all(a.val[O_REPORT], text, strlen(text), 0644, &err);
        free(text);
        json_decref(j);
    }
    if (st == VEIL_OK) {
        fprintf(stderr, "veil deid anonymize: levels");
        for (size_t j = 0; j < q.nqi; j++)
            fprintf(stderr, " %s=%u", q.names[j], res.levels[j]);
        fprintf(stderr,
                "; %llu of %llu records suppressed, %llu classes, discernibility %llu, loss "
                "%.6f (optimum by %s; %llu of %llu lattice nodes evaluated, %.3f s)\n",
                (unsigned long long)res.suppressed, (unsigned long long)res.rows,
                (unsigned long long)res.classes, (unsigned long long)res.discernibility, res.loss,
                cfg.metric == VEIL_ANON_LOSS ? "loss" : "discernibility",
                (unsigned long long)res.evaluated, (unsigned long long)res.nodes, secs);
    }
    veil_out_abort(out);
    free(keep);
    veil_table_free(t);
    qi_free(&q);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

static const veil_opt opts[] = {
    {"in", O_IN, "TABLE.csv", "table to anonymize (header row required)", 1, VEIL_IO_IN},
    {"delimiter", O_DELIM, "C", "field delimiter (default ','; \"tab\" for tabs)", 0},
    {"qi", O_QI, "COL=HIER.csv,...", "quasi-identifiers and their hierarchy files", 1},
    {"k", O_K, "K", "every kept class has at least K records", 1},
    {"l", O_L, "L", "every kept class has L distinct sensitive values", 0},
    {"entropy", O_ENTROPY, NULL, "use entropy l-diversity (entropy >= ln L) instead", 0},
    {"t", O_T, "T", "t-closeness: sensitive distribution within T of the table's", 0},
    {"sensitive", O_SENS, "COL", "sensitive column for --l and --t", 0},
    {"suppression", O_SUPP, "SHARE", "share of records that may be removed (default 0)", 0},
    {"metric", O_METRIC, "NAME", "discernibility (default) or loss", 0},
    {"out", O_OUT, "OUT.csv", "generalized table to write", 1, VEIL_IO_OUT},
    {"report", O_REPORT, "REPORT.json", "JSON report to write", 0, VEIL_IO_OUT},
    {"force", O_FORCE, NULL, "overwrite existing output files", 0},
    {NULL, 0, NULL, NULL, 0},
};

const veil_cmd veil_cmd_deid_anonymize = {
    .name = "deid anonymize",
    .summary = "Optimal k-anonymous (l-diverse, t-close) generalization of a table.",
    .synopsis = "--in T.csv --qi COL=HIER.csv,... --k K [--l L --sensitive COL] "
                "[--suppression SHARE] [--metric discernibility|loss] --out OUT.csv "
                "[--report R.json]",
    .description = "Searches the full-domain generalization lattice of the quasi-identifiers\n"
                   "(one hierarchy level per column) for the transformation of least\n"
                   "information loss that satisfies k-anonymity, and optionally distinct or\n"
                   "entropy l-diversity or t-closeness on a sensitive column, removing at most\n"
                   "the given share of records (records in classes that fail the model). The\n"
                   "search is exact: it returns what evaluating every node would. Writes the\n"
                   "generalized table (other columns unchanged, suppressed rows removed)\n"
                   "atomically and prints the chosen levels, suppressed records, classes and\n"
                   "loss; --report writes them as JSON.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil deid anonymize --in adult.csv --delimiter ';' \\\n"
               "  --qi age=hier_age.csv,sex=hier_sex.csv,race=hier_race.csv --k 5 \\\n"
               "  --suppression 0.05 --out adult_k5.csv --report k5.json",
    .run = run,
    .audited = 1,
};
