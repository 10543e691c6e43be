/* Secure-sum session files: a valid file's fields, the canonical digest,
 * and the exact error for each kind of bad file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/sum.h"

#define X8(c) c c c c c c c c
#define FP(c) "\"sha256:" X8(X8(c)) "\""

#define SESSION_FMT                                                                                \
    "{\"version\": 1, \"session\": \"census-2026\", \"length\": 1000, \"scale\": 2,%s\n"           \
    " \"threshold\": %s, \"timeouts\": {\"inputs\": 60, \"results\": 30},\n"                       \
    " \"parties\": [\n"                                                                            \
    "  {\"id\": \"tax\", \"roles\": [\"input\"], \"fingerprint\": " FP(                            \
        "a") "},\n"                                                                                \
             "  {\"id\": \"health\", \"roles\": [\"input\", \"compute\"], \"address\": "           \
             "\"127.0.0.1:7001\", \"fingerprint\": " FP(                                           \
                 "b") "},\n"                                                                       \
                      "  {\"id\": \"c2\", \"roles\": [\"compute\"], \"address\": "                 \
                      "\"[::1]:7002\", "                                                           \
                      "\"fingerprint\": " FP(                                                      \
                          "c") "},\n"                                                              \
                               "  {\"id\": \"c3\", \"roles\": [\"compute\"], \"address\": "        \
                               "\"c3.example.org:7003\", "                                         \
                               "\"fingerprint\": " FP(                                             \
                                   "d") "},\n"                                                     \
                                        "  {\"id\": \"stats\", \"roles\": [\"output\"], "          \
                                        "\"address\": \"127.0.0.1:7100\", "                        \
                                        "\"fingerprint\": " FP("e") "}\n"                          \
                                                                    " ]}\n"

/* A session with three input, three compute (one also input) and one
 * output party; `extra` is spliced into the top-level object. */
static char *session_text(const char *extra, const char *threshold)
{

    size_t n = strlen(SESSION_FMT) + strlen(extra) + strlen(threshold) + 1;
    char *s = malloc(n);
    snprintf(s, n, SESSION_FMT, extra, threshold);
    return s;
}

static void test_valid_session(void)
{
    char *text = session_text("", "2");
    veil_sum_session *s = NULL;
    veil_err err;
    veil_status st = veil_sum_session_parse(&s, text, strlen(text), "s.json", &err);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    CU_ASSERT_STRING_EQUAL(s->id, "census-2026");
    CU_ASSERT_EQUAL(s->length, 1000);
    CU_ASSERT_EQUAL(s->scale, 2);
    CU_ASSERT_EQUAL(s->scheme, VEIL_SCHEME_SHAMIR);
    CU_ASSERT_EQUAL(s->threshold, 2);
    CU_ASSERT_EQUAL(s->n_compute, 3);
    CU_ASSERT_EQUAL(s->n_input, 2);
    CU_ASSERT_EQUAL(s->nparties, 5);
    CU_ASSERT_EQUAL(s->output, 4);
    CU_ASSERT_EQUAL(s->inputs_timeout, 60);
    CU_ASSERT_EQUAL(s->results_timeout, 30);
    CU_ASSERT_EQUAL(s->connect_timeout, 10); /* defaults */
    CU_ASSERT_EQUAL(s->io_timeout, 30);
    CU_ASSERT_EQUAL(s->parties[0].index, 0);
    CU_ASSERT_EQUAL(s->parties[1].index, 1);
    CU_ASSERT_EQUAL(s->parties[2].index, 2);
    CU_ASSERT_EQUAL(s->parties[3].index, 3);
    CU_ASSERT_EQUAL(s->parties[1].roles, VEIL_SUM_ROLE_INPUT | VEIL_SUM_ROLE_COMPUTE);
    CU_ASSERT_STRING_EQUAL(s->peers[1].host, "127.0.0.1");
    CU_ASSERT_EQUAL(s->peers[1].port, 7001);
    CU_ASSERT_STRING_EQUAL(s->peers[2].host, "::1");
    CU_ASSERT_STRING_EQUAL(s->peers[3].host, "c3.example.org");
    CU_ASSERT_EQUAL(s->peers[0].port, 0);
    CU_ASSERT_EQUAL(s->peers[0].fingerprint[0], 0xaa);
    CU_ASSERT_EQUAL(s->peers[4].fingerprint[31], 0xee);
    CU_ASSERT_PTR_NOT_NULL(veil_sum_session_find(s, "c2"));
    CU_ASSERT_PTR_NULL(veil_sum_session_find(s, "c9"));

    /* The same session laid out differently has the same digest; any
     * change of content changes it. */
    veil_sum_session *s2 = NULL, *s3 = NULL;
    const char *compact = "{\"parties\":[{\"fingerprint\":" FP(
        "a") ",\"roles\":[\"input\"],"
             "\"id\":\"tax\"},{\"id\":\"health\",\"roles\":[\"input\",\"compute\"],"
             "\"address\":\"127.0.0.1:7001\",\"fingerprint\":" FP(
                 "b") "},{\"id\":"
                      "\"c2\",\"roles\":[\"compute\"],\"address\":\"[::1]:7002\","
                      "\"fingerprint\":" FP(
                          "c") "},{\"id\":\"c3\",\"roles\":[\"compute\"],"
                               "\"address\":\"c3.example.org:7003\",\"fingerprint\":" FP(
                                   "d") "},"
                                        "{\"id\":\"stats\",\"roles\":[\"output\"],\"address\":"
                                        "\"127.0.0.1:7100\",\"fingerprint\":" FP(
                                            "e") "}],\"timeouts\":{"
                                                 "\"results\":30,\"inputs\":60},\"threshold\":2,"
                                                 "\"scale\":2,\"length\":"
                                                 "1000,\"session\":\"census-2026\",\"version\":1}";
    CU_ASSERT_EQUAL_FATAL(veil_sum_session_parse(&s2, compact, strlen(compact), "c.json", &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(s->digest, s2->digest, sizeof s->digest), 0);
    char *text3 = session_text("", "3");
    CU_ASSERT_EQUAL_FATAL(veil_sum_session_parse(&s3, text3, strlen(text3), "t.json", &err),
                          VEIL_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(s->digest, s3->digest, sizeof s->digest), 0);
    veil_sum_session_free(s);
    veil_sum_session_free(s2);
    veil_sum_session_free(s3);
    free(text);
    free(text3);
}

static void test_additive_session(void)
{
    char *text = session_text(" \"scheme\": \"additive\",", "3");
    veil_sum_session *s = NULL;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_sum_session_parse(&s, text, strlen(text), "s.json", &err), VEIL_OK);
    CU_ASSERT_EQUAL(s->scheme, VEIL_SCHEME_ADDITIVE);
    CU_ASSERT_EQUAL(s->threshold, 3);
    veil_sum_session_free(s);
    free(text);
    text = session_text(" \"scheme\": \"additive\",", "2");
    CU_ASSERT_EQUAL(veil_sum_session_parse(&s, text, strlen(text), "s.json", &err), VEIL_ERR_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the additive scheme needs every compute party"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "threshold: 2 is out of range [3, 3]"));
    free(text);
}

/* Replaces the first occurrence of `from` in the valid session by `to`
 * and expects the error. */
static void expect_bad(const char *from, const char *to, const char *needle)
{
    char *text = session_text("", "2");
    char *at = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *bad = malloc(n);
    snprintf(bad, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    veil_sum_session *s = NULL;
    veil_err err;
    TU_ASSERT_ERR(veil_sum_session_parse(&s, bad, strlen(bad), "bad.json", &err), err,
                  VEIL_ERR_INPUT, needle);
    CU_ASSERT_PTR_NULL(s);
    free(bad);
    free(text);
}

static void test_bad_sessions(void)
{
    expect_bad("{\"version\": 1,", "{\"version\": 2,",
               "bad.json: version: 2 is out of range [1, 1]");
    expect_bad("\"version\": 1, ", "", "bad.json: version: missing");
    expect_bad("\"census-2026\"", "\"census 2026\"",
               "session: \"census 2026\" is not a session id");
    expect_bad("\"length\": 1000", "\"length\": 0", "length: 0 is out of range [1, 2147483648]");
    expect_bad("\"length\": 1000", "\"length\": 1e3", "length: must be a whole number");
    expect_bad("\"scale\": 2", "\"scale\": 19", "scale: 19 is out of range [0, 18]");
    expect_bad("\"scale\": 2", "\"scale\": 2, \"sacle\": 2", "bad.json: \"sacle\": unknown field");
    expect_bad("\"threshold\": 2", "\"threshold\": 4", "threshold: 4 is out of range [2, 3]");
    expect_bad("\"threshold\": 2", "\"threshold\": 1", "threshold: 1 is out of range [2, 3]");
    expect_bad("\"threshold\": 2,", "", "bad.json: threshold: missing");
    expect_bad("\"inputs\": 60", "\"inputs\": 0", "timeouts.inputs: 0 is out of range [1, 86400]");
    expect_bad("\"inputs\": 60", "\"input\": 60", "timeouts: \"input\": unknown field");
    expect_bad("\"scale\": 2,", "\"scale\": 2, \"scheme\": \"xor\",",
               "scheme: \"xor\" is not \"shamir\" or \"additive\"");
    expect_bad("\"id\": \"c2\"", "\"id\": \"tax\"", "parties[2].id: \"tax\" is also parties[0]");
    expect_bad("\"id\": \"c2\"", "\"id\": \"-c2\"", "parties[2].id: \"-c2\" is not a party id");
    expect_bad("\"id\": \"c2\", ", "", "parties[2].id: missing");
    expect_bad("[\"compute\"], \"address\": \"[::1]", "[\"computer\"], \"address\": \"[::1]",
               "parties[2] (c2).roles[0]: must be \"input\", \"compute\" or \"output\"");
    expect_bad("[\"input\", \"compute\"]", "[\"input\", \"input\"]",
               "parties[1] (health).roles: \"input\" given twice");
    expect_bad("[\"input\", \"compute\"]", "[]", "parties[1] (health).roles: must be a non-empty");
    expect_bad("\"[::1]:7002\"", "\"[::1]7002\"", "parties[2] (c2).address: \"[::1]7002\" is not");
    expect_bad("\"127.0.0.1:7001\"", "\"127.0.0.1\"",
               "parties[1] (health).address: \"127.0.0.1\" is not \"HOST:PORT\"");
    expect_bad("\"127.0.0.1:7001\"", "\"127.0.0.1:70000\"", "the port must be 1 to 65535");
    expect_bad("\"127.0.0.1:7001\"", "\"127.0.0.1:7100\"",
               "parties[4] (stats).address: same as parties[1] (health)");
    expect_bad("\"address\": \"c3.example.org:7003\", ", "",
               "parties[3] (c3).address: missing (compute and output parties listen)");
    expect_bad(FP("c"), FP("b"), "parties[2] (c2).fingerprint: same certificate as parties[1]");
    expect_bad(FP("c"), "\"sha256:cc\"", "parties[2] (c2).fingerprint");
    expect_bad("[\"output\"]", "[\"compute\"]",
               "parties: 0 parties have the role \"output\"; exactly one must");
    {
        const char *no_input =
            "{\"version\": 1, \"session\": \"s\", \"length\": 1, \"scale\": 0, \"threshold\": 2,"
            " \"parties\": [{\"id\": \"a\", \"roles\": [\"compute\"], \"address\": \"h:1\","
            " \"fingerprint\": " FP("a") "}, {\"id\": \"b\", \"roles\": [\"compute\", \"output\"],"
                                         " \"address\": \"h:2\", \"fingerprint\": " FP("b") "}]}";
        veil_sum_session *s = NULL;
        veil_err err;
        TU_ASSERT_ERR(veil_sum_session_parse(&s, no_input, strlen(no_input), "bad.json", &err), err,
                      VEIL_ERR_INPUT, "bad.json: parties: no party has the role \"input\"");
    }
    expect_bad("\"parties\": [", "\"parties\": {\"x\": 1}, \"p\": [", "unknown field");
    expect_bad("{\"version\"", "[{\"version\"", "bad.json:");
    expect_bad(" ]}\n", " ]", "bad.json:9:");
    expect_bad("\"scale\": 2", "\"scale\": 2, \"scale\": 3", "duplicate object key");
}

static void test_load_errors(void)
{
    veil_sum_session *s = NULL;
    veil_err err;
    TU_ASSERT_ERR(veil_sum_session_load(&s, "/nonexistent/session.json", &err), err, VEIL_ERR_IO,
                  "/nonexistent/session.json");
    char *dir = tu_tempdir();
    char *path = tu_path(dir, "big.json");
    char *big = malloc(VEIL_SUM_SESSION_FILE_MAX + 2);
    memset(big, ' ', VEIL_SUM_SESSION_FILE_MAX + 1);
    big[VEIL_SUM_SESSION_FILE_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(tu_write_file(path, big, VEIL_SUM_SESSION_FILE_MAX + 1), 0);
    TU_ASSERT_ERR(veil_sum_session_load(&s, path, &err), err, VEIL_ERR_INPUT, "larger than");
    free(big);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    static const tu_test tests[] = {
        {"a valid session file and its canonical digest", test_valid_session},
        {"the additive scheme needs every compute party", test_additive_session},
        {"each bad session file gets an error naming the field", test_bad_sessions},
        {"missing and oversized files", test_load_errors},
        {NULL, NULL},
    };
    return tu_main("sum session", NULL, NULL, tests);
}
