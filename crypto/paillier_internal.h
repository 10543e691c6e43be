/* Internal layout of Paillier keys, shared by the crypto/ sources only. */
#ifndef VEIL_PAILLIER_INTERNAL_H
#define VEIL_PAILLIER_INTERNAL_H

#include <gmp.h>
#include <openssl/bn.h>
#include <stdint.h>

#include "mb52.h"
#include "mont.h"
#include "veil/paillier.h"

/* Bits per window of the DJN fixed-base table: chosen by measurement
 * (benchmarks/README.md); each window costs one constant-time Montgomery
 * multiplication and a scan of 2^w table entries. */
#ifndef VEIL_DJN_WINDOW
#define VEIL_DJN_WINDOW 6
#endif

struct veil_paillier_pub {
    unsigned bits;
    mpz_t n, n2, max_int;
    int djn;
    mpz_t hs; /* DJN base, 0 when textbook */
    uint8_t fp[VEIL_FINGERPRINT_BYTES];
    size_t limbs;   /* limbs of n^2 */
    veil_mont mont; /* Montgomery context for n^2 */
    /* DJN fixed-base table: djn_nwin windows of 2^djn_win entries, each
     * `limbs` limbs, entry (i, j) = hs^(j * 2^(djn_win * i)) R mod n^2
     * (Montgomery form). */
    unsigned djn_exp_bits, djn_win;
    size_t djn_nwin;
    mp_limb_t *djn_table;
    /* IFMA engine context for n^2; mb_ok is 0 when the CPU or the size
     * does not allow the engine. */
    int mb_ok;
    veil_mb_ctx mb;
    /* veil_mb_fixed_base_one's starting lanes for the DJN table (N * 8
     * words), NULL when the engine or the table is missing. */
    uint64_t *djn_mb_init;
};

struct veil_paillier_priv {
    veil_paillier_pub *pub;
    mpz_t p, q;     /* p < q */
    mpz_t p2, q2;   /* p^2, q^2 */
    mpz_t pm1, qm1; /* p - 1, q - 1: the secret exponents */
    mpz_t hp, hq;   /* CRT decryption constants */
    mpz_t pinv;     /* p^-1 mod q */
    /* OpenSSL copies for the constant-time exponentiations of decryption
     * (BN_FLG_CONSTTIME set on the secrets); read-only after creation, so
     * threads share them. */
    BIGNUM *bn_p2, *bn_q2, *bn_pm1, *bn_qm1;
    BN_MONT_CTX *mont_p2, *mont_q2;
    /* IFMA engine contexts for p^2 and q^2 and the exponents p - 1, q - 1
     * as little-endian bytes (pm1_bits / qm1_bits long); mb_ok is 0 when
     * the engine cannot be used with this key. */
    int mb_ok;
    veil_mb_ctx mb_p2, mb_q2;
    uint8_t *pm1_bytes, *qm1_bytes;
    size_t pm1_bits, qm1_bits;
};

/* Bytes of the largest DJN exponent (608 bits at 4096-bit keys). */
#define VEIL_DJN_MAX_EXP_BYTES 76

/* rho = hs^a mod n^2 for a fresh secret a of djn_exp_bits bits, with
 * constant-time table selection and arithmetic. */
void veil_djn_randomizer(mpz_t rho, const veil_paillier_pub *pk);
/* e = a fresh DJN exponent ((djn_exp_bits + 7) / 8 bytes, little-endian). */
void veil_djn_exponent(uint8_t *e, const veil_paillier_pub *pk);
/* rho = hs^e mod n^2 for a given exponent: through the IFMA engine
 * (veil_mb_fixed_base_one) when it is active, else the scalar path. */
void veil_djn_randomizer_exp(mpz_t rho, const veil_paillier_pub *pk, const uint8_t *e);
/* The same on the scalar path always (the reference tests feed one
 * exponent to both engines). */
void veil_djn_randomizer_exp_scalar(mpz_t rho, const veil_paillier_pub *pk, const uint8_t *e);

/* VEIL_ERR_USAGE unless 0 <= m < n. */
veil_status veil_paillier_check_plain(const veil_paillier_pub *pk, const mpz_t m, veil_err *err);
/* c = (1 + m n) rho mod n^2. */
void veil_paillier_encrypt_with(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                const mpz_t rho);
/* The exponent of veil_paillier_mul_scalar: e = the smaller of k mod n and
 * n - (k mod n); returns 1 when it is the latter (the result c^e must then
 * be inverted mod n^2), else 0. Both engines reduce scalars with it. */
int veil_paillier_scalar_exponent(mpz_t e, const veil_paillier_pub *pk, const mpz_t k);
/* m from tp = c^(p-1) mod p^2 and tq = c^(q-1) mod q^2 (CRT); tp and tq
 * are overwritten. */
void veil_paillier_crt_finish(mpz_t m, const veil_paillier_priv *sk, mpz_t tp, mpz_t tq);

/* ---- groups of up to VEIL_MB_LANES values through the IFMA engine ----
 * Lanes whose pointer is NULL are padding. Inputs are already checked.
 * Each returns 0, or -1 when out of memory (outputs then undefined). Call
 * only when veil_mb_active() and the key's mb_ok. */
int veil_paillier_decrypt_mb(mpz_t *const m[VEIL_MB_LANES], const veil_paillier_priv *sk,
                             const mpz_t *const c[VEIL_MB_LANES]);
/* rho[lane] = hs^e[lane] mod n^2. */
/* veil_paillier_add_many through the engine (count >= 8; veil_mb_active()
 * and pk->mb_ok). */
int veil_paillier_add_many_mb(mpz_t r, const veil_paillier_pub *pk, const mpz_t *c, size_t count);
int veil_djn_randomizers_mb(mpz_t *const rho[VEIL_MB_LANES], const veil_paillier_pub *pk,
                            const uint8_t *const e[VEIL_MB_LANES]);
int veil_paillier_encrypt_mb(mpz_t *const c[VEIL_MB_LANES], const veil_paillier_pub *pk,
                             const mpz_t *const m[VEIL_MB_LANES]);
/* r[lane] = veil_paillier_mul_scalar(c[lane], k[lane]) for checked c (the
 * scalars are public; the powering is veil_mb_powm all the same). r may
 * alias c or k. 1 + lane when a negated lane's power is not invertible
 * (impossible for a checked c; r[lane] then undefined). */
int veil_paillier_mul_scalar_mb(mpz_t *const r[VEIL_MB_LANES], const veil_paillier_pub *pk,
                                const mpz_t *const c[VEIL_MB_LANES],
                                const mpz_t *const k[VEIL_MB_LANES]);

#endif
