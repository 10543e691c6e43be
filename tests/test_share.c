/* Tests for secret sharing (veil/share.h) and share files
 * (veil/sharefile.h): the field against GMP, reconstruction from every
 * t-subset, seeded shares, chunked splitting, the consistency check, the
 * secrecy of t-1 shares, share file round trips and every refusal, and
 * `veil share split` / `veil share combine` end to end. */
#include <gmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/proto/share.pb-c.h"
#include "veil/share.h"
#include "veil/sharefile.h"

static char *g_dir;

static int suite_init(void)
{
    if (sodium_init() < 0)
        return -1;
    g_dir = tu_tempdir();
    return g_dir == NULL ? -1 : 0;
}

static int suite_cleanup(void)
{
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* ================= the field ================= */

static void fe_to_mpz(mpz_t out, veil_fe x)
{
    mpz_set_ui(out, (unsigned long)(uint64_t)(x >> 64));
    mpz_mul_2exp(out, out, 64);
    mpz_add_ui(out, out, (unsigned long)(uint64_t)x);
}

static veil_fe random_fe(void)
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    b[15] &= 0x7f;
    veil_fe x = 0;
    for (int i = 15; i >= 0; i--)
        x = (x << 8) | b[i];
    return x == veil_fe_p() ? 0 : x;
}

/* Edge values, then random ones. */
static size_t field_values(veil_fe *v, size_t max)
{
    veil_fe p = veil_fe_p(), one = 1;
    veil_fe edges[] = {0,
                       1,
                       2,
                       3,
                       p - 1,
                       p - 2,
                       (p - 1) / 2,
                       (p + 1) / 2,
                       one << 126,
                       (one << 126) - 1,
                       (one << 126) + 1,
                       (one << 64) - 1,
                       one << 64,
                       (one << 64) + 1,
                       one << 63,
                       (one << 63) - 1,
                       (veil_fe)UINT64_MAX * UINT64_MAX % p,
                       p - (one << 64)};
    size_t n = sizeof edges / sizeof edges[0];
    memcpy(v, edges, sizeof edges);
    while (n < max)
        v[n++] = random_fe();
    return n;
}

static void test_field_mul_add_sub_against_gmp(void)
{
    veil_fe v[60];
    size_t n = field_values(v, 60);
    mpz_t p, a, b, want, got;
    mpz_inits(p, a, b, want, got, NULL);
    fe_to_mpz(p, veil_fe_p());
    CU_ASSERT_EQUAL(mpz_sizeinbase(p, 2), 127);
    CU_ASSERT(mpz_probab_prime_p(p, 30) > 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        fe_to_mpz(a, v[i]);
        CU_ASSERT(mpz_cmp(a, p) < 0);
        for (size_t j = 0; j < n; j++) {
            fe_to_mpz(b, v[j]);
            mpz_mul(want, a, b);
            mpz_mod(want, want, p);
            fe_to_mpz(got, veil_fe_mul(v[i], v[j]));
            bad += mpz_cmp(want, got) != 0;
            mpz_add(want, a, b);
            mpz_mod(want, want, p);
            fe_to_mpz(got, veil_fe_add(v[i], v[j]));
            bad += mpz_cmp(want, got) != 0;
            mpz_sub(want, a, b);
            mpz_mod(want, want, p);
            fe_to_mpz(got, veil_fe_sub(v[i], v[j]));
            bad += mpz_cmp(want, got) != 0;
        }
        mpz_neg(want, a);
        mpz_mod(want, want, p);
        fe_to_mpz(got, veil_fe_neg(v[i]));
        bad += mpz_cmp(want, got) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Powers of two and their neighbours: 2^a 2^b = 2^((a+b) mod 127),
     * and (2^a - 1)(2^b + 1) against GMP, for every a, b < 127. */
    for (unsigned x = 0; x < 127; x++) {
        for (unsigned y = 0; y < 127; y++) {
            veil_fe ea = (veil_fe)1 << x, eb = (veil_fe)1 << y;
            bad += veil_fe_mul(ea, eb) != (veil_fe)1 << ((x + y) % 127);
            fe_to_mpz(a, ea - 1);
            fe_to_mpz(b, eb + 1);
            mpz_mul(want, a, b);
            mpz_mod(want, want, p);
            fe_to_mpz(got, veil_fe_mul(ea - 1, veil_fe_add(eb, 1)));
            bad += mpz_cmp(want, got) != 0;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* A long chain of products stays equal to GMP's. */
    veil_fe acc = 1;
    mpz_set_ui(want, 1);
    for (int i = 0; i < 10000; i++) {
        veil_fe x = random_fe();
        acc = veil_fe_mul(acc, x);
        fe_to_mpz(a, x);
        mpz_mul(want, want, a);
        mpz_mod(want, want, p);
    }
    fe_to_mpz(got, acc);
    CU_ASSERT_EQUAL(mpz_cmp(want, got), 0);
    mpz_clears(p, a, b, want, got, NULL);
}

static void test_field_inv(void)
{
    veil_fe v[40];
    size_t n = field_values(v, 40);
    mpz_t p, a, want, got;
    mpz_inits(p, a, want, got, NULL);
    fe_to_mpz(p, veil_fe_p());
    CU_ASSERT(veil_fe_inv(0) == 0);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0)
            continue;
        veil_fe r = veil_fe_inv(v[i]);
        CU_ASSERT(veil_fe_mul(r, v[i]) == 1);
        fe_to_mpz(a, v[i]);
        CU_ASSERT(mpz_invert(want, a, p) != 0);
        fe_to_mpz(got, r);
        CU_ASSERT_EQUAL(mpz_cmp(want, got), 0);
    }
    mpz_clears(p, a, want, got, NULL);
}

static void test_field_i64_round_trip(void)
{
    veil_fe p = veil_fe_p();
    int64_t vals[] = {0,
                      1,
                      -1,
                      2,
                      -2,
                      INT64_MAX,
                      INT64_MIN,
                      INT64_MAX - 1,
                      INT64_MIN + 1,
                      1000000000000LL,
                      -1000000000000LL,
                      4294967296LL,
                      -4294967296LL};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        veil_fe x = veil_fe_from_i64(vals[i]);
        CU_ASSERT(x < p);
        CU_ASSERT(veil_fe_to_i128(x) == (__int128)vals[i]);
    }
    for (int i = 0; i < 1000; i++) {
        int64_t v;
        randombytes_buf(&v, sizeof v);
        CU_ASSERT(veil_fe_to_i128(veil_fe_from_i64(v)) == (__int128)v);
    }
    CU_ASSERT(veil_fe_from_i64(-1) == p - 1);
    CU_ASSERT(veil_fe_from_i64(INT64_MIN) == p - ((veil_fe)1 << 63));
    /* The decoding boundary: (p-1)/2 is positive, (p+1)/2 the most negative. */
    CU_ASSERT(veil_fe_to_i128((p - 1) / 2) == (__int128)((p - 1) / 2));
    CU_ASSERT(veil_fe_to_i128((p + 1) / 2) == -(__int128)((p - 1) / 2));
    /* Sums of int64 extremes decode exactly. */
    veil_fe s = 0;
    for (int i = 0; i < 1000; i++)
        s = veil_fe_add(s, veil_fe_from_i64(INT64_MIN));
    CU_ASSERT(veil_fe_to_i128(s) == (__int128)INT64_MIN * 1000);
}

static void test_field_store_load(void)
{
    veil_err err;
    veil_fe v[30], x;
    size_t n = field_values(v, 30);
    uint8_t b[VEIL_FE_BYTES];
    for (size_t i = 0; i < n; i++) {
        veil_fe_store(b, v[i]);
        CU_ASSERT_EQUAL(veil_fe_load(&x, b, &err), VEIL_OK);
        CU_ASSERT(x == v[i]);
    }
    veil_fe_store(b, 0x0102);
    CU_ASSERT(b[0] == 0x02 && b[1] == 0x01 && b[2] == 0); /* little-endian */
    veil_fe_store(b, veil_fe_p() - 1);
    CU_ASSERT_EQUAL(veil_fe_load(&x, b, &err), VEIL_OK);
    /* p itself and 2^128 - 1 are refused. */
    memset(b, 0xff, sizeof b);
    b[15] = 0x7f;
    veil_status st = veil_fe_load(&x, b, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "field element out of range");
    memset(b, 0xff, sizeof b);
    st = veil_fe_load(&x, b, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "field element out of range");
}

static void check_format(__int128 v, unsigned scale, const char *want)
{
    char buf[48 + 8];
    size_t n = veil_i128_format(buf, sizeof buf, v, scale);
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "\n  format: got \"%s\", want \"%s\"\n", buf, want);
}

static void test_i128_format(void)
{
    __int128 min128 = -(__int128)(((unsigned __int128)1 << 127) - 1) - 1;
    check_format(0, 0, "0");
    check_format(0, 2, "0.00");
    check_format(7, 0, "7");
    check_format(-7, 0, "-7");
    check_format(123, 0, "123");
    check_format(-1250, 2, "-12.50");
    check_format(1250, 2, "12.50");
    check_format(-5, 2, "-0.05");
    check_format(5, 2, "0.05");
    check_format(-50, 2, "-0.50");
    check_format(100, 2, "1.00");
    check_format(-1, 3, "-0.001");
    check_format(99, 2, "0.99");
    check_format(INT64_MAX, 0, "9223372036854775807");
    check_format(INT64_MIN, 0, "-9223372036854775808");
    check_format(INT64_MIN, 2, "-92233720368547758.08");
    check_format((__int128)INT64_MIN * 1000, 5, "-92233720368547758.08000");
    check_format(min128, 0, "-170141183460469231731687303715884105728");
    check_format(min128 + 1, 3, "-170141183460469231731687303715884105.727");
    check_format(-(min128 + 1), 0, "170141183460469231731687303715884105727");
    /* A short buffer is filled and terminated, never overrun. */
    char small[4];
    size_t n = veil_i128_format(small, sizeof small, -12345, 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(small, "-12");
}

/* ================= sharing ================= */

/* Random int64 values with negatives and both extremes. */
static void random_secret(veil_fe *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int64_t v;
        randombytes_buf(&v, sizeof v);
        switch (i % 7) {
        case 0: v = INT64_MIN; break;
        case 1: v = INT64_MAX; break;
        case 2: v = -(v & 0xffff); break;
        case 3: v = 0; break;
        default: break;
        }
        s[i] = veil_fe_from_i64(v);
    }
}

/* All n shares of secret[0..len): seeded parties' shares expanded from
 * their seeds. shares[i] is malloc'd (free with free_shares). */
static veil_fe **split_all(const veil_share_plan *plan, unsigned n, const veil_fe *secret,
                           size_t len)
{
    veil_fe **sh = calloc(n, sizeof *sh);
    for (unsigned i = 0; i < n; i++)
        sh[i] = calloc(len > 0 ? len : 1, sizeof **sh);
    veil_fe **out = calloc(n, sizeof *out);
    uint8_t seed[VEIL_SHARE_SEED];
    for (unsigned i = 0; i < n; i++) {
        if (veil_share_plan_seed(plan, i + 1, seed))
            veil_share_expand(sh[i], seed, 0, len);
        else
            out[i] = sh[i];
    }
    veil_share_plan_split(plan, secret, 0, len, out);
    free(out);
    return sh;
}

static void free_shares(veil_fe **sh, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(sh[i]);
    free(sh);
}

/* Reconstructs from the parties in `mask` (bit i = party i + 1), in
 * increasing or decreasing order, and compares with secret. */
static int reconstruct_mask(veil_scheme scheme, unsigned n, unsigned t, veil_fe **sh, unsigned mask,
                            int reverse, const veil_fe *secret, size_t len)
{
    veil_share_part parts[VEIL_SHARE_PARTIES_MAX];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned idx = reverse ? n - 1 - i : i;
        if (mask & (1u << idx)) {
            parts[k].index = idx + 1;
            parts[k].values = sh[idx];
            k++;
        }
    }
    veil_fe *got = calloc(len, sizeof *got);
    veil_err err;
    veil_status st = veil_share_reconstruct(got, scheme, n, t, parts, k, 0, len, &err);
    if (st != VEIL_OK)
        fprintf(stderr, "\n  reconstruct: %s\n", err.msg);
    int ok = st == VEIL_OK && memcmp(got, secret, len * sizeof *got) == 0;
    free(got);
    return ok;
}

static void check_every_subset(veil_scheme scheme, unsigned n, unsigned t)
{
    veil_err err;
    size_t len = 1031; /* not a multiple of the block sizes */
    veil_fe *secret = malloc(len * sizeof *secret);
    random_secret(secret, len);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&plan, scheme, n, t, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_share_seeded_count(scheme, n, t),
                    scheme == VEIL_SCHEME_ADDITIVE ? n - 1 : t - 1);
    veil_fe **sh = split_all(plan, n, secret, len);
    unsigned subsets = 0, good = 0;
    for (unsigned mask = 1; mask < (1u << n); mask++) {
        if ((unsigned)__builtin_popcount(mask) != t)
            continue;
        subsets++;
        good += reconstruct_mask(scheme, n, t, sh, mask, (int)(mask % 2), secret, len);
    }
    CU_ASSERT_EQUAL(good, subsets);
    /* All n at once: the extra shares pass the consistency check. */
    CU_ASSERT(reconstruct_mask(scheme, n, t, sh, (1u << n) - 1, 1, secret, len));
    /* The shares are not the secret in disguise: every share differs from
     * it almost everywhere. */
    for (unsigned i = 0; i < n; i++) {
        size_t same = 0;
        for (size_t e = 0; e < len; e++)
            same += sh[i][e] == secret[e];
        CU_ASSERT(same < 3);
    }
    free_shares(sh, n);
    veil_share_plan_free(plan);
    free(secret);
}

static void test_shamir_every_subset(void)
{
    static const unsigned nt[][2] = {{2, 2}, {3, 2}, {3, 3}, {5, 3}, {7, 4}, {7, 7}, {7, 2}};
    for (size_t i = 0; i < sizeof nt / sizeof nt[0]; i++)
        check_every_subset(VEIL_SCHEME_SHAMIR, nt[i][0], nt[i][1]);
}

static void test_additive_all_parties(void)
{
    check_every_subset(VEIL_SCHEME_ADDITIVE, 2, 2);
    check_every_subset(VEIL_SCHEME_ADDITIVE, 3, 3);
    check_every_subset(VEIL_SCHEME_ADDITIVE, 5, 5);
}

static void test_large_n(void)
{
    /* 255 parties, threshold 128: any 128 of them, here the last 128 in
     * reverse and a scattered set. */
    veil_err err;
    unsigned n = 255, t = 128;
    size_t len = 40;
    veil_fe secret[40];
    random_secret(secret, len);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, n, t, &err), VEIL_OK);
    veil_fe **sh = split_all(plan, n, secret, len);
    veil_share_part parts[255];
    veil_fe got[40];
    for (unsigned i = 0; i < t; i++) {
        parts[i].index = n - i;
        parts[i].values = sh[n - i - 1];
    }
    CU_ASSERT_EQUAL(veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, n, t, parts, t, 0, len, &err),
                    VEIL_OK);
    CU_ASSERT(memcmp(got, secret, sizeof got) == 0);
    for (unsigned i = 0; i < t; i++) {
        parts[i].index = 2 * i + 1;
        parts[i].values = sh[2 * i];
    }
    CU_ASSERT_EQUAL(veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, n, t, parts, t, 0, len, &err),
                    VEIL_OK);
    CU_ASSERT(memcmp(got, secret, sizeof got) == 0);
    free_shares(sh, n);
    veil_share_plan_free(plan);
}

/* The seed stream definition: element i = bytes [16 i, 16 i + 16) of the
 * ChaCha20-IETF key stream (zero nonce, counter from 0), bit 127 cleared,
 * reduced mod p. Checked against libsodium's plain key stream, for every
 * start offset modulo 4 and odd counts, and against RFC 8439 A.1 #1. */
static void test_expand_definition(void)
{
    uint8_t seed[VEIL_SHARE_SEED];
    randombytes_buf(seed, sizeof seed);
    size_t total = 64;
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    uint8_t *ks = malloc(total * 16);
    CU_ASSERT_EQUAL(crypto_stream_chacha20_ietf(ks, total * 16, nonce, seed), 0);
    veil_fe want[64];
    for (size_t i = 0; i < total; i++) {
        veil_fe v = 0;
        for (int b = 15; b >= 0; b--)
            v = (v << 8) | ks[16 * i + (size_t)b];
        v &= veil_fe_p();
        want[i] = v == veil_fe_p() ? 0 : v;
    }
    unsigned bad = 0;
    for (uint64_t off = 0; off < 13; off++) {
        for (size_t cnt = 0; off + cnt <= total && cnt < 40; cnt += 1 + cnt / 3) {
            veil_fe got[64];
            got[cnt] = 12345; /* not touched */
            veil_share_expand(got, seed, off, cnt);
            bad += memcmp(got, want + off, cnt * sizeof *got) != 0;
            bad += got[cnt] != 12345;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(ks);
    /* All-zero key: the key stream starts 76 b8 e0 ad a0 f1 3d 90 40 5d 6a
     * e5 53 86 bd 28 | bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7. */
    uint8_t zero[VEIL_SHARE_SEED] = {0};
    veil_fe e[2];
    veil_share_expand(e, zero, 0, 2);
    veil_fe e0 = ((veil_fe)0x28bd8653e56a5d40ULL << 64) | 0x903df1a0ade0b876ULL;
    veil_fe e1 = ((veil_fe)0x470d778bccef36a8ULL << 64) | 0x1aed8da0b819d2bdULL; /* bit 127 off */
    CU_ASSERT(e[0] == e0);
    CU_ASSERT(e[1] == e1);
    /* Far offsets work (block counter past 2^24). */
    veil_fe far1[5], far2[3];
    veil_share_expand(far1, seed, ((uint64_t)1 << 26) + 1, 5);
    veil_share_expand(far2, seed, ((uint64_t)1 << 26) + 3, 3);
    CU_ASSERT(memcmp(far1 + 2, far2, sizeof far2) == 0);
}

static void test_seeded_shares_are_expansions(void)
{
    /* Split with known seeds: the plan hands out exactly those seeds, it
     * leaves the seeded parties' outputs alone, and the shares of all n
     * parties (seeded ones expanded) lie on one polynomial. */
    veil_err err;
    uint8_t seeds[4][VEIL_SHARE_SEED];
    randombytes_buf(seeds, sizeof seeds);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(
        veil_share_plan_new_with_seeds(&plan, VEIL_SCHEME_SHAMIR, 7, 5, seeds, &err), VEIL_OK);
    uint8_t s[VEIL_SHARE_SEED];
    for (unsigned i = 1; i <= 4; i++) {
        CU_ASSERT_EQUAL(veil_share_plan_seed(plan, i, s), 1);
        CU_ASSERT(memcmp(s, seeds[i - 1], sizeof s) == 0);
    }
    CU_ASSERT_EQUAL(veil_share_plan_seed(plan, 5, s), 0);
    CU_ASSERT_EQUAL(veil_share_plan_seed(plan, 0, s), 0);
    size_t len = 100;
    veil_fe secret[100], out[7][100];
    random_secret(secret, len);
    veil_fe *outs[7] = {NULL, NULL, NULL, NULL, out[4], out[5], out[6]};
    veil_share_plan_split(plan, secret, 0, len, outs);
    for (unsigned i = 0; i < 4; i++)
        veil_share_expand(out[i], seeds[i], 0, len);
    veil_share_part parts[7];
    for (unsigned i = 0; i < 7; i++) {
        parts[i].index = i + 1;
        parts[i].values = out[i];
    }
    veil_fe got[100];
    CU_ASSERT_EQUAL(veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 7, 5, parts, 7, 0, len, &err),
                    VEIL_OK);
    CU_ASSERT(memcmp(got, secret, sizeof got) == 0);
    veil_share_plan_free(plan);
    /* Fresh plans get fresh seeds. */
    veil_share_plan *p1 = NULL, *p2 = NULL;
    uint8_t a[VEIL_SHARE_SEED], b[VEIL_SHARE_SEED];
    CU_ASSERT_EQUAL(veil_share_plan_new(&p1, VEIL_SCHEME_ADDITIVE, 2, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_share_plan_new(&p2, VEIL_SCHEME_ADDITIVE, 2, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_share_plan_seed(p1, 1, a), 1);
    CU_ASSERT_EQUAL(veil_share_plan_seed(p2, 1, b), 1);
    CU_ASSERT(memcmp(a, b, sizeof a) != 0);
    veil_share_plan_free(p1);
    veil_share_plan_free(p2);
}

static void check_chunked(veil_scheme scheme, unsigned n, unsigned t)
{
    veil_err err;
    uint8_t seeds[VEIL_SHARE_PARTIES_MAX][VEIL_SHARE_SEED];
    randombytes_buf(seeds, sizeof seeds);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new_with_seeds(&plan, scheme, n, t, seeds, &err),
                          VEIL_OK);
    size_t len = 5000;
    veil_fe *secret = malloc(len * sizeof *secret);
    random_secret(secret, len);
    veil_fe **whole = calloc(n, sizeof *whole), **piece = calloc(n, sizeof *piece);
    veil_fe **out = calloc(n, sizeof *out);
    unsigned m = veil_share_seeded_count(scheme, n, t);
    for (unsigned i = m; i < n; i++) {
        whole[i] = calloc(len, sizeof **whole);
        piece[i] = calloc(len, sizeof **piece);
    }
    veil_share_plan_split(plan, secret, 0, len, whole);
    static const size_t cuts[] = {1, 3, 7, 2, 513, 1000, 5, 1};
    size_t off = 0;
    for (size_t c = 0; off < len; c++) {
        size_t cnt = c < sizeof cuts / sizeof cuts[0] ? cuts[c] : len - off;
        if (cnt > len - off)
            cnt = len - off;
        for (unsigned i = m; i < n; i++)
            out[i] = piece[i] + off;
        veil_share_plan_split(plan, secret + off, off, cnt, out);
        off += cnt;
    }
    for (unsigned i = m; i < n; i++)
        CU_ASSERT(memcmp(whole[i], piece[i], len * sizeof **whole) == 0);
    /* Reconstructing a middle chunk at its offset works too. */
    veil_share_part parts[VEIL_SHARE_PARTIES_MAX];
    veil_fe **seeded = calloc(n, sizeof *seeded);
    for (unsigned i = 0; i < n; i++) {
        parts[i].index = i + 1;
        if (i < m) {
            seeded[i] = malloc(77 * sizeof **seeded);
            veil_share_expand(seeded[i], seeds[i], 1001, 77);
            parts[i].values = seeded[i];
        } else {
            parts[i].values = whole[i] + 1001;
        }
    }
    veil_fe got[77];
    CU_ASSERT_EQUAL(veil_share_reconstruct(got, scheme, n, t, parts, n, 1001, 77, &err), VEIL_OK);
    CU_ASSERT(memcmp(got, secret + 1001, sizeof got) == 0);
    for (unsigned i = 0; i < n; i++) {
        free(whole[i]);
        free(piece[i]);
        free(seeded[i]);
    }
    free(seeded);
    free(whole);
    free(piece);
    free(out);
    free(secret);
    veil_share_plan_free(plan);
}

static void test_chunked_split_equals_whole(void)
{
    check_chunked(VEIL_SCHEME_SHAMIR, 5, 3);
    check_chunked(VEIL_SCHEME_SHAMIR, 7, 7);
    check_chunked(VEIL_SCHEME_ADDITIVE, 4, 4);
}

static void test_consistency_check(void)
{
    veil_err err;
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, 5, 3, &err), VEIL_OK);
    size_t len = 600;
    veil_fe *secret = malloc(len * sizeof *secret), got[600];
    random_secret(secret, len);
    veil_fe **sh = split_all(plan, 5, secret, len);
    veil_share_part parts[5];
    for (unsigned i = 0; i < 5; i++) {
        parts[i].index = i + 1;
        parts[i].values = sh[i];
    }
    /* Party 4 (an extra share) corrupted at element 517: named, with the
     * element counted from the offset given. */
    sh[3][517] = veil_fe_add(sh[3][517], 1);
    veil_status st =
        veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 5, 1000, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "party 4: its share of element 1517 does not lie");
    CU_ASSERT(strstr(err.msg, "parties 1, 2, 3") != NULL);
    /* With the first three alone the corruption is not visible. */
    CU_ASSERT_EQUAL(veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 3, 0, len, &err),
                    VEIL_OK);
    CU_ASSERT(memcmp(got, secret, sizeof got) == 0);
    /* Party 5 corrupted with party 4 left out. */
    sh[3][517] = veil_fe_sub(sh[3][517], 1);
    sh[4][3] = veil_fe_neg(sh[4][3]);
    veil_share_part p2[4] = {parts[1], parts[0], parts[2], parts[4]};
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, p2, 4, 0, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "party 5: its share of element 3 does not lie");
    /* Shares of two different splits do not mix. */
    sh[4][3] = veil_fe_neg(sh[4][3]);
    veil_share_plan *other = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&other, VEIL_SCHEME_SHAMIR, 5, 3, &err), VEIL_OK);
    veil_fe **sh2 = split_all(other, 5, secret, len);
    veil_share_part mix[4] = {parts[0], parts[1], parts[2], {4, sh2[3]}};
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, mix, 4, 0, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "party 4: its share of element 0 does not lie");
    free_shares(sh2, 5);
    veil_share_plan_free(other);
    free_shares(sh, 5);
    veil_share_plan_free(plan);
    free(secret);
}

static void test_bad_parameters(void)
{
    veil_err err;
    veil_share_plan *plan = NULL;
    veil_status st = veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, 1, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "1 parties: 2 to 255");
    CU_ASSERT_PTR_NULL(plan);
    st = veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, 256, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "256 parties: 2 to 255");
    st = veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, 5, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "Shamir threshold 1 out of range: 2 to 5");
    st = veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, 5, 6, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "Shamir threshold 6 out of range");
    st = veil_share_plan_new(&plan, VEIL_SCHEME_ADDITIVE, 5, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "threshold 3 must equal the 5 parties");
    st = veil_share_plan_new(&plan, (veil_scheme)7, 5, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "unknown sharing scheme 7");
    CU_ASSERT_PTR_NULL(plan);

    veil_fe v[3] = {1, 2, 3}, got[1];
    veil_share_part parts[3] = {{1, v}, {2, v + 1}, {3, v + 2}};
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 2, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "2 shares given; at least 3 are needed");
    parts[2].index = 1;
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 3, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "party 1 is given twice");
    parts[2].index = 0;
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 3, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "party index 0 out of range: 1 to 5");
    parts[2].index = 6;
    st = veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 3, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "party index 6 out of range: 1 to 5");
    parts[2].index = 3;
    st = veil_share_reconstruct(got, VEIL_SCHEME_ADDITIVE, 4, 4, parts, 3, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "needs the shares of all 4 parties; 3 given");
    st = veil_share_reconstruct(got, VEIL_SCHEME_ADDITIVE, 3, 2, parts, 3, 0, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "threshold 2 must equal the 3 parties");
}

/* ================= secrecy ================= */

/* g(x) for the polynomial of degree < k through (xs[i], ys[i]), by
 * Lagrange interpolation written here from the field operations alone. */
static veil_fe interpolate(const veil_fe *xs, const veil_fe *ys, unsigned k, veil_fe x)
{
    veil_fe acc = 0;
    for (unsigned m = 0; m < k; m++) {
        veil_fe num = 1, den = 1;
        for (unsigned l = 0; l < k; l++) {
            if (l == m)
                continue;
            num = veil_fe_mul(num, veil_fe_sub(x, xs[l]));
            den = veil_fe_mul(den, veil_fe_sub(xs[m], xs[l]));
        }
        acc = veil_fe_add(acc, veil_fe_mul(ys[m], veil_fe_mul(num, veil_fe_inv(den))));
    }
    return acc;
}

/* For every (t-1)-subset S of a real Shamir split and every candidate
 * secret s', the polynomial through (0, s') and S's points is a valid
 * degree t-1 sharing: its other shares, with S's real ones, reconstruct
 * to s' and pass the consistency check. So t-1 shares are consistent with
 * every secret and cannot tell them apart. */
static void check_secrecy_shamir(unsigned n, unsigned t)
{
    veil_err err;
    enum { LEN = 6 };
    veil_fe secret[LEN];
    random_secret(secret, LEN);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&plan, VEIL_SCHEME_SHAMIR, n, t, &err), VEIL_OK);
    veil_fe **sh = split_all(plan, n, secret, LEN);
    const int64_t cands[] = {0, 1, -1, INT64_MAX, INT64_MIN, 424242};
    unsigned checked = 0, good = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if ((unsigned)__builtin_popcount(mask) != t - 1)
            continue;
        for (size_t c = 0; c < sizeof cands / sizeof cands[0]; c++) {
            /* s' differs per element, so the test covers a vector. */
            veil_fe sp[LEN];
            for (size_t e = 0; e < LEN; e++)
                sp[e] = veil_fe_add(veil_fe_from_i64(cands[c]), (veil_fe)e);
            veil_fe fake[VEIL_SHARE_PARTIES_MAX][LEN];
            for (size_t e = 0; e < LEN; e++) {
                veil_fe xs[VEIL_SHARE_PARTIES_MAX], ys[VEIL_SHARE_PARTIES_MAX];
                unsigned k = 0;
                xs[k] = 0;
                ys[k++] = sp[e];
                for (unsigned i = 0; i < n; i++)
                    if (mask & (1u << i)) {
                        xs[k] = i + 1;
                        ys[k++] = sh[i][e];
                    }
                for (unsigned i = 0; i < n; i++)
                    fake[i][e] = (mask & (1u << i)) ? sh[i][e] : interpolate(xs, ys, t, i + 1);
            }
            /* Reconstruct from all n (S real, the rest derived). */
            veil_share_part parts[VEIL_SHARE_PARTIES_MAX];
            for (unsigned i = 0; i < n; i++) {
                parts[i].index = i + 1;
                parts[i].values = fake[i];
            }
            veil_fe got[LEN];
            veil_status st =
                veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, n, t, parts, n, 0, LEN, &err);
            checked++;
            good += st == VEIL_OK && memcmp(got, sp, sizeof got) == 0;
        }
    }
    CU_ASSERT_EQUAL(good, checked);
    CU_ASSERT(checked > 0);
    free_shares(sh, n);
    veil_share_plan_free(plan);
}

static void test_secrecy_shamir(void)
{
    check_secrecy_shamir(2, 2);
    check_secrecy_shamir(3, 2);
    check_secrecy_shamir(5, 3);
    check_secrecy_shamir(7, 4);
}

/* Additive: any n-1 real shares and a suitable last share give any s'. */
static void test_secrecy_additive(void)
{
    veil_err err;
    unsigned n = 5;
    enum { LEN = 4 };
    veil_fe secret[LEN];
    random_secret(secret, LEN);
    veil_share_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_share_plan_new(&plan, VEIL_SCHEME_ADDITIVE, n, n, &err), VEIL_OK);
    veil_fe **sh = split_all(plan, n, secret, LEN);
    const int64_t cands[] = {0, -1, INT64_MIN, INT64_MAX, 99};
    for (unsigned missing = 0; missing < n; missing++) {
        for (size_t c = 0; c < sizeof cands / sizeof cands[0]; c++) {
            veil_fe last[LEN], want[LEN], got[LEN];
            veil_share_part parts[8];
            for (size_t e = 0; e < LEN; e++) {
                want[e] = veil_fe_from_i64(cands[c] - (int64_t)(cands[c] > 0 ? e : 0));
                last[e] = want[e];
                for (unsigned i = 0; i < n; i++)
                    if (i != missing)
                        last[e] = veil_fe_sub(last[e], sh[i][e]);
            }
            for (unsigned i = 0; i < n; i++) {
                parts[i].index = i + 1;
                parts[i].values = i == missing ? last : sh[i];
            }
            CU_ASSERT_EQUAL(
                veil_share_reconstruct(got, VEIL_SCHEME_ADDITIVE, n, n, parts, n, 0, LEN, &err),
                VEIL_OK);
            CU_ASSERT(memcmp(got, want, sizeof got) == 0);
        }
    }
    free_shares(sh, n);
    veil_share_plan_free(plan);
}

/* ================= share files ================= */

static veil_sharefile_info make_info(unsigned index, int seeded)
{
    veil_sharefile_info in;
    memset(&in, 0, sizeof in);
    memset(in.split_id, 0xab, sizeof in.split_id);
    in.scheme = VEIL_SCHEME_SHAMIR;
    in.n = 5;
    in.t = 3;
    in.index = index;
    in.scale = 2;
    strcpy(in.column, "income");
    in.seeded = seeded;
    if (seeded)
        memset(in.seed, index, sizeof in.seed);
    return in;
}

/* Writes an unseeded share of len elements v[i] = i * 1000003 + 7. */
static char *write_values(const char *name, const veil_sharefile_info *in, size_t len)
{
    veil_err err;
    char *path = tu_path(g_dir, name);
    veil_sharefile_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_open(&w, path, in, &err), VEIL_OK);
    veil_fe buf[1000];
    for (size_t off = 0; off < len; off += 1000) {
        size_t cnt = len - off < 1000 ? len - off : 1000;
        for (size_t i = 0; i < cnt; i++)
            buf[i] = (veil_fe)(off + i) * 1000003 + 7 + ((veil_fe)1 << 126);
        CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_append(w, buf, cnt, &err), VEIL_OK);
    }
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_commit(w, &err), VEIL_OK);
    return path;
}

static void test_sharefile_round_trip(void)
{
    veil_err err;
    veil_sharefile_info in = make_info(4, 0);
    size_t len = 150001; /* ten frames, the last one partial */
    char *path = write_values("rt4.vsh", &in, len);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    veil_sharefile_info out;
    veil_fe *v = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_load(&out, &v, path, &err), VEIL_OK);
    CU_ASSERT_EQUAL(out.length, len);
    CU_ASSERT_EQUAL(out.index, 4);
    CU_ASSERT_EQUAL(out.n, 5);
    CU_ASSERT_EQUAL(out.t, 3);
    CU_ASSERT_EQUAL(out.scale, 2);
    CU_ASSERT_EQUAL(out.scheme, VEIL_SCHEME_SHAMIR);
    CU_ASSERT_STRING_EQUAL(out.column, "income");
    CU_ASSERT_EQUAL(out.seeded, 0);
    CU_ASSERT(memcmp(out.split_id, in.split_id, sizeof in.split_id) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < len; i++)
        bad += v[i] != (veil_fe)i * 1000003 + 7 + ((veil_fe)1 << 126);
    CU_ASSERT_EQUAL(bad, 0);
    free(v);
    /* Streaming in odd chunk sizes gives the same values. */
    veil_sharefile_reader *r = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_reader_open(&r, path, &err), VEIL_OK);
    size_t pos = 0, got;
    veil_fe buf[777];
    bad = 0;
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(veil_sharefile_reader_read(r, buf, 777, &got, &err), VEIL_OK);
        if (got == 0)
            break;
        for (size_t i = 0; i < got; i++)
            bad += buf[i] != (veil_fe)(pos + i) * 1000003 + 7 + ((veil_fe)1 << 126);
        pos += got;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(pos, len);
    veil_sharefile_reader_close(r);

    /* A seeded share: the file is small and reads as the expansion. */
    veil_sharefile_info sin = make_info(2, 1);
    sin.length = 70000;
    char *spath = tu_path(g_dir, "rt2.vsh");
    veil_sharefile_writer *w = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_open(&w, spath, &sin, &err), VEIL_OK);
    veil_fe one = 1;
    veil_status st = veil_sharefile_writer_append(w, &one, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "a seeded share takes no values");
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_commit(w, &err), VEIL_OK);
    CU_ASSERT_EQUAL(stat(spath, &sb), 0);
    CU_ASSERT(sb.st_size < 200);
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_load(&out, &v, spath, &err), VEIL_OK);
    CU_ASSERT_EQUAL(out.seeded, 1);
    CU_ASSERT_EQUAL(out.length, 70000);
    CU_ASSERT(memcmp(out.seed, sin.seed, sizeof sin.seed) == 0);
    veil_fe *want = malloc(70000 * sizeof *want);
    veil_share_expand(want, sin.seed, 0, 70000);
    CU_ASSERT(memcmp(v, want, 70000 * sizeof *want) == 0);
    free(want);
    free(v);
    /* An empty unseeded share. */
    char *epath = write_values("empty.vsh", &in, 0);
    CU_ASSERT_EQUAL(veil_sharefile_load(&out, &v, epath, &err), VEIL_OK);
    CU_ASSERT_EQUAL(out.length, 0);
    free(v);
    free(epath);
    free(spath);
    free(path);
}

static void test_sharefile_writer_refusals(void)
{
    veil_err err;
    veil_sharefile_writer *w = NULL;
    char *path = tu_path(g_dir, "refused.vsh");
    veil_sharefile_info in = make_info(4, 1);
    veil_status st = veil_sharefile_writer_open(&w, path, &in, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE,
                  "party 4 has a seed, but in a Shamir 3-of-5 split only parties 1 to 2");
    in = make_info(6, 0);
    st = veil_sharefile_writer_open(&w, path, &in, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "party index 6 out of range 1 to 5");
    in = make_info(1, 0);
    in.column[0] = 0;
    st = veil_sharefile_writer_open(&w, path, &in, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "the column name is empty");
    in = make_info(3, 0);
    CU_ASSERT_EQUAL_FATAL(veil_sharefile_writer_open(&w, path, &in, &err), VEIL_OK);
    veil_fe p = veil_fe_p();
    st = veil_sharefile_writer_append(w, &p, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "element 0 is not a reduced field element");
    veil_sharefile_writer_abort(w);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    free(path);
}

/* Reads a whole file through the streaming reader from memory, returning
 * the status of the first failure. */
static veil_status read_mem(const uint8_t *buf, size_t len, veil_err *err)
{
    veil_sharefile_reader *r = NULL;
    veil_status st = veil_sharefile_reader_open_mem(&r, buf, len, "x.vsh", err);
    if (st != VEIL_OK)
        return st;
    veil_fe *chunk = malloc(4096 * sizeof *chunk);
    size_t got;
    do
        st = veil_sharefile_reader_read(r, chunk, 4096, &got, err);
    while (st == VEIL_OK && got > 0);
    free(chunk);
    veil_sharefile_reader_close(r);
    return st;
}

static void test_sharefile_corruption(void)
{
    veil_err err;
    veil_sharefile_info in = make_info(3, 0);
    char *path = write_values("c3.vsh", &in, 70000);
    size_t len;
    uint8_t *orig = (uint8_t *)tu_read_file(path, &len);
    CU_ASSERT_FATAL(orig != NULL);
    uint8_t *b = malloc(len);
    CU_ASSERT_EQUAL(read_mem(orig, len, &err), VEIL_OK);

    /* Layout: magic (8), header frame (5 + hlen), frame 1 (5 + ...). */
    size_t hlen =
        ((size_t)orig[9] << 24 | (size_t)orig[10] << 16 | (size_t)orig[11] << 8 | (size_t)orig[12]);
    size_t f1 = 8 + 5 + hlen;

    /* A flipped low bit of a value: still a field element, but the digest
     * no longer matches. */
    memcpy(b, orig, len);
    b[f1 + 5 + 20] ^= 1;
    veil_status st = read_mem(b, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: digest mismatch");
    /* A byte of the trailer's digest. */
    memcpy(b, orig, len);
    b[len - 3] ^= 0x40;
    st = read_mem(b, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: digest mismatch");
    /* An element set to p. */
    memcpy(b, orig, len);
    size_t vals = f1 + 5;
    while (b[vals] != 0x12) /* the values field's tag (2 << 3 | 2) */
        vals++;
    size_t el = vals + 1;
    while (b[el] & 0x80) /* skip the length varint */
        el++;
    el++;
    memset(b + el + 16, 0xff, 15);
    b[el + 31] = 0x7f;
    st = read_mem(b, len, &err);
    char emsg[160];
    snprintf(emsg, sizeof emsg, "x.vsh: frame 1 (byte %zu): element 1 is not below 2^127-1", f1);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, emsg);
    /* Truncated inside a frame, at a frame boundary, inside the magic. */
    st = read_mem(orig, len - 10, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: truncated");
    st = read_mem(orig, f1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT,
                  "x.vsh: truncated: the file ends after 0 of 70000 elements");
    st = read_mem(orig, 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: truncated: the file ends inside its magic");
    /* Data after the trailer. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, orig, len);
    longer[len] = 0;
    st = read_mem(longer, len + 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: unexpected data after the trailer");
    free(longer);
    /* Foreign magic, unknown format version. */
    memcpy(b, orig, len);
    b[0] = 'X';
    st = read_mem(b, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "x.vsh: not a veil share file (bad magic)");
    memcpy(b, orig, len);
    b[7] = 2;
    st = read_mem(b, len, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "share file format version 2 is not supported");
    /* Frame 2 dropped: offsets no longer contiguous. */
    size_t f1len = ((size_t)orig[f1 + 1] << 24 | (size_t)orig[f1 + 2] << 16 |
                    (size_t)orig[f1 + 3] << 8 | (size_t)orig[f1 + 4]);
    size_t f2 = f1 + 5 + f1len;
    size_t f2len = ((size_t)orig[f2 + 1] << 24 | (size_t)orig[f2 + 2] << 16 |
                    (size_t)orig[f2 + 3] << 8 | (size_t)orig[f2 + 4]);
    size_t cut = 0;
    memcpy(b, orig, f1);
    cut = f1;
    memcpy(b + cut, orig + f2, len - f2);
    cut += len - f2;
    st = read_mem(b, cut, &err);
    char msg[160];
    snprintf(msg, sizeof msg,
             "x.vsh: frame 1 (byte %zu) starts at element 16384; 0 expected (frames are "
             "contiguous)",
             f1);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, msg);
    /* Frame 1 repeated. */
    uint8_t *dup = malloc(len + f1len + 5);
    memcpy(dup, orig, f2);
    memcpy(dup + f2, orig + f1, f1len + 5);
    memcpy(dup + f2 + f1len + 5, orig + f2, len - f2);
    st = read_mem(dup, len + f1len + 5, &err);
    snprintf(msg, sizeof msg, "x.vsh: frame 2 (byte %zu) starts at element 0; 16384 expected", f2);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, msg);
    free(dup);
    (void)f2len;
    free(b);
    free(orig);
    free(path);
}

/* A header written by hand, to reach the reader's checks. */
static uint8_t *file_with_header(size_t *len, void (*edit)(Veil__ShareFileHeader *))
{
    uint8_t id[16] = {1}, seed[32] = {2};
    Veil__ShareFileHeader h = VEIL__SHARE_FILE_HEADER__INIT;
    h.version = 1;
    h.split_id.data = id;
    h.split_id.len = 16;
    h.scheme = 2;
    h.parties = 5;
    h.threshold = 3;
    h.index = 1;
    h.scale = 0;
    h.length = 10;
    h.column.data = (uint8_t *)"c";
    h.column.len = 1;
    h.has_seed = 1;
    h.seed.data = seed;
    h.seed.len = 32;
    edit(&h);
    size_t hl = veil__share_file_header__get_packed_size(&h);
    uint8_t *b = calloc(1, 8 + 5 + hl + 64);
    memcpy(b, "VEILSHR\x01", 8);
    b[8] = 'H';
    b[12] = (uint8_t)hl;
    veil__share_file_header__pack(&h, b + 13);
    *len = 13 + hl;
    return b;
}

static void e_version(Veil__ShareFileHeader *h)
{
    h->version = 9;
}
static void e_id(Veil__ShareFileHeader *h)
{
    h->split_id.len = 15;
}
static void e_scheme(Veil__ShareFileHeader *h)
{
    h->scheme = 3;
}
static void e_n(Veil__ShareFileHeader *h)
{
    h->parties = 300;
}
static void e_t(Veil__ShareFileHeader *h)
{
    h->threshold = 6;
}
static void e_add_t(Veil__ShareFileHeader *h)
{
    h->scheme = 1;
}
static void e_index(Veil__ShareFileHeader *h)
{
    h->index = 0;
}
static void e_seed_index(Veil__ShareFileHeader *h)
{
    h->index = 3;
}
static void e_seed_len(Veil__ShareFileHeader *h)
{
    h->seed.len = 31;
}
static void e_len(Veil__ShareFileHeader *h)
{
    h->length = ((uint64_t)1 << 34) + 1;
}
static void e_scale(Veil__ShareFileHeader *h)
{
    h->scale = 257;
}
static void e_column(Veil__ShareFileHeader *h)
{
    h->column.data = (uint8_t *)"a\0b";
    h->column.len = 3;
}
static void e_none(Veil__ShareFileHeader *h)
{
    (void)h;
}

static void test_sharefile_header_checks(void)
{
    static const struct {
        void (*edit)(Veil__ShareFileHeader *);
        const char *msg;
    } cases[] = {
        {e_version, "x.vsh: header: version 9 is not supported"},
        {e_id, "x.vsh: header: the split id is 15 bytes, not 16"},
        {e_scheme, "x.vsh: header: unknown scheme 3"},
        {e_n, "x.vsh: header: 300 parties; 2 to 255 are supported"},
        {e_t, "x.vsh: header: Shamir threshold 6 out of range 2 to 5"},
        {e_add_t, "x.vsh: header: additive sharing with threshold 3 of 5 parties"},
        {e_index, "x.vsh: header: party index 0 out of range 1 to 5"},
        {e_seed_index, "x.vsh: header: party 3 has a seed, but in a Shamir 3-of-5 split only "
                       "parties 1 to 2 receive seeds"},
        {e_seed_len, "x.vsh: header: the seed is 31 bytes, not 32"},
        {e_len, "x.vsh: header: length 17179869185 is above"},
        {e_scale, "x.vsh: header: scale 257 is above 256"},
        {e_column, "x.vsh: header: the column name is empty, longer than 256 bytes or holds a "
                   "NUL byte"},
        {e_none, "x.vsh: truncated: the file ends before its trailer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        veil_err err;
        size_t len;
        uint8_t *b = file_with_header(&len, cases[i].edit);
        veil_status st = read_mem(b, len, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, cases[i].msg);
        free(b);
    }
}

static void test_sharefile_check_set(void)
{
    veil_err err;
    veil_sharefile_info a = make_info(1, 1), b = make_info(3, 0), c = make_info(4, 0);
    const veil_sharefile_info *set[3] = {&a, &b, &c};
    const char *names[3] = {"a.vsh", "b.vsh", "c.vsh"};
    CU_ASSERT_EQUAL(veil_sharefile_check_set(set, names, 3, &err), VEIL_OK);
    veil_status st = veil_sharefile_check_set(set, names, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "2 share files given; the Shamir 3-of-5 split needs 3");
    c.split_id[15] = 0;
    st = veil_sharefile_check_set(set, names, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "a.vsh and c.vsh come from different splits");
    c.split_id[15] = 0xab;
    c.index = 3;
    st = veil_sharefile_check_set(set, names, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "b.vsh and c.vsh both hold the share of party 3");
    c.index = 4;
    c.scale = 3;
    st = veil_sharefile_check_set(set, names, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT,
                  "a.vsh and c.vsh have the same split id but a "
                  "different scale");
}

/* ================= the command ================= */

#define SHARE_TEST_ROWS 3000

/* Writes a CSV with an id column and a value column at scale 2 holding
 * negatives, small decimals and large magnitudes; *want gets the text
 * `share combine` must print. */
static char *write_csv(const char *name, char **want)
{
    char *path = tu_path(g_dir, name);
    FILE *f = fopen(path, "w");
    size_t cap = 64 * SHARE_TEST_ROWS + 64, o = 0;
    char *w = malloc(cap);
    fprintf(f, "id,\"net income\"\n");
    o += (size_t)snprintf(w + o, cap - o, "index,net income\n");
    static const char *const fixed[] = {
        "-0.05", "0.00", "12.50", "-12.50", "92233720368547758.07", "-92233720368547758.08"};
    for (int i = 0; i < SHARE_TEST_ROWS; i++) {
        char v[64];
        if (i < 6) {
            snprintf(v, sizeof v, "%s", fixed[i]);
        } else {
            long long x = ((long long)i * 7919 * 104729) % 200000000001LL - 100000000000LL;
            snprintf(v, sizeof v, "%s%lld.%02lld", x < 0 ? "-" : "", llabs(x) / 100,
                     llabs(x) % 100);
        }
        fprintf(f, "p%d,%s\n", i, v);
        o += (size_t)snprintf(w + o, cap - o, "%d,%s\n", i + 1, v);
    }
    fclose(f);
    *want = w;
    return path;
}

static int run_veil(char **out, char **errout, const char *fmt, ...) VEIL_PRINTF(3, 4);
static int run_veil(char **out, char **errout, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "%s ", VEIL_BIN);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, errout);
}

static int count_files(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    char *out = NULL;
    tu_run(cmd, &out, NULL);
    int n = out != NULL ? atoi(out) : -1;
    free(out);
    return n;
}

static void test_cli_split_combine_round_trip(void)
{
    char *want = NULL, *e = NULL, *o = NULL;
    char *csv = write_csv("in.csv", &want);
    char *dir = tu_path(g_dir, "shares53");
    int rc = run_veil(NULL, &e,
                      "share split --input '%s' --column 'net income' --scale 2 --parties 5 "
                      "--threshold 3 --out-dir '%s' --prefix inc",
                      csv, dir);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "\n  split: %s\n", e);
    free(e);
    CU_ASSERT_EQUAL(count_files(dir), 5);
    /* Every 3-subset, in some order, and all 5. */
    static const char *const sets[] = {"1 2 3", "1 2 4", "1 2 5", "1 3 4", "1 3 5", "1 4 5",
                                       "2 3 4", "2 3 5", "2 4 5", "3 4 5", "5 3 1", "1 2 3 4 5"};
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        char files[2048] = "", outp[64];
        size_t fo = 0;
        for (const char *c = sets[s]; *c; c++)
            if (*c != ' ')
                fo += (size_t)snprintf(files + fo, sizeof files - fo, " '%s/inc.%c.vsh'", dir, *c);
        snprintf(outp, sizeof outp, "out%zu.csv", s);
        char *op = tu_path(g_dir, outp);
        rc = run_veil(NULL, &e, "share combine%s --out '%s'", files, op);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0)
            fprintf(stderr, "\n  combine %s: %s\n", sets[s], e);
        free(e);
        size_t len;
        char *got = tu_read_file(op, &len);
        CU_ASSERT(got != NULL && strcmp(got, want) == 0);
        struct stat sb;
        CU_ASSERT(stat(op, &sb) == 0 && (sb.st_mode & 0777) == 0600);
        free(got);
        free(op);
    }
    /* Too few. */
    rc = run_veil(NULL, &e, "share combine '%s/inc.1.vsh' '%s/inc.4.vsh' --out '%s/few.csv'", dir,
                  dir, g_dir);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "2 share files given; the Shamir 3-of-5 split needs 3"));
    free(e);
    char *few = tu_path(g_dir, "few.csv");
    CU_ASSERT_NOT_EQUAL(access(few, F_OK), 0);
    free(few);
    /* The same file twice. */
    rc = run_veil(NULL, &e, "share combine '%s/inc.1.vsh' '%s/inc.1.vsh' '%s/inc.2.vsh'", dir, dir,
                  dir);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "both hold the share of party 1"));
    free(e);
    /* Splitting again refuses to overwrite without --force. */
    rc = run_veil(NULL, &e,
                  "share split --input '%s' --column 'net income' --scale 2 --parties 5 "
                  "--out-dir '%s' --prefix inc",
                  csv, dir);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "inc.1.vsh") && strstr(e, "--force"));
    free(e);
    /* Shares of another split do not combine with these. */
    char *dir2 = tu_path(g_dir, "shares53b");
    rc = run_veil(NULL, NULL,
                  "share split --input '%s' --column 'net income' --scale 2 --parties 5 "
                  "--out-dir '%s' --prefix inc",
                  csv, dir2);
    CU_ASSERT_EQUAL(rc, 0);
    rc = run_veil(&o, &e, "share combine '%s/inc.1.vsh' '%s/inc.2.vsh' '%s/inc.3.vsh'", dir, dir,
                  dir2);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "come from different splits"));
    free(e);
    free(o);
    free(dir2);
    free(dir);
    free(csv);
    free(want);
}

static void test_cli_additive_and_defaults(void)
{
    char *want = NULL, *e = NULL, *o = NULL;
    char *csv = write_csv("add.csv", &want);
    char *dir = tu_path(g_dir, "add");
    int rc = run_veil(NULL, &e,
                      "share split --input '%s' --column 'net income' --scale 2 --parties 3 "
                      "--scheme additive --out-dir '%s'",
                      csv, dir);
    CU_ASSERT_EQUAL(rc, 0);
    free(e);
    /* Default prefix: the input's base name. Standard output by default. */
    rc = run_veil(&o, &e, "share combine '%s/add.3.vsh' '%s/add.1.vsh' '%s/add.2.vsh'", dir, dir,
                  dir);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(o != NULL && strcmp(o, want) == 0);
    free(o);
    free(e);
    rc = run_veil(&o, &e, "share combine '%s/add.3.vsh' '%s/add.1.vsh'", dir, dir);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "the additive 3-of-3 split needs 3"));
    free(o);
    free(e);
    /* The seeded files are tiny, the last one holds values. */
    struct stat s1, s3;
    char *p1 = tu_path(dir, "add.1.vsh"), *p3 = tu_path(dir, "add.3.vsh");
    CU_ASSERT(stat(p1, &s1) == 0 && stat(p3, &s3) == 0);
    CU_ASSERT(s1.st_size < 200);
    CU_ASSERT(s3.st_size > 16 * SHARE_TEST_ROWS);
    CU_ASSERT((s1.st_mode & 0777) == 0600);
    free(p1);
    free(p3);
    /* Default threshold for Shamir: n/2 + 1 = 4 of 7. */
    char *dir7 = tu_path(g_dir, "s7");
    rc = run_veil(NULL, NULL,
                  "share split --input '%s' --column 'net income' --scale 2 --parties 7 "
                  "--out-dir '%s' --prefix x",
                  csv, dir7);
    CU_ASSERT_EQUAL(rc, 0);
    rc = run_veil(&o, &e, "share combine '%s/x.2.vsh' '%s/x.4.vsh' '%s/x.7.vsh'", dir7, dir7, dir7);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "the Shamir 4-of-7 split needs 4"));
    free(o);
    free(e);
    rc = run_veil(&o, &e, "share combine '%s/x.2.vsh' '%s/x.4.vsh' '%s/x.7.vsh' '%s/x.6.vsh'", dir7,
                  dir7, dir7, dir7);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(o != NULL && strcmp(o, want) == 0);
    free(o);
    free(e);
    free(dir7);
    free(dir);
    free(csv);
    free(want);
}

static void test_cli_failures_leave_nothing(void)
{
    char *e = NULL;
    char *csv = tu_path(g_dir, "bad.csv");
    const char *text = "id,v\n1,5\n2,-7.25\n3,92233720368547758.08\n4,1\n";
    CU_ASSERT_EQUAL(tu_write_file(csv, text, strlen(text)), 0);
    char *dir = tu_path(g_dir, "badout");
    int rc = run_veil(NULL, &e,
                      "share split --input '%s' --column v --scale 2 --parties 3 --out-dir '%s'",
                      csv, dir);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "bad.csv:4: column \"v\"") && strstr(e, "overflow"));
    if (e != NULL && !strstr(e, "overflow"))
        fprintf(stderr, "\n  %s\n", e);
    free(e);
    CU_ASSERT_EQUAL(count_files(dir), 0);
    /* Too many decimals, a missing column, bad options. */
    text = "id,v\n1,5\n2,1.005\n";
    CU_ASSERT_EQUAL(tu_write_file(csv, text, strlen(text)), 0);
    rc = run_veil(NULL, &e,
                  "share split --input '%s' --column v --scale 2 --parties 3 --out-dir '%s'", csv,
                  dir);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "bad.csv:3: column \"v\""));
    free(e);
    CU_ASSERT_EQUAL(count_files(dir), 0);
    rc = run_veil(NULL, &e,
                  "share split --input '%s' --column v --parties 3 --threshold 2 --scheme "
                  "additive --out-dir '%s'",
                  csv, dir);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "threshold 2 must equal the 3 parties"));
    free(e);
    rc = run_veil(NULL, &e, "share split --input '%s' --column v --parties 1 --out-dir '%s'", csv,
                  dir);
    CU_ASSERT_EQUAL(rc, 2);
    free(e);
    rc = run_veil(NULL, &e,
                  "share split --input '%s' --column v --parties 3 --scheme xor --out-dir '%s'",
                  csv, dir);
    CU_ASSERT_EQUAL(rc, 2);
    CU_ASSERT(e != NULL && strstr(e, "--scheme"));
    free(e);
    rc = run_veil(NULL, &e,
                  "share split --input '%s' --column v --parties 3 --out-dir '%s' --prefix a/b",
                  csv, dir);
    CU_ASSERT_EQUAL(rc, 2);
    free(e);
    CU_ASSERT_EQUAL(count_files(dir), 0);
    /* A corrupted share makes combine fail without leaving output. */
    text = "id,v\n1,5\n2,-7.25\n";
    CU_ASSERT_EQUAL(tu_write_file(csv, text, strlen(text)), 0);
    rc = run_veil(NULL, NULL,
                  "share split --input '%s' --column v --scale 2 --parties 3 --threshold 2 "
                  "--out-dir '%s' --prefix g",
                  csv, dir);
    CU_ASSERT_EQUAL(rc, 0);
    char *p3 = tu_path(dir, "g.3.vsh");
    size_t len;
    uint8_t *b = (uint8_t *)tu_read_file(p3, &len);
    CU_ASSERT_FATAL(b != NULL);
    b[len - 50] ^= 1; /* inside the last value (the trailer is 41 bytes) */
    char *p3bad = tu_path(dir, "g.3bad");
    CU_ASSERT_EQUAL(tu_write_file(p3bad, b, len), 0);
    char *outp = tu_path(g_dir, "never.csv");
    rc = run_veil(NULL, &e, "share combine '%s/g.1.vsh' '%s' --out '%s'", dir, p3bad, outp);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "g.3bad: digest mismatch"));
    free(e);
    CU_ASSERT_NOT_EQUAL(access(outp, F_OK), 0);
    /* With a third share the inconsistency shows first; the file that
     * fails its digest is still the one named. */
    rc = run_veil(NULL, &e, "share combine '%s/g.1.vsh' '%s/g.2.vsh' '%s' --out '%s'", dir, dir,
                  p3bad, outp);
    CU_ASSERT_EQUAL(rc, 3);
    CU_ASSERT(e != NULL && strstr(e, "g.3bad: digest mismatch"));
    free(e);
    CU_ASSERT_NOT_EQUAL(access(outp, F_OK), 0);
    free(b);
    free(p3);
    free(p3bad);
    free(outp);
    free(dir);
    free(csv);
}

static const tu_test tests[] = {
    {"field: mul/add/sub/neg agree with GMP on edge and random values",
     test_field_mul_add_sub_against_gmp},
    {"field: inverses agree with GMP; inv(0) = 0", test_field_inv},
    {"field: int64 round trips including INT64_MIN/MAX", test_field_i64_round_trip},
    {"field: store/load round trip; load refuses >= p", test_field_store_load},
    {"i128 format: signs, scales, short values, extremes", test_i128_format},
    {"Shamir: every t-subset reconstructs exactly", test_shamir_every_subset},
    {"additive: all parties reconstruct exactly", test_additive_all_parties},
    {"Shamir 128-of-255", test_large_n},
    {"expand follows the ChaCha20-IETF stream definition", test_expand_definition},
    {"seeded shares are expansions of the plan's seeds", test_seeded_shares_are_expansions},
    {"splitting in chunks equals splitting whole", test_chunked_split_equals_whole},
    {"consistency check names the inconsistent party", test_consistency_check},
    {"bad n, t and indices are refused", test_bad_parameters},
    {"secrecy: t-1 Shamir shares are consistent with every secret", test_secrecy_shamir},
    {"secrecy: n-1 additive shares are consistent with every secret", test_secrecy_additive},
    {"share file: round trip, seeded and unseeded", test_sharefile_round_trip},
    {"share file: writer refusals", test_sharefile_writer_refusals},
    {"share file: corruption, truncation, bad digest", test_sharefile_corruption},
    {"share file: every header check", test_sharefile_header_checks},
    {"share file: sets from one split only", test_sharefile_check_set},
    {"cli: split then combine with every 3 of 5", test_cli_split_combine_round_trip},
    {"cli: additive, default threshold and prefix", test_cli_additive_and_defaults},
    {"cli: failures name the line and leave nothing", test_cli_failures_leave_nothing},
    {NULL, NULL},
};

int main(void)
{
    return tu_main("share", suite_init, suite_cleanup, tests);
}
