/* veil/psi.h — the group operations of the private join (docs/query.md):
 * hashing resident IDs onto ristretto255, commutative blinding with a
 * secret scalar, uniform shuffles, and ElGamal encryption of small group
 * tags that a department other than the key holder can re-randomize.
 *
 * All group arithmetic is libsodium's (crypto_core_ristretto255_*,
 * crypto_scalarmult_ristretto255), which is constant-time in the scalar.
 * Points received from another party are checked: a 32-byte string that
 * is not the canonical encoding of a ristretto255 element, or that is the
 * identity, is VEIL_ERR_INPUT naming its index. Secret scalars are wiped
 * by the *_wipe functions (sodium_memzero). Libraries never print. */
#ifndef VEIL_PSI_H
#define VEIL_PSI_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PSI_POINT_BYTES  32 /* crypto_core_ristretto255_BYTES */
#define VEIL_PSI_SCALAR_BYTES 32 /* crypto_core_ristretto255_SCALARBYTES */
/* Largest number of distinct group tags an ElGamal tag table holds. */
#define VEIL_PSI_TAGS_MAX 65536u

/* A department's blinding key: a uniformly random non-zero scalar mod the
 * group order, fresh for every query and never stored. */
typedef struct {
    uint8_t k[VEIL_PSI_SCALAR_BYTES];
} veil_psi_key;

void veil_psi_key_new(veil_psi_key *key);
void veil_psi_key_wipe(veil_psi_key *key);

/* out = H(query_id, id): crypto_core_ristretto255_from_hash of the 64-byte
 * BLAKE2b-512 of "veil-psi-v1" || u32be(len(query_id)) || query_id || id.
 * The query id separates domains, so blinded values of two queries cannot
 * be compared. query_id: NUL-terminated; id: id_len bytes. */
void veil_psi_hash(uint8_t out[VEIL_PSI_POINT_BYTES], const char *query_id, const char *id,
                   size_t id_len);

/* out[i] = key * H(query_id, ids[i]) for i < count (ids[i] of lens[i]
 * bytes), spread over `threads` workers (0 = every CPU this process may
 * use). out holds count * 32 bytes. */
veil_status veil_psi_hash_blind(uint8_t *out, const veil_psi_key *key, const char *query_id,
                                const char *const *ids, const size_t *lens, size_t count,
                                unsigned threads, veil_err *err) VEIL_WUR;

/* out[i] = key * in[i] (count points of 32 bytes each; out may equal in).
 * Every input point is checked first: VEIL_ERR_INPUT "element I is not a
 * valid ristretto255 point" (or "... is the identity") for the lowest bad
 * index I, and out is then left unspecified. */
veil_status veil_psi_blind(uint8_t *out, const veil_psi_key *key, const uint8_t *in, size_t count,
                           unsigned threads, veil_err *err) VEIL_WUR;

/* perm = a uniformly random permutation of 0..count-1 (Fisher-Yates with
 * libsodium's randombytes, unbiased for any count). */
void veil_psi_permutation(size_t *perm, size_t count);

/* ---- ElGamal-encrypted group tags ----
 * A tag t in [0, VEIL_PSI_TAGS_MAX) is encoded as the point (t + 1) * G
 * and encrypted under Y = x * G as (c1, c2) = (r * G, (t + 1) * G + r * Y)
 * with a fresh scalar r. Anyone holding Y can re-randomize a ciphertext
 * (add an encryption of the identity), which makes it unlinkable to the
 * one it came from; only x decrypts. */
typedef struct {
    uint8_t x[VEIL_PSI_SCALAR_BYTES]; /* secret */
    uint8_t y[VEIL_PSI_POINT_BYTES];  /* public: x * G */
} veil_psi_eg_key;

typedef struct {
    uint8_t c1[VEIL_PSI_POINT_BYTES];
    uint8_t c2[VEIL_PSI_POINT_BYTES];
} veil_psi_eg_ct;

void veil_psi_eg_keygen(veil_psi_eg_key *key);
void veil_psi_eg_key_wipe(veil_psi_eg_key *key);

/* out[i] = E_Y(tags[i]); VEIL_ERR_USAGE for a tag >= VEIL_PSI_TAGS_MAX. */
veil_status veil_psi_eg_encrypt(veil_psi_eg_ct *out, const uint8_t y[VEIL_PSI_POINT_BYTES],
                                const uint32_t *tags, size_t count, unsigned threads,
                                veil_err *err) VEIL_WUR;
/* out[i] = in[i] re-randomized under y (out may equal in). Checks every
 * point of in (and y) as veil_psi_blind does: VEIL_ERR_INPUT naming the
 * lowest bad index. */
veil_status veil_psi_eg_rerandomize(veil_psi_eg_ct *out, const uint8_t y[VEIL_PSI_POINT_BYTES],
                                    const veil_psi_eg_ct *in, size_t count, unsigned threads,
                                    veil_err *err) VEIL_WUR;

/* Decryption table for tags 0..ntags-1 (ntags <= VEIL_PSI_TAGS_MAX):
 * the points (t + 1) * G sorted for binary search. */
typedef struct veil_psi_tag_table veil_psi_tag_table;
veil_status veil_psi_tag_table_new(veil_psi_tag_table **out, uint32_t ntags,
                                   veil_err *err) VEIL_WUR;
void veil_psi_tag_table_free(veil_psi_tag_table *t);

/* tags[i] = D_x(in[i]). VEIL_ERR_INPUT naming the lowest index whose points
 * are invalid or whose plaintext is not (t + 1) * G for a tag t of the
 * table ("element I does not decrypt to a known group tag"). */
veil_status veil_psi_eg_decrypt(uint32_t *tags, const veil_psi_eg_key *key,
                                const veil_psi_tag_table *table, const veil_psi_eg_ct *in,
                                size_t count, unsigned threads, veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
