/* query/qpack.h — private to libveil_query: how a department's value
 * columns are packed into Paillier plaintexts (docs/query.md, "Packing").
 *
 * Every row of a department with m value columns contributes, per column,
 * its value v and v^2 (int64 mantissas, so |v| < 2^63 and v^2 < 2^126).
 * Slots are signed and laid out from the least significant bit: column 0's
 * sum, column 0's sum of squares, column 1's sum, ... Each slot is wide
 * enough for the sum over all N rows of the department plus, when noise is
 * on, a noise term of up to sensitivity * 2^VEIL_QPACK_NOISE_BITS:
 *   sum slot:   63 + max(bits(N), noise ? 44 : 0) + 2 bits
 *   sumsq slot: 126 + max(bits(N), noise ? 44 : 0) + 2 bits
 * The layout depends only on m, N, whether noise is on and the key size, all
 * of which the combiner and the analyst know, never on the data. Columns go
 * into as few plaintexts per row as fit in bits(n) - 2 bits (|M| < n/3,
 * the key's signed range); a column never straddles two plaintexts. */
#ifndef VEIL_QPACK_H
#define VEIL_QPACK_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/paillier.h"

/* Noise added to a slot is refused above sensitivity * 2^44 (probability
 * below exp(-epsilon * 2^44): never in practice). */
#define VEIL_QPACK_NOISE_BITS 44u

typedef struct {
    size_t ncols;
    size_t ncts;        /* plaintexts (ciphertexts) per row */
    size_t *ct_of;      /* [ncols]: which plaintext holds column j */
    size_t *off_sum;    /* [ncols]: bit offset of column j's sum slot in it */
    size_t *off_sq;     /* [ncols]: bit offset of its sum-of-squares slot */
    size_t w_sum, w_sq; /* slot widths */
    size_t *first_col; /* [ncts + 1]: columns first_col[k] .. first_col[k+1]-1 are in plaintext k */
} veil_qpack_layout;

/* VEIL_ERR_USAGE when a single column does not fit in the key. */
veil_status veil_qpack_layout_new(veil_qpack_layout *l, size_t ncols, uint64_t rows, int noise,
                                  unsigned key_bits, veil_err *err) VEIL_WUR;
void veil_qpack_layout_free(veil_qpack_layout *l);

/* m[k] (k < ncts, initialized) = the signed packing of slot values
 * sums[j] in the sum slot and sqs[j] in the sum-of-squares slot of every
 * column j of plaintext k. Values must fit their slots (they do for rows
 * and noise within the layout's bounds; VEIL_ERR_INTERNAL otherwise). */
veil_status veil_qpack_pack(mpz_t *m, const veil_qpack_layout *l, const mpz_t *sums,
                            const mpz_t *sqs, veil_err *err) VEIL_WUR;
/* The inverse for one signed plaintext (already decoded from a residue)
 * of index k: fills sums[j] and sqs[j] for its columns. M must be exactly
 * a packing (VEIL_ERR_CRYPTO "... does not unpack" otherwise). */
veil_status veil_qpack_unpack(mpz_t *sums, mpz_t *sqs, const veil_qpack_layout *l, size_t k,
                              const mpz_t M, veil_err *err) VEIL_WUR;

/* Fixed-length big-endian bytes of a ciphertext (len = bytes of n^2). */
void veil_qpack_ct_export(uint8_t *out, size_t len, const mpz_t c);
void veil_qpack_ct_import(mpz_t c, const uint8_t *in, size_t len);
size_t veil_qpack_ct_bytes(const veil_paillier_pub *pk);

#endif
