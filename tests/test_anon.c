/* Optimal k-anonymity / l-diversity search: the pruned search must return
 * exactly what an exhaustive search returns, and what an independent
 * string-based brute force written here returns; every anonymized output
 * is re-checked by an independent k-anonymity / l-diversity checker that
 * reads the output rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/anon.h"
#include "veil/hierarchy.h"
#include "veil/table.h"

#define NQ 4
static char *dir;
static char *table_path, *hier_path[NQ];
static const char *qi_names[NQ] = {"age", "zip", "sex", "job"};
static const char *AGE = "20;20-24;20-29;*\n21;20-24;20-29;*\n23;20-24;20-29;*\n25;25-29;20-29;*\n"
                         "27;25-29;20-29;*\n30;30-34;30-39;*\n33;30-34;30-39;*\n36;35-39;30-39;*\n";
static const char *ZIP = "1301;130*;13**\n1302;130*;13**\n1311;131*;13**\n1312;131*;13**\n";
static const char *SEX = "M;*\nF;*\n";
static const char *JOB = "nurse;health;*\ndoctor;health;*\nclerk;office;*\nlawyer;office;*\n";
static const char *AGES[] = {"20", "21", "23", "25", "27", "30", "33", "36"};
static const char *ZIPS[] = {"1301", "1302", "1311", "1312"};
static const char *SEXES[] = {"M", "F"};
static const char *JOBS[] = {"nurse", "doctor", "clerk", "lawyer"};
static const char *DIS[] = {"flu", "cancer", "hiv", "none"};
#define NROWS 120

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int init(void)
{
    dir = tu_tempdir();
    const char *h[NQ] = {AGE, ZIP, SEX, JOB};
    for (int j = 0; j < NQ; j++) {
        char name[32];
        snprintf(name, sizeof name, "h_%s.csv", qi_names[j]);
        hier_path[j] = tu_path(dir, name);
        tu_write_file(hier_path[j], h[j], strlen(h[j]));
    }
    /* Skewed values, so that some nodes need suppression. */
    char *buf = malloc(NROWS * 64 + 64);
    size_t len = (size_t)sprintf(buf, "id;age;zip;sex;job;disease\n");
    uint64_t s = 7;
    for (int r = 0; r < NROWS; r++) {
        unsigned a = (unsigned)(lcg(&s) % 8), z = (unsigned)(lcg(&s) % 4);
        if (lcg(&s) % 3 != 0)
            a = a % 3, z = z % 2;
        len += (size_t)sprintf(buf + len, "%d;%s;%s;%s;%s;%s\r\n", r, AGES[a], ZIPS[z],
                               SEXES[lcg(&s) % 2], JOBS[lcg(&s) % 4], DIS[lcg(&s) % 4]);
    }
    table_path = tu_path(dir, "t.csv");
    tu_write_file(table_path, buf, len);
    free(buf);
    return 0;
}

static int cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    free(table_path);
    for (int j = 0; j < NQ; j++)
        free(hier_path[j]);
    return 0;
}

typedef struct {
    veil_hierarchy *h[NQ + 1];
    veil_table *t;
} fixture;

static void load(fixture *f)
{
    veil_err err;
    memset(f, 0, sizeof *f);
    for (int j = 0; j < NQ; j++)
        CU_ASSERT_EQUAL_FATAL(veil_hierarchy_load(&f->h[j], hier_path[j], &err), VEIL_OK);
    const char *cols[NQ + 1] = {"age", "zip", "sex", "job", "disease"};
    CU_ASSERT_EQUAL_FATAL(veil_table_load(&f->t, table_path, ';', cols, NQ + 1, f->h, &err),
                          VEIL_OK);
}

static void unload(fixture *f)
{
    veil_table_free(f->t);
    for (int j = 0; j < NQ; j++)
        veil_hierarchy_free(f->h[j]);
}

/* ---- Independent brute force over strings ------------------------------ */

typedef struct {
    char key[128];
    const char *sens;
    int row;
} grow;

static int cmp_grow(const void *a, const void *b)
{
    return strcmp(((const grow *)a)->key, ((const grow *)b)->key);
}

/* Number of original values generalized to `label` at level l. */
static unsigned leaves(const veil_hierarchy *h, const char *const *vals, int nv, unsigned l,
                       const char *label)
{
    unsigned n = 0;
    for (int i = 0; i < nv; i++)
        n += strcmp(veil_hierarchy_generalize(h, vals[i], l), label) == 0;
    return n;
}

typedef struct {
    int feasible;
    double dm, lm;
} brute_eval;

static brute_eval brute_node(const fixture *f, const unsigned *lv, unsigned k, unsigned l,
                             unsigned limit)
{
    static const char *const *vals[NQ] = {AGES, ZIPS, SEXES, JOBS};
    static const int nv[NQ] = {8, 4, 2, 4};
    size_t n = veil_table_rows(f->t);
    grow *g = calloc(n, sizeof *g);
    for (size_t r = 0; r < n; r++) {
        for (int j = 0; j < NQ; j++) {
            const char *v = veil_table_value(f->t, (size_t)j, veil_table_code(f->t, (size_t)j, r));
            strcat(g[r].key, veil_hierarchy_generalize(f->h[j], v, lv[j]));
            strcat(g[r].key, "|");
        }
        g[r].sens = veil_table_value(f->t, NQ, veil_table_code(f->t, NQ, r));
        g[r].row = (int)r;
    }
    qsort(g, n, sizeof *g, cmp_grow);
    brute_eval e = {0, 0, 0};
    unsigned supp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(g[j].key, g[i].key) == 0)
            j++;
        unsigned size = (unsigned)(j - i), distinct = 0;
        for (size_t a = i; a < j; a++) {
            int seen = 0;
            for (size_t b = i; b < a; b++)
                seen |= strcmp(g[a].sens, g[b].sens) == 0;
            distinct += !seen;
        }
        if (size < k || distinct < l) {
            supp += size;
            e.dm += (double)size * (double)n;
            e.lm += size * NQ;
        } else {
            e.dm += (double)size * size;
            char *key = strdup(g[i].key), *save = NULL;
            int col = 0;
            for (char *tok = strtok_r(key, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
                e.lm += size * (leaves(f->h[col], vals[col], nv[col], lv[col], tok) - 1.0) /
                        (nv[col] - 1.0);
                col++;
            }
            free(key);
        }
        i = j;
    }
    free(g);
    e.feasible = supp <= limit;
    e.lm /= (double)n * NQ;
    return e;
}

static void check_search(unsigned k, unsigned l, uint64_t supp_num, veil_anon_metric metric)
{
    fixture f;
    load(&f);
    veil_err err;
    veil_anon_config cfg = {
        .k = k, .l = l, .t = -1, .supp_num = supp_num, .supp_den = 100, .metric = metric};
    veil_anon_result fast, full;
    CU_ASSERT_EQUAL_FATAL(veil_anon_search(&fast, f.t, NQ, f.h, l > 1 ? NQ : -1, &cfg, &err),
                          VEIL_OK);
    cfg.exhaustive = 1;
    CU_ASSERT_EQUAL_FATAL(veil_anon_search(&full, f.t, NQ, f.h, l > 1 ? NQ : -1, &cfg, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(full.evaluated, full.nodes);
    CU_ASSERT_EQUAL(fast.found, full.found);
    CU_ASSERT_EQUAL(memcmp(fast.levels, full.levels, sizeof fast.levels), 0);
    CU_ASSERT_EQUAL(fast.discernibility, full.discernibility);
    CU_ASSERT_EQUAL(fast.suppressed, full.suppressed);
    /* Independent brute force: same node order (height, then index with
     * the first column least significant), first strict minimum wins. */
    unsigned limit = (unsigned)(NROWS * supp_num / 100), nl[NQ] = {4, 3, 2, 3};
    int have = 0;
    brute_eval best = {0, 0, 0};
    unsigned best_lv[NQ] = {0};
    for (unsigned h = 0; h <= 3 + 2 + 1 + 2; h++)
        for (unsigned idx = 0; idx < 4 * 3 * 2 * 3; idx++) {
            unsigned lv[NQ], rest = idx, sum = 0;
            for (int j = 0; j < NQ; j++) {
                lv[j] = rest % nl[j];
                rest /= nl[j];
                sum += lv[j];
            }
            if (sum != h)
                continue;
            brute_eval e = brute_node(&f, lv, k, l, limit);
            double val = metric == VEIL_ANON_LOSS ? e.lm : e.dm;
            double bv = metric == VEIL_ANON_LOSS ? best.lm : best.dm;
            if (e.feasible && (!have || val < bv - 1e-9)) {
                have = 1;
                best = e;
                memcpy(best_lv, lv, sizeof lv);
            }
        }
    CU_ASSERT_EQUAL(have, fast.found);
    for (int j = 0; j < NQ; j++)
        CU_ASSERT_EQUAL(best_lv[j], fast.levels[j]);
    CU_ASSERT(fabs(best.dm - (double)fast.discernibility) < 0.5);
    CU_ASSERT(fabs(best.lm - fast.loss) < 1e-9);
    CU_ASSERT(fast.evaluated <= full.evaluated);
    unload(&f);
}

static void test_k_no_suppression(void)
{
    for (unsigned k = 2; k <= 6; k += 2) {
        check_search(k, 0, 0, VEIL_ANON_DISCERNIBILITY);
        check_search(k, 0, 0, VEIL_ANON_LOSS);
    }
}

static void test_k_with_suppression(void)
{
    for (unsigned k = 2; k <= 10; k += 4) {
        check_search(k, 0, 5, VEIL_ANON_DISCERNIBILITY);
        check_search(k, 0, 10, VEIL_ANON_LOSS);
        check_search(k, 0, 20, VEIL_ANON_DISCERNIBILITY);
    }
}

static void test_l_diversity(void)
{
    check_search(3, 2, 0, VEIL_ANON_DISCERNIBILITY);
    check_search(3, 3, 10, VEIL_ANON_LOSS);
    check_search(2, 3, 5, VEIL_ANON_DISCERNIBILITY);
}

static void test_entropy_and_t_exact(void)
{
    /* Non-monotone models: pruned and exhaustive search must still agree. */
    fixture f;
    load(&f);
    veil_err err;
    veil_anon_config cfg[] = {
        {.k = 2, .l = 2, .entropy_l = 1, .t = -1, .supp_num = 10, .supp_den = 100},
        {.k = 2,
         .l = 3,
         .entropy_l = 1,
         .t = -1,
         .supp_num = 0,
         .supp_den = 100,
         .metric = VEIL_ANON_LOSS},
        {.k = 2, .t = 0.3, .supp_num = 10, .supp_den = 100},
        {.k = 3, .t = 0.2, .supp_num = 5, .supp_den = 100, .metric = VEIL_ANON_LOSS},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        veil_anon_result fast, full;
        CU_ASSERT_EQUAL_FATAL(veil_anon_search(&fast, f.t, NQ, f.h, NQ, &cfg[i], &err), VEIL_OK);
        cfg[i].exhaustive = 1;
        CU_ASSERT_EQUAL_FATAL(veil_anon_search(&full, f.t, NQ, f.h, NQ, &cfg[i], &err), VEIL_OK);
        CU_ASSERT_EQUAL(fast.found, full.found);
        CU_ASSERT_EQUAL(memcmp(fast.levels, full.levels, sizeof fast.levels), 0);
        CU_ASSERT_EQUAL(fast.discernibility, full.discernibility);
    }
    unload(&f);
}

static void test_bad_config(void)
{
    fixture f;
    load(&f);
    veil_err err;
    veil_anon_result r;
    veil_anon_config cfg = {.k = 0, .t = -1, .supp_den = 1};
    veil_status st = veil_anon_search(&r, f.t, NQ, f.h, -1, &cfg, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "k must be at least 1");
    cfg.k = 2;
    cfg.l = 2;
    st = veil_anon_search(&r, f.t, NQ, f.h, -1, &cfg, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "need a sensitive column");
    unload(&f);
}

/* ---- Independent checker of an anonymized file ------------------------- */

/* Reads a ';'-separated file (no quoting needed here), groups rows by the
 * given columns and checks every group has >= k rows and >= l distinct
 * values in column sens (-1: none). Returns the number of data rows, or
 * -1 on a violation. */
static long check_output(const char *path, const int *cols, int ncols, int sens, unsigned k,
                         unsigned l)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (text == NULL)
        return -1;
    size_t cap = 1024, n = 0;
    grow *g = malloc(cap * sizeof *g);
    char *save = NULL;
    int first = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = '\0';
        if (first) {
            first = 0;
            continue;
        }
        if (n == cap)
            g = realloc(g, (cap *= 2) * sizeof *g);
        char *f[16];
        int nf = 0;
        for (char *p = line; nf < 16;) {
            f[nf++] = p;
            char *d = strchr(p, ';');
            if (d == NULL)
                break;
            *d = '\0';
            p = d + 1;
        }
        g[n].key[0] = '\0';
        for (int c = 0; c < ncols; c++) {
            strncat(g[n].key, f[cols[c]], 40);
            strcat(g[n].key, "|");
        }
        g[n].sens = sens >= 0 ? f[sens] : "";
        n++;
    }
    qsort(g, n, sizeof *g, cmp_grow);
    long ok = (long)n;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(g[j].key, g[i].key) == 0)
            j++;
        unsigned distinct = 0;
        for (size_t a = i; a < j; a++) {
            int seen = 0;
            for (size_t b = i; b < a && !seen; b++)
                seen = strcmp(g[a].sens, g[b].sens) == 0;
            distinct += !seen;
        }
        if (j - i < k || (sens >= 0 && distinct < l))
            ok = -1;
        i = j;
    }
    free(g);
    free(text);
    return ok;
}

static void test_cli_small_table(void)
{
    char cmd[4096], *out = NULL, *errs = NULL;
    char *o = tu_path(dir, "anon.csv"), *rep = tu_path(dir, "anon.json");
    snprintf(cmd, sizeof cmd,
             "%s deid anonymize --in %s --delimiter ';' --qi age=%s,zip=%s,sex=%s,job=%s --k 4 "
             "--l 2 --sensitive disease --suppression 0.1 --out %s --report %s --force",
             VEIL_BIN, table_path, hier_path[0], hier_path[1], hier_path[2], hier_path[3], o, rep);
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), 0);
    static const int cols[] = {1, 2, 3, 4};
    long rows = check_output(o, cols, 4, 5, 4, 2);
    CU_ASSERT(rows >= NROWS * 9 / 10);
    size_t len;
    char *j = tu_read_file(rep, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"suppressed\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"metric\": \"discernibility\""));
    free(j);
    free(out);
    free(errs);
    /* A value missing from its hierarchy names file, line and column. */
    char *bad = tu_path(dir, "bad.csv");
    const char *text = "age;zip;sex;job\n20;1301;M;nurse\n99;1301;M;nurse\n";
    tu_write_file(bad, text, strlen(text));
    snprintf(cmd, sizeof cmd,
             "%s deid anonymize --in %s --delimiter ';' --qi age=%s,zip=%s --k 1 --out %s --force",
             VEIL_BIN, bad, hier_path[0], hier_path[1], o);
    out = errs = NULL;
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), VEIL_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(errs && strstr(errs, "bad.csv:3: column age: value \"99\" is not in"));
    free(out);
    free(errs);
    /* Impossible k. */
    snprintf(cmd, sizeof cmd,
             "%s deid anonymize --in %s --delimiter ';' --qi age=%s --k 1000 --out %s --force",
             VEIL_BIN, table_path, hier_path[0], o);
    out = errs = NULL;
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), VEIL_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(errs && strstr(errs, "no generalization"));
    free(out);
    free(errs);
    free(bad);
    free(o);
    free(rep);
}

static void test_cli_adult(void)
{
    char cmd[8192], q[4096] = "", *out = NULL, *errs = NULL;
    static const char *qi[] = {
        "age",       "sex",       "race", "marital-status", "education", "native-country",
        "workclass", "occupation"};
    for (int j = 0; j < 8; j++)
        snprintf(q + strlen(q), sizeof q - strlen(q), "%s%s=%s/data/adult/adult_hierarchy_%s.csv",
                 j ? "," : "", qi[j], VEIL_SOURCE_DIR, qi[j]);
    char *o = tu_path(dir, "adult5.csv");
    snprintf(cmd, sizeof cmd,
             "%s deid anonymize --in %s/data/adult/adult.csv --delimiter ';' --qi %s --k 5 "
             "--suppression 0.05 --out %s --force",
             VEIL_BIN, VEIL_SOURCE_DIR, q, o);
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL(errs && strstr(errs, "105 of 30162 records suppressed, 356 classes"));
    static const int cols[] = {0, 1, 2, 3, 4, 5, 6, 7};
    CU_ASSERT_EQUAL(check_output(o, cols, 8, -1, 5, 0), 30162 - 105);
    free(out);
    free(errs);
    free(o);
}

int main(void)
{
    static const tu_test tests[] = {
        {"k-anonymity, no suppression: pruned == exhaustive == brute force", test_k_no_suppression},
        {"k-anonymity with suppression: pruned == exhaustive == brute force",
         test_k_with_suppression},
        {"distinct l-diversity: pruned == exhaustive == brute force", test_l_diversity},
        {"entropy l-diversity and t-closeness: pruned == exhaustive", test_entropy_and_t_exact},
        {"bad configurations", test_bad_config},
        {"CLI output re-checked independently (small table, errors)", test_cli_small_table},
        {"CLI on Adult, k=5, 5 % suppression, re-checked", test_cli_adult},
        {NULL, NULL},
    };
    return tu_main("anon", init, cleanup, tests);
}
