#define _GNU_SOURCE /* memmem */
/* Tests for threshold Paillier (veil/threshold.h): every t-subset decrypts,
 * fewer than t fail, every kind of bad partial is caught and its party named,
 * bad share files are refused, and the party API needs nothing but a share.
 * Keys are dealt from the fixed safe primes of tests/util/threshold_testkey.h. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "threshold.pb-c.h"
#include "threshold_testkey.h"
#include "veil/ctfile.h"
#include "veil/encrypted.h"
#include "veil/engine.h"
#include "veil/rand.h"
#include "veil/threshold.h"

static mpz_t g_p1, g_q1, g_p2, g_q2;
static veil_threshold_key *g_key;       /* 3-of-5 on key A */
static veil_threshold_share **g_shares; /* its shares */
static char *g_dir;

static int suite_init(void)
{
    veil_err err;
    mpz_inits(g_p1, g_q1, g_p2, g_q2, NULL);
    if (mpz_set_str(g_p1, TK_P1_HEX, 16) != 0 || mpz_set_str(g_q1, TK_Q1_HEX, 16) != 0 ||
        mpz_set_str(g_p2, TK_P2_HEX, 16) != 0 || mpz_set_str(g_q2, TK_Q2_HEX, 16) != 0)
        return -1;
    if (veil_threshold_deal(&g_key, &g_shares, g_p1, g_q1, 5, 3, 1, &err) != VEIL_OK) {
        fprintf(stderr, "deal: %s\n", err.msg);
        return -1;
    }
    g_dir = tu_tempdir();
    return g_dir == NULL ? -1 : 0;
}

static int suite_cleanup(void)
{
    veil_threshold_shares_free(g_shares, 5);
    veil_threshold_key_free(g_key);
    mpz_clears(g_p1, g_q1, g_p2, g_q2, NULL);
    tu_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* c = E(v) for a signed v under k's public key. */
static void encrypt_si(mpz_t c, const veil_threshold_key *k, long v)
{
    veil_err err;
    mpz_t x, m;
    mpz_inits(x, m, NULL);
    mpz_set_si(x, v);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m, veil_threshold_key_pub(k), x, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, veil_threshold_key_pub(k), m, &err), VEIL_OK);
    mpz_clears(x, m, NULL);
}

/* The signed value of residue m. */
static long decode_si(const veil_threshold_key *k, const mpz_t m)
{
    veil_err err;
    mpz_t v;
    mpz_init(v);
    CU_ASSERT_EQUAL(veil_paillier_decode(v, veil_threshold_key_pub(k), m, &err), VEIL_OK);
    long r = mpz_get_si(v);
    mpz_clear(v);
    return r;
}

static void partials_of(veil_threshold_partial *parts, veil_threshold_share **shares,
                        unsigned count, const mpz_t c)
{
    veil_err err;
    for (unsigned i = 0; i < count; i++) {
        veil_threshold_partial_init(&parts[i]);
        veil_status st = veil_threshold_partial_decrypt(&parts[i], shares[i], c, &err);
        CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
        CU_ASSERT_EQUAL(parts[i].index, i + 1);
        CU_ASSERT_EQUAL(
            veil_threshold_partial_verify(veil_threshold_share_key(shares[i]), c, &parts[i], &err),
            VEIL_OK);
    }
}

static void partials_free(veil_threshold_partial *parts, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        veil_threshold_partial_clear(&parts[i]);
}

/* ---- correctness ---- */

static void test_every_3_subset_of_3_of_5_decrypts(void)
{
    veil_err err;
    mpz_t c, m;
    mpz_inits(c, m, NULL);
    encrypt_si(c, g_key, -123456789L);
    veil_threshold_partial all[5], sub[5];
    partials_of(all, g_shares, 5, c);
    unsigned subsets = 0;
    for (unsigned a = 0; a < 5; a++)
        for (unsigned b = a + 1; b < 5; b++)
            for (unsigned d = b + 1; d < 5; d++) {
                sub[0] = all[d]; /* order must not matter */
                sub[1] = all[a];
                sub[2] = all[b];
                mpz_set_ui(m, 0);
                CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, sub, 3, &err), VEIL_OK);
                CU_ASSERT_EQUAL(decode_si(g_key, m), -123456789L);
                subsets++;
            }
    CU_ASSERT_EQUAL(subsets, 10);
    /* more than t: the first t distinct are used */
    CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, all, 5, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(g_key, m), -123456789L);
    partials_free(all, 5);
    mpz_clears(c, m, NULL);
}

static void check_t_of_l(unsigned l, unsigned t, long value)
{
    veil_err err;
    veil_threshold_key *k = NULL;
    veil_threshold_share **sh = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_threshold_deal(&k, &sh, g_p1, g_q1, l, t, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_threshold_key_parties(k), l);
    CU_ASSERT_EQUAL(veil_threshold_key_threshold(k), t);
    mpz_t c, m;
    mpz_inits(c, m, NULL);
    encrypt_si(c, k, value);
    veil_threshold_partial parts[5];
    partials_of(parts, sh, l, c);
    CU_ASSERT_EQUAL(veil_threshold_combine(m, k, parts, l, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(k, m), value);
    CU_ASSERT_NOT_EQUAL(mpz_sgn(m), 0);
    if (t > 1) {
        veil_status st = veil_threshold_combine(m, k, parts, t - 1, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "needs");
        CU_ASSERT_EQUAL(mpz_sgn(m), 0);
    }
    partials_free(parts, l);
    mpz_clears(c, m, NULL);
    veil_threshold_shares_free(sh, l);
    veil_threshold_key_free(k);
}

static void test_1_of_1_key(void)
{
    check_t_of_l(1, 1, 4242);
}

static void test_5_of_5_key(void)
{
    check_t_of_l(5, 5, -77);
}

static void test_t_minus_1_partials_fail(void)
{
    veil_err err;
    mpz_t c, m;
    mpz_inits(c, m, NULL);
    encrypt_si(c, g_key, 99);
    veil_threshold_partial parts[5];
    partials_of(parts, g_shares, 5, c);
    veil_status st = veil_threshold_combine(m, g_key, parts, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO,
                  "2 valid partial decryptions from distinct parties, but "
                  "this key needs 3");
    /* the same party twice does not count twice */
    veil_threshold_partial dup[3] = {parts[0], parts[1], parts[0]};
    st = veil_threshold_combine(m, g_key, dup, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "needs 3");
    partials_free(parts, 5);
    mpz_clears(c, m, NULL);
}

/* Partials of two different ciphertexts do not combine into anything: an
 * error, not a silent 0 or a wrong value. */
static void test_mixed_partials_never_silently_zero(void)
{
    veil_err err;
    mpz_t c1, c2, m;
    mpz_inits(c1, c2, m, NULL);
    encrypt_si(c1, g_key, 1000);
    encrypt_si(c2, g_key, 2000);
    veil_threshold_partial a[5], b[5];
    partials_of(a, g_shares, 5, c1);
    partials_of(b, g_shares, 5, c2);
    veil_threshold_partial mix[3] = {a[0], a[1], b[2]};
    veil_status st = veil_threshold_combine(m, g_key, mix, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "do not combine to a plaintext");
    CU_ASSERT_EQUAL(mpz_sgn(m), 0);
    /* and the real ones give the real, nonzero, values */
    CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, a, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(g_key, m), 1000);
    CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, b + 2, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(g_key, m), 2000);
    partials_free(a, 5);
    partials_free(b, 5);
    mpz_clears(c1, c2, m, NULL);
}

/* ---- bad partials ---- */

static void test_forged_and_corrupted_partials_rejected(void)
{
    veil_err err;
    mpz_t c, n2;
    mpz_inits(c, n2, NULL);
    encrypt_si(c, g_key, 5);
    veil_paillier_pub_n2(n2, veil_threshold_key_pub(g_key));
    veil_threshold_partial p;
    veil_threshold_partial_init(&p);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt(&p, g_shares[1], c, &err), VEIL_OK);

    /* forged value, honest-looking proof */
    mpz_t keep;
    mpz_init_set(keep, p.ci);
    mpz_mul(p.ci, p.ci, c);
    mpz_mod(p.ci, p.ci, n2);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    mpz_set(p.ci, keep);
    CU_ASSERT_EQUAL(veil_threshold_partial_verify(g_key, c, &p, &err), VEIL_OK);
    /* corrupted response, corrupted challenge */
    mpz_add_ui(p.z, p.z, 1);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    mpz_sub_ui(p.z, p.z, 1);
    mpz_combit(p.e, 7);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    mpz_combit(p.e, 7);
    /* the proof is bound to the party index */
    p.index = 3;
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    p.index = 9;
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_INPUT,
                  "outside 1 .. 5");
    p.index = 2;
    /* a value that is not a unit, an oversized response */
    mpz_set_ui(p.ci, 0);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "not a unit");
    mpz_set(p.ci, keep);
    mpz_setbit(p.z, 20000);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "out of range");
    mpz_clear(keep);
    veil_threshold_partial_clear(&p);
    mpz_clears(c, n2, NULL);
}

static void test_partial_for_another_ciphertext_rejected(void)
{
    veil_err err;
    mpz_t c1, c2;
    mpz_inits(c1, c2, NULL);
    encrypt_si(c1, g_key, 5);
    encrypt_si(c2, g_key, 5); /* same plaintext, other ciphertext */
    veil_threshold_partial p;
    veil_threshold_partial_init(&p);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt(&p, g_shares[0], c2, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c1, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    veil_threshold_partial_clear(&p);
    mpz_clears(c1, c2, NULL);
}

/* A share of another dealing of the same n (other polynomial, other v) and
 * a share of another modulus. */
static void test_partial_with_another_keys_share_rejected(void)
{
    veil_err err;
    veil_threshold_key *k2 = NULL, *kb = NULL;
    veil_threshold_share **s2 = NULL, **sb = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_threshold_deal(&k2, &s2, g_p1, g_q1, 5, 3, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_deal(&kb, &sb, g_p2, g_q2, 5, 3, 1, &err), VEIL_OK);
    CU_ASSERT(veil_paillier_pub_equal(veil_threshold_key_pub(k2), veil_threshold_key_pub(g_key)));
    CU_ASSERT(
        memcmp(veil_threshold_key_fingerprint(k2), veil_threshold_key_fingerprint(g_key), 32) != 0);
    mpz_t c;
    mpz_init(c);
    encrypt_si(c, g_key, 31337);
    veil_threshold_partial p;
    veil_threshold_partial_init(&p);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt(&p, s2[3], c, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_threshold_partial_verify(g_key, c, &p, &err), err, VEIL_ERR_CRYPTO,
                  "proof of correct decryption failed");
    /* but it is fine under its own key */
    CU_ASSERT_EQUAL(veil_threshold_partial_verify(k2, c, &p, &err), VEIL_OK);
    /* another modulus: c is not even a ciphertext of that key; use one that is */
    mpz_t cb;
    mpz_init(cb);
    encrypt_si(cb, kb, 31337);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt(&p, sb[3], cb, &err), VEIL_OK);
    veil_status st = veil_threshold_partial_verify(g_key, c, &p, &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_CRYPTO);
    /* a share of another key does not load against this key's index */
    mpz_t s;
    mpz_init(s);
    veil_threshold_share_secret(s, s2[3]);
    veil_threshold_share *bad = NULL;
    st = veil_threshold_share_new(&bad, g_key, 4, s, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "does not match its verification key");
    CU_ASSERT_PTR_NULL(bad);
    veil_mpz_wipe(s);
    veil_threshold_partial_clear(&p);
    mpz_clears(c, cb, NULL);
    veil_threshold_shares_free(s2, 5);
    veil_threshold_shares_free(sb, 5);
    veil_threshold_key_free(k2);
    veil_threshold_key_free(kb);
}

/* ---- result files (per-group sums) ---- */

static const char *const GROUPS[] = {"Beijing", "Wuhan", "Xi'an"};
static const long SUMS[] = {1500050, -20075, 0}; /* at scale 2 */

static void make_result(veil_result *r, const veil_threshold_key *k)
{
    veil_err err;
    veil_result_init(r);
    mpz_t v, bound;
    mpz_inits(v, bound, NULL);
    mpz_set_ui(bound, 100000000);
    veil_enc e;
    veil_enc_init(&e);
    long total = 0;
    for (int i = 0; i < 3; i++) {
        mpz_set_si(v, SUMS[i]);
        total += SUMS[i];
        CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(&e, veil_threshold_key_pub(k), v, 2, bound, &err),
                              VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_result_append(r, GROUPS[i], 0, &e, &err), VEIL_OK);
    }
    mpz_set_si(v, total);
    mpz_mul_ui(bound, bound, 3);
    CU_ASSERT_EQUAL_FATAL(veil_enc_encrypt(&e, veil_threshold_key_pub(k), v, 2, bound, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_result_append(r, NULL, 1, &e, &err), VEIL_OK);
    veil_enc_clear(&e);
    mpz_clears(v, bound, NULL);
}

static void test_result_partials_combine_and_name_parties(void)
{
    veil_err err;
    veil_result r, other;
    make_result(&r, g_key);
    make_result(&other, g_key);
    veil_threshold_partials p[5];
    for (unsigned i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(veil_threshold_partials_make(&p[i], g_shares[i], &r, 2, &err),
                              VEIL_OK);
        CU_ASSERT_EQUAL(p[i].count, 4);
        CU_ASSERT_EQUAL(veil_threshold_partials_check(g_key, &r, &p[i], 2, &err), VEIL_OK);
    }
    mpz_t vals[4];
    for (int i = 0; i < 4; i++)
        mpz_init(vals[i]);
    const veil_threshold_partials *use[3] = {&p[4], &p[0], &p[2]};
    CU_ASSERT_EQUAL(veil_threshold_combine_result(vals, g_key, &r, use, 3, &err), VEIL_OK);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(mpz_get_si(vals[i]), SUMS[i]);
    CU_ASSERT_EQUAL(mpz_get_si(vals[3]), SUMS[0] + SUMS[1] + SUMS[2]);
    TU_ASSERT_ERR(veil_threshold_combine_result(vals, g_key, &r, use, 2, &err), err,
                  VEIL_ERR_CRYPTO, "needs 3");

    /* party 4 tampers with item 2 */
    mpz_add_ui(p[3].items[1].z, p[3].items[1].z, 2);
    TU_ASSERT_ERR(veil_threshold_partials_check(g_key, &r, &p[3], 2, &err), err, VEIL_ERR_CRYPTO,
                  "party 4: proof of correct decryption failed for item 2 (group \"Wuhan\")");
    /* party 2's partials are for another result file */
    TU_ASSERT_ERR(veil_threshold_partials_check(g_key, &other, &p[1], 2, &err), err,
                  VEIL_ERR_CRYPTO, "party 2: the partial decryptions were made for another input");
    /* party 3 claims another key */
    p[2].key_fingerprint[0] ^= 1;
    TU_ASSERT_ERR(veil_threshold_partials_check(g_key, &r, &p[2], 2, &err), err, VEIL_ERR_CRYPTO,
                  "party 3: made with a share of threshold key");
    p[2].key_fingerprint[0] ^= 1;
    /* party 5 swaps its partials of the first two items (digest still
     * right): caught by the proofs, item 1 named */
    veil_threshold_partial tmp = p[4].items[0];
    p[4].items[0] = p[4].items[1];
    p[4].items[1] = tmp;
    TU_ASSERT_ERR(veil_threshold_partials_check(g_key, &r, &p[4], 2, &err), err, VEIL_ERR_CRYPTO,
                  "party 5: proof of correct decryption failed for item 1 (group \"Beijing\")");
    for (int i = 0; i < 4; i++)
        mpz_clear(vals[i]);
    for (unsigned i = 0; i < 5; i++)
        veil_threshold_partials_clear(&p[i]);
    veil_result_clear(&r);
    veil_result_clear(&other);
}

static void test_combine_result_reports_overflow(void)
{
    veil_err err;
    veil_result r;
    make_result(&r, g_key);
    /* shrink the bound of item 1 below its value: overflow, as veil_enc_decrypt */
    mpz_set_ui(r.items[0].value.bound, 10);
    veil_threshold_partials p[3];
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(veil_threshold_partials_make(&p[i], g_shares[i], &r, 1, &err),
                              VEIL_OK);
    mpz_t vals[4];
    for (int i = 0; i < 4; i++)
        mpz_init(vals[i]);
    const veil_threshold_partials *use[3] = {&p[0], &p[1], &p[2]};
    TU_ASSERT_ERR(veil_threshold_combine_result(vals, g_key, &r, use, 3, &err), err,
                  VEIL_ERR_CRYPTO, "item 1 (group \"Beijing\"): overflow");
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(mpz_sgn(vals[i]), 0);
        mpz_clear(vals[i]);
    }
    for (unsigned i = 0; i < 3; i++)
        veil_threshold_partials_clear(&p[i]);
    veil_result_clear(&r);
}

static void test_batch_matches_single(void)
{
    veil_err err;
    enum { N = 7 };
    mpz_t c[N];
    veil_threshold_partial parts[N];
    for (int i = 0; i < N; i++) {
        mpz_init(c[i]);
        encrypt_si(c[i], g_key, 1000 * i - 3000);
        veil_threshold_partial_init(&parts[i]);
    }
    for (unsigned threads = 1; threads <= 3; threads++) {
        CU_ASSERT_EQUAL(veil_threshold_partial_decrypt_batch(parts, g_shares[2], (const mpz_t *)c,
                                                             N, threads, &err),
                        VEIL_OK);
        size_t bad = 99;
        CU_ASSERT_EQUAL(veil_threshold_partial_verify_batch(&bad, g_key, (const mpz_t *)c, parts, N,
                                                            threads, &err),
                        VEIL_OK);
        CU_ASSERT_EQUAL(bad, N);
    }
    mpz_add_ui(parts[5].z, parts[5].z, 1);
    mpz_add_ui(parts[3].z, parts[3].z, 1);
    size_t bad = 99;
    veil_status st =
        veil_threshold_partial_verify_batch(&bad, g_key, (const mpz_t *)c, parts, N, 3, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "item 4: proof of correct decryption failed");
    CU_ASSERT_EQUAL(bad, 3);
    /* a bad ciphertext in a batch names its item and clears the outputs */
    mpz_set_ui(c[2], 0);
    st = veil_threshold_partial_decrypt_batch(parts, g_shares[2], (const mpz_t *)c, N, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "item 3");
    CU_ASSERT_EQUAL(mpz_sgn(parts[0].ci), 0);
    for (int i = 0; i < N; i++) {
        mpz_clear(c[i]);
        veil_threshold_partial_clear(&parts[i]);
    }
}

/* ---- the IFMA engine path of the batch ---- */

enum { EB_MAX = 9 };

/* parts[0..count) of share s from one batch call with engine e; every
 * partial verifies (one at a time and as a batch) and carries s's index. */
static void engine_batch(veil_threshold_partial *parts, const veil_threshold_share *s,
                         const mpz_t *c, size_t count, unsigned threads, veil_engine e)
{
    veil_err err;
    veil_engine saved = veil_engine_selected();
    veil_engine_select(e);
    CU_ASSERT_EQUAL(strcmp(veil_engine_name(), "ifma") == 0, e == VEIL_ENGINE_AUTO);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt_batch(parts, s, c, count, threads, &err),
                          VEIL_OK);
    veil_engine_select(saved);
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_EQUAL(parts[i].index, veil_threshold_share_index(s));
        CU_ASSERT_EQUAL(veil_threshold_partial_verify(g_key, c[i], &parts[i], &err), VEIL_OK);
    }
    size_t bad = 99;
    CU_ASSERT_EQUAL(veil_threshold_partial_verify_batch(&bad, g_key, c, parts, count, 1, &err),
                    VEIL_OK);
    CU_ASSERT_EQUAL(bad, count);
}

/* With the engine, batches of 1, 8 and 9 (a full group and a partial one,
 * on one and two threads) give c_i equal to the single call's bit for bit
 * and proofs that verify; the scalar engine gives the same c_i; three
 * parties' engine batches combine to the plaintexts. */
static void test_batch_engine_partials(void)
{
    if (!veil_engine_ifma_supported()) {
        printf("\n  skipped: this CPU has no AVX512-IFMA\n");
        return;
    }
    veil_err err;
    mpz_t c[EB_MAX], m;
    veil_threshold_partial single[EB_MAX], eng[3][EB_MAX], scal[EB_MAX];
    long values[EB_MAX];
    mpz_init(m);
    for (int i = 0; i < EB_MAX; i++) {
        mpz_init(c[i]);
        values[i] = (i % 2 ? -1 : 1) * (123457L * i + 11);
        encrypt_si(c[i], g_key, values[i]);
        veil_threshold_partial_init(&single[i]);
        veil_threshold_partial_init(&scal[i]);
        for (int p = 0; p < 3; p++)
            veil_threshold_partial_init(&eng[p][i]);
    }
    for (int i = 0; i < EB_MAX; i++)
        CU_ASSERT_EQUAL_FATAL(veil_threshold_partial_decrypt(&single[i], g_shares[0], c[i], &err),
                              VEIL_OK);
    static const size_t counts[] = {1, 8, 9};
    for (size_t j = 0; j < 3; j++) {
        size_t count = counts[j];
        engine_batch(eng[0], g_shares[0], (const mpz_t *)c, count, count == 9 ? 2 : 1,
                     VEIL_ENGINE_AUTO);
        for (size_t i = 0; i < count; i++) {
            CU_ASSERT(mpz_cmp(eng[0][i].ci, single[i].ci) == 0);
            /* fresh nonces: the proofs differ from the single call's */
            CU_ASSERT(mpz_cmp(eng[0][i].z, single[i].z) != 0);
        }
    }
    engine_batch(scal, g_shares[0], (const mpz_t *)c, EB_MAX, 2, VEIL_ENGINE_SCALAR);
    for (int i = 0; i < EB_MAX; i++)
        CU_ASSERT(mpz_cmp(scal[i].ci, single[i].ci) == 0);
    engine_batch(eng[1], g_shares[3], (const mpz_t *)c, EB_MAX, 1, VEIL_ENGINE_AUTO);
    engine_batch(eng[2], g_shares[4], (const mpz_t *)c, EB_MAX, 3, VEIL_ENGINE_AUTO);
    for (int i = 0; i < EB_MAX; i++) {
        veil_threshold_partial three[3] = {eng[2][i], eng[0][i], eng[1][i]};
        mpz_set_ui(m, 0);
        CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, three, 3, &err), VEIL_OK);
        CU_ASSERT_EQUAL(decode_si(g_key, m), values[i]);
    }
    /* a bad ciphertext in the partial group (item 9), then in the full
     * group (item 4): named, outputs cleared */
    veil_engine saved = veil_engine_selected();
    veil_engine_select(VEIL_ENGINE_AUTO);
    mpz_set_ui(c[8], 0);
    veil_status st =
        veil_threshold_partial_decrypt_batch(eng[0], g_shares[0], (const mpz_t *)c, 9, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "item 9: ciphertext is out of range");
    for (int i = 0; i < EB_MAX; i++)
        CU_ASSERT(mpz_sgn(eng[0][i].ci) == 0 && mpz_sgn(eng[0][i].z) == 0);
    veil_paillier_pub_n(c[3], veil_threshold_key_pub(g_key));
    st = veil_threshold_partial_decrypt_batch(eng[1], g_shares[3], (const mpz_t *)c, 9, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "item 4: ciphertext is not invertible");
    CU_ASSERT(mpz_sgn(eng[1][0].ci) == 0);
    veil_engine_select(saved);
    for (int i = 0; i < EB_MAX; i++) {
        mpz_clear(c[i]);
        veil_threshold_partial_clear(&single[i]);
        veil_threshold_partial_clear(&scal[i]);
        for (int p = 0; p < 3; p++)
            veil_threshold_partial_clear(&eng[p][i]);
    }
    mpz_clear(m);
}

/* ---- dealing ---- */

static void test_safe_prime_and_deal_checks(void)
{
    veil_err err;
    mpz_t p, h;
    mpz_inits(p, h, NULL);
    CU_ASSERT_EQUAL(veil_threshold_safe_prime(p, 256, NULL, NULL, 0, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL(mpz_sizeinbase(p, 2), 256);
    CU_ASSERT(mpz_tstbit(p, 254));
    mpz_sub_ui(h, p, 1);
    mpz_fdiv_q_2exp(h, h, 1);
    CU_ASSERT(mpz_probab_prime_p(p, 30) && mpz_probab_prime_p(h, 30));

    veil_threshold_key *k = NULL;
    veil_threshold_share **sh = NULL;
    TU_ASSERT_ERR(veil_threshold_deal(&k, &sh, g_p1, g_q1, 3, 4, 1, &err), err, VEIL_ERR_USAGE,
                  "threshold 4 is outside 1 .. 3");
    TU_ASSERT_ERR(veil_threshold_deal(&k, &sh, g_p1, g_q1, 65, 2, 1, &err), err, VEIL_ERR_USAGE,
                  "parties 65");
    TU_ASSERT_ERR(veil_threshold_deal(&k, &sh, g_p1, g_p1, 3, 2, 1, &err), err, VEIL_ERR_INPUT,
                  "equal");
    /* a prime that is not safe: p + 2 steps to the next prime */
    mpz_nextprime(h, g_p1);
    mpz_sub_ui(p, h, 1);
    mpz_fdiv_q_2exp(p, p, 1);
    if (!mpz_probab_prime_p(p, 30)) {
        TU_ASSERT_ERR(veil_threshold_deal(&k, &sh, h, g_q1, 3, 2, 1, &err), err, VEIL_ERR_CRYPTO,
                      "p is not a safe prime");
    }
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NULL(sh);
    /* 16 parties (the minimum), threshold 9 */
    CU_ASSERT_EQUAL_FATAL(veil_threshold_deal(&k, &sh, g_p2, g_q2, 16, 9, 1, &err), VEIL_OK);
    mpz_t c, m;
    mpz_inits(c, m, NULL);
    encrypt_si(c, k, 16016);
    veil_threshold_partial parts[9];
    for (unsigned i = 0; i < 9; i++) {
        veil_threshold_partial_init(&parts[i]);
        CU_ASSERT_EQUAL(veil_threshold_partial_decrypt(&parts[i], sh[15 - i], c, &err), VEIL_OK);
    }
    CU_ASSERT_EQUAL(veil_threshold_combine(m, k, parts, 9, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(k, m), 16016);
    partials_free(parts, 9);
    mpz_clears(c, m, p, h, NULL);
    veil_threshold_shares_free(sh, 16);
    veil_threshold_key_free(k);
}

/* ---- files ---- */

static char *file_in(const char *name)
{
    return tu_path(g_dir, name);
}

static void test_key_and_partials_files_round_trip(void)
{
    veil_err err;
    char *kp = file_in("t.tkey"), *pp = file_in("p.vpd");
    CU_ASSERT_EQUAL_FATAL(veil_threshold_key_save(kp, g_key, &err), VEIL_OK);
    veil_threshold_key *k = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_threshold_key_load(&k, kp, &err), VEIL_OK);
    CU_ASSERT(
        memcmp(veil_threshold_key_fingerprint(k), veil_threshold_key_fingerprint(g_key), 32) == 0);
    CU_ASSERT(veil_paillier_pub_is_djn(veil_threshold_key_pub(k)));
    struct stat sb;
    CU_ASSERT(stat(kp, &sb) == 0 && (sb.st_mode & 0777) == 0644);

    veil_result r;
    make_result(&r, g_key);
    veil_threshold_partials p, q;
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partials_make(&p, g_shares[1], &r, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partials_save(pp, &p, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_partials_load(&q, pp, &err), VEIL_OK);
    CU_ASSERT_EQUAL(q.index, 2);
    CU_ASSERT_EQUAL(q.count, 4);
    CU_ASSERT(mpz_cmp(q.items[3].z, p.items[3].z) == 0);
    CU_ASSERT_EQUAL(veil_threshold_partials_check(k, &r, &q, 0, &err), VEIL_OK);
    /* a key file is not a partials file, and vice versa */
    veil_threshold_partials_clear(&q);
    TU_ASSERT_ERR(veil_threshold_partials_load(&q, kp, &err), err, VEIL_ERR_USAGE,
                  "holds threshold key parameters, not partial decryptions");
    veil_threshold_key *k2 = NULL;
    TU_ASSERT_ERR(veil_threshold_key_load(&k2, pp, &err), err, VEIL_ERR_USAGE,
                  "holds partial decryptions");
    veil_threshold_partials_clear(&p);
    veil_result_clear(&r);
    veil_threshold_key_free(k);
    free(kp);
    free(pp);
}

/* The party API: a share file alone decrypts (with t - 1 others); it holds
 * neither p nor q nor d, and one share alone cannot decrypt. */
static void test_share_file_alone_is_enough_and_holds_no_private_key(void)
{
    veil_err err;
    char *sp[3] = {file_in("s1.tsh"), file_in("s2.tsh"), file_in("s3.tsh")};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(veil_threshold_share_save(sp[i], g_shares[i], NULL, &err), VEIL_OK);
    struct stat sb;
    CU_ASSERT(stat(sp[0], &sb) == 0 && (sb.st_mode & 0777) == 0600);
    /* neither factor appears in the file */
    size_t len = 0;
    char *raw = tu_read_file(sp[0], &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    const mpz_t *fac[2] = {&g_p1, &g_q1};
    for (int f = 0; f < 2; f++) {
        uint8_t be[128];
        size_t n = 0;
        mpz_export(be, &n, 1, 1, 1, 0, *fac[f]);
        CU_ASSERT(memmem(raw, len, be, 16) == NULL);
    }
    free(raw);

    mpz_t c, m;
    mpz_inits(c, m, NULL);
    encrypt_si(c, g_key, 271828);
    veil_threshold_partial parts[3];
    for (int i = 0; i < 3; i++) {
        veil_threshold_share *s = NULL;
        CU_ASSERT_EQUAL_FATAL(veil_threshold_share_load(&s, sp[i], NULL, NULL, &err), VEIL_OK);
        CU_ASSERT_EQUAL(veil_threshold_share_index(s), (unsigned)i + 1);
        veil_threshold_partial_init(&parts[i]);
        CU_ASSERT_EQUAL(veil_threshold_partial_decrypt(&parts[i], s, c, &err), VEIL_OK);
        if (i == 0) {
            /* one share alone: no plaintext */
            TU_ASSERT_ERR(veil_threshold_combine(m, veil_threshold_share_key(s), parts, 1, &err),
                          err, VEIL_ERR_CRYPTO, "needs 3");
        }
        veil_threshold_share_free(s);
    }
    CU_ASSERT_EQUAL(veil_threshold_combine(m, g_key, parts, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(decode_si(g_key, m), 271828);
    partials_free(parts, 3);
    mpz_clears(c, m, NULL);
    for (int i = 0; i < 3; i++)
        free(sp[i]);
}

static void test_sealed_share(void)
{
    veil_err err;
    uint8_t pk[32], sk[32], pk2[32], sk2[32], lpk[32], lsk[32];
    CU_ASSERT_EQUAL_FATAL(veil_party_keygen(pk, sk, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_party_keygen(pk2, sk2, &err), VEIL_OK);
    char *pub = file_in("dept.ppk"), *sec = file_in("dept.psk"), *sp = file_in("sealed.tsh");
    CU_ASSERT_EQUAL_FATAL(veil_party_pub_save(pub, pk, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_party_secret_save(sec, pk, sk, &err), VEIL_OK);
    struct stat sb;
    CU_ASSERT(stat(sec, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CU_ASSERT_EQUAL_FATAL(veil_party_pub_load(lpk, pub, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_party_secret_load(lpk, lsk, sec, &err), VEIL_OK);
    CU_ASSERT(memcmp(lpk, pk, 32) == 0 && memcmp(lsk, sk, 32) == 0);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_share_save(sp, g_shares[4], lpk, &err), VEIL_OK);

    veil_threshold_share *s = NULL;
    TU_ASSERT_ERR(veil_threshold_share_load(&s, sp, NULL, NULL, &err), err, VEIL_ERR_USAGE,
                  "sealed to a department key");
    TU_ASSERT_ERR(veil_threshold_share_load(&s, sp, pk2, sk2, &err), err, VEIL_ERR_CRYPTO,
                  "sealed to another department's key");
    TU_ASSERT_ERR(veil_threshold_share_load(&s, sp, pk, sk2, &err), err, VEIL_ERR_CRYPTO,
                  "cannot open the sealed share");
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL_FATAL(veil_threshold_share_load(&s, sp, lpk, lsk, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_threshold_share_index(s), 5);
    mpz_t a, b;
    mpz_inits(a, b, NULL);
    veil_threshold_share_secret(a, s);
    veil_threshold_share_secret(b, g_shares[4]);
    CU_ASSERT(mpz_cmp(a, b) == 0);
    veil_mpz_wipe(a);
    veil_mpz_wipe(b);
    veil_threshold_share_free(s);
    free(pub);
    free(sec);
    free(sp);
}

/* Rewrites a clear share file through protobuf-c with `edit` applied. */
static void write_edited_share(const char *path, const char *src,
                               void (*edit)(Veil__ThresholdFile *tf))
{
    size_t len = 0;
    char *raw = tu_read_file(src, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    Veil__ThresholdFile *tf = veil__threshold_file__unpack(NULL, len - 8, (uint8_t *)raw + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tf);
    edit(tf);
    size_t plen = veil__threshold_file__get_packed_size(tf);
    uint8_t *out = malloc(plen + 8);
    memcpy(out, raw, 8);
    veil__threshold_file__pack(tf, out + 8);
    CU_ASSERT_EQUAL(tu_write_file(path, out, plen + 8), 0);
    veil__threshold_file__free_unpacked(tf, NULL);
    free(out);
    free(raw);
}

static void edit_version(Veil__ThresholdFile *tf)
{
    tf->version = 2;
}
static void edit_share_version(Veil__ThresholdFile *tf)
{
    tf->share->version = 7;
}
static void edit_index(Veil__ThresholdFile *tf)
{
    tf->share->index = 9;
}
static void edit_index_zero(Veil__ThresholdFile *tf)
{
    tf->share->index = 0;
}
static void edit_other_index(Veil__ThresholdFile *tf)
{
    tf->share->index = 2;
}
static void edit_fingerprint(Veil__ThresholdFile *tf)
{
    tf->share->key_fingerprint.data[5] ^= 0x40;
}
static void edit_vk(Veil__ThresholdFile *tf)
{
    /* swap two verification keys: the fingerprint no longer matches */
    ProtobufCBinaryData t = tf->share->key->verification_keys[0];
    tf->share->key->verification_keys[0] = tf->share->key->verification_keys[1];
    tf->share->key->verification_keys[1] = t;
}

static void test_bad_share_files_rejected(void)
{
    veil_err err;
    char *good = file_in("good.tsh"), *bad = file_in("bad.tsh");
    CU_ASSERT_EQUAL_FATAL(veil_threshold_share_save(good, g_shares[0], NULL, &err), VEIL_OK);
    size_t len = 0;
    char *raw = tu_read_file(good, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    veil_threshold_share *s = NULL;

    /* truncated: in the protobuf, and inside the magic */
    CU_ASSERT_EQUAL(tu_write_file(bad, raw, len - 40), 0);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "truncated");
    CU_ASSERT(strstr(err.msg, bad) != NULL);
    CU_ASSERT_EQUAL(tu_write_file(bad, raw, 5), 0);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "truncated");
    /* an empty file, a file of another kind */
    CU_ASSERT_EQUAL(tu_write_file(bad, "", 0), 0);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "not a veil threshold file");
    /* wrong format version in the magic, in the file, in the share */
    raw[7] = 2;
    CU_ASSERT_EQUAL(tu_write_file(bad, raw, len), 0);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "format version 2 is not supported");
    raw[7] = 1;
    write_edited_share(bad, good, edit_version);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "version 2 is not supported");
    write_edited_share(bad, good, edit_share_version);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "share version 7 is not supported");
    /* index out of range, index of another party */
    write_edited_share(bad, good, edit_index);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "share index 9 is outside 1 .. 5");
    write_edited_share(bad, good, edit_index_zero);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_INPUT,
                  "share index 0 is outside 1 .. 5");
    write_edited_share(bad, good, edit_other_index);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_CRYPTO,
                  "share 2 does not match its verification key");
    /* wrong key fingerprint; parameters altered under the fingerprint */
    write_edited_share(bad, good, edit_fingerprint);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_CRYPTO,
                  "wrong key fingerprint");
    write_edited_share(bad, good, edit_vk);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, bad, NULL, NULL, &err), err, VEIL_ERR_CRYPTO,
                  "wrong key fingerprint");
    /* a key file where a share is expected; a missing file */
    char *kp = file_in("k.tkey");
    CU_ASSERT_EQUAL_FATAL(veil_threshold_key_save(kp, g_key, &err), VEIL_OK);
    TU_ASSERT_ERR(veil_threshold_share_load(&s, kp, NULL, NULL, &err), err, VEIL_ERR_USAGE,
                  "holds threshold key parameters, not a share");
    char *missing = file_in("missing.tsh");
    veil_status st = veil_threshold_share_load(&s, missing, NULL, NULL, &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_IO);
    CU_ASSERT_PTR_NULL(s);
    free(missing);
    free(kp);
    free(raw);
    free(good);
    free(bad);
}

static void test_parse_garbage_never_crashes(void)
{
    veil_err err;
    uint8_t buf[600];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(round * 3) % sizeof buf;
        veil_rand_bytes(buf, len);
        if (len >= 8)
            memcpy(buf, "VEILTHR\x01", 8);
        veil_threshold_share *s = NULL;
        veil_threshold_key *k = NULL;
        veil_threshold_partials p;
        CU_ASSERT_NOT_EQUAL(veil_threshold_share_parse(&s, buf, len, "g", NULL, NULL, &err),
                            VEIL_OK);
        CU_ASSERT_NOT_EQUAL(veil_threshold_key_parse(&k, buf, len, "g", &err), VEIL_OK);
        CU_ASSERT_NOT_EQUAL(veil_threshold_partials_parse(&p, buf, len, "g", &err), VEIL_OK);
        veil_threshold_partials_clear(&p);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"every 3-subset of a 3-of-5 key decrypts", test_every_3_subset_of_3_of_5_decrypts},
        {"1-of-1 key", test_1_of_1_key},
        {"5-of-5 key", test_5_of_5_key},
        {"t-1 partials fail cleanly", test_t_minus_1_partials_fail},
        {"mixed partials are an error, never a silent 0", test_mixed_partials_never_silently_zero},
        {"forged and corrupted partials rejected", test_forged_and_corrupted_partials_rejected},
        {"partial for another ciphertext rejected", test_partial_for_another_ciphertext_rejected},
        {"partial with another key's share rejected",
         test_partial_with_another_keys_share_rejected},
        {"result partials combine and bad parties are named",
         test_result_partials_combine_and_name_parties},
        {"combine_result reports overflow", test_combine_result_reports_overflow},
        {"batch matches single, lowest failing item", test_batch_matches_single},
        {"engine batch: c_i equal the scalar path's, proofs verify, combine (1, 8, 9 items)",
         test_batch_engine_partials},
        {"safe primes, deal checks, 9-of-16", test_safe_prime_and_deal_checks},
        {"key and partials files round trip", test_key_and_partials_files_round_trip},
        {"a share file alone decrypts and holds no private key",
         test_share_file_alone_is_enough_and_holds_no_private_key},
        {"sealed share", test_sealed_share},
        {"bad share files rejected", test_bad_share_files_rejected},
        {"garbage input never crashes the parsers", test_parse_garbage_never_crashes},
        {NULL, NULL},
    };
    return tu_main("threshold", suite_init, suite_cleanup, tests);
}
