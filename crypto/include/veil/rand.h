/* Randomness and secret hygiene for veil. All randomness comes from
 * libsodium's randombytes; GMP's own generators are never used. */
#ifndef VEIL_RAND_H
#define VEIL_RAND_H

#include <gmp.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Initializes libsodium; returns 0 on success, -1 on failure. Safe to call
 * many times and from several threads. */
int veil_crypto_init(void);

void veil_rand_bytes(void *buf, size_t len);
/* Uniform integer with at most `bits` bits. */
void veil_rand_mpz_bits(mpz_t out, unsigned bits);
/* Uniform integer in [0, bound), bound > 0 (rejection sampling). */
void veil_rand_mpz_below(mpz_t out, const mpz_t bound);

/* Overwrites the limbs of x with zeros and clears it. */
void veil_mpz_wipe(mpz_t x);

/* Makes GMP zero every block it frees or moves, so secret limbs do not
 * linger in freed memory. Call once at program start, before any other GMP
 * use; it changes process-wide GMP state, so libraries never call it. */
void veil_gmp_use_zeroizing_allocator(void);

#ifdef __cplusplus
}
#endif
#endif
