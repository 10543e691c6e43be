/* FF1 (NIST SP 800-38G): the nine published AES samples, round trips over
 * several radixes and the parameter checks. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/ff1.h"

static const char *const KEY256 =
    "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94";
static const char *const DIGITS = "0123456789";
static const char *const ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz";

static size_t unhex(unsigned char *out, const char *hex)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

typedef struct {
    size_t key_len; /* bytes of KEY256 used */
    const char *tweak;
    unsigned radix;
    const char *pt, *ct;
} sample;

/* NIST SP 800-38G FF1 samples 1..9 (AES-128, -192, -256 keys are prefixes
 * of the same 32 bytes). */
static const sample SAMPLES[] = {
    {16, "", 10, "0123456789", "2433477484"},
    {16, "39383736353433323130", 10, "0123456789", "6124200773"},
    {16, "3737373770717273373737", 36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"},
    {24, "", 10, "0123456789", "2830668132"},
    {24, "39383736353433323130", 10, "0123456789", "2496655549"},
    {24, "3737373770717273373737", 36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"},
    {32, "", 10, "0123456789", "6657667009"},
    {32, "39383736353433323130", 10, "0123456789", "1001623463"},
    {32, "3737373770717273373737", 36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"},
};

static void test_nist_samples(void)
{
    unsigned char key[32], tweak[32];
    unhex(key, KEY256);
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        const sample *s = &SAMPLES[i];
        size_t tl = unhex(tweak, s->tweak);
        veil_ff1 *f = NULL;
        veil_err err;
        CU_ASSERT_EQUAL_FATAL(veil_ff1_new(&f, key, s->key_len, s->radix, &err), VEIL_OK);
        const char *alpha = s->radix == 10 ? DIGITS : ALNUM;
        char ct[32], pt[32];
        size_t n = strlen(s->pt);
        CU_ASSERT_EQUAL(veil_ff1_encrypt_text(ct, f, alpha, s->pt, n, tweak, tl, &err), VEIL_OK);
        if (strcmp(ct, s->ct) != 0)
            fprintf(stderr, "\n  sample %zu: got %s want %s\n", i + 1, ct, s->ct);
        CU_ASSERT_STRING_EQUAL(ct, s->ct);
        CU_ASSERT_EQUAL(veil_ff1_decrypt_text(pt, f, alpha, s->ct, n, tweak, tl, &err), VEIL_OK);
        CU_ASSERT_STRING_EQUAL(pt, s->pt);
        veil_ff1_free(f);
    }
}

/* Round trips at radix 2, 10, 26, 256 and 65536, odd and even lengths. */
static void test_round_trips(void)
{
    static const unsigned radixes[] = {2, 10, 26, 256, 65536};
    static const size_t lens[] = {20, 7, 9, 3, 2};
    unsigned char key[32];
    unhex(key, KEY256);
    for (size_t r = 0; r < 5; r++) {
        veil_ff1 *f = NULL;
        veil_err err;
        CU_ASSERT_EQUAL_FATAL(veil_ff1_new(&f, key, 16, radixes[r], &err), VEIL_OK);
        for (size_t n = lens[r]; n < lens[r] + 6; n++) {
            uint16_t x[32], c[32], d[32];
            for (size_t i = 0; i < n; i++)
                x[i] = (uint16_t)((i * 7919u + n) % radixes[r]);
            CU_ASSERT_EQUAL(veil_ff1_encrypt(c, f, x, n, (const unsigned char *)"tw", 2, &err),
                            VEIL_OK);
            int differs = 0;
            for (size_t i = 0; i < n; i++) {
                CU_ASSERT(c[i] < radixes[r]);
                differs |= c[i] != x[i];
            }
            CU_ASSERT(differs);
            CU_ASSERT_EQUAL(veil_ff1_decrypt(d, f, c, n, (const unsigned char *)"tw", 2, &err),
                            VEIL_OK);
            CU_ASSERT_EQUAL(memcmp(d, x, n * sizeof *x), 0);
            /* another tweak, another ciphertext */
            CU_ASSERT_EQUAL(veil_ff1_encrypt(d, f, x, n, (const unsigned char *)"tx", 2, &err),
                            VEIL_OK);
            CU_ASSERT_NOT_EQUAL(memcmp(d, c, n * sizeof *x), 0);
        }
        veil_ff1_free(f);
    }
}

static void test_parameter_checks(void)
{
    unsigned char key[32] = {0};
    veil_ff1 *f = NULL;
    veil_err err;
    TU_ASSERT_ERR(veil_ff1_new(&f, key, 20, 10, &err), err, VEIL_ERR_USAGE, "16, 24 or 32 bytes");
    TU_ASSERT_ERR(veil_ff1_new(&f, key, 16, 1, &err), err, VEIL_ERR_USAGE, "radix 1 is outside");
    TU_ASSERT_ERR(veil_ff1_new(&f, key, 16, 65537, &err), err, VEIL_ERR_USAGE, "outside 2..65536");
    CU_ASSERT_EQUAL_FATAL(veil_ff1_new(&f, key, 16, 10, &err), VEIL_OK);
    uint16_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    TU_ASSERT_ERR(veil_ff1_encrypt(y, f, x, 5, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "fewer than 1000000 values");
    TU_ASSERT_ERR(veil_ff1_encrypt(y, f, x, 1, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "length 1 is outside");
    x[3] = 10;
    TU_ASSERT_ERR(veil_ff1_encrypt(y, f, x, 8, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "numeral 10 at position 4");
    char out[16];
    TU_ASSERT_ERR(veil_ff1_encrypt_text(out, f, "0123456789", "12345a78", 8, NULL, 0, &err), err,
                  VEIL_ERR_INPUT, "character 6 is not in the FF1 alphabet");
    TU_ASSERT_ERR(veil_ff1_encrypt_text(out, f, "01234567", "12345678", 8, NULL, 0, &err), err,
                  VEIL_ERR_USAGE, "alphabet has 8 characters but the radix is 10");
    veil_ff1_free(f);
}

int main(void)
{
    static const tu_test tests[] = {
        {"NIST SP 800-38G FF1 samples 1-9 encrypt and decrypt", test_nist_samples},
        {"round trips at radix 2..65536 with tweaks", test_round_trips},
        {"bad keys, radixes, lengths and numerals are refused", test_parameter_checks},
        {NULL, NULL},
    };
    return tu_main("ff1", NULL, NULL, tests);
}
