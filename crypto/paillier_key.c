/* Paillier keys: generation, construction from parts with validation,
 * fingerprints, and the DJN fixed-base table. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "paillier_internal.h"
#include "veil/rand.h"

int veil_paillier_bits_supported(unsigned bits)
{
    return bits == 2048 || bits == 3072 || bits == 4096;
}

/* Length of the secret DJN exponent: four times the key's security level
 * (112, 128, 152 bits), well above the 2*kappa that generic short-exponent
 * discrete-log attacks (Pollard lambda, van Oorschot-Wiener) require; see
 * docs/paillier.md. */
static unsigned djn_exponent_bits(unsigned bits)
{
    switch (bits) {
    case 2048: return 448;
    case 3072: return 512;
    default: return 608;
    }
}

/* ---- small-prime screening ---- */

/* Calls fn for every odd prime below limit (sieve of Eratosthenes). Returns
 * the first non-zero value fn returns, or 0. */
static int for_small_primes(unsigned limit, int (*fn)(unsigned long, void *), void *ctx)
{
    unsigned char *composite = calloc(limit, 1);
    if (composite == NULL)
        return -1;
    int rc = 0;
    for (unsigned i = 3; i < limit && rc == 0; i += 2) {
        if (composite[i])
            continue;
        for (unsigned long j = (unsigned long)i * i; j < limit; j += 2ul * i)
            composite[j] = 1;
        rc = fn(i, ctx);
    }
    free(composite);
    return rc;
}

static int divides(unsigned long p, void *ctx)
{
    const mpz_srcptr n = ctx;
    return mpz_divisible_ui_p(n, p) ? (int)p : 0;
}

/* ---- fingerprint ---- */

static void compute_fingerprint(veil_paillier_pub *pk)
{
    static const char tag[] = "veil-paillier-public-key-v1";
    size_t len = (mpz_sizeinbase(pk->n, 2) + 7) / 8;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        abort();
    mpz_export(buf, NULL, 1, 1, 1, 0, pk->n);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)tag, sizeof tag);
    crypto_hash_sha256_update(&st, buf, len);
    crypto_hash_sha256_final(&st, pk->fp);
    free(buf);
}

/* ---- DJN table ---- */

/* Builds T[i][j] = hs^(j * 2^(w*i)) mod n^2 as fixed-width limb arrays, so
 * that veil_djn_pow can read every entry of a window and select one with
 * masks. */
static veil_status djn_table_build(veil_paillier_pub *pk, veil_err *err)
{
    pk->djn_exp_bits = djn_exponent_bits(pk->bits);
    pk->djn_win = VEIL_DJN_WINDOW;
    pk->djn_nwin = (pk->djn_exp_bits + pk->djn_win - 1) / pk->djn_win;
    pk->limbs = mpz_size(pk->n2);
    size_t entries = pk->djn_nwin << pk->djn_win;
    pk->djn_table = calloc(entries * pk->limbs, sizeof(mp_limb_t));
    if (pk->djn_table == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory building the DJN table");

    mpz_t base, acc, mont;
    mpz_inits(base, acc, mont, NULL);
    mpz_set(base, pk->hs);
    const mp_bitcnt_t rbits = (mp_bitcnt_t)pk->limbs * GMP_NUMB_BITS;
    for (size_t i = 0; i < pk->djn_nwin; i++) {
        mpz_set_ui(acc, 1);
        for (size_t j = 0; j < ((size_t)1 << pk->djn_win); j++) {
            mp_limb_t *dst = pk->djn_table + (i * ((size_t)1 << pk->djn_win) + j) * pk->limbs;
            mpz_mul_2exp(mont, acc, rbits);
            mpz_mod(mont, mont, pk->n2);
            mpz_export(dst, NULL, -1, sizeof(mp_limb_t), 0, 0, mont);
            mpz_mul(acc, acc, base);
            mpz_mod(acc, acc, pk->n2);
        }
        /* acc is now base^(2^w): the next window's base. */
        mpz_set(base, acc);
    }
    mpz_clears(base, acc, mont, NULL);
    return VEIL_OK;
}

/* ---- public keys ---- */

static veil_paillier_pub *pub_alloc(void)
{
    veil_paillier_pub *pk = calloc(1, sizeof *pk);
    if (pk == NULL)
        return NULL;
    mpz_inits(pk->n, pk->n2, pk->max_int, pk->hs, NULL);
    return pk;
}

void veil_paillier_pub_free(veil_paillier_pub *pk)
{
    if (pk == NULL)
        return;
    mpz_clears(pk->n, pk->n2, pk->max_int, pk->hs, NULL);
    veil_mont_clear(&pk->mont);
    if (pk->djn_mb_init != NULL)
        veil_mb_free(&pk->mb, pk->djn_mb_init, 1);
    veil_mb_ctx_clear(&pk->mb);
    free(pk->djn_table);
    free(pk);
}

/* Fills the derived fields of a public key whose n (and hs) are set. */
static veil_status pub_finish(veil_paillier_pub *pk, veil_err *err)
{
    pk->bits = (unsigned)mpz_sizeinbase(pk->n, 2);
    mpz_mul(pk->n2, pk->n, pk->n);
    /* As python-paillier: [0, max_int] positive, [n - max_int, n) negative. */
    mpz_fdiv_q_ui(pk->max_int, pk->n, 3);
    mpz_sub_ui(pk->max_int, pk->max_int, 1);
    pk->limbs = mpz_size(pk->n2);
    if (veil_mont_init(&pk->mont, pk->n2) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    compute_fingerprint(pk);
    /* The IFMA engine is an optional accelerator: without the CPU feature
     * (or memory for its context) the scalar path is used. */
    pk->mb_ok = veil_mb_cpu_ok() && veil_mb_ctx_init(&pk->mb, pk->n2) == 0;
    if (!pk->djn)
        return VEIL_OK;
    veil_status st = djn_table_build(pk, err);
    if (st == VEIL_OK && pk->mb_ok && (pk->djn_mb_init = veil_mb_alloc(&pk->mb, 1)) != NULL)
        veil_mb_fixed_base_one_init(pk->djn_mb_init, pk->djn_win, pk->djn_nwin, &pk->mb);
    return st;
}

static veil_status check_modulus(const mpz_t n, veil_err *err)
{
    unsigned bits = (unsigned)mpz_sizeinbase(n, 2);
    if (mpz_sgn(n) <= 0 || !veil_paillier_bits_supported(bits))
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "public key modulus has %u bits; veil accepts 2048, 3072 or 4096",
                            mpz_sgn(n) <= 0 ? 0 : bits);
    if (mpz_even_p(n))
        return veil_err_set(err, VEIL_ERR_CRYPTO, "public key modulus is even");
    if (mpz_perfect_power_p(n))
        return veil_err_set(err, VEIL_ERR_CRYPTO, "public key modulus is a perfect power");
    int p = for_small_primes(1u << 16, divides, (void *)n);
    if (p < 0)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory checking the modulus");
    if (p > 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "public key modulus has the small prime factor %d", p);
    return VEIL_OK;
}

static veil_status check_hs(const mpz_t n, const mpz_t n2, const mpz_t hs, veil_err *err)
{
    if (mpz_sgn(hs) <= 0 || mpz_cmp(hs, n2) >= 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "DJN base hs is outside (0, n^2)");
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, hs, n);
    int ok = mpz_cmp_ui(g, 1) == 0;
    mpz_clear(g);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "DJN base hs shares a factor with n");
    return VEIL_OK;
}

veil_status veil_paillier_pub_new(veil_paillier_pub **out, const mpz_t n, const mpz_t hs,
                                  veil_err *err)
{
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    veil_status st = check_modulus(n, err);
    if (st != VEIL_OK)
        return st;
    veil_paillier_pub *pk = pub_alloc();
    if (pk == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_set(pk->n, n);
    if (hs != NULL && mpz_sgn(hs) != 0) {
        mpz_mul(pk->n2, n, n);
        st = check_hs(n, pk->n2, hs, err);
        if (st != VEIL_OK) {
            veil_paillier_pub_free(pk);
            return st;
        }
        mpz_set(pk->hs, hs);
        pk->djn = 1;
    }
    st = pub_finish(pk, err);
    if (st != VEIL_OK) {
        veil_paillier_pub_free(pk);
        return st;
    }
    *out = pk;
    return VEIL_OK;
}

veil_status veil_paillier_pub_dup(veil_paillier_pub **out, const veil_paillier_pub *pk,
                                  veil_err *err)
{
    *out = NULL;
    veil_paillier_pub *c = pub_alloc();
    if (c == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_set(c->n, pk->n);
    mpz_set(c->hs, pk->hs);
    c->djn = pk->djn;
    veil_status st = pub_finish(c, err);
    if (st != VEIL_OK) {
        veil_paillier_pub_free(c);
        return st;
    }
    *out = c;
    return VEIL_OK;
}

unsigned veil_paillier_pub_bits(const veil_paillier_pub *pk)
{
    return pk->bits;
}

void veil_paillier_pub_n(mpz_t out, const veil_paillier_pub *pk)
{
    mpz_set(out, pk->n);
}

void veil_paillier_pub_n2(mpz_t out, const veil_paillier_pub *pk)
{
    mpz_set(out, pk->n2);
}

int veil_paillier_pub_is_djn(const veil_paillier_pub *pk)
{
    return pk->djn;
}

void veil_paillier_pub_hs(mpz_t out, const veil_paillier_pub *pk)
{
    if (pk->djn)
        mpz_set(out, pk->hs);
    else
        mpz_set_ui(out, 0);
}

void veil_paillier_pub_max_int(mpz_t out, const veil_paillier_pub *pk)
{
    mpz_set(out, pk->max_int);
}

const uint8_t *veil_paillier_pub_fingerprint(const veil_paillier_pub *pk)
{
    return pk->fp;
}

void veil_paillier_pub_fingerprint_hex(char out[VEIL_FINGERPRINT_HEX], const veil_paillier_pub *pk)
{
    sodium_bin2hex(out, VEIL_FINGERPRINT_HEX, pk->fp, VEIL_FINGERPRINT_BYTES);
}

int veil_paillier_pub_equal(const veil_paillier_pub *a, const veil_paillier_pub *b)
{
    return mpz_cmp(a->n, b->n) == 0;
}

/* ---- private keys ---- */

void veil_paillier_priv_free(veil_paillier_priv *sk)
{
    if (sk == NULL)
        return;
    veil_mpz_wipe(sk->p);
    veil_mpz_wipe(sk->q);
    veil_mpz_wipe(sk->p2);
    veil_mpz_wipe(sk->q2);
    veil_mpz_wipe(sk->pm1);
    veil_mpz_wipe(sk->qm1);
    veil_mpz_wipe(sk->hp);
    veil_mpz_wipe(sk->hq);
    veil_mpz_wipe(sk->pinv);
    BN_clear_free(sk->bn_p2);
    BN_clear_free(sk->bn_q2);
    BN_clear_free(sk->bn_pm1);
    BN_clear_free(sk->bn_qm1);
    BN_MONT_CTX_free(sk->mont_p2);
    BN_MONT_CTX_free(sk->mont_q2);
    veil_mb_ctx_clear(&sk->mb_p2);
    veil_mb_ctx_clear(&sk->mb_q2);
    if (sk->pm1_bytes != NULL)
        sodium_memzero(sk->pm1_bytes, (sk->pm1_bits + 7) / 8);
    if (sk->qm1_bytes != NULL)
        sodium_memzero(sk->qm1_bytes, (sk->qm1_bits + 7) / 8);
    free(sk->pm1_bytes);
    free(sk->qm1_bytes);
    veil_paillier_pub_free(sk->pub);
    sodium_memzero(sk, sizeof *sk);
    free(sk);
}

const veil_paillier_pub *veil_paillier_priv_pub(const veil_paillier_priv *sk)
{
    return sk->pub;
}

void veil_paillier_priv_p(mpz_t out, const veil_paillier_priv *sk)
{
    mpz_set(out, sk->p);
}

void veil_paillier_priv_q(mpz_t out, const veil_paillier_priv *sk)
{
    mpz_set(out, sk->q);
}

/* h_p = L_p(g^(p-1) mod p^2)^(-1) mod p with g = n + 1. */
static int crt_constant(mpz_t h, const mpz_t n, const mpz_t p, const mpz_t p2, const mpz_t pm1)
{
    mpz_t g;
    mpz_init(g);
    mpz_add_ui(g, n, 1);
    mpz_powm_sec(h, g, pm1, p2);
    mpz_sub_ui(h, h, 1);
    mpz_divexact(h, h, p);
    int ok = mpz_invert(h, h, p) != 0;
    veil_mpz_wipe(g);
    return ok;
}

/* A fresh DJN base: hs = (-x^2 mod n)^n mod n^2, computed with the CRT. */
static void djn_base(mpz_t hs, const veil_paillier_priv *sk)
{
    const mpz_srcptr n = sk->pub->n;
    mpz_t x, h, a, b;
    mpz_inits(x, h, a, b, NULL);
    do {
        veil_rand_mpz_below(x, n);
        mpz_gcd(h, x, n);
    } while (mpz_sgn(x) == 0 || mpz_cmp_ui(h, 1) != 0);
    mpz_mul(h, x, x);
    mpz_neg(h, h);
    mpz_mod(h, h, n);
    /* h^n mod p^2 and mod q^2, then recombine mod n^2. */
    mpz_powm(a, h, n, sk->p2);
    mpz_powm(b, h, n, sk->q2);
    /* hs = a + p^2 * ((b - a) * (p^2)^-1 mod q^2) */
    mpz_invert(x, sk->p2, sk->q2);
    mpz_sub(hs, b, a);
    mpz_mul(hs, hs, x);
    mpz_mod(hs, hs, sk->q2);
    mpz_mul(hs, hs, sk->p2);
    mpz_add(hs, hs, a);
    veil_mpz_wipe(x);
    veil_mpz_wipe(h);
    veil_mpz_wipe(a);
    veil_mpz_wipe(b);
}

/* x is an n-th residue mod n^2 iff x^(p-1) = 1 mod p^2 and x^(q-1) = 1 mod
 * q^2 (the n-th residues are the elements of order dividing phi(n)). */
static int is_nth_residue(const veil_paillier_priv *sk, const mpz_t x)
{
    mpz_t t;
    mpz_init(t);
    mpz_mod(t, x, sk->p2);
    mpz_powm_sec(t, t, sk->pm1, sk->p2);
    int ok = mpz_cmp_ui(t, 1) == 0;
    mpz_mod(t, x, sk->q2);
    mpz_powm_sec(t, t, sk->qm1, sk->q2);
    ok = ok && mpz_cmp_ui(t, 1) == 0;
    mpz_clear(t);
    return ok;
}

/* A secret GMP integer as an OpenSSL BIGNUM flagged constant-time. */
static BIGNUM *bn_secret(const mpz_t x)
{
    size_t len = (mpz_sizeinbase(x, 2) + 7) / 8;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return NULL;
    mpz_export(buf, NULL, 1, 1, 1, 0, x);
    BIGNUM *bn = BN_secure_new();
    if (bn != NULL && BN_bin2bn(buf, (int)len, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    if (bn != NULL)
        BN_set_flags(bn, BN_FLG_CONSTTIME);
    sodium_memzero(buf, len);
    free(buf);
    return bn;
}

/* OpenSSL state for decryption: moduli, exponents, Montgomery contexts. */
static int priv_openssl_init(veil_paillier_priv *sk)
{
    BN_CTX *ctx = BN_CTX_new();
    sk->bn_p2 = bn_secret(sk->p2);
    sk->bn_q2 = bn_secret(sk->q2);
    sk->bn_pm1 = bn_secret(sk->pm1);
    sk->bn_qm1 = bn_secret(sk->qm1);
    sk->mont_p2 = BN_MONT_CTX_new();
    sk->mont_q2 = BN_MONT_CTX_new();
    int ok = ctx != NULL && sk->bn_p2 && sk->bn_q2 && sk->bn_pm1 && sk->bn_qm1 && sk->mont_p2 &&
             sk->mont_q2 && BN_MONT_CTX_set(sk->mont_p2, sk->bn_p2, ctx) &&
             BN_MONT_CTX_set(sk->mont_q2, sk->bn_q2, ctx);
    BN_CTX_free(ctx);
    return ok;
}

/* Little-endian bytes of the secret x (malloc'd), its bit length in *bits. */
static uint8_t *secret_bytes(const mpz_t x, size_t *bits)
{
    *bits = mpz_sizeinbase(x, 2);
    size_t len = (*bits + 7) / 8;
    uint8_t *b = calloc(len, 1);
    if (b != NULL)
        mpz_export(b, NULL, -1, 1, 0, 0, x);
    return b;
}

/* Engine contexts for p^2 and q^2 and the exponents; mb_ok stays 0 (scalar
 * decryption) when the CPU lacks the engine or memory runs out. */
static void priv_mb_init(veil_paillier_priv *sk)
{
    if (!veil_mb_cpu_ok())
        return;
    sk->pm1_bytes = secret_bytes(sk->pm1, &sk->pm1_bits);
    sk->qm1_bytes = secret_bytes(sk->qm1, &sk->qm1_bits);
    sk->mb_ok = sk->pm1_bytes != NULL && sk->qm1_bytes != NULL &&
                veil_mb_ctx_init(&sk->mb_p2, sk->p2) == 0 &&
                veil_mb_ctx_init(&sk->mb_q2, sk->q2) == 0;
}

/* Builds sk from p and q, assumed already checked. */
static veil_status priv_build(veil_paillier_priv **out, const mpz_t p, const mpz_t q,
                              const mpz_t hs, int djn, veil_err *err)
{
    veil_paillier_priv *sk = calloc(1, sizeof *sk);
    if (sk == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_inits(sk->p, sk->q, sk->p2, sk->q2, sk->pm1, sk->qm1, sk->hp, sk->hq, sk->pinv, NULL);
    /* Keep p < q so the CRT recombination is canonical. */
    if (mpz_cmp(p, q) < 0) {
        mpz_set(sk->p, p);
        mpz_set(sk->q, q);
    } else {
        mpz_set(sk->p, q);
        mpz_set(sk->q, p);
    }
    mpz_mul(sk->p2, sk->p, sk->p);
    mpz_mul(sk->q2, sk->q, sk->q);
    mpz_sub_ui(sk->pm1, sk->p, 1);
    mpz_sub_ui(sk->qm1, sk->q, 1);
    veil_status st = VEIL_OK;
    sk->pub = pub_alloc();
    if (sk->pub == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    mpz_mul(sk->pub->n, sk->p, sk->q);
    if (!priv_openssl_init(sk)) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory (OpenSSL)");
        goto done;
    }
    if (!crt_constant(sk->hp, sk->pub->n, sk->p, sk->p2, sk->pm1) ||
        !crt_constant(sk->hq, sk->pub->n, sk->q, sk->q2, sk->qm1) ||
        mpz_invert(sk->pinv, sk->p, sk->q) == 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "private key is inconsistent (CRT constants)");
        goto done;
    }
    if (hs != NULL && mpz_sgn(hs) != 0) {
        mpz_mul(sk->pub->n2, sk->pub->n, sk->pub->n);
        st = check_hs(sk->pub->n, sk->pub->n2, hs, err);
        if (st == VEIL_OK && !is_nth_residue(sk, hs))
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "DJN base hs is not an n-th residue: encryptions under this key "
                              "would not decrypt (the public part of the key was altered)");
        if (st != VEIL_OK)
            goto done;
        mpz_set(sk->pub->hs, hs);
        sk->pub->djn = 1;
    } else if (djn) {
        djn_base(sk->pub->hs, sk);
        sk->pub->djn = 1;
    }
    st = pub_finish(sk->pub, err);
    if (st == VEIL_OK)
        priv_mb_init(sk);
done:
    if (st != VEIL_OK) {
        veil_paillier_priv_free(sk);
        return st;
    }
    *out = sk;
    return VEIL_OK;
}

veil_status veil_paillier_priv_new(veil_paillier_priv **out, const mpz_t p, const mpz_t q,
                                   const mpz_t hs, int djn, veil_err *err)
{
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    if (mpz_cmp_ui(p, 2) <= 0 || mpz_cmp_ui(q, 2) <= 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "private key factors must be odd primes");
    if (mpz_cmp(p, q) == 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "private key factors p and q are equal");
    if (mpz_sizeinbase(p, 2) != mpz_sizeinbase(q, 2))
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "private key factors have different lengths (%zu and %zu bits)",
                            mpz_sizeinbase(p, 2), mpz_sizeinbase(q, 2));
    if (mpz_probab_prime_p(p, 40) == 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "private key factor p is not prime");
    if (mpz_probab_prime_p(q, 40) == 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "private key factor q is not prime");
    mpz_t n, phi, g;
    mpz_inits(n, phi, g, NULL);
    mpz_mul(n, p, q);
    veil_status st = check_modulus(n, err);
    if (st == VEIL_OK) {
        /* gcd(n, (p-1)(q-1)) = 1 is what makes g = n + 1 decryptable. */
        mpz_sub_ui(phi, p, 1);
        mpz_sub_ui(g, q, 1);
        mpz_mul(phi, phi, g);
        mpz_gcd(g, n, phi);
        if (mpz_cmp_ui(g, 1) != 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO, "private key is unusable: gcd(n, phi(n)) != 1");
    }
    veil_mpz_wipe(phi);
    veil_mpz_wipe(g);
    mpz_clear(n);
    if (st != VEIL_OK)
        return st;
    return priv_build(out, p, q, hs, djn, err);
}

/* A random prime of exactly `bits` bits with its two top bits set, so that
 * the product of two such primes has exactly 2*bits bits. Candidates with a
 * factor below 2^12 are skipped before the Baillie-PSW + Miller-Rabin test
 * of mpz_probab_prime_p. */
static void random_prime(mpz_t p, unsigned bits, const mpz_t primorial)
{
    mpz_t g;
    mpz_init(g);
    for (;;) {
        veil_rand_mpz_bits(p, bits);
        mpz_setbit(p, bits - 1);
        mpz_setbit(p, bits - 2);
        mpz_setbit(p, 0);
        mpz_gcd(g, p, primorial);
        if (mpz_cmp_ui(g, 1) != 0)
            continue;
        if (mpz_probab_prime_p(p, 40) != 0)
            break;
    }
    mpz_clear(g);
}

static int mul_prime(unsigned long p, void *ctx)
{
    mpz_mul_ui((mpz_ptr)ctx, (mpz_ptr)ctx, p);
    return 0;
}

veil_status veil_paillier_keygen(veil_paillier_priv **out, unsigned bits, int djn, veil_err *err)
{
    *out = NULL;
    if (!veil_paillier_bits_supported(bits))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "key size %u is not supported; use 2048, 3072 or 4096", bits);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    unsigned half = bits / 2;
    mpz_t p, q, d, primorial, n, phi, g;
    mpz_inits(p, q, d, primorial, n, phi, g, NULL);
    mpz_set_ui(primorial, 1);
    if (for_small_primes(1u << 12, mul_prime, primorial) < 0) {
        mpz_clears(p, q, d, primorial, n, phi, g, NULL);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (;;) {
        random_prime(p, half, primorial);
        random_prime(q, half, primorial);
        /* p and q far apart: |p - q| > 2^(half - 100) defeats Fermat. */
        mpz_sub(d, p, q);
        mpz_abs(d, d);
        if (mpz_sizeinbase(d, 2) <= half - 100)
            continue;
        mpz_mul(n, p, q);
        mpz_sub_ui(g, p, 1);
        mpz_sub_ui(phi, q, 1);
        mpz_mul(phi, phi, g);
        mpz_gcd(g, n, phi);
        if (mpz_sizeinbase(n, 2) == bits && mpz_cmp_ui(g, 1) == 0)
            break;
    }
    veil_status st = priv_build(out, p, q, NULL, djn, err);
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    veil_mpz_wipe(d);
    veil_mpz_wipe(phi);
    veil_mpz_wipe(g);
    mpz_clears(primorial, n, NULL);
    return st;
}
