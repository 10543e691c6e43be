/* Party identities: an Ed25519 key and a self-signed X.509 certificate in
 * a directory (party.key, party.crt, party.id), and certificate
 * fingerprints in the "sha256:<hex>" form rosters use. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "net_internal.h"

#define PARTY_KEY "party.key"
#define PARTY_CRT "party.crt"
#define PARTY_ID  "party.id"
/* Far more than any PEM key or certificate veil writes. */
#define PEM_FILE_MAX (64u << 10)
/* 10 years, counting the leap days. */
#define CERT_DAYS 3653

void veil_ssl_err_text(char *out, size_t cap, const char *fallback)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(out, cap, "%s", fallback);
    else
        ERR_error_string_n(e, out, cap);
    ERR_clear_error();
}

/* "dir/name" in a malloc'd string, or NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static veil_status ssl_fail(veil_err *err, veil_status code, const char *what)
{
    char buf[256];
    veil_ssl_err_text(buf, sizeof buf, "no detail");
    return veil_err_set(err, code, "%s: %s", what, buf);
}

/* ---- fingerprints ---- */

veil_status veil_cert_fingerprint(const X509 *cert, uint8_t fp[VEIL_FINGERPRINT_LEN], veil_err *err)
{
    unsigned n = 0;
    if (X509_digest(cert, EVP_sha256(), fp, &n) != 1 || n != VEIL_FINGERPRINT_LEN)
        return ssl_fail(err, VEIL_ERR_INTERNAL, "cannot hash the certificate");
    return VEIL_OK;
}

void veil_fingerprint_format(const uint8_t fp[VEIL_FINGERPRINT_LEN],
                             char out[VEIL_FINGERPRINT_TEXT_LEN])
{
    memcpy(out, "sha256:", 7);
    sodium_bin2hex(out + 7, VEIL_FINGERPRINT_TEXT_LEN - 7, fp, VEIL_FINGERPRINT_LEN);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads 2 hex digits at p into *b. */
static int hexbyte(const char *p, uint8_t *b)
{
    int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
    if (lo < 0)
        return -1;
    *b = (uint8_t)(hi << 4 | lo);
    return 0;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

veil_status veil_fingerprint_parse(uint8_t fp[VEIL_FINGERPRINT_LEN], const char *text,
                                   veil_err *err)
{
    uint8_t tmp[VEIL_FINGERPRINT_LEN];
    const char *p = text;
    int ok = 0;
    size_t n = strlen(p);
    if (has_prefix_ci(p, "sha256:") && n == 7 + 2 * VEIL_FINGERPRINT_LEN) {
        ok = 1;
        for (size_t i = 0; ok && i < VEIL_FINGERPRINT_LEN; i++)
            ok = hexbyte(p + 7 + 2 * i, &tmp[i]) == 0;
    } else {
        /* openssl x509 -fingerprint -sha256: "sha256 Fingerprint=AB:CD:..." */
        if (has_prefix_ci(p, "sha256 Fingerprint="))
            p += strlen("sha256 Fingerprint=");
        ok = strlen(p) == 3 * VEIL_FINGERPRINT_LEN - 1;
        for (size_t i = 0; ok && i < VEIL_FINGERPRINT_LEN; i++)
            ok = hexbyte(p + 3 * i, &tmp[i]) == 0 &&
                 (i == VEIL_FINGERPRINT_LEN - 1 || p[3 * i + 2] == ':');
    }
    if (!ok) {
        /* Quote the text only when it is short and printable. */
        int quote = n <= 100;
        for (size_t i = 0; quote && i < n; i++)
            quote = isprint((unsigned char)text[i]);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "fingerprint %s%s%sis not \"sha256:\" and 64 hex digits (or the "
                            "AB:CD:... form of openssl x509 -fingerprint -sha256)",
                            quote ? "\"" : "", quote ? text : "", quote ? "\" " : "");
    }
    memcpy(fp, tmp, sizeof tmp);
    return VEIL_OK;
}

static veil_status read_cert(X509 **out, const char *path, veil_err *err)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, PEM_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    X509 *x = b == NULL ? NULL : PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(buf);
    if (x == NULL) {
        char why[256];
        veil_ssl_err_text(why, sizeof why, "no certificate found");
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a PEM X.509 certificate (%s)", path, why);
    }
    *out = x;
    return VEIL_OK;
}

veil_status veil_cert_fingerprint_file(const char *cert_path, uint8_t fp[VEIL_FINGERPRINT_LEN],
                                       veil_err *err)
{
    X509 *x = NULL;
    veil_status st = read_cert(&x, cert_path, err);
    if (st == VEIL_OK)
        st = veil_cert_fingerprint(x, fp, err);
    X509_free(x);
    return st;
}

/* ---- loading ---- */

/* Reads the private key file, refusing one that group or others can read:
 * a key that leaked to other accounts on the server no longer identifies
 * the party. */
static veil_status read_key(EVP_PKEY **out, const char *path, veil_err *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if ((sb.st_mode & 077) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: the private key is readable by group or others (mode %04o); run "
                            "chmod 600 %s",
                            path, (unsigned)(sb.st_mode & 07777), path);
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, PEM_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *k = b == NULL ? NULL : PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    veil_secret_free(buf, len + 1);
    if (k == NULL) {
        char why[256];
        veil_ssl_err_text(why, sizeof why, "no key found");
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a PEM private key (%s)", path, why);
    }
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: not an Ed25519 key (veil party init makes one)", path);
    }
    *out = k;
    return VEIL_OK;
}

veil_status veil_party_load(const char *dir, EVP_PKEY **key, X509 **cert, veil_err *err)
{
    *key = NULL;
    *cert = NULL;
    char *kp = join(dir, PARTY_KEY), *cp = join(dir, PARTY_CRT);
    veil_status st = VEIL_OK;
    if (kp == NULL || cp == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = read_key(key, kp, err);
    if (st == VEIL_OK)
        st = read_cert(cert, cp, err);
    if (st == VEIL_OK && X509_check_private_key(*cert, *key) != 1) {
        ERR_clear_error();
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "%s does not belong to the key in %s", cp, kp);
    }
done:
    if (st != VEIL_OK) {
        EVP_PKEY_free(*key);
        X509_free(*cert);
        *key = NULL;
        *cert = NULL;
    }
    free(kp);
    free(cp);
    return st;
}

static void format_time(char out[32], const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "unknown");
}

/* The certificate's common name, or "" when it has none that fits. */
static void cert_cn(char *out, size_t cap, X509 *x)
{
    out[0] = '\0';
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
}

veil_status veil_party_info_load(veil_party_info *out, const char *dir, veil_err *err)
{
    memset(out, 0, sizeof *out);
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    uint8_t *idbuf = NULL;
    size_t idlen = 0;
    char *ip = join(dir, PARTY_ID);
    if (ip == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = veil_party_load(dir, &key, &cert, err);
    if (st == VEIL_OK)
        st = veil_file_read_all(&idbuf, &idlen, ip, VEIL_PARTY_ID_MAX + 2, err);
    if (st == VEIL_OK) {
        if (idlen > 0 && idbuf[idlen - 1] == '\n')
            idbuf[--idlen] = '\0';
        char cn[VEIL_PARTY_ID_MAX + 2];
        cert_cn(cn, sizeof cn, cert);
        if (!veil_net_id_ok((const char *)idbuf, VEIL_PARTY_ID_MAX) ||
            strlen((const char *)idbuf) != idlen)
            st = veil_err_set(err, VEIL_ERR_INPUT, "%s: not a party id", ip);
        else if (strcmp(cn, (const char *)idbuf) != 0)
            st = veil_err_set(err, VEIL_ERR_INPUT,
                              "%s says \"%s\" but the certificate in %s/" PARTY_CRT
                              " was made for another party",
                              ip, (const char *)idbuf, dir);
    }
    if (st == VEIL_OK)
        st = veil_cert_fingerprint(cert, out->fingerprint, err);
    if (st == VEIL_OK) {
        snprintf(out->id, sizeof out->id, "%s", (const char *)idbuf);
        format_time(out->not_before, X509_get0_notBefore(cert));
        format_time(out->not_after, X509_get0_notAfter(cert));
    }
    free(idbuf);
    free(ip);
    EVP_PKEY_free(key);
    X509_free(cert);
    return st;
}

/* ---- creating ---- */

/* A fresh Ed25519 key from libsodium's random source (the one random
 * source of veil); the seed is wiped. */
static veil_status new_key(EVP_PKEY **out, veil_err *err)
{
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    *out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
    sodium_memzero(seed, sizeof seed);
    return *out == NULL ? ssl_fail(err, VEIL_ERR_INTERNAL, "cannot make an Ed25519 key") : VEIL_OK;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* Self-signed v3 certificate for key: CN = id, a random positive 128-bit
 * serial, valid from now for 10 years, not a CA, for signatures only. */
static veil_status new_cert(X509 **out, EVP_PKEY *key, const char *id, veil_err *err)
{
    *out = NULL;
    uint8_t serial[16];
    randombytes_buf(serial, sizeof serial);
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, full 16 bytes */
    X509 *x = X509_new();
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = x != NULL && bn != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) != NULL &&
             X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, MBSTRING_ASC,
                                        (const unsigned char *)id, -1, -1, 0) == 1 &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
             X509_set_pubkey(x, key) == 1 &&
             add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, NID_subject_key_identifier, "hash") &&
             X509_sign(x, key, NULL) > 0; /* Ed25519 signs without a separate digest */
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return ssl_fail(err, VEIL_ERR_INTERNAL, "cannot make the party certificate");
    }
    *out = x;
    return VEIL_OK;
}

/* Creates dir with mode 0700, or accepts an existing directory. */
static veil_status make_dir(const char *dir, veil_err *err)
{
    if (mkdir(dir, 0700) == 0) {
        /* mkdir applies the umask; the mode must be exactly 0700. */
        if (chmod(dir, 0700) != 0)
            return veil_err_set(err, VEIL_ERR_IO, "%s: cannot set mode 0700: %s", dir,
                                strerror(errno));
        return VEIL_OK;
    }
    if (errno != EEXIST)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot create the directory: %s", dir,
                            strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return veil_err_set(err, VEIL_ERR_USAGE, "%s exists and is not a directory", dir);
    return VEIL_OK;
}

/* The PEM text of the key (PKCS#8) or the certificate, through a memory
 * BIO whose buffer is wiped by the caller with wipe_pem. */
static veil_status pem_of(BIO **bio, const char **data, size_t *len, EVP_PKEY *key, X509 *cert,
                          veil_err *err)
{
    *bio = BIO_new(BIO_s_mem());
    int ok = *bio != NULL &&
             (key != NULL ? PEM_write_bio_PrivateKey(*bio, key, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_X509(*bio, cert)) == 1;
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(*bio, &p) : 0;
    if (!ok || n <= 0)
        return ssl_fail(err, VEIL_ERR_INTERNAL, "cannot encode the identity as PEM");
    *data = p;
    *len = (size_t)n;
    return VEIL_OK;
}

static void wipe_pem(BIO *bio)
{
    char *p = NULL;
    long n = bio == NULL ? 0 : BIO_get_mem_data(bio, &p);
    if (n > 0)
        sodium_memzero(p, (size_t)n);
    BIO_free(bio);
}

/* Refuses when path exists and force is 0. */
static veil_status check_absent(const char *path, int force, veil_err *err)
{
    struct stat sb;
    if (!force && lstat(path, &sb) == 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s already exists; use --force to replace this identity (peers that "
                            "pinned it will refuse the new one)",
                            path);
    return VEIL_OK;
}

veil_status veil_party_init(const char *dir, const char *id, int force,
                            char fp_text[VEIL_FINGERPRINT_TEXT_LEN], veil_err *err)
{
    fp_text[0] = '\0';
    if (!veil_net_id_ok(id, VEIL_PARTY_ID_MAX))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "party id \"%.80s\" must be 1 to %d characters of A-Z a-z 0-9 . _ - "
                            "and not start with '.' or '-'",
                            id == NULL ? "" : id, VEIL_PARTY_ID_MAX);
    char *path[3] = {join(dir, PARTY_KEY), join(dir, PARTY_CRT), join(dir, PARTY_ID)};
    veil_atomic_file *f[3] = {NULL, NULL, NULL};
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    BIO *kbio = NULL, *cbio = NULL;
    const char *ktext = NULL, *ctext = NULL;
    size_t klen = 0, clen = 0, committed = 0;
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    veil_status st = VEIL_OK;
    if (path[0] == NULL || path[1] == NULL || path[2] == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = check_absent(path[0], force, err)) != VEIL_OK ||
        (st = check_absent(path[1], force, err)) != VEIL_OK || (st = make_dir(dir, err)) != VEIL_OK)
        goto done;
    if ((st = new_key(&key, err)) != VEIL_OK || (st = new_cert(&cert, key, id, err)) != VEIL_OK ||
        (st = veil_cert_fingerprint(cert, fp, err)) != VEIL_OK ||
        (st = pem_of(&kbio, &ktext, &klen, key, NULL, err)) != VEIL_OK ||
        (st = pem_of(&cbio, &ctext, &clen, NULL, cert, err)) != VEIL_OK)
        goto done;
    /* All three files are complete under temporary names before any is
     * renamed into place. */
    const mode_t mode[3] = {0600, 0644, 0644};
    const char *text[3] = {ktext, ctext, id};
    const size_t len[3] = {klen, clen, strlen(id)};
    for (int i = 0; i < 3 && st == VEIL_OK; i++) {
        st = veil_atomic_open(&f[i], path[i], mode[i], err);
        if (st == VEIL_OK)
            st = veil_atomic_write(f[i], text[i], len[i], err);
        if (st == VEIL_OK && i == 2)
            st = veil_atomic_write(f[i], "\n", 1, err);
    }
    for (; st == VEIL_OK && committed < 3; committed++) {
        st = veil_atomic_commit(f[committed], err);
        f[committed] = NULL;
    }
    if (st != VEIL_OK && !force)
        /* Without --force nothing was there before: remove what was renamed. */
        for (size_t i = 0; i + 1 < committed; i++)
            unlink(path[i]);
    if (st == VEIL_OK)
        veil_fingerprint_format(fp, fp_text);
done:
    for (int i = 0; i < 3; i++) {
        veil_atomic_abort(f[i]);
        free(path[i]);
    }
    wipe_pem(kbio);
    wipe_pem(cbio);
    EVP_PKEY_free(key);
    X509_free(cert);
    return st;
}
