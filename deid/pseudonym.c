/* De-identification key files, keyed-hash pseudonyms and the FF1 key. */
#include "veil/pseudonym.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veil/rand.h"

#define KEY_FILE_MAX 4096
#define KDF_CTX      "veildeid"
#define MAGIC        "veil-deid-key 1"

enum { SUB_HMAC = 1, SUB_BLAKE2B = 2, SUB_FF1 = 3, SUB_ID = 4 };

struct veil_deid_key {
    unsigned char master[VEIL_DEID_KEY_BYTES];
    unsigned char hmac[crypto_auth_hmacsha256_KEYBYTES];
    unsigned char blake[crypto_generichash_KEYBYTES];
    unsigned char ff1[32];
};

static veil_status derive(veil_deid_key *k, veil_err *err)
{
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "libsodium failed to initialise");
    if (crypto_kdf_derive_from_key(k->hmac, sizeof k->hmac, SUB_HMAC, KDF_CTX, k->master) != 0 ||
        crypto_kdf_derive_from_key(k->blake, sizeof k->blake, SUB_BLAKE2B, KDF_CTX, k->master) !=
            0 ||
        crypto_kdf_derive_from_key(k->ff1, sizeof k->ff1, SUB_FF1, KDF_CTX, k->master) != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "key derivation failed");
    return VEIL_OK;
}

static veil_deid_key *key_alloc(void)
{
    veil_deid_key *k = sodium_malloc(sizeof *k);
    if (k != NULL)
        sodium_memzero(k, sizeof *k);
    return k;
}

void veil_deid_key_free(veil_deid_key *k)
{
    if (k != NULL)
        sodium_free(k); /* zeroes the memory */
}

veil_status veil_deid_key_generate(veil_deid_key **out, veil_err *err)
{
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "libsodium failed to initialise");
    veil_deid_key *k = key_alloc();
    if (k == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    crypto_kdf_keygen(k->master);
    veil_status st = derive(k, err);
    if (st != VEIL_OK) {
        veil_deid_key_free(k);
        return st;
    }
    *out = k;
    return VEIL_OK;
}

/* Next line of text (without its end) starting at *pos. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *ll)
{
    if (*pos >= len)
        return 0;
    const char *s = text + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *pos += n + (nl != NULL);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    *line = s;
    *ll = n;
    return 1;
}

veil_status veil_deid_key_parse(veil_deid_key **out, const char *text, size_t len, const char *name,
                                veil_err *err)
{
    *out = NULL;
    if (veil_crypto_init() != 0)
        return veil_err_set(err, VEIL_ERR_CRYPTO, "libsodium failed to initialise");
    if (len > KEY_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: longer than %d bytes: not a key file", name,
                            KEY_FILE_MAX);
    veil_deid_key *k = key_alloc();
    if (k == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t pos = 0, lineno = 0, ll = 0;
    const char *line;
    int seen_magic = 0, seen_key = 0;
    veil_status st = VEIL_OK;
    while (st == VEIL_OK && next_line(text, len, &pos, &line, &ll)) {
        lineno++;
        if (ll == 0 || line[0] == '#')
            continue;
        if (!seen_magic) {
            if (ll == strlen(MAGIC) && memcmp(line, MAGIC, ll) == 0)
                seen_magic = 1;
            else
                st = veil_err_set(err, VEIL_ERR_INPUT,
                                  "%s:%zu: not a veil de-identification key (expected \"" MAGIC
                                  "\")",
                                  name, lineno);
        } else if (!seen_key && ll == 4 + 2 * VEIL_DEID_KEY_BYTES && memcmp(line, "key ", 4) == 0) {
            size_t bin = 0;
            if (sodium_hex2bin(k->master, sizeof k->master, line + 4, 2 * VEIL_DEID_KEY_BYTES, NULL,
                               &bin, NULL) != 0 ||
                bin != VEIL_DEID_KEY_BYTES)
                st = veil_err_set(err, VEIL_ERR_INPUT, "%s:%zu: the key is not 64 hex digits", name,
                                  lineno);
            seen_key = 1;
        } else {
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s:%zu: unexpected line (a key file has one \"key <64 hex>\" line)",
                              name, lineno);
        }
    }
    if (st == VEIL_OK && !seen_key)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: no \"key\" line: not a veil de-identification key", name);
    if (st == VEIL_OK)
        st = derive(k, err);
    if (st != VEIL_OK) {
        veil_deid_key_free(k);
        return st;
    }
    *out = k;
    return VEIL_OK;
}

veil_status veil_deid_key_load(veil_deid_key **out, const char *path, veil_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    char *buf = NULL;
    ssize_t got = 0;
    veil_status st = VEIL_OK;
    if (fstat(fd, &sb) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: not a regular file", path);
    else if ((sb.st_mode & 077) != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: the key file is readable by others (mode %03o); run chmod 600 %s",
                          path, (unsigned)(sb.st_mode & 0777), path);
    else if ((buf = sodium_malloc(KEY_FILE_MAX + 1)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t total = 0;
    while (st == VEIL_OK && total <= KEY_FILE_MAX) {
        got = read(fd, buf + total, KEY_FILE_MAX + 1 - total);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
        if (got <= 0)
            break;
        total += (size_t)got;
    }
    if (st == VEIL_OK)
        st = veil_deid_key_parse(out, buf, total, path, err);
    if (buf != NULL)
        sodium_free(buf);
    close(fd);
    return st;
}

veil_status veil_deid_key_format(char **text, size_t *len, const veil_deid_key *k, veil_err *err)
{
    char id[VEIL_DEID_KEY_ID_HEX + 1], hex[2 * VEIL_DEID_KEY_BYTES + 1];
    veil_deid_key_id(id, k);
    size_t cap = 512;
    char *t = sodium_malloc(cap);
    if (t == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    sodium_bin2hex(hex, sizeof hex, k->master, sizeof k->master);
    int n =
        snprintf(t, cap,
                 "# veil de-identification key (id %s): pseudonyms and FF1 encryption.\n"
                 "# Secret: whoever holds it can link pseudonyms and decrypt FPE values.\n" MAGIC
                 "\nkey %s\n",
                 id, hex);
    sodium_memzero(hex, sizeof hex);
    *text = t;
    *len = (size_t)n;
    return VEIL_OK;
}

void veil_deid_key_text_free(char *text, size_t len)
{
    (void)len;
    if (text != NULL)
        sodium_free(text);
}

void veil_deid_key_id(char out[VEIL_DEID_KEY_ID_HEX + 1], const veil_deid_key *k)
{
    unsigned char sub[16];
    crypto_kdf_derive_from_key(sub, sizeof sub, SUB_ID, KDF_CTX, k->master);
    sodium_bin2hex(out, VEIL_DEID_KEY_ID_HEX + 1, sub, VEIL_DEID_KEY_ID_HEX / 2);
}

static void base32(veil_deid_buf *out, const unsigned char *b, size_t n)
{
    static const char A[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned acc = 0, bits = 0;
    char *o = out->s + out->len;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | b[i];
        bits += 8;
        while (bits >= 5) {
            *o++ = A[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        *o++ = A[(acc << (5 - bits)) & 31];
    *o = '\0';
    out->len = (size_t)(o - out->s);
}

veil_status veil_pseudonym(veil_deid_buf *out, const veil_deid_key *k, veil_pseudo_method method,
                           veil_pseudo_format format, unsigned bytes, const char *domain,
                           const char *value, size_t len, veil_err *err)
{
    static const unsigned char PREFIX[] = "veil-pseudonym-v1"; /* with its NUL */
    unsigned char mac[64];
    const char *dom = domain ? domain : "";
    if (bytes < VEIL_PSEUDO_BYTES_MIN || bytes > VEIL_PSEUDO_BYTES_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "pseudonym length %u bytes is outside %d..%d",
                            bytes, VEIL_PSEUDO_BYTES_MIN, VEIL_PSEUDO_BYTES_MAX);
    if (method == VEIL_PSEUDO_HMAC_SHA256) {
        crypto_auth_hmacsha256_state s;
        crypto_auth_hmacsha256_init(&s, k->hmac, sizeof k->hmac);
        crypto_auth_hmacsha256_update(&s, PREFIX, sizeof PREFIX);
        crypto_auth_hmacsha256_update(&s, (const unsigned char *)dom, strlen(dom) + 1);
        crypto_auth_hmacsha256_update(&s, (const unsigned char *)value, len);
        crypto_auth_hmacsha256_final(&s, mac);
        sodium_memzero(&s, sizeof s);
    } else {
        crypto_generichash_state s;
        crypto_generichash_init(&s, k->blake, sizeof k->blake, 32);
        crypto_generichash_update(&s, PREFIX, sizeof PREFIX);
        crypto_generichash_update(&s, (const unsigned char *)dom, strlen(dom) + 1);
        crypto_generichash_update(&s, (const unsigned char *)value, len);
        crypto_generichash_final(&s, mac, 32);
        sodium_memzero(&s, sizeof s);
    }
    veil_deid_buf_reset(out);
    veil_status st = veil_deid_buf_repeat(out, '0', 2 * bytes + 1, err);
    if (st != VEIL_OK)
        return st;
    out->len = 0;
    if (format == VEIL_PSEUDO_HEX) {
        sodium_bin2hex(out->s, 2 * bytes + 1, mac, bytes);
        out->len = 2 * bytes;
    } else {
        base32(out, mac, bytes);
    }
    sodium_memzero(mac, sizeof mac);
    return VEIL_OK;
}

veil_status veil_deid_key_ff1(veil_ff1 **out, const veil_deid_key *k, unsigned radix, veil_err *err)
{
    return veil_ff1_new(out, k->ff1, sizeof k->ff1, radix, err);
}
