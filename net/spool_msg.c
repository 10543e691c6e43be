/* Message files of the file-exchange transport (spool.h): packing and the
 * pure open-and-check of one file, shared by the channel, the tests and
 * the fuzzer. */
#include "spool.h"

#include <stdlib.h>
#include <string.h>

#include "framing.h"

static const char SIGN_TAG[] = "veil spool message v1"; /* signed with its NUL */

int veil_spool_keys_from_seed(veil_spool_keys *k, const uint8_t seed[crypto_sign_SEEDBYTES])
{
    if (crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed) != 0 ||
        crypto_sign_ed25519_pk_to_curve25519(k->box_pk, k->sign_pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(k->box_sk, k->sign_sk) != 0) {
        sodium_memzero(k, sizeof *k);
        return -1;
    }
    return 0;
}

/* The signed bytes' prefix: tag, NUL, recipient length, recipient. */
static size_t sign_prefix(uint8_t out[sizeof SIGN_TAG + 1 + VEIL_PARTY_ID_MAX],
                          const char *recipient)
{
    size_t rl = strlen(recipient);
    memcpy(out, SIGN_TAG, sizeof SIGN_TAG);
    out[sizeof SIGN_TAG] = (uint8_t)rl;
    memcpy(out + sizeof SIGN_TAG + 1, recipient, rl);
    return sizeof SIGN_TAG + 1 + rl;
}

/* Ed25519 over prefix || envelope without copying the envelope: the
 * multi-part API is Ed25519ph, so the message is assembled instead. */
static int sign_or_verify(uint8_t sig[crypto_sign_BYTES], const uint8_t *env, size_t elen,
                          const char *recipient, const uint8_t *sk, const uint8_t *pk)
{
    uint8_t pre[sizeof SIGN_TAG + 1 + VEIL_PARTY_ID_MAX];
    size_t pl = sign_prefix(pre, recipient);
    uint8_t *m = malloc(pl + elen);
    if (m == NULL)
        return -2;
    memcpy(m, pre, pl);
    memcpy(m + pl, env, elen);
    int r = sk != NULL ? crypto_sign_detached(sig, NULL, m, pl + elen, sk)
                       : crypto_sign_verify_detached(sig, m, pl + elen, pk);
    veil_secret_free(m, pl + elen);
    return r;
}

veil_status veil_spool_pack(uint8_t **out, size_t *len, const veil_spool_keys *k,
                            const char *recipient, const uint8_t recipient_pk[32],
                            const char *session, const char *sender, uint64_t seq, uint32_t type,
                            const void *payload, size_t plen, size_t frame_max, veil_err *err)
{
    *out = NULL;
    *len = 0;
    if (!veil_net_id_ok(recipient, VEIL_PARTY_ID_MAX))
        return veil_err_set(err, VEIL_ERR_INTERNAL, "invalid recipient id");
    uint8_t xpk[crypto_box_PUBLICKEYBYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(xpk, recipient_pk) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "%s's key cannot be converted to X25519",
                            recipient);
    /* The frame packer leaves a 4-byte head before the envelope: the
     * inner plaintext is built as sig || envelope over it. */
    uint8_t *frame = NULL;
    size_t fcap = 0, flen = 0;
    veil_status st = veil_net_frame_pack(&frame, &fcap, &flen, session, sender, seq, type, payload,
                                         plen, frame_max, err);
    if (st != VEIL_OK)
        return st;
    size_t elen = flen - VEIL_NET_FRAME_HEAD;
    size_t inner_len = crypto_sign_BYTES + elen;
    size_t sealed = crypto_box_SEALBYTES + inner_len;
    uint8_t *inner = malloc(inner_len);
    uint8_t *file = malloc(VEIL_SPOOL_HEAD + sealed);
    if (inner == NULL || file == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for a %zu-byte message", plen);
        goto done;
    }
    memcpy(inner + crypto_sign_BYTES, frame + VEIL_NET_FRAME_HEAD, elen);
    int r = sign_or_verify(inner, frame + VEIL_NET_FRAME_HEAD, elen, recipient, k->sign_sk, NULL);
    if (r != 0) {
        st = veil_err_set(err, r == -2 ? VEIL_ERR_NOMEM : VEIL_ERR_CRYPTO,
                          "cannot sign a message for %s", recipient);
        goto done;
    }
    memcpy(file, VEIL_SPOOL_MAGIC, VEIL_SPOOL_MAGIC_LEN);
    file[8] = (uint8_t)(sealed >> 24);
    file[9] = (uint8_t)(sealed >> 16);
    file[10] = (uint8_t)(sealed >> 8);
    file[11] = (uint8_t)sealed;
    if (crypto_box_seal(file + VEIL_SPOOL_HEAD, inner, inner_len, xpk) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "cannot seal a message to %s", recipient);
        goto done;
    }
    *out = file;
    *len = VEIL_SPOOL_HEAD + sealed;
    file = NULL;
done:
    veil_secret_free(frame, fcap);
    veil_secret_free(inner, inner_len);
    free(file);
    return st;
}

veil_status veil_spool_open(const uint8_t *buf, size_t len, const veil_spool_keys *k,
                            const char *self_id, const uint8_t sender_pk[32],
                            const veil_net_expect *want, size_t frame_max, uint32_t *type,
                            uint8_t **payload, size_t *plen, veil_err *err)
{
    *type = 0;
    *payload = NULL;
    *plen = 0;
    const char *who = want->who;
    unsigned long long seq = (unsigned long long)want->seq;
    if (!veil_net_id_ok(self_id, VEIL_PARTY_ID_MAX))
        return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: invalid recipient id", who);
    if (len > frame_max + VEIL_SPOOL_OVERHEAD)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: the file is %zu bytes; the limit is %zu", who,
                            len, frame_max + VEIL_SPOOL_OVERHEAD);
    if (len < VEIL_SPOOL_MAGIC_LEN || memcmp(buf, VEIL_SPOOL_MAGIC, VEIL_SPOOL_MAGIC_LEN) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a veil message file (no %s header)", who,
                            VEIL_SPOOL_MAGIC);
    if (len < VEIL_SPOOL_HEAD)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: truncated (%zu bytes, no length)", who, len);
    size_t sealed = (size_t)buf[8] << 24 | (size_t)buf[9] << 16 | (size_t)buf[10] << 8 | buf[11];
    if (sealed > frame_max + crypto_box_SEALBYTES + crypto_sign_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: announces a %zu-byte message; the limit is %zu", who, sealed,
                            frame_max + crypto_box_SEALBYTES + crypto_sign_BYTES);
    if (len - VEIL_SPOOL_HEAD < sealed)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: truncated (%zu bytes; its header announces %zu)", who, len,
                            VEIL_SPOOL_HEAD + sealed);
    if (len - VEIL_SPOOL_HEAD > sealed)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %zu trailing byte(s) after the message", who,
                            len - VEIL_SPOOL_HEAD - sealed);
    if (sealed < crypto_box_SEALBYTES + crypto_sign_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: truncated (a %zu-byte sealed message)", who,
                            sealed);
    size_t inner_len = sealed - crypto_box_SEALBYTES;
    uint8_t *inner = malloc(inner_len);
    if (inner == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "%s: out of memory for a %zu-byte message", who,
                            inner_len);
    veil_status st = VEIL_OK;
    if (crypto_box_seal_open(inner, buf + VEIL_SPOOL_HEAD, sealed, k->box_pk, k->box_sk) != 0) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: cannot be opened: it is not sealed to %s, or it was altered", who,
                          self_id);
        goto done;
    }
    const uint8_t *env = inner + crypto_sign_BYTES;
    size_t elen = inner_len - crypto_sign_BYTES;
    int r = sign_or_verify(inner, env, elen, self_id, NULL, sender_pk);
    if (r == -2) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "%s: out of memory", who);
        goto done;
    }
    if (r != 0) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: bad signature: message %llu is not signed by %s's pinned key for "
                          "%s",
                          who, seq, want->sender, self_id);
        goto done;
    }
    st = veil_net_envelope_open(env, elen, want, type, payload, plen, err);
done:
    veil_secret_free(inner, inner_len);
    return st;
}
