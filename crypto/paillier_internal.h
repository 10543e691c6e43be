/* Internal layout of Paillier keys, shared by the crypto/ sources only. */
#ifndef VEIL_PAILLIER_INTERNAL_H
#define VEIL_PAILLIER_INTERNAL_H

#include <gmp.h>
#include <openssl/bn.h>
#include <stdint.h>

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
};

/* rho = hs^a mod n^2 for a fresh secret a of djn_exp_bits bits, with
 * constant-time table selection and arithmetic. */
void veil_djn_randomizer(mpz_t rho, const veil_paillier_pub *pk);

#endif
