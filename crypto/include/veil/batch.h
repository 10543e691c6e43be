/* Batch encryption, decryption and scalar multiplication of whole columns
 * on all cores.
 *
 * threads == 0 means one chunk per available CPU (veil_cpu_count()); the
 * number of chunks is further capped at `count` and at
 * VEIL_BATCH_MAX_THREADS, so a batch never makes more chunks than items.
 * The chunks run on the process-wide worker pool (veil/workers.h:
 * veil_cpu_count() - 1 threads started once, shared by every caller) and on
 * the calling thread, so concurrent batch calls never run more veil threads
 * than there are CPUs. Work is split into contiguous chunks of nearly equal
 * size; each chunk writes only its own outputs and its own error slot, and
 * the call returns only after every chunk has finished, on every path.
 *
 * On failure the lowest failing index is reported ("value 17: ..."), with
 * the status of the underlying single-value call, and every output element
 * is set to 0 so that no partly filled column is left behind. count == 0 is
 * a no-op and the arrays may then be NULL. Output and input may be the same
 * array (element i is read before it is written). Outputs must be
 * initialized mpz_t. */
#ifndef VEIL_BATCH_H
#define VEIL_BATCH_H

#include <gmp.h>
#include <stddef.h>

#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on the workers of one batch call. */
#define VEIL_BATCH_MAX_THREADS 256u

/* Number of CPUs this process may run on: the online CPUs, or fewer if the
 * scheduler affinity mask allows fewer. At least 1. */
unsigned veil_cpu_count(void);

/* c[i] = E(m[i]) for residues m[i] in [0, n) (VEIL_ERR_USAGE otherwise,
 * as veil_paillier_encrypt). */
veil_status veil_paillier_encrypt_batch(mpz_t *c, const veil_paillier_pub *pk, const mpz_t *m,
                                        size_t count, unsigned threads, veil_err *err) VEIL_WUR;
/* m[i] = D(c[i]); every c[i] is checked (VEIL_ERR_CRYPTO for a ciphertext
 * out of range or sharing a factor with n); the first failure (lowest
 * index) is reported with its index. */
veil_status veil_paillier_decrypt_batch(mpz_t *m, const veil_paillier_priv *sk, const mpz_t *c,
                                        size_t count, unsigned threads, veil_err *err) VEIL_WUR;
/* r[i] = E(k[i] D(c[i])), the result of veil_paillier_mul_scalar(r[i], pk,
 * c[i], k[i]) bit for bit: scalars are signed integers of any size, reduced
 * mod n; a negative one (above n / 2 once reduced) costs an exponentiation
 * by n - (k mod n) and an inversion. Unlike the single-value call, which
 * leaves the check to its caller, every c[i] is checked as in
 * veil_paillier_decrypt_batch (VEIL_ERR_CRYPTO, lowest index reported). r
 * may be c or k. With the IFMA engine, eight values at a time are powered
 * in its lanes (veil/engine.h); the scalars are treated as public, so a
 * group of eight costs the longest reduced scalar of the group. */
veil_status veil_paillier_mul_scalar_batch(mpz_t *r, const veil_paillier_pub *pk, const mpz_t *c,
                                           const mpz_t *k, size_t count, unsigned threads,
                                           veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
