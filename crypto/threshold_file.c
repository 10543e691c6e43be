/* Threshold files: the 8-byte magic "VEILTHR\x01" and one veil.ThresholdFile
 * protobuf (proto/threshold.proto, docs/threshold.md): public parameters,
 * shares (clear or sealed to a department's X25519 key), department key
 * pairs and partial decryptions. Written through a temporary file renamed
 * into place; secrets with mode 0600 and wiped from every buffer. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "threshold.pb-c.h"
#include "veil/rand.h"
#include "veil/threshold.h"

#define MAGIC        "VEILTHR"
#define MAGIC_LEN    8
#define FORMAT       1
#define N_BYTES_MAX  512
#define N2_BYTES_MAX 1024
#define Z_BYTES_MAX  2048
#define E_BYTES_MAX  32

/* ---- buffers owned while a message is being packed ---- */

#define BUFS_MAX (2 * VEIL_THRESHOLD_PARTIES_MAX + 16)

typedef struct {
    uint8_t *p[BUFS_MAX];
    size_t len[BUFS_MAX];
    size_t n;
} bufs;

static void bufs_free(bufs *b)
{
    for (size_t i = 0; i < b->n; i++)
        veil_secret_free(b->p[i], b->len[i]);
    b->n = 0;
}

/* f = big-endian bytes of x, kept in b (wiped when freed: shares pass
 * through here too). */
static veil_status put_mpz(ProtobufCBinaryData *f, const mpz_t x, bufs *b, veil_err *err)
{
    if (b->n == BUFS_MAX)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "too many fields");
    veil_status st = veil_mpz_to_be(&b->p[b->n], &b->len[b->n], x, err);
    if (st != VEIL_OK)
        return st;
    f->data = b->p[b->n];
    f->len = b->len[b->n];
    b->n++;
    return VEIL_OK;
}

/* ---- whole files ---- */

/* Packs tf behind the magic and writes it atomically; the packed bytes are
 * wiped afterwards (they may hold a share). */
static veil_status write_file(const char *path, const Veil__ThresholdFile *tf, mode_t mode,
                              veil_err *err)
{
    size_t plen = veil__threshold_file__get_packed_size(tf);
    size_t len = MAGIC_LEN + plen;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    memcpy(buf, MAGIC, MAGIC_LEN - 1);
    buf[MAGIC_LEN - 1] = FORMAT;
    veil__threshold_file__pack(tf, buf + MAGIC_LEN);
    veil_status st = veil_file_write_atomic(path, buf, len, mode, err);
    veil_secret_free(buf, len);
    return st;
}

static veil_status parse_file(Veil__ThresholdFile **out, const uint8_t *buf, size_t len, size_t max,
                              const char *name, veil_err *err)
{
    *out = NULL;
    if (len > max)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %zu bytes", name, max);
    if (len < MAGIC_LEN || memcmp(buf, MAGIC, MAGIC_LEN - 1) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a veil threshold file (bad magic%s)",
                            name, len < MAGIC_LEN ? ", truncated" : "");
    if (buf[MAGIC_LEN - 1] != FORMAT)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: format version %u is not supported (this veil reads version %d)",
                            name, buf[MAGIC_LEN - 1], FORMAT);
    Veil__ThresholdFile *tf = veil__threshold_file__unpack(NULL, len - MAGIC_LEN, buf + MAGIC_LEN);
    if (tf == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: malformed protobuf (truncated or corrupted file)", name);
    if (tf->version != FORMAT) {
        unsigned v = tf->version;
        veil__threshold_file__free_unpacked(tf, NULL);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: version %u is not supported (this veil reads version %d)", name, v,
                            FORMAT);
    }
    *out = tf;
    return VEIL_OK;
}

static const char *body_name(Veil__ThresholdFile__BodyCase c)
{
    switch (c) {
    case VEIL__THRESHOLD_FILE__BODY_KEY: return "threshold key parameters";
    case VEIL__THRESHOLD_FILE__BODY_SHARE: return "a share";
    case VEIL__THRESHOLD_FILE__BODY_SEALED_SHARE: return "a sealed share";
    case VEIL__THRESHOLD_FILE__BODY_PARTIALS: return "partial decryptions";
    case VEIL__THRESHOLD_FILE__BODY_PARTY_PUBLIC: return "a department public key";
    case VEIL__THRESHOLD_FILE__BODY_PARTY_SECRET: return "a department secret key";
    default: return "nothing";
    }
}

static veil_status wrong_kind(const char *name, const Veil__ThresholdFile *tf, const char *want,
                              veil_err *err)
{
    return veil_err_set(err, VEIL_ERR_USAGE, "%s: holds %s, not %s", name, body_name(tf->body_case),
                        want);
}

/* Reads a whole file and parses it; *raw (wiped by the caller with
 * veil_secret_free(raw, rawlen + 1)) is kept for secrets. */
static veil_status load_file(Veil__ThresholdFile **out, const char *path, size_t max, veil_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, max, err);
    if (st == VEIL_OK)
        st = parse_file(out, buf, len, max, path, err);
    veil_secret_free(buf, len + 1);
    return st;
}

/* Frees an unpacked file, wiping the secret fields first. */
static void tf_free(Veil__ThresholdFile *tf)
{
    if (tf == NULL)
        return;
    if (tf->body_case == VEIL__THRESHOLD_FILE__BODY_SHARE && tf->share != NULL)
        sodium_memzero(tf->share->share.data, tf->share->share.len);
    if (tf->body_case == VEIL__THRESHOLD_FILE__BODY_PARTY_SECRET && tf->party_secret != NULL)
        sodium_memzero(tf->party_secret->x25519_secret.data, tf->party_secret->x25519_secret.len);
    veil__threshold_file__free_unpacked(tf, NULL);
}

/* ---- public parameters ---- */

static veil_status key_fill(Veil__ThresholdKey *m, const veil_threshold_key *k, bufs *b,
                            veil_err *err)
{
    Veil__ThresholdKey init = VEIL__THRESHOLD_KEY__INIT;
    *m = init;
    const veil_paillier_pub *pk = veil_threshold_key_pub(k);
    unsigned l = veil_threshold_key_parties(k);
    m->version = FORMAT;
    m->parties = l;
    m->threshold = veil_threshold_key_threshold(k);
    m->verification_keys = calloc(l, sizeof *m->verification_keys);
    if (m->verification_keys == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    m->n_verification_keys = l;
    mpz_t x;
    mpz_init(x);
    veil_paillier_pub_n(x, pk);
    veil_status st = put_mpz(&m->n, x, b, err);
    if (st == VEIL_OK && veil_paillier_pub_is_djn(pk)) {
        veil_paillier_pub_hs(x, pk);
        st = put_mpz(&m->hs, x, b, err);
        m->has_hs = 1;
    }
    veil_threshold_key_v(x, k);
    if (st == VEIL_OK)
        st = put_mpz(&m->v, x, b, err);
    for (unsigned i = 1; i <= l && st == VEIL_OK; i++) {
        veil_threshold_key_vk(x, k, i);
        st = put_mpz(&m->verification_keys[i - 1], x, b, err);
    }
    mpz_clear(x);
    return st;
}

static void key_fill_free(Veil__ThresholdKey *m)
{
    free(m->verification_keys);
    m->verification_keys = NULL;
}

static veil_status key_from_msg(veil_threshold_key **out, const Veil__ThresholdKey *m,
                                veil_err *err)
{
    *out = NULL;
    if (m->version != FORMAT)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "threshold key version %u is not supported (this veil reads "
                            "version %d)",
                            m->version, FORMAT);
    if (m->parties < 1 || m->parties > VEIL_THRESHOLD_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "parties %u is outside 1 .. %u", m->parties,
                            VEIL_THRESHOLD_PARTIES_MAX);
    if (m->n_verification_keys != m->parties)
        return veil_err_set(err, VEIL_ERR_INPUT, "%zu verification keys for %u parties",
                            m->n_verification_keys, m->parties);
    mpz_t n, hs, v, vk[VEIL_THRESHOLD_PARTIES_MAX];
    mpz_inits(n, hs, v, NULL);
    for (unsigned i = 0; i < m->parties; i++)
        mpz_init(vk[i]);
    veil_paillier_pub *pk = NULL;
    veil_status st = veil_be_to_mpz(n, m->n.data, m->n.len, N_BYTES_MAX, "the modulus n", err);
    if (st == VEIL_OK && m->has_hs)
        st = veil_be_to_mpz(hs, m->hs.data, m->hs.len, N2_BYTES_MAX, "the DJN base hs", err);
    if (st == VEIL_OK && m->has_hs && mpz_sgn(hs) == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "the DJN base hs is present but empty");
    if (st == VEIL_OK)
        st = veil_be_to_mpz(v, m->v.data, m->v.len, N2_BYTES_MAX, "the verification base v", err);
    for (unsigned i = 0; i < m->parties && st == VEIL_OK; i++)
        st = veil_be_to_mpz(vk[i], m->verification_keys[i].data, m->verification_keys[i].len,
                            N2_BYTES_MAX, "a verification key", err);
    if (st == VEIL_OK)
        st = veil_paillier_pub_new(&pk, n, m->has_hs ? hs : NULL, err);
    if (st == VEIL_OK)
        st = veil_threshold_key_new(out, pk, m->parties, m->threshold, v, (const mpz_t *)vk, err);
    veil_paillier_pub_free(pk);
    mpz_clears(n, hs, v, NULL);
    for (unsigned i = 0; i < m->parties; i++)
        mpz_clear(vk[i]);
    return st;
}

veil_status veil_threshold_key_save(const char *path, const veil_threshold_key *k, veil_err *err)
{
    veil_err_clear(err);
    bufs b = {.n = 0};
    Veil__ThresholdKey km;
    Veil__ThresholdFile tf = VEIL__THRESHOLD_FILE__INIT;
    veil_status st = key_fill(&km, k, &b, err);
    if (st == VEIL_OK) {
        tf.version = FORMAT;
        tf.body_case = VEIL__THRESHOLD_FILE__BODY_KEY;
        tf.key = &km;
        st = write_file(path, &tf, 0644, err);
    }
    key_fill_free(&km);
    bufs_free(&b);
    return st;
}

veil_status veil_threshold_key_parse(veil_threshold_key **out, const uint8_t *buf, size_t len,
                                     const char *name, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    Veil__ThresholdFile *tf = NULL;
    veil_status st = parse_file(&tf, buf, len, VEIL_THRESHOLD_FILE_MAX, name, err);
    if (st != VEIL_OK)
        return st;
    if (tf->body_case != VEIL__THRESHOLD_FILE__BODY_KEY)
        st = wrong_kind(name, tf, "threshold key parameters", err);
    else if ((st = key_from_msg(out, tf->key, err)) != VEIL_OK)
        veil_err_prefix(err, "%s", name);
    tf_free(tf);
    return st;
}

veil_status veil_threshold_key_load(veil_threshold_key **out, const char *path, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_THRESHOLD_FILE_MAX, err);
    if (st == VEIL_OK)
        st = veil_threshold_key_parse(out, buf, len, path, err);
    free(buf);
    return st;
}

/* ---- shares ---- */

/* Packs a ThresholdShare into a malloc'd secret buffer. */
static veil_status share_pack(uint8_t **out, size_t *outlen, const veil_threshold_share *s,
                              veil_err *err)
{
    const veil_threshold_key *k = veil_threshold_share_key(s);
    bufs b = {.n = 0};
    Veil__ThresholdKey km;
    Veil__ThresholdShare sm = VEIL__THRESHOLD_SHARE__INIT;
    mpz_t x;
    mpz_init(x);
    veil_status st = key_fill(&km, k, &b, err);
    if (st == VEIL_OK) {
        veil_threshold_share_secret(x, s);
        st = put_mpz(&sm.share, x, &b, err);
    }
    veil_mpz_wipe(x);
    if (st == VEIL_OK) {
        sm.version = FORMAT;
        sm.key = &km;
        sm.key_fingerprint.data = (uint8_t *)veil_threshold_key_fingerprint(k);
        sm.key_fingerprint.len = VEIL_THRESHOLD_DIGEST_BYTES;
        sm.index = veil_threshold_share_index(s);
        *outlen = veil__threshold_share__get_packed_size(&sm);
        *out = malloc(*outlen > 0 ? *outlen : 1);
        if (*out == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            veil__threshold_share__pack(&sm, *out);
    }
    key_fill_free(&km);
    bufs_free(&b);
    return st;
}

veil_status veil_threshold_share_save(const char *path, const veil_threshold_share *s,
                                      const uint8_t *seal_to, veil_err *err)
{
    veil_err_clear(err);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    uint8_t *plain = NULL, *box = NULL;
    size_t plen = 0, boxlen = 0;
    veil_status st = share_pack(&plain, &plen, s, err);
    if (st != VEIL_OK)
        return st;
    Veil__ThresholdFile tf = VEIL__THRESHOLD_FILE__INIT;
    tf.version = FORMAT;
    Veil__ThresholdShare *inner = NULL;
    Veil__SealedThresholdShare sealed = VEIL__SEALED_THRESHOLD_SHARE__INIT;
    if (seal_to == NULL) {
        inner = veil__threshold_share__unpack(NULL, plen, plain);
        if (inner == NULL) {
            st = veil_err_set(err, VEIL_ERR_INTERNAL, "cannot re-read the packed share");
            goto done;
        }
        tf.body_case = VEIL__THRESHOLD_FILE__BODY_SHARE;
        tf.share = inner;
    } else {
        boxlen = crypto_box_SEALBYTES + plen;
        box = malloc(boxlen);
        if (box == NULL) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (crypto_box_seal(box, plain, plen, seal_to) != 0) {
            st = veil_err_set(err, VEIL_ERR_CRYPTO, "sealing the share failed (bad public key)");
            goto done;
        }
        sealed.version = FORMAT;
        sealed.key_fingerprint.data =
            (uint8_t *)veil_threshold_key_fingerprint(veil_threshold_share_key(s));
        sealed.key_fingerprint.len = VEIL_THRESHOLD_DIGEST_BYTES;
        sealed.index = veil_threshold_share_index(s);
        sealed.recipient.data = (uint8_t *)seal_to;
        sealed.recipient.len = VEIL_PARTY_KEY_BYTES;
        sealed.box.data = box;
        sealed.box.len = boxlen;
        tf.body_case = VEIL__THRESHOLD_FILE__BODY_SEALED_SHARE;
        tf.sealed_share = &sealed;
    }
    st = write_file(path, &tf, 0600, err);
done:
    if (inner != NULL) {
        sodium_memzero(inner->share.data, inner->share.len);
        veil__threshold_share__free_unpacked(inner, NULL);
    }
    veil_secret_free(plain, plen);
    free(box);
    return st;
}

static veil_status share_from_msg(veil_threshold_share **out, const Veil__ThresholdShare *m,
                                  veil_err *err)
{
    if (m->version != FORMAT)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "share version %u is not supported (this veil reads version %d)",
                            m->version, FORMAT);
    if (m->key_fingerprint.len != VEIL_THRESHOLD_DIGEST_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "the key fingerprint is not %u bytes",
                            VEIL_THRESHOLD_DIGEST_BYTES);
    veil_threshold_key *k = NULL;
    veil_status st = key_from_msg(&k, m->key, err);
    if (st != VEIL_OK)
        return st;
    if (sodium_memcmp(m->key_fingerprint.data, veil_threshold_key_fingerprint(k),
                      VEIL_THRESHOLD_DIGEST_BYTES) != 0) {
        char named[VEIL_FINGERPRINT_HEX], real[VEIL_FINGERPRINT_HEX];
        sodium_bin2hex(named, sizeof named, m->key_fingerprint.data, VEIL_THRESHOLD_DIGEST_BYTES);
        veil_threshold_key_fingerprint_hex(real, k);
        veil_threshold_key_free(k);
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "wrong key fingerprint: the share names threshold key %.16s but "
                            "carries the parameters of key %.16s",
                            named, real);
    }
    mpz_t s;
    mpz_init(s);
    st = veil_be_to_mpz(s, m->share.data, m->share.len, N2_BYTES_MAX, "the share", err);
    if (st == VEIL_OK)
        st = veil_threshold_share_new(out, k, m->index, s, err);
    veil_mpz_wipe(s);
    veil_threshold_key_free(k);
    return st;
}

static veil_status unseal(veil_threshold_share **out, const Veil__SealedThresholdShare *m,
                          const uint8_t *party_pk, const uint8_t *party_sk, veil_err *err)
{
    if (m->version != FORMAT)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "sealed share version %u is not supported (this veil reads version "
                            "%d)",
                            m->version, FORMAT);
    if (party_pk == NULL || party_sk == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the share is sealed to a department key: give that department's "
                            "secret key (--party-key)");
    if (m->recipient.len != VEIL_PARTY_KEY_BYTES ||
        m->key_fingerprint.len != VEIL_THRESHOLD_DIGEST_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "bad recipient or key fingerprint length");
    if (sodium_memcmp(m->recipient.data, party_pk, VEIL_PARTY_KEY_BYTES) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO,
                            "the share is sealed to another department's key");
    if (m->box.len < crypto_box_SEALBYTES || m->box.len > VEIL_THRESHOLD_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "the sealed box has a bad length");
    size_t plen = m->box.len - crypto_box_SEALBYTES;
    uint8_t *plain = malloc(plen > 0 ? plen : 1);
    if (plain == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = VEIL_OK;
    Veil__ThresholdShare *inner = NULL;
    if (crypto_box_seal_open(plain, m->box.data, m->box.len, party_pk, party_sk) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "cannot open the sealed share (wrong department key or corrupted "
                          "file)");
        goto done;
    }
    inner = veil__threshold_share__unpack(NULL, plen, plain);
    if (inner == NULL) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "the sealed share holds a malformed protobuf");
        goto done;
    }
    if (inner->index != m->index || inner->key_fingerprint.len != VEIL_THRESHOLD_DIGEST_BYTES ||
        memcmp(inner->key_fingerprint.data, m->key_fingerprint.data, VEIL_THRESHOLD_DIGEST_BYTES) !=
            0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "the index or key fingerprint in clear does not match the sealed "
                          "share");
        goto done;
    }
    st = share_from_msg(out, inner, err);
done:
    if (inner != NULL) {
        sodium_memzero(inner->share.data, inner->share.len);
        veil__threshold_share__free_unpacked(inner, NULL);
    }
    veil_secret_free(plain, plen);
    return st;
}

veil_status veil_threshold_share_parse(veil_threshold_share **out, const uint8_t *buf, size_t len,
                                       const char *name, const uint8_t *party_pk,
                                       const uint8_t *party_sk, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    Veil__ThresholdFile *tf = NULL;
    veil_status st = parse_file(&tf, buf, len, VEIL_THRESHOLD_FILE_MAX, name, err);
    if (st != VEIL_OK)
        return st;
    if (tf->body_case == VEIL__THRESHOLD_FILE__BODY_SHARE)
        st = share_from_msg(out, tf->share, err);
    else if (tf->body_case == VEIL__THRESHOLD_FILE__BODY_SEALED_SHARE)
        st = unseal(out, tf->sealed_share, party_pk, party_sk, err);
    else {
        st = wrong_kind(name, tf, "a share", err);
        tf_free(tf);
        return st;
    }
    if (st != VEIL_OK)
        veil_err_prefix(err, "%s", name);
    tf_free(tf);
    return st;
}

veil_status veil_threshold_share_load(veil_threshold_share **out, const char *path,
                                      const uint8_t *party_pk, const uint8_t *party_sk,
                                      veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_THRESHOLD_FILE_MAX, err);
    if (st == VEIL_OK)
        st = veil_threshold_share_parse(out, buf, len, path, party_pk, party_sk, err);
    veil_secret_free(buf, len + 1);
    return st;
}

/* ---- partial decryptions ---- */

veil_status veil_threshold_partials_save(const char *path, const veil_threshold_partials *p,
                                         veil_err *err)
{
    veil_err_clear(err);
    Veil__PartialDecryptionFile pf = VEIL__PARTIAL_DECRYPTION_FILE__INIT;
    Veil__PartialDecryption *items = calloc(p->count > 0 ? p->count : 1, sizeof *items);
    Veil__PartialDecryption **ptrs = calloc(p->count > 0 ? p->count : 1, sizeof *ptrs);
    uint8_t **raw = calloc(3 * (p->count > 0 ? p->count : 1), sizeof *raw);
    veil_status st = VEIL_OK;
    if (items == NULL || ptrs == NULL || raw == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < p->count && st == VEIL_OK; i++) {
        Veil__PartialDecryption init = VEIL__PARTIAL_DECRYPTION__INIT;
        items[i] = init;
        ptrs[i] = &items[i];
        const veil_threshold_partial *q = &p->items[i];
        st = veil_mpz_to_be(&raw[3 * i], &items[i].value.len, q->ci, err);
        items[i].value.data = raw[3 * i];
        if (st == VEIL_OK)
            st = veil_mpz_to_be(&raw[3 * i + 1], &items[i].challenge.len, q->e, err);
        items[i].challenge.data = raw[3 * i + 1];
        if (st == VEIL_OK)
            st = veil_mpz_to_be(&raw[3 * i + 2], &items[i].response.len, q->z, err);
        items[i].response.data = raw[3 * i + 2];
    }
    if (st == VEIL_OK) {
        pf.version = FORMAT;
        pf.key_fingerprint.data = (uint8_t *)p->key_fingerprint;
        pf.key_fingerprint.len = VEIL_THRESHOLD_DIGEST_BYTES;
        pf.index = p->index;
        pf.input_digest.data = (uint8_t *)p->input_digest;
        pf.input_digest.len = VEIL_THRESHOLD_DIGEST_BYTES;
        pf.n_items = p->count;
        pf.items = ptrs;
        Veil__ThresholdFile tf = VEIL__THRESHOLD_FILE__INIT;
        tf.version = FORMAT;
        tf.body_case = VEIL__THRESHOLD_FILE__BODY_PARTIALS;
        tf.partials = &pf;
        st = write_file(path, &tf, 0644, err);
    }
done:
    if (raw != NULL)
        for (size_t i = 0; i < 3 * p->count; i++)
            free(raw[i]);
    free(raw);
    free(ptrs);
    free(items);
    return st;
}

static veil_status partials_from_msg(veil_threshold_partials *out,
                                     const Veil__PartialDecryptionFile *m, veil_err *err)
{
    if (m->version != FORMAT)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "partial decryption version %u is not supported (this veil reads "
                            "version %d)",
                            m->version, FORMAT);
    if (m->key_fingerprint.len != VEIL_THRESHOLD_DIGEST_BYTES ||
        m->input_digest.len != VEIL_THRESHOLD_DIGEST_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "key fingerprint or input digest is not %u bytes",
                            VEIL_THRESHOLD_DIGEST_BYTES);
    if (m->index < 1 || m->index > VEIL_THRESHOLD_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "party index %u is outside 1 .. %u", m->index,
                            VEIL_THRESHOLD_PARTIES_MAX);
    if (m->n_items < 1 || m->n_items > VEIL_RESULT_ITEMS_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "party %u: %zu items (1 .. %d allowed)", m->index,
                            m->n_items, VEIL_RESULT_ITEMS_MAX);
    out->items = calloc(m->n_items, sizeof *out->items);
    if (out->items == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    out->count = m->n_items;
    for (size_t i = 0; i < m->n_items; i++) {
        veil_threshold_partial_init(&out->items[i]);
        out->items[i].index = m->index;
    }
    out->index = m->index;
    memcpy(out->key_fingerprint, m->key_fingerprint.data, VEIL_THRESHOLD_DIGEST_BYTES);
    memcpy(out->input_digest, m->input_digest.data, VEIL_THRESHOLD_DIGEST_BYTES);
    veil_status st = VEIL_OK;
    for (size_t i = 0; i < m->n_items && st == VEIL_OK; i++) {
        const Veil__PartialDecryption *it = m->items[i];
        veil_threshold_partial *q = &out->items[i];
        st = veil_be_to_mpz(q->ci, it->value.data, it->value.len, N2_BYTES_MAX,
                            "a partial decryption", err);
        if (st == VEIL_OK)
            st = veil_be_to_mpz(q->e, it->challenge.data, it->challenge.len, E_BYTES_MAX,
                                "a challenge", err);
        if (st == VEIL_OK)
            st = veil_be_to_mpz(q->z, it->response.data, it->response.len, Z_BYTES_MAX,
                                "a response", err);
        if (st != VEIL_OK)
            veil_err_prefix(err, "party %u: item %zu", m->index, i + 1);
    }
    return st;
}

veil_status veil_threshold_partials_parse(veil_threshold_partials *out, const uint8_t *buf,
                                          size_t len, const char *name, veil_err *err)
{
    veil_err_clear(err);
    veil_threshold_partials_init(out);
    Veil__ThresholdFile *tf = NULL;
    veil_status st = parse_file(&tf, buf, len, VEIL_THRESHOLD_PARTIALS_MAX, name, err);
    if (st != VEIL_OK)
        return st;
    if (tf->body_case != VEIL__THRESHOLD_FILE__BODY_PARTIALS)
        st = wrong_kind(name, tf, "partial decryptions", err);
    else if ((st = partials_from_msg(out, tf->partials, err)) != VEIL_OK)
        veil_err_prefix(err, "%s", name);
    tf_free(tf);
    if (st != VEIL_OK)
        veil_threshold_partials_clear(out);
    return st;
}

veil_status veil_threshold_partials_load(veil_threshold_partials *out, const char *path,
                                         veil_err *err)
{
    veil_err_clear(err);
    veil_threshold_partials_init(out);
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_THRESHOLD_PARTIALS_MAX, err);
    if (st == VEIL_OK)
        st = veil_threshold_partials_parse(out, buf, len, path, err);
    free(buf);
    return st;
}

/* ---- department X25519 keys ---- */

veil_status veil_party_keygen(uint8_t pk[VEIL_PARTY_KEY_BYTES], uint8_t sk[VEIL_PARTY_KEY_BYTES],
                              veil_err *err)
{
    veil_err_clear(err);
    if (veil_crypto_init() != 0 || crypto_box_keypair(pk, sk) != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to make a key pair");
    return VEIL_OK;
}

veil_status veil_party_pub_save(const char *path, const uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                veil_err *err)
{
    veil_err_clear(err);
    Veil__PartyPublicKey m = VEIL__PARTY_PUBLIC_KEY__INIT;
    m.version = FORMAT;
    m.x25519.data = (uint8_t *)pk;
    m.x25519.len = VEIL_PARTY_KEY_BYTES;
    Veil__ThresholdFile tf = VEIL__THRESHOLD_FILE__INIT;
    tf.version = FORMAT;
    tf.body_case = VEIL__THRESHOLD_FILE__BODY_PARTY_PUBLIC;
    tf.party_public = &m;
    return write_file(path, &tf, 0644, err);
}

veil_status veil_party_secret_save(const char *path, const uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                   const uint8_t sk[VEIL_PARTY_KEY_BYTES], veil_err *err)
{
    veil_err_clear(err);
    Veil__PartySecretKey m = VEIL__PARTY_SECRET_KEY__INIT;
    m.version = FORMAT;
    m.x25519_public.data = (uint8_t *)pk;
    m.x25519_public.len = VEIL_PARTY_KEY_BYTES;
    m.x25519_secret.data = (uint8_t *)sk;
    m.x25519_secret.len = VEIL_PARTY_KEY_BYTES;
    Veil__ThresholdFile tf = VEIL__THRESHOLD_FILE__INIT;
    tf.version = FORMAT;
    tf.body_case = VEIL__THRESHOLD_FILE__BODY_PARTY_SECRET;
    tf.party_secret = &m;
    return write_file(path, &tf, 0600, err);
}

veil_status veil_party_pub_load(uint8_t pk[VEIL_PARTY_KEY_BYTES], const char *path, veil_err *err)
{
    veil_err_clear(err);
    Veil__ThresholdFile *tf = NULL;
    veil_status st = load_file(&tf, path, VEIL_THRESHOLD_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    if (tf->body_case != VEIL__THRESHOLD_FILE__BODY_PARTY_PUBLIC)
        st = wrong_kind(path, tf, "a department public key", err);
    else if (tf->party_public->version != FORMAT ||
             tf->party_public->x25519.len != VEIL_PARTY_KEY_BYTES)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: unsupported version or a key that is not %u bytes", path,
                          VEIL_PARTY_KEY_BYTES);
    else
        memcpy(pk, tf->party_public->x25519.data, VEIL_PARTY_KEY_BYTES);
    tf_free(tf);
    return st;
}

veil_status veil_party_secret_load(uint8_t pk[VEIL_PARTY_KEY_BYTES],
                                   uint8_t sk[VEIL_PARTY_KEY_BYTES], const char *path,
                                   veil_err *err)
{
    veil_err_clear(err);
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    Veil__ThresholdFile *tf = NULL;
    veil_status st = load_file(&tf, path, VEIL_THRESHOLD_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    uint8_t check[crypto_scalarmult_BYTES];
    const Veil__PartySecretKey *m = tf->party_secret;
    if (tf->body_case != VEIL__THRESHOLD_FILE__BODY_PARTY_SECRET)
        st = wrong_kind(path, tf, "a department secret key", err);
    else if (m->version != FORMAT || m->x25519_public.len != VEIL_PARTY_KEY_BYTES ||
             m->x25519_secret.len != VEIL_PARTY_KEY_BYTES)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: unsupported version or keys that are not %u bytes", path,
                          VEIL_PARTY_KEY_BYTES);
    else if (crypto_scalarmult_base(check, m->x25519_secret.data) != 0 ||
             sodium_memcmp(check, m->x25519_public.data, sizeof check) != 0)
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "%s: the secret key does not match its public key",
                          path);
    else {
        memcpy(pk, m->x25519_public.data, VEIL_PARTY_KEY_BYTES);
        memcpy(sk, m->x25519_secret.data, VEIL_PARTY_KEY_BYTES);
    }
    sodium_memzero(check, sizeof check);
    tf_free(tf);
    return st;
}
