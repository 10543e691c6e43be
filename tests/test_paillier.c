/* Paillier core: known answers, round trips, homomorphisms, validation. */
#include <stdlib.h>
#include <string.h>

#include "kat_paillier.h"
#include "testutil.h"
#include "veil/paillier.h"
#include "veil/rand.h"

static veil_paillier_priv *key_tb;  /* fixed key, textbook randomizers */
static veil_paillier_priv *key_djn; /* same modulus with a DJN base */

static int suite_init(void)
{
    key_tb = tu_fixed_key(0);
    key_djn = tu_fixed_key(1);
    return 0;
}

static int suite_cleanup(void)
{
    veil_paillier_priv_free(key_tb);
    veil_paillier_priv_free(key_djn);
    return 0;
}

/* Independent textbook decryption: L(c^lambda mod n^2) * mu mod n. */
static void reference_decrypt(mpz_t m, const mpz_t c)
{
    mpz_t p, q, n, n2, lam, mu, t;
    mpz_inits(n, n2, lam, mu, t, NULL);
    mpz_init_set_str(p, kat_p, 16);
    mpz_init_set_str(q, kat_q, 16);
    mpz_mul(n, p, q);
    mpz_mul(n2, n, n);
    mpz_sub_ui(p, p, 1);
    mpz_sub_ui(q, q, 1);
    mpz_lcm(lam, p, q);
    mpz_add_ui(t, n, 1);
    mpz_powm(t, t, lam, n2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, n);
    mpz_invert(mu, t, n);
    mpz_powm(t, c, lam, n2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, n);
    mpz_mul(t, t, mu);
    mpz_mod(m, t, n);
    mpz_clears(p, q, n, n2, lam, mu, t, NULL);
}

static void test_known_answer_decryption(void)
{
    veil_err err;
    mpz_t m, c, want;
    mpz_inits(m, c, want, NULL);
    for (size_t i = 0; i < sizeof kat_vectors / sizeof kat_vectors[0]; i++) {
        mpz_set_str(c, kat_vectors[i].c, 16);
        mpz_set_str(want, kat_vectors[i].m, 16);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(m, key_tb, c, &err), VEIL_OK);
        CU_ASSERT(mpz_cmp(m, want) == 0);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(m, key_djn, c, &err), VEIL_OK);
        CU_ASSERT(mpz_cmp(m, want) == 0);
    }
    mpz_clears(m, c, want, NULL);
}

static void test_known_answer_fingerprint(void)
{
    char hex[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(hex, veil_paillier_priv_pub(key_tb));
    CU_ASSERT_STRING_EQUAL(hex, kat_fingerprint);
    /* The DJN base is not part of the key's identity. */
    veil_paillier_pub_fingerprint_hex(hex, veil_paillier_priv_pub(key_djn));
    CU_ASSERT_STRING_EQUAL(hex, kat_fingerprint);
    CU_ASSERT_EQUAL(veil_paillier_pub_bits(veil_paillier_priv_pub(key_tb)), 2048);
}

/* Encrypts m with `enc`, then checks both veil's CRT decryption and the
 * independent reference decryption return m. */
static void check_round_trip(const veil_paillier_priv *sk, const mpz_t m, int textbook)
{
    veil_err err;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    mpz_t c, d;
    mpz_inits(c, d, NULL);
    veil_status st = textbook ? veil_paillier_encrypt_textbook(c, pk, m, &err)
                              : veil_paillier_encrypt(c, pk, m, &err);
    CU_ASSERT_EQUAL_FATAL(st, VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_check_ct(pk, c, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(d, sk, c, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(d, m) == 0);
    reference_decrypt(d, c);
    CU_ASSERT(mpz_cmp(d, m) == 0);
    mpz_clears(c, d, NULL);
}

static void test_round_trip_random_textbook_and_djn(void)
{
    mpz_t n, m;
    mpz_inits(n, m, NULL);
    veil_paillier_pub_n(n, veil_paillier_priv_pub(key_tb));
    for (int i = 0; i < 20; i++) {
        veil_rand_mpz_below(m, n);
        check_round_trip(key_tb, m, 0);
        check_round_trip(key_djn, m, 0);
        check_round_trip(key_djn, m, 1);
    }
    /* Edge residues. */
    mpz_set_ui(m, 0);
    check_round_trip(key_djn, m, 0);
    mpz_sub_ui(m, n, 1);
    check_round_trip(key_djn, m, 0);
    mpz_clears(n, m, NULL);
}

static void test_encrypt_refuses_residue_outside_range(void)
{
    veil_err err;
    mpz_t n, c;
    mpz_inits(n, c, NULL);
    veil_paillier_pub_n(n, veil_paillier_priv_pub(key_djn));
    veil_status st = veil_paillier_encrypt(c, veil_paillier_priv_pub(key_djn), n, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "outside [0, n)");
    mpz_set_si(n, -1);
    st = veil_paillier_encrypt(c, veil_paillier_priv_pub(key_djn), n, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "outside [0, n)");
    mpz_clears(n, c, NULL);
}

/* The DJN randomizer hs^a is an n-th residue: rho^lambda = 1 mod n^2, so a
 * ciphertext decrypts; and randomizers never repeat. */
static void test_djn_randomizers_are_fresh_nth_residues(void)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key_djn);
    enum { N = 200 };
    mpz_t rho[N], d;
    mpz_init(d);
    for (int i = 0; i < N; i++) {
        mpz_init(rho[i]);
        veil_paillier_randomizer(rho[i], pk);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            CU_ASSERT(mpz_cmp(rho[i], rho[j]) != 0);
    for (int i = 0; i < 5; i++) {
        reference_decrypt(d, rho[i]); /* E(0) with randomizer rho */
        CU_ASSERT(mpz_sgn(d) == 0);
    }
    for (int i = 0; i < N; i++)
        mpz_clear(rho[i]);
    mpz_clear(d);
}

static void test_homomorphic_operations(void)
{
    veil_err err;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key_djn);
    mpz_t a, b, ca, cb, r, d, want, k, ma, mb;
    mpz_inits(a, b, ca, cb, r, d, want, k, ma, mb, NULL);
    mpz_set_str(a, "-123456789012345678901234567", 10);
    mpz_set_str(b, "987654321", 10);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(ma, pk, a, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(mb, pk, b, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(ca, pk, ma, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(cb, pk, mb, &err), VEIL_OK);

#define DECODED_EQUALS(ct, expect)                                                                 \
    do {                                                                                           \
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decrypt(d, key_djn, (ct), &err), VEIL_OK);             \
        CU_ASSERT_EQUAL_FATAL(veil_paillier_decode(d, pk, d, &err), VEIL_OK);                      \
        CU_ASSERT(mpz_cmp(d, (expect)) == 0);                                                      \
    } while (0)

    veil_paillier_add(r, pk, ca, cb);
    mpz_add(want, a, b);
    DECODED_EQUALS(r, want);

    CU_ASSERT_EQUAL(veil_paillier_sub(r, pk, ca, cb, &err), VEIL_OK);
    mpz_sub(want, a, b);
    DECODED_EQUALS(r, want);

    mpz_set_si(k, -1000);
    veil_paillier_add_plain(r, pk, cb, k);
    mpz_add(want, b, k);
    DECODED_EQUALS(r, want);

    long scalars[] = {0, 1, -1, 7, -7, 1000000007L, -123456789L};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        mpz_set_si(k, scalars[i]);
        CU_ASSERT_EQUAL(veil_paillier_mul_scalar(r, pk, ca, k, &err), VEIL_OK);
        mpz_mul(want, a, k);
        DECODED_EQUALS(r, want);
    }
    /* A scalar larger than n acts modulo n. */
    veil_paillier_pub_n(k, pk);
    mpz_add_ui(k, k, 3);
    CU_ASSERT_EQUAL(veil_paillier_mul_scalar(r, pk, cb, k, &err), VEIL_OK);
    mpz_mul_ui(want, b, 3);
    DECODED_EQUALS(r, want);

    /* Aliasing: result in the first operand. */
    mpz_set(r, ca);
    veil_paillier_add(r, pk, r, cb);
    mpz_add(want, a, b);
    DECODED_EQUALS(r, want);

    /* Re-randomizing changes the ciphertext, not the plaintext. */
    veil_paillier_rerandomize(r, pk, ca);
    CU_ASSERT(mpz_cmp(r, ca) != 0);
    DECODED_EQUALS(r, a);
#undef DECODED_EQUALS
    mpz_clears(a, b, ca, cb, r, d, want, k, ma, mb, NULL);
}

static void test_signed_encoding_boundaries(void)
{
    veil_err err;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key_tb);
    mpz_t n, max, v, m, back;
    mpz_inits(n, max, v, m, back, NULL);
    veil_paillier_pub_n(n, pk);
    veil_paillier_pub_max_int(max, pk);
    /* max_int = n // 3 - 1, as python-paillier. */
    mpz_fdiv_q_ui(v, n, 3);
    mpz_sub_ui(v, v, 1);
    CU_ASSERT(mpz_cmp(v, max) == 0);

    mpz_set(v, max);
    CU_ASSERT_EQUAL(veil_paillier_encode(m, pk, v, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(m, max) == 0);
    CU_ASSERT_EQUAL(veil_paillier_decode(back, pk, m, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(back, v) == 0);

    mpz_neg(v, max);
    CU_ASSERT_EQUAL(veil_paillier_encode(m, pk, v, &err), VEIL_OK);
    mpz_sub(back, n, max);
    CU_ASSERT(mpz_cmp(m, back) == 0);
    CU_ASSERT_EQUAL(veil_paillier_decode(back, pk, m, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(back, v) == 0);

    mpz_add_ui(v, max, 1);
    TU_ASSERT_ERR(veil_paillier_encode(m, pk, v, &err), err, VEIL_ERR_INPUT, "too large");
    mpz_neg(v, v);
    TU_ASSERT_ERR(veil_paillier_encode(m, pk, v, &err), err, VEIL_ERR_INPUT, "too large");

    /* Residues in the gap decode to an overflow error, never to garbage. */
    mpz_add_ui(m, max, 1);
    TU_ASSERT_ERR(veil_paillier_decode(v, pk, m, &err), err, VEIL_ERR_CRYPTO, "overflow");
    mpz_sub(m, n, max);
    mpz_sub_ui(m, m, 1);
    TU_ASSERT_ERR(veil_paillier_decode(v, pk, m, &err), err, VEIL_ERR_CRYPTO, "overflow");
    mpz_clears(n, max, v, m, back, NULL);
}

static void test_ciphertext_validation(void)
{
    veil_err err;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(key_tb);
    mpz_t c, n2, m;
    mpz_inits(c, n2, m, NULL);
    veil_paillier_pub_n2(n2, pk);
    mpz_set_ui(c, 0);
    TU_ASSERT_ERR(veil_paillier_check_ct(pk, c, &err), err, VEIL_ERR_CRYPTO, "out of range");
    TU_ASSERT_ERR(veil_paillier_decrypt(m, key_tb, c, &err), err, VEIL_ERR_CRYPTO, "out of range");
    mpz_set(c, n2);
    TU_ASSERT_ERR(veil_paillier_check_ct(pk, c, &err), err, VEIL_ERR_CRYPTO, "out of range");
    mpz_add_ui(c, n2, 5);
    TU_ASSERT_ERR(veil_paillier_check_ct(pk, c, &err), err, VEIL_ERR_CRYPTO, "out of range");
    mpz_set_si(c, -5);
    TU_ASSERT_ERR(veil_paillier_check_ct(pk, c, &err), err, VEIL_ERR_CRYPTO, "out of range");
    /* A multiple of p is in range but not a unit. */
    mpz_set_str(c, kat_p, 16);
    mpz_mul_ui(c, c, 12345);
    TU_ASSERT_ERR(veil_paillier_check_ct(pk, c, &err), err, VEIL_ERR_CRYPTO, "shares a factor");
    TU_ASSERT_ERR(veil_paillier_decrypt(m, key_tb, c, &err), err, VEIL_ERR_CRYPTO,
                  "shares a factor");
    mpz_set_ui(c, 1);
    CU_ASSERT_EQUAL(veil_paillier_check_ct(pk, c, &err), VEIL_OK);
    mpz_clears(c, n2, m, NULL);
}

static void test_ciphertext_of_another_key_does_not_decrypt_to_the_plaintext(void)
{
    veil_err err;
    veil_paillier_priv *other = tu_random_key(2048, 1);
    mpz_t m, c, d;
    mpz_inits(m, c, d, NULL);
    mpz_set_ui(m, 424242);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, veil_paillier_priv_pub(other), m, &err),
                          VEIL_OK);
    CU_ASSERT_FALSE(
        veil_paillier_pub_equal(veil_paillier_priv_pub(other), veil_paillier_priv_pub(key_tb)));
    /* Either refused as out of range or decrypts to something else. */
    if (veil_paillier_decrypt(d, key_tb, c, &err) == VEIL_OK)
        CU_ASSERT(mpz_cmp(d, m) != 0);
    mpz_clears(m, c, d, NULL);
    veil_paillier_priv_free(other);
}

static void check_generated_key(unsigned bits)
{
    veil_paillier_priv *sk = tu_random_key(bits, 1);
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    mpz_t n, p, q, d, m;
    mpz_inits(n, p, q, d, m, NULL);
    veil_paillier_pub_n(n, pk);
    veil_paillier_priv_p(p, sk);
    veil_paillier_priv_q(q, sk);
    CU_ASSERT_EQUAL(mpz_sizeinbase(n, 2), bits);
    CU_ASSERT_EQUAL(veil_paillier_pub_bits(pk), bits);
    CU_ASSERT_EQUAL(mpz_sizeinbase(p, 2), bits / 2);
    CU_ASSERT_EQUAL(mpz_sizeinbase(q, 2), bits / 2);
    mpz_mul(d, p, q);
    CU_ASSERT(mpz_cmp(d, n) == 0);
    CU_ASSERT(mpz_probab_prime_p(p, 30) > 0);
    CU_ASSERT(mpz_probab_prime_p(q, 30) > 0);
    mpz_sub(d, p, q);
    mpz_abs(d, d);
    CU_ASSERT(mpz_sizeinbase(d, 2) > bits / 2 - 100);
    CU_ASSERT(veil_paillier_pub_is_djn(pk));
    mpz_set_ui(m, 77);
    veil_err err;
    CU_ASSERT_EQUAL(veil_paillier_encrypt(d, pk, m, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(d, sk, d, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_ui(d, 77) == 0);
    mpz_clears(n, p, q, d, m, NULL);
    veil_paillier_priv_free(sk);
}

static void test_keygen_sizes(void)
{
    check_generated_key(2048);
    check_generated_key(3072);
    check_generated_key(4096);
}

static void test_keygen_refuses_unsupported_size(void)
{
    veil_err err;
    veil_paillier_priv *sk = NULL;
    TU_ASSERT_ERR(veil_paillier_keygen(&sk, 1024, 1, &err), err, VEIL_ERR_USAGE,
                  "key size 1024 is not supported");
    CU_ASSERT_PTR_NULL(sk);
}

static void test_public_key_validation(void)
{
    veil_err err;
    veil_paillier_pub *pk = NULL;
    mpz_t n, p, hs;
    mpz_inits(n, hs, NULL);
    mpz_init_set_str(p, kat_p, 16);

    mpz_setbit(n, 2047); /* 2^2047: even */
    TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, NULL, &err), err, VEIL_ERR_CRYPTO, "even");
    mpz_mul(n, p, p); /* perfect square of a 1024-bit prime: 2047 or 2048 bits */
    if (mpz_sizeinbase(n, 2) == 2048)
        TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, NULL, &err), err, VEIL_ERR_CRYPTO,
                      "perfect power");
    /* 65521 (the largest prime below 2^16) times a 2032-bit prime. */
    mpz_set_ui(n, 0);
    mpz_setbit(n, 2032);
    mpz_nextprime(n, n);
    mpz_mul_ui(n, n, 65521);
    CU_ASSERT_EQUAL(mpz_sizeinbase(n, 2), 2048);
    TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, NULL, &err), err, VEIL_ERR_CRYPTO,
                  "small prime factor 65521");
    mpz_set_ui(n, 0);
    mpz_setbit(n, 1023);
    mpz_add_ui(n, n, 1);
    TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, NULL, &err), err, VEIL_ERR_CRYPTO, "1024 bits");

    /* A good n with a bad DJN base. */
    veil_paillier_pub_n(n, veil_paillier_priv_pub(key_tb));
    mpz_set_ui(hs, 0);
    CU_ASSERT_EQUAL(veil_paillier_pub_new(&pk, n, hs, &err), VEIL_OK); /* 0 = textbook */
    CU_ASSERT_FALSE(veil_paillier_pub_is_djn(pk));
    veil_paillier_pub_free(pk);
    pk = NULL;
    mpz_mul(hs, n, n);
    TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, hs, &err), err, VEIL_ERR_CRYPTO,
                  "outside (0, n^2)");
    mpz_mul_ui(hs, p, 3);
    TU_ASSERT_ERR(veil_paillier_pub_new(&pk, n, hs, &err), err, VEIL_ERR_CRYPTO, "shares a factor");
    CU_ASSERT_PTR_NULL(pk);
    mpz_clears(n, p, hs, NULL);
}

static void test_private_key_validation(void)
{
    veil_err err;
    veil_paillier_priv *sk = NULL;
    mpz_t p, q, bad;
    mpz_init_set_str(p, kat_p, 16);
    mpz_init_set_str(q, kat_q, 16);
    mpz_init(bad);
    TU_ASSERT_ERR(veil_paillier_priv_new(&sk, p, p, NULL, 0, &err), err, VEIL_ERR_CRYPTO, "equal");
    mpz_add_ui(bad, q, 2);
    while (mpz_probab_prime_p(bad, 20))
        mpz_add_ui(bad, bad, 2);
    TU_ASSERT_ERR(veil_paillier_priv_new(&sk, p, bad, NULL, 0, &err), err, VEIL_ERR_CRYPTO,
                  "not prime");
    mpz_nextprime(bad, q);
    mpz_mul_2exp(bad, bad, 1);
    mpz_nextprime(bad, bad); /* a 1025-bit prime */
    TU_ASSERT_ERR(veil_paillier_priv_new(&sk, p, bad, NULL, 0, &err), err, VEIL_ERR_CRYPTO,
                  "different lengths");
    mpz_set_ui(bad, 1);
    TU_ASSERT_ERR(veil_paillier_priv_new(&sk, p, bad, NULL, 0, &err), err, VEIL_ERR_CRYPTO,
                  "odd primes");
    CU_ASSERT_PTR_NULL(sk);
    /* A DJN base that is not an n-th residue (here g = n + 1 itself). */
    mpz_mul(bad, p, q);
    mpz_add_ui(bad, bad, 1);
    TU_ASSERT_ERR(veil_paillier_priv_new(&sk, p, q, bad, 1, &err), err, VEIL_ERR_CRYPTO,
                  "not an n-th residue");
    CU_ASSERT_PTR_NULL(sk);
    /* Order of p and q does not matter. */
    CU_ASSERT_EQUAL(veil_paillier_priv_new(&sk, q, p, NULL, 0, &err), VEIL_OK);
    veil_paillier_priv_free(sk);
    mpz_clears(p, q, bad, NULL);
}

/* DJN and textbook keys with the same modulus interoperate: either one's
 * ciphertexts decrypt under the other, and sums mix freely. */
static void test_djn_and_textbook_keys_interoperate(void)
{
    veil_err err;
    mpz_t m1, m2, c1, c2, d;
    mpz_inits(m1, m2, c1, c2, d, NULL);
    mpz_set_ui(m1, 1000);
    mpz_set_ui(m2, 2345);
    CU_ASSERT_EQUAL(veil_paillier_encrypt(c1, veil_paillier_priv_pub(key_tb), m1, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_encrypt(c2, veil_paillier_priv_pub(key_djn), m2, &err), VEIL_OK);
    veil_paillier_add(c1, veil_paillier_priv_pub(key_djn), c1, c2);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(d, key_tb, c1, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_ui(d, 3345) == 0);
    mpz_clears(m1, m2, c1, c2, d, NULL);
}

static void test_pub_dup_is_independent_and_equal(void)
{
    veil_err err;
    veil_paillier_pub *copy = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_paillier_pub_dup(&copy, veil_paillier_priv_pub(key_djn), &err),
                          VEIL_OK);
    CU_ASSERT(veil_paillier_pub_equal(copy, veil_paillier_priv_pub(key_djn)));
    CU_ASSERT(veil_paillier_pub_is_djn(copy));
    mpz_t m, c, d;
    mpz_inits(m, c, d, NULL);
    mpz_set_ui(m, 99);
    CU_ASSERT_EQUAL(veil_paillier_encrypt(c, copy, m, &err), VEIL_OK);
    veil_paillier_pub_free(copy);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(d, key_djn, c, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp_ui(d, 99) == 0);
    mpz_clears(m, c, d, NULL);
}

int main(void)
{
    static const tu_test tests[] = {
        {"known-answer decryption (independent Python vectors)", test_known_answer_decryption},
        {"known-answer fingerprint", test_known_answer_fingerprint},
        {"random round trips, textbook and DJN, checked by reference decryption",
         test_round_trip_random_textbook_and_djn},
        {"encrypt refuses residues outside [0, n)", test_encrypt_refuses_residue_outside_range},
        {"DJN randomizers are fresh n-th residues", test_djn_randomizers_are_fresh_nth_residues},
        {"homomorphic add, sub, add-plain, scalar (negative), rerandomize",
         test_homomorphic_operations},
        {"signed encoding boundaries and overflow", test_signed_encoding_boundaries},
        {"ciphertext range and gcd checks", test_ciphertext_validation},
        {"ciphertext of another key",
         test_ciphertext_of_another_key_does_not_decrypt_to_the_plaintext},
        {"keygen 2048/3072/4096: exact sizes, distinct primes", test_keygen_sizes},
        {"keygen refuses unsupported sizes", test_keygen_refuses_unsupported_size},
        {"public key validation", test_public_key_validation},
        {"private key validation", test_private_key_validation},
        {"DJN and textbook keys interoperate", test_djn_and_textbook_keys_interoperate},
        {"pub_dup", test_pub_dup_is_independent_and_equal},
        {NULL, NULL},
    };
    return tu_main("paillier", suite_init, suite_cleanup, tests);
}
