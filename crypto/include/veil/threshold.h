/* Threshold Paillier decryption (Damgard-Jurik, PKC 2001, section 4, with
 * s = 1; the same construction as Shoup's threshold RSA): t of l departments
 * must cooperate to decrypt, each partial decryption carries a
 * non-interactive proof that it was made with the department's real share,
 * and fewer than t departments learn nothing about plaintexts.
 *
 * n = pq with safe primes p = 2p'+1, q = 2q'+1, m = p'q'. The dealer picks
 * d = 0 mod m, d = 1 mod n, shares it with a random polynomial f of degree
 * t-1 over Z_{nm} (s_i = f(i)), publishes a verification base v (a random
 * square mod n^2) and verification keys v_i = v^(Delta s_i) mod n^2 with
 * Delta = l!. Party i decrypts c partially as c_i = c^(2 Delta s_i) mod n^2
 * and proves log_{c^4}(c_i^2) = log_v(v_i) with a Fiat-Shamir proof over
 * SHA-256 that binds the key fingerprint, i, c and c_i. Any t valid partials
 * combine with integer Lagrange coefficients into m. See docs/threshold.md.
 *
 * The threshold public key is an ordinary veil Paillier public key (same n),
 * so encryption and aggregation are unchanged. A party's API takes only its
 * share (which embeds the public parameters): the private key never exists
 * outside the dealer's key ceremony. */
#ifndef VEIL_THRESHOLD_H
#define VEIL_THRESHOLD_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/ctfile.h"
#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_THRESHOLD_PARTIES_MAX  64u
#define VEIL_THRESHOLD_DIGEST_BYTES 32u        /* key fingerprint, input digest */
#define VEIL_THRESHOLD_FILE_MAX     (1u << 20) /* key, share, party key files */
#define VEIL_THRESHOLD_PARTIALS_MAX (1u << 30) /* partial decryption files */
#define VEIL_PARTY_KEY_BYTES        32u        /* X25519 public and secret keys */

typedef struct veil_threshold_key veil_threshold_key;
typedef struct veil_threshold_share veil_threshold_share;

/* ---- public parameters ---- */

/* Builds and checks the public parameters: 1 <= threshold <= parties <=
 * VEIL_THRESHOLD_PARTIES_MAX; v and every vk[0..parties) units in (1, n^2).
 * pk is copied. */
veil_status veil_threshold_key_new(veil_threshold_key **out, const veil_paillier_pub *pk,
                                   unsigned parties, unsigned threshold, const mpz_t v,
                                   const mpz_t *vk, veil_err *err) VEIL_WUR;
veil_status veil_threshold_key_dup(veil_threshold_key **out, const veil_threshold_key *k,
                                   veil_err *err) VEIL_WUR;
void veil_threshold_key_free(veil_threshold_key *k);

/* The ordinary public key (owned by k): give it to encryptors. */
const veil_paillier_pub *veil_threshold_key_pub(const veil_threshold_key *k);
unsigned veil_threshold_key_parties(const veil_threshold_key *k);
unsigned veil_threshold_key_threshold(const veil_threshold_key *k);
void veil_threshold_key_v(mpz_t out, const veil_threshold_key *k);
/* v_i for 1 <= index <= parties (0 otherwise). */
void veil_threshold_key_vk(mpz_t out, const veil_threshold_key *k, unsigned index);
/* SHA-256 over a domain tag, l, t, n, v and every v_i (not hs): identifies
 * the threshold key; bound into every proof. */
const uint8_t *veil_threshold_key_fingerprint(const veil_threshold_key *k);
void veil_threshold_key_fingerprint_hex(char out[VEIL_FINGERPRINT_HEX],
                                        const veil_threshold_key *k);

/* ---- shares ---- */

/* Builds a share from its index and secret s (copied; k is copied too) and
 * checks it against the key: 1 <= index <= parties, 0 <= s < n^2 and
 * v^(Delta s) = v_index mod n^2 (VEIL_ERR_CRYPTO "does not match its
 * verification key" otherwise). */
veil_status veil_threshold_share_new(veil_threshold_share **out, const veil_threshold_key *k,
                                     unsigned index, const mpz_t s, veil_err *err) VEIL_WUR;
/* Zeroizes and frees; NULL accepted. */
void veil_threshold_share_free(veil_threshold_share *s);
unsigned veil_threshold_share_index(const veil_threshold_share *s);
/* The public parameters the share belongs to (owned by s). */
const veil_threshold_key *veil_threshold_share_key(const veil_threshold_share *s);
/* The secret s_i, for serialization only. */
void veil_threshold_share_secret(mpz_t out, const veil_threshold_share *s);

/* ---- the dealer (key ceremony) ---- */

/* Called now and then during safe-prime search: `found` primes of `want`
 * so far, `candidates` numbers tested for the current one. */
typedef void (*veil_threshold_progress_fn)(void *arg, unsigned found, unsigned want,
                                           unsigned long candidates);

/* A random safe prime p = 2p' + 1 of exactly `bits` bits with its top two
 * bits set (bits >= 64): sieved candidates, Fermat tests, then
 * mpz_probab_prime_p(., 40) on both p' and p. Randomness from libsodium. */
veil_status veil_threshold_safe_prime(mpz_t p, unsigned bits, veil_threshold_progress_fn fn,
                                      void *arg, unsigned found, unsigned want,
                                      veil_err *err) VEIL_WUR;

/* Deals a key from given safe primes p and q (checked: both safe primes,
 * distinct, equal length, n = pq of a supported size): *key gets the public
 * parameters and *shares a malloc'd array of `parties` shares (share i at
 * index i-1). With djn the public key carries a DJN base. Every secret the
 * dealer computed (m, d, the polynomial) is wiped before returning. */
veil_status veil_threshold_deal(veil_threshold_key **key, veil_threshold_share ***shares,
                                const mpz_t p, const mpz_t q, unsigned parties, unsigned threshold,
                                int djn, veil_err *err) VEIL_WUR;
/* Generates two safe primes of bits/2 bits, then deals. */
veil_status veil_threshold_keygen(veil_threshold_key **key, veil_threshold_share ***shares,
                                  unsigned bits, unsigned parties, unsigned threshold, int djn,
                                  veil_threshold_progress_fn fn, void *arg, veil_err *err) VEIL_WUR;
/* Frees an array made by deal/keygen (and each share in it). */
void veil_threshold_shares_free(veil_threshold_share **shares, unsigned parties);

/* ---- partial decryption, proofs, combination ---- */

typedef struct {
    unsigned index; /* the party, 1 .. parties */
    mpz_t ci;       /* c^(2 Delta s_i) mod n^2 */
    mpz_t e;        /* challenge, < 2^256 */
    mpz_t z;        /* response r + e Delta s_i */
} veil_threshold_partial;

void veil_threshold_partial_init(veil_threshold_partial *p);
void veil_threshold_partial_clear(veil_threshold_partial *p);

/* Party side: checks c (veil_paillier_check_ct), computes c_i with
 * mpz_powm_sec and the proof. Uses nothing but the share. */
veil_status veil_threshold_partial_decrypt(veil_threshold_partial *out,
                                           const veil_threshold_share *s, const mpz_t c,
                                           veil_err *err) VEIL_WUR;
/* Verifies a partial of c against the key: index in range, c_i a unit mod
 * n^2, e < 2^256, z of plausible size, and the proof. VEIL_ERR_CRYPTO
 * "proof of correct decryption failed" when it does not hold. */
veil_status veil_threshold_partial_verify(const veil_threshold_key *k, const mpz_t c,
                                          const veil_threshold_partial *p, veil_err *err) VEIL_WUR;
/* m = the plaintext residue from `count` partials of one ciphertext, which
 * the caller has verified; the first t with distinct indices are used.
 * Fewer than t distinct parties is VEIL_ERR_CRYPTO ("need t"). */
veil_status veil_threshold_combine(mpz_t m, const veil_threshold_key *k,
                                   const veil_threshold_partial *parts, size_t count,
                                   veil_err *err) VEIL_WUR;

/* The same over a column on several threads (threads == 0: one per CPU),
 * following veil/batch.h: the lowest failing index is reported ("item
 * 3: ..."), outputs are cleared on failure. With the IFMA engine
 * (veil/engine.h) each worker takes groups of eight items and does the
 * three exponentiations of each group (c^(2 Delta s_i), (c^4)^r, v^r) in
 * the engine's lanes with its constant-time exponentiation, exponents read
 * for their public bounds; c_i is the single call's bit for bit and the
 * proofs (fresh nonces) verify alike. */
veil_status veil_threshold_partial_decrypt_batch(veil_threshold_partial *out,
                                                 const veil_threshold_share *s, const mpz_t *c,
                                                 size_t count, unsigned threads,
                                                 veil_err *err) VEIL_WUR;
/* *bad is set to the (0-based) lowest item whose partial fails, or count. */
veil_status veil_threshold_partial_verify_batch(size_t *bad, const veil_threshold_key *k,
                                                const mpz_t *c, const veil_threshold_partial *parts,
                                                size_t count, unsigned threads,
                                                veil_err *err) VEIL_WUR;

/* ---- result files: one party's partials of every item ---- */

typedef struct {
    unsigned index;
    uint8_t key_fingerprint[VEIL_THRESHOLD_DIGEST_BYTES];
    uint8_t input_digest[VEIL_THRESHOLD_DIGEST_BYTES];
    size_t count;
    veil_threshold_partial *items;
} veil_threshold_partials;

void veil_threshold_partials_init(veil_threshold_partials *p);
void veil_threshold_partials_clear(veil_threshold_partials *p);

/* SHA-256 over a domain tag and every item of r (group label, total flag,
 * scale, count, bound, ciphertext): what a partial decryption file names as
 * its input. */
void veil_threshold_result_digest(uint8_t out[VEIL_THRESHOLD_DIGEST_BYTES], const veil_result *r);

/* Party side: partial decryptions with proofs of every item of r. */
veil_status veil_threshold_partials_make(veil_threshold_partials *out,
                                         const veil_threshold_share *s, const veil_result *r,
                                         unsigned threads, veil_err *err) VEIL_WUR;
/* Combiner side: checks one party's partials against the key and r (key
 * fingerprint, index, input digest, item count, every proof). Messages
 * start with "party <i>: " and name the item and its group. */
veil_status veil_threshold_partials_check(const veil_threshold_key *k, const veil_result *r,
                                          const veil_threshold_partials *p, unsigned threads,
                                          veil_err *err) VEIL_WUR;
/* values[i] = the signed mantissa of item i from checked partials of at
 * least t distinct parties (the first t are used); an item whose value lies
 * outside its bound is VEIL_ERR_CRYPTO "overflow", as veil_enc_decrypt. */
veil_status veil_threshold_combine_result(mpz_t *values, const veil_threshold_key *k,
                                          const veil_result *r,
                                          const veil_threshold_partials *const *parts,
                                          size_t nparts, veil_err *err) VEIL_WUR;

/* ---- files (docs/threshold.md): "VEILTHR\x01" + a veil.ThresholdFile ---- */

/* Public parameters, mode 0644. */
veil_status veil_threshold_key_save(const char *path, const veil_threshold_key *k,
                                    veil_err *err) VEIL_WUR;
veil_status veil_threshold_key_load(veil_threshold_key **out, const char *path,
                                    veil_err *err) VEIL_WUR;
veil_status veil_threshold_key_parse(veil_threshold_key **out, const uint8_t *buf, size_t len,
                                     const char *name, veil_err *err) VEIL_WUR;

/* A share, mode 0600; sealed to a department's X25519 public key when
 * seal_to is not NULL. */
veil_status veil_threshold_share_save(const char *path, const veil_threshold_share *s,
                                      const uint8_t *seal_to, veil_err *err) VEIL_WUR;
/* Loads a share; a sealed one needs the department's key pair (party_pk
 * and party_sk, VEIL_ERR_USAGE when NULL). The share is checked against
 * its verification key (veil_threshold_share_new). */
veil_status veil_threshold_share_load(veil_threshold_share **out, const char *path,
                                      const uint8_t *party_pk, const uint8_t *party_sk,
                                      veil_err *err) VEIL_WUR;
veil_status veil_threshold_share_parse(veil_threshold_share **out, const uint8_t *buf, size_t len,
                                       const char *name, const uint8_t *party_pk,
                                       const uint8_t *party_sk, veil_err *err) VEIL_WUR;

/* A party's partial decryptions, mode 0644. */
veil_status veil_threshold_partials_save(const char *path, const veil_threshold_partials *p,
                                         veil_err *err) VEIL_WUR;
veil_status veil_threshold_partials_load(veil_threshold_partials *out, const char *path,
                                         veil_err *err) VEIL_WUR;
veil_status veil_threshold_partials_parse(veil_threshold_partials *out, const uint8_t *buf,
                                          size_t len, const char *name, veil_err *err) VEIL_WUR;

/* Department X25519 key pairs (libsodium crypto_box_keypair). */
veil_status veil_party_keygen(uint8_t pk[VEIL_PARTY_KEY_BYTES], uint8_t sk[VEIL_PARTY_KEY_BYTES],
                              veil_err *err) VEIL_WUR;
/* Public key mode 0644; secret key (which holds both) mode 0600. */
veil_status veil_party_pub_save(const char *path, const uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                veil_err *err) VEIL_WUR;
veil_status veil_party_pub_load(uint8_t pk[VEIL_PARTY_KEY_BYTES], const char *path,
                                veil_err *err) VEIL_WUR;
veil_status veil_party_secret_save(const char *path, const uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                   const uint8_t sk[VEIL_PARTY_KEY_BYTES], veil_err *err) VEIL_WUR;
veil_status veil_party_secret_load(uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                   uint8_t sk[VEIL_PARTY_KEY_BYTES], const char *path,
                                   veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
