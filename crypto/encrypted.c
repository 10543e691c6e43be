/* Encrypted fixed-point numbers that carry a proven bound. */
#include "veil/encrypted.h"

#include "veil/rand.h"

void veil_enc_init(veil_enc *e)
{
    mpz_inits(e->c, e->bound, NULL);
    e->scale = 0;
    e->count = 0;
}

void veil_enc_clear(veil_enc *e)
{
    mpz_clears(e->c, e->bound, NULL);
}

void veil_enc_set(veil_enc *dst, const veil_enc *src)
{
    mpz_set(dst->c, src->c);
    mpz_set(dst->bound, src->bound);
    dst->scale = src->scale;
    dst->count = src->count;
}

/* Refuses a bound the key cannot represent without wrap-around. */
static veil_status check_bound(const veil_paillier_pub *pk, const mpz_t bound, const char *what,
                               veil_err *err)
{
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, pk);
    int ok = mpz_cmp(bound, max) <= 0;
    mpz_clear(max);
    if (!ok)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "overflow: %s could exceed the %u-bit key's plaintext space "
                            "(n/3); refused rather than risk a wrapped result",
                            what, veil_paillier_pub_bits(pk));
    return VEIL_OK;
}

static veil_status add_counts(uint64_t *out, uint64_t a, uint64_t b, veil_err *err)
{
    if (a > UINT64_MAX - b)
        return veil_err_set(err, VEIL_ERR_INPUT, "value count overflows 64 bits");
    *out = a + b;
    return VEIL_OK;
}

veil_status veil_enc_encrypt(veil_enc *out, const veil_paillier_pub *pk, const mpz_t v,
                             uint32_t scale, const mpz_t bound, veil_err *err)
{
    if (mpz_sgn(bound) < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "bound must not be negative");
    veil_status st = check_bound(pk, bound, "the declared bound", err);
    if (st != VEIL_OK)
        return st;
    if (mpz_cmpabs(v, bound) > 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "value exceeds the declared bound");
    mpz_t m;
    mpz_init(m);
    st = veil_paillier_encode(m, pk, v, err);
    if (st == VEIL_OK)
        st = veil_paillier_encrypt(out->c, pk, m, err);
    veil_mpz_wipe(m);
    if (st != VEIL_OK)
        return st;
    mpz_set(out->bound, bound);
    out->scale = scale;
    out->count = 1;
    return VEIL_OK;
}

static veil_status same_scale(const veil_enc *a, const veil_enc *b, veil_err *err)
{
    if (a->scale != b->scale)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "scales differ (%u and %u); rescale one value explicitly first",
                            a->scale, b->scale);
    return VEIL_OK;
}

veil_status veil_enc_add(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                         const veil_enc *b, veil_err *err)
{
    veil_status st = same_scale(a, b, err);
    if (st != VEIL_OK)
        return st;
    uint64_t count = 0;
    if ((st = add_counts(&count, a->count, b->count, err)) != VEIL_OK)
        return st;
    mpz_t bound;
    mpz_init(bound);
    mpz_add(bound, a->bound, b->bound);
    st = check_bound(pk, bound, "the sum", err);
    if (st == VEIL_OK) {
        veil_paillier_add(r->c, pk, a->c, b->c);
        mpz_set(r->bound, bound);
        r->scale = a->scale;
        r->count = count;
    }
    mpz_clear(bound);
    return st;
}

veil_status veil_enc_sub(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                         const veil_enc *b, veil_err *err)
{
    veil_status st = same_scale(a, b, err);
    if (st != VEIL_OK)
        return st;
    uint64_t count = 0;
    if ((st = add_counts(&count, a->count, b->count, err)) != VEIL_OK)
        return st;
    mpz_t bound;
    mpz_init(bound);
    mpz_add(bound, a->bound, b->bound);
    st = check_bound(pk, bound, "the difference", err);
    if (st == VEIL_OK)
        st = veil_paillier_sub(r->c, pk, a->c, b->c, err);
    if (st == VEIL_OK) {
        mpz_set(r->bound, bound);
        r->scale = a->scale;
        r->count = count;
    }
    mpz_clear(bound);
    return st;
}

veil_status veil_enc_add_plain(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                               const mpz_t v, veil_err *err)
{
    mpz_t bound;
    mpz_init(bound);
    mpz_abs(bound, v);
    mpz_add(bound, bound, a->bound);
    veil_status st = check_bound(pk, bound, "the sum", err);
    if (st == VEIL_OK) {
        veil_paillier_add_plain(r->c, pk, a->c, v);
        mpz_set(r->bound, bound);
        r->scale = a->scale;
        r->count = a->count;
    }
    mpz_clear(bound);
    return st;
}

veil_status veil_enc_mul_scalar(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                                const mpz_t k, veil_err *err)
{
    mpz_t bound;
    mpz_init(bound);
    mpz_mul(bound, a->bound, k);
    mpz_abs(bound, bound);
    veil_status st = check_bound(pk, bound, "the product", err);
    if (st == VEIL_OK)
        st = veil_paillier_mul_scalar(r->c, pk, a->c, k, err);
    if (st == VEIL_OK) {
        mpz_set(r->bound, bound);
        r->scale = a->scale;
        r->count = a->count;
    }
    mpz_clear(bound);
    return st;
}

veil_status veil_enc_rescale(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a,
                             uint32_t to, veil_err *err)
{
    if (to < a->scale)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "cannot lower the scale of an encrypted value (%u to %u)", a->scale,
                            to);
    if (to > 1000)
        return veil_err_set(err, VEIL_ERR_USAGE, "scale %u is too large", to);
    mpz_t k;
    mpz_init(k);
    mpz_ui_pow_ui(k, 10, to - a->scale);
    uint64_t count = a->count;
    veil_status st = veil_enc_mul_scalar(r, pk, a, k, err);
    mpz_clear(k);
    if (st == VEIL_OK) {
        r->scale = to;
        r->count = count;
    }
    return st;
}

void veil_enc_rerandomize(veil_enc *r, const veil_paillier_pub *pk, const veil_enc *a)
{
    veil_paillier_rerandomize(r->c, pk, a->c);
    mpz_set(r->bound, a->bound);
    r->scale = a->scale;
    r->count = a->count;
}

veil_status veil_enc_decrypt(mpz_t v, const veil_paillier_priv *sk, const veil_enc *e,
                             veil_err *err)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    mpz_t m;
    mpz_init(m);
    veil_status st = veil_paillier_decrypt(m, sk, e->c, err);
    if (st == VEIL_OK)
        st = veil_paillier_decode(v, pk, m, err);
    veil_mpz_wipe(m);
    if (st == VEIL_OK && mpz_cmpabs(v, e->bound) > 0)
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "overflow: the decrypted value lies outside its declared bound; "
                          "the ciphertext does not hold what its metadata claims");
    return st;
}
