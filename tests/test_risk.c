/* Re-identification risk: exact values on a table with known classes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/risk.h"
#include "veil/table.h"

static char *dir;

static veil_table *load(const char *name, const char *text, veil_err *err, veil_status *st)
{
    char *p = tu_path(dir, name);
    tu_write_file(p, text, strlen(text));
    const char *cols[] = {"age", "sex"};
    veil_table *t = NULL;
    *st = veil_table_load(&t, p, ',', cols, 2, NULL, err);
    free(p);
    return t;
}

/* Classes: (30,M) x1, (30,F) x2, (40,M) x3, (50,F) x4 -> 10 records. */
static const char *SAMPLE = "id,age,sex\n1,30,M\n2,30,F\n3,30,F\n4,40,M\n5,40,M\n6,40,M\n"
                            "7,50,F\n8,50,F\n9,50,F\n10,50,F\n";

static void test_sample_only(void)
{
    veil_err err;
    veil_status st;
    veil_table *t = load("s.csv", SAMPLE, &err, &st);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    veil_risk_report r;
    CU_ASSERT_EQUAL_FATAL(veil_risk_compute(&r, t, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL(r.rows, 10);
    CU_ASSERT_EQUAL(r.classes, 4);
    CU_ASSERT_EQUAL(r.min_class, 1);
    CU_ASSERT_EQUAL(r.max_class, 4);
    CU_ASSERT_DOUBLE_EQUAL(r.prosecutor_max, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.prosecutor_avg, 0.4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.journalist_max, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.marketer, 0.4, 1e-12);
    CU_ASSERT_EQUAL(r.unique_rows, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.unique_share, 0.1, 1e-12);
    CU_ASSERT_EQUAL(r.bucket_classes[0], 1); /* size 1 */
    CU_ASSERT_EQUAL(r.bucket_classes[1], 1); /* size 2 */
    CU_ASSERT_EQUAL(r.bucket_classes[2], 2); /* sizes 3-4 */
    CU_ASSERT_EQUAL(r.bucket_rows[2], 7);
    CU_ASSERT_EQUAL(r.bucket_classes[3], 0);
    veil_table_free(t);
}

static void test_population(void)
{
    veil_err err;
    veil_status st;
    veil_table *t = load("s.csv", SAMPLE, &err, &st);
    /* Population sizes: (30,M) 2, (30,F) 4, (40,M) 3, (50,F) 8, plus others. */
    veil_table *p = load("p.csv",
                         "sex,age\nM,30\nM,30\nF,30\nF,30\nF,30\nF,30\nM,40\nM,40\nM,40\n"
                         "F,50\nF,50\nF,50\nF,50\nF,50\nF,50\nF,50\nF,50\nM,60\n",
                         &err, &st);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    veil_risk_report r;
    CU_ASSERT_EQUAL_FATAL(veil_risk_compute(&r, t, p, &err), VEIL_OK);
    CU_ASSERT(r.has_population);
    CU_ASSERT_DOUBLE_EQUAL(r.journalist_max, 1.0 / 2, 1e-12);
    /* (1/2 + 2/4 + 3/3 + 4/8) / 10 */
    CU_ASSERT_DOUBLE_EQUAL(r.journalist_avg, 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.marketer, 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.prosecutor_max, 1.0, 1e-12);
    veil_table_free(p);
    /* A population missing a sample class is refused. */
    p = load("p2.csv", "age,sex\n30,F\n30,F\n40,M\n40,M\n40,M\n50,F\n50,F\n50,F\n50,F\n", &err,
             &st);
    st = veil_risk_compute(&r, t, p, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "line 2: the population has 0 records like this one");
    veil_table_free(p);
    veil_table_free(t);
}

static void test_bad_tables(void)
{
    veil_err err;
    veil_status st;
    veil_table *t = load("r.csv", "age,sex\n30,M\n30\n", &err, &st);
    CU_ASSERT_PTR_NULL(t);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "r.csv:3: row has 1 field but the header has 2");
    t = load("m.csv", "age,gender\n30,M\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "column \"sex\" not found; columns are: age, gender");
    t = load("u.csv", "age,sex\n30,\xc3\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "u.csv:2: field 2 is not valid UTF-8");
}

static void test_cli(void)
{
    char *p = tu_path(dir, "c.csv");
    tu_write_file(p, SAMPLE, strlen(SAMPLE));
    char cmd[2048], *out = NULL, *errs = NULL;
    snprintf(cmd, sizeof cmd, "%s deid risk --in %s --qi age,sex --json", VEIL_BIN, p);
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "\"unique_records\": 1"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "\"marketer\": 0.4"));
    free(out);
    free(errs);
    out = errs = NULL;
    snprintf(cmd, sizeof cmd, "%s deid risk --in %s --qi age,sex", VEIL_BIN, p);
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "unique records          1 (10.0000 %)"));
    free(out);
    free(errs);
    out = errs = NULL;
    snprintf(cmd, sizeof cmd, "%s deid risk --in %s --qi age,,sex", VEIL_BIN, p);
    CU_ASSERT_EQUAL(tu_run(cmd, &out, &errs), VEIL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(errs && strstr(errs, "empty column name"));
    free(out);
    free(errs);
    free(p);
}

static int init(void)
{
    dir = tu_tempdir();
    return 0;
}

static int cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    static const tu_test tests[] = {
        {"prosecutor, marketer, uniques, histogram", test_sample_only},
        {"journalist risk with a population table", test_population},
        {"ragged, missing column, bad UTF-8", test_bad_tables},
        {"veil deid risk table and JSON", test_cli},
        {NULL, NULL},
    };
    return tu_main("risk", init, cleanup, tests);
}
