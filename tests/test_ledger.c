/* The privacy budget ledger (query/ledger.c): init and load round trip,
 * exact spends in millionths, refusal over budget leaving the file as it
 * was, concurrent spenders serialized by the lock, and the exact message of
 * every kind of malformed ledger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/disclosure.h"

static char *dir;
static uint8_t digest[32];

static int suite_init(void)
{
    for (size_t i = 0; i < sizeof digest; i++)
        digest[i] = (uint8_t)(0xa0 + i);
    dir = tu_tempdir();
    return dir == NULL;
}

static int suite_cleanup(void)
{
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* Asserts an exact error code and message. */
#define ASSERT_ERR_IS(st, err, want_code, want_msg)                                                \
    do {                                                                                           \
        CU_ASSERT_EQUAL((st), (want_code));                                                        \
        if (strcmp((err).msg, (want_msg)) != 0) {                                                  \
            fprintf(stderr, "\n  expected \"%s\"\n  got      \"%s\"\n", (want_msg), (err).msg);    \
            CU_FAIL("error message mismatch");                                                     \
        }                                                                                          \
    } while (0)

static char *fresh(const char *name, uint64_t budget)
{
    char *p = tu_path(dir, name);
    veil_err err;
    veil_err_clear(&err);
    unlink(p);
    CU_ASSERT_EQUAL_FATAL(veil_ledger_init(p, "tax", budget, 0, &err), VEIL_OK);
    return p;
}

static void test_init_load_round_trip(void)
{
    char *p = fresh("rt.ledger", VEIL_EPS_UNIT);
    size_t len;
    char *text = tu_read_file(p, &len);
    CU_ASSERT_STRING_EQUAL(text, "{\n"
                                 "  \"format\": \"veil-ledger-v1\",\n"
                                 "  \"dataset\": \"tax\",\n"
                                 "  \"budget\": \"1\",\n"
                                 "  \"spends\": []\n"
                                 "}\n");
    free(text);
    veil_ledger l;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_STRING_EQUAL(l.dataset, "tax");
    CU_ASSERT_EQUAL(l.budget, VEIL_EPS_UNIT);
    CU_ASSERT_EQUAL(l.spent, 0);
    CU_ASSERT_EQUAL(l.nspends, 0);
    veil_ledger_free(&l);

    uint64_t left = 0;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_spend(p, "edu-income-2026", digest, 250000, &left, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(left, 750000);
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.spent, 250000);
    CU_ASSERT_EQUAL_FATAL(l.nspends, 1);
    CU_ASSERT_STRING_EQUAL(l.spends[0].query, "edu-income-2026");
    CU_ASSERT_EQUAL(memcmp(l.spends[0].digest, digest, 32), 0);
    CU_ASSERT_EQUAL(l.spends[0].epsilon, 250000);
    CU_ASSERT_EQUAL(strlen(l.spends[0].time), 20);
    CU_ASSERT_EQUAL(l.spends[0].time[19], 'Z');
    veil_ledger_free(&l);
    text = tu_read_file(p, &len);
    CU_ASSERT_PTR_NOT_NULL(strstr(text,
                                  "\"digest\": \"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
                                  "b8b9babbbcbdbebf\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"epsilon\": \"0.25\""));
    free(text);
    free(p);
}

static void test_init_refuses_existing_without_force(void)
{
    char *p = fresh("ex.ledger", VEIL_EPS_UNIT);
    veil_err err;
    veil_err_clear(&err);
    CU_ASSERT_EQUAL(veil_ledger_spend(p, "q", digest, 100000, NULL, &err), VEIL_OK);
    char want[512];
    snprintf(want, sizeof want,
             "%s already exists; use --force to replace it (its spends are lost)", p);
    ASSERT_ERR_IS(veil_ledger_init(p, "tax", 2 * VEIL_EPS_UNIT, 0, &err), err, VEIL_ERR_USAGE,
                  want);
    veil_ledger l;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.nspends, 1);
    veil_ledger_free(&l);
    CU_ASSERT_EQUAL(veil_ledger_init(p, "tax", 2 * VEIL_EPS_UNIT, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.nspends, 0);
    CU_ASSERT_EQUAL(l.budget, 2 * VEIL_EPS_UNIT);
    veil_ledger_free(&l);
    /* Budget 0, too large a budget and a bad dataset name are refused. */
    char *q = tu_path(dir, "zero.ledger");
    ASSERT_ERR_IS(veil_ledger_init(q, "tax", 0, 0, &err), err, VEIL_ERR_USAGE,
                  "the budget must be greater than 0");
    ASSERT_ERR_IS(veil_ledger_init(q, "tax", 101 * VEIL_EPS_UNIT, 0, &err), err, VEIL_ERR_USAGE,
                  "the budget must be at most 100");
    ASSERT_ERR_IS(veil_ledger_init(q, "tax/x", 1, 0, &err), err, VEIL_ERR_USAGE,
                  "dataset 'tax/x' must be 1 to 64 of A-Z a-z 0-9 . _ -");
    struct stat sb;
    CU_ASSERT_NOT_EQUAL(lstat(q, &sb), 0);
    free(q);
    free(p);
}

static void test_file_mode_0600(void)
{
    mode_t old = umask(0);
    char *p = fresh("mode.ledger", VEIL_EPS_UNIT);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 07777, 0600);
    veil_err err;
    CU_ASSERT_EQUAL(veil_ledger_spend(p, "q", digest, 1, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL(stat(p, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 07777, 0600);
    char lock[512];
    snprintf(lock, sizeof lock, "%s.lock", p);
    CU_ASSERT_EQUAL(stat(lock, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 07777, 0600);
    umask(old);
    free(p);
}

static void test_spends_accumulate_exactly(void)
{
    char *p = fresh("acc.ledger", VEIL_EPS_UNIT);
    veil_err err;
    uint64_t left = 0;
    for (uint64_t i = 1; i <= 10; i++) {
        CU_ASSERT_EQUAL(veil_ledger_spend(p, "tenth", digest, 100000, &left, &err), VEIL_OK);
        CU_ASSERT_EQUAL(left, VEIL_EPS_UNIT - i * 100000);
    }
    CU_ASSERT_EQUAL(left, 0);
    ASSERT_ERR_IS(veil_ledger_spend(p, "more", digest, 1, &left, &err), err, VEIL_ERR_USAGE,
                  "dataset tax: this query needs epsilon 0.000001 but only 0 of 1 is left");
    veil_ledger l;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.nspends, 10);
    CU_ASSERT_EQUAL(l.spent, VEIL_EPS_UNIT);
    veil_ledger_free(&l);
    free(p);
}

static void test_over_budget_leaves_file_identical(void)
{
    char *p = fresh("over.ledger", VEIL_EPS_UNIT);
    veil_err err;
    uint64_t left = 0;
    CU_ASSERT_EQUAL(veil_ledger_spend(p, "a", digest, 700000, &left, &err), VEIL_OK);
    CU_ASSERT_EQUAL(left, 300000);
    size_t len0, len1;
    char *before = tu_read_file(p, &len0);
    left = 12345;
    ASSERT_ERR_IS(veil_ledger_spend(p, "b", digest, 500000, &left, &err), err, VEIL_ERR_USAGE,
                  "dataset tax: this query needs epsilon 0.5 but only 0.3 of 1 is left");
    CU_ASSERT_EQUAL(left, 12345);
    char *after = tu_read_file(p, &len1);
    CU_ASSERT_EQUAL_FATAL(len0, len1);
    CU_ASSERT_EQUAL(memcmp(before, after, len0), 0);
    /* Bad arguments are usage errors and write nothing either. */
    ASSERT_ERR_IS(veil_ledger_spend(p, "b", digest, 0, NULL, &err), err, VEIL_ERR_USAGE,
                  "a spend needs an epsilon greater than 0");
    ASSERT_ERR_IS(veil_ledger_spend(p, "", digest, 1, NULL, &err), err, VEIL_ERR_USAGE,
                  "query id must be 1 to 128 printable ASCII characters");
    free(after);
    after = tu_read_file(p, &len1);
    CU_ASSERT_EQUAL(len0, len1);
    CU_ASSERT_EQUAL(memcmp(before, after, len0), 0);
    free(before);
    free(after);
    free(p);
}

/* veil_ledger_check: what is left, the same refusal as a spend, and the
 * file never touched. */
static void test_check_writes_nothing(void)
{
    char *p = fresh("check.ledger", VEIL_EPS_UNIT);
    veil_err err;
    uint64_t left = 0;
    CU_ASSERT_EQUAL(veil_ledger_spend(p, "a", digest, 700000, &left, &err), VEIL_OK);
    size_t len0, len1;
    char *before = tu_read_file(p, &len0);
    left = 0;
    CU_ASSERT_EQUAL(veil_ledger_check(p, 300000, &left, &err), VEIL_OK);
    CU_ASSERT_EQUAL(left, 300000);
    CU_ASSERT_EQUAL(veil_ledger_check(p, 300000, NULL, &err), VEIL_OK);
    left = 12345;
    ASSERT_ERR_IS(veil_ledger_check(p, 300001, &left, &err), err, VEIL_ERR_USAGE,
                  "dataset tax: this query needs epsilon 0.300001 but only 0.3 of 1 is left");
    CU_ASSERT_EQUAL(left, 12345);
    ASSERT_ERR_IS(veil_ledger_check(p, 0, NULL, &err), err, VEIL_ERR_USAGE,
                  "a spend needs an epsilon greater than 0");
    char *after = tu_read_file(p, &len1);
    CU_ASSERT_EQUAL_FATAL(len0, len1);
    CU_ASSERT_EQUAL(memcmp(before, after, len0), 0);
    /* A check reserves nothing: the spend it allowed still succeeds once. */
    CU_ASSERT_EQUAL(veil_ledger_spend(p, "b", digest, 300000, &left, &err), VEIL_OK);
    CU_ASSERT_EQUAL(left, 0);
    ASSERT_ERR_IS(veil_ledger_check(p, 1, NULL, &err), err, VEIL_ERR_USAGE,
                  "dataset tax: this query needs epsilon 0.000001 but only 0 of 1 is left");
    /* A missing ledger is an I/O error, and a check creates nothing. */
    char *missing = tu_path(dir, "none.ledger"), *lock = tu_path(dir, "none.ledger.lock");
    CU_ASSERT_EQUAL(veil_ledger_check(missing, 1, NULL, &err), VEIL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "none.ledger"));
    CU_ASSERT_EQUAL(access(missing, F_OK), -1);
    CU_ASSERT_EQUAL(access(lock, F_OK), -1);
    free(missing);
    free(lock);
    free(before);
    free(after);
    free(p);
}

static void test_concurrent_spenders_are_serialized(void)
{
    char *p = fresh("conc.ledger", 2 * VEIL_EPS_UNIT);
    pid_t pids[4];
    fflush(NULL);
    for (int k = 0; k < 4; k++) {
        pids[k] = fork();
        CU_ASSERT_FATAL(pids[k] >= 0);
        if (pids[k] == 0) {
            veil_err err;
            for (int i = 0; i < 5; i++)
                if (veil_ledger_spend(p, "concurrent", digest, 100000, NULL, &err) != VEIL_OK)
                    _exit(1);
            _exit(0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(pids[k], &status, 0), pids[k]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    veil_ledger l;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_load(&l, p, &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.nspends, 20);
    CU_ASSERT_EQUAL(l.spent, 2 * VEIL_EPS_UNIT);
    veil_ledger_free(&l);
    free(p);
}

#define DG   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD "{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":\"1\","
#define SPEND(t, e)                                                                                \
    "{\"time\":\"" t "\",\"query\":\"q\",\"digest\":\"" DG "\",\"epsilon\":\"" e "\"}"
#define T0 "2026-12-04T15:04:05Z"

static void expect_parse_error(const char *text, const char *want)
{
    veil_ledger l;
    veil_err err;
    veil_err_clear(&err);
    veil_status st = veil_ledger_parse(&l, text, strlen(text), "tax.ledger", &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_INPUT);
    CU_ASSERT_EQUAL(l.nspends, 0);
    CU_ASSERT_PTR_NULL(l.spends);
    if (strcmp(err.msg, want) != 0) {
        fprintf(stderr, "\n  input    %s\n  expected \"%s\"\n  got      \"%s\"\n", text, want,
                err.msg);
        CU_FAIL("error message mismatch");
    }
}

static void test_parse_accepts_the_documented_example(void)
{
    const char *text =
        HEAD "\"spends\":[" SPEND(T0, "0.5") "," SPEND("2028-02-29T23:59:59Z", "0.5") "]}";
    veil_ledger l;
    veil_err err;
    CU_ASSERT_EQUAL_FATAL(veil_ledger_parse(&l, text, strlen(text), "tax.ledger", &err), VEIL_OK);
    CU_ASSERT_EQUAL(l.budget, VEIL_EPS_UNIT);
    CU_ASSERT_EQUAL(l.spent, VEIL_EPS_UNIT);
    CU_ASSERT_EQUAL(l.nspends, 2);
    CU_ASSERT_STRING_EQUAL(l.spends[0].time, T0);
    CU_ASSERT_EQUAL(l.spends[0].digest[0], 0x01);
    CU_ASSERT_EQUAL(l.spends[0].digest[31], 0xef);
    veil_ledger_free(&l);
}

static void test_parse_errors_name_the_field(void)
{
    expect_parse_error("[]", "tax.ledger: not a JSON object");
    expect_parse_error(HEAD "\"spends\":[]", "tax.ledger:1:67: '}' expected near end of file");
    expect_parse_error(HEAD "\"spends\":[],\"extra\":1}", "tax.ledger: \"extra\": unknown field");
    expect_parse_error(HEAD "\"spends\":[{\"time\":\"" T0 "\",\"query\":\"q\",\"digest\":\"" DG
                            "\",\"epsilon\":\"0.1\",\"note\":\"x\"}]}",
                       "tax.ledger: spends[0]: \"note\": unknown field");
    expect_parse_error("{\"format\":\"veil-ledger-v2\",\"dataset\":\"tax\",\"budget\":\"1\","
                       "\"spends\":[]}",
                       "tax.ledger: format: \"veil-ledger-v2\" is not \"veil-ledger-v1\"");
    expect_parse_error("{\"format\":1,\"dataset\":\"tax\",\"budget\":\"1\",\"spends\":[]}",
                       "tax.ledger: format: must be a string");
    expect_parse_error("{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax office\",\"budget\":"
                       "\"1\",\"spends\":[]}",
                       "tax.ledger: dataset: must be 1 to 64 of A-Z a-z 0-9 . _ -");
    expect_parse_error("{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":\"0\","
                       "\"spends\":[]}",
                       "tax.ledger: budget: must be greater than 0");
    expect_parse_error("{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":1,"
                       "\"spends\":[]}",
                       "tax.ledger: budget: must be a string");
    expect_parse_error("{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":\"-1\","
                       "\"spends\":[]}",
                       "tax.ledger: budget: epsilon '-1' is not a decimal number");
    expect_parse_error("{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":\"1\"}",
                       "tax.ledger: spends: missing");
    expect_parse_error(HEAD "\"spends\":{}}", "tax.ledger: spends: must be a list");
    expect_parse_error(HEAD "\"spends\":[1]}", "tax.ledger: spends[0]: must be an object");
    expect_parse_error(HEAD "\"spends\":[" SPEND("2026-13-01T00:00:00Z", "0.1") "]}",
                       "tax.ledger: spends[0].time: \"2026-13-01T00:00:00Z\" is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ");
    expect_parse_error(
        HEAD "\"spends\":[" SPEND(T0, "0.1") "," SPEND("2026-02-29T00:00:00Z", "0.1") "]}",
        "tax.ledger: spends[1].time: \"2026-02-29T00:00:00Z\" is not a UTC time "
        "YYYY-MM-DDTHH:MM:SSZ");
    expect_parse_error(HEAD "\"spends\":[" SPEND("2026-12-04 15:04:05Z", "0.1") "]}",
                       "tax.ledger: spends[0].time: \"2026-12-04 15:04:05Z\" is not a UTC time "
                       "YYYY-MM-DDTHH:MM:SSZ");
    expect_parse_error(HEAD "\"spends\":[{\"time\":\"" T0 "\",\"query\":\"q\",\"digest\":\"" DG
                            "0\",\"epsilon\":\"0.1\"}]}",
                       "tax.ledger: spends[0].digest: must be 64 lowercase hex digits "
                       "(BLAKE2b-256)");
    expect_parse_error(HEAD "\"spends\":[{\"time\":\"" T0 "\",\"query\":\"q\",\"digest\":\""
                            "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
                            "\",\"epsilon\":\"0.1\"}]}",
                       "tax.ledger: spends[0].digest: must be 64 lowercase hex digits "
                       "(BLAKE2b-256)");
    expect_parse_error(HEAD "\"spends\":[{\"time\":\"" T0 "\",\"query\":\"\",\"digest\":\"" DG
                            "\",\"epsilon\":\"0.1\"}]}",
                       "tax.ledger: spends[0].query: must be 1 to 128 printable ASCII characters");
    expect_parse_error(HEAD "\"spends\":[" SPEND(T0, "0") "]}",
                       "tax.ledger: spends[0].epsilon: must be greater than 0");
    expect_parse_error(HEAD "\"spends\":[{\"time\":\"" T0 "\",\"query\":\"q\",\"digest\":\"" DG
                            "\"}]}",
                       "tax.ledger: spends[0].epsilon: missing");
    expect_parse_error(
        HEAD "\"spends\":[" SPEND(T0, "0.5") "," SPEND(T0, "0.3") "," SPEND(T0, "0.200001") "]}",
        "tax.ledger: spends[2].epsilon: the spends add up to 1.000001, more than "
        "the budget of 1");
    expect_parse_error("", "tax.ledger:1:0: '[' or '{' expected near end of file");
}

static void test_symlink_and_wide_mode_refused(void)
{
    char *p = fresh("real.ledger", VEIL_EPS_UNIT);
    char *s = tu_path(dir, "link.ledger");
    CU_ASSERT_EQUAL_FATAL(symlink(p, s), 0);
    veil_ledger l;
    veil_err err;
    char want[512];
    snprintf(want, sizeof want, "%s: is a symbolic link; a ledger must be a regular file", s);
    ASSERT_ERR_IS(veil_ledger_load(&l, s, &err), err, VEIL_ERR_INPUT, want);
    ASSERT_ERR_IS(veil_ledger_spend(s, "q", digest, 1, NULL, &err), err, VEIL_ERR_INPUT, want);
    snprintf(want, sizeof want, "%s: not a regular file", dir);
    ASSERT_ERR_IS(veil_ledger_load(&l, dir, &err), err, VEIL_ERR_INPUT, want);

    CU_ASSERT_EQUAL_FATAL(chmod(p, 0644), 0);
    snprintf(want, sizeof want,
             "%s: the ledger is readable by group or others (mode 0644); run chmod 600 %s", p, p);
    ASSERT_ERR_IS(veil_ledger_load(&l, p, &err), err, VEIL_ERR_USAGE, want);
    size_t len0, len1;
    char *before = tu_read_file(p, &len0);
    ASSERT_ERR_IS(veil_ledger_spend(p, "q", digest, 1, NULL, &err), err, VEIL_ERR_USAGE, want);
    char *after = tu_read_file(p, &len1);
    CU_ASSERT(len0 == len1 && memcmp(before, after, len0) == 0);
    free(before);
    free(after);
    free(s);
    free(p);
}

static void test_load_refuses_large_file(void)
{
    char *p = tu_path(dir, "big.ledger");
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fseek(f, VEIL_LEDGER_FILE_MAX, SEEK_SET), 0);
    CU_ASSERT_EQUAL(fputc(' ', f), ' ');
    fclose(f);
    CU_ASSERT_EQUAL(chmod(p, 0600), 0);
    veil_ledger l;
    veil_err err;
    char want[512];
    snprintf(want, sizeof want, "%s: larger than %u bytes", p, VEIL_LEDGER_FILE_MAX);
    ASSERT_ERR_IS(veil_ledger_load(&l, p, &err), err, VEIL_ERR_INPUT, want);
    unlink(p);
    free(p);
}

int main(void)
{
    static const tu_test tests[] = {
        {"init and load round trip", test_init_load_round_trip},
        {"init refuses an existing ledger without force", test_init_refuses_existing_without_force},
        {"ledger and lock files are mode 0600", test_file_mode_0600},
        {"spends accumulate exactly", test_spends_accumulate_exactly},
        {"over budget leaves the file byte-identical", test_over_budget_leaves_file_identical},
        {"check reports what is left, refuses like a spend, writes nothing",
         test_check_writes_nothing},
        {"concurrent spenders are serialized", test_concurrent_spenders_are_serialized},
        {"parse accepts the documented example", test_parse_accepts_the_documented_example},
        {"parse errors name the field", test_parse_errors_name_the_field},
        {"symlink and group-readable ledger refused", test_symlink_and_wide_mode_refused},
        {"load refuses a file over the limit", test_load_refuses_large_file},
        {NULL, NULL},
    };
    return tu_main("ledger", suite_init, suite_cleanup, tests);
}
