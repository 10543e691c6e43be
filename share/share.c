/* Additive and Shamir sharing of vectors over GF(2^127 - 1) with
 * seed-derived shares (veil/share.h).
 *
 * Splitting and reconstruction run over vectors of 10^7 elements, so the
 * inner loops allocate nothing: seeded shares are expanded a block at a
 * time into a stack buffer, and the Lagrange coefficients are computed
 * once per plan (split) or once per call (reconstruct), so each element
 * costs O(t) multiplications per party computed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fe_inline.h"
#include "veil/share.h"

/* Elements per block of the split and reconstruct loops: 4 KiB of stack
 * per buffer, and the block of every output party stays in cache. */
#define BLOCK 512

struct veil_share_plan {
    veil_scheme scheme;
    unsigned n, t;
    unsigned m; /* parties 1..m receive seeds */
    uint8_t seeds[VEIL_SHARE_PARTIES_MAX][VEIL_SHARE_SEED];
    /* Shamir: for party m + 1 + r, row r of m + 1 coefficients: [0] for
     * the secret f(0), [j] for r_j = f(j). Unused for additive. */
    veil_fe *coef;
    size_t ncoef;
};

static const uint8_t ZERO_NONCE[crypto_stream_chacha20_ietf_NONCEBYTES];

void veil_share_expand(veil_fe *out, const uint8_t seed[VEIL_SHARE_SEED], uint64_t offset,
                       size_t count)
{
    /* Element i is key stream bytes [16 i, 16 i + 16): 4 elements per
     * 64-byte ChaCha20 block, so element `offset` starts in block
     * offset / 4 at element offset % 4 of it. */
    size_t done = 0;
    unsigned skip = (unsigned)(offset % 4);
    if (count == 0)
        return;
    if (skip != 0) {
        uint8_t block[64] = {0};
        crypto_stream_chacha20_ietf_xor_ic(block, block, sizeof block, ZERO_NONCE,
                                           (uint32_t)(offset / 4), seed);
        done = 4 - skip < count ? 4 - skip : count;
        for (size_t i = 0; i < done; i++)
            out[i] = fe_from_stream(block + 16 * (skip + i));
        sodium_memzero(block, sizeof block);
    }
    if (done == count)
        return;
    /* The rest starts on a block boundary: let the cipher write the key
     * stream straight into out (XOR onto zeros), then convert each 16-byte
     * slot in place. */
    size_t rest = count - done;
    uint8_t *bytes = (uint8_t *)(out + done);
    memset(bytes, 0, rest * VEIL_FE_BYTES);
    crypto_stream_chacha20_ietf_xor_ic(bytes, bytes, (unsigned long long)rest * VEIL_FE_BYTES,
                                       ZERO_NONCE, (uint32_t)((offset + done) / 4), seed);
    for (size_t i = 0; i < rest; i++)
        out[done + i] = fe_from_stream(bytes + VEIL_FE_BYTES * i);
}

unsigned veil_share_seeded_count(veil_scheme scheme, unsigned n, unsigned t)
{
    if (scheme == VEIL_SCHEME_ADDITIVE)
        return n > 0 ? n - 1 : 0;
    return t > 0 ? t - 1 : 0;
}

static veil_status check_params(veil_scheme scheme, unsigned n, unsigned t, veil_err *err)
{
    if (scheme != VEIL_SCHEME_ADDITIVE && scheme != VEIL_SCHEME_SHAMIR)
        return veil_err_set(err, VEIL_ERR_USAGE, "unknown sharing scheme %d", (int)scheme);
    if (n < 2 || n > VEIL_SHARE_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "%u parties: 2 to %d are supported", n,
                            VEIL_SHARE_PARTIES_MAX);
    if (scheme == VEIL_SCHEME_ADDITIVE && t != n)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "additive sharing needs every party: threshold %u must equal the "
                            "%u parties",
                            t, n);
    if (scheme == VEIL_SCHEME_SHAMIR && (t < 2 || t > n))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "Shamir threshold %u out of range: 2 to %u (the number of parties)", t,
                            n);
    return VEIL_OK;
}

/* L_m(x) = prod_{l != m} (x - xs[l]) / (xs[m] - xs[l]) for m < k: the
 * Lagrange basis at x of the points xs[0..k), distinct. One inversion per
 * coefficient; the callers use them for whole vectors. */
static void lagrange_at(veil_fe *out, const veil_fe *xs, unsigned k, veil_fe x)
{
    for (unsigned m = 0; m < k; m++) {
        veil_fe num = 1, den = 1;
        for (unsigned l = 0; l < k; l++) {
            if (l == m)
                continue;
            num = fe_mul(num, fe_sub(x, xs[l]));
            den = fe_mul(den, fe_sub(xs[m], xs[l]));
        }
        out[m] = fe_mul(num, veil_fe_inv(den));
    }
}

veil_status veil_share_plan_new_with_seeds(veil_share_plan **out, veil_scheme scheme, unsigned n,
                                           unsigned t, const uint8_t (*seeds)[VEIL_SHARE_SEED],
                                           veil_err *err)
{
    *out = NULL;
    veil_status st = check_params(scheme, n, t, err);
    if (st != VEIL_OK)
        return st;
    veil_share_plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    p->scheme = scheme;
    p->n = n;
    p->t = t;
    p->m = veil_share_seeded_count(scheme, n, t);
    for (unsigned j = 0; j < p->m; j++) {
        if (seeds != NULL)
            memcpy(p->seeds[j], seeds[j], VEIL_SHARE_SEED);
        else
            randombytes_buf(p->seeds[j], VEIL_SHARE_SEED);
    }
    if (scheme == VEIL_SCHEME_SHAMIR) {
        /* f is fixed by f(0) = secret and f(j) = r_j for j = 1..t-1, so
         * party k's share is sum_j L_j(k) f(j) over the points 0..t-1. */
        unsigned rows = n - p->m, cols = p->m + 1;
        veil_fe xs[VEIL_SHARE_PARTIES_MAX];
        for (unsigned j = 0; j < cols; j++)
            xs[j] = j;
        p->ncoef = (size_t)rows * cols;
        p->coef = malloc(p->ncoef * sizeof *p->coef);
        if (p->coef == NULL) {
            veil_share_plan_free(p);
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        for (unsigned r = 0; r < rows; r++)
            lagrange_at(p->coef + (size_t)r * cols, xs, cols, (veil_fe)(p->m + 1 + r));
    }
    *out = p;
    return VEIL_OK;
}

veil_status veil_share_plan_new(veil_share_plan **out, veil_scheme scheme, unsigned n, unsigned t,
                                veil_err *err)
{
    return veil_share_plan_new_with_seeds(out, scheme, n, t, NULL, err);
}

void veil_share_plan_free(veil_share_plan *plan)
{
    if (plan == NULL)
        return;
    if (plan->coef != NULL) {
        sodium_memzero(plan->coef, plan->ncoef * sizeof *plan->coef);
        free(plan->coef);
    }
    sodium_memzero(plan, sizeof *plan);
    free(plan);
}

int veil_share_plan_seed(const veil_share_plan *plan, unsigned index, uint8_t seed[VEIL_SHARE_SEED])
{
    if (index < 1 || index > plan->m)
        return 0;
    memcpy(seed, plan->seeds[index - 1], VEIL_SHARE_SEED);
    return 1;
}

/* Additive: party n gets secret - sum of the seeded shares. */
static void split_additive(const veil_share_plan *p, const veil_fe *secret, uint64_t offset,
                           size_t count, veil_fe *o, veil_fe *buf)
{
    memcpy(o, secret, count * sizeof *o);
    for (unsigned j = 0; j < p->m; j++) {
        veil_share_expand(buf, p->seeds[j], offset, count);
        for (size_t i = 0; i < count; i++)
            o[i] = fe_sub(o[i], buf[i]);
    }
}

/* Shamir: party m + 1 + r gets coef[r][0] secret + sum_j coef[r][j] r_j. */
static void split_shamir(const veil_share_plan *p, const veil_fe *secret, uint64_t offset,
                         size_t count, size_t at, veil_fe *const *out, veil_fe *buf)
{
    unsigned rows = p->n - p->m, cols = p->m + 1;
    for (unsigned r = 0; r < rows; r++) {
        veil_fe c = p->coef[(size_t)r * cols], *o = out[p->m + r] + at;
        for (size_t i = 0; i < count; i++)
            o[i] = fe_mul(c, secret[i]);
    }
    for (unsigned j = 1; j < cols; j++) {
        veil_share_expand(buf, p->seeds[j - 1], offset, count);
        for (unsigned r = 0; r < rows; r++) {
            veil_fe c = p->coef[(size_t)r * cols + j], *o = out[p->m + r] + at;
            for (size_t i = 0; i < count; i++)
                o[i] = fe_add(o[i], fe_mul(c, buf[i]));
        }
    }
}

void veil_share_plan_split(const veil_share_plan *plan, const veil_fe *secret, uint64_t offset,
                           size_t count, veil_fe *const *out)
{
    veil_fe buf[BLOCK];
    for (size_t b = 0; b < count; b += BLOCK) {
        size_t len = count - b < BLOCK ? count - b : BLOCK;
        if (plan->scheme == VEIL_SCHEME_ADDITIVE)
            split_additive(plan, secret + b, offset + b, len, out[plan->n - 1] + b, buf);
        else
            split_shamir(plan, secret + b, offset + b, len, b, out, buf);
    }
    sodium_memzero(buf, sizeof buf);
}

/* Checks the parts' indices: in 1..n, distinct, and enough of them. */
static veil_status check_parts(veil_scheme scheme, unsigned n, unsigned t,
                               const veil_share_part *parts, unsigned k, veil_err *err)
{
    uint8_t seen[VEIL_SHARE_PARTIES_MAX + 1] = {0};
    for (unsigned i = 0; i < k; i++) {
        unsigned x = parts[i].index;
        if (x < 1 || x > n)
            return veil_err_set(err, VEIL_ERR_USAGE, "party index %u out of range: 1 to %u", x, n);
        if (seen[x])
            return veil_err_set(err, VEIL_ERR_USAGE, "party %u is given twice", x);
        seen[x] = 1;
    }
    if (scheme == VEIL_SCHEME_ADDITIVE && k != n)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "additive sharing needs the shares of all %u parties; %u given", n, k);
    if (k < t)
        return veil_err_set(err, VEIL_ERR_USAGE, "%u shares given; at least %u are needed", k, t);
    return VEIL_OK;
}

/* The error for party `bad`, whose share of element `at` is not on the
 * polynomial through the first t parts. */
static veil_status inconsistent(veil_err *err, const veil_share_part *parts, unsigned t,
                                unsigned bad, uint64_t at)
{
    char list[160];
    size_t o = 0;
    for (unsigned m = 0; m < t && o < sizeof list; m++) {
        int w = snprintf(list + o, sizeof list - o, m == 0 ? "%u" : ", %u", parts[m].index);
        if (w < 0 || (size_t)w >= sizeof list - o) {
            snprintf(list + (o < sizeof list - 5 ? o : sizeof list - 5), 5, " ...");
            break;
        }
        o += (size_t)w;
    }
    return veil_err_set(err, VEIL_ERR_CRYPTO,
                        "party %u: its share of element %llu does not lie on the polynomial "
                        "through the shares of parties %s: a share was corrupted or the shares "
                        "come from different splits",
                        bad, (unsigned long long)at, list);
}

veil_status veil_share_reconstruct(veil_fe *secret, veil_scheme scheme, unsigned n, unsigned t,
                                   const veil_share_part *parts, unsigned k, uint64_t offset,
                                   size_t count, veil_err *err)
{
    veil_status st = check_params(scheme, n, t, err);
    if (st == VEIL_OK)
        st = check_parts(scheme, n, t, parts, k, err);
    if (st != VEIL_OK)
        return st;
    if (scheme == VEIL_SCHEME_ADDITIVE) {
        memcpy(secret, parts[0].values, count * sizeof *secret);
        for (unsigned j = 1; j < k; j++)
            for (size_t i = 0; i < count; i++)
                secret[i] = fe_add(secret[i], parts[j].values[i]);
        return VEIL_OK;
    }
    /* Row 0: the basis at 0 (gives the secret); row e: at the extra part
     * t - 1 + e (gives what its share must be). */
    unsigned rows = k - t + 1;
    veil_fe xs[VEIL_SHARE_PARTIES_MAX];
    veil_fe *coef = malloc((size_t)rows * t * sizeof *coef);
    if (coef == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (unsigned m = 0; m < t; m++)
        xs[m] = parts[m].index;
    for (unsigned r = 0; r < rows; r++)
        lagrange_at(coef + (size_t)r * t, xs, t, r == 0 ? 0 : parts[t - 1 + r].index);
    veil_fe buf[BLOCK];
    for (size_t b = 0; b < count && st == VEIL_OK; b += BLOCK) {
        size_t len = count - b < BLOCK ? count - b : BLOCK;
        for (unsigned r = 0; r < rows && st == VEIL_OK; r++) {
            veil_fe *o = r == 0 ? secret + b : buf;
            const veil_fe *c = coef + (size_t)r * t;
            const veil_fe *y = parts[0].values + b;
            for (size_t i = 0; i < len; i++)
                o[i] = fe_mul(c[0], y[i]);
            for (unsigned m = 1; m < t; m++) {
                y = parts[m].values + b;
                for (size_t i = 0; i < len; i++)
                    o[i] = fe_add(o[i], fe_mul(c[m], y[i]));
            }
            if (r == 0)
                continue;
            const veil_fe *have = parts[t - 1 + r].values + b;
            for (size_t i = 0; i < len; i++)
                if (have[i] != o[i]) {
                    st = inconsistent(err, parts, t, parts[t - 1 + r].index, offset + b + i);
                    break;
                }
        }
    }
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(coef, (size_t)rows * t * sizeof *coef);
    free(coef);
    return st;
}
