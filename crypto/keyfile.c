/* Paillier key files: a comment line and a base64 veil.KeyFile protobuf
 * (docs/formats.md), public, private or sealed with Argon2id + secretbox. */
#include "veil/keyfile.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "veil.pb-c.h"
#include "veil/rand.h"

#define COMMENT_PREFIX  "untrusted comment: "
#define COMMENT_MAX     255
#define KEYFILE_VERSION 1
#define KDF_NAME        "argon2id13"
#define SECRETBOX_KEY   crypto_secretbox_KEYBYTES
/* Field sizes for keys of up to 4096 bits. */
#define N_BYTES_MAX      512
#define N2_BYTES_MAX     1024
#define FACTOR_BYTES_MAX 256

/* ---- key material <-> protobuf ---- */

/* The serialized public part; buffers owned by the struct. */
typedef struct {
    Veil__PaillierPublicKey msg;
    uint8_t *n, *hs;
} pub_msg;

static void pub_msg_free(pub_msg *m)
{
    free(m->n);
    free(m->hs);
    m->n = m->hs = NULL;
}

static veil_status pub_msg_fill(pub_msg *m, const veil_paillier_pub *pk, veil_err *err)
{
    Veil__PaillierPublicKey init = VEIL__PAILLIER_PUBLIC_KEY__INIT;
    m->msg = init;
    m->n = m->hs = NULL;
    mpz_t x;
    mpz_init(x);
    veil_paillier_pub_n(x, pk);
    veil_status st = veil_mpz_to_be(&m->n, &m->msg.n.len, x, err);
    m->msg.n.data = m->n;
    if (st == VEIL_OK && veil_paillier_pub_is_djn(pk)) {
        veil_paillier_pub_hs(x, pk);
        st = veil_mpz_to_be(&m->hs, &m->msg.hs.len, x, err);
        m->msg.hs.data = m->hs;
        m->msg.has_hs = 1;
    }
    m->msg.version = KEYFILE_VERSION;
    mpz_clear(x);
    if (st != VEIL_OK)
        pub_msg_free(m);
    return st;
}

/* Reads n and hs (or leaves hs NULL-equivalent 0) from a message. */
static veil_status pub_parts(mpz_t n, mpz_t hs, int *has_hs, const Veil__PaillierPublicKey *m,
                             veil_err *err)
{
    if (m->version != KEYFILE_VERSION)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "public key version %u is not supported (this veil reads version %d)",
                            m->version, KEYFILE_VERSION);
    veil_status st = veil_be_to_mpz(n, m->n.data, m->n.len, N_BYTES_MAX, "the modulus n", err);
    if (st != VEIL_OK)
        return st;
    *has_hs = m->has_hs;
    mpz_set_ui(hs, 0);
    if (m->has_hs) {
        st = veil_be_to_mpz(hs, m->hs.data, m->hs.len, N2_BYTES_MAX, "the DJN base hs", err);
        if (st != VEIL_OK)
            return st;
        if (mpz_sgn(hs) == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "the DJN base hs is present but empty");
    }
    return VEIL_OK;
}

static veil_status pub_from_msg(veil_paillier_pub **out, const Veil__PaillierPublicKey *m,
                                veil_err *err)
{
    mpz_t n, hs;
    int has_hs;
    mpz_inits(n, hs, NULL);
    veil_status st = pub_parts(n, hs, &has_hs, m, err);
    if (st == VEIL_OK)
        st = veil_paillier_pub_new(out, n, has_hs ? hs : NULL, err);
    mpz_clears(n, hs, NULL);
    return st;
}

static veil_status priv_from_msg(veil_paillier_priv **out, const Veil__PaillierPrivateKey *m,
                                 veil_err *err)
{
    *out = NULL;
    if (m->version != KEYFILE_VERSION)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "private key version %u is not supported (this veil reads "
                            "version %d)",
                            m->version, KEYFILE_VERSION);
    mpz_t n, hs, p, q, pq;
    int has_hs;
    mpz_inits(n, hs, p, q, pq, NULL);
    veil_paillier_priv *sk = NULL;
    veil_status st = pub_parts(n, hs, &has_hs, m->public_key, err);
    if (st != VEIL_OK)
        goto done;
    st = veil_be_to_mpz(p, m->p.data, m->p.len, FACTOR_BYTES_MAX, "the factor p", err);
    if (st != VEIL_OK)
        goto done;
    st = veil_be_to_mpz(q, m->q.data, m->q.len, FACTOR_BYTES_MAX, "the factor q", err);
    if (st != VEIL_OK)
        goto done;
    /* Cheap consistency first, then the full checks of priv_new. */
    mpz_mul(pq, p, q);
    if (mpz_cmp(pq, n) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "the public modulus n stored with the private key is not p*q");
        goto done;
    }
    st = veil_paillier_priv_new(&sk, p, q, has_hs ? hs : NULL, 0, err);
    if (st != VEIL_OK)
        goto done;
    *out = sk;
done:
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    veil_mpz_wipe(pq);
    mpz_clears(n, hs, NULL);
    return st;
}

/* Packs the private key message; *out must be wiped with veil_secret_free. */
static veil_status priv_pack(uint8_t **out, size_t *len, const veil_paillier_priv *sk,
                             veil_err *err)
{
    *out = NULL;
    *len = 0;
    pub_msg pm;
    veil_status st = pub_msg_fill(&pm, veil_paillier_priv_pub(sk), err);
    if (st != VEIL_OK)
        return st;
    Veil__PaillierPrivateKey m = VEIL__PAILLIER_PRIVATE_KEY__INIT;
    m.version = KEYFILE_VERSION;
    m.public_key = &pm.msg;
    uint8_t *pb = NULL, *qb = NULL;
    size_t pl = 0, ql = 0;
    mpz_t x;
    mpz_init(x);
    veil_paillier_priv_p(x, sk);
    st = veil_mpz_to_be(&pb, &pl, x, err);
    if (st == VEIL_OK) {
        veil_paillier_priv_q(x, sk);
        st = veil_mpz_to_be(&qb, &ql, x, err);
    }
    veil_mpz_wipe(x);
    if (st != VEIL_OK)
        goto done;
    m.p.data = pb;
    m.p.len = pl;
    m.q.data = qb;
    m.q.len = ql;
    size_t size = protobuf_c_message_get_packed_size(&m.base);
    uint8_t *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    protobuf_c_message_pack(&m.base, buf);
    *out = buf;
    *len = size;
done:
    veil_secret_free(pb, pl);
    veil_secret_free(qb, ql);
    pub_msg_free(&pm);
    return st;
}

/* Zeroizes the secret factors inside an unpacked message before it is
 * freed (protobuf-c frees without wiping). */
static void priv_msg_free(Veil__PaillierPrivateKey *m)
{
    if (m == NULL)
        return;
    if (m->p.data != NULL)
        sodium_memzero(m->p.data, m->p.len);
    if (m->q.data != NULL)
        sodium_memzero(m->q.data, m->q.len);
    veil__paillier_private_key__free_unpacked(m, NULL);
}

static void keyfile_msg_free(Veil__KeyFile *kf)
{
    if (kf == NULL)
        return;
    if (kf->key_case == VEIL__KEY_FILE__KEY_PRIVATE_KEY && kf->private_key != NULL) {
        Veil__PaillierPrivateKey *m = kf->private_key;
        if (m->p.data != NULL)
            sodium_memzero(m->p.data, m->p.len);
        if (m->q.data != NULL)
            sodium_memzero(m->q.data, m->q.len);
    }
    veil__key_file__free_unpacked(kf, NULL);
}

/* ---- the text layout ---- */

/* Splits a key file into its comment and its decoded KeyFile message and
 * checks the outer version. Messages do not name the file (callers do). */
static veil_status layout_parse(Veil__KeyFile **out, char comment[COMMENT_MAX + 1],
                                const uint8_t *buf, size_t len, veil_err *err)
{
    *out = NULL;
    comment[0] = 0;
    const size_t plen = sizeof COMMENT_PREFIX - 1;
    if (len > VEIL_KEYFILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "key file is larger than %d bytes",
                            VEIL_KEYFILE_MAX);
    if (len < plen || memcmp(buf, COMMENT_PREFIX, plen) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "line 1 does not start with \"" COMMENT_PREFIX
                            "\"; this is not a veil key file");
    const uint8_t *c = buf + plen;
    const uint8_t *nl = memchr(c, '\n', len - plen);
    if (nl == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "truncated: line 1 has no end");
    size_t clen = (size_t)(nl - c);
    if (clen > COMMENT_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "line 1: the comment is longer than %d bytes",
                            COMMENT_MAX);
    if (memchr(c, 0, clen) != NULL || memchr(c, '\r', clen) != NULL)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "line 1: the comment contains a NUL or carriage return");
    const char *b64 = (const char *)nl + 1;
    size_t rest = len - (size_t)((const uint8_t *)b64 - buf);
    const char *end = memchr(b64, '\n', rest);
    if (end == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "truncated: line 2 has no end (a key file ends with a newline)");
    size_t b64len = (size_t)(end - b64);
    if (b64len + 1 != rest)
        return veil_err_set(err, VEIL_ERR_INPUT, "unexpected data after line 2");
    if (b64len == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "line 2 is empty; it should hold the key");
    size_t cap = b64len / 4 * 3 + 3;
    uint8_t *bin = malloc(cap);
    if (bin == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t binlen = 0;
    const char *b64end = NULL;
    veil_status st = VEIL_OK;
    if (sodium_base642bin(bin, cap, b64, b64len, NULL, &binlen, &b64end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        b64end != end) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "line 2 is not valid base64 (at character %zu)",
                          b64end != NULL ? (size_t)(b64end - b64) + 1 : (size_t)1);
        goto done;
    }
    Veil__KeyFile *kf = veil__key_file__unpack(NULL, binlen, bin);
    if (kf == NULL) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "line 2 does not decode as a veil key (malformed protobuf)");
        goto done;
    }
    if (kf->version != KEYFILE_VERSION) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "key file version %u is not supported (this veil reads version %d)",
                          kf->version, KEYFILE_VERSION);
        keyfile_msg_free(kf);
        goto done;
    }
    if (kf->key_case == VEIL__KEY_FILE__KEY__NOT_SET) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "the key file holds no key");
        keyfile_msg_free(kf);
        goto done;
    }
    memcpy(comment, c, clen);
    comment[clen] = 0;
    *out = kf;
done:
    veil_secret_free(bin, cap);
    return st;
}

static veil_status check_comment(const char *comment, veil_err *err)
{
    size_t len = strlen(comment);
    if (len > COMMENT_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "the key comment is longer than %d bytes",
                            COMMENT_MAX);
    if (strchr(comment, '\n') != NULL || strchr(comment, '\r') != NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "the key comment must be a single line");
    return VEIL_OK;
}

static void default_comment(char out[COMMENT_MAX + 1], const char *what,
                            const veil_paillier_pub *pk)
{
    char fp[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(fp, pk);
    snprintf(out, COMMENT_MAX + 1, "veil paillier %s, %u bits, %s, fingerprint %.16s", what,
             veil_paillier_pub_bits(pk), veil_paillier_pub_is_djn(pk) ? "DJN" : "textbook", fp);
}

/* Writes comment line + base64(kf) + newline through a temporary file. */
static veil_status layout_write(const char *path, mode_t mode, const char *comment,
                                const Veil__KeyFile *kf, veil_err *err)
{
    size_t binlen = protobuf_c_message_get_packed_size(&kf->base);
    size_t b64cap = sodium_base64_ENCODED_LEN(binlen, sodium_base64_VARIANT_ORIGINAL);
    size_t clen = strlen(comment);
    size_t cap = sizeof COMMENT_PREFIX - 1 + clen + 1 + b64cap + 1;
    if (cap > VEIL_KEYFILE_MAX)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: key file would exceed %d bytes", path,
                            VEIL_KEYFILE_MAX);
    uint8_t *bin = malloc(binlen > 0 ? binlen : 1);
    char *text = malloc(cap);
    veil_status st = VEIL_OK;
    if (bin == NULL || text == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    protobuf_c_message_pack(&kf->base, bin);
    size_t pos = 0;
    memcpy(text, COMMENT_PREFIX, sizeof COMMENT_PREFIX - 1);
    pos += sizeof COMMENT_PREFIX - 1;
    memcpy(text + pos, comment, clen);
    pos += clen;
    text[pos++] = '\n';
    sodium_bin2base64(text + pos, b64cap, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
    pos += strlen(text + pos);
    text[pos++] = '\n';
    st = veil_file_write_atomic(path, text, pos, mode, err);
done:
    veil_secret_free(bin, binlen > 0 ? binlen : 1);
    veil_secret_free(text, cap);
    return st;
}

/* ---- public keys ---- */

veil_status veil_pub_save(const char *path, const veil_paillier_pub *pk, const char *comment,
                          veil_err *err)
{
    char defc[COMMENT_MAX + 1];
    if (comment == NULL) {
        default_comment(defc, "public key", pk);
        comment = defc;
    }
    veil_status st = check_comment(comment, err);
    if (st != VEIL_OK)
        return st;
    pub_msg pm;
    st = pub_msg_fill(&pm, pk, err);
    if (st != VEIL_OK)
        return st;
    Veil__KeyFile kf = VEIL__KEY_FILE__INIT;
    kf.version = KEYFILE_VERSION;
    kf.key_case = VEIL__KEY_FILE__KEY_PUBLIC_KEY;
    kf.public_key = &pm.msg;
    st = layout_write(path, 0644, comment, &kf, err);
    pub_msg_free(&pm);
    return st;
}

veil_status veil_pub_parse(veil_paillier_pub **out, const uint8_t *buf, size_t len,
                           const char *name, veil_err *err)
{
    *out = NULL;
    if (name == NULL)
        name = "key file";
    char comment[COMMENT_MAX + 1];
    Veil__KeyFile *kf = NULL;
    veil_paillier_priv *sk = NULL;
    veil_status st = layout_parse(&kf, comment, buf, len, err);
    if (st != VEIL_OK)
        goto done;
    switch (kf->key_case) {
    case VEIL__KEY_FILE__KEY_PUBLIC_KEY: st = pub_from_msg(out, kf->public_key, err); break;
    case VEIL__KEY_FILE__KEY_PRIVATE_KEY:
        /* Load (and so check) the whole key; hand out its public half. */
        st = priv_from_msg(&sk, kf->private_key, err);
        if (st == VEIL_OK)
            st = veil_paillier_pub_dup(out, veil_paillier_priv_pub(sk), err);
        break;
    case VEIL__KEY_FILE__KEY_SEALED_PRIVATE_KEY:
        if (kf->sealed_private_key->version != KEYFILE_VERSION) {
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "sealed key version %u is not supported (this veil reads "
                              "version %d)",
                              kf->sealed_private_key->version, KEYFILE_VERSION);
            break;
        }
        st = pub_from_msg(out, kf->sealed_private_key->public_key, err);
        break;
    default:
        st = veil_err_set(err, VEIL_ERR_INPUT, "unknown key kind %d", (int)kf->key_case);
        break;
    }
done:
    veil_paillier_priv_free(sk);
    keyfile_msg_free(kf);
    if (st != VEIL_OK)
        veil_err_prefix(err, "%s", name);
    return st;
}

veil_status veil_pub_load(veil_paillier_pub **out, const char *path, veil_err *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_KEYFILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    st = veil_pub_parse(out, buf, len, path, err);
    veil_secret_free(buf, len + 1);
    return st;
}

/* ---- private keys ---- */

static int limits_ok(unsigned long long ops, unsigned long long mem)
{
    return ops >= crypto_pwhash_OPSLIMIT_INTERACTIVE && ops <= crypto_pwhash_OPSLIMIT_SENSITIVE &&
           mem >= crypto_pwhash_MEMLIMIT_INTERACTIVE && mem <= crypto_pwhash_MEMLIMIT_SENSITIVE;
}

static veil_status derive_key(uint8_t key[SECRETBOX_KEY], const char *pass, size_t passlen,
                              const uint8_t *salt, unsigned long long ops, size_t mem,
                              veil_err *err)
{
    if (crypto_pwhash(key, SECRETBOX_KEY, pass, passlen, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return veil_err_set(err, VEIL_ERR_NOMEM,
                            "Argon2id could not run (it needs %zu MiB of memory)", mem >> 20);
    return VEIL_OK;
}

/* Builds the SealedPrivateKey message parts: salt, nonce and box. */
static veil_status seal(Veil__SealedPrivateKey *s, uint8_t salt[crypto_pwhash_SALTBYTES],
                        uint8_t nonce[crypto_secretbox_NONCEBYTES], uint8_t **box,
                        const veil_paillier_priv *sk, const char *pass, size_t passlen,
                        unsigned long long ops, size_t mem, veil_err *err)
{
    *box = NULL;
    uint8_t key[SECRETBOX_KEY];
    uint8_t *plain = NULL;
    size_t plen = 0;
    veil_status st = priv_pack(&plain, &plen, sk, err);
    if (st != VEIL_OK)
        return st;
    veil_rand_bytes(salt, crypto_pwhash_SALTBYTES);
    veil_rand_bytes(nonce, crypto_secretbox_NONCEBYTES);
    st = derive_key(key, pass, passlen, salt, ops, mem, err);
    if (st != VEIL_OK)
        goto done;
    size_t blen = crypto_secretbox_MACBYTES + plen;
    *box = malloc(blen);
    if (*box == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    crypto_secretbox_easy(*box, plain, plen, nonce, key);
    s->kdf = (char *)KDF_NAME;
    s->opslimit = ops;
    s->memlimit = mem;
    s->salt.data = salt;
    s->salt.len = crypto_pwhash_SALTBYTES;
    s->nonce.data = nonce;
    s->nonce.len = crypto_secretbox_NONCEBYTES;
    s->box.data = *box;
    s->box.len = blen;
done:
    sodium_memzero(key, sizeof key);
    veil_secret_free(plain, plen);
    return st;
}

veil_status veil_priv_save_ex(const char *path, const veil_paillier_priv *sk,
                              const char *passphrase, size_t passphrase_len, const char *comment,
                              unsigned long long opslimit, size_t memlimit, veil_err *err)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    char defc[COMMENT_MAX + 1];
    if (comment == NULL) {
        default_comment(
            defc, passphrase != NULL ? "private key (passphrase-protected)" : "private key", pk);
        comment = defc;
    }
    veil_status st = check_comment(comment, err);
    if (st != VEIL_OK)
        return st;
    if (passphrase != NULL && passphrase_len == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the passphrase is empty");
    if (passphrase != NULL && !limits_ok(opslimit, memlimit))
        return veil_err_set(
            err, VEIL_ERR_USAGE,
            "Argon2id limits opslimit=%llu memlimit=%zu are outside "
            "[%llu..%llu] and [%zu..%zu]",
            opslimit, memlimit, (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE,
            (unsigned long long)crypto_pwhash_OPSLIMIT_SENSITIVE,
            (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE, (size_t)crypto_pwhash_MEMLIMIT_SENSITIVE);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");

    Veil__KeyFile kf = VEIL__KEY_FILE__INIT;
    kf.version = KEYFILE_VERSION;
    Veil__PaillierPrivateKey *inner = NULL;
    uint8_t *plain = NULL, *box = NULL;
    size_t plen = 0;
    pub_msg pm = {0};
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
    Veil__SealedPrivateKey sealed = VEIL__SEALED_PRIVATE_KEY__INIT;
    if (passphrase == NULL) {
        /* Pack, then unpack into a message we can embed: one code path for
         * the private key encoding. */
        st = priv_pack(&plain, &plen, sk, err);
        if (st != VEIL_OK)
            goto done;
        inner = veil__paillier_private_key__unpack(NULL, plen, plain);
        if (inner == NULL) {
            st = veil_err_set(err, VEIL_ERR_INTERNAL, "private key encoding does not decode");
            goto done;
        }
        kf.key_case = VEIL__KEY_FILE__KEY_PRIVATE_KEY;
        kf.private_key = inner;
    } else {
        st = pub_msg_fill(&pm, pk, err);
        if (st != VEIL_OK)
            goto done;
        st = seal(&sealed, salt, nonce, &box, sk, passphrase, passphrase_len, opslimit, memlimit,
                  err);
        if (st != VEIL_OK)
            goto done;
        sealed.version = KEYFILE_VERSION;
        sealed.public_key = &pm.msg;
        kf.key_case = VEIL__KEY_FILE__KEY_SEALED_PRIVATE_KEY;
        kf.sealed_private_key = &sealed;
    }
    st = layout_write(path, 0600, comment, &kf, err);
done:
    priv_msg_free(inner);
    veil_secret_free(plain, plen);
    free(box);
    pub_msg_free(&pm);
    return st;
}

veil_status veil_priv_save(const char *path, const veil_paillier_priv *sk, const char *passphrase,
                           size_t passphrase_len, const char *comment, veil_err *err)
{
    return veil_priv_save_ex(path, sk, passphrase, passphrase_len, comment,
                             crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE, err);
}

static int pub_msg_equal(const Veil__PaillierPublicKey *a, const Veil__PaillierPublicKey *b)
{
    if (a->version != b->version || a->n.len != b->n.len || a->has_hs != b->has_hs)
        return 0;
    if (a->n.len > 0 && memcmp(a->n.data, b->n.data, a->n.len) != 0)
        return 0;
    if (a->has_hs &&
        (a->hs.len != b->hs.len || (a->hs.len > 0 && memcmp(a->hs.data, b->hs.data, a->hs.len))))
        return 0;
    return 1;
}

/* Opens a sealed key: checks the KDF parameters before running Argon2id
 * (so a hostile file cannot ask for absurd time or memory), decrypts, and
 * insists that the public key in clear is the one inside the box. */
static veil_status unseal(veil_paillier_priv **out, const Veil__SealedPrivateKey *s,
                          const char *pass, size_t passlen, veil_err *err)
{
    *out = NULL;
    if (s->version != KEYFILE_VERSION)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "sealed key version %u is not supported (this veil reads version %d)",
                            s->version, KEYFILE_VERSION);
    if (pass == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the private key is sealed: a passphrase is needed to open it");
    if (passlen == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the passphrase is empty");
    if (strcmp(s->kdf, KDF_NAME) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "unknown key derivation \"%.32s\" (want %s)",
                            s->kdf, KDF_NAME);
    if (!limits_ok(s->opslimit, s->memlimit))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "Argon2id limits opslimit=%llu memlimit=%llu are outside the "
                            "accepted range (interactive to sensitive); refused",
                            (unsigned long long)s->opslimit, (unsigned long long)s->memlimit);
    if (s->salt.len != crypto_pwhash_SALTBYTES || s->nonce.len != crypto_secretbox_NONCEBYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "salt or nonce has the wrong length");
    if (s->box.len <= crypto_secretbox_MACBYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "the sealed box is too short");
    uint8_t key[SECRETBOX_KEY];
    size_t plen = s->box.len - crypto_secretbox_MACBYTES;
    uint8_t *plain = malloc(plen);
    Veil__PaillierPrivateKey *inner = NULL;
    if (plain == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st =
        derive_key(key, pass, passlen, s->salt.data, s->opslimit, (size_t)s->memlimit, err);
    if (st != VEIL_OK)
        goto done;
    if (crypto_secretbox_open_easy(plain, s->box.data, s->box.len, s->nonce.data, key) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "wrong passphrase or corrupted key file");
        goto done;
    }
    inner = veil__paillier_private_key__unpack(NULL, plen, plain);
    if (inner == NULL) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "the sealed private key does not decode");
        goto done;
    }
    if (!pub_msg_equal(inner->public_key, s->public_key)) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "the public key stored in clear does not match the sealed private "
                          "key");
        goto done;
    }
    st = priv_from_msg(out, inner, err);
done:
    sodium_memzero(key, sizeof key);
    priv_msg_free(inner);
    veil_secret_free(plain, plen);
    return st;
}

veil_status veil_priv_parse(veil_paillier_priv **out, const uint8_t *buf, size_t len,
                            const char *name, const char *passphrase, size_t passphrase_len,
                            veil_err *err)
{
    *out = NULL;
    if (name == NULL)
        name = "key file";
    char comment[COMMENT_MAX + 1];
    Veil__KeyFile *kf = NULL;
    veil_status st = layout_parse(&kf, comment, buf, len, err);
    if (st != VEIL_OK)
        goto done;
    switch (kf->key_case) {
    case VEIL__KEY_FILE__KEY_PUBLIC_KEY:
        st = veil_err_set(err, VEIL_ERR_USAGE, "holds a public key, not a private key");
        break;
    case VEIL__KEY_FILE__KEY_PRIVATE_KEY: st = priv_from_msg(out, kf->private_key, err); break;
    case VEIL__KEY_FILE__KEY_SEALED_PRIVATE_KEY:
        st = unseal(out, kf->sealed_private_key, passphrase, passphrase_len, err);
        break;
    default:
        st = veil_err_set(err, VEIL_ERR_INPUT, "unknown key kind %d", (int)kf->key_case);
        break;
    }
done:
    keyfile_msg_free(kf);
    if (st != VEIL_OK)
        veil_err_prefix(err, "%s", name);
    return st;
}

veil_status veil_priv_load(veil_paillier_priv **out, const char *path, const char *passphrase,
                           size_t passphrase_len, veil_err *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_KEYFILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    st = veil_priv_parse(out, buf, len, path, passphrase, passphrase_len, err);
    veil_secret_free(buf, len + 1);
    return st;
}

/* ---- info ---- */

veil_status veil_keyfile_info_read(veil_keyfile_info *info, const char *path, veil_err *err)
{
    memset(info, 0, sizeof *info);
    uint8_t *buf;
    size_t len;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_KEYFILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    Veil__KeyFile *kf = NULL;
    veil_paillier_pub *pk = NULL;
    const Veil__PaillierPublicKey *pm = NULL;
    st = layout_parse(&kf, info->comment, buf, len, err);
    if (st != VEIL_OK)
        goto done;
    switch (kf->key_case) {
    case VEIL__KEY_FILE__KEY_PUBLIC_KEY:
        info->kind = VEIL_KEY_PUBLIC;
        pm = kf->public_key;
        break;
    case VEIL__KEY_FILE__KEY_PRIVATE_KEY:
        info->kind = VEIL_KEY_PRIVATE;
        pm = kf->private_key->version == KEYFILE_VERSION ? kf->private_key->public_key : NULL;
        break;
    case VEIL__KEY_FILE__KEY_SEALED_PRIVATE_KEY:
        info->kind = VEIL_KEY_PRIVATE_SEALED;
        pm = kf->sealed_private_key->version == KEYFILE_VERSION ? kf->sealed_private_key->public_key
                                                                : NULL;
        break;
    default: break;
    }
    if (pm == NULL) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "unsupported key kind or version");
        goto done;
    }
    st = pub_from_msg(&pk, pm, err);
    if (st != VEIL_OK)
        goto done;
    info->bits = veil_paillier_pub_bits(pk);
    info->djn = veil_paillier_pub_is_djn(pk);
    veil_paillier_pub_fingerprint_hex(info->fingerprint_hex, pk);
done:
    veil_paillier_pub_free(pk);
    keyfile_msg_free(kf);
    veil_secret_free(buf, len + 1);
    if (st != VEIL_OK) {
        veil_err_prefix(err, "%s", path);
        info->comment[0] = 0;
    }
    return st;
}
