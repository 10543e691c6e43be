/* Multi-buffer Montgomery arithmetic on AVX512-IFMA (internal).
 *
 * Eight independent numbers modulo one odd modulus m, one per 64-bit lane
 * of a 512-bit vector, in radix 2^52: a number of N digits is stored
 * digit-major, x[8 * d + lane] holding digit d of lane `lane`, so digit d of
 * all eight lanes is one vector. vpmadd52luq / vpmadd52huq
 * (_mm512_madd52lo_epu64 / _mm512_madd52hi_epu64) add the low / high 52
 * bits of eight 52x52-bit products to eight 64-bit accumulators at once.
 *
 * Multiplication is almost-Montgomery (AMM): with R = 2^(52 N) and 4 m < R,
 * inputs below 2m give an output below 2m, r = a b R^-1 mod m up to one
 * multiple of m, every digit normalized (< 2^52). Carries are lazy inside a
 * multiplication (each 64-bit accumulator collects at most 4N 52-bit
 * terms, below 2^62 for N <= 158) and propagated once at its end.
 * veil_mb_reduce makes a result canonical (< m) with a masked subtraction.
 *
 * Constant time: no branch and no memory address depends on a digit or an
 * exponent bit. Exponent windows index their table by reading every entry
 * and blending the wanted one with per-lane masks (vpcmpeqq + vpblendmq).
 * The loop bounds depend only on N, the window width and the public
 * exponent length.
 *
 * Only the functions in mb52.c carry the avx512f/avx512ifma target
 * attribute; callers must check veil_mb_active() (CPU support via
 * __builtin_cpu_supports, and the process-wide veil_engine_select setting)
 * before calling them. On other architectures the engine is compiled out and
 * veil_mb_active() is 0. This header uses no vector types, so any file may
 * include it. */
#ifndef VEIL_MB52_H
#define VEIL_MB52_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#define VEIL_MB_LANES 8
/* Supported digit counts: p^2 / q^2 at 2048, 3072, 4096-bit keys (40, 60,
 * 79 digits) and n^2 at those keys (79, 119, 158). */
#define VEIL_MB_MAX_DIGITS 158
/* Window width of veil_mb_powm (2^w table entries per lane). */
#define VEIL_MB_POWM_WINDOW 5
/* Window width of veil_mb_powm_one. */
#define VEIL_MB_POWM_ONE_WINDOW 5

typedef struct {
    size_t N;       /* 52-bit digits, 52 N >= bits(m) + 2 */
    size_t L;       /* 64-bit limbs of m */
    uint64_t k0;    /* -m^-1 mod 2^52 */
    uint64_t *m;    /* N digits of m (one copy, broadcast when used) */
    uint64_t *r2;   /* R^2 mod m, N digits, all lanes (N * 8) */
    uint64_t *one;  /* R mod m, N digits, all lanes (N * 8) */
    uint64_t *unit; /* the integer 1, N digits, all lanes (N * 8) */
    uint64_t *mh;   /* m as one number: D = 8 ceil(N / 8) digits, zero-padded */
    uint64_t *r2h;  /* R^2 mod m likewise (D digits) */
} veil_mb_ctx;

/* 1 when the IFMA engine is compiled in, the CPU has avx512f and
 * avx512ifma, and the engine has not been switched off with
 * veil_engine_select(VEIL_ENGINE_SCALAR). */
int veil_mb_active(void);
/* 1 when the CPU (and the build) supports the engine, whatever the setting. */
int veil_mb_cpu_ok(void);

/* Prepares the context for an odd modulus m of a supported size. 0 on
 * success, -1 when m is even, of an unsupported size or out of memory. */
int veil_mb_ctx_init(veil_mb_ctx *ctx, const mpz_t m);
void veil_mb_ctx_clear(veil_mb_ctx *ctx);

/* Numbers are uint64_t arrays of N * 8 entries (veil_mb_alloc(ctx, k) gives
 * k of them, 64-byte aligned, zeroed; free with veil_mb_free, which wipes).
 */
uint64_t *veil_mb_alloc(const veil_mb_ctx *ctx, size_t count);
void veil_mb_free(const veil_mb_ctx *ctx, uint64_t *p, size_t count);

/* Lane conversion (plain C): x[lane] (0 <= x < 2^(64 L)) into the radix,
 * and back. Lanes whose x is NULL are set to 0. The loops run over all L
 * limbs and N digits whatever the values. */
void veil_mb_load(uint64_t *r, const mpz_t *const x[VEIL_MB_LANES], const veil_mb_ctx *ctx);
void veil_mb_load_limbs(uint64_t *r, const mp_limb_t *const x[VEIL_MB_LANES],
                        const veil_mb_ctx *ctx);
void veil_mb_store(mpz_t *const out[VEIL_MB_LANES], const uint64_t *a, const veil_mb_ctx *ctx);

/* ---- IFMA functions: call only when veil_mb_active() ---- */

/* r = a b R^-1 (mod m), almost reduced; a, b < 2m. r may alias a or b. */
void veil_mb_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx);
/* r = a^2 R^-1 (mod m), bit for bit veil_mb_mul(r, a, a), with a dedicated
 * squaring: each off-diagonal product once, then the reduction four rows per
 * pass (about 3/4 of the multiplication's IFMA instructions). r may alias
 * a. */
void veil_mb_sqr(uint64_t *r, const uint64_t *a, const veil_mb_ctx *ctx);
/* One product r = a b mod m (canonical) for 0 <= a, b < m, the lanes
 * holding consecutive digits of the one number: two word-by-word
 * almost-Montgomery multiplications (the second by R^2 mod m) and a final
 * subtraction. Not constant-time: for public values (ciphertexts). -1 (r
 * unchanged) when a or b is negative or longer than m's limbs. */
int veil_mb_mulmod_one(mpz_t r, const mpz_t a, const mpz_t b, const veil_mb_ctx *ctx);
/* One power r = base^e mod m (canonical) for 0 <= base < m, the lanes
 * holding consecutive digits of the one number as in veil_mb_mulmod_one:
 * fixed windows of VEIL_MB_POWM_ONE_WINDOW bits from a table of 2^w powers,
 * every look-up reading all entries and keeping one by a mask, the same
 * operations whatever the exponent (e as in veil_mb_powm for one lane), a
 * masked final subtraction: e may be secret (CRT decryption). r may alias
 * base. -1 (r unchanged) when base is negative or longer than m's limbs,
 * ebits is 0, or out of memory. */
int veil_mb_powm_one(mpz_t r, const mpz_t base, const uint8_t *e, size_t elen, size_t ebits,
                     const veil_mb_ctx *ctx);
/* Two such powers at once, r1 = base1^e1 mod m1 and r2 = base2^e2 mod m2,
 * their multiplications interleaved in one loop (the two CRT halves of a
 * decryption; about 1.5 times the speed of two veil_mb_powm_one calls).
 * The moduli must have the same digit count (ctx1->N == ctx2->N); the
 * longer exponent sets the window count of both. -1 (r1, r2 unchanged) as
 * in veil_mb_powm_one or when the digit counts differ. */
int veil_mb_powm_pair(mpz_t r1, const mpz_t base1, const uint8_t *e1, size_t elen1, size_t ebits1,
                      const veil_mb_ctx *ctx1, mpz_t r2, const mpz_t base2, const uint8_t *e2,
                      size_t elen2, size_t ebits2, const veil_mb_ctx *ctx2);
/* r = r - m where r >= m, per lane by masks: r < 2m becomes canonical. */
void veil_mb_reduce(uint64_t *r, const veil_mb_ctx *ctx);
/* r = a b mod m, canonical, for plain (non-Montgomery) a, b < m. */
void veil_mb_mulmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const veil_mb_ctx *ctx);

/* r = base^e mod m per lane, canonical, for plain base < m. The exponent of
 * lane i is the little-endian byte string e[i] of elen bytes, read for its
 * lowest ebits bits (ebits public, > 0); every lane is processed with the
 * same sequence of operations (fixed window VEIL_MB_POWM_WINDOW,
 * constant-time table selection), so it may be secret. Lanes may share one
 * exponent. Returns -1 when out of memory. */
int veil_mb_powm(uint64_t *r, const uint64_t *base, const uint8_t *const e[VEIL_MB_LANES],
                 size_t elen, size_t ebits, const veil_mb_ctx *ctx);

/* Fixed-base exponentiation from a table of nwin windows of 2^w entries,
 * entry (i, j) = g^(j 2^(w i)) 2^(64 L) mod m as L 64-bit limbs (the layout
 * of the scalar DJN table, Montgomery form for R' = 2^(64 L)): r = g^e[lane]
 * mod m, canonical. Every look-up reads all 2^w entries of its window. e as
 * in veil_mb_powm, nwin * w >= ebits. Returns -1 when out of memory. */
int veil_mb_fixed_base(uint64_t *r, const mp_limb_t *table, unsigned w, size_t nwin,
                       const uint8_t *const e[VEIL_MB_LANES], size_t elen, const veil_mb_ctx *ctx);
/* One power r = g^e mod m (canonical) from the same table, its windows
 * spread over the lanes: lane l multiplies the entries of windows
 * [l p, l p + p) for p = ceil(nwin / 8), then three multiplications with
 * the lanes swapped (l ^ 1, l ^ 2, l ^ 4) leave the product of all eight
 * in every lane: p + 3 multiplications instead of nwin. Look-ups read
 * every entry of their window; which window a lane reads is public. e as
 * in veil_mb_powm for one lane, init as below. Returns -1 when out of
 * memory. */
int veil_mb_fixed_base_one(mpz_t r, const mp_limb_t *table, unsigned w, size_t nwin,
                           const uint8_t *e, size_t elen, const uint64_t *init,
                           const veil_mb_ctx *ctx);
/* Plain C: the lanes' starting values for veil_mb_fixed_base_one (N * 8
 * words), which depend only on the table's shape and m; computed once per
 * key and passed as init (NULL computes them on every call). */
void veil_mb_fixed_base_one_init(uint64_t *init, unsigned w, size_t nwin, const veil_mb_ctx *ctx);

#endif
