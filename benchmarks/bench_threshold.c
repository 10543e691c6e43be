/* veil-bench --threshold: threshold Paillier at 2048 bits. Key generation
 * (two 1024-bit safe primes and the dealing), one party's partial decryption
 * with its proof, the verification of one proof, and the combination of t
 * partials, for t = 3, 5, 9 (with t + 2 parties). Every combination is
 * checked against the known plaintext. At t = 3, one-thread partial
 * decryption batches of 16 items per engine (scalar, and the AVX512-IFMA
 * engine where the CPU has it), every partial of the last call verified. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "veil/batch.h"
#include "veil/engine.h"
#include "veil/rand.h"
#include "veil/threshold.h"

int veil_bench_threshold(int full, double seconds);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const veil_err *err)
{
    fprintf(stderr, "veil-bench: threshold %s failed: %s\n", what, err ? err->msg : "");
    return 1;
}

static void row(unsigned t, unsigned l, const char *what, unsigned long ops, double secs)
{
    printf("%-5u %-3u %-3u %-44s %10.2f %11.3f %6lu\n", 2048u, t, l, what, (double)ops / secs,
           1000.0 * secs / (double)ops, ops);
    fflush(stdout);
}

#define BATCH_ITEMS 16u

/* One-thread veil_threshold_partial_decrypt_batch of BATCH_ITEMS copies of
 * c with engine e: a row per item, the last call's partials verified. */
static int batch_row(unsigned t, unsigned l, const veil_threshold_key *k,
                     const veil_threshold_share *sh, const mpz_t c, veil_engine e, double seconds)
{
    veil_err err;
    mpz_t cs[BATCH_ITEMS];
    veil_threshold_partial p[BATCH_ITEMS];
    for (unsigned i = 0; i < BATCH_ITEMS; i++) {
        mpz_init_set(cs[i], c);
        veil_threshold_partial_init(&p[i]);
    }
    veil_engine saved = veil_engine_selected();
    veil_engine_select(e);
    char what[64];
    snprintf(what, sizeof what, "partial decryption batch, 1 thread, %s", veil_engine_name());
    int rc = 1;
    unsigned long ops = 0;
    double start = now_s();
    do {
        if (veil_threshold_partial_decrypt_batch(p, sh, (const mpz_t *)cs, BATCH_ITEMS, 1, &err) !=
            VEIL_OK) {
            fail("partial decryption batch", &err);
            goto done;
        }
        ops += BATCH_ITEMS;
    } while (now_s() - start < seconds);
    row(t, l, what, ops, now_s() - start);
    size_t bad = 0;
    if (veil_threshold_partial_verify_batch(&bad, k, (const mpz_t *)cs, p, BATCH_ITEMS, 1, &err) !=
        VEIL_OK) {
        fail("verification of the batch", &err);
        goto done;
    }
    rc = 0;
done:
    veil_engine_select(saved);
    for (unsigned i = 0; i < BATCH_ITEMS; i++) {
        mpz_clear(cs[i]);
        veil_threshold_partial_clear(&p[i]);
    }
    return rc;
}

static int bench_t(unsigned t, int full, double seconds)
{
    veil_err err;
    unsigned l = t + 2;
    veil_threshold_key *k = NULL;
    veil_threshold_share **sh = NULL;
    int rc = 1;
    unsigned runs = full ? 3 : 1;
    double start = now_s();
    for (unsigned i = 0; i < runs; i++) {
        veil_threshold_shares_free(sh, l);
        veil_threshold_key_free(k);
        if (veil_threshold_keygen(&k, &sh, 2048, l, t, 1, NULL, NULL, &err) != VEIL_OK)
            return fail("keygen", &err);
    }
    row(t, l, "keygen (2 safe primes + dealing)", runs, now_s() - start);

    mpz_t c, m, x;
    mpz_inits(c, m, x, NULL);
    veil_threshold_partial *p = calloc(l, sizeof *p);
    if (p == NULL)
        goto done;
    for (unsigned i = 0; i < l; i++)
        veil_threshold_partial_init(&p[i]);
    mpz_set_si(x, -987654321L);
    if (veil_paillier_encode(m, veil_threshold_key_pub(k), x, &err) != VEIL_OK ||
        veil_paillier_encrypt(c, veil_threshold_key_pub(k), m, &err) != VEIL_OK) {
        fail("encrypt", &err);
        goto done;
    }
    unsigned long ops = 0;
    start = now_s();
    do {
        if (veil_threshold_partial_decrypt(&p[ops % l], sh[ops % l], c, &err) != VEIL_OK) {
            fail("partial decryption", &err);
            goto done;
        }
        ops++;
    } while (now_s() - start < seconds || ops < l);
    row(t, l, "partial decryption + proof (1 party)", ops, now_s() - start);
    if (t == 3) {
        if (batch_row(t, l, k, sh[0], c, VEIL_ENGINE_SCALAR, seconds) != 0)
            goto done;
        if (veil_engine_selected() == VEIL_ENGINE_AUTO && veil_engine_ifma_supported() &&
            batch_row(t, l, k, sh[0], c, VEIL_ENGINE_AUTO, seconds) != 0)
            goto done;
    }
    ops = 0;
    start = now_s();
    do {
        if (veil_threshold_partial_verify(k, c, &p[ops % l], &err) != VEIL_OK) {
            fail("verification", &err);
            goto done;
        }
        ops++;
    } while (now_s() - start < seconds);
    row(t, l, "verify one proof", ops, now_s() - start);
    ops = 0;
    start = now_s();
    do {
        mpz_set_ui(m, 0);
        if (veil_threshold_combine(m, k, p + (ops % 3), t, &err) != VEIL_OK) {
            fail("combination", &err);
            goto done;
        }
        ops++;
    } while (now_s() - start < seconds);
    row(t, l, "combine t partials", ops, now_s() - start);
    if (veil_paillier_decode(x, veil_threshold_key_pub(k), m, &err) != VEIL_OK ||
        mpz_cmp_si(x, -987654321L) != 0) {
        fprintf(stderr, "veil-bench: threshold t=%u combined a wrong plaintext\n", t);
        goto done;
    }
    rc = 0;
done:
    if (p != NULL)
        for (unsigned i = 0; i < l; i++)
            veil_threshold_partial_clear(&p[i]);
    free(p);
    mpz_clears(c, m, x, NULL);
    veil_threshold_shares_free(sh, l);
    veil_threshold_key_free(k);
    return rc;
}

int veil_bench_threshold(int full, double seconds)
{
    printf("veil-bench --threshold: %s mode, >= %.2f s per measurement, %u CPUs shared, "
           "keygen %s\n\n",
           full ? "full" : "quick", seconds, veil_cpu_count(), full ? "3 runs" : "1 run");
    printf("%-5s %-3s %-3s %-44s %10s %11s %6s\n", "bits", "t", "l", "operation", "ops/s", "ms/op",
           "ops");
    for (unsigned t = 3; t <= 9; t += t == 3 ? 2 : 4)
        if (bench_t(t, full, seconds) != 0)
            return 1;
    printf("\nall threshold combinations checked against the plaintext\n");
    return 0;
}
