/* Tests for the AVX512-IFMA multi-buffer engine (crypto/mb52.h): every
 * lane of a multiplication, a windowed exponentiation and a fixed-base
 * exponentiation equals GMP (mpz_mul + mpz_mod, mpz_powm) on random inputs
 * and on the edge values 0, 1, m - 1, m - 2 and just below m, for every
 * supported modulus size. On a CPU without AVX512-IFMA each test passes
 * with a message saying it was skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb52.h"
#include "testutil.h"
#include "veil/rand.h"

/* Modulus sizes: p^2 and n^2 at 2048, 3072 and 4096-bit keys, and a p^2
 * one bit shorter (p^2 of a 1024-bit p may have 2047 bits). */
static const unsigned g_sizes[] = {2047, 2048, 3072, 4096, 6144, 8192};
#define NSIZES (sizeof g_sizes / sizeof g_sizes[0])

static int skip(const char *what)
{
    if (veil_mb_cpu_ok())
        return 0;
    printf("\n  skipped (%s): this CPU has no AVX512-IFMA\n", what);
    return 1;
}

/* A random odd modulus of exactly `bits` bits. */
static void random_modulus(mpz_t m, unsigned bits)
{
    veil_rand_mpz_bits(m, bits);
    mpz_setbit(m, bits - 1);
    mpz_setbit(m, 0);
}

/* Value number k of a test column: edge values first, then random. */
static void test_value(mpz_t v, const mpz_t m, unsigned k)
{
    switch (k) {
    case 0: mpz_set_ui(v, 0); break;
    case 1: mpz_set_ui(v, 1); break;
    case 2: mpz_sub_ui(v, m, 1); break;
    case 3: mpz_sub_ui(v, m, 2); break;
    case 4: /* just below m: m minus a small random amount */
        mpz_sub_ui(v, m, 1u + (unsigned)(mpz_getlimbn(m, 1) & 0xffff));
        break;
    case 5: /* all ones below the top bit of m */
        mpz_set_ui(v, 0);
        mpz_setbit(v, mpz_sizeinbase(m, 2) - 1);
        mpz_sub_ui(v, v, 1);
        break;
    default: veil_rand_mpz_below(v, m);
    }
}

typedef struct {
    mpz_t v[VEIL_MB_LANES];
    const mpz_t *p[VEIL_MB_LANES];
    mpz_t *q[VEIL_MB_LANES];
} lanes;

static void lanes_init(lanes *x)
{
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        mpz_init(x->v[l]);
        x->p[l] = (const mpz_t *)&x->v[l];
        x->q[l] = &x->v[l];
    }
}

static void lanes_clear(lanes *x)
{
    for (int l = 0; l < VEIL_MB_LANES; l++)
        mpz_clear(x->v[l]);
}

static void test_ctx_refuses_bad_moduli(void)
{
    veil_mb_ctx ctx;
    mpz_t m;
    mpz_init(m);
    random_modulus(m, 2048);
    mpz_clrbit(m, 0);
    CU_ASSERT_EQUAL(veil_mb_ctx_init(&ctx, m), -1); /* even */
    random_modulus(m, 1000);
    CU_ASSERT_EQUAL(veil_mb_ctx_init(&ctx, m), -1); /* unsupported size */
    random_modulus(m, 2048);
    CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
    CU_ASSERT_EQUAL(ctx.N, 40);
    CU_ASSERT_EQUAL(ctx.L, 32);
    veil_mb_ctx_clear(&ctx);
    mpz_clear(m);
}

/* Conversion into the radix and back is the identity. */
static void test_load_store_round_trip(void)
{
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m;
        lanes x, y;
        mpz_init(m);
        lanes_init(&x);
        lanes_init(&y);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        uint64_t *a = veil_mb_alloc(&ctx, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        for (unsigned k = 0; k < VEIL_MB_LANES; k++)
            test_value(x.v[k], m, k);
        veil_mb_load(a, x.p, &ctx);
        veil_mb_store(y.q, a, &ctx);
        for (int l = 0; l < VEIL_MB_LANES; l++)
            CU_ASSERT(mpz_cmp(x.v[l], y.v[l]) == 0);
        veil_mb_free(&ctx, a, 1);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&x);
        lanes_clear(&y);
        mpz_clear(m);
    }
}

/* veil_mb_mulmod and the raw almost-Montgomery product against GMP. */
static void test_mul_matches_gmp(void)
{
    if (skip("mul"))
        return;
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, want, rinv, rr;
        lanes x, y, z;
        mpz_inits(m, want, rinv, rr, NULL);
        lanes_init(&x);
        lanes_init(&y);
        lanes_init(&z);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        mpz_set_ui(rr, 0);
        mpz_setbit(rr, 52 * ctx.N);
        CU_ASSERT_FATAL(mpz_invert(rinv, rr, m) != 0);
        uint64_t *a = veil_mb_alloc(&ctx, 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        uint64_t *b = a + ctx.N * 8, *r = b + ctx.N * 8;
        int bad = 0;
        for (unsigned round = 0; round < 6; round++) {
            /* Round 0 pairs every edge value with every other lane's. */
            for (unsigned k = 0; k < VEIL_MB_LANES; k++) {
                test_value(x.v[k], m, round == 0 ? k : k + 6 * (round & 1));
                test_value(y.v[k], m, round == 0 ? (k + 3) % 8 : 6 + k);
            }
            veil_mb_load(a, x.p, &ctx);
            veil_mb_load(b, y.p, &ctx);
            veil_mb_mulmod(r, a, b, &ctx);
            veil_mb_store(z.q, r, &ctx);
            for (int l = 0; l < VEIL_MB_LANES; l++) {
                mpz_mul(want, x.v[l], y.v[l]);
                mpz_mod(want, want, m);
                bad += mpz_cmp(want, z.v[l]) != 0;
            }
            /* Raw AMM: r < 2m and r = a b R^-1 mod m; also in place. */
            veil_mb_mul(a, a, b, &ctx);
            veil_mb_store(z.q, a, &ctx);
            for (int l = 0; l < VEIL_MB_LANES; l++) {
                mpz_mul(want, x.v[l], y.v[l]);
                mpz_mul(want, want, rinv);
                mpz_mod(want, want, m);
                mpz_mul_2exp(rr, m, 1);
                bad += mpz_cmp(z.v[l], rr) >= 0;
                mpz_mod(rr, z.v[l], m);
                bad += mpz_cmp(want, rr) != 0;
            }
        }
        if (bad)
            fprintf(stderr, "\n  %u-bit modulus: %d lanes differ from GMP\n", g_sizes[s], bad);
        CU_ASSERT_EQUAL(bad, 0);
        veil_mb_free(&ctx, a, 3);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&x);
        lanes_clear(&y);
        lanes_clear(&z);
        mpz_clears(m, want, rinv, rr, NULL);
    }
}

/* Lane l of r (N digits) from v < 2^(52 N): wider than veil_mb_load
 * accepts, so almost-reduced values up to 2m - 1 can be fed in. */
static void load_wide(uint64_t *r, int l, const mpz_t v, const veil_mb_ctx *ctx)
{
    mpz_t t;
    mpz_init(t);
    for (size_t d = 0; d < ctx->N; d++) {
        mpz_tdiv_q_2exp(t, v, 52 * d);
        r[8 * d + (size_t)l] = (uint64_t)mpz_getlimbn(t, 0) & 0xfffffffffffffULL;
    }
    mpz_clear(t);
}

/* The dedicated squaring: bit for bit the almost-Montgomery product a a
 * (the result (a^2 + Y m) / R is unique), below 2m and a^2 R^-1 mod m, for
 * canonical and almost-reduced inputs (m, m + 1, 2m - 1, random + m). */
/* One product with the lanes across one number (veil_mb_mulmod_one, the
 * path of veil_paillier_add) equals mpz_mul + mpz_mod for edge and random
 * values at every size, in place too; a negative or over-long operand is
 * refused with r unchanged. */
static void test_mulmod_one_matches_gmp(void)
{
    if (skip("mulmod_one"))
        return;
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, a, b, r, want;
        mpz_inits(m, a, b, r, want, NULL);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        size_t bad = 0;
        for (unsigned k = 0; k < 400; k++) {
            test_value(a, m, k % 6 == 5 && k > 6 ? 6 : k);
            test_value(b, m, k < 6 ? (k * 5 + 2) % 6 : (k % 7 == 0 ? k % 6 : 6));
            if (k % 11 == 10)
                mpz_tdiv_q_2exp(a, a, 52 * (k % 13) + 7); /* shorter operands */
            mpz_mul(want, a, b);
            mpz_mod(want, want, m);
            CU_ASSERT_EQUAL_FATAL(veil_mb_mulmod_one(r, a, b, &ctx), 0);
            if (mpz_cmp(r, want) != 0 && bad++ == 0)
                printf("\n  %u bits, value %u: mulmod_one differs from GMP\n", g_sizes[s], k);
            CU_ASSERT_EQUAL_FATAL(veil_mb_mulmod_one(a, a, b, &ctx), 0);
            CU_ASSERT(mpz_cmp(a, want) == 0);
        }
        CU_ASSERT_EQUAL(bad, 0);
        mpz_set_ui(r, 7);
        mpz_set_si(a, -3);
        CU_ASSERT_EQUAL(veil_mb_mulmod_one(r, a, b, &ctx), -1);
        mpz_set_ui(a, 0);
        mpz_setbit(a, 64 * ctx.L);
        CU_ASSERT_EQUAL(veil_mb_mulmod_one(r, b, a, &ctx), -1);
        CU_ASSERT(mpz_cmp_ui(r, 7) == 0);
        veil_mb_ctx_clear(&ctx);
        mpz_clears(m, a, b, r, want, NULL);
    }
}

static void test_sqr_matches_mul(void)
{
    if (skip("sqr"))
        return;
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, v[VEIL_MB_LANES], want, rinv, rr;
        lanes z;
        mpz_inits(m, want, rinv, rr, NULL);
        lanes_init(&z);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        mpz_set_ui(rr, 0);
        mpz_setbit(rr, 52 * ctx.N);
        CU_ASSERT_FATAL(mpz_invert(rinv, rr, m) != 0);
        uint64_t *a = veil_mb_alloc(&ctx, 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        uint64_t *rs = a + ctx.N * 8, *rm = rs + ctx.N * 8;
        int bad = 0;
        for (int l = 0; l < VEIL_MB_LANES; l++)
            mpz_init(v[l]);
        for (unsigned round = 0; round < 8; round++) {
            for (unsigned k = 0; k < VEIL_MB_LANES; k++) {
                if (round == 0) {
                    test_value(v[k], m, k); /* edge values */
                } else if (round == 1) {
                    /* almost reduced: m, m + 1, 2m - 1, 2m - 2, random + m */
                    test_value(v[k], m, k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 2 : k == 3 ? 3 : 6);
                    mpz_add(v[k], v[k], m);
                } else {
                    test_value(v[k], m, 6 + k);
                    if (round & 1)
                        mpz_add(v[k], v[k], m);
                }
                load_wide(a, (int)k, v[k], &ctx);
            }
            veil_mb_sqr(rs, a, &ctx);
            veil_mb_mul(rm, a, a, &ctx);
            bad += memcmp(rs, rm, ctx.N * 8 * sizeof(uint64_t)) != 0;
            veil_mb_store(z.q, rs, &ctx);
            mpz_mul_2exp(rr, m, 1);
            for (int l = 0; l < VEIL_MB_LANES; l++) {
                mpz_mul(want, v[l], v[l]);
                mpz_mul(want, want, rinv);
                mpz_mod(want, want, m);
                bad += mpz_cmp(z.v[l], rr) >= 0;
                mpz_mod(z.v[l], z.v[l], m);
                bad += mpz_cmp(want, z.v[l]) != 0;
            }
            /* In place. */
            veil_mb_sqr(a, a, &ctx);
            bad += memcmp(a, rm, ctx.N * 8 * sizeof(uint64_t)) != 0;
        }
        if (bad)
            fprintf(stderr, "\n  %u-bit modulus: %d squarings differ\n", g_sizes[s], bad);
        CU_ASSERT_EQUAL(bad, 0);
        for (int l = 0; l < VEIL_MB_LANES; l++)
            mpz_clear(v[l]);
        veil_mb_free(&ctx, a, 3);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&z);
        mpz_clears(m, want, rinv, rr, NULL);
    }
}

/* Chains of almost-reduced products (inputs up to 2m - 1) stay correct. */
static void test_mul_chain_stays_correct(void)
{
    if (skip("mul chain"))
        return;
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, want;
        lanes x, z;
        mpz_inits(m, want, NULL);
        lanes_init(&x);
        lanes_init(&z);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        uint64_t *a = veil_mb_alloc(&ctx, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        uint64_t *acc = a + ctx.N * 8;
        for (unsigned k = 0; k < VEIL_MB_LANES; k++)
            test_value(x.v[k], m, k == 0 ? 2 : 6 + k);
        veil_mb_load(a, x.p, &ctx);
        veil_mb_mul(acc, a, ctx.r2, &ctx); /* Montgomery form */
        for (int i = 0; i < 50; i++)
            veil_mb_sqr(acc, acc, &ctx);
        veil_mb_mul(acc, acc, ctx.unit, &ctx);
        veil_mb_reduce(acc, &ctx);
        veil_mb_store(z.q, acc, &ctx);
        mpz_t e;
        mpz_init(e);
        mpz_setbit(e, 50);
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            mpz_powm(want, x.v[l], e, m);
            CU_ASSERT(mpz_cmp(want, z.v[l]) == 0);
        }
        mpz_clear(e);
        veil_mb_free(&ctx, a, 2);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&x);
        lanes_clear(&z);
        mpz_clears(m, want, NULL);
    }
}

/* Exponent bytes of lane l for case c: edge exponents and random ones. */
static void test_exponent(uint8_t *e, size_t elen, size_t ebits, unsigned c, int l)
{
    memset(e, 0, elen);
    switch ((c + (unsigned)l) % 5) {
    case 0: break; /* 0 */
    case 1: e[0] = 1; break;
    case 2: memset(e, 0xff, elen); break; /* all ebits ones */
    default: veil_rand_bytes(e, elen);
    }
    if (ebits % 8)
        e[elen - 1] &= (uint8_t)(0xffu >> (8 - ebits % 8));
}

static void test_powm_matches_gmp(void)
{
    if (skip("powm"))
        return;
    const size_t ebits_list[] = {1, 5, 7, 64, 333, 1024};
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, want, ez;
        lanes x, z;
        mpz_inits(m, want, ez, NULL);
        lanes_init(&x);
        lanes_init(&z);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        uint64_t *a = veil_mb_alloc(&ctx, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        uint64_t *r = a + ctx.N * 8;
        int bad = 0;
        /* Big sizes are slow under the sanitizers: fewer exponent lengths. */
        size_t nlen = g_sizes[s] > 4096 ? 3 : sizeof ebits_list / sizeof ebits_list[0];
        for (size_t t = 0; t < nlen; t++) {
            size_t ebits = ebits_list[t == nlen - 1 ? 5 : t], elen = (ebits + 7) / 8;
            uint8_t *eb[VEIL_MB_LANES];
            for (int l = 0; l < VEIL_MB_LANES; l++) {
                eb[l] = malloc(elen);
                CU_ASSERT_PTR_NOT_NULL_FATAL(eb[l]);
                test_exponent(eb[l], elen, ebits, (unsigned)t, l);
                test_value(x.v[l], m, (unsigned)(l + t) % 8);
            }
            veil_mb_load(a, x.p, &ctx);
            CU_ASSERT_EQUAL_FATAL(veil_mb_powm(r, a, (const uint8_t *const *)eb, elen, ebits, &ctx),
                                  0);
            veil_mb_store(z.q, r, &ctx);
            for (int l = 0; l < VEIL_MB_LANES; l++) {
                mpz_import(ez, elen, -1, 1, 0, 0, eb[l]);
                mpz_powm(want, x.v[l], ez, m);
                bad += mpz_cmp(want, z.v[l]) != 0;
                free(eb[l]);
            }
        }
        if (bad)
            fprintf(stderr, "\n  %u-bit modulus: %d powers differ from GMP\n", g_sizes[s], bad);
        CU_ASSERT_EQUAL(bad, 0);
        veil_mb_free(&ctx, a, 2);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&x);
        lanes_clear(&z);
        mpz_clears(m, want, ez, NULL);
    }
}

/* One power with the lanes across one number (veil_mb_powm_one, the path
 * of single CRT decryptions) equals mpz_powm for edge bases and exponents
 * (0, 1, all ones, random) of several lengths at every size, in place too;
 * exponent bits at or past ebits are ignored; a negative or over-long base
 * and an empty exponent are refused with r unchanged. */
static void test_powm_one_matches_gmp(void)
{
    if (skip("powm_one"))
        return;
    const size_t ebits_list[] = {1, 5, 7, 64, 333, 1024};
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx ctx;
        mpz_t m, base, r, want, ez;
        mpz_inits(m, base, r, want, ez, NULL);
        random_modulus(m, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        int bad = 0;
        size_t nlen = g_sizes[s] > 4096 ? 3 : sizeof ebits_list / sizeof ebits_list[0];
        for (size_t t = 0; t < nlen; t++) {
            size_t ebits = ebits_list[t == nlen - 1 ? 5 : t], elen = (ebits + 7) / 8;
            uint8_t e[128];
            for (unsigned k = 0; k < 7; k++) {
                test_exponent(e, elen, ebits, (unsigned)t, (int)k);
                test_value(base, m, (k + (unsigned)t) % 7);
                mpz_import(ez, elen, -1, 1, 0, 0, e);
                mpz_powm(want, base, ez, m);
                CU_ASSERT_EQUAL_FATAL(veil_mb_powm_one(r, base, e, elen, ebits, &ctx), 0);
                bad += mpz_cmp(r, want) != 0;
                CU_ASSERT_EQUAL_FATAL(veil_mb_powm_one(base, base, e, elen, ebits, &ctx), 0);
                bad += mpz_cmp(base, want) != 0;
            }
        }
        /* Bits past ebits (here the top 3 of 64) do not count. */
        uint8_t e[8];
        memset(e, 0xff, sizeof e);
        test_value(base, m, 6);
        mpz_set_ui(ez, 0);
        mpz_setbit(ez, 61);
        mpz_sub_ui(ez, ez, 1);
        mpz_powm(want, base, ez, m);
        CU_ASSERT_EQUAL_FATAL(veil_mb_powm_one(r, base, e, sizeof e, 61, &ctx), 0);
        bad += mpz_cmp(r, want) != 0;
        if (bad)
            fprintf(stderr, "\n  %u-bit modulus: %d single powers differ from GMP\n", g_sizes[s],
                    bad);
        CU_ASSERT_EQUAL(bad, 0);
        mpz_set_ui(r, 7);
        mpz_set_si(base, -3);
        CU_ASSERT_EQUAL(veil_mb_powm_one(r, base, e, sizeof e, 64, &ctx), -1);
        mpz_set_ui(base, 0);
        mpz_setbit(base, 64 * ctx.L);
        CU_ASSERT_EQUAL(veil_mb_powm_one(r, base, e, sizeof e, 64, &ctx), -1);
        mpz_set_ui(base, 5);
        CU_ASSERT_EQUAL(veil_mb_powm_one(r, base, e, sizeof e, 0, &ctx), -1);
        CU_ASSERT(mpz_cmp_ui(r, 7) == 0);
        veil_mb_ctx_clear(&ctx);
        mpz_clears(m, base, r, want, ez, NULL);
    }
}

/* Two powers interleaved (veil_mb_powm_pair, the CRT halves of a single
 * decryption) equal mpz_powm for both, with exponents of different lengths
 * and in place; moduli of different digit counts are refused with both
 * results unchanged. */
static void test_powm_pair_matches_gmp(void)
{
    if (skip("powm_pair"))
        return;
    const size_t bits[][2] = {{64, 64}, {1024, 1023}, {1024, 333}, {7, 1024}, {1, 5}};
    for (size_t s = 0; s < NSIZES; s++) {
        veil_mb_ctx c1, c2;
        mpz_t m1, m2, b1, b2, r1, r2, w1, w2, ez;
        mpz_inits(m1, m2, b1, b2, r1, r2, w1, w2, ez, NULL);
        random_modulus(m1, g_sizes[s]);
        random_modulus(m2, g_sizes[s]);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&c1, m1), 0);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&c2, m2), 0);
        int bad = 0;
        size_t ncase = g_sizes[s] > 4096 ? 2 : sizeof bits / sizeof bits[0];
        for (size_t t = 0; t < ncase; t++) {
            uint8_t e1[128], e2[128];
            size_t l1 = (bits[t][0] + 7) / 8, l2 = (bits[t][1] + 7) / 8;
            for (unsigned k = 0; k < 5; k++) {
                test_exponent(e1, l1, bits[t][0], (unsigned)t, (int)k);
                test_exponent(e2, l2, bits[t][1], (unsigned)t + 2, (int)k);
                test_value(b1, m1, (k + (unsigned)t) % 7);
                test_value(b2, m2, (k + 3) % 7);
                mpz_import(ez, l1, -1, 1, 0, 0, e1);
                mpz_powm(w1, b1, ez, m1);
                mpz_import(ez, l2, -1, 1, 0, 0, e2);
                mpz_powm(w2, b2, ez, m2);
                if (k % 2) { /* in place */
                    CU_ASSERT_EQUAL_FATAL(veil_mb_powm_pair(b1, b1, e1, l1, bits[t][0], &c1, b2, b2,
                                                            e2, l2, bits[t][1], &c2),
                                          0);
                    mpz_set(r1, b1);
                    mpz_set(r2, b2);
                } else {
                    CU_ASSERT_EQUAL_FATAL(veil_mb_powm_pair(r1, b1, e1, l1, bits[t][0], &c1, r2, b2,
                                                            e2, l2, bits[t][1], &c2),
                                          0);
                }
                bad += (mpz_cmp(r1, w1) != 0) + (mpz_cmp(r2, w2) != 0);
            }
        }
        if (bad)
            fprintf(stderr, "\n  %u-bit moduli: %d paired powers differ from GMP\n", g_sizes[s],
                    bad);
        CU_ASSERT_EQUAL(bad, 0);
        /* A modulus of the next supported size has more digits: refused. */
        veil_mb_ctx c3;
        mpz_t m3;
        mpz_init(m3);
        random_modulus(m3, g_sizes[s] < 3072 ? 3072 : 2048);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&c3, m3), 0);
        uint8_t e[8] = {3};
        mpz_set_ui(r1, 7);
        mpz_set_ui(r2, 9);
        mpz_set_ui(b1, 5);
        CU_ASSERT_EQUAL(veil_mb_powm_pair(r1, b1, e, 8, 64, &c1, r2, b1, e, 8, 64, &c3), -1);
        CU_ASSERT(mpz_cmp_ui(r1, 7) == 0 && mpz_cmp_ui(r2, 9) == 0);
        veil_mb_ctx_clear(&c3);
        mpz_clear(m3);
        veil_mb_ctx_clear(&c1);
        veil_mb_ctx_clear(&c2);
        mpz_clears(m1, m2, b1, b2, r1, r2, w1, w2, ez, NULL);
    }
}

/* One exponent shared by all lanes (CRT decryption's p - 1). */
static void test_powm_shared_exponent(void)
{
    if (skip("powm shared"))
        return;
    veil_mb_ctx ctx;
    mpz_t m, want, ez;
    lanes x, z;
    mpz_inits(m, want, ez, NULL);
    lanes_init(&x);
    lanes_init(&z);
    random_modulus(m, 2048);
    CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
    uint64_t *a = veil_mb_alloc(&ctx, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    uint8_t e[128];
    veil_rand_bytes(e, sizeof e);
    const uint8_t *eb[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        eb[l] = e;
        test_value(x.v[l], m, (unsigned)l + 6);
    }
    veil_mb_load(a, x.p, &ctx);
    CU_ASSERT_EQUAL_FATAL(veil_mb_powm(a, a, eb, sizeof e, 8 * sizeof e, &ctx), 0);
    veil_mb_store(z.q, a, &ctx);
    mpz_import(ez, sizeof e, -1, 1, 0, 0, e);
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        mpz_powm(want, x.v[l], ez, m);
        CU_ASSERT(mpz_cmp(want, z.v[l]) == 0);
    }
    veil_mb_free(&ctx, a, 1);
    veil_mb_ctx_clear(&ctx);
    lanes_clear(&x);
    lanes_clear(&z);
    mpz_clears(m, want, ez, NULL);
}

/* A fixed-base table laid out as the scalar DJN table (64-bit limbs,
 * Montgomery form for 2^(64 L)) gives g^e per lane. */
static void test_fixed_base_matches_gmp(void)
{
    if (skip("fixed base"))
        return;
    const unsigned sizes[] = {4096, 6144};
    const unsigned w = 6;
    for (size_t s = 0; s < 2; s++) {
        veil_mb_ctx ctx;
        mpz_t m, g, acc, base, mont, want, ez;
        lanes z;
        mpz_inits(m, g, acc, base, mont, want, ez, NULL);
        lanes_init(&z);
        random_modulus(m, sizes[s]);
        veil_rand_mpz_below(g, m);
        CU_ASSERT_EQUAL_FATAL(veil_mb_ctx_init(&ctx, m), 0);
        const size_t ebits = s == 0 ? 448 : 512, nwin = (ebits + w - 1) / w, L = ctx.L;
        const size_t entries = (size_t)1 << w;
        mp_limb_t *table = calloc(nwin * entries * L, sizeof(mp_limb_t));
        CU_ASSERT_PTR_NOT_NULL_FATAL(table);
        mpz_set(base, g);
        for (size_t i = 0; i < nwin; i++) {
            mpz_set_ui(acc, 1);
            for (size_t j = 0; j < entries; j++) {
                mpz_mul_2exp(mont, acc, 64 * L);
                mpz_mod(mont, mont, m);
                mpz_export(table + (i * entries + j) * L, NULL, -1, sizeof(mp_limb_t), 0, 0, mont);
                mpz_mul(acc, acc, base);
                mpz_mod(acc, acc, m);
            }
            mpz_set(base, acc);
        }
        const size_t elen = (ebits + 7) / 8;
        uint8_t ebuf[VEIL_MB_LANES][64];
        const uint8_t *eb[VEIL_MB_LANES];
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            test_exponent(ebuf[l], elen, ebits, 0, l);
            eb[l] = ebuf[l];
        }
        uint64_t *r = veil_mb_alloc(&ctx, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL_FATAL(veil_mb_fixed_base(r, table, w, nwin, eb, elen, &ctx), 0);
        veil_mb_store(z.q, r, &ctx);
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            mpz_import(ez, elen, -1, 1, 0, 0, eb[l]);
            mpz_powm(want, g, ez, m);
            CU_ASSERT(mpz_cmp(want, z.v[l]) == 0);
        }
        veil_mb_free(&ctx, r, 1);
        free(table);
        veil_mb_ctx_clear(&ctx);
        lanes_clear(&z);
        mpz_clears(m, g, acc, base, mont, want, ez, NULL);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"context refuses even and unsupported moduli", test_ctx_refuses_bad_moduli},
        {"load/store round trip at every size", test_load_store_round_trip},
        {"mul equals mpz_mul+mpz_mod (edge values, every size)", test_mul_matches_gmp},
        {"mulmod_one (one number across the lanes) equals GMP (every size, in place)",
         test_mulmod_one_matches_gmp},
        {"sqr equals mul bit for bit, below 2m (every size)", test_sqr_matches_mul},
        {"chains of almost-reduced squarings stay correct", test_mul_chain_stays_correct},
        {"powm equals mpz_powm (edge exponents and bases)", test_powm_matches_gmp},
        {"powm with one exponent for all lanes", test_powm_shared_exponent},
        {"powm_one (one number across the lanes) equals mpz_powm (every size, in place)",
         test_powm_one_matches_gmp},
        {"powm_pair equals mpz_powm for both (different exponent lengths, in place)",
         test_powm_pair_matches_gmp},
        {"fixed-base table exponentiation equals mpz_powm", test_fixed_base_matches_gmp},
        {NULL, NULL},
    };
    return tu_main("mb52", NULL, NULL, tests);
}
