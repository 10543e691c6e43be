/* Packing and checking the envelopes of the channel (envelope.h). */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "veil/proto/net.pb-c.h"

veil_status veil_net_frame_pack(uint8_t **buf, size_t *cap, size_t *len, const char *session,
                                const char *sender, uint64_t seq, uint32_t type,
                                const void *payload, size_t plen, size_t frame_max, veil_err *err)
{
    *len = 0;
    if (frame_max < VEIL_NET_ENVELOPE_OVERHEAD || plen > frame_max - VEIL_NET_ENVELOPE_OVERHEAD)
        return veil_err_set(err, VEIL_ERR_INTERNAL,
                            "a message of %zu bytes is over the channel's limit of %zu bytes", plen,
                            frame_max < VEIL_NET_ENVELOPE_OVERHEAD
                                ? (size_t)0
                                : frame_max - VEIL_NET_ENVELOPE_OVERHEAD);
    Veil__NetEnvelope env = VEIL__NET_ENVELOPE__INIT;
    env.version = VEIL_NET_VERSION;
    env.session = (char *)session;
    env.sender = (char *)sender;
    env.seq = seq;
    env.type = type;
    env.payload.data = (uint8_t *)payload;
    env.payload.len = plen;
    size_t n = veil__net_envelope__get_packed_size(&env);
    if (n > frame_max || n > UINT32_MAX)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "an envelope of %zu bytes is over the limit",
                            n);
    size_t need = VEIL_NET_FRAME_HEAD + n;
    if (need > *cap) {
        /* The buffer held earlier payloads: wipe it rather than realloc. */
        uint8_t *nb = malloc(need);
        if (nb == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for a %zu-byte message", plen);
        if (*buf != NULL) {
            sodium_memzero(*buf, *cap);
            free(*buf);
        }
        *buf = nb;
        *cap = need;
    }
    uint8_t *b = *buf;
    b[0] = (uint8_t)(n >> 24);
    b[1] = (uint8_t)(n >> 16);
    b[2] = (uint8_t)(n >> 8);
    b[3] = (uint8_t)n;
    if (veil__net_envelope__pack(&env, b + VEIL_NET_FRAME_HEAD) != n)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "envelope packing gave an unexpected size");
    *len = need;
    return VEIL_OK;
}

/* Ids from the peer are shown only when they are well-formed, so a
 * hostile peer cannot put control characters into our logs. */
static const char *shown(const char *id, size_t max)
{
    return veil_net_id_ok(id, max) ? id : "(an invalid id)";
}

veil_status veil_net_envelope_open(const uint8_t *buf, size_t len, const veil_net_expect *want,
                                   uint32_t *type, uint8_t **payload, size_t *plen, veil_err *err)
{
    *type = 0;
    *payload = NULL;
    *plen = 0;
    const char *who = want->who;
    unsigned long long expect = (unsigned long long)want->seq;
    Veil__NetEnvelope *env = veil__net_envelope__unpack(NULL, len, buf);
    if (env == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: received %zu bytes that are not a valid envelope (expected "
                            "message %llu)",
                            who, len, expect);
    veil_status st = VEIL_OK;
    unsigned long long seq = (unsigned long long)env->seq;
    if (env->version != VEIL_NET_VERSION)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: envelope version %u is not supported (this is version %d)", who,
                          env->version, VEIL_NET_VERSION);
    else if (strcmp(env->session, want->session) != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: message %llu belongs to session \"%s\", not to session \"%s\"", who,
                          seq, shown(env->session, VEIL_SESSION_ID_MAX), want->session);
    else if (strcmp(env->sender, want->sender) != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: message %llu claims to come from \"%s\", but the authenticated "
                          "peer is \"%s\"",
                          who, seq, shown(env->sender, VEIL_PARTY_ID_MAX), want->sender);
    else if (env->seq < want->seq)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: message %llu replayed (expected %llu)", who,
                          seq, expect);
    else if (env->seq > want->seq)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: message %llu out of order (expected %llu)", who,
                          seq, expect);
    if (st == VEIL_OK) {
        *type = env->type;
        *plen = env->payload.len;
        if (env->payload.len > 0) {
            /* Take the payload protobuf-c allocated (with malloc, as no
             * allocator was given) instead of copying it again. */
            *payload = env->payload.data;
            env->payload.data = NULL;
            env->payload.len = 0;
        }
    }
    veil__net_envelope__free_unpacked(env, NULL);
    return st;
}
