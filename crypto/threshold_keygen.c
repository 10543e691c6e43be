/* The dealer of threshold Paillier: safe primes, the shared decryption
 * exponent and the verification keys (docs/threshold.md, key ceremony). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "veil/rand.h"
#include "veil/threshold.h"

#define SIEVE_WINDOW 16384u /* candidates per random start */
#define SIEVE_LIMIT  65536u /* small primes used by the sieve */
#define PRIME_REPS   40     /* mpz_probab_prime_p rounds, as paillier_key.c */

/* Odd primes 5 <= r < SIEVE_LIMIT with 6^-1 mod r, computed once. */
typedef struct {
    unsigned *r, *inv6;
    size_t count;
} small_primes;

static unsigned inv_mod(unsigned a, unsigned m)
{
    long t = 0, nt = 1, r = (long)m, nr = (long)(a % m);
    while (nr != 0) {
        long q = r / nr, x = t - q * nt;
        t = nt;
        nt = x;
        x = r - q * nr;
        r = nr;
        nr = x;
    }
    return (unsigned)(t < 0 ? t + (long)m : t);
}

static int small_primes_make(small_primes *sp)
{
    uint8_t *comp = calloc(SIEVE_LIMIT, 1);
    sp->r = malloc(SIEVE_LIMIT / 2 * sizeof *sp->r);
    sp->inv6 = malloc(SIEVE_LIMIT / 2 * sizeof *sp->inv6);
    sp->count = 0;
    if (comp == NULL || sp->r == NULL || sp->inv6 == NULL) {
        free(comp);
        free(sp->r);
        free(sp->inv6);
        return -1;
    }
    for (unsigned i = 2; i < SIEVE_LIMIT; i++) {
        if (comp[i])
            continue;
        if (i >= 5) {
            sp->r[sp->count] = i;
            sp->inv6[sp->count] = inv_mod(6, i);
            sp->count++;
        }
        for (unsigned j = 2 * i; j < SIEVE_LIMIT; j += i)
            comp[j] = 1;
    }
    free(comp);
    return 0;
}

/* 1 if 2^(x-1) = 1 mod x: a cheap filter before the full tests. */
static int fermat2(const mpz_t x, mpz_t t)
{
    mpz_t two;
    mpz_init_set_ui(two, 2);
    mpz_sub_ui(t, x, 1);
    mpz_powm(t, two, t, x);
    mpz_clear(two);
    return mpz_cmp_ui(t, 1) == 0;
}

/* Safe prime search: p' = x + 6k with x = 5 mod 6 (so p' is odd, p' = 2 mod
 * 3 and p = 2p' + 1 is not a multiple of 3), sieving out every k for which
 * a small prime divides p' or 2p' + 1. */
veil_status veil_threshold_safe_prime(mpz_t p, unsigned bits, veil_threshold_progress_fn fn,
                                      void *arg, unsigned found, unsigned want, veil_err *err)
{
    veil_err_clear(err);
    if (bits < 64 || bits > 8192)
        return veil_err_set(err, VEIL_ERR_USAGE, "safe prime of %u bits: need 64 .. 8192", bits);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    small_primes sp;
    uint8_t *mark = malloc(SIEVE_WINDOW);
    if (mark == NULL || small_primes_make(&sp) != 0) {
        free(mark);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    mpz_t x, q, t;
    mpz_inits(x, q, t, NULL);
    unsigned long tried = 0;
    int done = 0;
    while (!done) {
        veil_rand_mpz_bits(x, bits - 1);
        mpz_setbit(x, bits - 2);
        mpz_setbit(x, bits - 3);
        mpz_add_ui(x, x, (5 + 6 - mpz_fdiv_ui(x, 6)) % 6);
        memset(mark, 0, SIEVE_WINDOW);
        for (size_t i = 0; i < sp.count; i++) {
            unsigned long r = sp.r[i], xr = mpz_fdiv_ui(x, r);
            unsigned long k1 = (r - xr) % r * sp.inv6[i] % r;               /* r | p' */
            unsigned long k2 = ((r - 1) / 2 + r - xr) % r * sp.inv6[i] % r; /* r | 2p'+1 */
            for (unsigned long k = k1; k < SIEVE_WINDOW; k += r)
                mark[k] = 1;
            for (unsigned long k = k2; k < SIEVE_WINDOW; k += r)
                mark[k] = 1;
        }
        for (unsigned long k = 0; k < SIEVE_WINDOW && !done; k++) {
            if (mark[k])
                continue;
            mpz_add_ui(q, x, 6 * k);
            mpz_mul_2exp(p, q, 1);
            mpz_add_ui(p, p, 1);
            if (mpz_sizeinbase(p, 2) != bits)
                break;
            if (++tried % 256 == 0 && fn != NULL)
                fn(arg, found, want, tried);
            if (!fermat2(q, t) || !fermat2(p, t))
                continue;
            done = mpz_probab_prime_p(q, PRIME_REPS) && mpz_probab_prime_p(p, PRIME_REPS);
        }
    }
    if (fn != NULL)
        fn(arg, found + 1, want, tried);
    veil_mpz_wipe(x);
    veil_mpz_wipe(q);
    veil_mpz_wipe(t);
    free(sp.r);
    free(sp.inv6);
    free(mark);
    return VEIL_OK;
}

/* 1 if p is a safe prime (p and (p - 1) / 2 prime). */
static int is_safe_prime(const mpz_t p)
{
    if (mpz_cmp_ui(p, 5) < 0 || !mpz_odd_p(p))
        return 0;
    mpz_t h;
    mpz_init(h);
    mpz_sub_ui(h, p, 1);
    mpz_fdiv_q_2exp(h, h, 1);
    int ok = mpz_probab_prime_p(h, PRIME_REPS) && mpz_probab_prime_p(p, PRIME_REPS);
    veil_mpz_wipe(h);
    return ok;
}

/* The DJN base hs = h^n mod n^2 with h = -x^2 mod n, as veil keygen makes
 * it (an n-th residue, so decryption is unchanged). */
static void djn_base(mpz_t hs, const mpz_t n, const mpz_t n2)
{
    mpz_t x, g;
    mpz_inits(x, g, NULL);
    do {
        veil_rand_mpz_below(x, n);
        mpz_gcd(g, x, n);
    } while (mpz_sgn(x) == 0 || mpz_cmp_ui(g, 1) != 0);
    mpz_mul(x, x, x);
    mpz_neg(x, x);
    mpz_mod(x, x, n);
    mpz_powm(hs, x, n, n2);
    veil_mpz_wipe(x);
    mpz_clear(g);
}

void veil_threshold_shares_free(veil_threshold_share **shares, unsigned parties)
{
    if (shares == NULL)
        return;
    for (unsigned i = 0; i < parties; i++)
        veil_threshold_share_free(shares[i]);
    free(shares);
}

/* The dealer's secrets live in one struct so one function wipes them. */
typedef struct {
    mpz_t n, n2, m, nm, d, t, delta, v, hs;
    mpz_t coef[VEIL_THRESHOLD_PARTIES_MAX]; /* f(X) = coef[0] + coef[1] X + ... */
    mpz_t s[VEIL_THRESHOLD_PARTIES_MAX];
    mpz_t vk[VEIL_THRESHOLD_PARTIES_MAX];
} dealer;

static void dealer_init(dealer *D)
{
    mpz_inits(D->n, D->n2, D->m, D->nm, D->d, D->t, D->delta, D->v, D->hs, NULL);
    for (unsigned i = 0; i < VEIL_THRESHOLD_PARTIES_MAX; i++)
        mpz_inits(D->coef[i], D->s[i], D->vk[i], NULL);
}

static void dealer_wipe(dealer *D)
{
    veil_mpz_wipe(D->m);
    veil_mpz_wipe(D->nm);
    veil_mpz_wipe(D->d);
    veil_mpz_wipe(D->t);
    mpz_clears(D->n, D->n2, D->delta, D->v, D->hs, NULL);
    for (unsigned i = 0; i < VEIL_THRESHOLD_PARTIES_MAX; i++) {
        veil_mpz_wipe(D->coef[i]);
        veil_mpz_wipe(D->s[i]);
        mpz_clear(D->vk[i]);
    }
}

static veil_status check_primes(const mpz_t p, const mpz_t q, veil_err *err)
{
    if (mpz_cmp(p, q) == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "p and q are equal");
    if (mpz_sizeinbase(p, 2) != mpz_sizeinbase(q, 2))
        return veil_err_set(err, VEIL_ERR_INPUT, "p and q differ in length");
    if (!is_safe_prime(p))
        return veil_err_set(err, VEIL_ERR_CRYPTO, "p is not a safe prime");
    if (!is_safe_prime(q))
        return veil_err_set(err, VEIL_ERR_CRYPTO, "q is not a safe prime");
    return VEIL_OK;
}

veil_status veil_threshold_deal(veil_threshold_key **key, veil_threshold_share ***shares,
                                const mpz_t p, const mpz_t q, unsigned parties, unsigned threshold,
                                int djn, veil_err *err)
{
    veil_err_clear(err);
    *key = NULL;
    *shares = NULL;
    if (parties < 1 || parties > VEIL_THRESHOLD_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "parties %u is outside 1 .. %u", parties,
                            VEIL_THRESHOLD_PARTIES_MAX);
    if (threshold < 1 || threshold > parties)
        return veil_err_set(err, VEIL_ERR_USAGE, "threshold %u is outside 1 .. %u (the parties)",
                            threshold, parties);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    veil_status st = check_primes(p, q, err);
    if (st != VEIL_OK)
        return st;

    dealer *D = sodium_malloc(sizeof *D);
    if (D == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    dealer_init(D);
    veil_paillier_pub *pk = NULL;
    veil_threshold_key *k = NULL;
    veil_threshold_share **sh = NULL;

    mpz_mul(D->n, p, q);
    mpz_mul(D->n2, D->n, D->n);
    if (djn)
        djn_base(D->hs, D->n, D->n2);
    if ((st = veil_paillier_pub_new(&pk, D->n, djn ? D->hs : NULL, err)) != VEIL_OK)
        goto done;
    /* m = p'q'; d = 0 mod m, d = 1 mod n: d = m (m^-1 mod n). */
    mpz_sub_ui(D->t, p, 1);
    mpz_fdiv_q_2exp(D->m, D->t, 1);
    mpz_sub_ui(D->t, q, 1);
    mpz_fdiv_q_2exp(D->t, D->t, 1);
    mpz_mul(D->m, D->m, D->t);
    mpz_mul(D->nm, D->n, D->m);
    if (mpz_invert(D->d, D->m, D->n) == 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "m = p'q' is not invertible mod n");
        goto done;
    }
    mpz_mul(D->d, D->d, D->m);
    mpz_set(D->coef[0], D->d);
    for (unsigned i = 1; i < threshold; i++)
        veil_rand_mpz_below(D->coef[i], D->nm);
    mpz_fac_ui(D->delta, parties);
    /* v: a random square in Z*_{n^2} (a generator of the squares with
     * overwhelming probability). */
    do {
        veil_rand_mpz_below(D->v, D->n2);
        mpz_gcd(D->t, D->v, D->n);
    } while (mpz_sgn(D->v) == 0 || mpz_cmp_ui(D->t, 1) != 0);
    mpz_powm_ui(D->v, D->v, 2, D->n2);
    for (unsigned i = 1; i <= parties; i++) {
        /* s_i = f(i) mod nm by Horner's rule. */
        mpz_set(D->s[i - 1], D->coef[threshold - 1]);
        for (unsigned j = threshold - 1; j-- > 0;) {
            mpz_mul_ui(D->s[i - 1], D->s[i - 1], i);
            mpz_add(D->s[i - 1], D->s[i - 1], D->coef[j]);
            mpz_mod(D->s[i - 1], D->s[i - 1], D->nm);
        }
        mpz_mul(D->t, D->delta, D->s[i - 1]);
        if (mpz_sgn(D->t) > 0)
            mpz_powm_sec(D->vk[i - 1], D->v, D->t, D->n2);
        else
            mpz_set_ui(D->vk[i - 1], 1);
    }
    if ((st = veil_threshold_key_new(&k, pk, parties, threshold, D->v, (const mpz_t *)D->vk,
                                     err)) != VEIL_OK)
        goto done;
    sh = calloc(parties, sizeof *sh);
    if (sh == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (unsigned i = 1; i <= parties && st == VEIL_OK; i++)
        st = veil_threshold_share_new(&sh[i - 1], k, i, D->s[i - 1], err);
done:
    dealer_wipe(D);
    sodium_free(D);
    veil_paillier_pub_free(pk);
    if (st != VEIL_OK) {
        veil_threshold_shares_free(sh, parties);
        veil_threshold_key_free(k);
        return st;
    }
    *key = k;
    *shares = sh;
    return VEIL_OK;
}

veil_status veil_threshold_keygen(veil_threshold_key **key, veil_threshold_share ***shares,
                                  unsigned bits, unsigned parties, unsigned threshold, int djn,
                                  veil_threshold_progress_fn fn, void *arg, veil_err *err)
{
    veil_err_clear(err);
    *key = NULL;
    *shares = NULL;
    if (!veil_paillier_bits_supported(bits))
        return veil_err_set(err, VEIL_ERR_USAGE, "%u-bit keys are not supported (2048, 3072, 4096)",
                            bits);
    if (parties < 1 || parties > VEIL_THRESHOLD_PARTIES_MAX || threshold < 1 || threshold > parties)
        return veil_err_set(err, VEIL_ERR_USAGE, "need 1 <= threshold (%u) <= parties (%u) <= %u",
                            threshold, parties, VEIL_THRESHOLD_PARTIES_MAX);
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    veil_status st = veil_threshold_safe_prime(p, bits / 2, fn, arg, 0, 2, err);
    /* Equal primes are astronomically unlikely; retry rather than fail. */
    while (st == VEIL_OK &&
           ((st = veil_threshold_safe_prime(q, bits / 2, fn, arg, 1, 2, err)) == VEIL_OK) &&
           mpz_cmp(p, q) == 0)
        ;
    if (st == VEIL_OK)
        st = veil_threshold_deal(key, shares, p, q, parties, threshold, djn, err);
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    return st;
}
