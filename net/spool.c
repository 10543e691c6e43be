/* Files of the file-exchange transport (spool.h): names, the published
 * certificates, crash-safe writes that never replace a file, reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framing.h"
#include "net_internal.h"
#include "spool.h"

#define CERT_FILE_MAX (64u << 10)

int veil_spool_path(char out[VEIL_SPOOL_PATH_MAX], const char *dir, const char *session,
                    const char *sender, const char *recipient, uint64_t seq)
{
    int n = snprintf(out, VEIL_SPOOL_PATH_MAX, "%s/%s,%s,%s,%llu.msg", dir, session, sender,
                     recipient, (unsigned long long)seq);
    return n < 0 || n >= VEIL_SPOOL_PATH_MAX ? -1 : 0;
}

veil_status veil_spool_keys_load(veil_spool_keys *k, void *evp_pkey, veil_err *err)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    size_t n = sizeof seed;
    if (EVP_PKEY_get_raw_private_key(evp_pkey, seed, &n) != 1 || n != sizeof seed) {
        sodium_memzero(seed, sizeof seed);
        return veil_err_set(err, VEIL_ERR_CRYPTO, "cannot read the Ed25519 party key");
    }
    int r = veil_spool_keys_from_seed(k, seed);
    sodium_memzero(seed, sizeof seed);
    return r == 0 ? VEIL_OK : veil_err_set(err, VEIL_ERR_CRYPTO, "cannot derive the spool keys");
}

static veil_status publish_cert(const char *dir, const char *self, X509 *cert, veil_err *err)
{
    char certs[VEIL_SPOOL_PATH_MAX], path[VEIL_SPOOL_PATH_MAX];
    if ((size_t)snprintf(certs, sizeof certs, "%s/certs", dir) >= sizeof certs ||
        (size_t)snprintf(path, sizeof path, "%s/%s.crt", certs, self) >= sizeof path)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: the name is too long", dir);
    if (mkdir(certs, 0700) != 0 && errno != EEXIST)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", certs, strerror(errno));
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n = 0;
    if (b == NULL || PEM_write_bio_X509(b, cert) != 1 || (n = BIO_get_mem_data(b, &pem)) <= 0) {
        BIO_free(b);
        return veil_err_set(err, VEIL_ERR_INTERNAL, "cannot encode this party's certificate");
    }
    veil_status st = veil_file_write_atomic(path, pem, (size_t)n, 0644, err);
    BIO_free(b);
    return st;
}

/* A message file of this session sent by self, still in the spool. */
static veil_status check_stale(const char *dir, const char *session, const char *self,
                               veil_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: %s", dir, strerror(errno));
    char prefix[VEIL_SESSION_ID_MAX + VEIL_PARTY_ID_MAX + 3];
    snprintf(prefix, sizeof prefix, "%s,%s,", session, self);
    size_t pl = strlen(prefix);
    veil_status st = VEIL_OK;
    struct dirent *e;
    while (st == VEIL_OK && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, pl) == 0 && l > 4 && strcmp(e->d_name + l - 4, ".msg") == 0)
            st = veil_err_set(err, VEIL_ERR_USAGE,
                              "spool directory %s holds %s, a message of session %s sent by %s "
                              "in an earlier run: remove the session's files (%s/%s,*) or use "
                              "a new query id",
                              dir, e->d_name, session, self, dir, session);
    }
    closedir(d);
    return st;
}

veil_status veil_spool_setup(const char *dir, const char *session, const char *self,
                             void *x509_cert, veil_err *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: not a directory", dir);
    veil_status st = check_stale(dir, session, self, err);
    if (st == VEIL_OK)
        st = publish_cert(dir, self, x509_cert, err);
    return st;
}

veil_status veil_spool_peer_key(const char *dir, const veil_peer *p, uint8_t pk[32], veil_err *err)
{
    char path[VEIL_SPOOL_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/certs/%s.crt", dir, p->id) >= sizeof path)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: the name is too long", dir);
    uint8_t *pem = NULL;
    size_t len = 0;
    int missing = 0;
    veil_status st = veil_spool_read_file(path, CERT_FILE_MAX, &pem, &len, &missing, err);
    if (st != VEIL_OK)
        return st;
    if (missing)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s has not published its certificate yet", path,
                            p->id);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(pem);
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    EVP_PKEY *key = cert != NULL ? X509_get0_pubkey(cert) : NULL;
    size_t n = 32;
    if (cert == NULL) {
        char why[256];
        veil_ssl_err_text(why, sizeof why, "no certificate");
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: not a PEM certificate: %s", path, why);
    } else if (veil_cert_fingerprint(cert, fp, err) != VEIL_OK) {
        st = VEIL_ERR_CRYPTO;
    } else if (sodium_memcmp(fp, p->fingerprint, sizeof fp) != 0) {
        char have[VEIL_FINGERPRINT_TEXT_LEN], want[VEIL_FINGERPRINT_TEXT_LEN];
        veil_fingerprint_format(fp, have);
        veil_fingerprint_format(p->fingerprint, want);
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "%s: certificate %s is not the one the roster pins for %s (%s)", path,
                          have, p->id, want);
    } else if (key == NULL || EVP_PKEY_id(key) != EVP_PKEY_ED25519 ||
               EVP_PKEY_get_raw_public_key(key, pk, &n) != 1 || n != 32) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO, "%s: not an Ed25519 certificate", path);
    }
    X509_free(cert);
    return st;
}

veil_status veil_spool_write_file(const char *path, const char *dir, const uint8_t *buf, size_t len,
                                  veil_err *err)
{
    char tmp[VEIL_SPOOL_PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir) >= sizeof tmp)
        return veil_err_set(err, VEIL_ERR_USAGE, "spool directory %s: the name is too long", dir);
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", dir, strerror(errno));
    veil_status st = VEIL_OK;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", tmp, strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    if (st == VEIL_OK && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == VEIL_OK)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", tmp, strerror(errno));
    /* link(2), unlike rename(2), refuses to replace an existing name. */
    if (st == VEIL_OK && link(tmp, path) != 0)
        st = errno == EEXIST
                 ? veil_err_set(err, VEIL_ERR_USAGE,
                                "%s already exists: a leftover of an earlier run of this "
                                "session? (clean the spool or use a new query id)",
                                path)
                 : veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    (void)unlink(tmp);
    if (st == VEIL_OK) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return st;
}

veil_status veil_spool_read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
                                 int *missing, veil_err *err)
{
    *buf = NULL;
    *len = 0;
    *missing = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return VEIL_OK;
        }
        return veil_err_set(err, errno == ELOOP ? VEIL_ERR_INPUT : VEIL_ERR_IO, "%s: %s", path,
                            errno == ELOOP ? "a symbolic link, not a file" : strerror(errno));
    }
    struct stat sb;
    veil_status st = VEIL_OK;
    if (fstat(fd, &sb) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > max)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: the file is %llu bytes; the limit is %zu", path,
                          (unsigned long long)sb.st_size, max);
    uint8_t *b = NULL;
    size_t n = st == VEIL_OK ? (size_t)sb.st_size : 0, got = 0;
    if (st == VEIL_OK && (b = malloc(n > 0 ? n : 1)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "%s: out of memory", path);
    while (st == VEIL_OK && got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
        else if (r == 0)
            break; /* shrank while read: the check of its length reports it */
        else
            got += (size_t)r;
    }
    close(fd);
    if (st != VEIL_OK) {
        veil_secret_free(b, n);
        return st;
    }
    *buf = b;
    *len = got;
    return VEIL_OK;
}
