/* De-identification policies: every bad policy is refused with the policy
 * line and a message naming the problem; good ones parse. */
#include <CUnit/Basic.h>
#include <string.h>

#include "testutil.h"
#include "veil/deid_policy.h"

static veil_status parse(const char *text, veil_err *err)
{
    veil_deid_policy *p = NULL;
    veil_err_clear(err);
    veil_status st = veil_deid_policy_parse(&p, text, strlen(text), "policy.json", err);
    veil_deid_policy_free(p);
    return st;
}

#define HEAD "{\n  \"version\": 1,\n  \"columns\": {\n"

static void test_good_policy(void)
{
    veil_err err;
    veil_deid_policy *p = NULL;
    const char *t = HEAD
        "    \"id\": {\"level\": \"L4\", \"action\": \"pseudonymize\", \"format\": \"base32\", "
        "\"bytes\": 10},\n"
        "    \"rid\": {\"level\": \"L4\", \"action\": \"fpe\", \"preset\": \"resident-id\"},\n"
        "    \"name\": {\"level\": \"L4\", \"action\": \"mask\", \"preset\": \"name\", "
        "\"on_invalid\": \"redact\"},\n"
        "    \"note\": {\"level\": \"L3\", \"action\": \"mask\", \"keep_first\": 2, \"mask_char\": "
        "\"#\"},\n"
        "    \"age\": {\"level\": \"L2\", \"interval\": 5, \"origin\": 0, \"top\": \"90\"},\n"
        "    \"sex\": {\"level\": \"L1\"},\n"
        "    \"x\": {\"level\": \"L4\"}\n"
        "  },\n"
        "  \"unlisted\": \"drop\",\n"
        "  \"suppress\": {\"records_where\": [{\"column\": \"age\", \"in\": [\">=90\"]}]}\n}\n";
    CU_ASSERT_EQUAL(veil_deid_policy_parse(&p, t, strlen(t), "p", &err), VEIL_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(veil_deid_policy_needs_key(p), 1);
    veil_deid_policy_free(p);
}

static void test_json_errors(void)
{
    veil_err err;
    TU_ASSERT_ERR(parse("{\n \"version\": 1,\n \"version\": 1}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:3: duplicate object key");
    TU_ASSERT_ERR(parse("{\n \"version\": 1,\n", &err), err, VEIL_ERR_INPUT, "policy.json:3:");
    TU_ASSERT_ERR(parse("[1]", &err), err, VEIL_ERR_INPUT,
                  "policy.json:1: the policy must be a JSON object");
    TU_ASSERT_ERR(parse("{\"version\": 2, \"columns\": {}}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:1: \"version\" must be 1");
    TU_ASSERT_ERR(parse("{\"version\": 1,\n\n \"colums\": {}}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:3: unknown key \"colums\"");
    TU_ASSERT_ERR(parse("{\"version\": 1,\n \"columns\": {}}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:2: \"columns\" must be a non-empty object");
}

static void test_column_errors(void)
{
    veil_err err;
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L1\"},\n"
                             "    \"phone\": {\"level\": \"L3\", \"action\": \"mask\",\n"
                             "              \"preset\": \"mobil\"}\n  }\n}",
                        &err),
                  err, VEIL_ERR_INPUT, "policy.json:6: column \"phone\": unknown preset \"mobil\"");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L5\"}\n  }\n}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:4: column \"a\": \"level\" must be one of L1, L2, L3, L4");
    TU_ASSERT_ERR(
        parse(HEAD "    \"a\": {\"level\": \"L4\", \"action\": \"keep\"}\n  }\n}", &err), err,
        VEIL_ERR_INPUT,
        "policy.json:4: column \"a\": \"keep\" on an L4 column needs \"allow_keep\": true");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L2\"}\n  }\n}", &err), err, VEIL_ERR_INPUT,
                  "policy.json:4: column \"a\": \"generalize\" needs \"interval\", \"top\", "
                  "\"bottom\" or \"date\"");
    TU_ASSERT_ERR(
        parse(HEAD "    \"a\": {\"level\": \"L3\", \"action\": \"mask\", \"preset\": \"name\",\n"
                   "     \"interval\": 10}\n  }\n}",
              &err),
        err, VEIL_ERR_INPUT,
        "policy.json:5: column \"a\": key \"interval\" does not apply to action \"mask\"");
    TU_ASSERT_ERR(
        parse(HEAD "    \"a\": {\"level\": \"L4\", \"action\": \"mask\", \"\": \"L1\"}\n  }\n}",
              &err),
        err, VEIL_ERR_INPUT,
        "policy.json:4: column \"a\": key \"\" does not apply to action \"mask\"");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L3\", \"action\": \"shred\"}\n  }\n}", &err),
                  err, VEIL_ERR_INPUT, "policy.json:4: column \"a\": unknown action \"shred\"");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L3\", \"action\": \"mask\"}\n  }\n}", &err),
                  err, VEIL_ERR_INPUT, "needs either a \"preset\" or \"keep_first\"/\"keep_last\"");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L2\", \"date\": \"week\"}\n  }\n}", &err),
                  err, VEIL_ERR_INPUT,
                  "policy.json:4: column \"a\": \"date\" must be \"day\", \"month\" or \"year\"");
    TU_ASSERT_ERR(
        parse(HEAD "    \"a\": {\"level\": \"L2\", \"date\": \"year\", \"interval\": 3}\n  }\n}",
              &err),
        err, VEIL_ERR_INPUT, "cannot be combined with numeric generalization");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L2\", \"interval\": -5}\n  }\n}", &err), err,
                  VEIL_ERR_INPUT, "policy.json:4: column \"a\": \"interval\" must be positive");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L2\", \"interval\": 1.5}\n  }\n}", &err),
                  err, VEIL_ERR_INPUT, "\"interval\" must be an integer or a decimal string");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L4\", \"action\": \"pseudonymize\", "
                             "\"method\": \"md5\"}\n  }\n}",
                        &err),
                  err, VEIL_ERR_INPUT, "policy.json:4: column \"a\": unknown method \"md5\"");
    TU_ASSERT_ERR(
        parse(HEAD
              "    \"a\": {\"level\": \"L4\", \"action\": \"fpe\", \"alphabet\": \"0012\"}\n  }\n}",
              &err),
        err, VEIL_ERR_INPUT, "\"alphabet\" must have 2..256 distinct characters");
    TU_ASSERT_ERR(parse(HEAD "    \"a\": {\"level\": \"L3\", \"action\": \"mask\", \"preset\": "
                             "\"name\", \"luhn\": true}\n  }\n}",
                        &err),
                  err, VEIL_ERR_INPUT, "\"luhn\" is a true/false option of preset \"bank-card\"");
    TU_ASSERT_ERR(
        parse(HEAD "    \"a\": {\"level\": \"L1\", \"on_invalid\": \"ignore\"}\n  }\n}", &err), err,
        VEIL_ERR_INPUT, "\"on_invalid\" must be \"fail\", \"redact\" or \"suppress\"");
}

static void test_levels_unlisted_suppress(void)
{
    veil_err err;
    TU_ASSERT_ERR(parse("{\"version\": 1,\n \"levels\": {\"L9\": \"keep\"},\n \"columns\": {\"a\": "
                        "{\"level\": \"L1\"}}}",
                        &err),
                  err, VEIL_ERR_INPUT, "policy.json:2: \"levels\": unknown level \"L9\"");
    TU_ASSERT_ERR(parse("{\"version\": 1,\n \"levels\": {\"L4\": \"keep\"},\n \"columns\": {\"a\": "
                        "{\"level\": \"L4\"}}}",
                        &err),
                  err, VEIL_ERR_INPUT,
                  "policy.json:3: column \"a\": \"keep\" on an L4 column needs");
    TU_ASSERT_ERR(
        parse("{\"version\": 1, \"columns\": {\"a\": {\"level\": \"L1\"}},\n \"unlisted\": \"ok\"}",
              &err),
        err, VEIL_ERR_INPUT,
        "policy.json:2: \"unlisted\" must be \"refuse\", \"drop\" or \"keep\"");
    TU_ASSERT_ERR(parse("{\"version\": 1, \"columns\": {\"a\": {\"level\": \"L1\"}},\n "
                        "\"suppress\": {\n \"rows_where\": []}}",
                        &err),
                  err, VEIL_ERR_INPUT, "policy.json:3: \"suppress\": unknown key \"rows_where\"");
    TU_ASSERT_ERR(
        parse("{\"version\": 1, \"columns\": {\"a\": {\"level\": \"L1\"}},\n \"suppress\": {\n "
              "\"records_where\": [{\"column\": \"a\"}]}}",
              &err),
        err, VEIL_ERR_INPUT,
        "policy.json:3: \"records_where\" rule 1 must be {\"column\": NAME, \"in\": [VALUES]}");
}

int main(void)
{
    static const tu_test tests[] = {
        {"a policy using every action parses", test_good_policy},
        {"JSON errors, duplicate and unknown keys name the line", test_json_errors},
        {"bad column rules name the policy line and the column", test_column_errors},
        {"levels, unlisted and suppress are checked", test_levels_unlisted_suppress},
        {NULL, NULL},
    };
    return tu_main("deid_policy", NULL, NULL, tests);
}
