/* The audit directory: audit.key (party and Ed25519 seed), audit.pub and
 * the log's header, which names the same party and public key. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_internal.h"
#include "framing.h"
#include "veil/audit.h"
#include "veil/proto/audit.pb-c.h"

#define KEY_FILE_MAX 256
#define PUB_FILE_MAX 256

int veil_audit_party_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VEIL_AUDIT_PARTY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

veil_status veil_audit_header_pack(uint8_t **out, size_t *len, const char *party,
                                   const uint8_t pub[VEIL_AUDIT_PUB_BYTES], veil_err *err)
{
    Veil__AuditHeader h = VEIL__AUDIT_HEADER__INIT;
    h.version = AUDIT_VERSION;
    h.party = (char *)party;
    h.public_key.data = (uint8_t *)pub;
    h.public_key.len = VEIL_AUDIT_PUB_BYTES;
    size_t n = veil__audit_header__get_packed_size(&h);
    if (n > AUDIT_HEADER_MAX)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "audit header too large");
    uint8_t *buf = malloc(AUDIT_MAGIC_LEN + 4 + n);
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    memcpy(buf, AUDIT_MAGIC, AUDIT_MAGIC_LEN);
    audit_put_be32(buf + AUDIT_MAGIC_LEN, (uint32_t)n);
    veil__audit_header__pack(&h, buf + AUDIT_MAGIC_LEN + 4);
    *out = buf;
    *len = AUDIT_MAGIC_LEN + 4 + n;
    return VEIL_OK;
}

veil_status veil_audit_header_parse(const uint8_t *buf, size_t len, const char *name, size_t *hlen,
                                    char party[VEIL_AUDIT_PARTY_MAX + 1],
                                    uint8_t pub[VEIL_AUDIT_PUB_BYTES], veil_err *err)
{
    if (len < AUDIT_MAGIC_LEN || memcmp(buf, AUDIT_MAGIC, AUDIT_MAGIC_LEN) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not an audit log (no VEILAUD1 magic)", name);
    if (len < AUDIT_MAGIC_LEN + 4)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: header: truncated", name);
    uint32_t n = audit_be32(buf + AUDIT_MAGIC_LEN);
    if (n == 0 || n > AUDIT_HEADER_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: header: length %u out of range (1..%d)", name,
                            (unsigned)n, AUDIT_HEADER_MAX);
    if (len - AUDIT_MAGIC_LEN - 4 < n)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: header: truncated", name);
    Veil__AuditHeader *h = veil__audit_header__unpack(NULL, n, buf + AUDIT_MAGIC_LEN + 4);
    if (h == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: header: not a valid AuditHeader message",
                            name);
    veil_status st = VEIL_OK;
    if (h->version != AUDIT_VERSION)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: header: version %u, this veil reads %d", name,
                          (unsigned)h->version, AUDIT_VERSION);
    else if (!veil_audit_party_ok(h->party))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: header: party is not 1..64 of [A-Za-z0-9._-]",
                          name);
    else if (h->public_key.len != VEIL_AUDIT_PUB_BYTES)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: header: public key of %zu bytes, expected %d",
                          name, h->public_key.len, VEIL_AUDIT_PUB_BYTES);
    if (st == VEIL_OK) {
        snprintf(party, VEIL_AUDIT_PARTY_MAX + 1, "%s", h->party);
        memcpy(pub, h->public_key.data, VEIL_AUDIT_PUB_BYTES);
        *hlen = AUDIT_MAGIC_LEN + 4 + n;
    }
    veil__audit_header__free_unpacked(h, NULL);
    return st;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
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

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

veil_status veil_audit_init(const char *dir, const char *party, int force, char pub_hex[65],
                            veil_err *err)
{
    veil_err_clear(err);
    if (!veil_audit_party_ok(party))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "party id \"%s\": expected 1..64 of [A-Za-z0-9._-]", party);
    if (sodium_init() < 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    veil_status st = make_dir(dir, err);
    if (st != VEIL_OK)
        return st;
    char *key_path = join(dir, "audit.key"), *pub_path = join(dir, "audit.pub"),
         *log_path = join(dir, "audit.log");
    uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];
    uint8_t *kbuf = NULL, *hbuf = NULL;
    size_t klen = 0, hlen = 0;
    if (key_path == NULL || pub_path == NULL || log_path == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    int have_log = exists(log_path);
    if (!force && (exists(key_path) || have_log)) {
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "%s already holds an audit key or log; refusing to overwrite it "
                          "(--force replaces the key and keeps the log)",
                          dir);
        goto done;
    }
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);

    Veil__AuditKey k = VEIL__AUDIT_KEY__INIT;
    k.version = AUDIT_VERSION;
    k.party = (char *)party;
    k.seed.data = seed;
    k.seed.len = sizeof seed;
    klen = veil__audit_key__get_packed_size(&k);
    kbuf = malloc(klen);
    if (kbuf == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    veil__audit_key__pack(&k, kbuf);
    st = veil_file_write_atomic(key_path, kbuf, klen, 0600, err);
    if (st != VEIL_OK)
        goto done;

    char hex[65], line[66];
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    snprintf(line, sizeof line, "%s\n", hex);
    st = veil_file_write_atomic(pub_path, line, 65, 0644, err);
    if (st != VEIL_OK)
        goto done;
    /* With force an existing log is kept: its header names the old key, so
     * it no longer verifies under the new one, and nothing can silently
     * continue a chain signed by a replaced key. */
    if (!have_log) {
        st = veil_audit_header_pack(&hbuf, &hlen, party, pk, err);
        if (st != VEIL_OK)
            goto done;
        st = veil_file_write_atomic(log_path, hbuf, hlen, 0600, err);
        if (st != VEIL_OK)
            goto done;
    }
    if (pub_hex != NULL)
        memcpy(pub_hex, hex, 65);
done:
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    veil_secret_free(kbuf, klen);
    free(hbuf);
    free(key_path);
    free(pub_path);
    free(log_path);
    return st;
}

/* Reads audit.key, refusing one that group or others can read: a leaked
 * signing key lets anyone rewrite the log. */
static veil_status load_key(veil_audit_signer *s, const char *path, veil_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if ((sb.st_mode & 077) != 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: the audit key is readable by group or others (mode %04o); run "
                            "chmod 600 %s",
                            path, (unsigned)(sb.st_mode & 07777), path);
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, KEY_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    Veil__AuditKey *k = veil__audit_key__unpack(NULL, len, buf);
    veil_secret_free(buf, len + 1);
    if (k == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not an audit key file", path);
    if (k->version != AUDIT_VERSION)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: version %u, this veil reads %d", path,
                          (unsigned)k->version, AUDIT_VERSION);
    else if (!veil_audit_party_ok(k->party))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: party is not 1..64 of [A-Za-z0-9._-]", path);
    else if (k->seed.len != crypto_sign_SEEDBYTES)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: seed of %zu bytes, expected %d", path,
                          k->seed.len, crypto_sign_SEEDBYTES);
    if (st == VEIL_OK) {
        snprintf(s->party, sizeof s->party, "%s", k->party);
        crypto_sign_seed_keypair(s->pk, s->sk, k->seed.data);
    }
    if (k->seed.data != NULL)
        sodium_memzero(k->seed.data, k->seed.len);
    veil__audit_key__free_unpacked(k, NULL);
    return st;
}

veil_status veil_audit_open(veil_audit_signer **out, const char *dir, veil_err *err)
{
    veil_err_clear(err);
    *out = NULL;
    if (sodium_init() < 0)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "libsodium failed to initialize");
    veil_audit_signer *s = calloc(1, sizeof *s);
    char *key_path = join(dir, "audit.key");
    uint8_t head[AUDIT_MAGIC_LEN + 4 + AUDIT_HEADER_MAX];
    veil_status st = VEIL_OK;
    int fd = -1;
    if (s == NULL || key_path == NULL || (s->log_path = join(dir, "audit.log")) == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = load_key(s, key_path, err);
    if (st != VEIL_OK)
        goto done;
    fd = open(s->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot open the audit log: %s", s->log_path,
                          strerror(errno));
        goto done;
    }
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot read: %s", s->log_path, strerror(errno));
        goto done;
    }
    size_t hlen;
    char party[VEIL_AUDIT_PARTY_MAX + 1];
    uint8_t pub[VEIL_AUDIT_PUB_BYTES];
    st = veil_audit_header_parse(head, (size_t)got, s->log_path, &hlen, party, pub, err);
    if (st != VEIL_OK)
        goto done;
    if (sodium_memcmp(pub, s->pk, sizeof pub) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "%s: the log's header names another public key than %s: the log "
                          "belongs to another key",
                          s->log_path, key_path);
        goto done;
    }
    if (strcmp(party, s->party) != 0) {
        st = veil_err_set(err, VEIL_ERR_CRYPTO,
                          "%s: the log's header names party \"%s\", %s names \"%s\"", s->log_path,
                          party, key_path, s->party);
        goto done;
    }
    *out = s;
    s = NULL;
done:
    if (fd >= 0)
        close(fd);
    free(key_path);
    veil_audit_close(s);
    return st;
}

void veil_audit_close(veil_audit_signer *s)
{
    if (s == NULL)
        return;
    free(s->log_path);
    sodium_memzero(s, sizeof *s);
    free(s);
}

const char *veil_audit_party(const veil_audit_signer *s)
{
    return s->party;
}

const char *veil_audit_log_path(const veil_audit_signer *s)
{
    return s->log_path;
}

veil_status veil_audit_read_pub(uint8_t pub[VEIL_AUDIT_PUB_BYTES], const char *path, veil_err *err)
{
    veil_err_clear(err);
    uint8_t *buf = NULL;
    size_t len = 0;
    veil_status st = veil_file_read_all(&buf, &len, path, PUB_FILE_MAX, err);
    if (st != VEIL_OK)
        return st;
    /* 64 hex digits, then optional trailing white space. */
    size_t n = len;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    size_t bin_len = 0;
    if (n != 2 * VEIL_AUDIT_PUB_BYTES ||
        sodium_hex2bin(pub, VEIL_AUDIT_PUB_BYTES, (const char *)buf, n, NULL, &bin_len, NULL) !=
            0 ||
        bin_len != VEIL_AUDIT_PUB_BYTES)
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "%s: not an audit public key (expected 64 hex digits)", path);
    free(buf);
    return st;
}
