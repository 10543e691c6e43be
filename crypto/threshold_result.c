/* Threshold decryption of result files: one party's partial decryptions of
 * every item (per-group sums), their checks and the combination into signed
 * values with the bound check of veil_enc_decrypt. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "veil/rand.h"
#include "veil/threshold.h"

#define INPUT_TAG "veil-threshold-input-v1"

static void hash_u64(crypto_hash_sha256_state *h, uint64_t x)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (56 - 8 * i));
    crypto_hash_sha256_update(h, b, sizeof b);
}

static void hash_bytes(crypto_hash_sha256_state *h, const void *p, size_t len)
{
    hash_u64(h, len);
    crypto_hash_sha256_update(h, p, len);
}

static void hash_mpz(crypto_hash_sha256_state *h, const mpz_t x)
{
    uint8_t buf[1024 + 8];
    size_t len = mpz_sgn(x) == 0 ? 0 : (mpz_sizeinbase(x, 2) + 7) / 8;
    if (len > sizeof buf) { /* larger than any n^2 veil accepts: hash the hex */
        char *hex = mpz_get_str(NULL, 16, x);
        hash_bytes(h, hex, strlen(hex));
        void (*freefn)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &freefn);
        freefn(hex, strlen(hex) + 1);
        return;
    }
    size_t got = 0;
    if (len > 0)
        mpz_export(buf, &got, 1, 1, 1, 0, x);
    hash_bytes(h, buf, got);
}

void veil_threshold_result_digest(uint8_t out[VEIL_THRESHOLD_DIGEST_BYTES], const veil_result *r)
{
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)INPUT_TAG, sizeof INPUT_TAG); /* with NUL */
    hash_u64(&h, r->count);
    for (size_t i = 0; i < r->count; i++) {
        const veil_result_item *it = &r->items[i];
        uint8_t flags = (uint8_t)((it->group != NULL ? 1 : 0) | (it->is_total ? 2 : 0));
        crypto_hash_sha256_update(&h, &flags, 1);
        if (it->group != NULL)
            hash_bytes(&h, it->group, strlen(it->group));
        hash_u64(&h, it->value.scale);
        hash_u64(&h, it->value.count);
        hash_mpz(&h, it->value.bound);
        hash_mpz(&h, it->value.c);
    }
    crypto_hash_sha256_final(&h, out);
}

void veil_threshold_partials_init(veil_threshold_partials *p)
{
    memset(p, 0, sizeof *p);
}

void veil_threshold_partials_clear(veil_threshold_partials *p)
{
    for (size_t i = 0; i < p->count; i++)
        veil_threshold_partial_clear(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

/* Allocates count initialized partials. */
static veil_status alloc_items(veil_threshold_partials *p, size_t count, veil_err *err)
{
    p->items = calloc(count > 0 ? count : 1, sizeof *p->items);
    if (p->items == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        veil_threshold_partial_init(&p->items[i]);
    p->count = count;
    return VEIL_OK;
}

/* The ciphertexts of r as an array of shallow mpz_t copies (read only). */
static veil_status cts_of(mpz_t **out, const veil_result *r, veil_err *err)
{
    *out = malloc((r->count > 0 ? r->count : 1) * sizeof **out);
    if (*out == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->count; i++)
        memcpy((*out)[i], r->items[i].value.c, sizeof(mpz_t));
    return VEIL_OK;
}

/* "item 3 (group \"Wuhan\")", "item 4 (the overall total)" or "item 1". */
static void item_name(char *buf, size_t size, const veil_result *r, size_t i)
{
    const veil_result_item *it = &r->items[i];
    if (it->is_total)
        snprintf(buf, size, "item %zu (the overall total)", i + 1);
    else if (it->group != NULL)
        snprintf(buf, size, "item %zu (group \"%s\")", i + 1, it->group);
    else
        snprintf(buf, size, "item %zu", i + 1);
}

veil_status veil_threshold_partials_make(veil_threshold_partials *out,
                                         const veil_threshold_share *s, const veil_result *r,
                                         unsigned threads, veil_err *err)
{
    veil_err_clear(err);
    veil_threshold_partials_init(out);
    const veil_threshold_key *k = veil_threshold_share_key(s);
    if (r->count == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "the result has no items");
    mpz_t *c = NULL;
    veil_status st = alloc_items(out, r->count, err);
    if (st == VEIL_OK)
        st = cts_of(&c, r, err);
    if (st == VEIL_OK)
        st = veil_threshold_partial_decrypt_batch(out->items, s, (const mpz_t *)c, r->count,
                                                  threads, err);
    free(c);
    if (st != VEIL_OK) {
        veil_threshold_partials_clear(out);
        return st;
    }
    out->index = veil_threshold_share_index(s);
    memcpy(out->key_fingerprint, veil_threshold_key_fingerprint(k), VEIL_THRESHOLD_DIGEST_BYTES);
    veil_threshold_result_digest(out->input_digest, r);
    return VEIL_OK;
}

veil_status veil_threshold_partials_check(const veil_threshold_key *k, const veil_result *r,
                                          const veil_threshold_partials *p, unsigned threads,
                                          veil_err *err)
{
    veil_err_clear(err);
    char want[VEIL_FINGERPRINT_HEX], got[VEIL_FINGERPRINT_HEX];
    uint8_t digest[VEIL_THRESHOLD_DIGEST_BYTES];
    if (p->index < 1 || p->index > veil_threshold_key_parties(k))
        return veil_err_set(err, VEIL_ERR_INPUT, "party %u: index outside 1 .. %u", p->index,
                            veil_threshold_key_parties(k));
    if (sodium_memcmp(p->key_fingerprint, veil_threshold_key_fingerprint(k),
                      VEIL_THRESHOLD_DIGEST_BYTES) != 0) {
        veil_threshold_key_fingerprint_hex(want, k);
        sodium_bin2hex(got, sizeof got, p->key_fingerprint, VEIL_THRESHOLD_DIGEST_BYTES);
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "party %u: made with a share of threshold key %.16s, but the key "
                            "given is %.16s",
                            p->index, got, want);
    }
    veil_threshold_result_digest(digest, r);
    if (sodium_memcmp(digest, p->input_digest, sizeof digest) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "party %u: the partial decryptions were made for another input "
                            "(input digest mismatch)",
                            p->index);
    if (p->count != r->count)
        return veil_err_set(err, VEIL_ERR_INPUT, "party %u: %zu partial decryptions for %zu items",
                            p->index, p->count, r->count);
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].index != p->index)
            return veil_err_set(err, VEIL_ERR_INPUT, "party %u: item %zu carries party index %u",
                                p->index, i + 1, p->items[i].index);
    mpz_t *c = NULL;
    size_t bad = 0;
    veil_status st = cts_of(&c, r, err);
    if (st == VEIL_OK)
        st = veil_threshold_partial_verify_batch(&bad, k, (const mpz_t *)c, p->items, p->count,
                                                 threads, err);
    free(c);
    if (st != VEIL_OK && bad < r->count) {
        char name[VEIL_GROUP_LABEL_MAX + 64];
        item_name(name, sizeof name, r, bad);
        /* err holds "item N: <reason>"; restate it with the group. */
        const char *reason = strstr(err->msg, ": ");
        char why[VEIL_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", reason != NULL ? reason + 2 : err->msg);
        if (strncmp(why, "proof of correct decryption failed", 34) == 0)
            return veil_err_set(err, st, "party %u: proof of correct decryption failed for %s%s",
                                p->index, name, why + 34);
        return veil_err_set(err, st, "party %u: %s: %s", p->index, name, why);
    }
    return st;
}

veil_status veil_threshold_combine_result(mpz_t *values, const veil_threshold_key *k,
                                          const veil_result *r,
                                          const veil_threshold_partials *const *parts,
                                          size_t nparts, veil_err *err)
{
    veil_err_clear(err);
    const veil_paillier_pub *pk = veil_threshold_key_pub(k);
    veil_threshold_partial row[VEIL_THRESHOLD_PARTIES_MAX];
    size_t use = nparts < VEIL_THRESHOLD_PARTIES_MAX ? nparts : VEIL_THRESHOLD_PARTIES_MAX;
    for (size_t j = 0; j < use; j++)
        if (parts[j]->count != r->count)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "party %u: %zu partial decryptions for %zu items", parts[j]->index,
                                parts[j]->count, r->count);
    mpz_t m;
    mpz_init(m);
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < r->count && st == VEIL_OK; i++) {
        for (size_t j = 0; j < use; j++)
            row[j] = parts[j]->items[i]; /* shallow copies: read only */
        st = veil_threshold_combine(m, k, row, use, err);
        if (st == VEIL_OK)
            st = veil_paillier_decode(values[i], pk, m, err);
        if (st == VEIL_OK && mpz_cmpabs(values[i], r->items[i].value.bound) > 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "overflow: the decrypted value lies outside its declared bound; "
                              "the ciphertext does not hold what its metadata claims");
        if (st != VEIL_OK) {
            char name[VEIL_GROUP_LABEL_MAX + 64];
            item_name(name, sizeof name, r, i);
            veil_err_prefix(err, "%s", name);
        }
    }
    veil_mpz_wipe(m);
    if (st != VEIL_OK)
        for (size_t i = 0; i < r->count; i++)
            mpz_set_ui(values[i], 0);
    return st;
}
