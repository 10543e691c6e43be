/* veil/share.h — additive n-of-n and Shamir t-of-n secret sharing of
 * fixed-point vectors over the prime field GF(p), p = 2^127 - 1.
 *
 * Values are signed fixed-point mantissas that fit in int64 (|v| < 2^63;
 * at scale 2 that is magnitudes up to about 9.2 * 10^16). A value v is the
 * field element v mod p; a field element x decodes to x when x <= (p-1)/2
 * and to x - p otherwise. Any sum of at most 2^63 such values has
 * magnitude below 2^126 < (p-1)/2, so it is recovered exactly: 10^9 values
 * of magnitude up to 10^12 at scale 2 sum to at most 10^23 < 2^77. A
 * reconstructed sum outside the range the declared number of addends can
 * reach is reported (VEIL_ERR_CRYPTO), never wrapped.
 *
 * Shares that are pseudo-random can be given as a 32-byte seed instead of
 * a vector: element i of a seeded share is the 16 little-endian bytes at
 * offset 16*i of the ChaCha20 (IETF) key stream keyed by the seed with an
 * all-zero nonce, with the top bit cleared, reduced mod p. In the additive
 * scheme parties 1..n-1 receive seeds and party n the vector
 * secret - sum(seeded shares). In the Shamir scheme the t-1 parties with
 * the smallest indices receive seeds r_j = f(j); f is the unique
 * polynomial of degree t-1 with f(0) = secret through those points, which
 * has exactly the distribution of textbook Shamir sharing, and the other
 * parties receive f(k) as vectors. Party indices (x coordinates) are
 * 1..n. Randomness comes from libsodium. */
#ifndef VEIL_SHARE_H
#define VEIL_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the field ---- */

typedef unsigned __int128 veil_fe; /* always reduced: 0 <= x < p */

#define VEIL_FE_BYTES          16
#define VEIL_SHARE_SEED        32
#define VEIL_SHARE_PARTIES_MAX 255 /* n */
/* Longest vector a seed can cover: the IETF ChaCha20 block counter has 32
 * bits, so the key stream of one seed holds 2^32 64-byte blocks = 2^34
 * elements. veil_share_expand and veil_share_plan_split require
 * offset + count <= VEIL_SHARE_LEN_MAX; callers check lengths against it. */
#define VEIL_SHARE_LEN_MAX ((uint64_t)1 << 34)

veil_fe veil_fe_p(void);
veil_fe veil_fe_add(veil_fe a, veil_fe b);
veil_fe veil_fe_sub(veil_fe a, veil_fe b);
veil_fe veil_fe_neg(veil_fe a);
veil_fe veil_fe_mul(veil_fe a, veil_fe b);
/* a^-1 for a != 0 (Fermat); 0 for 0. */
veil_fe veil_fe_inv(veil_fe a);
veil_fe veil_fe_from_i64(int64_t v);
/* The signed representative in [-(p-1)/2, (p-1)/2]. */
__int128 veil_fe_to_i128(veil_fe x);
/* 16 little-endian bytes. Decoding refuses x >= p (VEIL_ERR_INPUT). */
void veil_fe_store(uint8_t out[VEIL_FE_BYTES], veil_fe x);
veil_status veil_fe_load(veil_fe *x, const uint8_t in[VEIL_FE_BYTES], veil_err *err) VEIL_WUR;
/* n elements to / from 16n bytes. Loading does no error reporting: it
 * returns the index of the first element >= p (which is then left as
 * read), or n when all are in range. */
void veil_fe_store_vec(uint8_t *out, const veil_fe *x, size_t n);
size_t veil_fe_load_vec(veil_fe *x, const uint8_t *in, size_t n);
/* Vector forms: dst[i] += src[i]. */
void veil_fe_vec_add(veil_fe *dst, const veil_fe *src, size_t len);

/* Decimal text of a signed 128-bit mantissa at `scale` ("-12.50") into
 * buf (at least 48 + scale bytes). Returns the length written. */
size_t veil_i128_format(char *buf, size_t size, __int128 v, unsigned scale);

/* ---- seeded shares ---- */

/* out[0..count) = elements offset .. offset+count-1 of the seeded share. */
void veil_share_expand(veil_fe *out, const uint8_t seed[VEIL_SHARE_SEED], uint64_t offset,
                       size_t count);

/* ---- sharing ---- */

typedef enum { VEIL_SCHEME_ADDITIVE = 1, VEIL_SCHEME_SHAMIR = 2 } veil_scheme;

/* How one secret vector is split among n parties: which parties get
 * seeds (and the seeds), and the Lagrange coefficients that give the
 * other parties' shares. Created once per secret; every chunk of the
 * vector is then split with the same plan, so a vector can be shared in
 * pieces as it streams. The plan holds secrets: veil_share_plan_free
 * wipes it. */
typedef struct veil_share_plan veil_share_plan;

/* n in 2..VEIL_SHARE_PARTIES_MAX; additive: t must be n; Shamir: 2 <= t <= n.
 * VEIL_ERR_USAGE otherwise. Seeds come from randombytes_buf. */
veil_status veil_share_plan_new(veil_share_plan **out, veil_scheme scheme, unsigned n, unsigned t,
                                veil_err *err) VEIL_WUR;
void veil_share_plan_free(veil_share_plan *plan);
/* Number of parties that receive seeds: parties 1..m, m = n - 1 (additive)
 * or t - 1 (Shamir). Parameters are not checked. */
unsigned veil_share_seeded_count(veil_scheme scheme, unsigned n, unsigned t);
/* Same plan as veil_share_plan_new, but the seeds of parties 1..m are the
 * given ones (seeds[j-1] for party j) instead of fresh random ones: for
 * protocols that derive seeds, and for tests. The secrecy of the sharing
 * rests on the seeds being uniformly random and secret. */
veil_status veil_share_plan_new_with_seeds(veil_share_plan **out, veil_scheme scheme, unsigned n,
                                           unsigned t, const uint8_t (*seeds)[VEIL_SHARE_SEED],
                                           veil_err *err) VEIL_WUR;
/* 1 when party `index` (1..n) receives a seed; its seed is copied out. */
int veil_share_plan_seed(const veil_share_plan *plan, unsigned index,
                         uint8_t seed[VEIL_SHARE_SEED]);
/* Shares of secret[0..count), which are elements offset.. of the whole
 * vector: for every party `index` that does not receive a seed,
 * out[index-1][0..count) is filled (out[index-1] of seeded parties is not
 * touched and may be NULL). */
void veil_share_plan_split(const veil_share_plan *plan, const veil_fe *secret, uint64_t offset,
                           size_t count, veil_fe *const *out);

/* ---- reconstruction ---- */

/* One party's share of a chunk of the vector: its index (x coordinate)
 * and count values. */
typedef struct {
    unsigned index;
    const veil_fe *values;
} veil_share_part;

/* secret[0..count) from k parts. Additive: k must be n and the indices
 * exactly 1..n. Shamir: k >= t distinct indices in 1..n; the first t give
 * the secret, and each further part is checked to lie on the same
 * polynomial (VEIL_ERR_CRYPTO naming the party index and the element
 * offset+i when it does not: a share was corrupted or the parts come from
 * different sharings). Duplicate or out-of-range indices, or too few
 * parts: VEIL_ERR_USAGE. */
veil_status veil_share_reconstruct(veil_fe *secret, veil_scheme scheme, unsigned n, unsigned t,
                                   const veil_share_part *parts, unsigned k, uint64_t offset,
                                   size_t count, veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
