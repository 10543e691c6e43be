/* Precomputed randomizers for the offline/online split of encryption. */
#include "veil/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "paillier_internal.h"
#include "veil/batch.h"
#include "veil/rand.h"

struct veil_paillier_pool {
    const veil_paillier_pub *pk;
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    mpz_t *slots; /* slots[0 .. count) are ready */
    size_t capacity, count, misses;
    int stopping, has_thread;
    pthread_t thread;
};

veil_status veil_paillier_pool_new(veil_paillier_pool **out, const veil_paillier_pub *pk,
                                   size_t capacity, veil_err *err)
{
    *out = NULL;
    if (capacity == 0 || capacity > ((size_t)1 << 28))
        return veil_err_set(err, VEIL_ERR_USAGE, "pool capacity must be 1 to 2^28");
    veil_paillier_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->slots = calloc(capacity, sizeof(mpz_t))) == NULL) {
        free(p);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < capacity; i++)
        mpz_init(p->slots[i]);
    p->pk = pk;
    p->capacity = capacity;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->not_full, NULL);
    *out = p;
    return VEIL_OK;
}

/* Adds a freshly computed randomizer if there is room; 0 when full. */
static int push(veil_paillier_pool *p, mpz_t rho)
{
    pthread_mutex_lock(&p->lock);
    int added = p->count < p->capacity;
    if (added)
        mpz_swap(p->slots[p->count++], rho);
    pthread_mutex_unlock(&p->lock);
    return added;
}

typedef struct {
    veil_paillier_pool *pool;
} fill_arg;

static void *fill_worker(void *arg)
{
    veil_paillier_pool *p = ((fill_arg *)arg)->pool;
    mpz_t rho;
    mpz_init(rho);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int full = p->count >= p->capacity || p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (full)
            break;
        veil_paillier_randomizer(rho, p->pk);
        if (!push(p, rho))
            break;
    }
    veil_mpz_wipe(rho);
    return NULL;
}

veil_status veil_paillier_pool_fill(veil_paillier_pool *pool, unsigned threads, veil_err *err)
{
    if (threads == 0)
        threads = veil_cpu_count();
    if (threads > VEIL_BATCH_MAX_THREADS)
        threads = VEIL_BATCH_MAX_THREADS;
    pthread_t tids[VEIL_BATCH_MAX_THREADS];
    fill_arg arg = {pool};
    unsigned started = 0;
    for (unsigned i = 1; i < threads; i++) {
        if (pthread_create(&tids[started], NULL, fill_worker, &arg) != 0)
            break; /* fewer threads: slower, still correct */
        started++;
    }
    fill_worker(&arg);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    (void)err;
    return VEIL_OK;
}

/* The background filler: computes while there is room, sleeps when full. */
static void *background(void *arg)
{
    veil_paillier_pool *p = arg;
    mpz_t rho;
    mpz_init(rho);
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        if (p->count >= p->capacity) {
            pthread_cond_wait(&p->not_full, &p->lock);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        veil_paillier_randomizer(rho, p->pk);
        pthread_mutex_lock(&p->lock);
        if (p->count < p->capacity && !p->stopping)
            mpz_swap(p->slots[p->count++], rho);
    }
    pthread_mutex_unlock(&p->lock);
    veil_mpz_wipe(rho);
    return NULL;
}

veil_status veil_paillier_pool_start(veil_paillier_pool *pool, veil_err *err)
{
    pthread_mutex_lock(&pool->lock);
    int already = pool->has_thread;
    pthread_mutex_unlock(&pool->lock);
    if (already)
        return veil_err_set(err, VEIL_ERR_USAGE, "the pool's background thread already runs");
    if (pthread_create(&pool->thread, NULL, background, pool) != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "could not start the pool thread");
    pthread_mutex_lock(&pool->lock);
    pool->has_thread = 1;
    pthread_mutex_unlock(&pool->lock);
    return VEIL_OK;
}

size_t veil_paillier_pool_available(veil_paillier_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->count;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

size_t veil_paillier_pool_misses(veil_paillier_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->misses;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

veil_status veil_paillier_encrypt_pooled(mpz_t c, veil_paillier_pool *pool, const mpz_t m,
                                         veil_err *err)
{
    const veil_paillier_pub *pk = pool->pk;
    if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "plaintext residue is outside [0, n)");
    mpz_t rho, t;
    mpz_inits(rho, t, NULL);
    pthread_mutex_lock(&pool->lock);
    int have = pool->count > 0;
    if (have)
        mpz_swap(rho, pool->slots[--pool->count]); /* the slot keeps rho's old (zero) value */
    else
        pool->misses++;
    pthread_cond_signal(&pool->not_full);
    pthread_mutex_unlock(&pool->lock);
    if (!have)
        veil_paillier_randomizer(rho, pk);
    /* The online part: one multiplication (and the cheap 1 + m n). */
    mpz_mul(t, m, pk->n);
    mpz_add_ui(t, t, 1);
    mpz_mul(c, t, rho);
    mpz_mod(c, c, pk->n2);
    veil_mpz_wipe(rho);
    veil_mpz_wipe(t);
    return VEIL_OK;
}

void veil_paillier_pool_free(veil_paillier_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    int has_thread = pool->has_thread;
    pthread_cond_broadcast(&pool->not_full);
    pthread_mutex_unlock(&pool->lock);
    if (has_thread)
        pthread_join(pool->thread, NULL);
    for (size_t i = 0; i < pool->capacity; i++)
        veil_mpz_wipe(pool->slots[i]);
    free(pool->slots);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->not_full);
    free(pool);
}
