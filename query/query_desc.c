/* Query descriptions (docs/query.md, "Query file"): JSON read with
 * jansson, every field checked, unknown fields refused at every level, and
 * a BLAKE2b-256 digest of the canonical form so every party can tell it
 * holds the same query. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "veil/disclosure.h"
#include "veil/fixed.h"
#include "veil/query.h"

#define TIMEOUT_MAX  86400u
#define WHERE_MAX    192
#define KEY_HEX_LEN  64
#define ID_RULE      "1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -"
#define INT64_DIGITS "9223372036854775807"

/* A parse in progress: the file name for messages and the query filled. */
typedef struct {
    const char *file;
    veil_query *q;
    veil_err *err;
} ctx;

/* Fails unless every key of obj is one of the NULL-terminated names.
 * path names obj ("" for the top level). */
static veil_status only_keys(ctx *c, json_t *obj, const char *const *names, const char *path)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (const char *const *n = names; *n != NULL; n++)
            known |= strcmp(key, *n) == 0;
        if (!known)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s\"%.80s\": unknown field", c->file,
                                path, path[0] != '\0' ? ": " : "", key);
    }
    return VEIL_OK;
}

/* An integer field in [min, max]; *out keeps its value when the field is
 * absent and not required. */
static veil_status get_uint(ctx *c, json_t *obj, const char *key, int required, uint64_t min,
                            uint64_t max, uint64_t *out, const char *where)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: missing", c->file, where, key);
        return VEIL_OK;
    }
    if (!json_is_integer(v))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: must be a whole number", c->file,
                            where, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: %lld is out of range [%llu, %llu]",
                            c->file, where, key, (long long)x, (unsigned long long)min,
                            (unsigned long long)max);
    *out = (uint64_t)x;
    return VEIL_OK;
}

/* A string field; *out is NULL when the field is absent and not required. */
static veil_status get_string(ctx *c, json_t *obj, const char *key, int required, const char **out,
                              const char *where)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL) {
        if (required)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: missing", c->file, where, key);
        return VEIL_OK;
    }
    if (!json_is_string(v))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: must be a string", c->file, where,
                            key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: contains a NUL character", c->file,
                            where, key);
    *out = json_string_value(v);
    return VEIL_OK;
}

/* An object field; *out is NULL when absent and not required. */
static veil_status get_object(ctx *c, json_t *obj, const char *key, int required, json_t **out,
                              const char *where)
{
    *out = json_object_get(obj, key);
    if (*out == NULL)
        return required
                   ? veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: missing", c->file, where, key)
                   : VEIL_OK;
    if (!json_is_object(*out))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s%s: must be an object", c->file, where,
                            key);
    return VEIL_OK;
}

/* A column name: 1 to VEIL_QUERY_NAME_MAX bytes, no control characters. */
static veil_status get_column(ctx *c, json_t *obj, const char *key, char *out, const char *where)
{
    const char *s;
    veil_status st = get_string(c, obj, key, 1, &s, where);
    if (st != VEIL_OK)
        return st;
    size_t n = strlen(s);
    if (n == 0 || n > VEIL_QUERY_NAME_MAX)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %s%s: a column name has 1 to %d bytes, not %zu", c->file, where,
                            key, VEIL_QUERY_NAME_MAX, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %s%s: the column name contains a control character", c->file,
                                where, key);
    memcpy(out, s, n + 1);
    return VEIL_OK;
}

/* KEY_HEX_LEN lowercase hex digits (a key fingerprint). */
static int is_key_hex(const char *s)
{
    int hex = strlen(s) == KEY_HEX_LEN;
    for (size_t i = 0; hex && i < KEY_HEX_LEN; i++)
        hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    return hex;
}

/* A party id field. */
static veil_status get_id(ctx *c, json_t *obj, char *out, const char *where)
{
    const char *s;
    veil_status st = get_string(c, obj, "id", 1, &s, where);
    if (st != VEIL_OK)
        return st;
    if (!veil_net_id_ok(s, VEIL_PARTY_ID_MAX))
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %sid: \"%.80s\" is not a party id (" ID_RULE ")", c->file, where,
                            s, VEIL_PARTY_ID_MAX);
    strcpy(out, s);
    return VEIL_OK;
}

/* A "sha256:<hex>" certificate fingerprint (net/'s parser), distinct from
 * the first n peers'. */
static veil_status get_fingerprint(ctx *c, json_t *obj, uint8_t fp[VEIL_FINGERPRINT_LEN], size_t n,
                                   const char *where)
{
    const char *s;
    veil_status st = get_string(c, obj, "fingerprint", 1, &s, where);
    if (st != VEIL_OK)
        return st;
    if (veil_fingerprint_parse(fp, s, c->err) != VEIL_OK)
        return veil_err_prefix(c->err, "%s: %sfingerprint", c->file, where);
    for (size_t j = 0; j < n; j++)
        if (memcmp(c->q->peers[j].fingerprint, fp, VEIL_FINGERPRINT_LEN) == 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %sfingerprint: same certificate as departments[%zu] (%s); "
                                "every party needs its own identity",
                                c->file, where, j, c->q->peers[j].id);
    return VEIL_OK;
}

/* "host:port" or "[v6]:port" (the roster convention of share/sum_session.c). */
static veil_status parse_address(ctx *c, veil_query_dept *d, const char *text, const char *where)
{
    const char *colon, *host = text;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %saddress: \"%.80s\" is not \"[IPv6]:PORT\"", c->file, where,
                                text);
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || strchr(text, ':') != colon)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %saddress: \"%.80s\" is not \"HOST:PORT\"", c->file, where,
                                text);
        hlen = (size_t)(colon - text);
    }
    if (hlen == 0 || hlen > VEIL_HOST_MAX)
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %saddress: \"%.80s\": bad host", c->file,
                            where, text);
    for (size_t i = 0; i < hlen; i++)
        if (host[i] <= ' ' || host[i] == '/' || (unsigned char)host[i] >= 0x7f)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %saddress: \"%.80s\": bad host",
                                c->file, where, text);
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port == 0 || port > 65535)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %saddress: \"%.80s\": the port must be 1 to 65535", c->file, where,
                            text);
    memcpy(d->host, host, hlen);
    d->host[hlen] = '\0';
    d->port = (uint16_t)port;
    return VEIL_OK;
}

/* One bound ("min" or "max"): a decimal string at the column's scale whose
 * mantissa fits an int64. */
static veil_status get_bound(ctx *c, json_t *obj, const char *key, unsigned scale, mpz_t out,
                             const char *where)
{
    const char *s;
    veil_status st = get_string(c, obj, key, 1, &s, where);
    if (st != VEIL_OK)
        return st;
    if (veil_fixed_parse(out, s, strlen(s), scale, c->err) != VEIL_OK)
        return veil_err_prefix(c->err, "%s: %s%s", c->file, where, key);
    mpz_t lim;
    mpz_init_set_str(lim, INT64_DIGITS, 10);
    int fits = mpz_cmpabs(out, lim) <= 0;
    mpz_clear(lim);
    if (!fits)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %s%s: '%.64s' does not fit a 64-bit mantissa at scale %u", c->file,
                            where, key, s, scale);
    return VEIL_OK;
}

static veil_status parse_value(ctx *c, veil_query_value *v, json_t *obj, const char *where)
{
    static const char *const keys[] = {"column", "scale", "min", "max", NULL};
    char path[WHERE_MAX + 32];
    snprintf(path, sizeof path, "%s", where);
    path[strlen(path) - 1] = '\0'; /* without the trailing '.' */
    if (!json_is_object(obj))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s: must be an object", c->file, path);
    uint64_t scale = 0;
    veil_status st = only_keys(c, obj, keys, path);
    if (st == VEIL_OK)
        st = get_column(c, obj, "column", v->column, where);
    if (st == VEIL_OK)
        st = get_uint(c, obj, "scale", 1, 0, VEIL_QUERY_SCALE_MAX, &scale, where);
    if (st != VEIL_OK)
        return st;
    v->scale = (unsigned)scale;
    int has_min = json_object_get(obj, "min") != NULL,
        has_max = json_object_get(obj, "max") != NULL;
    if (has_min != has_max)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %s%s: missing (min and max are given together or not at all)",
                            c->file, where, has_min ? "max" : "min");
    if (!has_min)
        return VEIL_OK;
    st = get_bound(c, obj, "min", v->scale, v->lo, where);
    if (st == VEIL_OK)
        st = get_bound(c, obj, "max", v->scale, v->hi, where);
    if (st != VEIL_OK)
        return st;
    if (mpz_cmp(v->lo, v->hi) > 0)
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %s: min %s is larger than max %s", c->file,
                            path, json_string_value(json_object_get(obj, "min")),
                            json_string_value(json_object_get(obj, "max")));
    v->has_bounds = 1;
    return VEIL_OK;
}

static veil_status parse_values(ctx *c, veil_query_dept *d, json_t *obj, const char *where)
{
    json_t *vals = json_object_get(obj, "values");
    if (vals == NULL)
        return VEIL_OK;
    if (!json_is_array(vals) || json_array_size(vals) == 0)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %svalues: must be a non-empty list (leave it out for none)",
                            c->file, where);
    size_t n = json_array_size(vals);
    if (c->q->nvalues + n > VEIL_QUERY_VALUES_MAX)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: %svalues: more than %u value columns in the query", c->file, where,
                            VEIL_QUERY_VALUES_MAX);
    d->values = calloc(n, sizeof *d->values);
    if (d->values == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    d->nvalues = n;
    for (size_t i = 0; i < n; i++)
        mpz_inits(d->values[i].lo, d->values[i].hi, NULL);
    d->value_base = c->q->nvalues;
    c->q->nvalues += n;
    for (size_t i = 0; i < n; i++) {
        char vw[WHERE_MAX + 32];
        snprintf(vw, sizeof vw, "%svalues[%zu].", where, i);
        veil_status st = parse_value(c, &d->values[i], json_array_get(vals, i), vw);
        if (st != VEIL_OK)
            return st;
    }
    return VEIL_OK;
}

/* Department k: id, fingerprint, group_by, values; the address is parsed
 * here and checked against the combiner rule once every department is
 * known. */
static veil_status parse_dept(ctx *c, size_t k, json_t *obj, int *has_address)
{
    static const char *const keys[] = {"id", "fingerprint", "address", "group_by", "values", NULL};
    veil_query *q = c->q;
    veil_query_dept *d = &q->depts[k];
    char where[WHERE_MAX];
    snprintf(where, sizeof where, "departments[%zu].", k);
    if (!json_is_object(obj))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: departments[%zu]: must be an object",
                            c->file, k);
    veil_status st = get_id(c, obj, d->id, where);
    if (st != VEIL_OK)
        return st;
    for (size_t j = 0; j < k; j++)
        if (strcmp(q->depts[j].id, d->id) == 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %sid: \"%s\" is also departments[%zu]",
                                c->file, where, d->id, j);
    snprintf(where, sizeof where, "departments[%zu] (%s)", k, d->id);
    st = only_keys(c, obj, keys, where);
    if (st != VEIL_OK)
        return st;
    strcat(where, ".");
    st = get_fingerprint(c, obj, d->fingerprint, k, where);
    if (st != VEIL_OK)
        return st;
    strcpy(q->peers[k].id, d->id);
    memcpy(q->peers[k].fingerprint, d->fingerprint, VEIL_FINGERPRINT_LEN);
    const char *addr;
    st = get_string(c, obj, "address", 0, &addr, where);
    if (st == VEIL_OK && addr != NULL)
        st = parse_address(c, d, addr, where);
    if (st != VEIL_OK)
        return st;
    *has_address = addr != NULL;
    if (json_object_get(obj, "group_by") != NULL) {
        st = get_column(c, obj, "group_by", d->group_by, where);
        if (st != VEIL_OK)
            return st;
        if (q->grouped)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %sgroup_by: departments[%zu] (%s) already has group_by; at "
                                "most one department may",
                                c->file, where, q->combiner, q->depts[q->combiner].id);
        if (strcmp(d->group_by, q->join_key) == 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: %sgroup_by: \"%s\" is the join key",
                                c->file, where, d->group_by);
        q->grouped = 1;
        q->combiner = k;
    }
    return parse_values(c, d, obj, where);
}

/* The combiner alone carries an address; value columns are unique and
 * differ from the join key and the group-by column. */
static veil_status check_depts(ctx *c, const int *has_address)
{
    veil_query *q = c->q;
    for (size_t k = 0; k < q->ndepts; k++) {
        const veil_query_dept *d = &q->depts[k];
        if (k == q->combiner && !has_address[k])
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: departments[%zu] (%s).address: missing (the combining "
                                "department listens)",
                                c->file, k, d->id);
        if (k != q->combiner && has_address[k])
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: departments[%zu] (%s).address: only the combining department "
                                "(departments[%zu] (%s)) has an address",
                                c->file, k, d->id, q->combiner, q->depts[q->combiner].id);
    }
    const char *group = q->grouped ? q->depts[q->combiner].group_by : NULL;
    for (size_t k = 0; k < q->ndepts; k++) {
        const veil_query_dept *d = &q->depts[k];
        for (size_t i = 0; i < d->nvalues; i++) {
            const char *col = d->values[i].column;
            const char *clash = strcmp(col, q->join_key) == 0              ? "the join key"
                                : group != NULL && strcmp(col, group) == 0 ? "the group_by column"
                                                                           : NULL;
            if (clash != NULL)
                return veil_err_set(c->err, VEIL_ERR_INPUT,
                                    "%s: departments[%zu] (%s).values[%zu].column: \"%s\" is %s",
                                    c->file, k, d->id, i, col, clash);
            size_t dj, ij;
            const veil_query_value *first = veil_query_find_value(q, col, &dj, &ij);
            if (first != &d->values[i])
                return veil_err_set(c->err, VEIL_ERR_INPUT,
                                    "%s: departments[%zu] (%s).values[%zu].column: \"%s\" is also "
                                    "departments[%zu] (%s).values[%zu]",
                                    c->file, k, d->id, i, col, dj, q->depts[dj].id, ij);
        }
    }
    return VEIL_OK;
}

static veil_status parse_departments(ctx *c, json_t *root)
{
    veil_query *q = c->q;
    json_t *arr = json_object_get(root, "departments");
    if (arr == NULL || !json_is_array(arr))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: departments: %s", c->file,
                            arr == NULL ? "missing" : "must be a list");
    size_t n = json_array_size(arr);
    if (n < 2 || n > VEIL_QUERY_DEPTS_MAX)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: departments: %zu listed; a query needs 2 to %u", c->file, n,
                            VEIL_QUERY_DEPTS_MAX);
    q->depts = calloc(n, sizeof *q->depts);
    q->peers = calloc(n + 1, sizeof *q->peers);
    if (q->depts == NULL || q->peers == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    q->ndepts = n;
    q->npeers = n + 1;
    int has_address[VEIL_QUERY_DEPTS_MAX] = {0};
    for (size_t k = 0; k < n; k++) {
        veil_status st = parse_dept(c, k, json_array_get(arr, k), &has_address[k]);
        if (st != VEIL_OK)
            return st;
    }
    veil_status st = check_depts(c, has_address);
    if (st != VEIL_OK)
        return st;
    /* Only the combiner listens: it is the one roster entry with an address. */
    veil_peer *p = &q->peers[q->combiner];
    strcpy(p->host, q->depts[q->combiner].host);
    p->port = q->depts[q->combiner].port;
    return VEIL_OK;
}

static veil_status parse_analyst(ctx *c, json_t *root)
{
    static const char *const keys[] = {"id", "fingerprint", NULL};
    veil_query *q = c->q;
    json_t *obj;
    veil_status st = get_object(c, root, "analyst", 1, &obj, "");
    if (st == VEIL_OK)
        st = only_keys(c, obj, keys, "analyst");
    if (st == VEIL_OK)
        st = get_id(c, obj, q->analyst_id, "analyst.");
    if (st != VEIL_OK)
        return st;
    long k = veil_query_find_dept(q, q->analyst_id);
    if (k >= 0)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: analyst.id: \"%s\" is also departments[%ld]; the analyst is "
                            "not a department",
                            c->file, q->analyst_id, k);
    st = get_fingerprint(c, obj, q->analyst_fingerprint, q->ndepts, "analyst.");
    if (st != VEIL_OK)
        return st;
    veil_peer *p = &q->peers[q->ndepts];
    strcpy(p->id, q->analyst_id);
    memcpy(p->fingerprint, q->analyst_fingerprint, VEIL_FINGERPRINT_LEN);
    return VEIL_OK;
}

/* "threshold": {"key": <hex>, "holders": [{"id", "index"}, ...]}. */
static veil_status parse_threshold(ctx *c, json_t *root)
{
    static const char *const keys[] = {"key", "holders", NULL};
    static const char *const hkeys[] = {"id", "index", NULL};
    veil_query *q = c->q;
    json_t *obj;
    veil_status st = get_object(c, root, "threshold", 0, &obj, "");
    if (st != VEIL_OK || obj == NULL)
        return st;
    st = only_keys(c, obj, keys, "threshold");
    const char *s = NULL;
    if (st == VEIL_OK)
        st = get_string(c, obj, "key", 1, &s, "threshold.");
    if (st != VEIL_OK)
        return st;
    if (!is_key_hex(s))
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: threshold.key: must be the threshold key's fingerprint, %d "
                            "lowercase hex digits (veil threshold keygen prints it)",
                            c->file, KEY_HEX_LEN);
    strcpy(q->threshold_key, s);
    json_t *arr = json_object_get(obj, "holders");
    if (arr == NULL)
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: threshold.holders: missing", c->file);
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > VEIL_QUERY_HOLDERS_MAX)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: threshold.holders: must be a list of 1 to %u share holders",
                            c->file, VEIL_QUERY_HOLDERS_MAX);
    size_t i;
    json_t *h;
    json_array_foreach(arr, i, h)
    {
        char where[48], id[VEIL_PARTY_ID_MAX + 1];
        snprintf(where, sizeof where, "threshold.holders[%zu].", i);
        if (!json_is_object(h))
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: threshold.holders[%zu]: must be an object {\"id\", "
                                "\"index\"}",
                                c->file, i);
        where[strlen(where) - 1] = '\0';
        st = only_keys(c, h, hkeys, where);
        strcat(where, ".");
        if (st == VEIL_OK)
            st = get_id(c, h, id, where);
        uint64_t index = 0;
        if (st == VEIL_OK)
            st = get_uint(c, h, "index", 1, 1, VEIL_QUERY_SHARE_INDEX_MAX, &index, where);
        if (st != VEIL_OK)
            return st;
        long peer = -1;
        for (size_t j = 0; j < q->npeers && peer < 0; j++)
            if (strcmp(q->peers[j].id, id) == 0)
                peer = (long)j;
        if (peer < 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: %sid: \"%s\" is neither a department nor the analyst",
                                c->file, where, id);
        for (size_t j = 0; j < i; j++) {
            if (q->holder_peer[j] == (size_t)peer)
                return veil_err_set(c->err, VEIL_ERR_INPUT,
                                    "%s: %sid: \"%s\" is also threshold.holders[%zu]", c->file,
                                    where, id, j);
            if (q->holder_index[j] == (unsigned)index)
                return veil_err_set(c->err, VEIL_ERR_INPUT,
                                    "%s: %sindex: share %u is also threshold.holders[%zu]'s",
                                    c->file, where, (unsigned)index, j);
        }
        q->holder_peer[i] = (size_t)peer;
        q->holder_index[i] = (unsigned)index;
        q->nholders = i + 1;
    }
    q->threshold = 1;
    return VEIL_OK;
}

static veil_status parse_statistics(ctx *c, json_t *root)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"count", VEIL_QSTAT_COUNT},
                 {"sum", VEIL_QSTAT_SUM},
                 {"mean", VEIL_QSTAT_MEAN},
                 {"variance", VEIL_QSTAT_VARIANCE}};
    veil_query *q = c->q;
    json_t *arr = json_object_get(root, "statistics");
    if (arr == NULL)
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: statistics: missing", c->file);
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: statistics: must be a non-empty list of \"count\", \"sum\", "
                            "\"mean\", \"variance\"",
                            c->file);
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        const char *name = json_is_string(s) ? json_string_value(s) : "";
        unsigned bit = 0;
        for (size_t j = 0; j < sizeof names / sizeof names[0]; j++)
            if (strcmp(name, names[j].name) == 0)
                bit = names[j].bit;
        if (bit == 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: statistics[%zu]: must be \"count\", \"sum\", \"mean\" or "
                                "\"variance\"",
                                c->file, i);
        if (q->stats & bit)
            return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: statistics: \"%s\" given twice",
                                c->file, name);
        if (bit != VEIL_QSTAT_COUNT && q->nvalues == 0)
            return veil_err_set(c->err, VEIL_ERR_INPUT,
                                "%s: statistics: \"%s\" needs a value column, and no department "
                                "lists values",
                                c->file, name);
        q->stats |= bit;
    }
    return VEIL_OK;
}

static veil_status parse_epsilon(ctx *c, json_t *root)
{
    veil_query *q = c->q;
    const char *text;
    veil_status st = get_string(c, root, "epsilon", 0, &text, "");
    if (st != VEIL_OK || text == NULL)
        return st;
    if (veil_eps_parse(&q->epsilon, text, c->err) != VEIL_OK)
        return veil_err_prefix(c->err, "%s: epsilon", c->file);
    if (q->epsilon == 0)
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: epsilon: must be greater than 0 (leave it out for no noise)",
                            c->file);
    for (size_t k = 0; k < q->ndepts; k++)
        for (size_t i = 0; i < q->depts[k].nvalues; i++)
            if (!q->depts[k].values[i].has_bounds)
                return veil_err_set(c->err, VEIL_ERR_INPUT,
                                    "%s: departments[%zu] (%s).values[%zu] (%s): min and max are "
                                    "required when epsilon is given (noise is scaled to them)",
                                    c->file, k, q->depts[k].id, i, q->depts[k].values[i].column);
    return VEIL_OK;
}

static veil_status parse_timeouts(ctx *c, json_t *root)
{
    static const char *const keys[] = {"connect", "io", "query", NULL};
    veil_query *q = c->q;
    uint64_t t_connect = 10, t_io = 120, t_query = 600;
    json_t *to;
    veil_status st = get_object(c, root, "timeouts", 0, &to, "");
    if (st == VEIL_OK && to != NULL) {
        st = only_keys(c, to, keys, "timeouts");
        if (st == VEIL_OK)
            st = get_uint(c, to, "connect", 0, 1, TIMEOUT_MAX, &t_connect, "timeouts.");
        if (st == VEIL_OK)
            st = get_uint(c, to, "io", 0, 1, TIMEOUT_MAX, &t_io, "timeouts.");
        if (st == VEIL_OK)
            st = get_uint(c, to, "query", 0, 1, TIMEOUT_MAX, &t_query, "timeouts.");
    }
    q->connect_timeout = (unsigned)t_connect;
    q->io_timeout = (unsigned)t_io;
    q->query_timeout = (unsigned)t_query;
    return st;
}

static veil_status parse_root(ctx *c, json_t *root)
{
    static const char *const keys[] = {"query",    "key",        "join_key",  "departments",
                                       "analyst",  "statistics", "min_count", "epsilon",
                                       "timeouts", "threshold",  NULL};
    veil_query *q = c->q;
    if (!json_is_object(root))
        return veil_err_set(c->err, VEIL_ERR_INPUT, "%s: must hold a JSON object", c->file);
    const char *s;
    veil_status st = only_keys(c, root, keys, "");
    if (st == VEIL_OK)
        st = get_string(c, root, "query", 1, &s, "");
    if (st == VEIL_OK && !veil_net_id_ok(s, VEIL_SESSION_ID_MAX))
        st = veil_err_set(c->err, VEIL_ERR_INPUT,
                          "%s: query: \"%.80s\" is not a query id (" ID_RULE ")", c->file, s,
                          VEIL_SESSION_ID_MAX);
    if (st != VEIL_OK)
        return st;
    strcpy(q->id, s);
    st = get_string(c, root, "key", 1, &s, "");
    if (st != VEIL_OK)
        return st;
    if (!is_key_hex(s))
        return veil_err_set(c->err, VEIL_ERR_INPUT,
                            "%s: key: must be the Paillier public key's fingerprint, %d lowercase "
                            "hex digits",
                            c->file, KEY_HEX_LEN);
    strcpy(q->key_fingerprint, s);
    st = get_column(c, root, "join_key", q->join_key, "");
    if (st == VEIL_OK)
        st = parse_departments(c, root);
    if (st == VEIL_OK)
        st = parse_analyst(c, root);
    if (st == VEIL_OK)
        st = parse_threshold(c, root);
    if (st == VEIL_OK)
        st = parse_statistics(c, root);
    if (st == VEIL_OK)
        st = get_uint(c, root, "min_count", 1, 1, VEIL_QUERY_MIN_COUNT_MAX, &q->min_count, "");
    if (st == VEIL_OK)
        st = parse_epsilon(c, root);
    if (st == VEIL_OK)
        st = parse_timeouts(c, root);
    return st;
}

/* BLAKE2b-256 of the canonical form (sorted keys, no spaces): two copies
 * of one query that differ only in layout have the same digest. */
static veil_status digest(veil_query *q, json_t *root, veil_err *err)
{
    const size_t flags = JSON_SORT_KEYS | JSON_COMPACT;
    size_t n = json_dumpb(root, NULL, 0, flags);
    char *buf = n > 0 ? malloc(n) : NULL;
    if (buf == NULL || json_dumpb(root, buf, n, flags) != n) {
        free(buf);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    crypto_generichash(q->digest, sizeof q->digest, (const unsigned char *)buf, n, NULL, 0);
    free(buf);
    return VEIL_OK;
}

veil_status veil_query_parse(veil_query **out, const char *text, size_t len, const char *name,
                             veil_err *err)
{
    *out = NULL;
    if (name == NULL)
        name = "query";
    if (len > VEIL_QUERY_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: file is larger than %u bytes", name,
                            VEIL_QUERY_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    veil_query *q = calloc(1, sizeof *q);
    veil_status st = q == NULL ? veil_err_set(err, VEIL_ERR_NOMEM, "out of memory") : VEIL_OK;
    if (st == VEIL_OK) {
        ctx c = {name, q, err};
        st = parse_root(&c, root);
    }
    if (st == VEIL_OK)
        st = digest(q, root, err);
    json_decref(root);
    if (st != VEIL_OK) {
        veil_query_free(q);
        return st;
    }
    *out = q;
    return VEIL_OK;
}

veil_status veil_query_load(veil_query **out, const char *path, veil_err *err)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    veil_status st = veil_file_read_all(&buf, &len, path, VEIL_QUERY_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    st = veil_query_parse(out, (const char *)buf, len, path, err);
    free(buf);
    return st;
}

void veil_query_free(veil_query *q)
{
    if (q == NULL)
        return;
    for (size_t k = 0; q->depts != NULL && k < q->ndepts; k++) {
        veil_query_dept *d = &q->depts[k];
        for (size_t i = 0; i < d->nvalues; i++)
            mpz_clears(d->values[i].lo, d->values[i].hi, NULL);
        free(d->values);
    }
    free(q->depts);
    free(q->peers);
    free(q);
}

long veil_query_find_dept(const veil_query *q, const char *id)
{
    for (size_t k = 0; k < q->ndepts; k++)
        if (strcmp(q->depts[k].id, id) == 0)
            return (long)k;
    return -1;
}

long veil_query_find_holder(const veil_query *q, size_t peer)
{
    for (size_t i = 0; q->threshold && i < q->nholders; i++)
        if (q->holder_peer[i] == peer)
            return (long)i;
    return -1;
}

const veil_query_value *veil_query_find_value(const veil_query *q, const char *column, size_t *dept,
                                              size_t *index)
{
    for (size_t k = 0; k < q->ndepts; k++)
        for (size_t i = 0; i < q->depts[k].nvalues; i++)
            if (strcmp(q->depts[k].values[i].column, column) == 0) {
                if (dept != NULL)
                    *dept = k;
                if (index != NULL)
                    *index = i;
                return &q->depts[k].values[i];
            }
    return NULL;
}
