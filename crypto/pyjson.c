/* python-paillier (phe) JSON interchange: pheutil's JWK keys and encrypted
 * numbers, parsed with jansson. Formats and sources: docs/python-paillier.md.
 */
#include "veil/pyjson.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil/rand.h"

/* Limits: base64url integers up to 8192 bits (far above any key part veil
 * accepts); decimal ciphertexts up to 2600 digits (n^2 of a 4096-bit key has
 * at most 2467). */
#define B64_VARIANT    sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_MAX_BYTES  1024
#define B64_MAX_CHARS  1366 /* ceil(B64_MAX_BYTES * 4 / 3) */
#define DEC_MAX_DIGITS 2600
#define KEY_OPS_MAX    16
#define FIELD_MAX      64
#define QUOTE_MAX      40

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a JSON object";
    case JSON_ARRAY: return "a JSON array";
    case JSON_STRING: return "a JSON string";
    case JSON_INTEGER: return "a JSON number";
    case JSON_REAL: return "a JSON number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE: return "a JSON boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

/* Copies at most QUOTE_MAX characters of untrusted text into buf for an
 * error message; anything but printable ASCII (and '"') becomes '?'. */
static void quote(char buf[QUOTE_MAX + 4], const char *s, size_t len)
{
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
    for (size_t i = 0; i < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (len > n) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
}

/* snprintf into a fresh malloc'd buffer; the formatting writes the result
 * once, straight into the buffer that is returned (no secret copies). */
static char *format_alloc(const char *fmt, ...) VEIL_PRINTF(1, 2);
static char *format_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        return NULL;
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return buf;
}

static void wipe_string(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* Parses a whole document with jansson: size cap, duplicate keys refused,
 * nothing after the top-level value. */
static veil_status load_doc(json_t **out, const char *json, size_t len, veil_err *err)
{
    *out = NULL;
    if (json == NULL && len > 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "no JSON buffer given");
    if (len > VEIL_PYJSON_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "JSON document is %zu bytes; python-paillier documents are limited "
                            "to %u bytes",
                            len, VEIL_PYJSON_MAX);
    json_error_t jerr;
    json_t *doc = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
#if JANSSON_VERSION_HEX >= 0x020e00
        if (json_error_code(&jerr) == json_error_numeric_overflow)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "not valid JSON here: line %d column %d: a big integer is written "
                                "as a JSON number (%s); python-paillier big integers must be JSON "
                                "strings, e.g. str(n)",
                                jerr.line, jerr.column, jerr.text);
#endif
        return veil_err_set(err, VEIL_ERR_INPUT, "not valid JSON: line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    }
    *out = doc;
    return VEIL_OK;
}

static veil_status missing(const char *field, veil_err *err)
{
    return veil_err_set(err, VEIL_ERR_INPUT, "%s: missing", field);
}

/* A string member that must equal `want` ("kty", "alg"). */
static veil_status check_name(const json_t *obj, const char *path, const char *key,
                              const char *want, int required, veil_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return required ? veil_err_set(err, VEIL_ERR_INPUT,
                                       "%s%s: missing (python-paillier keys have \"%s\": \"%s\")",
                                       path, key, key, want)
                        : VEIL_OK;
    if (!json_is_string(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s%s: must be a JSON string, not %s", path, key,
                            type_name(v));
    if (json_string_length(v) != strlen(want) || strcmp(json_string_value(v), want) != 0) {
        char q[QUOTE_MAX + 4];
        quote(q, json_string_value(v), json_string_length(v));
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s%s: \"%s\" is not supported; python-paillier keys have \"%s\"", path,
                            key, q, want);
    }
    return VEIL_OK;
}

/* "key_ops": an array of strings that must list `want`. */
static veil_status check_key_ops(const json_t *obj, const char *path, const char *want,
                                 int required, veil_err *err)
{
    const json_t *ops = json_object_get(obj, "key_ops");
    if (ops == NULL)
        return required ? veil_err_set(err, VEIL_ERR_INPUT, "%skey_ops: missing (must list \"%s\")",
                                       path, want)
                        : VEIL_OK;
    if (!json_is_array(ops))
        return veil_err_set(err, VEIL_ERR_INPUT, "%skey_ops: must be a JSON array, not %s", path,
                            type_name(ops));
    size_t n = json_array_size(ops);
    if (n > KEY_OPS_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%skey_ops: more than %d entries", path,
                            KEY_OPS_MAX);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *op = json_array_get(ops, i);
        if (!json_is_string(op))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%skey_ops[%zu]: must be a JSON string, not %s", path, i,
                                type_name(op));
        if (strcmp(json_string_value(op), want) == 0)
            found = 1;
    }
    if (!found)
        return veil_err_set(err, VEIL_ERR_INPUT, "%skey_ops: does not list \"%s\"", path, want);
    return VEIL_OK;
}

static veil_status check_kid(const json_t *obj, const char *path, veil_err *err)
{
    const json_t *kid = json_object_get(obj, "kid");
    if (kid != NULL && !json_is_string(kid))
        return veil_err_set(err, VEIL_ERR_INPUT, "%skid: must be a JSON string, not %s", path,
                            type_name(kid));
    return VEIL_OK;
}

/* A big integer as phe.util.int_to_base64 writes it: base64url without
 * padding, big-endian, shortest form (no leading zero byte). libsodium's
 * decoder also refuses non-zero trailing bits, so the text is canonical. */
static veil_status b64_to_mpz(mpz_t out, const json_t *v, const char *field, veil_err *err)
{
    if (!json_is_string(v))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: must be a JSON string holding a base64url integer, not %s", field,
                            type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: is empty", field);
    if (len > B64_MAX_CHARS)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: is %zu characters long; at most %d (a %d-bit integer) accepted",
                            field, len, B64_MAX_CHARS, B64_MAX_BYTES * 8);
    unsigned char bin[B64_MAX_BYTES];
    size_t bin_len = 0;
    const char *end = NULL;
    veil_status st = VEIL_OK;
    if (sodium_base642bin(bin, sizeof bin, s, len, NULL, &bin_len, &end, B64_VARIANT) != 0 ||
        end != s + len)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: not base64url (unpadded, characters A-Z a-z 0-9 - _ only)", field);
    else if (bin_len == 0 || bin[0] == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: has a leading zero byte; phe writes the shortest big-endian form",
                          field);
    else
        mpz_import(out, bin_len, 1, 1, 1, 0, bin);
    sodium_memzero(bin, sizeof bin);
    return st;
}

/* base64url (phe.util.int_to_base64) of x > 0; malloc'd, or NULL. */
static char *mpz_to_b64(const mpz_t x)
{
    size_t nbytes = (mpz_sizeinbase(x, 2) + 7) / 8;
    unsigned char *bin = malloc(nbytes);
    if (bin == NULL)
        return NULL;
    size_t got = 0;
    mpz_export(bin, &got, 1, 1, 1, 0, x);
    size_t cap = sodium_base64_ENCODED_LEN(got, B64_VARIANT);
    char *out = malloc(cap);
    if (out != NULL)
        sodium_bin2base64(out, cap, bin, got, B64_VARIANT);
    sodium_memzero(bin, nbytes);
    free(bin);
    return out;
}

/* A non-negative big integer as Python's str(int) writes it: decimal
 * digits, no sign, no leading zeros, in a JSON string. */
static veil_status dec_to_mpz(mpz_t out, const json_t *v, const char *field, veil_err *err)
{
    if (!json_is_string(v))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: must be a JSON string holding a decimal integer, not %s", field,
                            type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: is empty", field);
    if (len > DEC_MAX_DIGITS)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: is %zu characters long; at most %d digits",
                            field, len, DEC_MAX_DIGITS);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            char q[QUOTE_MAX + 4];
            quote(q, s, len);
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: \"%s\" is not a decimal integer (digits only, no sign)", field,
                                q);
        }
    }
    if (len > 1 && s[0] == '0')
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: has leading zeros", field);
    if (mpz_set_str(out, s, 10) != 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: GMP refused a decimal integer", field);
    return VEIL_OK;
}

/* The common members of a pheutil public JWK; leaves the base64url n in n
 * without judging it (veil_paillier_pub_new does). */
static veil_status pub_fields(mpz_t n, const json_t *obj, const char *path, veil_err *err)
{
    veil_status st;
    if ((st = check_name(obj, path, "kty", "DAJ", 1, err)) != VEIL_OK ||
        (st = check_name(obj, path, "alg", "PAI-GN1", 1, err)) != VEIL_OK ||
        (st = check_key_ops(obj, path, "encrypt", 0, err)) != VEIL_OK ||
        (st = check_kid(obj, path, err)) != VEIL_OK)
        return st;
    char field[FIELD_MAX];
    snprintf(field, sizeof field, "%sn", path);
    const json_t *jn = json_object_get(obj, "n");
    if (jn == NULL)
        return missing(field, err);
    return b64_to_mpz(n, jn, field, err);
}

veil_status veil_pyjson_pub_import(veil_paillier_pub **out, const char *json, size_t len,
                                   veil_err *err)
{
    *out = NULL;
    json_t *doc = NULL;
    mpz_t n;
    mpz_init(n);
    veil_status st = load_doc(&doc, json, len, err);
    if (st != VEIL_OK)
        goto done;
    if (!json_is_object(doc)) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "a python-paillier public key must be a JSON object, not %s",
                          type_name(doc));
        goto done;
    }
    if ((st = pub_fields(n, doc, "", err)) != VEIL_OK)
        goto done;
    if ((st = veil_paillier_pub_new(out, n, NULL, err)) != VEIL_OK)
        veil_err_prefix(err, "n");
done:
    json_decref(doc);
    mpz_clear(n);
    return st;
}

/* Recovers p < q from n and the totient lambda = (p-1)(q-1), which phe
 * before 1.3.0 stored (as phe's PaillierPrivateKey.from_totient does):
 * p + q = n - lambda + 1 and (q - p)^2 = (p + q)^2 - 4n. */
static veil_status from_totient(mpz_t p, mpz_t q, const mpz_t n, const mpz_t lambda, veil_err *err)
{
    veil_status st = VEIL_OK;
    mpz_t s, d;
    mpz_inits(s, d, NULL);
    mpz_sub(s, n, lambda);
    mpz_add_ui(s, s, 1);
    mpz_mul(d, s, s);
    mpz_submul_ui(d, n, 4);
    if (mpz_cmp(lambda, n) >= 0 || mpz_sgn(d) <= 0 || !mpz_perfect_square_p(d)) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "lambda: is not the totient (p-1)(q-1) of pub.n");
        goto done;
    }
    mpz_sqrt(d, d);
    mpz_sub(p, s, d);
    mpz_tdiv_q_2exp(p, p, 1);
    mpz_sub(q, s, p);
    mpz_mul(d, p, q);
    if (mpz_cmp(d, n) != 0)
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "lambda: is not the totient (p-1)(q-1) of pub.n");
done:
    veil_mpz_wipe(s);
    veil_mpz_wipe(d);
    return st;
}

/* phe < 1.3.0: mu = lambda^-1 mod n (L(g^lambda mod n^2)^-1 with g = n+1). */
static veil_status check_mu(const json_t *doc, const mpz_t n, const mpz_t lambda, veil_err *err)
{
    const json_t *jmu = json_object_get(doc, "mu");
    if (jmu == NULL)
        return VEIL_OK;
    mpz_t mu;
    mpz_init(mu);
    veil_status st = b64_to_mpz(mu, jmu, "mu", err);
    if (st == VEIL_OK) {
        mpz_mul(mu, mu, lambda);
        mpz_mod(mu, mu, n);
        if (mpz_cmp_ui(mu, 1) != 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO, "mu: is not lambda^-1 mod pub.n");
    }
    veil_mpz_wipe(mu);
    return st;
}

/* p and q from either layout: "p"/"q" (phe >= 1.3.0) or "lambda"/"mu". */
static veil_status priv_factors(mpz_t p, mpz_t q, const json_t *doc, const mpz_t n, veil_err *err)
{
    const json_t *jp = json_object_get(doc, "p"), *jq = json_object_get(doc, "q");
    const json_t *jl = json_object_get(doc, "lambda");
    veil_status st;
    if ((jp != NULL || jq != NULL) && (jl != NULL || json_object_get(doc, "mu") != NULL))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "p, q, lambda, mu: both private key layouts present; expected \"p\" "
                            "and \"q\" (phe >= 1.3.0) or \"lambda\" and \"mu\" (older phe)");
    if (jp != NULL || jq != NULL) {
        if (jp == NULL)
            return missing("p", err);
        if (jq == NULL)
            return missing("q", err);
        if ((st = b64_to_mpz(p, jp, "p", err)) != VEIL_OK)
            return st;
        return b64_to_mpz(q, jq, "q", err);
    }
    if (jl == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "p, q: missing (a python-paillier private key has \"p\" and \"q\", "
                            "or \"lambda\" and \"mu\" before phe 1.3.0)");
    mpz_t lambda;
    mpz_init(lambda);
    st = b64_to_mpz(lambda, jl, "lambda", err);
    if (st == VEIL_OK)
        st = from_totient(p, q, n, lambda, err);
    if (st == VEIL_OK)
        st = check_mu(doc, n, lambda, err);
    veil_mpz_wipe(lambda);
    return st;
}

/* jansson frees strings without clearing them; overwrite the secret ones
 * first (the storage is jansson's own heap copy). */
static void wipe_secret_members(json_t *doc)
{
    static const char *const secret[] = {"p", "q", "lambda", "mu"};
    if (!json_is_object(doc))
        return;
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        json_t *v = json_object_get(doc, secret[i]);
        if (json_is_string(v))
            sodium_memzero((char *)json_string_value(v), json_string_length(v));
    }
}

veil_status veil_pyjson_priv_import(veil_paillier_priv **out, const char *json, size_t len,
                                    veil_err *err)
{
    *out = NULL;
    json_t *doc = NULL;
    veil_paillier_pub *pk = NULL;
    mpz_t n, p, q, pq;
    mpz_inits(n, p, q, pq, NULL);
    veil_status st = load_doc(&doc, json, len, err);
    if (st != VEIL_OK)
        goto done;
    if (!json_is_object(doc)) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "a python-paillier private key must be a JSON object, not %s",
                          type_name(doc));
        goto done;
    }
    if ((st = check_name(doc, "", "kty", "DAJ", 1, err)) != VEIL_OK ||
        (st = check_name(doc, "", "alg", "PAI-GN1", 0, err)) != VEIL_OK ||
        (st = check_key_ops(doc, "", "decrypt", 1, err)) != VEIL_OK ||
        (st = check_kid(doc, "", err)) != VEIL_OK)
        goto done;
    const json_t *jpub = json_object_get(doc, "pub");
    if (jpub == NULL) {
        st = missing("pub", err);
        goto done;
    }
    if (!json_is_object(jpub)) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "pub: must be a JSON object (the public key), not %s", type_name(jpub));
        goto done;
    }
    if ((st = pub_fields(n, jpub, "pub.", err)) != VEIL_OK)
        goto done;
    /* Judge n on its own first, so a bad modulus is reported as such. */
    if ((st = veil_paillier_pub_new(&pk, n, NULL, err)) != VEIL_OK) {
        veil_err_prefix(err, "pub.n");
        goto done;
    }
    if ((st = priv_factors(p, q, doc, n, err)) != VEIL_OK)
        goto done;
    mpz_mul(pq, p, q);
    if (mpz_cmp(pq, n) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "p, q: p * q does not equal pub.n; the factors belong to another key");
        goto done;
    }
    if ((st = veil_paillier_priv_new(out, p, q, NULL, 1, err)) != VEIL_OK)
        veil_err_prefix(err, "p, q");
done:
    wipe_secret_members(doc);
    json_decref(doc);
    veil_paillier_pub_free(pk);
    mpz_clear(n);
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    veil_mpz_wipe(pq);
    return st;
}

/* The public JWK without a trailing newline, members in pheutil's order. */
static char *pub_body(const veil_paillier_pub *pk)
{
    mpz_t n;
    mpz_init(n);
    veil_paillier_pub_n(n, pk);
    char *n64 = mpz_to_b64(n);
    mpz_clear(n);
    if (n64 == NULL)
        return NULL;
    char fp[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(fp, pk);
    char *out = format_alloc("{\"kty\": \"DAJ\", \"alg\": \"PAI-GN1\", \"key_ops\": [\"encrypt\"], "
                             "\"n\": \"%s\", \"kid\": \"Paillier public key exported by veil "
                             "(fingerprint %s)\"}",
                             n64, fp);
    free(n64);
    return out;
}

char *veil_pyjson_pub_export(const veil_paillier_pub *pk, veil_err *err)
{
    char *body = pub_body(pk);
    char *out = body != NULL ? format_alloc("%s\n", body) : NULL;
    free(body);
    if (out == NULL)
        veil_err_set(err, VEIL_ERR_NOMEM, "out of memory writing a python-paillier public key");
    return out;
}

char *veil_pyjson_priv_export(const veil_paillier_priv *sk, veil_err *err)
{
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    veil_paillier_priv_p(p, sk);
    veil_paillier_priv_q(q, sk);
    if (mpz_cmp(p, q) > 0) /* phe keeps p < q and writes them in that order */
        mpz_swap(p, q);
    char *p64 = mpz_to_b64(p), *q64 = mpz_to_b64(q), *body = pub_body(pk), *out = NULL;
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    char fp[VEIL_FINGERPRINT_HEX];
    veil_paillier_pub_fingerprint_hex(fp, pk);
    if (p64 != NULL && q64 != NULL && body != NULL)
        out = format_alloc("{\"kty\": \"DAJ\", \"key_ops\": [\"decrypt\"], \"p\": \"%s\", "
                           "\"q\": \"%s\", \"pub\": %s, \"kid\": \"Paillier private key exported "
                           "by veil (fingerprint %s)\"}\n",
                           p64, q64, body, fp);
    wipe_string(p64);
    wipe_string(q64);
    free(body);
    if (out == NULL)
        veil_err_set(err, VEIL_ERR_NOMEM, "out of memory writing a python-paillier private key");
    return out;
}

/* The exponent: a JSON integer with |e| <= VEIL_PYJSON_EXP_MAX. */
static veil_status parse_exponent(long *e, const json_t *v, const char *field, veil_err *err)
{
    if (!json_is_integer(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: the exponent must be a JSON integer, not %s",
                            field, type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < -VEIL_PYJSON_EXP_MAX || x > VEIL_PYJSON_EXP_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: exponent %lld is outside [-%d, %d]", field,
                            (long long)x, VEIL_PYJSON_EXP_MAX, VEIL_PYJSON_EXP_MAX);
    *e = (long)x;
    return VEIL_OK;
}

/* Converts one phe number into dst: mantissa * 16^e becomes the veil
 * mantissa mantissa * 16^e (e >= 0, scale 0) or mantissa * 5^(4|e|)
 * (e < 0, scale 4|e|), both exact, through veil_enc_mul_scalar so the bound
 * is carried and checked against max_int. */
static veil_status convert_one(veil_enc *dst, const veil_paillier_pub *pk, const json_t *jv,
                               const char *vfield, const json_t *je, const char *efield,
                               const mpz_t bound, veil_err *err)
{
    veil_enc src;
    veil_enc_init(&src);
    mpz_t k, scaled, max;
    mpz_inits(k, scaled, max, NULL);
    long e = 0;
    unsigned long base = 16, power = 0;
    veil_status st = dec_to_mpz(src.c, jv, vfield, err);
    if (st == VEIL_OK && (st = veil_paillier_check_ct(pk, src.c, err)) != VEIL_OK)
        veil_err_prefix(err, "%s", vfield);
    if (st == VEIL_OK)
        st = parse_exponent(&e, je, efield, err);
    if (st != VEIL_OK)
        goto done;
    if (e < 0) {
        base = 5;
        power = 4ul * (unsigned long)-e;
    } else {
        power = (unsigned long)e;
    }
    mpz_ui_pow_ui(k, base, power);
    mpz_mul(scaled, bound, k);
    veil_paillier_pub_max_int(max, pk);
    if (mpz_cmp(scaled, max) > 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "%s: exponent %ld multiplies the mantissa by %lu^%lu; with the "
                          "declared "
                          "bound the result could exceed the key's max_int (n // 3 - 1), refused "
                          "rather than risk a wrapped value",
                          efield, e, base, power);
        goto done;
    }
    mpz_set(src.bound, bound);
    src.scale = 0;
    src.count = 1;
    if ((st = veil_enc_mul_scalar(dst, pk, &src, k, err)) != VEIL_OK) {
        veil_err_prefix(err, "%s", efield);
        goto done;
    }
    dst->scale = e < 0 ? (uint32_t)power : 0;
    dst->count = 1;
done:
    veil_enc_clear(&src);
    mpz_clears(k, scaled, max, NULL);
    return st;
}

/* The "public_key" of the list layout must be pk: n equal, g = n + 1. */
static veil_status check_list_key(const json_t *doc, const veil_paillier_pub *pk, veil_err *err)
{
    const json_t *jpk = json_object_get(doc, "public_key");
    if (jpk == NULL)
        return missing("public_key", err);
    if (!json_is_object(jpk))
        return veil_err_set(err, VEIL_ERR_INPUT, "public_key: must be a JSON object, not %s",
                            type_name(jpk));
    const json_t *jn = json_object_get(jpk, "n"), *jg = json_object_get(jpk, "g");
    if (jn == NULL)
        return missing("public_key.n", err);
    mpz_t n, want;
    mpz_inits(n, want, NULL);
    veil_paillier_pub_n(want, pk);
    veil_status st = dec_to_mpz(n, jn, "public_key.n", err);
    if (st == VEIL_OK && mpz_cmp(n, want) != 0) {
        char fp[VEIL_FINGERPRINT_HEX];
        veil_paillier_pub_fingerprint_hex(fp, pk);
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "public_key.n: does not match the key given (fingerprint %s)", fp);
    }
    if (st == VEIL_OK && jg != NULL) {
        st = dec_to_mpz(n, jg, "public_key.g", err);
        mpz_add_ui(want, want, 1);
        if (st == VEIL_OK && mpz_cmp(n, want) != 0)
            st = veil_err_set(err, VEIL_ERR_CRYPTO,
                              "public_key.g: is not n + 1 (python-paillier always uses g = n + 1)");
    }
    mpz_clears(n, want, NULL);
    return st;
}

enum layout { ONE_OBJECT, ARRAY_OF_OBJECTS, VALUES_LIST };

/* The ciphertext and exponent of item i, with their field names. */
static veil_status item_fields(const json_t **jv, const json_t **je, char vfield[FIELD_MAX],
                               char efield[FIELD_MAX], const json_t *doc, const json_t *list,
                               enum layout layout, size_t i, veil_err *err)
{
    const json_t *item = doc;
    if (layout == VALUES_LIST) {
        item = json_array_get(list, i);
        if (!json_is_array(item) || json_array_size(item) != 2)
            return veil_err_set(
                err, VEIL_ERR_INPUT,
                "values[%zu]: must be a JSON array [ciphertext, exponent], not %s", i,
                json_is_array(item) ? "an array of another length" : type_name(item));
        snprintf(vfield, FIELD_MAX, "values[%zu][0]", i);
        snprintf(efield, FIELD_MAX, "values[%zu][1]", i);
        *jv = json_array_get(item, 0);
        *je = json_array_get(item, 1);
        return VEIL_OK;
    }
    if (layout == ARRAY_OF_OBJECTS) {
        item = json_array_get(list, i);
        if (!json_is_object(item))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "[%zu]: must be a JSON object {\"v\": ..., \"e\": ...}, not %s", i,
                                type_name(item));
        snprintf(vfield, FIELD_MAX, "[%zu].v", i);
        snprintf(efield, FIELD_MAX, "[%zu].e", i);
    } else {
        snprintf(vfield, FIELD_MAX, "v");
        snprintf(efield, FIELD_MAX, "e");
    }
    *jv = json_object_get(item, "v");
    *je = json_object_get(item, "e");
    if (*jv == NULL)
        return missing(vfield, err);
    if (*je == NULL)
        return missing(efield, err);
    return VEIL_OK;
}

void veil_pyjson_numbers_free(veil_enc *values, size_t count)
{
    if (values == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        veil_enc_clear(&values[i]);
    free(values);
}

veil_status veil_pyjson_numbers_import(veil_enc **out, size_t *count, const veil_paillier_pub *pk,
                                       const char *json, size_t len, const mpz_t bound,
                                       veil_err *err)
{
    *out = NULL;
    *count = 0;
    if (mpz_sgn(bound) < 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the declared bound must not be negative");
    json_t *doc = NULL;
    veil_enc *vals = NULL;
    size_t n = 0;
    veil_status st = load_doc(&doc, json, len, err);
    if (st != VEIL_OK)
        goto done;
    const json_t *list = doc;
    enum layout layout = ARRAY_OF_OBJECTS;
    if (json_is_object(doc)) {
        if (json_object_get(doc, "values") == NULL && json_object_get(doc, "public_key") == NULL) {
            layout = ONE_OBJECT;
        } else {
            layout = VALUES_LIST;
            if ((st = check_list_key(doc, pk, err)) != VEIL_OK)
                goto done;
            list = json_object_get(doc, "values");
            if (list == NULL) {
                st = missing("values", err);
                goto done;
            }
            if (!json_is_array(list)) {
                st = veil_err_set(err, VEIL_ERR_INPUT, "values: must be a JSON array, not %s",
                                  type_name(list));
                goto done;
            }
        }
    } else if (!json_is_array(doc)) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "encrypted numbers must be a JSON object or array");
        goto done;
    }
    n = layout == ONE_OBJECT ? 1 : json_array_size(list);
    if (n > 0 && (vals = calloc(n, sizeof *vals)) == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory for %zu encrypted numbers", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        veil_enc_init(&vals[i]);
    for (size_t i = 0; i < n && st == VEIL_OK; i++) {
        const json_t *jv = NULL, *je = NULL;
        char vfield[FIELD_MAX], efield[FIELD_MAX];
        st = item_fields(&jv, &je, vfield, efield, doc, list, layout, i, err);
        if (st == VEIL_OK)
            st = convert_one(&vals[i], pk, jv, vfield, je, efield, bound, err);
    }
    if (st == VEIL_OK) {
        *out = vals;
        *count = n;
        vals = NULL;
    }
done:
    veil_pyjson_numbers_free(vals, n);
    json_decref(doc);
    return st;
}

/* A JSON string holding the decimal digits of x (Python's str(int)). */
static json_t *json_decimal(const mpz_t x)
{
    char *digits = malloc(mpz_sizeinbase(x, 10) + 2);
    if (digits == NULL)
        return NULL;
    mpz_get_str(digits, 10, x);
    json_t *s = json_string(digits);
    free(digits);
    return s;
}

/* Serialises with Python json.dumps's separators (", " and ": "), member
 * order as built, and the trailing newline pheutil's print() leaves. */
static char *dump_line(json_t *doc, veil_err *err)
{
    char *buf = NULL;
    size_t need = doc != NULL ? json_dumpb(doc, NULL, 0, JSON_PRESERVE_ORDER) : 0;
    if (need > 0 && (buf = malloc(need + 2)) != NULL) {
        if (json_dumpb(doc, buf, need, JSON_PRESERVE_ORDER) == need) {
            buf[need] = '\n';
            buf[need + 1] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    json_decref(doc);
    if (buf == NULL)
        veil_err_set(err, VEIL_ERR_NOMEM, "out of memory writing python-paillier JSON");
    return buf;
}

/* {"v": "<ciphertext>", "e": -scale}, or NULL when out of memory. */
static json_t *number_object(const veil_enc *value)
{
    json_t *obj = json_object();
    if (obj == NULL || json_object_set_new(obj, "v", json_decimal(value->c)) != 0 ||
        json_object_set_new(obj, "e", json_integer(-(json_int_t)value->scale)) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *veil_pyjson_number_export(const veil_enc *value, veil_err *err)
{
    return dump_line(number_object(value), err);
}

char *veil_pyjson_numbers_export(const veil_enc *values, size_t count, veil_err *err)
{
    if (values == NULL && count > 0) {
        veil_err_set(err, VEIL_ERR_USAGE, "no values given");
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < count; i++) {
        if (json_array_append_new(arr, number_object(&values[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return dump_line(arr, err);
}

/* {"public_key": {"g": "<n+1>", "n": "<n>"}, "values": [["<c>", e], ...]} */
char *veil_pyjson_values_export(const veil_paillier_pub *pk, const veil_enc *values, size_t count,
                                veil_err *err)
{
    if (values == NULL && count > 0) {
        veil_err_set(err, VEIL_ERR_USAGE, "no values given");
        return NULL;
    }
    mpz_t n, g;
    mpz_inits(n, g, NULL);
    veil_paillier_pub_n(n, pk);
    mpz_add_ui(g, n, 1);
    json_t *doc = json_object(), *key = json_object(), *arr = json_array();
    int ok = doc != NULL && key != NULL && arr != NULL &&
             json_object_set_new(key, "g", json_decimal(g)) == 0 &&
             json_object_set_new(key, "n", json_decimal(n)) == 0;
    for (size_t i = 0; ok && i < count; i++) {
        json_t *pair = json_array();
        ok = pair != NULL && json_array_append_new(pair, json_decimal(values[i].c)) == 0 &&
             json_array_append_new(pair, json_integer(-(json_int_t)values[i].scale)) == 0;
        if (json_array_append_new(arr, pair) != 0)
            ok = 0;
    }
    mpz_clears(n, g, NULL);
    if (ok) { /* json_object_set_new takes the reference even on failure */
        ok = json_object_set_new(doc, "public_key", key) == 0;
        key = NULL;
    }
    if (ok) {
        ok = json_object_set_new(doc, "values", arr) == 0;
        arr = NULL;
    }
    if (ok)
        return dump_line(doc, err);
    json_decref(key);
    json_decref(arr);
    json_decref(doc);
    veil_err_set(err, VEIL_ERR_NOMEM, "out of memory writing python-paillier JSON");
    return NULL;
}
