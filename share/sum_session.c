/* Session files of the secure-sum protocol (docs/sum.md): JSON read with
 * jansson, every field checked, unknown fields refused, and a digest of
 * the canonical form so parties can tell they hold the same file. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "veil/sum.h"

#define TIMEOUT_MAX 86400u

/* Fails unless every key of obj is one of the NULL-terminated names. */
static veil_status only_keys(json_t *obj, const char *const *names, const char *file,
                             const char *where, veil_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (const char *const *n = names; *n != NULL; n++)
            known |= strcmp(key, *n) == 0;
        if (!known)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s\"%s\": unknown field", file, where,
                                where[0] != '\0' ? ": " : "", key);
    }
    return VEIL_OK;
}

/* An integer field in [min, max]; *out keeps its value when the field is
 * absent and not required. */
static veil_status get_uint(json_t *obj, const char *key, int required, uint64_t min, uint64_t max,
                            uint64_t *out, const char *file, const char *where, veil_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: missing", file, where, key);
        return VEIL_OK;
    }
    if (!json_is_integer(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: must be a whole number", file, where,
                            key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: %lld is out of range [%llu, %llu]",
                            file, where, key, (long long)x, (unsigned long long)min,
                            (unsigned long long)max);
    *out = (uint64_t)x;
    return VEIL_OK;
}

static veil_status get_string(json_t *obj, const char *key, const char **out, const char *file,
                              const char *where, veil_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: missing", file, where, key);
    if (!json_is_string(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: must be a string", file, where, key);
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: contains a NUL character", file, where,
                            key);
    return VEIL_OK;
}

/* "host:port" or "[v6]:port". */
static veil_status parse_address(veil_peer *p, const char *text, const char *file,
                                 const char *where, veil_err *err)
{
    const char *colon, *host = text;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %saddress: \"%s\" is not \"[IPv6]:PORT\"",
                                file, where, text);
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || strchr(text, ':') != colon)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %saddress: \"%s\" is not \"HOST:PORT\"",
                                file, where, text);
        hlen = (size_t)(colon - text);
    }
    if (hlen == 0 || hlen > VEIL_HOST_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %saddress: \"%s\": bad host", file, where,
                            text);
    for (size_t i = 0; i < hlen; i++)
        if (host[i] <= ' ' || host[i] == '/' || (unsigned char)host[i] >= 0x7f)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %saddress: \"%s\": bad host", file, where,
                                text);
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: %saddress: \"%s\": the port must be 1 to 65535", file, where,
                            text);
    memcpy(p->host, host, hlen);
    p->host[hlen] = '\0';
    p->port = (uint16_t)port;
    return VEIL_OK;
}

static veil_status parse_roles(veil_sum_party *party, json_t *roles, const char *file,
                               const char *where, veil_err *err)
{
    if (roles == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %sroles: missing", file, where);
    if (!json_is_array(roles) || json_array_size(roles) == 0)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: %sroles: must be a non-empty list of \"input\", \"compute\", "
                            "\"output\"",
                            file, where);
    size_t i;
    json_t *r;
    json_array_foreach(roles, i, r)
    {
        const char *name = json_is_string(r) ? json_string_value(r) : "";
        unsigned bit = strcmp(name, "input") == 0     ? VEIL_SUM_ROLE_INPUT
                       : strcmp(name, "compute") == 0 ? VEIL_SUM_ROLE_COMPUTE
                       : strcmp(name, "output") == 0  ? VEIL_SUM_ROLE_OUTPUT
                                                      : 0;
        if (bit == 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: %sroles[%zu]: must be \"input\", \"compute\" or \"output\"",
                                file, where, i);
        if (party->roles & bit)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %sroles: \"%s\" given twice", file, where,
                                name);
        party->roles |= bit;
    }
    return VEIL_OK;
}

static veil_status parse_party(veil_sum_session *s, size_t k, json_t *obj, const char *file,
                               veil_err *err)
{
    static const char *const keys[] = {"id", "roles", "address", "fingerprint", NULL};
    char where[48];
    snprintf(where, sizeof where, "parties[%zu].", k);
    veil_sum_party *party = &s->parties[k];
    veil_peer *peer = &s->peers[k];
    const char *id, *fp;
    if (!json_is_object(obj))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: parties[%zu]: must be an object", file, k);
    veil_status st = only_keys(obj, keys, file, where, err);
    if (st == VEIL_OK)
        st = get_string(obj, "id", &id, file, where, err);
    if (st == VEIL_OK && !veil_net_id_ok(id, VEIL_PARTY_ID_MAX))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: %sid: \"%s\" is not a party id (1 to %d of A-Z a-z 0-9 . _ -, "
                          "not starting with . or -)",
                          file, where, id, VEIL_PARTY_ID_MAX);
    if (st != VEIL_OK)
        return st;
    for (size_t j = 0; j < k; j++)
        if (strcmp(s->parties[j].id, id) == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %sid: \"%s\" is also parties[%zu]", file,
                                where, id, j);
    strcpy(party->id, id);
    strcpy(peer->id, id);
    snprintf(where, sizeof where, "parties[%zu] (%s).", k, id);
    st = parse_roles(party, json_object_get(obj, "roles"), file, where, err);
    if (st == VEIL_OK)
        st = get_string(obj, "fingerprint", &fp, file, where, err);
    if (st == VEIL_OK && veil_fingerprint_parse(peer->fingerprint, fp, err) != VEIL_OK)
        return veil_err_prefix(err, "%s: %sfingerprint", file, where);
    if (st != VEIL_OK)
        return st;
    for (size_t j = 0; j < k; j++)
        if (memcmp(s->peers[j].fingerprint, peer->fingerprint, VEIL_FINGERPRINT_LEN) == 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: %sfingerprint: same certificate as parties[%zu] (%s); every "
                                "party needs its own identity",
                                file, where, j, s->parties[j].id);
    json_t *addr = json_object_get(obj, "address");
    int listens = (party->roles & (VEIL_SUM_ROLE_COMPUTE | VEIL_SUM_ROLE_OUTPUT)) != 0;
    if (addr == NULL) {
        if (listens)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: %saddress: missing (compute and output parties listen)", file,
                                where);
        return VEIL_OK;
    }
    const char *a;
    st = get_string(obj, "address", &a, file, where, err);
    if (st == VEIL_OK)
        st = parse_address(peer, a, file, where, err);
    for (size_t j = 0; st == VEIL_OK && j < k; j++)
        if (s->peers[j].port == peer->port && strcmp(s->peers[j].host, peer->host) == 0)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: %saddress: same as parties[%zu] (%s)", file,
                              where, j, s->parties[j].id);
    return st;
}

static veil_status parse_root(veil_sum_session *s, json_t *root, const char *file, veil_err *err)
{
    static const char *const keys[] = {"version",   "session",  "length",  "scale", "scheme",
                                       "threshold", "timeouts", "parties", NULL};
    static const char *const tkeys[] = {"connect", "io", "inputs", "results", NULL};
    if (!json_is_object(root))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: must hold a JSON object", file);
    uint64_t version = 0, length = 0, scale = 0, threshold = 0;
    uint64_t t_connect = 10, t_io = 30, t_inputs = 300, t_results = 300;
    const char *id, *scheme = "shamir";
    veil_status st = only_keys(root, keys, file, "", err);
    if (st == VEIL_OK)
        st = get_uint(root, "version", 1, 1, 1, &version, file, "", err);
    if (st == VEIL_OK)
        st = get_string(root, "session", &id, file, "", err);
    if (st == VEIL_OK && !veil_net_id_ok(id, VEIL_SESSION_ID_MAX))
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: session: \"%s\" is not a session id (1 to %d of A-Z a-z 0-9 . _ -, "
                          "not starting with . or -)",
                          file, id, VEIL_SESSION_ID_MAX);
    if (st == VEIL_OK)
        st = get_uint(root, "length", 1, 1, VEIL_SUM_LENGTH_MAX, &length, file, "", err);
    if (st == VEIL_OK)
        st = get_uint(root, "scale", 1, 0, VEIL_SUM_SCALE_MAX, &scale, file, "", err);
    if (st == VEIL_OK && json_object_get(root, "scheme") != NULL)
        st = get_string(root, "scheme", &scheme, file, "", err);
    if (st == VEIL_OK && strcmp(scheme, "shamir") != 0 && strcmp(scheme, "additive") != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: scheme: \"%s\" is not \"shamir\" or \"additive\"", file, scheme);
    json_t *to = json_object_get(root, "timeouts");
    if (st == VEIL_OK && to != NULL && !json_is_object(to))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: timeouts: must be an object", file);
    if (st == VEIL_OK && to != NULL) {
        st = only_keys(to, tkeys, file, "timeouts", err);
        if (st == VEIL_OK)
            st = get_uint(to, "connect", 0, 1, TIMEOUT_MAX, &t_connect, file, "timeouts.", err);
        if (st == VEIL_OK)
            st = get_uint(to, "io", 0, 1, TIMEOUT_MAX, &t_io, file, "timeouts.", err);
        if (st == VEIL_OK)
            st = get_uint(to, "inputs", 0, 1, TIMEOUT_MAX, &t_inputs, file, "timeouts.", err);
        if (st == VEIL_OK)
            st = get_uint(to, "results", 0, 1, TIMEOUT_MAX, &t_results, file, "timeouts.", err);
    }
    json_t *parties = json_object_get(root, "parties");
    if (st == VEIL_OK && (parties == NULL || !json_is_array(parties)))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: parties: %s", file,
                          parties == NULL ? "missing" : "must be a list");
    if (st != VEIL_OK)
        return st;
    size_t np = json_array_size(parties);
    if (np > VEIL_SUM_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: parties: %zu parties, at most %u", file, np,
                            VEIL_SUM_PARTIES_MAX);
    strcpy(s->id, id);
    s->length = length;
    s->scale = (unsigned)scale;
    s->scheme = strcmp(scheme, "additive") == 0 ? VEIL_SCHEME_ADDITIVE : VEIL_SCHEME_SHAMIR;
    s->connect_timeout = (unsigned)t_connect;
    s->io_timeout = (unsigned)t_io;
    s->inputs_timeout = (unsigned)t_inputs;
    s->results_timeout = (unsigned)t_results;
    s->parties = calloc(np > 0 ? np : 1, sizeof *s->parties);
    s->peers = calloc(np > 0 ? np : 1, sizeof *s->peers);
    if (s->parties == NULL || s->peers == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    s->nparties = np;
    unsigned outputs = 0;
    for (size_t k = 0; k < np; k++) {
        st = parse_party(s, k, json_array_get(parties, k), file, err);
        if (st != VEIL_OK)
            return st;
        veil_sum_party *p = &s->parties[k];
        if (p->roles & VEIL_SUM_ROLE_COMPUTE)
            p->index = ++s->n_compute;
        if (p->roles & VEIL_SUM_ROLE_INPUT)
            s->n_input++;
        if (p->roles & VEIL_SUM_ROLE_OUTPUT) {
            s->output = k;
            outputs++;
        }
    }
    if (s->n_input == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: parties: no party has the role \"input\"",
                            file);
    if (s->n_compute < 2 || s->n_compute > VEIL_SHARE_PARTIES_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: parties: %u compute parties; a session needs 2 to %d", file,
                            s->n_compute, VEIL_SHARE_PARTIES_MAX);
    if (outputs != 1)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: parties: %u parties have the role \"output\"; exactly one must",
                            file, outputs);
    if (s->scheme == VEIL_SCHEME_ADDITIVE) {
        st = get_uint(root, "threshold", 0, s->n_compute, s->n_compute, &threshold, file, "", err);
        if (st != VEIL_OK)
            return veil_err_prefix(err, "the additive scheme needs every compute party");
        s->threshold = s->n_compute;
    } else {
        st = get_uint(root, "threshold", 1, 2, s->n_compute, &threshold, file, "", err);
        if (st != VEIL_OK)
            return st;
        s->threshold = (unsigned)threshold;
    }
    return VEIL_OK;
}

veil_status veil_sum_session_parse(veil_sum_session **out, const char *text, size_t len,
                                   const char *name, veil_err *err)
{
    *out = NULL;
    if (len > VEIL_SUM_SESSION_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", name,
                            VEIL_SUM_SESSION_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    veil_sum_session *s = calloc(1, sizeof *s);
    veil_status st = s == NULL ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory") : VEIL_OK;
    if (st == VEIL_OK)
        st = parse_root(s, root, name, err);
    if (st == VEIL_OK) {
        /* Canonical form: sorted keys, no spaces. Two copies of one session
         * that differ only in layout have the same digest. */
        char *canon = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
        if (canon == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            crypto_generichash(s->digest, sizeof s->digest, (const unsigned char *)canon,
                               strlen(canon), NULL, 0);
        free(canon);
    }
    json_decref(root);
    if (st != VEIL_OK) {
        veil_sum_session_free(s);
        return st;
    }
    *out = s;
    return VEIL_OK;
}

veil_status veil_sum_session_load(veil_sum_session **out, const char *path, veil_err *err)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_SUM_SESSION_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    st = veil_sum_session_parse(out, (const char *)buf, len, path, err);
    free(buf);
    return st;
}

void veil_sum_session_free(veil_sum_session *s)
{
    if (s == NULL)
        return;
    free(s->parties);
    free(s->peers);
    free(s);
}

const veil_sum_party *veil_sum_session_find(const veil_sum_session *s, const char *id)
{
    for (size_t i = 0; i < s->nparties; i++)
        if (strcmp(s->parties[i].id, id) == 0)
            return &s->parties[i];
    return NULL;
}
