/* veil-bench: operations per second of the Paillier primitives of veil
 * (key generation, encryption, decryption, homomorphic operations and the
 * batch API), next to textbook references, at several key sizes.
 *
 * Every measurement repeats one operation until at least --seconds have
 * passed on CLOCK_MONOTONIC. Every section ends by decrypting one of the
 * results it produced and aborts if it is wrong: a benchmark of broken code
 * is worse than none. */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gmp.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "veil/batch.h"
#include "veil/engine.h"
#include "veil/error.h"
#include "veil/paillier.h"
#include "veil/pool.h"
#include "veil/rand.h"

int veil_bench_deid(unsigned long rows);                    /* bench_deid.c */
int veil_bench_anon(const char *dir);                       /* bench_deid_anon.c */
int veil_bench_threshold(int full, double seconds);         /* bench_threshold.c */
int veil_bench_sum(uint64_t max_len, const char *csv_path); /* bench_sum.c */
int veil_bench_psi(double seconds, unsigned threads, size_t items, const char *csv_path,
                   const char *json_path); /* bench_psi.c */

#define MAX_BITS_LIST 8
#define MAX_ROWS      256

typedef struct {
    int full;
    double seconds;
    unsigned keygen_keys;
    size_t batch_items;
    unsigned threads;
    unsigned bits[MAX_BITS_LIST];
    size_t nbits;
    const char *csv_path;
    const char *json_path;
    int threshold; /* --threshold: run bench_threshold.c instead */
    uint64_t sum;  /* --sum[=MAX]: run bench_sum.c up to MAX elements instead */
    int psi;       /* --psi: run bench_psi.c instead */
    size_t batch;  /* --batch as given (0: the mode's default) */
} bench_opts;

/* One line of the result table. ops counts single operations (values, for
 * batches), so ops / secs is always "values per second". */
typedef struct {
    unsigned bits;
    const char *id;    /* stable machine-readable name */
    const char *label; /* human-readable description */
    unsigned threads;
    unsigned long long ops;
    double secs;
    double ratio;         /* 0 when there is nothing to compare with */
    const char *ratio_to; /* id of the row the ratio is relative to */
} bench_row;

typedef struct {
    bench_row rows[MAX_ROWS];
    size_t n;
    /* Other processes compete for the cores, so the 1-minute load average
     * before and after the run is part of the result (-1: unknown). */
    double load_start, load_end;
    double wall_secs;
} bench_table;

static double load_average(void)
{
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

/* Everything one key size needs. The fixed plaintexts are chosen so that
 * every result can be checked against plain integer arithmetic. */
typedef struct {
    const bench_opts *opts;
    unsigned bits;
    veil_paillier_priv *sk;
    const veil_paillier_pub *pk;
    mpz_t n, n2;
    mpz_t v1, v2;     /* signed plaintexts */
    mpz_t m1, m2;     /* their residues */
    mpz_t c1, c2;     /* ciphertexts of m1, m2 */
    mpz_t out;        /* result of the operation being measured */
    mpz_t k64, kneg;  /* scalars */
    mpz_t kfull;      /* a random scalar in [0, n) */
    mpz_t lambda, mu; /* textbook decryption key */
    /* CRT alone (GMP): p^2, q^2, p - 1, q - 1, h_p, h_q, p^-1 mod q */
    mpz_t p, q, p2, q2, pm1, qm1, hp, hq, pinv;
    mpz_t hs;                 /* DJN base (0 for an ordinary key) */
    unsigned djn_bits;        /* DJN exponent bits (veil's choice per size) */
    veil_paillier_pool *pool; /* the pool-alone row */
    mpz_t *bm, *bc, *bd;      /* batch plaintexts, ciphertexts, decryptions */
    mpz_t *bk, *br;           /* batch scalars (random, signed) and products */
    mpz_t *agg;               /* AGG_CHUNK ciphertexts, c1 and c2 alternating */
    size_t items;
    unsigned threads; /* of the batch being measured */
    /* the textbook rows the engine rows are compared with */
    const bench_row *ref_encrypt, *ref_decrypt, *ref_mul;
} bench_ctx;

static void vreport(const char *fmt, va_list ap) VEIL_PRINTF(1, 0);
static void vreport(const char *fmt, va_list ap)
{
    fputs("veil-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* A failure while measuring or writing results: exit status 1. */
static _Noreturn void die(const char *fmt, ...) VEIL_PRINTF(1, 2);
static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    exit(1);
}

/* A bad command line: exit status 2, as the veil command's usage errors. */
static _Noreturn void die_usage(const char *fmt, ...) VEIL_PRINTF(1, 2);
static _Noreturn void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    exit(2);
}

static void check(veil_status st, const veil_err *err, const char *what)
{
    if (st != VEIL_OK)
        die("%s failed: %s (%s)", what, err->msg, veil_status_name(st));
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the measured operations ---------------------------------------- */

static void op_keygen(bench_ctx *x)
{
    veil_err err;
    veil_paillier_priv *sk = NULL;
    check(veil_paillier_keygen(&sk, x->bits, 1, &err), &err, "keygen");
    veil_paillier_priv_free(x->sk);
    x->sk = sk;
    x->pk = veil_paillier_priv_pub(sk);
}

static void op_encrypt(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_encrypt(x->out, x->pk, x->m1, &err), &err, "encrypt");
}

/* Textbook key generation on the same GMP: two random primes of bits/2
 * (top two bits set, so n has exactly `bits` bits), n, lambda, mu = lambda^-1
 * mod n (g = n + 1). No safe primes, no screening, no DJN table. */
static void op_keygen_textbook(bench_ctx *x)
{
    mpz_t p, q, n, l, mu;
    mpz_inits(p, q, n, l, mu, NULL);
    do {
        veil_rand_mpz_bits(p, x->bits / 2);
        mpz_setbit(p, x->bits / 2 - 1);
        mpz_setbit(p, x->bits / 2 - 2);
        mpz_nextprime(p, p);
        veil_rand_mpz_bits(q, x->bits / 2);
        mpz_setbit(q, x->bits / 2 - 1);
        mpz_setbit(q, x->bits / 2 - 2);
        mpz_nextprime(q, q);
        mpz_mul(n, p, q);
    } while (mpz_cmp(p, q) == 0 || mpz_sizeinbase(n, 2) != x->bits);
    mpz_sub_ui(p, p, 1);
    mpz_sub_ui(q, q, 1);
    mpz_lcm(l, p, q);
    if (mpz_invert(mu, l, n) == 0)
        die("textbook keygen: lambda is not invertible mod n");
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    veil_mpz_wipe(l);
    veil_mpz_wipe(mu);
    mpz_clear(n);
}

/* DJN alone: (1 + m n) hs^a mod n^2 with a fresh secret a of veil's
 * exponent size, by mpz_powm_sec (constant time) without the fixed-base
 * table or veil's Montgomery code. */
static void op_encrypt_djn_powm(bench_ctx *x)
{
    mpz_t a, r;
    mpz_inits(a, r, NULL);
    veil_rand_mpz_bits(a, x->djn_bits);
    mpz_setbit(a, 0); /* mpz_powm_sec needs a positive exponent */
    mpz_powm_sec(r, x->hs, a, x->n2);
    mpz_mul(x->out, x->m1, x->n);
    mpz_add_ui(x->out, x->out, 1);
    mpz_mul(x->out, x->out, r);
    mpz_mod(x->out, x->out, x->n2);
    veil_mpz_wipe(a);
    veil_mpz_wipe(r);
}

/* The pool alone: the online cost of an encryption with a filled pool. */
static void op_encrypt_pooled(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_encrypt_pooled(x->out, x->pool, x->m1, &err), &err, "encrypt_pooled");
}

static void op_encrypt_textbook(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_encrypt_textbook(x->out, x->pk, x->m1, &err), &err, "encrypt_textbook");
}

static void op_decrypt(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_decrypt(x->out, x->sk, x->c1, &err), &err, "decrypt");
}

/* The textbook decryption m = L(c^lambda mod n^2) * mu mod n, L(u) =
 * (u - 1) / n, with one full-size exponentiation and no CRT. It uses
 * mpz_powm (variable time), the fastest form plain GMP offers, so the ratio
 * shown for veil's decryption is a lower bound. */
static void decrypt_textbook(mpz_t m, const bench_ctx *x, const mpz_t c)
{
    mpz_powm(m, c, x->lambda, x->n2);
    mpz_sub_ui(m, m, 1);
    mpz_divexact(m, m, x->n);
    mpz_mul(m, m, x->mu);
    mpz_mod(m, m, x->n);
}

static void op_decrypt_textbook(bench_ctx *x)
{
    decrypt_textbook(x->out, x, x->c1);
}

/* CRT alone: m_p = L_p(c^(p-1) mod p^2) h_p mod p and the same mod q with
 * GMP's constant-time mpz_powm_sec, recombined (Garner); no OpenSSL. */
static void op_decrypt_crt_gmp(bench_ctx *x)
{
    mpz_t mp, mq;
    mpz_inits(mp, mq, NULL);
    mpz_mod(mp, x->c1, x->p2);
    mpz_powm_sec(mp, mp, x->pm1, x->p2);
    mpz_sub_ui(mp, mp, 1);
    mpz_divexact(mp, mp, x->p);
    mpz_mul(mp, mp, x->hp);
    mpz_mod(mp, mp, x->p);
    mpz_mod(mq, x->c1, x->q2);
    mpz_powm_sec(mq, mq, x->qm1, x->q2);
    mpz_sub_ui(mq, mq, 1);
    mpz_divexact(mq, mq, x->q);
    mpz_mul(mq, mq, x->hq);
    mpz_mod(mq, mq, x->q);
    /* m = m_p + p ((m_q - m_p) p^-1 mod q) */
    mpz_sub(mq, mq, mp);
    mpz_mul(mq, mq, x->pinv);
    mpz_mod(mq, mq, x->q);
    mpz_mul(mq, mq, x->p);
    mpz_add(x->out, mp, mq);
    veil_mpz_wipe(mp);
    veil_mpz_wipe(mq);
}

static void op_add(bench_ctx *x)
{
    veil_paillier_add(x->out, x->pk, x->c1, x->c2);
}

/* The textbook homomorphic addition: mpz_mul + mpz_mod. */
static void op_add_textbook(bench_ctx *x)
{
    mpz_mul(x->out, x->c1, x->c2);
    mpz_mod(x->out, x->out, x->n2);
}

/* The aggregation rows sum AGG_ROUNDS passes over AGG_CHUNK ciphertexts:
 * 10^6 in all, without holding 10^6 ciphertexts (512 MB at 2048 bits). */
#define AGG_CHUNK  62500u
#define AGG_ROUNDS 16u

static void op_aggregate_textbook(bench_ctx *x)
{
    mpz_set_ui(x->out, 1);
    for (unsigned r = 0; r < AGG_ROUNDS; r++)
        for (size_t i = 0; i < AGG_CHUNK; i++) {
            mpz_mul(x->out, x->out, x->agg[i]);
            mpz_mod(x->out, x->out, x->n2);
        }
}

static void op_aggregate(bench_ctx *x)
{
    mpz_t part;
    mpz_init(part);
    mpz_set_ui(x->out, 1);
    for (unsigned r = 0; r < AGG_ROUNDS; r++) {
        if (veil_paillier_add_many(part, x->pk, (const mpz_t *)x->agg, AGG_CHUNK) != 0)
            die("out of memory in add_many");
        veil_paillier_add(x->out, x->pk, x->out, part);
    }
    mpz_clear(part);
}

static void op_mul_u64(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_mul_scalar(x->out, x->pk, x->c1, x->k64, &err), &err, "mul_scalar");
}

static void op_mul_neg64(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_mul_scalar(x->out, x->pk, x->c1, x->kneg, &err), &err, "mul_scalar");
}

/* The textbook scalar multiplication c^k mod n^2 for k in [0, n)
 * (mpz_powm, no use of the smaller of k and n - k). */
static void op_mul_textbook(bench_ctx *x)
{
    mpz_powm(x->out, x->c1, x->kfull, x->n2);
}

static void op_mul_full(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_mul_scalar(x->out, x->pk, x->c1, x->kfull, &err), &err, "mul_scalar");
}

static void op_batch_mul_scalar(bench_ctx *x)
{
    veil_err err;
    check(veil_paillier_mul_scalar_batch(x->br, x->pk, (const mpz_t *)x->bc, (const mpz_t *)x->bk,
                                         x->items, x->threads, &err),
          &err, "mul_scalar_batch");
}

static void op_batch_encrypt(bench_ctx *x)
{
    veil_err err;
    check(
        veil_paillier_encrypt_batch(x->bc, x->pk, (const mpz_t *)x->bm, x->items, x->threads, &err),
        &err, "encrypt_batch");
}

static void op_batch_decrypt(bench_ctx *x)
{
    veil_err err;
    check(
        veil_paillier_decrypt_batch(x->bd, x->sk, (const mpz_t *)x->bc, x->items, x->threads, &err),
        &err, "decrypt_batch");
}

/* ---- measuring and checking ----------------------------------------- */

/* Runs op until at least min_secs have passed and it ran at least min_runs
 * times. One untimed warm-up run first, except for key generation (each run
 * is expensive and there is nothing to warm up). */
static bench_row *measure(bench_table *t, bench_ctx *x, const char *id, const char *label,
                          void (*op)(bench_ctx *), double min_secs, unsigned min_runs,
                          unsigned long long ops_per_run, unsigned threads, int warmup)
{
    if (t->n == MAX_ROWS)
        die("too many result rows");
    if (warmup)
        op(x);
    unsigned long long runs = 0;
    double start = now_sec(), elapsed;
    do {
        op(x);
        runs++;
        elapsed = now_sec() - start;
    } while (elapsed < min_secs || runs < min_runs);
    bench_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    r->bits = x->bits;
    r->id = id;
    r->label = label;
    r->threads = threads;
    r->ops = runs * ops_per_run;
    r->secs = elapsed;
    return r;
}

static double ops_per_sec(const bench_row *r)
{
    return (double)r->ops / r->secs;
}

/* A single-value row of op with the scalar engine forced (the path of CPUs
 * without AVX512-IFMA), then the engine setting restored; NULL (no row)
 * unless the IFMA engine is what the default rows used. */
static bench_row *measure_scalar_engine(bench_table *t, bench_ctx *x, const char *id,
                                        const char *label, void (*op)(bench_ctx *))
{
    if (veil_engine_selected() != VEIL_ENGINE_AUTO || !veil_engine_ifma_supported())
        return NULL;
    veil_engine_select(VEIL_ENGINE_SCALAR);
    bench_row *r = measure(t, x, id, label, op, x->opts->seconds, 1, 1, 1, 1);
    veil_engine_select(VEIL_ENGINE_AUTO);
    return r;
}

static void compare(bench_row *r, const bench_row *ref)
{
    r->ratio = ops_per_sec(r) / ops_per_sec(ref);
    r->ratio_to = ref->id;
}

/* The 1-thread and all-threads rows of one batch operation, measured in
 * THREAD_ROUNDS alternating rounds of --seconds / 2 each, each row keeping
 * its fastest round: on a shared machine whose other tenants come and go,
 * alternating puts both rows under the same conditions, and the fastest
 * round is the one least disturbed. The ratio is all threads / 1 thread. */
#define THREAD_ROUNDS 5

/* nm: id and label of the 1-thread row, then of the all-threads row;
 * verify checks the results of the run just finished (untimed, after every
 * round of each row) and is given that row's id. */
static void measure_threads(bench_table *t, bench_ctx *x, const char *const nm[4],
                            void (*op)(bench_ctx *),
                            void (*verify)(const bench_ctx *, const char *), bench_row **one,
                            bench_row **all)
{
    const bench_opts *o = x->opts;
    if (t->n + 2 > MAX_ROWS)
        die("too many result rows");
    unsigned long long best_ops[2] = {0, 0};
    double best_secs[2] = {1, 1};
    unsigned threads[2] = {1, o->threads};
    x->threads = 1;
    op(x); /* warm-up */
    for (int round = 0; round < THREAD_ROUNDS; round++) {
        for (int k = 0; k < 2; k++) {
            x->threads = threads[k];
            unsigned long long runs = 0;
            double start = now_sec(), elapsed;
            do {
                op(x);
                runs++;
                elapsed = now_sec() - start;
            } while (elapsed < o->seconds / 2);
            verify(x, nm[2 * k]);
            unsigned long long ops = runs * x->items;
            if (best_ops[k] == 0 || ops / elapsed > best_ops[k] / best_secs[k]) {
                best_ops[k] = ops;
                best_secs[k] = elapsed;
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        bench_row *r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        r->bits = x->bits;
        r->id = nm[2 * k];
        r->label = nm[2 * k + 1];
        r->threads = threads[k];
        r->ops = best_ops[k];
        r->secs = best_secs[k];
        *(k == 0 ? one : all) = r;
    }
    compare(*all, *one);
}

static void print_header(const bench_opts *o, const bench_table *t)
{
    printf("veil-bench: %s mode, >= %.2f s per measurement, %u keys per keygen size, "
           "batches of %zu values, %u threads for batches\n"
           "%u CPUs available, load average %.2f, GMP %s, batch engine %s%s\n\n",
           o->full ? "full" : "quick", o->seconds, o->keygen_keys, o->batch_items, o->threads,
           veil_cpu_count(), t->load_start, gmp_version, veil_engine_name(),
           veil_engine_ifma_supported() ? " (AVX512-IFMA, 8 lanes)" : "");
    printf("%-5s %-40s %7s %12s %11s %8s  %s\n", "bits", "operation", "threads", "ops/s", "ms/op",
           "ops", "ratio");
    fflush(stdout);
}

static void print_row(const bench_row *r)
{
    printf("%-5u %-40s %7u %12.2f %11.4f %8llu", r->bits, r->label, r->threads, ops_per_sec(r),
           1000.0 * r->secs / (double)r->ops, r->ops);
    if (r->ratio > 0)
        printf("  %.2fx vs %s", r->ratio, r->ratio_to);
    putchar('\n');
    fflush(stdout);
}

/* Aborts unless ciphertext c decrypts (with veil's decryption) to m. */
static void expect_decrypts_to(const bench_ctx *x, const mpz_t c, const mpz_t m, const char *what)
{
    veil_err err;
    mpz_t d;
    mpz_init(d);
    check(veil_paillier_check_ct(x->pk, c, &err), &err, what);
    check(veil_paillier_decrypt(d, x->sk, c, &err), &err, what);
    if (mpz_cmp(d, m) != 0)
        die("%u-bit %s: a measured result does not decrypt to the expected plaintext", x->bits,
            what);
    mpz_clear(d);
}

/* Aborts unless d == m. */
static void expect_equal(const bench_ctx *x, const mpz_t d, const mpz_t m, const char *what)
{
    if (mpz_cmp(d, m) != 0)
        die("%u-bit %s: the measured decryption returned a wrong plaintext", x->bits, what);
}

/* ---- one key size ----------------------------------------------------- */

static mpz_t *vec_new(size_t count)
{
    mpz_t *v = malloc(count * sizeof *v);
    if (v == NULL)
        die("out of memory");
    for (size_t i = 0; i < count; i++)
        mpz_init(v[i]);
    return v;
}

static void vec_free(mpz_t *v, size_t count)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        mpz_clear(v[i]);
    free(v);
}

/* Fills in everything measured after keygen: plaintexts, ciphertexts,
 * scalars, the textbook key (lambda = lcm(p-1, q-1), mu = L(g^lambda mod
 * n^2)^-1 mod n with g = n + 1) and the batch column. */
static void prepare(bench_ctx *x)
{
    veil_err err;
    mpz_t p, q, t;
    mpz_inits(p, q, t, NULL);
    veil_paillier_pub_n(x->n, x->pk);
    veil_paillier_pub_n2(x->n2, x->pk);

    mpz_set_si(x->v1, -123456789L);
    mpz_set_si(x->v2, 987654321L);
    check(veil_paillier_encode(x->m1, x->pk, x->v1, &err), &err, "encode");
    check(veil_paillier_encode(x->m2, x->pk, x->v2, &err), &err, "encode");
    check(veil_paillier_encrypt(x->c1, x->pk, x->m1, &err), &err, "encrypt");
    check(veil_paillier_encrypt(x->c2, x->pk, x->m2, &err), &err, "encrypt");
    mpz_set_str(x->k64, "fedcba9876543210", 16);   /* 64 bits */
    mpz_set_str(x->kneg, "-7edcba9876543210", 16); /* -(63 bits) */
    veil_rand_mpz_below(x->kfull, x->n);

    veil_paillier_priv_p(p, x->sk);
    veil_paillier_priv_q(q, x->sk);
    mpz_sub_ui(p, p, 1);
    mpz_sub_ui(q, q, 1);
    mpz_lcm(x->lambda, p, q);
    mpz_add_ui(t, x->n, 1);
    mpz_powm(t, t, x->lambda, x->n2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, x->n);
    if (mpz_invert(x->mu, t, x->n) == 0)
        die("%u-bit key: L(g^lambda) is not invertible mod n", x->bits);
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);

    /* CRT constants: h_p = L_p((n + 1)^(p-1) mod p^2)^-1 mod p, etc. */
    veil_paillier_priv_p(x->p, x->sk);
    veil_paillier_priv_q(x->q, x->sk);
    mpz_mul(x->p2, x->p, x->p);
    mpz_mul(x->q2, x->q, x->q);
    mpz_sub_ui(x->pm1, x->p, 1);
    mpz_sub_ui(x->qm1, x->q, 1);
    mpz_add_ui(t, x->n, 1);
    mpz_powm(x->hp, t, x->pm1, x->p2);
    mpz_sub_ui(x->hp, x->hp, 1);
    mpz_divexact(x->hp, x->hp, x->p);
    mpz_powm(x->hq, t, x->qm1, x->q2);
    mpz_sub_ui(x->hq, x->hq, 1);
    mpz_divexact(x->hq, x->hq, x->q);
    if (mpz_invert(x->hp, x->hp, x->p) == 0 || mpz_invert(x->hq, x->hq, x->q) == 0 ||
        mpz_invert(x->pinv, x->p, x->q) == 0)
        die("%u-bit key: CRT constants are not invertible", x->bits);
    veil_paillier_pub_hs(x->hs, x->pk);
    /* veil's DJN exponent sizes (crypto/paillier_key.c, docs/paillier.md) */
    x->djn_bits = x->bits == 2048 ? 448 : x->bits == 3072 ? 512 : 608;

    x->items = x->opts->batch_items;
    x->bm = vec_new(x->items);
    x->bc = vec_new(x->items);
    x->bd = vec_new(x->items);
    x->bk = vec_new(x->items);
    x->br = vec_new(x->items);
    for (size_t i = 0; i < x->items; i++) {
        mpz_set_si(t, (long)(i * 1000003u) - 500000000L);
        check(veil_paillier_encode(x->bm[i], x->pk, t, &err), &err, "encode");
        /* full-size scalars, every other one negative */
        veil_rand_mpz_below(x->bk[i], x->n);
        if (i % 2)
            mpz_neg(x->bk[i], x->bk[i]);
    }
    veil_mpz_wipe(t);
}

/* Aborts unless br[i] is veil_paillier_mul_scalar(bc[i], bk[i]) for every
 * seventh i, and one of them decrypts to k m. */
static void expect_mul_batch(const bench_ctx *x, const char *what)
{
    veil_err err;
    mpz_t want;
    mpz_init(want);
    for (size_t i = 0; i < x->items; i += 7) {
        check(veil_paillier_mul_scalar(want, x->pk, x->bc[i], x->bk[i], &err), &err, what);
        if (mpz_cmp(want, x->br[i]) != 0)
            die("%u-bit %s: value %zu differs from veil_paillier_mul_scalar", x->bits, what, i);
    }
    mpz_mul(want, x->bm[1], x->bk[1]);
    mpz_mod(want, want, x->n);
    expect_decrypts_to(x, x->br[1], want, what);
    mpz_clear(want);
}

/* One-thread batch rows with the engine forced to `e`; the ratio is against
 * the textbook reference. The engine in use is part of the label. */
static void bench_engine_rows(bench_table *tab, bench_ctx *x, veil_engine e, const char *suffix)
{
    const bench_opts *o = x->opts;
    const unsigned long long items = x->items;
    static char labels[MAX_ROWS][3][64];
    static char ids[MAX_ROWS][3][40];
    veil_engine saved = veil_engine_selected();
    veil_engine_select(e);
    const char *name = veil_engine_name();
    size_t slot = tab->n;
    snprintf(labels[slot][0], sizeof labels[slot][0], "batch encrypt, 1 thread, %s", name);
    snprintf(ids[slot][0], sizeof ids[slot][0], "batch_encrypt_1_%s", suffix);
    snprintf(labels[slot][1], sizeof labels[slot][1], "batch decrypt, 1 thread, %s", name);
    snprintf(ids[slot][1], sizeof ids[slot][1], "batch_decrypt_1_%s", suffix);
    snprintf(labels[slot][2], sizeof labels[slot][2], "batch scalar multiply, 1 thread, %s", name);
    snprintf(ids[slot][2], sizeof ids[slot][2], "batch_mul_scalar_1_%s", suffix);

    x->threads = 1;
    bench_row *r = measure(tab, x, ids[slot][0], labels[slot][0], op_batch_encrypt, o->seconds, 1,
                           items, 1, 1);
    compare(r, x->ref_encrypt);
    print_row(r);
    for (size_t i = 0; i < x->items; i += 7)
        expect_decrypts_to(x, x->bc[i], x->bm[i], ids[slot][0]);
    r = measure(tab, x, ids[slot][1], labels[slot][1], op_batch_decrypt, o->seconds, 1, items, 1,
                1);
    compare(r, x->ref_decrypt);
    print_row(r);
    for (size_t i = 0; i < x->items; i++)
        expect_equal(x, x->bd[i], x->bm[i], ids[slot][1]);
    r = measure(tab, x, ids[slot][2], labels[slot][2], op_batch_mul_scalar, o->seconds, 1, items, 1,
                1);
    compare(r, x->ref_mul);
    print_row(r);
    expect_mul_batch(x, ids[slot][2]);
    veil_engine_select(saved);
}

static void check_batch_encrypt(const bench_ctx *x, const char *what)
{
    expect_decrypts_to(x, x->bc[0], x->bm[0], what);
    expect_decrypts_to(x, x->bc[x->items - 1], x->bm[x->items - 1], what);
}

static void check_batch_decrypt(const bench_ctx *x, const char *what)
{
    for (size_t i = 0; i < x->items; i++)
        expect_equal(x, x->bd[i], x->bm[i], what);
}

static void bench_batches(bench_table *tab, bench_ctx *x)
{
    bench_row *one, *all;

    /* The arithmetic engines side by side (the IFMA rows only where the CPU
     * has AVX512-IFMA and VEIL_ENGINE does not say scalar). */
    bench_engine_rows(tab, x, VEIL_ENGINE_SCALAR, "scalar");
    if (veil_engine_selected() == VEIL_ENGINE_AUTO && veil_engine_ifma_supported())
        bench_engine_rows(tab, x, VEIL_ENGINE_AUTO, "ifma");

    static const char *const enc[4] = {"batch_encrypt_1", "batch encrypt, 1 thread",
                                       "batch_encrypt_all", "batch encrypt, all threads"};
    static const char *const dec[4] = {"batch_decrypt_1", "batch decrypt, 1 thread",
                                       "batch_decrypt_all", "batch decrypt, all threads"};
    measure_threads(tab, x, enc, op_batch_encrypt, check_batch_encrypt, &one, &all);
    print_row(one);
    print_row(all);

    measure_threads(tab, x, dec, op_batch_decrypt, check_batch_decrypt, &one, &all);
    print_row(one);
    print_row(all);
}

static void bench_bits(bench_table *tab, const bench_opts *o, unsigned bits)
{
    bench_ctx x;
    memset(&x, 0, sizeof x);
    x.opts = o;
    x.bits = bits;
    mpz_inits(x.n, x.n2, x.v1, x.v2, x.m1, x.m2, x.c1, x.c2, x.out, x.k64, x.kneg, x.kfull,
              x.lambda, x.mu, x.p, x.q, x.p2, x.q2, x.pm1, x.qm1, x.hp, x.hq, x.pinv, x.hs, NULL);
    mpz_t want;
    mpz_init(want);
    bench_row *ref, *r;

    /* Key generation; the last key made is the one measured below. */
    ref = measure(tab, &x, "keygen_textbook", "keygen textbook (two random primes)",
                  op_keygen_textbook, 0.0, o->keygen_keys, 1, 1, 0);
    print_row(ref);
    r = measure(tab, &x, "keygen", "keygen (DJN, veil default)", op_keygen, 0.0, o->keygen_keys, 1,
                1, 0);
    compare(r, ref);
    print_row(r);
    prepare(&x);
    expect_decrypts_to(&x, x.c1, x.m1, "keygen");

    ref = measure(tab, &x, "encrypt_textbook", "encrypt textbook (r^n)", op_encrypt_textbook,
                  o->seconds, 1, 1, 1, 1);
    print_row(ref);
    x.ref_encrypt = ref;
    expect_decrypts_to(&x, x.out, x.m1, "encrypt_textbook");
    r = measure(tab, &x, "encrypt",
                veil_paillier_pub_is_djn(x.pk) ? "encrypt (DJN table, veil default)"
                                               : "encrypt (veil default)",
                op_encrypt, o->seconds, 1, 1, 1, 1);
    compare(r, ref);
    print_row(r);
    expect_decrypts_to(&x, x.out, x.m1, "encrypt");
    /* Each optimisation alone. */
    /* The default above spreads one exponent's windows over the IFMA
     * lanes; this is the same table on the scalar path. */
    if (veil_paillier_pub_is_djn(x.pk) &&
        (r = measure_scalar_engine(tab, &x, "encrypt_scalar", "encrypt, DJN table, scalar engine",
                                   op_encrypt)) != NULL) {
        compare(r, ref);
        print_row(r);
        expect_decrypts_to(&x, x.out, x.m1, "encrypt_scalar");
    }
    if (veil_paillier_pub_is_djn(x.pk)) {
        r = measure(tab, &x, "encrypt_djn_powm", "encrypt, DJN alone (powm_sec, no table)",
                    op_encrypt_djn_powm, o->seconds, 1, 1, 1, 1);
        compare(r, ref);
        print_row(r);
        expect_decrypts_to(&x, x.out, x.m1, "encrypt_djn_powm");
    }
    {
        veil_err err;
        /* Enough randomizers for the warm-up and the measured runs. */
        unsigned pooled = o->batch_items * 16u;
        check(veil_paillier_pool_new(&x.pool, x.pk, pooled + 1u, &err), &err, "pool_new");
        check(veil_paillier_pool_fill(x.pool, 0, &err), &err, "pool_fill");
        r = measure(tab, &x, "encrypt_pooled", "encrypt, filled pool alone (online)",
                    op_encrypt_pooled, 0.0, pooled, 1, 1, 1);
        if (veil_paillier_pool_misses(x.pool) != 0)
            die("the pool ran dry during the pooled-encryption row");
        compare(r, ref);
        print_row(r);
        expect_decrypts_to(&x, x.out, x.m1, "encrypt_pooled");
        veil_paillier_pool_free(x.pool);
        x.pool = NULL;
    }

    ref = measure(tab, &x, "decrypt_textbook", "decrypt textbook (c^lambda, no CRT)",
                  op_decrypt_textbook, o->seconds, 1, 1, 1, 1);
    print_row(ref);
    x.ref_decrypt = ref;
    expect_equal(&x, x.out, x.m1, "decrypt_textbook");
    r = measure(tab, &x, "decrypt", "decrypt (CRT, veil default)", op_decrypt, o->seconds, 1, 1, 1,
                1);
    compare(r, ref);
    print_row(r);
    expect_equal(&x, x.out, x.m1, "decrypt");
    /* The default above runs the two half-exponentiations on the IFMA
     * engine, one number across the lanes; this is the scalar path. */
    if ((r = measure_scalar_engine(tab, &x, "decrypt_openssl", "decrypt, CRT, OpenSSL consttime",
                                   op_decrypt)) != NULL) {
        compare(r, ref);
        print_row(r);
        expect_equal(&x, x.out, x.m1, "decrypt_openssl");
    }
    r = measure(tab, &x, "decrypt_crt_gmp", "decrypt, CRT alone (GMP mpz_powm_sec)",
                op_decrypt_crt_gmp, o->seconds, 1, 1, 1, 1);
    compare(r, ref);
    print_row(r);
    expect_equal(&x, x.out, x.m1, "decrypt_crt_gmp");

    mpz_add(want, x.m1, x.m2);
    mpz_mod(want, want, x.n);
    ref = measure(tab, &x, "add_textbook", "add textbook (mpz_mul + mpz_mod)", op_add_textbook,
                  o->seconds, 1, 1, 1, 1);
    print_row(ref);
    expect_decrypts_to(&x, x.out, want, "add_textbook");
    r = measure(tab, &x, "add", "add (c1 * c2 mod n^2, veil default)", op_add, o->seconds, 1, 1, 1,
                1);
    compare(r, ref);
    print_row(r);
    expect_decrypts_to(&x, x.out, want, "add");

    x.agg = malloc(AGG_CHUNK * sizeof *x.agg);
    if (x.agg == NULL)
        die("out of memory");
    for (size_t i = 0; i < AGG_CHUNK; i++)
        mpz_init_set(x.agg[i], i % 2 == 0 ? x.c1 : x.c2);
    /* 10^6 ciphertexts, half of m1, half of m2. */
    mpz_add(want, x.m1, x.m2);
    mpz_mul_ui(want, want, AGG_CHUNK / 2 * AGG_ROUNDS);
    mpz_mod(want, want, x.n);
    ref = measure(tab, &x, "aggregate_textbook", "aggregate 10^6 textbook (mul+mod each)",
                  op_aggregate_textbook, 0, 1, (unsigned long long)AGG_CHUNK * AGG_ROUNDS, 1, 0);
    print_row(ref);
    expect_decrypts_to(&x, x.out, want, "aggregate_textbook");
    r = measure(tab, &x, "aggregate", "aggregate 10^6 (add_many, veil default)", op_aggregate, 0, 1,
                (unsigned long long)AGG_CHUNK * AGG_ROUNDS, 1, 0);
    compare(r, ref);
    print_row(r);
    expect_decrypts_to(&x, x.out, want, "aggregate");
    for (size_t i = 0; i < AGG_CHUNK; i++)
        mpz_clear(x.agg[i]);
    free(x.agg);
    x.agg = NULL;

    r = measure(tab, &x, "mul_scalar_u64", "scalar multiply (64-bit k)", op_mul_u64, o->seconds, 1,
                1, 1, 1);
    print_row(r);
    mpz_mul(want, x.m1, x.k64);
    mpz_mod(want, want, x.n);
    expect_decrypts_to(&x, x.out, want, "mul_scalar_u64");

    r = measure(tab, &x, "mul_scalar_neg64", "scalar multiply (negative 64-bit k)", op_mul_neg64,
                o->seconds, 1, 1, 1, 1);
    print_row(r);
    mpz_mul(want, x.m1, x.kneg);
    mpz_mod(want, want, x.n);
    expect_decrypts_to(&x, x.out, want, "mul_scalar_neg64");

    mpz_mul(want, x.m1, x.kfull);
    mpz_mod(want, want, x.n);
    ref = measure(tab, &x, "mul_scalar_textbook", "scalar multiply textbook (c^k, k < n)",
                  op_mul_textbook, o->seconds, 1, 1, 1, 1);
    print_row(ref);
    x.ref_mul = ref;
    expect_decrypts_to(&x, x.out, want, "mul_scalar_textbook");
    r = measure(tab, &x, "mul_scalar_full", "scalar multiply (random k < n)", op_mul_full,
                o->seconds, 1, 1, 1, 1);
    compare(r, ref);
    print_row(r);
    expect_decrypts_to(&x, x.out, want, "mul_scalar_full");

    bench_batches(tab, &x);

    vec_free(x.bm, x.items);
    vec_free(x.bc, x.items);
    vec_free(x.bd, x.items);
    vec_free(x.bk, x.items);
    vec_free(x.br, x.items);
    veil_mpz_wipe(x.lambda);
    veil_mpz_wipe(x.mu);
    mpz_t *crt[] = {&x.p, &x.q, &x.p2, &x.q2, &x.pm1, &x.qm1, &x.hp, &x.hq, &x.pinv, &x.hs};
    for (size_t i = 0; i < sizeof crt / sizeof crt[0]; i++)
        veil_mpz_wipe(*crt[i]);
    mpz_clears(want, x.n, x.n2, x.v1, x.v2, x.m1, x.m2, x.c1, x.c2, x.out, x.k64, x.kneg, x.kfull,
               NULL);
    veil_paillier_priv_free(x.sk);
}

/* ---- machine-readable output ------------------------------------------ */

/* Writes data to path through a temporary file in the same directory,
 * fsynced and renamed into place, so a reader never sees half a file. */
static void write_atomic(const char *path, const char *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL)
        die("out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0)
        die("%s: cannot create a temporary file: %s", path, strerror(errno));
    mode_t um = umask(0);
    umask(um);
    int ok = fchmod(fd, 0666 & ~um) == 0;
    size_t done = 0;
    while (ok && done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            ok = 0;
        else
            done += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        die("%s: cannot write: %s", path, strerror(saved));
    }
    free(tmp);
}

/* A text field, quoted by libcsv. Numbers are written bare. */
/* Fails early, before minutes of measuring, if path's directory does not
 * take a new file. */
static void probe_writable(const char *path)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL)
        die("out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0)
        die_usage("%s: cannot create a file there: %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
}

static void csv_text(FILE *f, const char *s)
{
    if (csv_fwrite(f, s, strlen(s)) != 0)
        die("CSV output: out of memory");
}

static void write_csv(const char *path, const bench_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        die("out of memory");
    fputs("bits,operation,description,threads,ops,seconds,ops_per_sec,ms_per_op,ratio,ratio_to\n",
          f);
    for (size_t i = 0; i < t->n; i++) {
        const bench_row *r = &t->rows[i];
        fprintf(f, "%u,", r->bits);
        csv_text(f, r->id);
        fputc(',', f);
        csv_text(f, r->label);
        fprintf(f, ",%u,%llu,%.6f,%.3f,%.6f,", r->threads, r->ops, r->secs, ops_per_sec(r),
                1000.0 * r->secs / (double)r->ops);
        if (r->ratio > 0) {
            fprintf(f, "%.4f,", r->ratio);
            csv_text(f, r->ratio_to);
        } else {
            fputc(',', f);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        die("CSV output: out of memory");
    write_atomic(path, buf, len);
    free(buf);
}

static void json_put(json_t *obj, const char *key, json_t *val)
{
    if (val == NULL || json_object_set_new(obj, key, val) != 0)
        die("JSON output: out of memory");
}

static void write_json(const char *path, const bench_table *t, const bench_opts *o)
{
    json_t *root = json_object(), *results = json_array(), *bits = json_array();
    if (root == NULL || results == NULL || bits == NULL)
        die("JSON output: out of memory");
    for (size_t i = 0; i < o->nbits; i++)
        if (json_array_append_new(bits, json_integer(o->bits[i])) != 0)
            die("JSON output: out of memory");
    json_put(root, "tool", json_string("veil-bench"));
    json_put(root, "mode", json_string(o->full ? "full" : "quick"));
    json_put(root, "seconds_per_measurement", json_real(o->seconds));
    json_put(root, "keygen_keys", json_integer(o->keygen_keys));
    json_put(root, "batch_items", json_integer((json_int_t)o->batch_items));
    json_put(root, "threads", json_integer(o->threads));
    json_put(root, "cpus", json_integer(veil_cpu_count()));
    json_put(root, "gmp_version", json_string(gmp_version));
    json_put(root, "bits", bits);
    json_put(root, "load_average_start", json_real(t->load_start));
    json_put(root, "load_average_end", json_real(t->load_end));
    json_put(root, "wall_seconds", json_real(t->wall_secs));
    for (size_t i = 0; i < t->n; i++) {
        const bench_row *r = &t->rows[i];
        json_t *row = json_object();
        if (row == NULL)
            die("JSON output: out of memory");
        json_put(row, "bits", json_integer(r->bits));
        json_put(row, "operation", json_string(r->id));
        json_put(row, "description", json_string(r->label));
        json_put(row, "threads", json_integer(r->threads));
        json_put(row, "ops", json_integer((json_int_t)r->ops));
        json_put(row, "seconds", json_real(r->secs));
        json_put(row, "ops_per_sec", json_real(ops_per_sec(r)));
        json_put(row, "ms_per_op", json_real(1000.0 * r->secs / (double)r->ops));
        json_put(row, "ratio", r->ratio > 0 ? json_real(r->ratio) : json_null());
        json_put(row, "ratio_to", r->ratio > 0 ? json_string(r->ratio_to) : json_null());
        if (json_array_append_new(results, row) != 0)
            die("JSON output: out of memory");
    }
    json_put(root, "results", results);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (text == NULL)
        die("JSON output: out of memory");
    size_t len = strlen(text);
    char *withnl = malloc(len + 2);
    if (withnl == NULL)
        die("out of memory");
    memcpy(withnl, text, len);
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    write_atomic(path, withnl, len + 1);
    free(withnl);
    free(text);
    json_decref(root);
}

/* ---- options ---------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: veil-bench [--quick | --full] [--bits LIST] [--seconds S] [--threads N]\n"
          "                  [--batch N] [--csv FILE] [--json FILE] [--help]\n"
          "\n"
          "Measures operations per second of veil's Paillier primitives and of textbook\n"
          "references, and prints an aligned table on stdout.\n"
          "\n"
          "  --quick        short run (default): 0.5 s per measurement, 3 keys per size,\n"
          "                 batches of 64 values; under 2 minutes on 2 cores\n"
          "  --full         longer run: 2 s per measurement, 10 keys, batches of 256\n"
          "  --bits LIST    comma-separated key sizes (2048, 3072, 4096); default 2048,3072\n"
          "  --seconds S    minimum time per measurement, 0 < S <= 600\n"
          "  --threads N    threads for the 'all threads' batch rows (default: all CPUs)\n"
          "  --batch N      values per batch call, 1..100000\n"
          "  --csv FILE     also write the results as CSV\n"
          "  --json FILE    also write the results as JSON\n"
          "  --deid         only the de-identification benchmark (1,000,000 rows)\n"
          "  --anon[=DIR]   only the optimal k-anonymity search (Adult in DIR, default\n"
          "                 data/adult, and 1,000,000 generated rows)\n"
          "  --threshold    only threshold Paillier (2048 bits, t = 3, 5, 9)\n"
          "  --sum[=MAX]    only secure sums over TLS on 127.0.0.1: 10^4 .. MAX elements\n"
          "                 (a power of ten, default 10^7), 3, 5, 7 compute parties;\n"
          "                 --csv FILE also writes the rows as CSV\n"
          "  --psi          only the private-join group operations (ristretto255): hash+blind,\n"
          "                 blind, ElGamal tag encrypt/re-randomize/decrypt, 1 and all threads,\n"
          "                 and the 65536-tag table; --batch N elements per call (default\n"
          "                 1024), --seconds, --threads, --csv, --json apply\n"
          "  --help         show this help\n",
          f);
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void parse_bits(bench_opts *o, const char *arg)
{
    char *copy = strdup(arg);
    if (copy == NULL)
        die("out of memory");
    o->nbits = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        unsigned long b;
        if (parse_ulong(tok, 1, 65536, &b) != 0 || !veil_paillier_bits_supported((unsigned)b))
            die_usage("--bits: '%s' is not a supported key size (2048, 3072 or 4096)", tok);
        if (o->nbits == MAX_BITS_LIST)
            die_usage("--bits: at most %d sizes", MAX_BITS_LIST);
        o->bits[o->nbits++] = (unsigned)b;
    }
    free(copy);
    if (o->nbits == 0)
        die_usage("--bits: give at least one key size, e.g. --bits 2048,3072");
}

static void parse_options(bench_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},
        {"full", no_argument, NULL, 'f'},
        {"bits", required_argument, NULL, 'b'},
        {"seconds", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, 'n'},
        {"csv", required_argument, NULL, 'c'},
        {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"deid", no_argument, NULL, 'D'},
        {"threshold", no_argument, NULL, 'T'},
        {"anon", optional_argument, NULL, 'A'},
        {"sum", optional_argument, NULL, 'S'},
        {"psi", no_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    double seconds = 0;
    unsigned long threads = 0, batch = 0;
    int ch;
    memset(o, 0, sizeof *o);
    o->bits[0] = 2048;
    o->bits[1] = 3072;
    o->nbits = 2;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'q': o->full = 0; break;
        case 'f': o->full = 1; break;
        case 'b': parse_bits(o, optarg); break;
        case 's': {
            char *end;
            errno = 0;
            seconds = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(seconds > 0 && seconds <= 600))
                die_usage("--seconds: '%s' is not a number of seconds in (0, 600]", optarg);
            break;
        }
        case 't':
            if (parse_ulong(optarg, 1, VEIL_BATCH_MAX_THREADS, &threads) != 0)
                die_usage("--threads: '%s' is not a thread count in 1..%u", optarg,
                          VEIL_BATCH_MAX_THREADS);
            break;
        case 'n':
            if (parse_ulong(optarg, 1, 100000, &batch) != 0)
                die_usage("--batch: '%s' is not a value count in 1..100000", optarg);
            break;
        case 'c': o->csv_path = optarg; break;
        case 'j': o->json_path = optarg; break;
        case 'T': o->threshold = 1; break;
        case 'P': o->psi = 1; break;
        case 'S': {
            unsigned long max = 10000000;
            if (optarg != NULL && parse_ulong(optarg, 10000, 100000000, &max) != 0)
                die_usage("--sum: '%s' is not an element count in 10000..100000000", optarg);
            o->sum = max;
            break;
        }
        case 'h': usage(stdout); exit(0);
        case 'D': exit(veil_bench_deid(1000000)); /* de-identification rows/s only */
        case 'A': exit(veil_bench_anon(optarg ? optarg : "data/adult"));
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s' (see --help)", argv[optind]);
    o->seconds = seconds > 0 ? seconds : (o->full ? 2.0 : 0.5);
    o->keygen_keys = o->full ? 10 : 3;
    o->batch_items = batch > 0 ? batch : (o->full ? 256 : 64);
    o->batch = batch;
    o->threads = threads > 0 ? (unsigned)threads : veil_cpu_count();
}

int main(int argc, char **argv)
{
    bench_opts opts;
    static bench_table table;

    parse_options(&opts, argc, argv);
    /* VEIL_ENGINE=scalar measures without the IFMA engine (veil/engine.h). */
    veil_engine engine;
    if (veil_engine_parse(getenv("VEIL_ENGINE"), &engine) != 0)
        die_usage("VEIL_ENGINE must be auto, ifma or scalar");
    veil_engine_select(engine);
    /* Same GMP allocator as the veil command, so the numbers match it. */
    veil_gmp_use_zeroizing_allocator();
    if (veil_crypto_init() != 0)
        die("libsodium failed to initialize");

    if (opts.threshold)
        return veil_bench_threshold(opts.full, opts.seconds);
    if (opts.sum)
        return veil_bench_sum(opts.sum, opts.csv_path);
    if (opts.psi)
        return veil_bench_psi(opts.seconds, opts.threads, opts.batch > 0 ? opts.batch : 1024,
                              opts.csv_path, opts.json_path);
    if (opts.csv_path != NULL)
        probe_writable(opts.csv_path);
    if (opts.json_path != NULL)
        probe_writable(opts.json_path);
    table.load_start = load_average();
    print_header(&opts, &table);
    double start = now_sec();
    for (size_t i = 0; i < opts.nbits; i++)
        bench_bits(&table, &opts, opts.bits[i]);
    table.wall_secs = now_sec() - start;
    table.load_end = load_average();
    printf("\nall results checked by decryption; %.1f s in all, load average %.2f at the end\n",
           table.wall_secs, table.load_end);
    if (opts.csv_path != NULL)
        write_csv(opts.csv_path, &table);
    if (opts.json_path != NULL)
        write_json(opts.json_path, &table, &opts);
    return 0;
}
