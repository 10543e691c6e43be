/* FF1 (NIST SP 800-38G, Algorithms 7 and 8). The round function is the
 * standard's PRF: AES-CBC-MAC with a zero IV over P || Q, computed with
 * single-block AES-ECB calls from OpenSSL, then extended by encrypting
 * R xor [j]^16 when more than 16 bytes are needed. Big numbers (NUM_radix,
 * STR_radix) are GMP integers. */
#include "veil/ff1.h"

#include <gmp.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/rand.h"

struct veil_ff1 {
    EVP_CIPHER_CTX *ctx;
    unsigned radix;
};

veil_status veil_ff1_new(veil_ff1 **out, const unsigned char *key, size_t key_len, unsigned radix,
                         veil_err *err)
{
    *out = NULL;
    const EVP_CIPHER *c = key_len == 16   ? EVP_aes_128_ecb()
                          : key_len == 24 ? EVP_aes_192_ecb()
                          : key_len == 32 ? EVP_aes_256_ecb()
                                          : NULL;
    if (c == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "FF1: the AES key must be 16, 24 or 32 bytes, not %zu", key_len);
    if (radix < 2 || radix > VEIL_FF1_RADIX_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "FF1: radix %u is outside 2..%u", radix,
                            VEIL_FF1_RADIX_MAX);
    veil_ff1 *f = calloc(1, sizeof *f);
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    f->radix = radix;
    f->ctx = EVP_CIPHER_CTX_new();
    if (f->ctx == NULL || EVP_EncryptInit_ex(f->ctx, c, NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(f->ctx, 0) != 1) {
        veil_ff1_free(f);
        return veil_err_set(err, VEIL_ERR_CRYPTO, "FF1: OpenSSL could not set up AES");
    }
    *out = f;
    return VEIL_OK;
}

void veil_ff1_free(veil_ff1 *f)
{
    if (f == NULL)
        return;
    EVP_CIPHER_CTX_free(f->ctx); /* OpenSSL cleanses the key schedule */
    free(f);
}

unsigned veil_ff1_radix(const veil_ff1 *f)
{
    return f->radix;
}

static int aes_block(veil_ff1 *f, unsigned char out[16], const unsigned char in[16])
{
    int outl = 0;
    return EVP_EncryptUpdate(f->ctx, out, &outl, in, 16) == 1 && outl == 16 ? 0 : -1;
}

static void num_radix(mpz_t out, const uint16_t *x, size_t len, unsigned radix)
{
    mpz_set_ui(out, 0);
    for (size_t i = 0; i < len; i++) {
        mpz_mul_ui(out, out, radix);
        mpz_add_ui(out, out, x[i]);
    }
}

/* x (len numerals, most significant first) = c, with 0 <= c < radix^len. */
static void str_radix(uint16_t *x, size_t len, mpz_t c, unsigned radix)
{
    for (size_t i = len; i-- > 0;)
        x[i] = (uint16_t)mpz_fdiv_q_ui(c, c, radix);
}

typedef struct {
    size_t n, u, v, b, d, qlen, t;
    unsigned char p[16];
    unsigned char *q;
    mpz_t pow_u, pow_v, num, y, tmp;
} ff1_state;

static veil_status setup(ff1_state *s, veil_ff1 *f, size_t n, const unsigned char *tweak, size_t t,
                         veil_err *err)
{
    memset(s, 0, sizeof *s);
    mpz_inits(s->pow_u, s->pow_v, s->num, s->y, s->tmp, NULL);
    if (n < 2 || n > VEIL_FF1_LEN_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "FF1: message length %zu is outside 2..%u", n,
                            VEIL_FF1_LEN_MAX);
    if (t > VEIL_FF1_TWEAK_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "FF1: tweak longer than %u bytes",
                            VEIL_FF1_TWEAK_MAX);
    if (n < 20) { /* radix^n >= 2^20 > 10^6 for n >= 20 */
        mpz_ui_pow_ui(s->tmp, f->radix, (unsigned long)n);
        if (mpz_cmp_ui(s->tmp, 1000000) < 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "FF1: radix %u with %zu numerals gives fewer than 1000000 values "
                                "(NIST SP 800-38G minimum)",
                                f->radix, n);
    }
    s->n = n;
    s->t = t;
    s->u = n / 2;
    s->v = n - s->u;
    mpz_ui_pow_ui(s->pow_u, f->radix, (unsigned long)s->u);
    mpz_ui_pow_ui(s->pow_v, f->radix, (unsigned long)s->v);
    /* b = ceil(ceil(v * log2(radix)) / 8) = bytes of radix^v - 1 */
    mpz_sub_ui(s->tmp, s->pow_v, 1);
    s->b = (mpz_sizeinbase(s->tmp, 2) + 7) / 8;
    s->d = 4 * ((s->b + 3) / 4) + 4;
    unsigned char *p = s->p;
    p[0] = 1;
    p[1] = 2;
    p[2] = 1;
    p[3] = (unsigned char)(f->radix >> 16);
    p[4] = (unsigned char)(f->radix >> 8);
    p[5] = (unsigned char)f->radix;
    p[6] = 10;
    p[7] = (unsigned char)(s->u & 0xff);
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (unsigned char)((uint64_t)n >> (24 - 8 * i));
        p[12 + i] = (unsigned char)((uint64_t)t >> (24 - 8 * i));
    }
    size_t pad = (16 - ((t + s->b + 1) % 16)) % 16;
    s->qlen = t + pad + 1 + s->b;
    s->q = calloc(1, s->qlen);
    if (s->q == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (t > 0)
        memcpy(s->q, tweak, t);
    return VEIL_OK;
}

static void teardown(ff1_state *s)
{
    if (s->q != NULL) {
        OPENSSL_cleanse(s->q, s->qlen);
        free(s->q);
    }
    veil_mpz_wipe(s->num);
    veil_mpz_wipe(s->y);
    veil_mpz_wipe(s->tmp);
    mpz_clears(s->pow_u, s->pow_v, NULL);
}

/* y = NUM(S) for round i, where the round input numerals are x (v or u
 * of them, always the half that NIST calls B when encrypting). */
static int round_value(ff1_state *s, veil_ff1 *f, unsigned i, const uint16_t *x, size_t xlen)
{
    unsigned char r[16], blk[16], sbuf[16 * 17];
    num_radix(s->num, x, xlen, f->radix);
    unsigned char *tail = s->q + s->qlen - s->b;
    memset(tail, 0, s->b);
    size_t cnt = mpz_sgn(s->num) == 0 ? 0 : (mpz_sizeinbase(s->num, 2) + 7) / 8;
    if (cnt > s->b)
        return -1;
    if (cnt > 0)
        mpz_export(tail + (s->b - cnt), NULL, 1, 1, 1, 0, s->num);
    s->q[s->qlen - s->b - 1] = (unsigned char)i;
    /* R = CBC-MAC(P || Q) */
    if (aes_block(f, r, s->p) != 0)
        return -1;
    for (size_t off = 0; off < s->qlen; off += 16) {
        for (int k = 0; k < 16; k++)
            blk[k] = r[k] ^ s->q[off + k];
        if (aes_block(f, r, blk) != 0)
            return -1;
    }
    size_t blocks = (s->d + 15) / 16;
    unsigned char *sb = sbuf;
    unsigned char *heap = NULL;
    if (blocks > 17) {
        heap = malloc(blocks * 16);
        if (heap == NULL)
            return -1;
        sb = heap;
    }
    memcpy(sb, r, 16);
    for (size_t j = 1; j < blocks; j++) {
        memcpy(blk, r, 16);
        for (int k = 0; k < 8; k++)
            blk[15 - k] ^= (unsigned char)((uint64_t)j >> (8 * k));
        if (aes_block(f, sb + 16 * j, blk) != 0) {
            free(heap);
            return -1;
        }
    }
    mpz_import(s->y, s->d, 1, 1, 1, 0, sb);
    OPENSSL_cleanse(sb, blocks * 16);
    OPENSSL_cleanse(r, sizeof r);
    OPENSSL_cleanse(blk, sizeof blk);
    free(heap);
    return 0;
}

static veil_status check_numerals(const veil_ff1 *f, const uint16_t *x, size_t n, veil_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] >= f->radix)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "FF1: numeral %u at position %zu is not below radix %u", x[i],
                                i + 1, f->radix);
    return VEIL_OK;
}

static veil_status run(uint16_t *out, veil_ff1 *f, const uint16_t *in, size_t n,
                       const unsigned char *tweak, size_t tweak_len, int decrypt, veil_err *err)
{
    ff1_state s;
    uint16_t *a = NULL;
    veil_status st = setup(&s, f, n, tweak, tweak_len, err);
    if (st == VEIL_OK)
        st = check_numerals(f, in, n, err);
    if (st == VEIL_OK && (a = malloc(2 * n * sizeof *a)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st != VEIL_OK)
        goto done;
    /* The halves live in one buffer: A = buf[0..la), B = buf[n..n+lb). */
    uint16_t *A = a, *B = a + n, *C;
    size_t la = s.u, lb = s.v;
    memcpy(A, in, la * sizeof *A);
    memcpy(B, in + la, lb * sizeof *B);
    for (unsigned r = 0; r < 10; r++) {
        unsigned i = decrypt ? 9 - r : r;
        size_t m = (i % 2 == 0) ? s.u : s.v;
        if (!decrypt) {
            if (round_value(&s, f, i, B, lb) != 0)
                goto crypto_fail;
            num_radix(s.tmp, A, la, f->radix);
            mpz_add(s.tmp, s.tmp, s.y);
        } else {
            if (round_value(&s, f, i, A, la) != 0)
                goto crypto_fail;
            num_radix(s.tmp, B, lb, f->radix);
            mpz_sub(s.tmp, s.tmp, s.y);
        }
        mpz_fdiv_r(s.tmp, s.tmp, m == s.u ? s.pow_u : s.pow_v);
        if (!decrypt) {
            /* A = B, B = C: C overwrites the old A's storage. */
            C = A;
            str_radix(C, m, s.tmp, f->radix);
            A = B;
            la = lb;
            B = C;
            lb = m;
        } else {
            /* B = A, A = C */
            C = B;
            str_radix(C, m, s.tmp, f->radix);
            B = A;
            lb = la;
            A = C;
            la = m;
        }
    }
    memcpy(out, A, la * sizeof *A);
    memcpy(out + la, B, lb * sizeof *B);
    goto done;
crypto_fail:
    st = veil_err_set(err, VEIL_ERR_CRYPTO, "FF1: AES failed");
done:
    if (a != NULL) {
        OPENSSL_cleanse(a, 2 * n * sizeof *a);
        free(a);
    }
    teardown(&s);
    return st;
}

veil_status veil_ff1_encrypt(uint16_t *out, veil_ff1 *f, const uint16_t *in, size_t n,
                             const unsigned char *tweak, size_t tweak_len, veil_err *err)
{
    return run(out, f, in, n, tweak, tweak_len, 0, err);
}

veil_status veil_ff1_decrypt(uint16_t *out, veil_ff1 *f, const uint16_t *in, size_t n,
                             const unsigned char *tweak, size_t tweak_len, veil_err *err)
{
    return run(out, f, in, n, tweak, tweak_len, 1, err);
}

static veil_status run_text(char *out, veil_ff1 *f, const char *alphabet, const char *in, size_t n,
                            const unsigned char *tweak, size_t tweak_len, int decrypt,
                            veil_err *err)
{
    int pos[256];
    size_t alen = strlen(alphabet);
    if (alen != f->radix)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "FF1: the alphabet has %zu characters but the radix is %u", alen,
                            f->radix);
    if (n > VEIL_FF1_LEN_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "FF1: message length %zu is outside 2..%u", n,
                            VEIL_FF1_LEN_MAX);
    for (int i = 0; i < 256; i++)
        pos[i] = -1;
    for (size_t i = 0; i < alen; i++) {
        unsigned char c = (unsigned char)alphabet[i];
        if (pos[c] >= 0)
            return veil_err_set(err, VEIL_ERR_USAGE, "FF1: the alphabet repeats '%c'", c);
        pos[c] = (int)i;
    }
    uint16_t *x = calloc(n ? n : 1, sizeof *x);
    if (x == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        int p = pos[(unsigned char)in[i]];
        if (p < 0)
            st = veil_err_set(err, VEIL_ERR_INPUT, "character %zu is not in the FF1 alphabet",
                              i + 1);
        else
            x[i] = (uint16_t)p;
    }
    if (st == VEIL_OK)
        st = run(x, f, x, n, tweak, tweak_len, decrypt, err);
    if (st == VEIL_OK) {
        for (size_t i = 0; i < n; i++)
            out[i] = alphabet[x[i]];
        out[n] = '\0';
    }
    OPENSSL_cleanse(x, (n ? n : 1) * sizeof *x);
    free(x);
    return st;
}

veil_status veil_ff1_encrypt_text(char *out, veil_ff1 *f, const char *alphabet, const char *in,
                                  size_t n, const unsigned char *tweak, size_t tweak_len,
                                  veil_err *err)
{
    return run_text(out, f, alphabet, in, n, tweak, tweak_len, 0, err);
}

veil_status veil_ff1_decrypt_text(char *out, veil_ff1 *f, const char *alphabet, const char *in,
                                  size_t n, const unsigned char *tweak, size_t tweak_len,
                                  veil_err *err)
{
    return run_text(out, f, alphabet, in, n, tweak, tweak_len, 1, err);
}
