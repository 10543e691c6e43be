/* The AVX512-IFMA multi-buffer Montgomery engine (see mb52.h).
 *
 * Layout and algorithm, in short: digit d of the eight lanes is one
 * __m512i; a multiplication is the operand-scanning almost-Montgomery loop
 *
 *     for i < N:  t += a * b[i];  y = t[0] * k0 mod 2^52;  t += y * m;
 *                 t >>= 52 (one digit)
 *
 * with the shift folded into the stores (t'[j-1] = t[j] + lo(a[j] b[i]) +
 * hi(a[j-1] b[i]) + lo(m[j] y) + hi(m[j-1] y)), the carry of t[0] added to
 * the next row and all other carries left in the 64-bit accumulators until
 * one normalizing pass at the end. The y-dependent products come last in
 * each accumulator chain so that the row-to-row dependency (t[0] -> y ->
 * t[0]) is short; everything else overlaps. The code is specialised per
 * digit count (always-inlined body, constant N) so the loops have constant
 * trip counts. */
#include "mb52.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "veil/engine.h"

#define MASK52 ((uint64_t)0xfffffffffffffULL)

static atomic_int g_engine = VEIL_ENGINE_AUTO;

void veil_engine_select(veil_engine e)
{
    atomic_store(&g_engine, (int)e);
}

veil_engine veil_engine_selected(void)
{
    return (veil_engine)atomic_load(&g_engine);
}

int veil_engine_parse(const char *s, veil_engine *out)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "auto") == 0 || strcmp(s, "ifma") == 0) {
        *out = VEIL_ENGINE_AUTO;
        return 0;
    }
    if (strcmp(s, "scalar") == 0) {
        *out = VEIL_ENGINE_SCALAR;
        return 0;
    }
    return -1;
}

int veil_engine_ifma_supported(void)
{
    return veil_mb_cpu_ok();
}

const char *veil_engine_name(void)
{
    return veil_mb_active() ? "ifma" : "scalar";
}

int veil_mb_active(void)
{
    return atomic_load(&g_engine) == VEIL_ENGINE_AUTO && veil_mb_cpu_ok();
}

/* ---- contexts and lane conversion (plain C) ---- */

static int digits_supported(size_t N)
{
    return N == 40 || N == 60 || N == 79 || N == 119 || N == 158;
}

static inline void to_digits(uint64_t *out, const mpz_t x, size_t D);

int veil_mb_ctx_init(veil_mb_ctx *ctx, const mpz_t m)
{
    memset(ctx, 0, sizeof *ctx);
    if (mpz_sgn(m) <= 0 || mpz_even_p(m))
        return -1;
    size_t bits = mpz_sizeinbase(m, 2);
    /* 4m < R: two bits of headroom. */
    size_t N = (bits + 2 + 51) / 52;
    if (!digits_supported(N))
        return -1;
    ctx->N = N;
    ctx->L = mpz_size(m);
    ctx->m = calloc(N, sizeof(uint64_t));
    ctx->r2 = veil_mb_alloc(ctx, 3);
    if (ctx->m == NULL || ctx->r2 == NULL) {
        veil_mb_ctx_clear(ctx);
        return -1;
    }
    ctx->one = ctx->r2 + N * VEIL_MB_LANES;
    ctx->unit = ctx->one + N * VEIL_MB_LANES;
    /* m and R^2 mod m as one number across the lanes, padded with zero
     * digits to whole vectors. */
    const size_t D = 8 * ((N + 7) / 8);
    ctx->mh = aligned_alloc(64, 2 * D * sizeof(uint64_t));
    if (ctx->mh == NULL) {
        veil_mb_ctx_clear(ctx);
        return -1;
    }
    memset(ctx->mh, 0, 2 * D * sizeof(uint64_t));
    ctx->r2h = ctx->mh + D;

    mpz_t t;
    mpz_init(t);
    for (size_t d = 0; d < N; d++) {
        mpz_tdiv_q_2exp(t, m, 52 * d);
        ctx->m[d] = (uint64_t)mpz_getlimbn(t, 0) & MASK52;
        ctx->mh[d] = ctx->m[d];
    }
    /* Newton iteration for m0^-1 mod 2^64 (each step doubles the bits). */
    uint64_t m0 = (uint64_t)mpz_getlimbn(m, 0), inv = 1;
    for (int i = 0; i < 7; i++)
        inv *= 2 - m0 * inv;
    ctx->k0 = (0 - inv) & MASK52;

    const mpz_t *lanes[VEIL_MB_LANES];
    mpz_set_ui(t, 0);
    mpz_setbit(t, 52 * N);
    mpz_mod(t, t, m);
    for (int l = 0; l < VEIL_MB_LANES; l++)
        lanes[l] = (const mpz_t *)&t;
    veil_mb_load(ctx->one, lanes, ctx);
    mpz_mul(t, t, t);
    mpz_mod(t, t, m);
    veil_mb_load(ctx->r2, lanes, ctx);
    to_digits(ctx->r2h, t, N);
    mpz_set_ui(t, 1);
    veil_mb_load(ctx->unit, lanes, ctx);
    mpz_clear(t);
    return 0;
}

void veil_mb_ctx_clear(veil_mb_ctx *ctx)
{
    /* p^2 and q^2 are secrets. */
    if (ctx->m != NULL)
        sodium_memzero(ctx->m, ctx->N * sizeof(uint64_t));
    free(ctx->m);
    if (ctx->mh != NULL)
        sodium_memzero(ctx->mh, 2 * 8 * ((ctx->N + 7) / 8) * sizeof(uint64_t));
    free(ctx->mh);
    if (ctx->r2 != NULL)
        veil_mb_free(ctx, ctx->r2, 3);
    memset(ctx, 0, sizeof *ctx);
}

uint64_t *veil_mb_alloc(const veil_mb_ctx *ctx, size_t count)
{
    size_t bytes = ctx->N * VEIL_MB_LANES * sizeof(uint64_t) * count;
    uint64_t *p = aligned_alloc(64, bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void veil_mb_free(const veil_mb_ctx *ctx, uint64_t *p, size_t count)
{
    if (p == NULL)
        return;
    sodium_memzero(p, ctx->N * VEIL_MB_LANES * sizeof(uint64_t) * count);
    free(p);
}

/* Digit d of the L-limb number x: bits [52 d, 52 d + 52). Positions are
 * public; no branch depends on the limbs. */
static uint64_t limbs_digit(const mp_limb_t *x, size_t L, size_t d)
{
    size_t pos = 52 * d, l = pos / 64;
    unsigned off = (unsigned)(pos % 64);
    if (l >= L)
        return 0;
    uint64_t v = (uint64_t)x[l] >> off;
    if (off > 12 && l + 1 < L)
        v |= (uint64_t)x[l + 1] << (64 - off);
    return v & MASK52;
}

void veil_mb_load_limbs(uint64_t *r, const mp_limb_t *const x[VEIL_MB_LANES],
                        const veil_mb_ctx *ctx)
{
    for (size_t l = 0; l < VEIL_MB_LANES; l++)
        for (size_t d = 0; d < ctx->N; d++)
            r[d * VEIL_MB_LANES + l] = x[l] != NULL ? limbs_digit(x[l], ctx->L, d) : 0;
}

void veil_mb_load(uint64_t *r, const mpz_t *const x[VEIL_MB_LANES], const veil_mb_ctx *ctx)
{
    const size_t L = ctx->L;
    mp_limb_t buf[2 * VEIL_MB_MAX_DIGITS]; /* >= L limbs */
    for (size_t l = 0; l < VEIL_MB_LANES; l++) {
        memset(buf, 0, L * sizeof(mp_limb_t));
        if (x[l] != NULL) {
            size_t n = mpz_size(*x[l]);
            if (n > L)
                n = L;
            if (n > 0)
                memcpy(buf, mpz_limbs_read(*x[l]), n * sizeof(mp_limb_t));
        }
        for (size_t d = 0; d < ctx->N; d++)
            r[d * VEIL_MB_LANES + l] = limbs_digit(buf, L, d);
    }
    sodium_memzero(buf, L * sizeof(mp_limb_t));
}

void veil_mb_store(mpz_t *const out[VEIL_MB_LANES], const uint64_t *a, const veil_mb_ctx *ctx)
{
    const size_t L = ctx->L;
    mp_limb_t buf[2 * VEIL_MB_MAX_DIGITS];
    for (size_t l = 0; l < VEIL_MB_LANES; l++) {
        if (out[l] == NULL)
            continue;
        memset(buf, 0, (L + 1) * sizeof(mp_limb_t));
        for (size_t d = 0; d < ctx->N; d++) {
            uint64_t v = a[d * VEIL_MB_LANES + l];
            size_t pos = 52 * d, k = pos / 64;
            unsigned off = (unsigned)(pos % 64);
            /* 52 N <= 64 (L + 1) for every supported size, so L + 1 limbs
             * hold any N-digit value (an almost-reduced one included). */
            if (k <= L)
                buf[k] |= (mp_limb_t)(v << off);
            if (off > 12 && k + 1 <= L)
                buf[k + 1] |= (mp_limb_t)(v >> (64 - off));
        }
        mpz_import(*out[l], L + 1, -1, sizeof(mp_limb_t), 0, 0, buf);
    }
    sodium_memzero(buf, (L + 1) * sizeof(mp_limb_t));
}

/* Bits [pos, pos + w) of the little-endian byte string e, bits at or past
 * ebits read as 0 (positions are public). */
static unsigned exp_window(const uint8_t *e, size_t elen, size_t ebits, size_t pos, unsigned w)
{
    unsigned v = 0;
    for (unsigned k = 0; k < w; k++) {
        size_t bit = pos + k;
        unsigned b = (bit < ebits && bit / 8 < elen) ? (e[bit / 8] >> (bit % 8)) & 1u : 0u;
        v |= b << k;
    }
    return v;
}

/* x (0 <= x < 2^(64 L)) into D 52-bit digits, and back (public values). */
static inline void to_digits(uint64_t *out, const mpz_t x, size_t D)
{
    const mp_limb_t *l = mpz_limbs_read(x);
    size_t n = mpz_size(x);
    for (size_t d = 0; d < D; d++) {
        size_t pos = 52 * d, k = pos / 64;
        unsigned off = (unsigned)(pos % 64);
        uint64_t v = 0;
        if (k < n)
            v = (uint64_t)l[k] >> off;
        if (off > 12 && k + 1 < n)
            v |= (uint64_t)l[k + 1] << (64 - off);
        out[d] = v & MASK52;
    }
}

static inline void from_digits(mpz_t r, const uint64_t *dg, size_t N, size_t L)
{
    mp_limb_t *l = mpz_limbs_write(r, (mp_size_t)L);
    memset(l, 0, L * sizeof(mp_limb_t));
    for (size_t d = 0; d < N; d++) {
        size_t pos = 52 * d, k = pos / 64;
        unsigned off = (unsigned)(pos % 64);
        if (k < L)
            l[k] |= (mp_limb_t)(dg[d] << off);
        if (off > 12 && k + 1 < L)
            l[k + 1] |= (mp_limb_t)(dg[d] >> (64 - off));
    }
    mp_size_t n = (mp_size_t)L;
    while (n > 0 && l[n - 1] == 0)
        n--;
    mpz_limbs_finish(r, n);
}

void veil_mb_fixed_base_one_init(uint64_t *init, unsigned w, size_t nwin, const veil_mb_ctx *ctx)
{
    /* Every lane makes p = ceil(nwin / 8) products with entries
     * (Montgomery form for 2^(64 L)) and the butterfly three more, lane 0's
     * extra factor R^7 (R = 2^(52 N)) paying for those: afterwards each lane
     * holds prod_l (c_l P_l (2^(64 L) / R)^p) / R^7 = prod_l P_l. */
    const size_t N = ctx->N, L = ctx->L, per = (nwin + VEIL_MB_LANES - 1) / VEIL_MB_LANES;
    (void)w;
    mpz_t c0, c1, mod;
    mpz_inits(c0, c1, mod, NULL);
    mpz_import(mod, N, -1, sizeof(uint64_t), 0, 12, ctx->m); /* 52-bit words */
    mpz_setbit(c0, (52 * N - 64 * L) * per);
    mpz_mod(c0, c0, mod);
    mpz_setbit(c1, (52 * N - 64 * L) * per + 52 * N * (VEIL_MB_LANES - 1));
    mpz_mod(c1, c1, mod);
    const mpz_t *lanes[VEIL_MB_LANES];
    lanes[0] = (const mpz_t *)&c1;
    for (int l = 1; l < VEIL_MB_LANES; l++)
        lanes[l] = (const mpz_t *)&c0;
    veil_mb_load(init, lanes, ctx);
    mpz_clears(c0, c1, mod, NULL);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(VEIL_NO_IFMA)
#define VEIL_MB_BUILD 1
#include <immintrin.h>

#define IFMA        __attribute__((target("avx512f,avx512ifma")))
#define IFMA_INLINE static inline __attribute__((always_inline, target("avx512f,avx512ifma")))
#define LD(p)       _mm512_loadu_si512((const void *)(p))
#define ST(p, v)    _mm512_storeu_si512((void *)(p), (v))
#define BC(x)       _mm512_set1_epi64((long long)(x))
#define LO(acc, x, y) _mm512_madd52lo_epu64((acc), (x), (y))
#define HI(acc, x, y) _mm512_madd52hi_epu64((acc), (x), (y))

int veil_mb_cpu_ok(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}

/* One row (multiplier digit bi) of the loop at the top of the file, on t. */
IFMA_INLINE void amm_row(__m512i *t, const uint64_t *a, const __m512i bi, const uint64_t *m,
                         const __m512i K0, const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i pa = LD(a), pm = BC(m[0]);
    __m512i t0 = LO(t[0], pa, bi);
    const __m512i y = LO(zero, t0, K0);
    t0 = LO(t0, pm, y);
    const __m512i carry = _mm512_srli_epi64(t0, 52);
    for (size_t j = 1; j < N; j++) {
        const __m512i aj = LD(a + 8 * j), mj = BC(m[j]);
        __m512i x = LO(t[j], aj, bi);
        x = HI(x, pa, bi);
        x = LO(x, mj, y);
        x = HI(x, pm, y);
        t[j - 1] = x;
        pa = aj;
        pm = mj;
    }
    t[0] = _mm512_add_epi64(t[0], carry);
    t[N - 1] = HI(HI(zero, pa, bi), pm, y);
}

/* Two rows (bi, then bk) in one pass over t: eight products per load and
 * store of an accumulator instead of four. Row k's y needs only the new
 * t[0] of row i, which is computed first. */
IFMA_INLINE void amm_row2(__m512i *t, const uint64_t *a, const __m512i bi, const __m512i bk,
                          const uint64_t *m, const __m512i K0, const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    const __m512i a0 = LD(a), a1 = LD(a + 8), m0 = BC(m[0]), m1 = BC(m[1]);
    __m512i t0 = LO(t[0], a0, bi);
    const __m512i yi = LO(zero, t0, K0);
    t0 = LO(t0, m0, yi);
    __m512i u = _mm512_add_epi64(t[1], _mm512_srli_epi64(t0, 52));
    u = LO(u, a1, bi);
    u = HI(u, a0, bi);
    u = LO(u, m1, yi);
    u = HI(u, m0, yi);
    u = LO(u, a0, bk);
    const __m512i yk = LO(zero, u, K0);
    u = LO(u, m0, yk);
    const __m512i carry = _mm512_srli_epi64(u, 52);
    __m512i pa2 = a0, pa1 = a1, pm2 = m0, pm1 = m1;
    for (size_t j = 2; j < N; j++) {
        const __m512i aj = LD(a + 8 * j), mj = BC(m[j]);
        /* Two chains of four: shorter dependency chains keep more of
         * them in flight than one chain of eight. */
        __m512i x = LO(t[j], aj, bi), z = LO(zero, mj, yi);
        x = HI(x, pa1, bi);
        z = HI(z, pm1, yi);
        x = LO(x, pa1, bk);
        z = LO(z, pm1, yk);
        x = HI(x, pa2, bk);
        z = HI(z, pm2, yk);
        t[j - 2] = _mm512_add_epi64(x, z);
        pa2 = pa1;
        pa1 = aj;
        pm2 = pm1;
        pm1 = mj;
    }
    t[0] = _mm512_add_epi64(t[0], carry);
    __m512i x = HI(zero, pa1, bi);
    x = LO(x, pa1, bk);
    x = HI(x, pa2, bk);
    x = HI(x, pm1, yi);
    x = LO(x, pm1, yk);
    x = HI(x, pm2, yk);
    t[N - 2] = x;
    t[N - 1] = HI(HI(zero, pa1, bk), pm1, yk);
}

/* r = a b R^-1 mod m (almost: < 2m), N digits; see the top of the file. */
IFMA_INLINE void amm_core(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m,
                          uint64_t k0, const size_t N)
{
    __m512i t[VEIL_MB_MAX_DIGITS];
    const __m512i zero = _mm512_setzero_si512();
    const __m512i K0 = BC(k0), M52 = BC(MASK52);
    for (size_t j = 0; j < N; j++)
        t[j] = zero;
    size_t i = 0;
    for (; i + 2 <= N; i += 2)
        amm_row2(t, a, LD(b + 8 * i), LD(b + 8 * (i + 1)), m, K0, N);
    if (i < N)
        amm_row(t, a, LD(b + 8 * i), m, K0, N);
    __m512i c = zero;
    for (size_t j = 0; j < N; j++) {
        const __m512i x = _mm512_add_epi64(t[j], c);
        ST(r + 8 * j, _mm512_and_si512(x, M52));
        c = _mm512_srli_epi64(x, 52);
    }
    /* Accumulators held partial sums of a and b. */
    for (size_t j = 0; j < N; j++)
        t[j] = zero;
    __asm__ __volatile__("" : : "r"(t) : "memory");
}

#define DISPATCH_N(call)                                                                           \
    switch (ctx->N) {                                                                              \
    case 40: call(40); break;                                                                      \
    case 60: call(60); break;                                                                      \
    case 79: call(79); break;                                                                      \
    case 119: call(119); break;                                                                    \
    default: call(158); break;                                                                     \
    }

IFMA void veil_mb_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx)
{
#define MUL_N(n) amm_core(r, a, b, ctx->m, ctx->k0, n)
    DISPATCH_N(MUL_N)
#undef MUL_N
}

/* Column i + j of rows i and i + 1 of the off-diagonal products, every
 * term guarded (the edges of the pass): from row i, lo(a_i a_j) and
 * hi(a_i a_(j-1)); from row i + 1, lo(a_(i+1) a_(j-1)) and
 * hi(a_(i+1) a_(j-2)); a product counts only when its second index is
 * above its row's and below N. The guards compare public indices only. */
IFMA_INLINE __m512i sqr_column(__m512i x, const uint64_t *a, const __m512i ai, const __m512i ak,
                               const size_t i, const size_t j, const size_t N)
{
    if (j >= i + 1 && j <= N - 1)
        x = LO(x, ai, LD(a + 8 * j));
    if (j >= i + 2 && j - 1 <= N - 1)
        x = HI(x, ai, LD(a + 8 * (j - 1)));
    if (j >= i + 3 && j - 1 <= N - 1)
        x = LO(x, ak, LD(a + 8 * (j - 1)));
    if (j >= i + 4 && j - 2 <= N - 1)
        x = HI(x, ak, LD(a + 8 * (j - 2)));
    return x;
}

/* Off-diagonal products a_i a_j (i < j) of rows i and i + 1 added into the
 * 2N accumulators t (t[i + j] gets the low half, t[i + j + 1] the high
 * half), in one pass over the columns j = i + 1 .. N + 1: eight products
 * per load and store of an accumulator in the middle (j = i + 4 .. N - 1),
 * the edges through sqr_column. */
IFMA_INLINE void sqr_rows2(__m512i *t, const uint64_t *a, const size_t i, const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    const __m512i ai = LD(a + 8 * i);
    const __m512i ak = i + 1 < N ? LD(a + 8 * (i + 1)) : zero;
    const size_t mid = i + 4, tail = mid > N ? mid : N;
#pragma GCC unroll 3
    for (size_t d = 1; d < 4; d++)
        if (i + d <= N + 1)
            t[2 * i + d] = sqr_column(t[2 * i + d], a, ai, ak, i, i + d, N);
    __m512i aj1 = zero, aj2 = zero;
    if (mid < N) {
        aj1 = LD(a + 8 * (mid - 1));
        aj2 = LD(a + 8 * (mid - 2));
    }
    for (size_t j = mid; j < N; j++) {
        const __m512i aj = LD(a + 8 * j);
        __m512i x = LO(t[i + j], ai, aj), z = LO(zero, ak, aj1);
        x = HI(x, ai, aj1);
        z = HI(z, ak, aj2);
        t[i + j] = _mm512_add_epi64(x, z);
        aj2 = aj1;
        aj1 = aj;
    }
    for (size_t j = tail; j <= N + 1; j++)
        t[i + j] = sqr_column(t[i + j], a, ai, ak, i, j, N);
}

/* Two Montgomery reduction rows (digits i and i + 1) of the 2N-digit t:
 * y = t[i] k0 mod 2^52, t += y m 2^(52 i), the carry of t[i] moved into
 * t[i + 1]; then the same for i + 1. */
IFMA_INLINE void redc_rows2(__m512i *t, const size_t i, const uint64_t *m, const __m512i K0,
                            const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    const __m512i m0 = BC(m[0]), m1 = BC(m[1]);
    __m512i t0 = t[i];
    const __m512i yi = LO(zero, t0, K0);
    t0 = LO(t0, m0, yi);
    __m512i u = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64(t0, 52));
    u = LO(u, m1, yi);
    u = HI(u, m0, yi);
    const __m512i yk = LO(zero, u, K0);
    u = LO(u, m0, yk);
    t[i + 2] = _mm512_add_epi64(t[i + 2], _mm512_srli_epi64(u, 52));
    __m512i pm2 = m0, pm1 = m1;
    for (size_t j = 2; j < N; j++) {
        const __m512i mj = BC(m[j]);
        __m512i x = LO(t[i + j], mj, yi), z = LO(zero, pm1, yk);
        x = HI(x, pm1, yi);
        z = HI(z, pm2, yk);
        t[i + j] = _mm512_add_epi64(x, z);
        pm2 = pm1;
        pm1 = mj;
    }
    __m512i x = HI(t[i + N], pm1, yi);
    x = LO(x, pm1, yk);
    t[i + N] = HI(x, pm2, yk);
    t[i + N + 1] = HI(t[i + N + 1], pm1, yk);
}

/* Column i + j of four reduction rows (multipliers y[0..3] for digits
 * i .. i + 3): row r adds lo(m_(j-r) y_r) and hi(m_(j-r-1) y_r), each
 * when its digit index lies in 0 .. N - 1 (public indices only). */
IFMA_INLINE __m512i redc_column4(__m512i x, const __m512i *y, const uint64_t *m, const size_t j,
                                 const size_t N)
{
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) {
        if (j >= r && j - r <= N - 1)
            x = LO(x, BC(m[j - r]), y[r]);
        if (j >= r + 1 && j - r - 1 <= N - 1)
            x = HI(x, BC(m[j - r - 1]), y[r]);
    }
    return x;
}

/* The multipliers y[0..3] of reduction rows i .. i + 3, once columns
 * i .. i + 3 hold every earlier row's products: each y_r needs its column
 * complete, carry included, so the four form one serial chain; the
 * columns' own products (lo(m_0 y_r) and what rows < r add) are added
 * here and the carries moved up. */
IFMA_INLINE void redc_multipliers4(__m512i *y, __m512i *t, const size_t i, const uint64_t *m,
                                   const __m512i K0, const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    for (size_t r = 0; r < 4; r++)
        y[r] = zero;
    /* The carry is added after the products so that the chain from y_r to
     * y_(r+1) is two products, an addition and the multiplier's product,
     * the earlier rows' products running ahead of it. */
    __m512i carry = zero;
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) {
        /* Rows r.. still have zero multipliers: redc_column4 adds only
         * the rows already known, y_(r-1)'s last. */
        __m512i x = _mm512_add_epi64(redc_column4(t[i + r], y, m, r, N), carry);
        y[r] = LO(zero, x, K0);
        x = LO(x, BC(m[0]), y[r]);
        carry = _mm512_srli_epi64(x, 52);
    }
    t[i + 4] = _mm512_add_epi64(t[i + 4], carry);
}

/* Columns i + j, j in [j0, j1), of the four reduction rows with
 * multipliers y (all eight products; 4 <= j0, j1 <= N). */
IFMA_INLINE void redc_span4(__m512i *t, const __m512i *y, const size_t i, const size_t j0,
                            const size_t j1, const uint64_t *m)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i m1 = BC(m[j0 - 1]), m2 = BC(m[j0 - 2]), m3 = BC(m[j0 - 3]), m4 = BC(m[j0 - 4]);
    for (size_t j = j0; j < j1; j++) {
        const __m512i mj = BC(m[j]);
        __m512i x = LO(t[i + j], mj, y[0]), z = LO(zero, m2, y[2]);
        x = HI(x, m1, y[0]);
        z = HI(z, m3, y[2]);
        x = LO(x, m1, y[1]);
        z = LO(z, m3, y[3]);
        x = HI(x, m2, y[1]);
        z = HI(z, m4, y[3]);
        t[i + j] = _mm512_add_epi64(x, z);
        m4 = m3;
        m3 = m2;
        m2 = m1;
        m1 = mj;
    }
}

/* Reduction rows 0 .. 4 floor(N / 4) - 1, four per pass over t, software
 * pipelined: as soon as a pass has finished columns i + 4 .. i + 7, the
 * next pass's multipliers are computed, so their serial chain overlaps
 * with the rest of this pass instead of stalling the next. Returns the
 * number of rows done. */
IFMA_INLINE size_t redc_passes4(__m512i *t, const uint64_t *m, const __m512i K0, const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i y[4], yn[4] = {zero, zero, zero, zero};
    size_t i = 0;
    if (N < 8)
        return 0;
    redc_multipliers4(y, t, 0, m, K0, N);
    for (;; i += 4) {
        redc_span4(t, y, i, 4, 8, m);
        const int more = i + 8 <= N;
        if (more)
            redc_multipliers4(yn, t, i + 4, m, K0, N);
        redc_span4(t, y, i, 8, N, m);
#pragma GCC unroll 4
        for (size_t j = N; j < N + 4; j++)
            t[i + j] = redc_column4(t[i + j], y, m, j, N);
        if (!more)
            break;
        for (int r = 0; r < 4; r++)
            y[r] = yn[r];
    }
    return i + 4;
}

/* The last single reduction row when N is odd. */
IFMA_INLINE void redc_row(__m512i *t, const size_t i, const uint64_t *m, const __m512i K0,
                          const size_t N)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i pm = BC(m[0]);
    __m512i t0 = t[i];
    const __m512i y = LO(zero, t0, K0);
    t0 = LO(t0, pm, y);
    t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64(t0, 52));
    for (size_t j = 1; j < N; j++) {
        const __m512i mj = BC(m[j]);
        t[i + j] = HI(LO(t[i + j], mj, y), pm, y);
        pm = mj;
    }
    t[i + N] = HI(t[i + N], pm, y);
}

/* r = a^2 R^-1 mod m (almost: < 2m for a < 2m): the square as 2N digits
 * (each off-diagonal product once, the sum doubled, the diagonal added),
 * then N Montgomery reduction rows; about 3/4 of the IFMA instructions of
 * amm_core. Accumulator bound: a column collects at most 2N doubled
 * off-diagonal halves, two diagonal halves and 2N reduction halves, each
 * below 2^52, plus carries below 2^12: under 2^62 for N <= 158. */
IFMA_INLINE void ams_core(uint64_t *r, const uint64_t *a, const uint64_t *m, uint64_t k0,
                          const size_t N)
{
    __m512i t[2 * VEIL_MB_MAX_DIGITS];
    const __m512i zero = _mm512_setzero_si512();
    const __m512i K0 = BC(k0), M52 = BC(MASK52);
    /* Vector stores (the empty asm keeps the compiler from turning the
     * loops into a slower rep stos). */
    for (size_t j = 0; j < 2 * N; j++) {
        t[j] = zero;
        __asm__("" : : "r"(t) : "memory");
    }
    for (size_t i = 0; i + 1 < N; i += 2)
        sqr_rows2(t, a, i, N);
    for (size_t i = 0; i < N; i++) {
        const __m512i ai = LD(a + 8 * i);
        t[2 * i] = LO(_mm512_slli_epi64(t[2 * i], 1), ai, ai);
        t[2 * i + 1] = HI(_mm512_slli_epi64(t[2 * i + 1], 1), ai, ai);
    }
    size_t i = redc_passes4(t, m, K0, N);
    for (; i + 2 <= N; i += 2)
        redc_rows2(t, i, m, K0, N);
    if (i < N)
        redc_row(t, i, m, K0, N);
    __m512i c = zero;
    for (size_t j = 0; j < N; j++) {
        const __m512i x = _mm512_add_epi64(t[N + j], c);
        ST(r + 8 * j, _mm512_and_si512(x, M52));
        c = _mm512_srli_epi64(x, 52);
    }
    /* Accumulators held partial sums of a's products. */
    for (size_t j = 0; j < 2 * N; j++) {
        t[j] = zero;
        __asm__ __volatile__("" : : "r"(t) : "memory");
    }
}

IFMA void veil_mb_sqr(uint64_t *r, const uint64_t *a, const veil_mb_ctx *ctx)
{
#define SQR_N(n) ams_core(r, a, ctx->m, ctx->k0, n)
    DISPATCH_N(SQR_N)
#undef SQR_N
}

IFMA void veil_mb_reduce(uint64_t *r, const veil_mb_ctx *ctx)
{
    const size_t N = ctx->N;
    __m512i d[VEIL_MB_MAX_DIGITS];
    const __m512i M52 = BC(MASK52), zero = _mm512_setzero_si512();
    __m512i borrow = zero;
    for (size_t j = 0; j < N; j++) {
        __m512i x = _mm512_sub_epi64(_mm512_sub_epi64(LD(r + 8 * j), BC(ctx->m[j])), borrow);
        borrow = _mm512_srli_epi64(x, 63);
        d[j] = _mm512_and_si512(x, M52);
    }
    /* A borrow out of the top digit means r < m: keep r. */
    const __mmask8 keep = _mm512_cmpneq_epi64_mask(borrow, zero);
    for (size_t j = 0; j < N; j++)
        ST(r + 8 * j, _mm512_mask_blend_epi64(keep, d[j], LD(r + 8 * j)));
    sodium_memzero(d, N * sizeof d[0]);
}

IFMA void veil_mb_mulmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx)
{
    veil_mb_mul(r, a, b, ctx);        /* a b R^-1 */
    veil_mb_mul(r, r, ctx->r2, ctx);  /* a b */
    veil_mb_reduce(r, ctx);
}

/* ---- one number across the lanes ------------------------------------
 *
 * For a single product the eight lanes hold eight consecutive digits of
 * one number (digit 8 v + l in lane l of vector v), and the word-by-word
 * Montgomery loop runs over the digits of b: acc += a b_i, y = acc_0 k0,
 * acc += y m, then acc shifts down one digit (valignq across the vectors)
 * and the high halves of both products are added at the shifted places.
 * Accumulators collect at most 4 N terms below 2^52 before they leave
 * through digit 0, below 2^62 for N <= 158; carries are propagated once at
 * the end. Used for public values only (veil_paillier_add). */

/* K independent products (K = 1 or 2, each with its own modulus of the
 * same digit count) in one loop, so that the latency of one's chain of
 * dependent steps (digit 0 -> y -> digit 0) hides behind the other's. */
IFMA_INLINE void amm_k_core(const size_t K, uint64_t *const *r, const uint64_t *const *a,
                            const uint64_t *const *b, const uint64_t *const *m, const uint64_t *k0,
                            const size_t N)
{
    enum { VMAX = (VEIL_MB_MAX_DIGITS + 7) / 8 };
    const size_t NV = (N + 7) / 8;
    const __m512i zero = _mm512_setzero_si512();
    __m512i acc[2][VMAX], av[2][VMAX], mv[2][VMAX];
#pragma GCC unroll 2
    for (size_t k = 0; k < K; k++) {
#pragma GCC unroll 20
        for (size_t v = 0; v < NV; v++) {
            acc[k][v] = zero;
            av[k][v] = LD(a[k] + 8 * v);
            mv[k][v] = LD(m[k] + 8 * v);
        }
    }
    for (size_t i = 0; i < N; i++) {
        __m512i bi[2], y[2];
        uint64_t x0[2];
#pragma GCC unroll 2
        for (size_t k = 0; k < K; k++) {
            bi[k] = BC(b[k][i]);
#pragma GCC unroll 20
            for (size_t v = 0; v < NV; v++)
                acc[k][v] = _mm512_madd52lo_epu64(acc[k][v], av[k][v], bi[k]);
            x0[k] = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[k][0]));
            y[k] = BC((x0[k] * k0[k]) & MASK52);
        }
#pragma GCC unroll 2
        for (size_t k = 0; k < K; k++) {
#pragma GCC unroll 20
            for (size_t v = 0; v < NV; v++)
                acc[k][v] = _mm512_madd52lo_epu64(acc[k][v], mv[k][v], y[k]);
            x0[k] = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[k][0]));
        }
#pragma GCC unroll 2
        for (size_t k = 0; k < K; k++) {
#pragma GCC unroll 20
            for (size_t v = 0; v + 1 < NV; v++)
                acc[k][v] = _mm512_alignr_epi64(acc[k][v + 1], acc[k][v], 1);
            acc[k][NV - 1] = _mm512_alignr_epi64(zero, acc[k][NV - 1], 1);
            acc[k][0] = _mm512_mask_add_epi64(acc[k][0], 1, acc[k][0], BC(x0[k] >> 52));
#pragma GCC unroll 20
            for (size_t v = 0; v < NV; v++) {
                acc[k][v] = _mm512_madd52hi_epu64(acc[k][v], av[k][v], bi[k]);
                acc[k][v] = _mm512_madd52hi_epu64(acc[k][v], mv[k][v], y[k]);
            }
        }
    }
#pragma GCC unroll 2
    for (size_t k = 0; k < K; k++) {
        uint64_t t[8 * VMAX];
        for (size_t v = 0; v < NV; v++)
            ST(t + 8 * v, acc[k][v]);
        uint64_t c = 0;
        for (size_t d = 0; d < 8 * NV; d++) {
            uint64_t x = t[d] + c;
            r[k][d] = x & MASK52;
            c = x >> 52;
        }
    }
}

IFMA_INLINE void amm_one_core(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m,
                              uint64_t k0, size_t N)
{
    amm_k_core(1, &r, &a, &b, &m, &k0, N);
}

/* acc - m unless that borrows, selected by a mask (no branch: the value
 * may be secret); tmp: D words. */
static void final_sub_ct(uint64_t *acc, uint64_t *tmp, const veil_mb_ctx *ctx)
{
    const size_t D = 8 * ((ctx->N + 7) / 8);
    int64_t borrow = 0;
    for (size_t d = 0; d < D; d++) {
        int64_t x = (int64_t)acc[d] - (int64_t)ctx->mh[d] + borrow;
        tmp[d] = (uint64_t)x & MASK52;
        borrow = x >> 52;
    }
    const uint64_t keep = (uint64_t)borrow; /* all ones when acc < m */
    for (size_t d = 0; d < D; d++)
        acc[d] = (acc[d] & keep) | (tmp[d] & ~keep);
}

/* r = a b mod m canonical (a, b, r: 8 * ceil(N / 8) digits, a, b < m). */
IFMA static void mulmod_one(uint64_t *r, const uint64_t *a, const uint64_t *b,
                            const veil_mb_ctx *ctx)
{
    uint64_t t[8 * ((VEIL_MB_MAX_DIGITS + 7) / 8)];
#define ONE_N(n)                                                                                   \
    do {                                                                                           \
        amm_one_core(t, a, b, ctx->mh, ctx->k0, n);        /* a b R^-1 */                          \
        amm_one_core(r, t, ctx->r2h, ctx->mh, ctx->k0, n); /* a b, below 2m */                     \
    } while (0)
    DISPATCH_N(ONE_N)
#undef ONE_N
    final_sub_ct(r, t, ctx); /* r - m unless that borrows */
}

IFMA int veil_mb_mulmod_one(mpz_t r, const mpz_t a, const mpz_t b, const veil_mb_ctx *ctx)
{
    const size_t D = 8 * ((ctx->N + 7) / 8);
    uint64_t da[8 * ((VEIL_MB_MAX_DIGITS + 7) / 8)], db[sizeof da / sizeof da[0]];
    if (mpz_sgn(a) < 0 || mpz_sgn(b) < 0 || mpz_size(a) > ctx->L || mpz_size(b) > ctx->L)
        return -1;
    to_digits(da, a, D);
    to_digits(db, b, D);
    mulmod_one(da, da, db, ctx);
    from_digits(r, da, ctx->N, ctx->L);
    return 0;
}

/* sel = entry idx of a table of `entries` numbers of NV vectors each (one
 * number across the lanes), reading every entry and keeping the wanted one
 * by a mask: no address depends on idx. */
IFMA_INLINE void select_across(uint64_t *sel, const uint64_t *table, size_t entries, size_t NV,
                               unsigned idx)
{
    enum { VMAX = (VEIL_MB_MAX_DIGITS + 7) / 8 };
    const __m512i want = BC(idx);
    __m512i s[VMAX];
    for (size_t v = 0; v < NV; v++)
        s[v] = _mm512_setzero_si512();
    for (size_t j = 0; j < entries; j++) {
        const __mmask8 mk = _mm512_cmpeq_epi64_mask(want, BC(j));
        for (size_t v = 0; v < NV; v++)
            s[v] = _mm512_mask_blend_epi64(mk, s[v], LD(table + (j * NV + v) * 8));
    }
    for (size_t v = 0; v < NV; v++)
        ST(sel + 8 * v, s[v]);
}

/* The exponentiations of veil_mb_powm_one / veil_mb_powm_pair (K = 1, 2)
 * for a digit count known at compile time, all K with the same nwin
 * windows. mem[k] holds (2^W + 3) D digits: the table, then acc, sel and
 * the base (already loaded). */
IFMA_INLINE void powm_k_core(const size_t K, uint64_t *const *mem, const uint8_t *const *e,
                             const size_t *elen, const size_t *ebits, size_t nwin,
                             const veil_mb_ctx *const *ctx, const size_t N)
{
    enum { W = VEIL_MB_POWM_ONE_WINDOW, E = 1u << W };
    const size_t NV = (N + 7) / 8, D = 8 * NV;
    uint64_t *tab[2], *acc[2], *sel[2], *base[2], *tj[2];
    const uint64_t *r2[2], *m[2], *tprev[2], *t1[2];
    uint64_t k0[2];
    for (size_t k = 0; k < K; k++) {
        tab[k] = mem[k];
        acc[k] = tab[k] + E * D;
        sel[k] = acc[k] + D;
        base[k] = sel[k] + D;
        r2[k] = ctx[k]->r2h;
        m[k] = ctx[k]->mh;
        k0[k] = ctx[k]->k0;
        memset(sel[k], 0, D * sizeof(uint64_t));
        sel[k][0] = 1;
        t1[k] = tab[k] + D;
    }
    amm_k_core(K, tab, (const uint64_t *const *)sel, r2, m, k0, N);                    /* R mod m */
    amm_k_core(K, (uint64_t *const *)t1, (const uint64_t *const *)base, r2, m, k0, N); /* base R */
    for (size_t j = 2; j < E; j++) {
        for (size_t k = 0; k < K; k++) {
            tj[k] = tab[k] + j * D;
            tprev[k] = tab[k] + (j - 1) * D;
        }
        amm_k_core(K, tj, tprev, t1, m, k0, N);
    }
    for (size_t k = 0; k < K; k++)
        select_across(acc[k], tab[k], E, NV,
                      exp_window(e[k], elen[k], ebits[k], (nwin - 1) * W, W));
    for (size_t i = nwin - 1; i-- > 0;) {
        for (unsigned q = 0; q < W; q++)
            amm_k_core(K, acc, (const uint64_t *const *)acc, (const uint64_t *const *)acc, m, k0,
                       N);
        for (size_t k = 0; k < K; k++)
            select_across(sel[k], tab[k], E, NV, exp_window(e[k], elen[k], ebits[k], i * W, W));
        amm_k_core(K, acc, (const uint64_t *const *)acc, (const uint64_t *const *)sel, m, k0, N);
    }
    for (size_t k = 0; k < K; k++) {
        memset(sel[k], 0, D * sizeof(uint64_t));
        sel[k][0] = 1;
    }
    /* out of Montgomery form, <= m */
    amm_k_core(K, acc, (const uint64_t *const *)acc, (const uint64_t *const *)sel, m, k0, N);
}

/* The K powers r[k] = base[k]^e[k] mod ctx[k]'s modulus; -1 as in
 * veil_mb_powm_one, or when the contexts' digit counts differ. */
IFMA_INLINE int powm_k(const size_t K, mpz_t *const *r, const mpz_t *const *base,
                       const uint8_t *const *e, const size_t *elen, const size_t *ebits,
                       const veil_mb_ctx *const *cx)
{
    const veil_mb_ctx *ctx = cx[0]; /* DISPATCH_N reads ctx->N */
    enum { E = 1u << VEIL_MB_POWM_ONE_WINDOW };
    const size_t D = 8 * ((ctx->N + 7) / 8), words = (E + 3) * D;
    size_t maxbits = 0;
    for (size_t k = 0; k < K; k++) {
        if (mpz_sgn(*base[k]) < 0 || mpz_size(*base[k]) > cx[k]->L || ebits[k] == 0 ||
            cx[k]->N != ctx->N)
            return -1;
        if (ebits[k] > maxbits)
            maxbits = ebits[k];
    }
    uint64_t *all = aligned_alloc(64, K * words * sizeof(uint64_t));
    if (all == NULL)
        return -1;
    uint64_t *mem[2];
    for (size_t k = 0; k < K; k++) {
        mem[k] = all + k * words;
        to_digits(mem[k] + (E + 2) * D, *base[k], D);
    }
    /* Exponents of different lengths share the window count of the
     * longest (the other's extra top windows read as 0). */
    const size_t nwin = (maxbits + VEIL_MB_POWM_ONE_WINDOW - 1) / VEIL_MB_POWM_ONE_WINDOW;
#define POW_N(n) powm_k_core(K, mem, e, elen, ebits, nwin, cx, n)
    DISPATCH_N(POW_N)
#undef POW_N
    for (size_t k = 0; k < K; k++) {
        uint64_t *acc = mem[k] + E * D;
        final_sub_ct(acc, acc + D, cx[k]);
        from_digits(*r[k], acc, cx[k]->N, cx[k]->L);
    }
    sodium_memzero(all, K * words * sizeof(uint64_t));
    free(all);
    return 0;
}

IFMA int veil_mb_powm_one(mpz_t r, const mpz_t base, const uint8_t *e, size_t elen, size_t ebits,
                          const veil_mb_ctx *ctx)
{
    mpz_t *rr = (mpz_t *)r;
    const mpz_t *bb = (const mpz_t *)base;
    return powm_k(1, &rr, &bb, &e, &elen, &ebits, &ctx);
}

IFMA int veil_mb_powm_pair(mpz_t r1, const mpz_t base1, const uint8_t *e1, size_t elen1,
                           size_t ebits1, const veil_mb_ctx *ctx1, mpz_t r2, const mpz_t base2,
                           const uint8_t *e2, size_t elen2, size_t ebits2, const veil_mb_ctx *ctx2)
{
    mpz_t *rr[2] = {(mpz_t *)r1, (mpz_t *)r2};
    const mpz_t *bb[2] = {(const mpz_t *)base1, (const mpz_t *)base2};
    const uint8_t *ee[2] = {e1, e2};
    const size_t el[2] = {elen1, elen2}, eb[2] = {ebits1, ebits2};
    const veil_mb_ctx *cc[2] = {ctx1, ctx2};
    return powm_k(2, rr, bb, ee, el, eb, cc);
}

/* sel = table[idx[lane]] per lane, reading all `entries` entries of n
 * digits each (entry j at table + j * n * 8). */
IFMA_INLINE void select_entry(uint64_t *sel, const uint64_t *table, size_t entries, size_t n,
                              const __m512i idx)
{
    __mmask8 mk[64];
    for (size_t j = 0; j < entries; j++)
        mk[j] = _mm512_cmpeq_epi64_mask(idx, BC(j));
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m512i s[8];
        for (int u = 0; u < 8; u++)
            s[u] = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++) {
            const uint64_t *ent = table + (j * n + k) * 8;
            for (int u = 0; u < 8; u++)
                s[u] = _mm512_mask_blend_epi64(mk[j], s[u], LD(ent + 8 * u));
        }
        for (int u = 0; u < 8; u++)
            ST(sel + (k + u) * 8, s[u]);
    }
    for (; k < n; k++) {
        __m512i s = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++)
            s = _mm512_mask_blend_epi64(mk[j], s, LD(table + (j * n + k) * 8));
        ST(sel + k * 8, s);
    }
}

/* The window digits of the eight exponents at bit position pos. */
static void lane_windows(uint64_t idx[VEIL_MB_LANES], const uint8_t *const e[VEIL_MB_LANES],
                         size_t elen, size_t ebits, size_t pos, unsigned w)
{
    for (int l = 0; l < VEIL_MB_LANES; l++)
        idx[l] = exp_window(e[l], elen, ebits, pos, w);
}

IFMA int veil_mb_powm(uint64_t *r, const uint64_t *base, const uint8_t *const e[VEIL_MB_LANES],
                      size_t elen, size_t ebits, const veil_mb_ctx *ctx)
{
    const unsigned w = VEIL_MB_POWM_WINDOW;
    const size_t entries = (size_t)1 << w, N = ctx->N, stride = N * VEIL_MB_LANES;
    uint64_t *table = veil_mb_alloc(ctx, entries + 1);
    if (table == NULL)
        return -1;
    uint64_t *acc = table + entries * stride;
    uint64_t idx[VEIL_MB_LANES];

    /* table[j] = base^j R mod m (almost reduced). */
    memcpy(table, ctx->one, stride * sizeof(uint64_t));
    veil_mb_mul(table + stride, base, ctx->r2, ctx);
    for (size_t j = 2; j < entries; j++)
        veil_mb_mul(table + j * stride, table + (j - 1) * stride, table + stride, ctx);

    size_t nwin = (ebits + w - 1) / w;
    lane_windows(idx, e, elen, ebits, (nwin - 1) * w, w);
    select_entry(acc, table, entries, N, LD(idx));
    for (size_t i = nwin - 1; i-- > 0;) {
        for (unsigned s = 0; s < w; s++)
            veil_mb_sqr(acc, acc, ctx);
        lane_windows(idx, e, elen, ebits, i * w, w);
        select_entry(r, table, entries, N, LD(idx));
        veil_mb_mul(acc, acc, r, ctx);
    }
    veil_mb_mul(r, acc, ctx->unit, ctx); /* out of Montgomery form */
    veil_mb_reduce(r, ctx);
    sodium_memzero(idx, sizeof idx);
    veil_mb_free(ctx, table, entries + 1);
    return 0;
}

IFMA_INLINE void limbs_to_digits(uint64_t *out, const uint64_t *sel, size_t L, size_t N);

/* sel (L limbs per lane, digit-major [L][8]) = the entry idx[lane] of a row
 * of 2^w entries of L 64-bit limbs, then converted into N digits. */
IFMA_INLINE void select_limbs(uint64_t *out, uint64_t *sel, const mp_limb_t *row, size_t entries,
                              size_t L, size_t N, const __m512i idx)
{
    __mmask8 mk[64];
    for (size_t j = 0; j < entries; j++)
        mk[j] = _mm512_cmpeq_epi64_mask(idx, BC(j));
    size_t k = 0;
    for (; k + 8 <= L; k += 8) {
        __m512i s[8];
        for (int u = 0; u < 8; u++)
            s[u] = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++) {
            const mp_limb_t *ent = row + j * L + k;
            for (int u = 0; u < 8; u++)
                s[u] = _mm512_mask_blend_epi64(mk[j], s[u], BC(ent[u]));
        }
        for (int u = 0; u < 8; u++)
            ST(sel + (k + u) * 8, s[u]);
    }
    for (; k < L; k++) {
        __m512i s = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++)
            s = _mm512_mask_blend_epi64(mk[j], s, BC(row[j * L + k]));
        ST(sel + k * 8, s);
    }
    limbs_to_digits(out, sel, L, N);
}

/* sel (L limbs per lane, [L][8]) into N 52-bit digits per lane (public
 * shifts, all lanes at once). */
IFMA_INLINE void limbs_to_digits(uint64_t *out, const uint64_t *sel, size_t L, size_t N)
{
    const __m512i M52 = BC(MASK52), zero = _mm512_setzero_si512();
    for (size_t d = 0; d < N; d++) {
        size_t pos = 52 * d, l = pos / 64;
        uint64_t off = pos % 64;
        __m512i v = zero;
        if (l < L) {
            v = _mm512_srlv_epi64(LD(sel + l * 8), BC(off));
            if (off > 12 && l + 1 < L)
                v = _mm512_or_si512(v, _mm512_sllv_epi64(LD(sel + (l + 1) * 8), BC(64 - off)));
        }
        ST(out + d * 8, _mm512_and_si512(v, M52));
    }
}

IFMA int veil_mb_fixed_base(uint64_t *r, const mp_limb_t *table, unsigned w, size_t nwin,
                            const uint8_t *const e[VEIL_MB_LANES], size_t elen,
                            const veil_mb_ctx *ctx)
{
    const size_t N = ctx->N, L = ctx->L, entries = (size_t)1 << w;
    if (w > 6 || 52 * N < 64 * L)
        return -1;
    uint64_t *mem = veil_mb_alloc(ctx, 2);
    uint64_t *sel64 = aligned_alloc(64, L * VEIL_MB_LANES * sizeof(uint64_t));
    if (mem == NULL || sel64 == NULL) {
        veil_mb_free(ctx, mem, 2);
        free(sel64);
        return -1;
    }
    uint64_t *acc = mem, *sel = mem + N * VEIL_MB_LANES;
    uint64_t idx[VEIL_MB_LANES];

    /* Each product with an entry (Montgomery form for 2^(64 L)) multiplies
     * by g^(...) 2^(64 L - 52 N); starting from 2^((52 N - 64 L) nwin)
     * mod m cancels all of it, so acc ends as the plain power. */
    mpz_t c0, mod;
    mpz_inits(c0, mod, NULL);
    mpz_import(mod, N, -1, sizeof(uint64_t), 0, 12, ctx->m); /* 52-bit words */
    mpz_setbit(c0, (52 * N - 64 * L) * nwin);
    mpz_mod(c0, c0, mod);
    const mpz_t *lanes[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++)
        lanes[l] = (const mpz_t *)&c0;
    veil_mb_load(acc, lanes, ctx);
    mpz_clears(c0, mod, NULL);

    const size_t ebits = nwin * w;
    for (size_t i = 0; i < nwin; i++) {
        lane_windows(idx, e, elen, ebits, i * w, w);
        select_limbs(sel, sel64, table + i * entries * L, entries, L, N, LD(idx));
        veil_mb_mul(acc, acc, sel, ctx);
    }
    veil_mb_reduce(acc, ctx);
    memcpy(r, acc, N * VEIL_MB_LANES * sizeof(uint64_t));
    sodium_memzero(idx, sizeof idx);
    sodium_memzero(sel64, L * VEIL_MB_LANES * sizeof(uint64_t));
    free(sel64);
    veil_mb_free(ctx, mem, 2);
    return 0;
}

/* Lane `lane` of sel ([L][8] 64-bit limbs) = entry d of a row of `entries`
 * entries of L limbs: every entry is read and the wanted one kept by a
 * mask from a vector compare, 8 limbs at a time. */
IFMA_INLINE void select_one(uint64_t *sel, int lane, const mp_limb_t *row, size_t entries, size_t L,
                            uint64_t d)
{
    const __m512i vd = BC(d);
    uint64_t tmp[8];
    size_t k = 0;
    for (; k + 8 <= L; k += 8) {
        __m512i s = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++)
            s = _mm512_mask_blend_epi64(_mm512_cmpeq_epi64_mask(vd, BC(j)), s, LD(row + j * L + k));
        ST(tmp, s);
        for (int u = 0; u < 8; u++)
            sel[(k + u) * VEIL_MB_LANES + (size_t)lane] = tmp[u];
    }
    for (; k < L; k++) {
        __m512i s = _mm512_setzero_si512();
        for (size_t j = 0; j < entries; j++)
            s = _mm512_mask_blend_epi64(_mm512_cmpeq_epi64_mask(vd, BC(j)), s, BC(row[j * L + k]));
        ST(tmp, s);
        sel[k * VEIL_MB_LANES + (size_t)lane] = tmp[0];
    }
    sodium_memzero(tmp, sizeof tmp);
}

IFMA int veil_mb_fixed_base_one(mpz_t r, const mp_limb_t *table, unsigned w, size_t nwin,
                                const uint8_t *e, size_t elen, const uint64_t *init,
                                const veil_mb_ctx *ctx)
{
    const size_t N = ctx->N, L = ctx->L, entries = (size_t)1 << w;
    const size_t per = (nwin + VEIL_MB_LANES - 1) / VEIL_MB_LANES, ebits = nwin * w;
    if (w > 6 || 52 * N < 64 * L || nwin == 0)
        return -1;
    uint64_t *mem = veil_mb_alloc(ctx, 3);
    uint64_t *sel64 = aligned_alloc(64, L * VEIL_MB_LANES * sizeof(uint64_t));
    if (mem == NULL || sel64 == NULL) {
        veil_mb_free(ctx, mem, 3);
        free(sel64);
        return -1;
    }
    uint64_t *acc = mem, *sel = mem + N * VEIL_MB_LANES, *swp = mem + 2 * N * VEIL_MB_LANES;

    if (init != NULL)
        memcpy(acc, init, N * VEIL_MB_LANES * sizeof(uint64_t));
    else
        veil_mb_fixed_base_one_init(acc, w, nwin, ctx);

    for (size_t step = 0; step < per; step++) {
        for (int l = 0; l < VEIL_MB_LANES; l++) {
            /* Lane l takes windows l*per .. l*per + per - 1; past the last
             * window, entry 0 of window 0 (the Montgomery one). Which
             * window is public; only its digit is secret. */
            size_t i = (size_t)l * per + step;
            uint64_t d = i < nwin ? exp_window(e, elen, ebits, i * w, w) : 0;
            const mp_limb_t *row = table + (i < nwin ? i : 0) * entries * L;
            select_one(sel64, l, row, entries, L, d);
            d = 0;
        }
        limbs_to_digits(sel, sel64, L, N);
        veil_mb_mul(acc, acc, sel, ctx);
    }
    for (unsigned shift = 1; shift < VEIL_MB_LANES; shift <<= 1) {
        const __m512i perm = _mm512_xor_si512(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), BC(shift));
        for (size_t d = 0; d < N; d++)
            ST(swp + d * VEIL_MB_LANES,
               _mm512_permutexvar_epi64(perm, LD(acc + d * VEIL_MB_LANES)));
        veil_mb_mul(acc, acc, swp, ctx);
    }
    veil_mb_reduce(acc, ctx);
    mpz_t *out[VEIL_MB_LANES] = {(mpz_t *)r};
    veil_mb_store(out, acc, ctx);
    sodium_memzero(sel64, L * VEIL_MB_LANES * sizeof(uint64_t));
    free(sel64);
    veil_mb_free(ctx, mem, 3);
    return 0;
}

#else /* no x86: the engine is compiled out */

int veil_mb_cpu_ok(void)
{
    return 0;
}

void veil_mb_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx)
{
    (void)r, (void)a, (void)b, (void)ctx;
    abort();
}

void veil_mb_sqr(uint64_t *r, const uint64_t *a, const veil_mb_ctx *ctx)
{
    (void)r, (void)a, (void)ctx;
    abort();
}

void veil_mb_reduce(uint64_t *r, const veil_mb_ctx *ctx)
{
    (void)r, (void)ctx;
    abort();
}

void veil_mb_mulmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx)
{
    (void)r, (void)a, (void)b, (void)ctx;
    abort();
}

int veil_mb_powm(uint64_t *r, const uint64_t *base, const uint8_t *const e[VEIL_MB_LANES],
                 size_t elen, size_t ebits, const veil_mb_ctx *ctx)
{
    (void)r, (void)base, (void)e, (void)elen, (void)ebits, (void)ctx;
    (void)exp_window;
    return -1;
}

int veil_mb_fixed_base(uint64_t *r, const mp_limb_t *table, unsigned w, size_t nwin,
                       const uint8_t *const e[VEIL_MB_LANES], size_t elen, const veil_mb_ctx *ctx)
{
    (void)r, (void)table, (void)w, (void)nwin, (void)e, (void)elen, (void)ctx;
    return -1;
}

int veil_mb_mulmod_one(mpz_t r, const mpz_t a, const mpz_t b, const veil_mb_ctx *ctx)
{
    (void)r, (void)a, (void)b, (void)ctx;
    return -1;
}

int veil_mb_fixed_base_one(mpz_t r, const mp_limb_t *table, unsigned w, size_t nwin,
                           const uint8_t *e, size_t elen, const uint64_t *init,
                           const veil_mb_ctx *ctx)
{
    (void)r, (void)table, (void)w, (void)nwin, (void)e, (void)elen, (void)init, (void)ctx;
    return -1;
}

int veil_mb_powm_one(mpz_t r, const mpz_t base, const uint8_t *e, size_t elen, size_t ebits,
                     const veil_mb_ctx *ctx)
{
    (void)r, (void)base, (void)e, (void)elen, (void)ebits, (void)ctx;
    return -1;
}

int veil_mb_powm_pair(mpz_t r1, const mpz_t base1, const uint8_t *e1, size_t elen1, size_t ebits1,
                      const veil_mb_ctx *ctx1, mpz_t r2, const mpz_t base2, const uint8_t *e2,
                      size_t elen2, size_t ebits2, const veil_mb_ctx *ctx2)
{
    (void)r1, (void)base1, (void)e1, (void)elen1, (void)ebits1, (void)ctx1;
    (void)r2, (void)base2, (void)e2, (void)elen2, (void)ebits2, (void)ctx2;
    return -1;
}

#endif
