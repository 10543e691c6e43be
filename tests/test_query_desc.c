/* Query descriptions (query/query_desc.c): a valid file parses with every
 * field as written, and every malformed one is refused with a message
 * naming the file and the field. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/query.h"

#define FP1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define FP2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define FP3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define FP4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Three departments; education (index 1) groups by level and combines. */
static const char BASE[] =
    "{\"query\": \"q1\", \"key\": \"" KEY "\", \"join_key\": \"resident_id\",\n"
    " \"departments\": [\n"
    "  {\"id\": \"tax\", \"fingerprint\": \"" FP1 "\",\n"
    "   \"values\": [{\"column\": \"income\", \"scale\": 2, \"min\": \"0\", \"max\": "
    "\"1000000\"},\n"
    "              {\"column\": \"tax_paid\", \"scale\": 0, \"min\": \"-5\", \"max\": \"5\"}]},\n"
    "  {\"id\": \"edu\", \"fingerprint\": \"" FP2 "\", \"address\": \"127.0.0.1:7000\",\n"
    "   \"group_by\": \"level\",\n"
    "   \"values\": [{\"column\": \"years\", \"scale\": 1, \"min\": \"0\", \"max\": \"30.5\"}]},\n"
    "  {\"id\": \"health\", \"fingerprint\": \"" FP3 "\"}],\n"
    " \"analyst\": {\"id\": \"bureau\", \"fingerprint\": \"" FP4 "\"},\n"
    " \"statistics\": [\"count\", \"sum\", \"mean\", \"variance\"],\n"
    " \"min_count\": 10, \"epsilon\": \"0.5\", \"timeouts\": {\"io\": 60}}\n";

/* The same query: other key order, other layout. */
static const char REORDERED[] =
    "{\"timeouts\":{\"io\":60},\"epsilon\":\"0.5\",\"min_count\":10,"
    "\"statistics\":[\"count\",\"sum\",\"mean\",\"variance\"],"
    "\"analyst\":{\"fingerprint\":\"" FP4 "\",\"id\":\"bureau\"},"
    "\"departments\":[{\"values\":[{\"max\":\"1000000\",\"min\":\"0\",\"scale\":2,"
    "\"column\":\"income\"},{\"max\":\"5\",\"min\":\"-5\",\"scale\":0,\"column\":\"tax_paid\"}],"
    "\"fingerprint\":\"" FP1 "\",\"id\":\"tax\"},"
    "{\"values\":[{\"max\":\"30.5\",\"min\":\"0\",\"scale\":1,\"column\":\"years\"}],"
    "\"group_by\":\"level\",\"address\":\"127.0.0.1:7000\",\"fingerprint\":\"" FP2 "\","
    "\"id\":\"edu\"},{\"fingerprint\":\"" FP3 "\",\"id\":\"health\"}],"
    "\"join_key\":\"resident_id\",\"key\":\"" KEY "\",\"query\":\"q1\"}";

static json_t *base(void)
{
    json_error_t je;
    json_t *d = json_loads(BASE, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static json_t *dept(json_t *d, size_t i)
{
    return json_array_get(json_object_get(d, "departments"), i);
}

static json_t *value(json_t *d, size_t i, size_t j)
{
    return json_array_get(json_object_get(dept(d, i), "values"), j);
}

static veil_query *parse_ok(const char *text)
{
    veil_query *q = NULL;
    veil_err err;
    veil_status st = veil_query_parse(&q, text, strlen(text), "q.json", &err);
    if (st != VEIL_OK)
        fprintf(stderr, "\n  unexpected error: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    return q;
}

static void expect_text(const char *text, size_t len, veil_status code, const char *want)
{
    veil_query *q = (veil_query *)1;
    veil_err err;
    veil_status st = veil_query_parse(&q, text, len, "q.json", &err);
    CU_ASSERT_EQUAL(st, code);
    CU_ASSERT_EQUAL(err.code, code);
    CU_ASSERT_PTR_NULL(q);
    if (st == VEIL_OK)
        veil_query_free(q);
    if (st == VEIL_OK || strcmp(err.msg, want) != 0) {
        fprintf(stderr, "\n  want \"%s\"\n  got  \"%s\"\n", want, st == VEIL_OK ? "OK" : err.msg);
        CU_FAIL("error message mismatch");
    }
}

/* Serializes the (mutated) document, parses it and checks the error. */
static void expect_bad(json_t *d, const char *want)
{
    char *text = json_dumps(d, JSON_INDENT(1));
    json_decref(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    expect_text(text, strlen(text), VEIL_ERR_INPUT, want);
    free(text);
}

static void check_peer(const veil_peer *p, const char *id, const char *host, unsigned port,
                       uint8_t fp_byte)
{
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    memset(fp, fp_byte, sizeof fp);
    CU_ASSERT_STRING_EQUAL(p->id, id);
    CU_ASSERT_STRING_EQUAL(p->host, host);
    CU_ASSERT_EQUAL(p->port, port);
    CU_ASSERT_EQUAL(memcmp(p->fingerprint, fp, sizeof fp), 0);
}

static void check_bounds(const veil_query_value *v, const char *col, unsigned scale, long lo,
                         long hi)
{
    CU_ASSERT_STRING_EQUAL(v->column, col);
    CU_ASSERT_EQUAL(v->scale, scale);
    CU_ASSERT_EQUAL(v->has_bounds, 1);
    CU_ASSERT_EQUAL(mpz_cmp_si(v->lo, lo), 0);
    CU_ASSERT_EQUAL(mpz_cmp_si(v->hi, hi), 0);
}

static void test_valid_query_every_field(void)
{
    veil_query *q = parse_ok(BASE);
    CU_ASSERT_STRING_EQUAL(q->id, "q1");
    CU_ASSERT_STRING_EQUAL(q->key_fingerprint, KEY);
    CU_ASSERT_STRING_EQUAL(q->join_key, "resident_id");
    CU_ASSERT_EQUAL(q->ndepts, 3);
    CU_ASSERT_EQUAL(q->combiner, 1);
    CU_ASSERT_EQUAL(q->grouped, 1);
    CU_ASSERT_EQUAL(q->nvalues, 3);
    const veil_query_dept *tax = &q->depts[0], *edu = &q->depts[1], *health = &q->depts[2];
    CU_ASSERT_STRING_EQUAL(tax->id, "tax");
    CU_ASSERT_STRING_EQUAL(tax->group_by, "");
    CU_ASSERT_STRING_EQUAL(tax->host, "");
    CU_ASSERT_EQUAL(tax->port, 0);
    CU_ASSERT_EQUAL(tax->nvalues, 2);
    CU_ASSERT_EQUAL(tax->value_base, 0);
    check_bounds(&tax->values[0], "income", 2, 0, 100000000);
    check_bounds(&tax->values[1], "tax_paid", 0, -5, 5);
    CU_ASSERT_STRING_EQUAL(edu->id, "edu");
    CU_ASSERT_STRING_EQUAL(edu->group_by, "level");
    CU_ASSERT_STRING_EQUAL(edu->host, "127.0.0.1");
    CU_ASSERT_EQUAL(edu->port, 7000);
    CU_ASSERT_EQUAL(edu->nvalues, 1);
    CU_ASSERT_EQUAL(edu->value_base, 2);
    check_bounds(&edu->values[0], "years", 1, 0, 305);
    CU_ASSERT_STRING_EQUAL(health->id, "health");
    CU_ASSERT_EQUAL(health->nvalues, 0);
    CU_ASSERT_PTR_NULL(health->values);
    CU_ASSERT_EQUAL(health->value_base, 0);
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    memset(fp, 0x33, sizeof fp);
    CU_ASSERT_EQUAL(memcmp(health->fingerprint, fp, sizeof fp), 0);
    CU_ASSERT_STRING_EQUAL(q->analyst_id, "bureau");
    memset(fp, 0x44, sizeof fp);
    CU_ASSERT_EQUAL(memcmp(q->analyst_fingerprint, fp, sizeof fp), 0);
    CU_ASSERT_EQUAL(q->stats,
                    VEIL_QSTAT_COUNT | VEIL_QSTAT_SUM | VEIL_QSTAT_MEAN | VEIL_QSTAT_VARIANCE);
    CU_ASSERT_EQUAL(q->min_count, 10);
    CU_ASSERT_EQUAL(q->epsilon, 500000);
    CU_ASSERT_EQUAL(q->connect_timeout, 10);
    CU_ASSERT_EQUAL(q->io_timeout, 60);
    CU_ASSERT_EQUAL(q->query_timeout, 600);
    CU_ASSERT_EQUAL_FATAL(q->npeers, 4);
    check_peer(&q->peers[0], "tax", "", 0, 0x11);
    check_peer(&q->peers[1], "edu", "127.0.0.1", 7000, 0x22);
    check_peer(&q->peers[2], "health", "", 0, 0x33);
    check_peer(&q->peers[3], "bureau", "", 0, 0x44);
    CU_ASSERT_EQUAL(veil_query_find_dept(q, "health"), 2);
    CU_ASSERT_EQUAL(veil_query_find_dept(q, "bureau"), -1);
    size_t di = 9, vi = 9;
    CU_ASSERT_PTR_EQUAL(veil_query_find_value(q, "years", &di, &vi), &edu->values[0]);
    CU_ASSERT_EQUAL(di, 1);
    CU_ASSERT_EQUAL(vi, 0);
    CU_ASSERT_PTR_EQUAL(veil_query_find_value(q, "tax_paid", &di, &vi), &tax->values[1]);
    CU_ASSERT_EQUAL(di, 0);
    CU_ASSERT_EQUAL(vi, 1);
    CU_ASSERT_PTR_NULL(veil_query_find_value(q, "level", NULL, NULL));
    veil_query_free(q);
}

static void test_defaults_and_ungrouped_combiner(void)
{
    json_t *d = base();
    json_object_del(d, "epsilon");
    json_object_del(d, "timeouts");
    json_object_del(dept(d, 1), "group_by");
    json_object_del(dept(d, 1), "address");
    json_object_set_new(dept(d, 0), "address", json_string("[::1]:7001"));
    json_object_del(value(d, 0, 0), "min");
    json_object_del(value(d, 0, 0), "max");
    json_object_set_new(d, "statistics", json_pack("[s]", "count"));
    char *text = json_dumps(d, 0);
    json_decref(d);
    veil_query *q = parse_ok(text);
    free(text);
    CU_ASSERT_EQUAL(q->combiner, 0);
    CU_ASSERT_EQUAL(q->grouped, 0);
    CU_ASSERT_EQUAL(q->epsilon, 0);
    CU_ASSERT_EQUAL(q->stats, VEIL_QSTAT_COUNT);
    CU_ASSERT_EQUAL(q->connect_timeout, 10);
    CU_ASSERT_EQUAL(q->io_timeout, 120);
    CU_ASSERT_EQUAL(q->query_timeout, 600);
    CU_ASSERT_EQUAL(q->depts[0].values[0].has_bounds, 0);
    CU_ASSERT_EQUAL(mpz_sgn(q->depts[0].values[0].lo), 0);
    CU_ASSERT_EQUAL(mpz_sgn(q->depts[0].values[0].hi), 0);
    check_peer(&q->peers[0], "tax", "::1", 7001, 0x11);
    check_peer(&q->peers[1], "edu", "", 0, 0x22);
    veil_query_free(q);
}

static void test_digest_ignores_layout_only(void)
{
    veil_query *a = parse_ok(BASE), *b = parse_ok(REORDERED);
    CU_ASSERT_EQUAL(memcmp(a->digest, b->digest, sizeof a->digest), 0);
    /* BLAKE2b-256 of the sorted, compact form. */
    json_t *d = base();
    char *canon = json_dumps(d, JSON_SORT_KEYS | JSON_COMPACT);
    uint8_t want[32];
    crypto_generichash(want, sizeof want, (const unsigned char *)canon, strlen(canon), NULL, 0);
    CU_ASSERT_EQUAL(memcmp(a->digest, want, sizeof want), 0);
    free(canon);
    json_object_set_new(d, "min_count", json_integer(11));
    char *text = json_dumps(d, 0);
    json_decref(d);
    veil_query *c = parse_ok(text);
    free(text);
    CU_ASSERT_NOT_EQUAL(memcmp(a->digest, c->digest, sizeof a->digest), 0);
    veil_query_free(a);
    veil_query_free(b);
    veil_query_free(c);
}

static void test_example_file_parses(void)
{
    veil_query *q = NULL;
    veil_err err;
    veil_status st =
        veil_query_load(&q, VEIL_SOURCE_DIR "/docs/examples/query-edu-income.json", &err);
    if (st != VEIL_OK)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    CU_ASSERT_STRING_EQUAL(q->id, "edu-income-2026");
    CU_ASSERT_EQUAL(q->ndepts, 3);
    CU_ASSERT_STRING_EQUAL(q->depts[q->combiner].id, "education");
    CU_ASSERT_STRING_EQUAL(q->depts[q->combiner].group_by, "level");
    CU_ASSERT_STRING_EQUAL(q->analyst_id, "bureau");
    size_t di;
    const veil_query_value *v = veil_query_find_value(q, "income", &di, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(q->depts[di].id, "tax");
    check_bounds(v, "income", 2, 0, 100000000);
    CU_ASSERT_STRING_EQUAL(q->peers[q->combiner].host, "127.0.0.1");
    CU_ASSERT_EQUAL(q->npeers, 4);
    veil_query_free(q);
}

/* ---- files ---- */

static void test_load_missing_file(void)
{
    char *dir = tu_tempdir();
    char *path = tu_path(dir, "none.json");
    char want[600];
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    veil_query *q = NULL;
    veil_err err;
    CU_ASSERT_EQUAL(veil_query_load(&q, path, &err), VEIL_ERR_IO);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_PTR_NULL(q);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_load_file_too_large(void)
{
    char *dir = tu_tempdir();
    char *path = tu_path(dir, "big.json");
    size_t n = VEIL_QUERY_FILE_MAX + 1;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', n);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, big, n), 0);
    char want[600];
    snprintf(want, sizeof want, "%s: file is larger than 1048576 bytes", path);
    veil_query *q = NULL;
    veil_err err;
    CU_ASSERT_EQUAL(veil_query_load(&q, path, &err), VEIL_ERR_INPUT);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_PTR_NULL(q);
    expect_text(big, n, VEIL_ERR_INPUT, "q.json: file is larger than 1048576 bytes");
    free(big);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

static void test_truncated_json(void)
{
    const char text[] = "{\"query\": \"q1\",\n \"key\": ";
    expect_text(text, strlen(text), VEIL_ERR_INPUT,
                "q.json:2:8: unexpected token near end of file");
}

static void test_duplicate_json_key(void)
{
    const char text[] = "{\"query\": \"q1\", \"query\": \"q2\"}";
    expect_text(text, strlen(text), VEIL_ERR_INPUT,
                "q.json:1:23: duplicate object key near '\"query\"'");
}

static void test_not_an_object(void)
{
    expect_text("[1, 2]", 6, VEIL_ERR_INPUT, "q.json: must hold a JSON object");
}

/* ---- one malformed field per test ---- */

#define BAD(fn, want, ...)                                                                         \
    static void fn(void)                                                                           \
    {                                                                                              \
        json_t *d = base();                                                                        \
        __VA_ARGS__;                                                                               \
        expect_bad(d, want);                                                                       \
    }

#define SET(obj, key, val) json_object_set_new((obj), (key), (val))
#define DEL(obj, key)      json_object_del((obj), (key))

BAD(test_unknown_top_field, "q.json: \"extra\": unknown field", SET(d, "extra", json_integer(1)))
BAD(test_query_missing, "q.json: query: missing", DEL(d, "query"))
BAD(test_query_not_string, "q.json: query: must be a string", SET(d, "query", json_integer(7)))
BAD(test_query_bad_id,
    "q.json: query: \"-q\" is not a query id (1 to 128 of A-Z a-z 0-9 . _ -, not starting with . "
    "or -)",
    SET(d, "query", json_string("-q")))
BAD(test_key_missing, "q.json: key: missing", DEL(d, "key"))
BAD(test_key_uppercase,
    "q.json: key: must be the Paillier public key's fingerprint, 64 lowercase hex digits",
    SET(d, "key", json_string("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")))
BAD(test_key_short,
    "q.json: key: must be the Paillier public key's fingerprint, 64 lowercase hex digits",
    SET(d, "key", json_string("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")))
BAD(test_key_not_hex,
    "q.json: key: must be the Paillier public key's fingerprint, 64 lowercase hex digits",
    SET(d, "key", json_string("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")))
BAD(test_join_key_missing, "q.json: join_key: missing", DEL(d, "join_key"))
BAD(test_join_key_empty, "q.json: join_key: a column name has 1 to 128 bytes, not 0",
    SET(d, "join_key", json_string("")))
BAD(test_join_key_too_long, "q.json: join_key: a column name has 1 to 128 bytes, not 129",
    char long_name[130];
    memset(long_name, 'a', 129); long_name[129] = '\0'; SET(d, "join_key", json_string(long_name)))
BAD(test_join_key_control_char, "q.json: join_key: the column name contains a control character",
    SET(d, "join_key", json_string("resident\tid")))
BAD(test_departments_missing, "q.json: departments: missing", DEL(d, "departments"))
BAD(test_departments_not_list, "q.json: departments: must be a list",
    SET(d, "departments", json_object()))
BAD(test_one_department, "q.json: departments: 1 listed; a query needs 2 to 16",
    json_t *a = json_object_get(d, "departments");
    json_array_remove(a, 2); json_array_remove(a, 0);)
BAD(test_seventeen_departments, "q.json: departments: 17 listed; a query needs 2 to 16",
    json_t *a = json_object_get(d, "departments");
    for (int i = 3; i < 17; i++) json_array_append_new(a, json_object());)
BAD(test_department_not_object, "q.json: departments[1]: must be an object",
    json_array_set_new(json_object_get(d, "departments"), 1, json_string("edu")))
BAD(test_department_unknown_field, "q.json: departments[0] (tax): \"colour\": unknown field",
    SET(dept(d, 0), "colour", json_string("red")))
BAD(test_department_id_missing, "q.json: departments[1].id: missing", DEL(dept(d, 1), "id"))
BAD(test_department_id_not_string, "q.json: departments[1].id: must be a string",
    SET(dept(d, 1), "id", json_true()))
BAD(test_department_bad_id,
    "q.json: departments[1].id: \"a b\" is not a party id (1 to 64 of A-Z a-z 0-9 . _ -, not "
    "starting with . or -)",
    SET(dept(d, 1), "id", json_string("a b")))
BAD(test_duplicate_department_id, "q.json: departments[2].id: \"tax\" is also departments[0]",
    SET(dept(d, 2), "id", json_string("tax")))
BAD(test_fingerprint_missing, "q.json: departments[1] (edu).fingerprint: missing",
    DEL(dept(d, 1), "fingerprint"))
BAD(test_bad_fingerprint,
    "q.json: departments[1] (edu).fingerprint: fingerprint \"sha256:12\" is not \"sha256:\" and "
    "64 hex digits (or the AB:CD:... form of openssl x509 -fingerprint -sha256)",
    SET(dept(d, 1), "fingerprint", json_string("sha256:12")))
BAD(test_duplicate_fingerprint,
    "q.json: departments[2] (health).fingerprint: same certificate as departments[0] (tax); "
    "every party needs its own identity",
    SET(dept(d, 2), "fingerprint", json_string(FP1)))
BAD(test_analyst_missing, "q.json: analyst: missing", DEL(d, "analyst"))
BAD(test_analyst_not_object, "q.json: analyst: must be an object",
    SET(d, "analyst", json_string("bureau")))
BAD(test_analyst_unknown_field, "q.json: analyst: \"address\": unknown field",
    SET(json_object_get(d, "analyst"), "address", json_string("127.0.0.1:7009")))
BAD(test_analyst_id_missing, "q.json: analyst.id: missing",
    DEL(json_object_get(d, "analyst"), "id"))
BAD(test_analyst_is_department,
    "q.json: analyst.id: \"edu\" is also departments[1]; the analyst is not a department",
    SET(json_object_get(d, "analyst"), "id", json_string("edu")))
BAD(test_analyst_fingerprint_of_department,
    "q.json: analyst.fingerprint: same certificate as departments[0] (tax); every party needs "
    "its own identity",
    SET(json_object_get(d, "analyst"), "fingerprint", json_string(FP1)))
BAD(test_two_group_by,
    "q.json: departments[2] (health).group_by: departments[1] (edu) already has group_by; at "
    "most one department may",
    SET(dept(d, 2), "group_by", json_string("region")))
BAD(test_group_by_is_join_key,
    "q.json: departments[1] (edu).group_by: \"resident_id\" is the join key",
    SET(dept(d, 1), "group_by", json_string("resident_id")))
BAD(test_group_by_not_string, "q.json: departments[1] (edu).group_by: must be a string",
    SET(dept(d, 1), "group_by", json_integer(1)))
BAD(test_address_on_non_combiner,
    "q.json: departments[0] (tax).address: only the combining department (departments[1] (edu)) "
    "has an address",
    SET(dept(d, 0), "address", json_string("127.0.0.1:7001")))
BAD(test_combiner_address_missing,
    "q.json: departments[1] (edu).address: missing (the combining department listens)",
    DEL(dept(d, 1), "address"))
BAD(test_ungrouped_combiner_is_first,
    "q.json: departments[0] (tax).address: missing (the combining department listens)",
    DEL(dept(d, 1), "group_by"))
BAD(test_address_no_port,
    "q.json: departments[1] (edu).address: \"localhost\" is not \"HOST:PORT\"",
    SET(dept(d, 1), "address", json_string("localhost")))
BAD(test_address_port_zero,
    "q.json: departments[1] (edu).address: \"127.0.0.1:0\": the port must be 1 to 65535",
    SET(dept(d, 1), "address", json_string("127.0.0.1:0")))
BAD(test_address_not_string, "q.json: departments[1] (edu).address: must be a string",
    SET(dept(d, 1), "address", json_integer(7000)))
BAD(test_values_not_list,
    "q.json: departments[0] (tax).values: must be a non-empty list (leave it out for none)",
    SET(dept(d, 0), "values", json_object()))
BAD(test_values_empty,
    "q.json: departments[2] (health).values: must be a non-empty list (leave it out for none)",
    SET(dept(d, 2), "values", json_array()))
BAD(test_value_not_object, "q.json: departments[0] (tax).values[1]: must be an object",
    json_array_set_new(json_object_get(dept(d, 0), "values"), 1, json_string("tax_paid")))
BAD(test_value_unknown_field, "q.json: departments[0] (tax).values[0]: \"unit\": unknown field",
    SET(value(d, 0, 0), "unit", json_string("EUR")))
BAD(test_value_column_missing, "q.json: departments[0] (tax).values[0].column: missing",
    DEL(value(d, 0, 0), "column"))
BAD(test_value_scale_missing, "q.json: departments[0] (tax).values[0].scale: missing",
    DEL(value(d, 0, 0), "scale"))
BAD(test_value_scale_19, "q.json: departments[0] (tax).values[0].scale: 19 is out of range [0, 18]",
    SET(value(d, 0, 0), "scale", json_integer(19)))
BAD(test_value_scale_not_integer,
    "q.json: departments[0] (tax).values[0].scale: must be a whole number",
    SET(value(d, 0, 0), "scale", json_string("2")))
BAD(test_value_min_without_max,
    "q.json: departments[0] (tax).values[0].max: missing (min and max are given together or not "
    "at all)",
    DEL(value(d, 0, 0), "max"))
BAD(test_value_max_without_min,
    "q.json: departments[1] (edu).values[0].min: missing (min and max are given together or not "
    "at all)",
    DEL(value(d, 1, 0), "min"))
BAD(test_value_min_above_max, "q.json: departments[0] (tax).values[1]: min 5 is larger than max 1",
    SET(value(d, 0, 1), "min", json_string("5"));
    SET(value(d, 0, 1), "max", json_string("1")))
BAD(test_value_min_exponent,
    "q.json: departments[0] (tax).values[0].min: '1e3' is not a decimal number",
    SET(value(d, 0, 0), "min", json_string("1e3")))
BAD(test_value_max_too_precise,
    "q.json: departments[0] (tax).values[0].max: '1.234' has 3 decimal places but the scale is 2 "
    "(veil never rounds)",
    SET(value(d, 0, 0), "max", json_string("1.234")))
BAD(test_value_min_number, "q.json: departments[0] (tax).values[0].min: must be a string",
    SET(value(d, 0, 0), "min", json_integer(0)))
BAD(test_value_max_overflows,
    "q.json: departments[0] (tax).values[0].max: '100000000000000000' does not fit a 64-bit "
    "mantissa at scale 2",
    SET(value(d, 0, 0), "max", json_string("100000000000000000")))
BAD(test_too_many_values,
    "q.json: departments[2] (health).values: more than 32 value columns in the query",
    json_t *a = json_array();
    for (int i = 0; i < 30; i++) json_array_append_new(a, json_object());
    SET(dept(d, 2), "values", a))
BAD(test_duplicate_value_column,
    "q.json: departments[1] (edu).values[0].column: \"income\" is also departments[0] (tax)."
    "values[0]",
    SET(value(d, 1, 0), "column", json_string("income")))
BAD(test_value_column_is_join_key,
    "q.json: departments[0] (tax).values[1].column: \"resident_id\" is the join key",
    SET(value(d, 0, 1), "column", json_string("resident_id")))
BAD(test_value_column_is_group_by,
    "q.json: departments[0] (tax).values[1].column: \"level\" is the group_by column",
    SET(value(d, 0, 1), "column", json_string("level")))
BAD(test_statistics_missing, "q.json: statistics: missing", DEL(d, "statistics"))
BAD(test_statistics_empty,
    "q.json: statistics: must be a non-empty list of \"count\", \"sum\", \"mean\", \"variance\"",
    SET(d, "statistics", json_array()))
BAD(test_statistic_unknown,
    "q.json: statistics[1]: must be \"count\", \"sum\", \"mean\" or \"variance\"",
    SET(d, "statistics", json_pack("[ss]", "count", "median")))
BAD(test_statistic_not_string,
    "q.json: statistics[0]: must be \"count\", \"sum\", \"mean\" or \"variance\"",
    SET(d, "statistics", json_pack("[i]", 1)))
BAD(test_statistic_twice, "q.json: statistics: \"count\" given twice",
    SET(d, "statistics", json_pack("[ss]", "count", "count")))
BAD(test_sum_without_values,
    "q.json: statistics: \"sum\" needs a value column, and no department lists values",
    DEL(dept(d, 0), "values");
    DEL(dept(d, 1), "values"))
BAD(test_min_count_missing, "q.json: min_count: missing", DEL(d, "min_count"))
BAD(test_min_count_zero, "q.json: min_count: 0 is out of range [1, 1000000000]",
    SET(d, "min_count", json_integer(0)))
BAD(test_min_count_too_large, "q.json: min_count: 1000000001 is out of range [1, 1000000000]",
    SET(d, "min_count", json_integer(1000000001)))
BAD(test_min_count_real, "q.json: min_count: must be a whole number",
    SET(d, "min_count", json_real(10.0)))
BAD(test_epsilon_zero, "q.json: epsilon: must be greater than 0 (leave it out for no noise)",
    SET(d, "epsilon", json_string("0")))
BAD(test_epsilon_negative, "q.json: epsilon: epsilon '-1' is not a decimal number",
    SET(d, "epsilon", json_string("-1")))
BAD(test_epsilon_exponent, "q.json: epsilon: epsilon '1e3' is not a decimal number",
    SET(d, "epsilon", json_string("1e3")))
BAD(test_epsilon_too_large, "q.json: epsilon: epsilon '101' is larger than 100",
    SET(d, "epsilon", json_string("101")))
BAD(test_epsilon_number, "q.json: epsilon: must be a string", SET(d, "epsilon", json_real(0.5)))
BAD(test_epsilon_unbounded_column,
    "q.json: departments[1] (edu).values[0] (years): min and max are required when epsilon is "
    "given (noise is scaled to them)",
    DEL(value(d, 1, 0), "min");
    DEL(value(d, 1, 0), "max"))
BAD(test_timeouts_not_object, "q.json: timeouts: must be an object",
    SET(d, "timeouts", json_integer(60)))
BAD(test_timeouts_unknown_field, "q.json: timeouts: \"read\": unknown field",
    SET(json_object_get(d, "timeouts"), "read", json_integer(5)))
BAD(test_timeout_connect_zero, "q.json: timeouts.connect: 0 is out of range [1, 86400]",
    SET(json_object_get(d, "timeouts"), "connect", json_integer(0)))
BAD(test_timeout_query_too_long, "q.json: timeouts.query: 86401 is out of range [1, 86400]",
    SET(json_object_get(d, "timeouts"), "query", json_integer(86401)))
BAD(test_timeout_io_not_integer, "q.json: timeouts.io: must be a whole number",
    SET(json_object_get(d, "timeouts"), "io", json_string("60")))

/* ---- threshold ---- */

#define TKEY "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static json_t *holder(const char *id, json_int_t index)
{
    return json_pack("{s:s, s:I}", "id", id, "index", index);
}

/* base() with "threshold": tax share 1, the analyst share 3, edu share 2. */
static json_t *thr_base(void)
{
    json_t *d = base();
    json_t *t = json_pack("{s:s, s:[o, o, o]}", "key", TKEY, "holders", holder("tax", 1),
                          holder("bureau", 3), holder("edu", 2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    SET(d, "threshold", t);
    return d;
}

static json_t *holders(json_t *d)
{
    return json_object_get(json_object_get(d, "threshold"), "holders");
}

static void test_threshold_valid(void)
{
    json_t *d = thr_base();
    char *text = json_dumps(d, 0);
    json_decref(d);
    veil_query *q = parse_ok(text);
    CU_ASSERT_EQUAL(q->threshold, 1);
    CU_ASSERT_STRING_EQUAL(q->threshold_key, TKEY);
    CU_ASSERT_EQUAL(q->nholders, 3);
    /* Roster indices: tax 0, edu 1, health 2, bureau 3. */
    CU_ASSERT_EQUAL(q->holder_peer[0], 0);
    CU_ASSERT_EQUAL(q->holder_index[0], 1);
    CU_ASSERT_EQUAL(q->holder_peer[1], 3);
    CU_ASSERT_EQUAL(q->holder_index[1], 3);
    CU_ASSERT_EQUAL(q->holder_peer[2], 1);
    CU_ASSERT_EQUAL(q->holder_index[2], 2);
    CU_ASSERT_EQUAL(veil_query_find_holder(q, 3), 1);
    CU_ASSERT_EQUAL(veil_query_find_holder(q, 1), 2);
    CU_ASSERT_EQUAL(veil_query_find_holder(q, 2), -1);
    veil_query *plain = parse_ok(BASE);
    CU_ASSERT_EQUAL(plain->threshold, 0);
    CU_ASSERT_EQUAL(veil_query_find_holder(plain, 0), -1);
    /* The threshold section is part of the digest. */
    CU_ASSERT_NOT_EQUAL(memcmp(plain->digest, q->digest, sizeof q->digest), 0);
    veil_query_free(plain);
    veil_query_free(q);
    free(text);
}

#define BAD_THR(fn, want, ...)                                                                     \
    static void fn(void)                                                                           \
    {                                                                                              \
        json_t *d = thr_base();                                                                    \
        __VA_ARGS__;                                                                               \
        expect_bad(d, want);                                                                       \
    }

BAD_THR(test_threshold_not_object, "q.json: threshold: must be an object",
        SET(d, "threshold", json_string(TKEY)))
BAD_THR(test_threshold_unknown_field, "q.json: threshold: \"t\": unknown field",
        SET(json_object_get(d, "threshold"), "t", json_integer(2)))
BAD_THR(test_threshold_key_missing, "q.json: threshold.key: missing",
        DEL(json_object_get(d, "threshold"), "key"))
BAD_THR(test_threshold_key_bad,
        "q.json: threshold.key: must be the threshold key's fingerprint, 64 lowercase hex digits "
        "(veil threshold keygen prints it)",
        SET(json_object_get(d, "threshold"), "key", json_string("ABCD")))
BAD_THR(test_threshold_holders_missing, "q.json: threshold.holders: missing",
        DEL(json_object_get(d, "threshold"), "holders"))
BAD_THR(test_threshold_holders_empty,
        "q.json: threshold.holders: must be a list of 1 to 17 share holders",
        json_array_clear(holders(d)))
BAD_THR(test_threshold_holder_not_object,
        "q.json: threshold.holders[1]: must be an object {\"id\", \"index\"}",
        json_array_set_new(holders(d), 1, json_string("bureau")))
BAD_THR(test_threshold_holder_unknown_field,
        "q.json: threshold.holders[0]: \"share\": unknown field",
        SET(json_array_get(holders(d), 0), "share", json_integer(1)))
BAD_THR(test_threshold_holder_unknown_party,
        "q.json: threshold.holders[2].id: \"mallory\" is neither a department nor the analyst",
        SET(json_array_get(holders(d), 2), "id", json_string("mallory")))
BAD_THR(test_threshold_holder_twice, "q.json: threshold.holders[2].id: \"tax\" is also "
                                     "threshold.holders[0]",
        SET(json_array_get(holders(d), 2), "id", json_string("tax")))
BAD_THR(test_threshold_index_twice,
        "q.json: threshold.holders[2].index: share 1 is also threshold.holders[0]'s",
        SET(json_array_get(holders(d), 2), "index", json_integer(1)))
BAD_THR(test_threshold_index_zero,
        "q.json: threshold.holders[0].index: 0 is out of range [1, 64]",
        SET(json_array_get(holders(d), 0), "index", json_integer(0)))
BAD_THR(test_threshold_index_65,
        "q.json: threshold.holders[1].index: 65 is out of range [1, 64]",
        SET(json_array_get(holders(d), 1), "index", json_integer(65)))
BAD_THR(test_threshold_index_missing, "q.json: threshold.holders[1].index: missing",
        DEL(json_array_get(holders(d), 1), "index"))

int main(void)
{
    static const tu_test tests[] = {
        {"valid query: every field", test_valid_query_every_field},
        {"defaults; without group_by the first department combines",
         test_defaults_and_ungrouped_combiner},
        {"digest ignores layout and key order only", test_digest_ignores_layout_only},
        {"docs/examples/query-edu-income.json parses", test_example_file_parses},
        {"missing file", test_load_missing_file},
        {"file too large", test_load_file_too_large},
        {"truncated JSON: line and column", test_truncated_json},
        {"duplicate JSON key", test_duplicate_json_key},
        {"not an object", test_not_an_object},
        {"unknown top-level field", test_unknown_top_field},
        {"query missing", test_query_missing},
        {"query not a string", test_query_not_string},
        {"query not a session id", test_query_bad_id},
        {"key missing", test_key_missing},
        {"key uppercase", test_key_uppercase},
        {"key too short", test_key_short},
        {"key not hex", test_key_not_hex},
        {"join_key missing", test_join_key_missing},
        {"join_key empty", test_join_key_empty},
        {"join_key too long", test_join_key_too_long},
        {"join_key control character", test_join_key_control_char},
        {"departments missing", test_departments_missing},
        {"departments not a list", test_departments_not_list},
        {"one department", test_one_department},
        {"seventeen departments", test_seventeen_departments},
        {"department not an object", test_department_not_object},
        {"department unknown field", test_department_unknown_field},
        {"department id missing", test_department_id_missing},
        {"department id not a string", test_department_id_not_string},
        {"department id malformed", test_department_bad_id},
        {"department id twice", test_duplicate_department_id},
        {"fingerprint missing", test_fingerprint_missing},
        {"fingerprint malformed", test_bad_fingerprint},
        {"fingerprint twice", test_duplicate_fingerprint},
        {"analyst missing", test_analyst_missing},
        {"analyst not an object", test_analyst_not_object},
        {"analyst unknown field", test_analyst_unknown_field},
        {"analyst id missing", test_analyst_id_missing},
        {"analyst is a department", test_analyst_is_department},
        {"analyst has a department's certificate", test_analyst_fingerprint_of_department},
        {"two group_by", test_two_group_by},
        {"group_by is the join key", test_group_by_is_join_key},
        {"group_by not a string", test_group_by_not_string},
        {"address on a non-combiner", test_address_on_non_combiner},
        {"combiner address missing", test_combiner_address_missing},
        {"ungrouped: the first department combines", test_ungrouped_combiner_is_first},
        {"address without port", test_address_no_port},
        {"address port 0", test_address_port_zero},
        {"address not a string", test_address_not_string},
        {"values not a list", test_values_not_list},
        {"values empty", test_values_empty},
        {"value not an object", test_value_not_object},
        {"value unknown field", test_value_unknown_field},
        {"value column missing", test_value_column_missing},
        {"value scale missing", test_value_scale_missing},
        {"value scale 19", test_value_scale_19},
        {"value scale not an integer", test_value_scale_not_integer},
        {"min without max", test_value_min_without_max},
        {"max without min", test_value_max_without_min},
        {"min above max", test_value_min_above_max},
        {"min with an exponent", test_value_min_exponent},
        {"max more precise than the scale", test_value_max_too_precise},
        {"min a number", test_value_min_number},
        {"max overflows int64", test_value_max_overflows},
        {"more than 32 value columns", test_too_many_values},
        {"value column twice", test_duplicate_value_column},
        {"value column is the join key", test_value_column_is_join_key},
        {"value column is the group_by column", test_value_column_is_group_by},
        {"statistics missing", test_statistics_missing},
        {"statistics empty", test_statistics_empty},
        {"statistic unknown", test_statistic_unknown},
        {"statistic not a string", test_statistic_not_string},
        {"statistic twice", test_statistic_twice},
        {"sum without value columns", test_sum_without_values},
        {"min_count missing", test_min_count_missing},
        {"min_count 0", test_min_count_zero},
        {"min_count too large", test_min_count_too_large},
        {"min_count real", test_min_count_real},
        {"epsilon 0", test_epsilon_zero},
        {"epsilon -1", test_epsilon_negative},
        {"epsilon 1e3", test_epsilon_exponent},
        {"epsilon above 100", test_epsilon_too_large},
        {"epsilon a number", test_epsilon_number},
        {"epsilon with an unbounded column", test_epsilon_unbounded_column},
        {"timeouts not an object", test_timeouts_not_object},
        {"timeouts unknown field", test_timeouts_unknown_field},
        {"timeouts.connect 0", test_timeout_connect_zero},
        {"timeouts.query too long", test_timeout_query_too_long},
        {"timeouts.io not an integer", test_timeout_io_not_integer},
        {"threshold: holders, indices, roster positions, digest", test_threshold_valid},
        {"threshold not an object", test_threshold_not_object},
        {"threshold unknown field", test_threshold_unknown_field},
        {"threshold.key missing", test_threshold_key_missing},
        {"threshold.key not a fingerprint", test_threshold_key_bad},
        {"threshold.holders missing", test_threshold_holders_missing},
        {"threshold.holders empty", test_threshold_holders_empty},
        {"holder not an object", test_threshold_holder_not_object},
        {"holder unknown field", test_threshold_holder_unknown_field},
        {"holder not a party", test_threshold_holder_unknown_party},
        {"holder twice", test_threshold_holder_twice},
        {"share index twice", test_threshold_index_twice},
        {"share index 0", test_threshold_index_zero},
        {"share index 65", test_threshold_index_65},
        {"share index missing", test_threshold_index_missing},
        {NULL, NULL},
    };
    return tu_main("query_desc", NULL, NULL, tests);
}
