/* Threshold Paillier: public parameters, shares, partial decryption with a
 * Fiat-Shamir proof of equal discrete logarithms, verification and
 * combination with integer Lagrange coefficients (Damgard-Jurik 2001, s = 1;
 * docs/threshold.md). */
#include "veil/threshold.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "paillier_internal.h"
#include "veil/batch.h"
#include "veil/rand.h"
#include "veil/workers.h"

#define PROOF_TAG      "veil-threshold-paillier-proof-v1"
#define KEY_TAG        "veil-threshold-key-v1"
#define CHALLENGE_BITS 256u
/* Statistical hiding of e * Delta * s_i inside z = r + e * Delta * s_i:
 * r is CHALLENGE_BITS + HIDE_BITS longer than the largest e * Delta * s_i. */
#define HIDE_BITS 256u

struct veil_threshold_key {
    veil_paillier_pub *pk;
    unsigned parties, threshold;
    mpz_t n, n2, v, delta;
    mpz_t *vk; /* vk[i - 1] = v_i */
    uint8_t fp[VEIL_THRESHOLD_DIGEST_BYTES];
};

struct veil_threshold_share {
    veil_threshold_key *key;
    unsigned index;
    mpz_t s;
};

/* ---- hashing of integers: 4-byte big-endian length, big-endian bytes ---- */

static void hash_u32(crypto_hash_sha256_state *h, uint32_t x)
{
    uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    crypto_hash_sha256_update(h, b, sizeof b);
}

/* Only public values are hashed, so a plain heap buffer is fine. Returns -1
 * when out of memory. */
static int hash_mpz(crypto_hash_sha256_state *h, const mpz_t x)
{
    size_t len = mpz_sgn(x) == 0 ? 0 : (mpz_sizeinbase(x, 2) + 7) / 8;
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return -1;
    size_t got = 0;
    if (len > 0)
        mpz_export(buf, &got, 1, 1, 1, 0, x);
    hash_u32(h, (uint32_t)got);
    crypto_hash_sha256_update(h, buf, got);
    free(buf);
    return 0;
}

static void hash_tag(crypto_hash_sha256_state *h, const char *tag)
{
    crypto_hash_sha256_update(h, (const uint8_t *)tag, strlen(tag) + 1); /* with the NUL */
}

/* ---- public parameters ---- */

static veil_status check_unit(const veil_threshold_key *k, const mpz_t x, const char *what,
                              veil_err *err)
{
    veil_status st = veil_paillier_check_ct(k->pk, x, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "%s", what);
    if (mpz_cmp_ui(x, 1) == 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "%s is 1", what);
    return VEIL_OK;
}

static veil_status key_fingerprint(veil_threshold_key *k, veil_err *err)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    hash_tag(&h, KEY_TAG);
    hash_u32(&h, k->parties);
    hash_u32(&h, k->threshold);
    int bad = hash_mpz(&h, k->n) != 0 || hash_mpz(&h, k->v) != 0;
    for (unsigned i = 0; !bad && i < k->parties; i++)
        bad = hash_mpz(&h, k->vk[i]) != 0;
    crypto_hash_sha256_final(&h, k->fp);
    return bad ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory") : VEIL_OK;
}

veil_status veil_threshold_key_new(veil_threshold_key **out, const veil_paillier_pub *pk,
                                   unsigned parties, unsigned threshold, const mpz_t v,
                                   const mpz_t *vk, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    if (parties < 1 || parties > VEIL_THRESHOLD_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "parties %u is outside 1 .. %u", parties,
                            VEIL_THRESHOLD_PARTIES_MAX);
    if (threshold < 1 || threshold > parties)
        return veil_err_set(err, VEIL_ERR_INPUT, "threshold %u is outside 1 .. %u (the parties)",
                            threshold, parties);
    veil_threshold_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_inits(k->n, k->n2, k->v, k->delta, NULL);
    k->parties = parties;
    k->threshold = threshold;
    veil_status st = veil_paillier_pub_dup(&k->pk, pk, err);
    if (st != VEIL_OK)
        goto done;
    k->vk = calloc(parties, sizeof *k->vk);
    if (k->vk == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (unsigned i = 0; i < parties; i++)
        mpz_init_set(k->vk[i], vk[i]);
    veil_paillier_pub_n(k->n, pk);
    veil_paillier_pub_n2(k->n2, pk);
    mpz_fac_ui(k->delta, parties);
    mpz_set(k->v, v);
    st = check_unit(k, k->v, "the verification base v", err);
    for (unsigned i = 0; st == VEIL_OK && i < parties; i++) {
        char what[64];
        snprintf(what, sizeof what, "verification key %u", i + 1);
        st = check_unit(k, k->vk[i], what, err);
    }
    if (st == VEIL_OK)
        st = key_fingerprint(k, err);
done:
    if (st != VEIL_OK)
        veil_threshold_key_free(k);
    else
        *out = k;
    return st;
}

veil_status veil_threshold_key_dup(veil_threshold_key **out, const veil_threshold_key *k,
                                   veil_err *err)
{
    return veil_threshold_key_new(out, k->pk, k->parties, k->threshold, k->v, (const mpz_t *)k->vk,
                                  err);
}

void veil_threshold_key_free(veil_threshold_key *k)
{
    if (k == NULL)
        return;
    if (k->vk != NULL)
        for (unsigned i = 0; i < k->parties; i++)
            mpz_clear(k->vk[i]);
    free(k->vk);
    mpz_clears(k->n, k->n2, k->v, k->delta, NULL);
    veil_paillier_pub_free(k->pk);
    free(k);
}

const veil_paillier_pub *veil_threshold_key_pub(const veil_threshold_key *k)
{
    return k->pk;
}

unsigned veil_threshold_key_parties(const veil_threshold_key *k)
{
    return k->parties;
}

unsigned veil_threshold_key_threshold(const veil_threshold_key *k)
{
    return k->threshold;
}

void veil_threshold_key_v(mpz_t out, const veil_threshold_key *k)
{
    mpz_set(out, k->v);
}

void veil_threshold_key_vk(mpz_t out, const veil_threshold_key *k, unsigned index)
{
    if (index >= 1 && index <= k->parties)
        mpz_set(out, k->vk[index - 1]);
    else
        mpz_set_ui(out, 0);
}

const uint8_t *veil_threshold_key_fingerprint(const veil_threshold_key *k)
{
    return k->fp;
}

void veil_threshold_key_fingerprint_hex(char out[VEIL_FINGERPRINT_HEX], const veil_threshold_key *k)
{
    sodium_bin2hex(out, VEIL_FINGERPRINT_HEX, k->fp, sizeof k->fp);
}

/* ---- shares ---- */

/* out = base^(mult * e) mod n^2 for a secret e >= 0, in constant time in e
 * (mpz_powm_sec needs a positive exponent: e = 0 gives 1). */
static void powm_secret(mpz_t out, const mpz_t base, const mpz_t mult, const mpz_t e,
                        const mpz_t n2)
{
    mpz_t x;
    mpz_init(x);
    mpz_mul(x, e, mult);
    if (mpz_sgn(x) > 0)
        mpz_powm_sec(out, base, x, n2);
    else
        mpz_set_ui(out, 1);
    veil_mpz_wipe(x);
}

veil_status veil_threshold_share_new(veil_threshold_share **out, const veil_threshold_key *k,
                                     unsigned index, const mpz_t s, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    if (index < 1 || index > k->parties)
        return veil_err_set(err, VEIL_ERR_INPUT, "share index %u is outside 1 .. %u", index,
                            k->parties);
    if (mpz_sgn(s) < 0 || mpz_cmp(s, k->n2) >= 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "share %u: the secret is out of range", index);
    veil_threshold_share *sh = calloc(1, sizeof *sh);
    if (sh == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_init_set(sh->s, s);
    sh->index = index;
    veil_status st = veil_threshold_key_dup(&sh->key, k, err);
    if (st == VEIL_OK) {
        mpz_t check;
        mpz_init(check);
        powm_secret(check, k->v, k->delta, sh->s, k->n2);
        if (mpz_cmp(check, k->vk[index - 1]) != 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "share %u does not match its verification key (a share of "
                              "another key, or corrupted)",
                              index);
        mpz_clear(check);
    }
    if (st != VEIL_OK)
        veil_threshold_share_free(sh);
    else
        *out = sh;
    return st;
}

void veil_threshold_share_free(veil_threshold_share *s)
{
    if (s == NULL)
        return;
    veil_mpz_wipe(s->s);
    veil_threshold_key_free(s->key);
    sodium_memzero(s, sizeof *s);
    free(s);
}

unsigned veil_threshold_share_index(const veil_threshold_share *s)
{
    return s->index;
}

const veil_threshold_key *veil_threshold_share_key(const veil_threshold_share *s)
{
    return s->key;
}

void veil_threshold_share_secret(mpz_t out, const veil_threshold_share *s)
{
    mpz_set(out, s->s);
}

/* ---- proofs ---- */

void veil_threshold_partial_init(veil_threshold_partial *p)
{
    p->index = 0;
    mpz_inits(p->ci, p->e, p->z, NULL);
}

void veil_threshold_partial_clear(veil_threshold_partial *p)
{
    mpz_clears(p->ci, p->e, p->z, NULL);
    p->index = 0;
}

/* Bits of the prover's nonce r: larger than any e * Delta * s_i (e <
 * 2^256, s_i < n m < n^2) by HIDE_BITS. */
static size_t nonce_bits(const veil_threshold_key *k)
{
    return mpz_sizeinbase(k->n2, 2) + mpz_sizeinbase(k->delta, 2) + CHALLENGE_BITS + HIDE_BITS;
}

/* e = SHA-256(tag, key fingerprint, i, c, c_i, a, b) as a 256-bit integer. */
static int challenge(mpz_t e, const veil_threshold_key *k, unsigned index, const mpz_t c,
                     const mpz_t ci, const mpz_t a, const mpz_t b)
{
    crypto_hash_sha256_state h;
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    hash_tag(&h, PROOF_TAG);
    crypto_hash_sha256_update(&h, k->fp, sizeof k->fp);
    hash_u32(&h, index);
    int bad = hash_mpz(&h, c) != 0 || hash_mpz(&h, ci) != 0 || hash_mpz(&h, a) != 0 ||
              hash_mpz(&h, b) != 0;
    crypto_hash_sha256_final(&h, d);
    mpz_import(e, sizeof d, 1, 1, 1, 0, d);
    return bad ? -1 : 0;
}

/* A fresh secret nonce r, 0 < r < 2^nonce_bits. */
static void draw_nonce(mpz_t r, const veil_threshold_key *k)
{
    do
        veil_rand_mpz_bits(r, (unsigned)nonce_bits(k));
    while (mpz_sgn(r) == 0);
}

/* The proof for out->ci from the commitments a = (c^4)^r and b = v^r:
 * e = the challenge, z = r + e * Delta * s_i over the integers. */
static veil_status prove(veil_threshold_partial *out, const veil_threshold_share *s, const mpz_t c,
                         const mpz_t r, const mpz_t a, const mpz_t b, veil_err *err)
{
    const veil_threshold_key *k = s->key;
    if (challenge(out->e, k, s->index, c, out->ci, a, b) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_mul(out->z, out->e, k->delta);
    mpz_mul(out->z, out->z, s->s);
    mpz_add(out->z, out->z, r);
    out->index = s->index;
    return VEIL_OK;
}

veil_status veil_threshold_partial_decrypt(veil_threshold_partial *out,
                                           const veil_threshold_share *s, const mpz_t c,
                                           veil_err *err)
{
    const veil_threshold_key *k = s->key;
    veil_err_clear(err);
    veil_status st = veil_paillier_check_ct(k->pk, c, err);
    if (st != VEIL_OK)
        return st;
    mpz_t two_delta, four, x, r, a, b;
    mpz_inits(two_delta, four, x, r, a, b, NULL);
    mpz_mul_ui(two_delta, k->delta, 2);
    mpz_set_ui(four, 4);
    /* c_i = c^(2 Delta s_i): the share is used only here and in z below. */
    powm_secret(out->ci, c, two_delta, s->s, k->n2);
    mpz_powm(x, c, four, k->n2); /* x = c^4, public */
    draw_nonce(r, k);
    mpz_powm_sec(a, x, r, k->n2);
    mpz_powm_sec(b, k->v, r, k->n2);
    st = prove(out, s, c, r, a, b, err);
    veil_mpz_wipe(r);
    mpz_clears(two_delta, four, x, a, b, NULL);
    if (st != VEIL_OK)
        mpz_set_ui(out->ci, 0);
    return st;
}

veil_status veil_threshold_partial_verify(const veil_threshold_key *k, const mpz_t c,
                                          const veil_threshold_partial *p, veil_err *err)
{
    veil_err_clear(err);
    if (p->index < 1 || p->index > k->parties)
        return veil_err_set(err, VEIL_ERR_INPUT, "party index %u is outside 1 .. %u", p->index,
                            k->parties);
    veil_status st = veil_paillier_check_ct(k->pk, c, err);
    if (st != VEIL_OK)
        return veil_err_prefix(err, "the ciphertext");
    if (veil_paillier_check_ct(k->pk, p->ci, err) != VEIL_OK)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "proof of correct decryption failed: the partial decryption is not "
                            "a unit mod n^2");
    if (mpz_sgn(p->e) < 0 || mpz_sizeinbase(p->e, 2) > CHALLENGE_BITS || mpz_sgn(p->z) < 0 ||
        mpz_sizeinbase(p->z, 2) > nonce_bits(k) + 1)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "proof of correct decryption failed: challenge or response out of "
                            "range");
    mpz_t x, t, a, b, e2;
    mpz_inits(x, t, a, b, e2, NULL);
    /* a = (c^4)^z * (c_i^2)^-e, b = v^z * v_i^-e; all public values. */
    mpz_powm_ui(x, c, 4, k->n2);
    mpz_powm(a, x, p->z, k->n2);
    mpz_powm_ui(t, p->ci, 2, k->n2);
    int ok = mpz_invert(t, t, k->n2) != 0;
    if (ok) {
        mpz_powm(t, t, p->e, k->n2);
        mpz_mul(a, a, t);
        mpz_mod(a, a, k->n2);
        mpz_powm(b, k->v, p->z, k->n2);
        ok = mpz_invert(t, k->vk[p->index - 1], k->n2) != 0;
    }
    if (ok) {
        mpz_powm(t, t, p->e, k->n2);
        mpz_mul(b, b, t);
        mpz_mod(b, b, k->n2);
        if (challenge(e2, k, p->index, c, p->ci, a, b) != 0)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            ok = mpz_cmp(e2, p->e) == 0;
    }
    if (st == VEIL_OK && !ok)
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "proof of correct decryption failed");
    mpz_clears(x, t, a, b, e2, NULL);
    return st;
}

/* ---- combination ---- */

/* lambda = Delta * prod_{j' in S, j' != j} j' / (j' - j), an integer. */
static void lagrange(mpz_t lambda, const mpz_t delta, const unsigned *set, unsigned t, unsigned j)
{
    mpz_t num, den;
    mpz_init_set(num, delta);
    mpz_init_set_ui(den, 1);
    for (unsigned u = 0; u < t; u++) {
        if (set[u] == j)
            continue;
        mpz_mul_ui(num, num, set[u]);
        mpz_mul_si(den, den, (long)set[u] - (long)j);
    }
    mpz_divexact(lambda, num, den);
    mpz_clears(num, den, NULL);
}

/* Picks the first t partials with distinct indices; pos[u] is their
 * position in parts. */
static veil_status pick(unsigned *set, size_t *pos, const veil_threshold_key *k,
                        const veil_threshold_partial *parts, size_t count, veil_err *err)
{
    unsigned got = 0;
    for (size_t i = 0; i < count && got < k->threshold; i++) {
        unsigned idx = parts[i].index;
        if (idx < 1 || idx > k->parties)
            return veil_err_set(err, VEIL_ERR_INPUT, "party index %u is outside 1 .. %u", idx,
                                k->parties);
        int dup = 0;
        for (unsigned u = 0; u < got; u++)
            dup |= set[u] == idx;
        if (dup)
            continue;
        set[got] = idx;
        pos[got] = i;
        got++;
    }
    if (got < k->threshold)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "%u valid partial decryption%s from distinct parties, but this key "
                            "needs %u",
                            got, got == 1 ? "" : "s", k->threshold);
    return VEIL_OK;
}

/* m = L(prod c_j^(2 lambda_j) mod n^2) * (4 Delta^2)^-1 mod n. A product
 * that is not 1 mod n means the partials do not fit together: never a
 * silent wrong or zero plaintext. */
static veil_status combine_set(mpz_t m, const veil_threshold_key *k, const unsigned *set,
                               const mpz_t *lambda, const mpz_t *const *ci, veil_err *err)
{
    mpz_t acc, t, e;
    mpz_inits(acc, t, e, NULL);
    mpz_set_ui(acc, 1);
    veil_status st = VEIL_OK;
    for (unsigned u = 0; u < k->threshold && st == VEIL_OK; u++) {
        mpz_mul_2exp(e, lambda[u], 1);
        if (mpz_sgn(e) < 0) {
            if (mpz_invert(t, *ci[u], k->n2) == 0) {
                st = veil_err_set(err, VEIL_ERR_CRYPTO,
                                  "party %u: the partial decryption is not a unit mod n^2", set[u]);
                break;
            }
            mpz_neg(e, e);
            mpz_powm(t, t, e, k->n2);
        } else {
            mpz_powm(t, *ci[u], e, k->n2);
        }
        mpz_mul(acc, acc, t);
        mpz_mod(acc, acc, k->n2);
    }
    if (st == VEIL_OK) {
        mpz_sub_ui(acc, acc, 1);
        if (!mpz_divisible_p(acc, k->n)) {
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "the partial decryptions do not combine to a plaintext (they were "
                              "not verified, or belong to different ciphertexts or keys)");
        } else {
            mpz_divexact(acc, acc, k->n);
            mpz_mul(t, k->delta, k->delta);
            mpz_mul_2exp(t, t, 2);
            if (mpz_invert(t, t, k->n) == 0) {
                st = veil_err_set(err, VEIL_ERR_INTERNAL, "4 Delta^2 is not invertible mod n");
            } else {
                mpz_mul(m, acc, t);
                mpz_mod(m, m, k->n);
            }
        }
    }
    veil_mpz_wipe(acc);
    mpz_clears(t, e, NULL);
    return st;
}

veil_status veil_threshold_combine(mpz_t m, const veil_threshold_key *k,
                                   const veil_threshold_partial *parts, size_t count, veil_err *err)
{
    veil_err_clear(err);
    unsigned set[VEIL_THRESHOLD_PARTIES_MAX];
    size_t pos[VEIL_THRESHOLD_PARTIES_MAX];
    const mpz_t *ci[VEIL_THRESHOLD_PARTIES_MAX];
    mpz_t lambda[VEIL_THRESHOLD_PARTIES_MAX];
    veil_status st = pick(set, pos, k, parts, count, err);
    if (st != VEIL_OK) {
        mpz_set_ui(m, 0);
        return st;
    }
    for (unsigned u = 0; u < k->threshold; u++) {
        mpz_init(lambda[u]);
        lagrange(lambda[u], k->delta, set, k->threshold, set[u]);
        ci[u] = &parts[pos[u]].ci;
    }
    st = combine_set(m, k, set, (const mpz_t *)lambda, ci, err);
    for (unsigned u = 0; u < k->threshold; u++)
        mpz_clear(lambda[u]);
    if (st != VEIL_OK)
        mpz_set_ui(m, 0);
    return st;
}

/* ---- batches (the pattern of crypto/batch.c) ---- */

/* fn handles items [i, i + n), 1 <= n <= the batch's unit, in order; on a
 * failure it sets *failed to the failing item. */
typedef veil_status (*group_fn)(void *ctx, size_t i, size_t n, size_t *failed, veil_err *err);

typedef struct {
    group_fn fn;
    void *ctx;
    size_t begin, end, unit;
    veil_status st;
    size_t failed_at;
    veil_err err;
} item_job;

static void run_job(item_job *job)
{
    job->st = VEIL_OK;
    for (size_t i = job->begin; i < job->end; i += job->unit) {
        size_t n = job->end - i < job->unit ? job->end - i : job->unit;
        veil_status st = job->fn(job->ctx, i, n, &job->failed_at, &job->err);
        if (st != VEIL_OK) {
            job->st = st;
            return;
        }
    }
}

static void job_task(void *arg)
{
    run_job(arg);
}

/* Runs fn on items [0, count) in contiguous chunks of whole units (groups
 * of `unit` items; only the last chunk may end in a partial one) on the
 * worker pool and the calling thread; waits for every chunk on every path;
 * reports the lowest failing item (1-based in the message, 0-based in
 * *failed). */
static veil_status run_items(group_fn fn, void *ctx, size_t count, size_t unit, unsigned threads,
                             size_t *failed, veil_err *err)
{
    veil_err_clear(err);
    *failed = count;
    if (count == 0)
        return VEIL_OK;
    size_t units = (count + unit - 1) / unit;
    size_t nw = threads == 0 ? veil_cpu_count() : threads;
    if (nw > VEIL_BATCH_MAX_THREADS)
        nw = VEIL_BATCH_MAX_THREADS;
    if (nw > units)
        nw = units;
    item_job *jobs = calloc(nw, sizeof *jobs);
    if (jobs == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "batch of %zu items: out of memory", count);
    size_t base = units / nw, extra = units % nw, begin = 0;
    for (size_t w = 0; w < nw; w++) {
        jobs[w].fn = fn;
        jobs[w].ctx = ctx;
        jobs[w].unit = unit;
        jobs[w].begin = begin;
        jobs[w].end = begin + (base + (w < extra ? 1 : 0)) * unit;
        if (jobs[w].end > count)
            jobs[w].end = count;
        begin = jobs[w].end;
        veil_err_clear(&jobs[w].err);
    }
    veil_workers_run(job_task, jobs, sizeof *jobs, nw);
    veil_status st = VEIL_OK;
    for (size_t w = 0; w < nw; w++) {
        if (jobs[w].st == VEIL_OK)
            continue;
        st = jobs[w].st;
        *failed = jobs[w].failed_at;
        if (err != NULL) {
            *err = jobs[w].err;
            veil_err_prefix(err, "item %zu", jobs[w].failed_at + 1);
        }
        break;
    }
    free(jobs);
    return st;
}

typedef struct {
    const veil_threshold_share *s;
    const veil_threshold_key *k;
    veil_threshold_partial *parts;
    const mpz_t *c;
    /* the engine path: the context for n^2 and the secret exponent
     * 2 Delta s_i as es_bits little-endian bits (a public bound) */
    const veil_mb_ctx *mb;
    const uint8_t *es;
    size_t es_bits;
} batch_ctx;

static veil_status decrypt_items(void *arg, size_t i, size_t n, size_t *failed, veil_err *err)
{
    batch_ctx *x = arg;
    for (size_t j = i; j < i + n; j++) {
        veil_status st = veil_threshold_partial_decrypt(&x->parts[j], x->s, x->c[j], err);
        if (st != VEIL_OK) {
            *failed = j;
            return st;
        }
    }
    return VEIL_OK;
}

static veil_status verify_items(void *arg, size_t i, size_t n, size_t *failed, veil_err *err)
{
    batch_ctx *x = arg;
    for (size_t j = i; j < i + n; j++) {
        veil_status st = veil_threshold_partial_verify(x->k, x->c[j], &x->parts[j], err);
        if (st != VEIL_OK) {
            *failed = j;
            return st;
        }
    }
    return VEIL_OK;
}

/* The three exponentiations of up to eight partial decryptions in the IFMA
 * engine's lanes, all with the constant-time veil_mb_powm: c_i = c^(2 Delta
 * s_i) (one secret exponent for every lane), a = (c^4)^r and b = v^r (a
 * fresh secret r per lane), each exponent read for a public length. A
 * padding lane has base 0 (or v) and nonce 0; its results are never
 * stored, and every buffer that held a secret is wiped. The proofs are the
 * scalar path's (prove). */
static int powers_mb(const batch_ctx *x, const mpz_t *const c[VEIL_MB_LANES],
                     mpz_t *const ci[VEIL_MB_LANES], mpz_t *const a[VEIL_MB_LANES],
                     mpz_t *const b[VEIL_MB_LANES], const uint8_t *const r[VEIL_MB_LANES],
                     size_t rbits)
{
    const veil_mb_ctx *ctx = x->mb;
    const uint8_t *es[VEIL_MB_LANES];
    const mpz_t *v[VEIL_MB_LANES];
    for (int l = 0; l < VEIL_MB_LANES; l++) {
        es[l] = x->es;
        v[l] = (const mpz_t *)&x->k->v;
    }
    uint64_t *buf = veil_mb_alloc(ctx, 3);
    if (buf == NULL)
        return -1;
    uint64_t *t0 = buf, *t1 = buf + ctx->N * VEIL_MB_LANES, *t2 = buf + 2 * ctx->N * VEIL_MB_LANES;
    veil_mb_load(t0, c, ctx);
    veil_mb_mulmod(t1, t0, t0, ctx);
    veil_mb_mulmod(t2, t1, t1, ctx); /* c^4 */
    veil_mb_load(t1, v, ctx);
    int rc = veil_mb_powm(t0, t0, es, (x->es_bits + 7) / 8, x->es_bits, ctx);
    if (rc == 0)
        rc = veil_mb_powm(t2, t2, r, (rbits + 7) / 8, rbits, ctx);
    if (rc == 0)
        rc = veil_mb_powm(t1, t1, r, (rbits + 7) / 8, rbits, ctx);
    if (rc == 0) {
        veil_mb_store(ci, t0, ctx);
        veil_mb_store(a, t2, ctx);
        veil_mb_store(b, t1, ctx);
    }
    veil_mb_free(ctx, buf, 3);
    return rc;
}

static veil_status decrypt_group_mb(void *arg, size_t i, size_t n, size_t *failed, veil_err *err)
{
    batch_ctx *x = arg;
    const veil_threshold_key *k = x->k;
    const size_t rbits = nonce_bits(k), rlen = (rbits + 7) / 8;
    const mpz_t *c[VEIL_MB_LANES] = {NULL};
    mpz_t *ci[VEIL_MB_LANES] = {NULL}, *a[VEIL_MB_LANES] = {NULL}, *b[VEIL_MB_LANES] = {NULL};
    const uint8_t *rb[VEIL_MB_LANES];
    mpz_t r[VEIL_MB_LANES], av[VEIL_MB_LANES], bv[VEIL_MB_LANES];
    for (size_t l = 0; l < n; l++) {
        veil_status st = veil_paillier_check_ct(k->pk, x->c[i + l], err);
        if (st != VEIL_OK) {
            *failed = i + l;
            return st;
        }
    }
    uint8_t *bytes = calloc(VEIL_MB_LANES, rlen);
    if (bytes == NULL) {
        *failed = i;
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t l = 0; l < VEIL_MB_LANES; l++) {
        mpz_inits(r[l], av[l], bv[l], NULL);
        rb[l] = bytes + l * rlen;
        if (l >= n)
            continue; /* padding: nonce 0, results not stored */
        c[l] = &x->c[i + l];
        ci[l] = &x->parts[i + l].ci;
        a[l] = &av[l];
        b[l] = &bv[l];
        draw_nonce(r[l], k);
        mpz_export(bytes + l * rlen, NULL, -1, 1, 0, 0, r[l]);
    }
    veil_status st = VEIL_OK;
    if (powers_mb(x, c, ci, a, b, rb, rbits) != 0) {
        *failed = i;
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory (IFMA engine)");
    }
    for (size_t l = 0; l < n && st == VEIL_OK; l++) {
        st = prove(&x->parts[i + l], x->s, x->c[i + l], r[l], av[l], bv[l], err);
        if (st != VEIL_OK)
            *failed = i + l;
    }
    sodium_memzero(bytes, VEIL_MB_LANES * rlen);
    free(bytes);
    for (size_t l = 0; l < VEIL_MB_LANES; l++) {
        veil_mpz_wipe(r[l]);
        mpz_clears(av[l], bv[l], NULL);
    }
    return st;
}

/* 2 Delta s_i as little-endian bytes for veil_mb_powm, padded to the public
 * bound bits(2 Delta) + bits(n^2) (s_i < n^2): malloc'd, NULL when out of
 * memory. Wipe with sodium_memzero before freeing. */
static uint8_t *share_exponent(const veil_threshold_share *s, size_t *bits)
{
    const veil_threshold_key *k = s->key;
    mpz_t e;
    mpz_init(e);
    mpz_mul_ui(e, k->delta, 2);
    *bits = mpz_sizeinbase(e, 2) + mpz_sizeinbase(k->n2, 2);
    uint8_t *b = calloc((*bits + 7) / 8, 1);
    mpz_mul(e, e, s->s);
    if (b != NULL && mpz_sgn(e) > 0)
        mpz_export(b, NULL, -1, 1, 0, 0, e);
    veil_mpz_wipe(e);
    return b;
}

veil_status veil_threshold_partial_decrypt_batch(veil_threshold_partial *out,
                                                 const veil_threshold_share *s, const mpz_t *c,
                                                 size_t count, unsigned threads, veil_err *err)
{
    batch_ctx x = {s, s->key, out, c, NULL, NULL, 0};
    uint8_t *es = NULL;
    /* Read the engine setting once; without memory for the exponent the
     * scalar path runs. */
    if (count > 0 && veil_mb_active() && s->key->pk->mb_ok &&
        (es = share_exponent(s, &x.es_bits)) != NULL) {
        x.mb = &s->key->pk->mb;
        x.es = es;
    }
    size_t failed;
    veil_status st =
        es != NULL ? run_items(decrypt_group_mb, &x, count, VEIL_MB_LANES, threads, &failed, err)
                   : run_items(decrypt_items, &x, count, 1, threads, &failed, err);
    if (es != NULL) {
        sodium_memzero(es, (x.es_bits + 7) / 8);
        free(es);
    }
    if (st != VEIL_OK)
        for (size_t i = 0; i < count; i++) {
            mpz_set_ui(out[i].ci, 0);
            mpz_set_ui(out[i].e, 0);
            mpz_set_ui(out[i].z, 0);
        }
    return st;
}

veil_status veil_threshold_partial_verify_batch(size_t *bad, const veil_threshold_key *k,
                                                const mpz_t *c, const veil_threshold_partial *parts,
                                                size_t count, unsigned threads, veil_err *err)
{
    batch_ctx x = {NULL, k, (veil_threshold_partial *)parts, c, NULL, NULL, 0};
    return run_items(verify_items, &x, count, 1, threads, bad, err);
}
