/* Group operations of the private join (veil/psi.h) on libsodium's
 * ristretto255: hashing IDs onto the group, commutative blinding, shuffles
 * and ElGamal-encrypted group tags. Batch calls split the index range into
 * one contiguous chunk per worker (the pool of veil/workers.h) and report the
 * lowest bad index. */
#include "veil/psi.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "veil/batch.h"
#include "veil/rand.h"
#include "veil/workers.h"

#define PSI_DOMAIN "veil-psi-v1"

/* ---- keys ---- */

/* A uniformly random scalar in [1, l). libsodium's scalar_random already
 * rejects zero; the loop only makes that independent of its version. */
static void random_nonzero_scalar(uint8_t s[VEIL_PSI_SCALAR_BYTES])
{
    (void)veil_crypto_init();
    do
        crypto_core_ristretto255_scalar_random(s);
    while (sodium_is_zero(s, VEIL_PSI_SCALAR_BYTES));
}

void veil_psi_key_new(veil_psi_key *key)
{
    random_nonzero_scalar(key->k);
}

void veil_psi_key_wipe(veil_psi_key *key)
{
    if (key != NULL)
        sodium_memzero(key, sizeof *key);
}

void veil_psi_eg_keygen(veil_psi_eg_key *key)
{
    do
        random_nonzero_scalar(key->x);
    while (crypto_scalarmult_ristretto255_base(key->y, key->x) != 0);
}

void veil_psi_eg_key_wipe(veil_psi_eg_key *key)
{
    if (key != NULL)
        sodium_memzero(key, sizeof *key);
}

/* ---- hashing ---- */

void veil_psi_hash(uint8_t out[VEIL_PSI_POINT_BYTES], const char *query_id, const char *id,
                   size_t id_len)
{
    uint8_t digest[crypto_core_ristretto255_HASHBYTES]; /* 64 = BLAKE2b-512 */
    size_t qlen = strlen(query_id);
    uint8_t be[4] = {(uint8_t)(qlen >> 24), (uint8_t)(qlen >> 16), (uint8_t)(qlen >> 8),
                     (uint8_t)qlen};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof digest);
    crypto_generichash_update(&st, (const uint8_t *)PSI_DOMAIN, sizeof PSI_DOMAIN - 1);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_update(&st, (const uint8_t *)query_id, qlen);
    crypto_generichash_update(&st, (const uint8_t *)id, id_len);
    crypto_generichash_final(&st, digest, sizeof digest);
    crypto_core_ristretto255_from_hash(out, digest);
    sodium_memzero(digest, sizeof digest);
    sodium_memzero(&st, sizeof st);
}

/* ---- validation of received points ---- */

/* VEIL_ERR_INPUT naming element i when p is not the canonical encoding of
 * a ristretto255 element or is the identity (whose unique encoding is 32
 * zero bytes; is_valid_point accepts it). */
static veil_status check_point(const uint8_t p[VEIL_PSI_POINT_BYTES], size_t i, veil_err *err)
{
    if (!crypto_core_ristretto255_is_valid_point(p))
        return veil_err_set(err, VEIL_ERR_INPUT, "element %zu is not a valid ristretto255 point",
                            i);
    if (sodium_is_zero(p, VEIL_PSI_POINT_BYTES))
        return veil_err_set(err, VEIL_ERR_INPUT, "element %zu is the identity", i);
    return VEIL_OK;
}

/* The same check for a public key passed by the caller. */
static veil_status check_public_key(const uint8_t y[VEIL_PSI_POINT_BYTES], veil_err *err)
{
    if (y == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "ElGamal public key is NULL");
    if (!crypto_core_ristretto255_is_valid_point(y))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "ElGamal public key is not a valid ristretto255 point");
    if (sodium_is_zero(y, VEIL_PSI_POINT_BYTES))
        return veil_err_set(err, VEIL_ERR_INPUT, "ElGamal public key is the identity");
    return VEIL_OK;
}

/* ---- tag table ---- */

typedef struct {
    uint8_t p[VEIL_PSI_POINT_BYTES];
    uint32_t tag;
} tag_entry;

struct veil_psi_tag_table {
    uint32_t n;
    tag_entry *e;
};

static int tag_entry_cmp(const void *a, const void *b)
{
    const tag_entry *x = a, *y = b;
    int c = memcmp(x->p, y->p, sizeof x->p);
    if (c != 0)
        return c;
    return x->tag < y->tag ? -1 : x->tag > y->tag;
}

static int tag_key_cmp(const void *key, const void *entry)
{
    return memcmp(key, ((const tag_entry *)entry)->p, VEIL_PSI_POINT_BYTES);
}

/* (t + 1) * G for t = 0..ntags-1, computed by repeated addition of G
 * (one addition per tag instead of one scalar multiplication), then
 * sorted by encoding for binary search. */
veil_status veil_psi_tag_table_new(veil_psi_tag_table **out, uint32_t ntags, veil_err *err)
{
    veil_err_clear(err);
    if (out == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "tag table: output pointer is NULL");
    *out = NULL;
    if (ntags > VEIL_PSI_TAGS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "tag table of %u tags: at most %u are allowed",
                            ntags, VEIL_PSI_TAGS_MAX);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "tag table: libsodium failed to initialize");
    veil_psi_tag_table *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->e = malloc((ntags ? ntags : 1) * sizeof *t->e);
    if (t == NULL || t->e == NULL) {
        free(t);
        return veil_err_set(err, VEIL_ERR_NOMEM, "tag table of %u tags: out of memory", ntags);
    }
    t->n = ntags;
    uint8_t one[VEIL_PSI_SCALAR_BYTES] = {1}, g[VEIL_PSI_POINT_BYTES];
    if (ntags > 0 && crypto_scalarmult_ristretto255_base(g, one) != 0) {
        veil_psi_tag_table_free(t);
        return veil_err_set(err, VEIL_ERR_INTERNAL, "tag table: cannot compute the generator");
    }
    for (uint32_t i = 0; i < ntags; i++) {
        if (i == 0)
            memcpy(t->e[0].p, g, sizeof g);
        else
            crypto_core_ristretto255_add(t->e[i].p, t->e[i - 1].p, g);
        t->e[i].tag = i;
    }
    qsort(t->e, ntags, sizeof *t->e, tag_entry_cmp);
    *out = t;
    return VEIL_OK;
}

void veil_psi_tag_table_free(veil_psi_tag_table *t)
{
    if (t == NULL)
        return;
    free(t->e);
    free(t);
}

/* ---- the parallel runner ---- */

typedef enum { OP_HASH_BLIND, OP_BLIND, OP_EG_ENCRYPT, OP_EG_RERANDOMIZE, OP_EG_DECRYPT } psi_op;

/* Everything one batch call reads (shared, read-only) and the output array
 * (element i written only by the worker that owns i). */
typedef struct {
    psi_op op;
    const veil_psi_key *key;
    const char *query_id;
    const char *const *ids;
    const size_t *lens;
    uint8_t *out_points;
    const uint8_t *in_points;
    const uint8_t *y;
    const uint32_t *tags_in;
    veil_psi_eg_ct *out_ct;
    const veil_psi_eg_ct *in_ct;
    const veil_psi_eg_key *eg_key;
    const veil_psi_tag_table *table;
    uint32_t *tags_out;
} psi_ctx;

static veil_status do_hash_blind(const psi_ctx *c, size_t i, veil_err *err)
{
    uint8_t h[VEIL_PSI_POINT_BYTES];
    veil_psi_hash(h, c->query_id, c->ids[i], c->lens[i]);
    /* Fails only if H(id) is the identity, which happens with negligible
     * probability (or for a zero key, which key_new never makes). */
    if (crypto_scalarmult_ristretto255(c->out_points + i * VEIL_PSI_POINT_BYTES, c->key->k, h) != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "element %zu hashes to the identity", i);
    return VEIL_OK;
}

static veil_status do_blind(const psi_ctx *c, size_t i, veil_err *err)
{
    uint8_t p[VEIL_PSI_POINT_BYTES];
    memcpy(p, c->in_points + i * VEIL_PSI_POINT_BYTES, sizeof p); /* out may equal in */
    veil_status st = check_point(p, i, err);
    if (st != VEIL_OK)
        return st;
    if (crypto_scalarmult_ristretto255(c->out_points + i * VEIL_PSI_POINT_BYTES, c->key->k, p) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "element %zu: the blinding key is zero", i);
    return VEIL_OK;
}

/* c1 = r*G, c2 = (t+1)*G + r*Y with a fresh r. */
static veil_status do_eg_encrypt(const psi_ctx *c, size_t i, veil_err *err)
{
    uint8_t r[VEIL_PSI_SCALAR_BYTES], m_s[VEIL_PSI_SCALAR_BYTES] = {0};
    uint8_t m[VEIL_PSI_POINT_BYTES], ry[VEIL_PSI_POINT_BYTES];
    veil_status st = VEIL_OK;
    uint32_t v = c->tags_in[i] + 1;
    m_s[0] = (uint8_t)v;
    m_s[1] = (uint8_t)(v >> 8);
    m_s[2] = (uint8_t)(v >> 16);
    m_s[3] = (uint8_t)(v >> 24);
    random_nonzero_scalar(r);
    veil_psi_eg_ct *o = &c->out_ct[i];
    if (crypto_scalarmult_ristretto255_base(m, m_s) != 0 ||
        crypto_scalarmult_ristretto255_base(o->c1, r) != 0 ||
        crypto_scalarmult_ristretto255(ry, r, c->y) != 0)
        st = veil_err_set(err, VEIL_ERR_INTERNAL, "element %zu: ElGamal encryption failed", i);
    else
        crypto_core_ristretto255_add(o->c2, m, ry);
    sodium_memzero(r, sizeof r);
    sodium_memzero(m_s, sizeof m_s);
    sodium_memzero(m, sizeof m);
    sodium_memzero(ry, sizeof ry);
    return st;
}

/* Checks both points of ciphertext i (copying them, so out may equal in). */
static veil_status load_ct(veil_psi_eg_ct *ct, const psi_ctx *c, size_t i, veil_err *err)
{
    *ct = c->in_ct[i];
    veil_status st = check_point(ct->c1, i, err);
    if (st == VEIL_OK)
        st = check_point(ct->c2, i, err);
    return st;
}

/* (c1, c2) + (s*G, s*Y): adds an encryption of the identity. */
static veil_status do_eg_rerandomize(const psi_ctx *c, size_t i, veil_err *err)
{
    veil_psi_eg_ct in;
    uint8_t s[VEIL_PSI_SCALAR_BYTES], sg[VEIL_PSI_POINT_BYTES], sy[VEIL_PSI_POINT_BYTES];
    veil_status st = load_ct(&in, c, i, err);
    if (st != VEIL_OK)
        return st;
    random_nonzero_scalar(s);
    if (crypto_scalarmult_ristretto255_base(sg, s) != 0 ||
        crypto_scalarmult_ristretto255(sy, s, c->y) != 0) {
        st = veil_err_set(err, VEIL_ERR_INTERNAL, "element %zu: re-randomization failed", i);
    } else {
        crypto_core_ristretto255_add(c->out_ct[i].c1, in.c1, sg);
        crypto_core_ristretto255_add(c->out_ct[i].c2, in.c2, sy);
    }
    sodium_memzero(s, sizeof s);
    sodium_memzero(sg, sizeof sg);
    sodium_memzero(sy, sizeof sy);
    return st;
}

/* m = c2 - x*c1, looked up among (t+1)*G. */
static veil_status do_eg_decrypt(const psi_ctx *c, size_t i, veil_err *err)
{
    veil_psi_eg_ct in;
    uint8_t xc1[VEIL_PSI_POINT_BYTES], m[VEIL_PSI_POINT_BYTES];
    veil_status st = load_ct(&in, c, i, err);
    if (st != VEIL_OK)
        return st;
    if (crypto_scalarmult_ristretto255(xc1, c->eg_key->x, in.c1) != 0) {
        st = veil_err_set(err, VEIL_ERR_USAGE, "element %zu: the ElGamal secret key is zero", i);
        goto done;
    }
    crypto_core_ristretto255_sub(m, in.c2, xc1);
    const tag_entry *e =
        c->table->n == 0 ? NULL
                         : bsearch(m, c->table->e, c->table->n, sizeof *c->table->e, tag_key_cmp);
    if (e == NULL)
        st = veil_err_set(err, VEIL_ERR_INPUT, "element %zu does not decrypt to a known group tag",
                          i);
    else
        c->tags_out[i] = e->tag;
done:
    sodium_memzero(xc1, sizeof xc1);
    sodium_memzero(m, sizeof m);
    return st;
}

static veil_status run_one(const psi_ctx *c, size_t i, veil_err *err)
{
    switch (c->op) {
    case OP_HASH_BLIND: return do_hash_blind(c, i, err);
    case OP_BLIND: return do_blind(c, i, err);
    case OP_EG_ENCRYPT: return do_eg_encrypt(c, i, err);
    case OP_EG_RERANDOMIZE: return do_eg_rerandomize(c, i, err);
    case OP_EG_DECRYPT: return do_eg_decrypt(c, i, err);
    }
    return veil_err_set(err, VEIL_ERR_INTERNAL, "psi: unknown operation");
}

/* One worker's slice [begin, end) and its private result. */
typedef struct {
    const psi_ctx *ctx;
    size_t begin, end;
    veil_status st;
    veil_err err;
} psi_job;

/* Stops at the slice's first failure, which is its lowest bad index. */
static void run_job(psi_job *job)
{
    job->st = VEIL_OK;
    for (size_t i = job->begin; i < job->end && job->st == VEIL_OK; i++)
        job->st = run_one(job->ctx, i, &job->err);
}

static void job_task(void *arg)
{
    run_job(arg);
}

/* Splits [0, count) into one contiguous chunk per worker (at most `count`
 * chunks, run on the worker pool and the calling thread), waits for them
 * all, and reports the failure of the first failing chunk, which holds the
 * lowest bad index. */
static veil_status run_batch(const psi_ctx *ctx, size_t count, unsigned threads, veil_err *err)
{
    size_t n = threads == 0 ? veil_cpu_count() : threads;
    if (n > VEIL_BATCH_MAX_THREADS)
        n = VEIL_BATCH_MAX_THREADS;
    if (n > count)
        n = count;
    psi_job *jobs = calloc(n, sizeof *jobs);
    if (jobs == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "batch of %zu elements: out of memory", count);
    size_t base = count / n, extra = count % n, begin = 0;
    for (size_t w = 0; w < n; w++) {
        jobs[w].ctx = ctx;
        jobs[w].begin = begin;
        jobs[w].end = begin + base + (w < extra ? 1 : 0);
        begin = jobs[w].end;
        veil_err_clear(&jobs[w].err);
    }
    veil_workers_run(job_task, jobs, sizeof *jobs, n);
    veil_status st = VEIL_OK;
    for (size_t w = 0; w < n; w++)
        if (jobs[w].st != VEIL_OK) {
            st = jobs[w].st;
            if (err != NULL)
                *err = jobs[w].err;
            break;
        }
    free(jobs);
    return st;
}

/* Common argument checks of a batch call (count 0 needs no arrays). */
static veil_status batch_start(size_t count, int args_ok, const char *what, veil_err *err)
{
    veil_err_clear(err);
    if (count > 0 && !args_ok)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s of %zu elements: key or array is NULL", what,
                            count);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: libsodium failed to initialize", what);
    return VEIL_OK;
}

veil_status veil_psi_hash_blind(uint8_t *out, const veil_psi_key *key, const char *query_id,
                                const char *const *ids, const size_t *lens, size_t count,
                                unsigned threads, veil_err *err)
{
    veil_status st = batch_start(count, out && key && query_id && ids && lens, "hash_blind", err);
    if (st != VEIL_OK || count == 0)
        return st;
    for (size_t i = 0; i < count; i++)
        if (ids[i] == NULL && lens[i] > 0)
            return veil_err_set(err, VEIL_ERR_USAGE, "element %zu: id is NULL", i);
    psi_ctx c = {.op = OP_HASH_BLIND,
                 .key = key,
                 .query_id = query_id,
                 .ids = ids,
                 .lens = lens,
                 .out_points = out};
    return run_batch(&c, count, threads, err);
}

veil_status veil_psi_blind(uint8_t *out, const veil_psi_key *key, const uint8_t *in, size_t count,
                           unsigned threads, veil_err *err)
{
    veil_status st = batch_start(count, out && key && in, "blind", err);
    if (st != VEIL_OK || count == 0)
        return st;
    psi_ctx c = {.op = OP_BLIND, .key = key, .out_points = out, .in_points = in};
    return run_batch(&c, count, threads, err);
}

veil_status veil_psi_eg_encrypt(veil_psi_eg_ct *out, const uint8_t y[VEIL_PSI_POINT_BYTES],
                                const uint32_t *tags, size_t count, unsigned threads, veil_err *err)
{
    veil_status st = batch_start(count, out && tags, "ElGamal encrypt", err);
    if (st != VEIL_OK || count == 0)
        return st;
    if ((st = check_public_key(y, err)) != VEIL_OK)
        return st;
    for (size_t i = 0; i < count; i++)
        if (tags[i] >= VEIL_PSI_TAGS_MAX)
            return veil_err_set(err, VEIL_ERR_USAGE, "element %zu: group tag %u is not below %u", i,
                                tags[i], VEIL_PSI_TAGS_MAX);
    psi_ctx c = {.op = OP_EG_ENCRYPT, .y = y, .tags_in = tags, .out_ct = out};
    return run_batch(&c, count, threads, err);
}

veil_status veil_psi_eg_rerandomize(veil_psi_eg_ct *out, const uint8_t y[VEIL_PSI_POINT_BYTES],
                                    const veil_psi_eg_ct *in, size_t count, unsigned threads,
                                    veil_err *err)
{
    veil_status st = batch_start(count, out && in, "ElGamal re-randomize", err);
    if (st != VEIL_OK || count == 0)
        return st;
    if ((st = check_public_key(y, err)) != VEIL_OK)
        return st;
    psi_ctx c = {.op = OP_EG_RERANDOMIZE, .y = y, .in_ct = in, .out_ct = out};
    return run_batch(&c, count, threads, err);
}

veil_status veil_psi_eg_decrypt(uint32_t *tags, const veil_psi_eg_key *key,
                                const veil_psi_tag_table *table, const veil_psi_eg_ct *in,
                                size_t count, unsigned threads, veil_err *err)
{
    veil_status st = batch_start(count, tags && key && table && in, "ElGamal decrypt", err);
    if (st != VEIL_OK || count == 0)
        return st;
    psi_ctx c = {.op = OP_EG_DECRYPT, .eg_key = key, .table = table, .in_ct = in, .tags_out = tags};
    return run_batch(&c, count, threads, err);
}

/* ---- shuffles ---- */

/* Uniform in [0, bound), bound > 0: randombytes_uniform below 2^32, else
 * rejection of the 64-bit values below 2^64 mod bound (which makes the
 * accepted range a multiple of bound). */
static size_t uniform_below(uint64_t bound)
{
    if (bound <= UINT32_MAX)
        return (size_t)randombytes_uniform((uint32_t)bound);
    uint64_t min = (0 - bound) % bound, r;
    do
        randombytes_buf(&r, sizeof r);
    while (r < min);
    return (size_t)(r % bound);
}

void veil_psi_permutation(size_t *perm, size_t count)
{
    if (count == 0)
        return;
    (void)veil_crypto_init();
    for (size_t i = 0; i < count; i++)
        perm[i] = i;
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = uniform_below((uint64_t)i + 1);
        size_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}
