/* Batch Paillier encryption, decryption and scalar multiplication on the
 * worker pool (veil/workers.h): one contiguous chunk per worker, results
 * reported by the lowest failing index. With the IFMA engine (mb52.h,
 * veil/engine.h) each worker runs its chunk in groups of eight, the
 * remainder as a partial group with padding lanes. */
#define _GNU_SOURCE /* sched_getaffinity and CPU_COUNT */
#include "veil/batch.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "paillier_internal.h"
#include "veil/engine.h"
#include "veil/rand.h"
#include "veil/workers.h"

typedef enum { BATCH_ENCRYPT, BATCH_DECRYPT, BATCH_MUL_SCALAR } batch_op;

/* One worker's slice [begin, end) of the column and its private result.
 * Workers share only read-only inputs (key, input array); everything they
 * write lives in their own job or in out[begin..end). */
typedef struct {
    batch_op op;
    const veil_paillier_pub *pk;
    const veil_paillier_priv *sk;
    mpz_t *out;
    const mpz_t *in;
    const mpz_t *k; /* the scalars of BATCH_MUL_SCALAR */
    size_t begin, end;
    veil_status st;
    size_t failed_at; /* valid when st != VEIL_OK */
    veil_err err;
    int mb; /* run through the IFMA engine */
} batch_job;

unsigned veil_cpu_count(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = 1;
    if (online > 0)
        n = online > (long)UINT_MAX ? UINT_MAX : (unsigned)online;
#ifdef __linux__
    /* A process pinned to fewer CPUs (taskset, cgroup cpusets) must not
     * start more workers than it can run. Masks wider than cpu_set_t make
     * the call fail; the online count is used then. */
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int allowed = CPU_COUNT(&set);
        if (allowed > 0 && (unsigned)allowed < n)
            n = (unsigned)allowed;
    }
#endif
    return n;
}

/* Checks one input as the single-value call would. */
static veil_status check_input(const batch_job *job, size_t i, veil_err *err)
{
    if (job->op == BATCH_ENCRYPT)
        return veil_paillier_check_plain(job->pk, job->in[i], err);
    return veil_paillier_check_ct(job->pk, job->in[i], err);
}

/* One group through the engine: 0, -1 when out of memory, or (scalar
 * multiplication) 1 + lane of a power that cannot be inverted. */
static int run_group_mb(batch_job *job, mpz_t *const out[VEIL_MB_LANES],
                        const mpz_t *const in[VEIL_MB_LANES], const mpz_t *const k[VEIL_MB_LANES])
{
    switch (job->op) {
    case BATCH_ENCRYPT: return veil_paillier_encrypt_mb(out, job->pk, in);
    case BATCH_DECRYPT: return veil_paillier_decrypt_mb(out, job->sk, in);
    default: return veil_paillier_mul_scalar_mb(out, job->pk, in, k);
    }
}

/* The slice in groups of VEIL_MB_LANES through the engine. Every input of a
 * group is checked (in order) before the group runs, so the first failure
 * is still the lowest failing index. */
/* Up to these many values a partial group is cheaper one value at a time
 * on the engine's single-value paths than as a group with padding lanes:
 * measured at 2048 bits, one encryption costs 0.13 ms against 0.59 ms for
 * a group, one decryption (veil_mb_powm_pair) 0.86 ms against 3.25 ms. */
#define SINGLE_ENCRYPT_MAX 4
#define SINGLE_DECRYPT_MAX 3

static int singles_pay(batch_op op, size_t n)
{
    return (op == BATCH_ENCRYPT && n <= SINGLE_ENCRYPT_MAX) ||
           (op == BATCH_DECRYPT && n <= SINGLE_DECRYPT_MAX);
}

static void run_job_range(batch_job *job, size_t begin, size_t end);

static void run_job_mb(batch_job *job)
{
    for (size_t i = job->begin; i < job->end; i += VEIL_MB_LANES) {
        size_t n = job->end - i < VEIL_MB_LANES ? job->end - i : VEIL_MB_LANES;
        if (singles_pay(job->op, n)) {
            run_job_range(job, i, i + n);
            return; /* only the last group of a chunk is partial */
        }
        const mpz_t *in[VEIL_MB_LANES] = {NULL}, *k[VEIL_MB_LANES] = {NULL};
        mpz_t *out[VEIL_MB_LANES] = {NULL};
        for (size_t l = 0; l < n; l++) {
            veil_status st = check_input(job, i + l, &job->err);
            if (st != VEIL_OK) {
                job->st = st;
                job->failed_at = i + l;
                return;
            }
            in[l] = &job->in[i + l];
            out[l] = &job->out[i + l];
            if (job->k != NULL)
                k[l] = &job->k[i + l];
        }
        int rc = run_group_mb(job, out, in, k);
        if (rc > 0) {
            job->st = veil_err_set(&job->err, VEIL_ERR_CRYPTO, "ciphertext is not invertible");
            job->failed_at = i + (size_t)(rc - 1);
            return;
        }
        if (rc != 0) {
            job->st = veil_err_set(&job->err, VEIL_ERR_NOMEM, "out of memory (IFMA engine)");
            job->failed_at = i;
            return;
        }
    }
}

/* Processes the job's slice in order and stops at its first failure, so the
 * failure it records is the lowest failing index of its slice. */
static void run_job(batch_job *job)
{
    job->st = VEIL_OK;
    if (job->mb) {
        run_job_mb(job);
        return;
    }
    run_job_range(job, job->begin, job->end);
}

/* Values [begin, end) of the job one by one with the single-value calls;
 * stops at the first failure. */
static void run_job_range(batch_job *job, size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++) {
        veil_status st;
        if (job->op == BATCH_ENCRYPT)
            st = veil_paillier_encrypt(job->out[i], job->pk, job->in[i], &job->err);
        else if (job->op == BATCH_DECRYPT)
            st = veil_paillier_decrypt(job->out[i], job->sk, job->in[i], &job->err);
        else if ((st = check_input(job, i, &job->err)) == VEIL_OK)
            st = veil_paillier_mul_scalar(job->out[i], job->pk, job->in[i], job->k[i], &job->err);
        if (st != VEIL_OK) {
            job->st = st;
            job->failed_at = i;
            return;
        }
    }
}

static void job_task(void *arg)
{
    run_job(arg);
}

static size_t worker_count(size_t count, unsigned threads)
{
    size_t n = threads == 0 ? veil_cpu_count() : threads;
    if (n > VEIL_BATCH_MAX_THREADS)
        n = VEIL_BATCH_MAX_THREADS;
    if (n > count)
        n = count;
    return n;
}

/* Splits the column into contiguous chunks and runs them on the worker
 * pool and the calling thread (veil_workers_run: a thread shortage slows a
 * batch down but never fails it). Because chunks are in index order, the
 * first failing chunk holds the lowest failing index. */
static veil_status run_batch(batch_op op, const veil_paillier_pub *pk, const veil_paillier_priv *sk,
                             mpz_t *out, const mpz_t *in, const mpz_t *k, size_t count,
                             unsigned threads, veil_err *err)
{
    veil_status st = VEIL_OK;
    batch_job *jobs = NULL;

    veil_err_clear(err);
    if (count == 0)
        return VEIL_OK;
    if (pk == NULL || out == NULL || in == NULL || (op == BATCH_MUL_SCALAR && k == NULL))
        return veil_err_set(err, VEIL_ERR_USAGE, "batch of %zu values: key or array is NULL",
                            count);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "batch: libsodium failed to initialize");

    /* Read the engine setting once: every worker of this call uses the
     * same path. DJN keys only: textbook encryption stays scalar. */
    int mb = 0;
    if (veil_mb_active()) {
        switch (op) {
        case BATCH_ENCRYPT: mb = pk->djn && pk->mb_ok; break;
        case BATCH_DECRYPT: mb = sk != NULL && sk->mb_ok; break;
        default: mb = pk->mb_ok;
        }
    }
    size_t nworkers = worker_count(count, threads);
    /* Whole groups of eight per worker where possible. */
    if (mb && nworkers > 1) {
        size_t groups = (count + VEIL_MB_LANES - 1) / VEIL_MB_LANES;
        if (nworkers > groups)
            nworkers = groups;
    }
    jobs = calloc(nworkers, sizeof *jobs);
    if (jobs == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "batch of %zu values: out of memory", count);
        goto done;
    }
    /* Chunk sizes: nearly equal values, or with the engine nearly equal
     * numbers of groups of eight (only the last chunk has a partial group). */
    size_t unit = mb ? VEIL_MB_LANES : 1;
    size_t units = (count + unit - 1) / unit;
    size_t base = units / nworkers, extra = units % nworkers, begin = 0;
    for (size_t w = 0; w < nworkers; w++) {
        batch_job *job = &jobs[w];
        job->mb = mb;
        job->op = op;
        job->pk = pk;
        job->sk = sk;
        job->out = out;
        job->in = in;
        job->k = k;
        job->begin = begin;
        job->end = begin + (base + (w < extra ? 1 : 0)) * unit;
        if (job->end > count)
            job->end = count;
        begin = job->end;
        veil_err_clear(&job->err);
    }

    veil_workers_run(job_task, jobs, sizeof *jobs, nworkers);

    for (size_t w = 0; w < nworkers; w++) {
        if (jobs[w].st == VEIL_OK)
            continue;
        st = jobs[w].st;
        if (err != NULL) {
            *err = jobs[w].err;
            veil_err_prefix(err, "value %zu", jobs[w].failed_at);
        }
        break;
    }

done:
    if (st != VEIL_OK)
        for (size_t i = 0; i < count; i++)
            mpz_set_ui(out[i], 0);
    free(jobs);
    return st;
}

veil_status veil_paillier_encrypt_batch(mpz_t *c, const veil_paillier_pub *pk, const mpz_t *m,
                                        size_t count, unsigned threads, veil_err *err)
{
    return run_batch(BATCH_ENCRYPT, pk, NULL, c, m, NULL, count, threads, err);
}

veil_status veil_paillier_decrypt_batch(mpz_t *m, const veil_paillier_priv *sk, const mpz_t *c,
                                        size_t count, unsigned threads, veil_err *err)
{
    if (sk == NULL && count > 0) {
        veil_err_clear(err);
        return veil_err_set(err, VEIL_ERR_USAGE, "batch of %zu values: key is NULL", count);
    }
    return run_batch(BATCH_DECRYPT, sk != NULL ? veil_paillier_priv_pub(sk) : NULL, sk, m, c, NULL,
                     count, threads, err);
}

veil_status veil_paillier_mul_scalar_batch(mpz_t *r, const veil_paillier_pub *pk, const mpz_t *c,
                                           const mpz_t *k, size_t count, unsigned threads,
                                           veil_err *err)
{
    return run_batch(BATCH_MUL_SCALAR, pk, NULL, r, c, k, count, threads, err);
}
