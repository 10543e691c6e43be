/* Generalization hierarchies: parsing, coding, and every refusal with
 * the file and line it names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/hierarchy.h"

static veil_hierarchy *parse(const char *text, veil_err *err, veil_status *st)
{
    veil_hierarchy *h = NULL;
    *st = veil_hierarchy_parse(&h, text, strlen(text), "h.csv", err);
    return h;
}

static void test_parse_and_generalize(void)
{
    veil_err err;
    veil_status st;
    veil_hierarchy *h = parse("39;35-39;30-39;*\r\n"
                              "31;30-34;30-39;*\r\n"
                              "\"4;0\";40-44;40-49;*\r\n"
                              "33;30-34;30-39;*\r\n",
                              &err, &st);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    CU_ASSERT_EQUAL(veil_hierarchy_levels(h), 4);
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "39", 0), "39");
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "39", 1), "35-39");
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "31", 2), "30-39");
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "4;0", 2), "40-49");
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "33", 3), "*");
    CU_ASSERT_PTR_NULL(veil_hierarchy_generalize(h, "34", 1));
    CU_ASSERT_PTR_NULL(veil_hierarchy_generalize(h, "39", 4));
    CU_ASSERT_EQUAL(veil_hierarchy_size(h, 0), 4);
    CU_ASSERT_EQUAL(veil_hierarchy_size(h, 1), 3);
    CU_ASSERT_EQUAL(veil_hierarchy_size(h, 2), 2);
    CU_ASSERT_EQUAL(veil_hierarchy_size(h, 3), 1);
    int64_t c = veil_hierarchy_code(h, "31", 2);
    CU_ASSERT_EQUAL(c, 1);
    uint32_t c1 = veil_hierarchy_map(h, (uint32_t)c, 1);
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_label(h, 1, c1), "30-34");
    CU_ASSERT_EQUAL(veil_hierarchy_leaves(h, 1, c1), 2);
    CU_ASSERT_EQUAL(veil_hierarchy_up(h, 1, c1), veil_hierarchy_map(h, (uint32_t)c, 2));
    CU_ASSERT_EQUAL(veil_hierarchy_leaves(h, 2, veil_hierarchy_map(h, (uint32_t)c, 2)), 3);
    CU_ASSERT_EQUAL(veil_hierarchy_leaves(h, 3, 0), 4);
    veil_hierarchy_free(h);
}

static void test_errors(void)
{
    veil_err err;
    veil_status st;
    veil_hierarchy *h = parse("a;x;*\nb;y\n", &err, &st);
    CU_ASSERT_PTR_NULL(h);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:2: 2 levels, but the first row has 3");
    h = parse("a;x;*\nb;x;*\na;y;*\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:3: duplicate value \"a\"");
    h = parse("a;x;P\nb;x;Q\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:2: inconsistent hierarchy");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "on line 1"));
    h = parse("", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "empty hierarchy");
    h = parse("a;x\n\nb;x\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:2: blank line");
    h = parse("a;x\nb\"c;x\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:2:2: malformed CSV");
    h = parse("a;x\n\"b;x\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "ends inside a quoted field");
    h = parse("a;x\n\xff;x\n", &err, &st);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "h.csv:2: field 1 is not valid UTF-8");
    CU_ASSERT_PTR_NULL(h);
    st = veil_hierarchy_load(&h, "/nonexistent/h.csv", &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_IO, "/nonexistent/h.csv");
}

static void test_adult_hierarchies(void)
{
    static const struct {
        const char *col;
        unsigned levels;
        size_t values;
    } want[] = {{"age", 5, 100},           {"education", 4, 16},  {"marital-status", 3, 7},
                {"native-country", 3, 41}, {"occupation", 3, 14}, {"race", 2, 5},
                {"salary-class", 2, 2},    {"sex", 2, 2},         {"workclass", 3, 8}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/data/adult/adult_hierarchy_%s.csv", VEIL_SOURCE_DIR,
                 want[i].col);
        veil_hierarchy *h = NULL;
        veil_err err;
        CU_ASSERT_EQUAL_FATAL(veil_hierarchy_load(&h, path, &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_hierarchy_levels(h), want[i].levels);
        CU_ASSERT_EQUAL(veil_hierarchy_size(h, 0), want[i].values);
        CU_ASSERT_EQUAL(veil_hierarchy_size(h, want[i].levels - 1), 1);
        veil_hierarchy_free(h);
    }
    veil_hierarchy *h = NULL;
    veil_err err;
    char path[512];
    snprintf(path, sizeof path, "%s/data/adult/adult_hierarchy_age.csv", VEIL_SOURCE_DIR);
    CU_ASSERT_EQUAL_FATAL(veil_hierarchy_load(&h, path, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(veil_hierarchy_generalize(h, "39", 4), "*");
    veil_hierarchy_free(h);
}

int main(void)
{
    static const tu_test tests[] = {
        {"parse, generalize and codes", test_parse_and_generalize},
        {"bad hierarchies name file and line", test_errors},
        {"Adult hierarchies load", test_adult_hierarchies},
        {NULL, NULL},
    };
    return tu_main("hierarchy", NULL, NULL, tests);
}
