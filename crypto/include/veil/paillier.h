/* Paillier additively homomorphic encryption (g = n + 1).
 *
 * Keys are opaque. Ciphertexts and plaintexts are GMP integers; the caller
 * owns them (destination first, as in GMP). Plaintexts here are residues in
 * [0, n); signed fixed-point values are mapped in and out with
 * veil_paillier_encode / veil_paillier_decode, or handled with the bound-
 * tracking veil_enc type of veil/encrypted.h.
 *
 * Randomizers: a key either uses textbook randomizers r^n mod n^2, or the
 * Damgard-Jurik-Nielsen variant (hs^a mod n^2 with hs = h^n, h = -x^2 mod n,
 * a a short secret exponent), computed with a precomputed fixed-base table
 * and constant-time table look-ups. veil keygen makes DJN keys by default;
 * see docs/paillier.md for the security argument and sizes. */
#ifndef VEIL_PAILLIER_H
#define VEIL_PAILLIER_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PAILLIER_BITS_DEFAULT 2048
#define VEIL_FINGERPRINT_BYTES     32
#define VEIL_FINGERPRINT_HEX       (2 * VEIL_FINGERPRINT_BYTES + 1)

typedef struct veil_paillier_pub veil_paillier_pub;
typedef struct veil_paillier_priv veil_paillier_priv;

/* 1 if bits is a supported modulus size (2048, 3072, 4096). */
int veil_paillier_bits_supported(unsigned bits);

/* Generates a key pair: n of exactly `bits` bits, p and q primes of bits/2
 * bits each, |p - q| > 2^(bits/2 - 100). With djn != 0 the public key also
 * carries a DJN base hs. Randomness from libsodium. */
veil_status veil_paillier_keygen(veil_paillier_priv **out, unsigned bits, int djn,
                                 veil_err *err) VEIL_WUR;

/* Builds a public key from n (and hs, or NULL for a textbook key) received
 * from elsewhere and checks it: supported size, odd, not a perfect power,
 * no prime factor below 2^16; hs in (0, n^2) and coprime to n. */
veil_status veil_paillier_pub_new(veil_paillier_pub **out, const mpz_t n, const mpz_t hs,
                                  veil_err *err) VEIL_WUR;

/* Builds a private key from p and q (and hs or NULL) and checks it: p and q
 * prime, distinct, of equal length, n = pq of a supported size. If hs is
 * NULL and djn != 0 a fresh hs is derived. */
veil_status veil_paillier_priv_new(veil_paillier_priv **out, const mpz_t p, const mpz_t q,
                                   const mpz_t hs, int djn, veil_err *err) VEIL_WUR;

/* Copies a public key. */
veil_status veil_paillier_pub_dup(veil_paillier_pub **out, const veil_paillier_pub *pk,
                                  veil_err *err) VEIL_WUR;

/* Frees (and for private keys zeroizes) a key. NULL is accepted. */
void veil_paillier_pub_free(veil_paillier_pub *pk);
void veil_paillier_priv_free(veil_paillier_priv *sk);

/* The public half of a private key; owned by sk. */
const veil_paillier_pub *veil_paillier_priv_pub(const veil_paillier_priv *sk);

/* Accessors. */
unsigned veil_paillier_pub_bits(const veil_paillier_pub *pk);
void veil_paillier_pub_n(mpz_t out, const veil_paillier_pub *pk);
void veil_paillier_pub_n2(mpz_t out, const veil_paillier_pub *pk);
int veil_paillier_pub_is_djn(const veil_paillier_pub *pk);
void veil_paillier_pub_hs(mpz_t out, const veil_paillier_pub *pk); /* 0 if not DJN */
/* Largest magnitude an encoded signed plaintext may have: n // 3 - 1 (as
 * python-paillier). */
void veil_paillier_pub_max_int(mpz_t out, const veil_paillier_pub *pk);
/* SHA-256 over a domain tag and n: identifies the key (hs is not part of it,
 * so a textbook and a DJN copy of the same key share one fingerprint). */
const uint8_t *veil_paillier_pub_fingerprint(const veil_paillier_pub *pk);
void veil_paillier_pub_fingerprint_hex(char out[VEIL_FINGERPRINT_HEX], const veil_paillier_pub *pk);
/* Secret factors, for serialization only. */
void veil_paillier_priv_p(mpz_t out, const veil_paillier_priv *sk);
void veil_paillier_priv_q(mpz_t out, const veil_paillier_priv *sk);

/* 1 if both keys have the same modulus. */
int veil_paillier_pub_equal(const veil_paillier_pub *a, const veil_paillier_pub *b);

/* Checks a ciphertext received from outside: 0 < c < n^2, gcd(c, n) = 1. */
veil_status veil_paillier_check_ct(const veil_paillier_pub *pk, const mpz_t c,
                                   veil_err *err) VEIL_WUR;

/* A fresh randomizer rho = r^n mod n^2 (or hs^a for DJN keys). */
void veil_paillier_randomizer(mpz_t rho, const veil_paillier_pub *pk);

/* c = (1 + m n) rho mod n^2 for a plaintext residue 0 <= m < n. */
veil_status veil_paillier_encrypt(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                  veil_err *err) VEIL_WUR;

/* Textbook reference path (r^n with uniform r even for DJN keys); used by
 * benchmarks and by tests as the reference. */
veil_status veil_paillier_encrypt_textbook(mpz_t c, const veil_paillier_pub *pk, const mpz_t m,
                                           veil_err *err) VEIL_WUR;

/* m = D(c): checks c, then decrypts with the CRT and mpz_powm_sec. */
veil_status veil_paillier_decrypt(mpz_t m, const veil_paillier_priv *sk, const mpz_t c,
                                  veil_err *err) VEIL_WUR;

/* Homomorphic operations. Inputs must be valid ciphertexts of pk (checked
 * by the caller with veil_paillier_check_ct when they come from outside).
 * Scalars and plaintext summands are signed integers of any size; they are
 * reduced mod n. Results may alias inputs. */
void veil_paillier_add(mpz_t r, const veil_paillier_pub *pk, const mpz_t a, const mpz_t b);
/* r = the homomorphic sum of c[0..count) (their product mod n^2; count 0
 * gives 1, the encryption of 0 with randomizer 1). On a CPU with
 * AVX512-IFMA (veil/engine.h) it multiplies eight running products at once
 * in Montgomery form without a division per step, and corrects the
 * Montgomery factors once at the end; the result equals the one-by-one
 * product exactly. Ciphertexts are public: nothing here is constant-time.
 * -1 when out of memory (r unchanged), else 0. */
int veil_paillier_add_many(mpz_t r, const veil_paillier_pub *pk, const mpz_t *c, size_t count);
veil_status veil_paillier_sub(mpz_t r, const veil_paillier_pub *pk, const mpz_t a, const mpz_t b,
                              veil_err *err) VEIL_WUR;
void veil_paillier_add_plain(mpz_t r, const veil_paillier_pub *pk, const mpz_t c, const mpz_t k);
veil_status veil_paillier_mul_scalar(mpz_t r, const veil_paillier_pub *pk, const mpz_t c,
                                     const mpz_t k, veil_err *err) VEIL_WUR;
void veil_paillier_rerandomize(mpz_t r, const veil_paillier_pub *pk, const mpz_t c);

/* Signed integers <-> residues: v in [-max_int, max_int] maps to v mod n.
 * decode fails with VEIL_ERR_CRYPTO ("overflow") for residues in the gap
 * (max_int, n - max_int). */
veil_status veil_paillier_encode(mpz_t m, const veil_paillier_pub *pk, const mpz_t v,
                                 veil_err *err) VEIL_WUR;
veil_status veil_paillier_decode(mpz_t v, const veil_paillier_pub *pk, const mpz_t m,
                                 veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
