/* Precomputed randomizers: the offline/online split of Paillier encryption.
 *
 * A pool holds up to `capacity` fresh randomizers rho (r^n, or hs^a for DJN
 * keys), computed ahead of time by veil_paillier_pool_fill or continuously
 * by a background thread. Encrypting with the pool then costs one
 * multiplication mod n^2: c = (1 + m n) rho. Each randomizer is handed out
 * once, removed from the pool and wiped after use; an empty pool computes
 * one on the spot, so encryption never blocks and never reuses one. A pool
 * is safe to use from several threads. Randomizers are as secret as the
 * plaintexts they will protect: the pool lives in process memory only and
 * is wiped when freed. */
#ifndef VEIL_POOL_H
#define VEIL_POOL_H

#include <gmp.h>
#include <stddef.h>

#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct veil_paillier_pool veil_paillier_pool;

/* pk must outlive the pool. capacity >= 1. */
veil_status veil_paillier_pool_new(veil_paillier_pool **out, const veil_paillier_pub *pk,
                                   size_t capacity, veil_err *err) VEIL_WUR;
/* Computes randomizers until the pool is full, on `threads` threads (0 = one
 * per CPU); returns when full. */
veil_status veil_paillier_pool_fill(veil_paillier_pool *pool, unsigned threads,
                                    veil_err *err) VEIL_WUR;
/* Starts one background thread that keeps the pool full until the pool is
 * freed. */
veil_status veil_paillier_pool_start(veil_paillier_pool *pool, veil_err *err) VEIL_WUR;
/* Randomizers ready now. */
size_t veil_paillier_pool_available(veil_paillier_pool *pool);
/* Randomizers computed on the spot because the pool was empty. */
size_t veil_paillier_pool_misses(veil_paillier_pool *pool);

/* c = E(m) for a residue 0 <= m < n, using a pooled randomizer. */
veil_status veil_paillier_encrypt_pooled(mpz_t c, veil_paillier_pool *pool, const mpz_t m,
                                         veil_err *err) VEIL_WUR;

/* Stops the background thread, wipes and frees. NULL is accepted. */
void veil_paillier_pool_free(veil_paillier_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
