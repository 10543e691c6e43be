/* Fixed-point decimals: exact parsing, formatting and rescaling. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/fixed.h"

static void expect_parse(const char *text, unsigned scale, const char *want)
{
    veil_err err;
    mpz_t v, w;
    mpz_init(v);
    mpz_init_set_str(w, want, 10);
    veil_status st = veil_fixed_parse(v, text, strlen(text), scale, &err);
    CU_ASSERT_EQUAL(st, VEIL_OK);
    if (st != VEIL_OK || mpz_cmp(v, w) != 0) {
        gmp_fprintf(stderr, "\n  parse('%s', %u) = %Zd (%s), want %s\n", text, scale, v, err.msg,
                    want);
        CU_FAIL("wrong mantissa");
    }
    mpz_clears(v, w, NULL);
}

static void expect_parse_error(const char *text, unsigned scale, veil_status code,
                               const char *needle)
{
    veil_err err;
    mpz_t v;
    mpz_init(v);
    TU_ASSERT_ERR(veil_fixed_parse(v, text, strlen(text), scale, &err), err, code, needle);
    mpz_clear(v);
}

static void test_parse_valid_decimals(void)
{
    expect_parse("12345.67", 2, "1234567");
    expect_parse("-0.5", 2, "-50");
    expect_parse("+3", 0, "3");
    expect_parse(" 7 ", 1, "70");
    expect_parse("\t-7\t", 0, "-7");
    expect_parse("1.50", 1, "15"); /* trailing zeros beyond the scale are exact */
    expect_parse("2.000", 0, "2");
    expect_parse(".5", 1, "5");
    expect_parse("5.", 1, "50");
    expect_parse("-0", 2, "0");
    expect_parse("007.10", 2, "710");
    expect_parse("99999999999999999999999999999999.99", 2, "9999999999999999999999999999999999");
    expect_parse("-0.000000000000000000000000000001", 30, "-1");
    expect_parse(
        "1", VEIL_SCALE_MAX,
        "1" /* followed by 256 zeros */
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000");
}

static void test_parse_refuses_what_it_cannot_represent_exactly(void)
{
    expect_parse_error("1.5", 0, VEIL_ERR_INPUT, "has 1 decimal places but the scale is 0");
    expect_parse_error("12.345", 2, VEIL_ERR_INPUT, "never rounds");
    expect_parse_error("12a", 2, VEIL_ERR_INPUT, "'12a' is not a decimal number");
    expect_parse_error("", 2, VEIL_ERR_INPUT, "empty value");
    expect_parse_error("   ", 2, VEIL_ERR_INPUT, "empty value");
    expect_parse_error("-", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error(".", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("1e5", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("1,000", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("--1", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("1.2.3", 2, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("0x10", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("1 000", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("NaN", 0, VEIL_ERR_INPUT, "not a decimal number");
    expect_parse_error("1", VEIL_SCALE_MAX + 1, VEIL_ERR_USAGE, "scale 257");
}

static void test_parse_length_limit(void)
{
    char *big = malloc(VEIL_FIXED_TEXT_MAX + 2);
    memset(big, '9', VEIL_FIXED_TEXT_MAX + 1);
    big[VEIL_FIXED_TEXT_MAX + 1] = '\0';
    expect_parse_error(big, 0, VEIL_ERR_INPUT, "longer than 4096");
    big[VEIL_FIXED_TEXT_MAX] = '\0';
    veil_err err;
    mpz_t v;
    mpz_init(v);
    CU_ASSERT_EQUAL(veil_fixed_parse(v, big, strlen(big), 0, &err), VEIL_OK);
    mpz_t w;
    mpz_init(w);
    mpz_ui_pow_ui(w, 10, VEIL_FIXED_TEXT_MAX);
    mpz_sub_ui(w, w, 1); /* 4096 nines */
    CU_ASSERT(mpz_cmp(v, w) == 0);
    mpz_clears(v, w, NULL);
    free(big);
}

/* The parser must not read past len (the text need not be NUL-terminated). */
static void test_parse_respects_length(void)
{
    veil_err err;
    mpz_t v;
    mpz_init(v);
    CU_ASSERT_EQUAL(veil_fixed_parse(v, "123xyz", 3, 0, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_ui(v, 123) == 0);
    mpz_clear(v);
}

static void expect_format(const char *mantissa, unsigned scale, const char *want)
{
    mpz_t v;
    mpz_init_set_str(v, mantissa, 10);
    char *s = veil_fixed_format(v, scale);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    if (strcmp(s, want) != 0) {
        fprintf(stderr, "\n  format(%s, %u) = '%s', want '%s'\n", mantissa, scale, s, want);
        CU_FAIL("wrong format");
    }
    free(s);
    mpz_clear(v);
}

static void test_format(void)
{
    expect_format("1234567", 2, "12345.67");
    expect_format("-50", 2, "-0.50");
    expect_format("5", 3, "0.005");
    expect_format("-5", 3, "-0.005");
    expect_format("0", 2, "0.00");
    expect_format("-5", 0, "-5");
    expect_format("100", 2, "1.00");
    expect_format("123456789012345678901234567890", 0, "123456789012345678901234567890");
}

static void test_format_parse_round_trip(void)
{
    veil_err err;
    mpz_t v, back;
    mpz_inits(v, back, NULL);
    for (unsigned scale = 0; scale <= 6; scale++) {
        for (long x = -2000; x <= 2000; x += 37) {
            mpz_set_si(v, x * 1000003L);
            char *s = veil_fixed_format(v, scale);
            CU_ASSERT_EQUAL(veil_fixed_parse(back, s, strlen(s), scale, &err), VEIL_OK);
            CU_ASSERT(mpz_cmp(v, back) == 0);
            free(s);
        }
    }
    mpz_clears(v, back, NULL);
}

static void test_rescale(void)
{
    veil_err err;
    mpz_t v, r;
    mpz_init_set_si(v, -1234);
    mpz_init(r);
    CU_ASSERT_EQUAL(veil_fixed_rescale(r, v, 2, 4, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_si(r, -123400) == 0);
    CU_ASSERT_EQUAL(veil_fixed_rescale(r, r, 4, 2, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_si(r, -1234) == 0);
    TU_ASSERT_ERR(veil_fixed_rescale(r, v, 2, 0, &err), err, VEIL_ERR_INPUT,
                  "cannot lower the scale from 2 to 0");
    mpz_clears(v, r, NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"parse valid decimals exactly", test_parse_valid_decimals},
        {"parse refuses inexact or malformed numbers",
         test_parse_refuses_what_it_cannot_represent_exactly},
        {"parse length limit", test_parse_length_limit},
        {"parse respects the given length", test_parse_respects_length},
        {"format", test_format},
        {"format/parse round trip", test_format_parse_round_trip},
        {"rescale up and exact down", test_rescale},
        {NULL, NULL},
    };
    return tu_main("fixed", NULL, NULL, tests);
}
