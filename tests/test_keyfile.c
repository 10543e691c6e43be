/* Key files: round trips of public, private and sealed keys, file modes,
 * passphrases, and every kind of damaged or hostile key file. */
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "veil.pb-c.h"
#include "veil/keyfile.h"
#include "veil/rand.h"

#define PASS "correct horse battery staple"
#define OPS  crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM  crypto_pwhash_MEMLIMIT_INTERACTIVE

static veil_paillier_priv *sk;  /* random DJN key */
static veil_paillier_priv *sk2; /* the fixed textbook key */
static char *dir;

static int suite_init(void)
{
    sk = tu_random_key(2048, 1);
    sk2 = tu_fixed_key(0);
    dir = tu_tempdir();
    return dir == NULL;
}

static int suite_cleanup(void)
{
    veil_paillier_priv_free(sk);
    veil_paillier_priv_free(sk2);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

static unsigned file_mode(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    return (unsigned)(sb.st_mode & 07777);
}

/* Number of entries of dir whose name contains ".tmp.". */
static int temp_files_left(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.") != NULL)
            n++;
    if (d != NULL)
        closedir(d);
    return n;
}

static void assert_pub_equal(const veil_paillier_pub *a, const veil_paillier_pub *b)
{
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    veil_paillier_pub_n(x, a);
    veil_paillier_pub_n(y, b);
    CU_ASSERT(mpz_cmp(x, y) == 0);
    veil_paillier_pub_hs(x, a);
    veil_paillier_pub_hs(y, b);
    CU_ASSERT(mpz_cmp(x, y) == 0);
    CU_ASSERT_EQUAL(veil_paillier_pub_is_djn(a), veil_paillier_pub_is_djn(b));
    CU_ASSERT_EQUAL(veil_paillier_pub_bits(a), veil_paillier_pub_bits(b));
    CU_ASSERT(memcmp(veil_paillier_pub_fingerprint(a), veil_paillier_pub_fingerprint(b),
                     VEIL_FINGERPRINT_BYTES) == 0);
    mpz_clears(x, y, NULL);
}

static void assert_priv_equal(const veil_paillier_priv *a, const veil_paillier_priv *b)
{
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    veil_paillier_priv_p(x, a);
    veil_paillier_priv_p(y, b);
    CU_ASSERT(mpz_cmp(x, y) == 0);
    veil_paillier_priv_q(x, a);
    veil_paillier_priv_q(y, b);
    CU_ASSERT(mpz_cmp(x, y) == 0);
    mpz_clears(x, y, NULL);
    assert_pub_equal(veil_paillier_priv_pub(a), veil_paillier_priv_pub(b));
}

/* The loaded key decrypts what the original encrypted. */
static void assert_decrypts(const veil_paillier_priv *loaded)
{
    veil_err err;
    mpz_t m, c, d;
    mpz_inits(m, c, d, NULL);
    mpz_set_ui(m, 123456789);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, veil_paillier_priv_pub(sk), m, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_decrypt(d, loaded, c, &err), VEIL_OK);
    CU_ASSERT(mpz_cmp(d, m) == 0);
    mpz_clears(m, c, d, NULL);
}

/* ---- helpers to take key files apart and put them back together ---- */

/* Decodes line 2 of a key file; NULL on failure. */
static Veil__KeyFile *kf_decode(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (text == NULL)
        return NULL;
    char *l2 = strchr(text, '\n');
    Veil__KeyFile *kf = NULL;
    if (l2 != NULL) {
        l2++;
        size_t b64len = strcspn(l2, "\n");
        uint8_t *bin = malloc(b64len);
        size_t binlen;
        if (sodium_base642bin(bin, b64len, l2, b64len, NULL, &binlen, NULL,
                              sodium_base64_VARIANT_ORIGINAL) == 0)
            kf = veil__key_file__unpack(NULL, binlen, bin);
        free(bin);
    }
    free(text);
    return kf;
}

/* Writes a key file holding arbitrary protobuf bytes. */
static void write_raw_keyfile(const char *path, const uint8_t *bin, size_t binlen)
{
    size_t cap = sodium_base64_ENCODED_LEN(binlen, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    sodium_bin2base64(b64, cap, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
    size_t tlen = strlen(b64) + 64;
    char *text = malloc(tlen);
    int n = snprintf(text, tlen, "untrusted comment: crafted\n%s\n", b64);
    CU_ASSERT_EQUAL(tu_write_file(path, text, (size_t)n), 0);
    free(b64);
    free(text);
}

static void kf_write(const char *path, const Veil__KeyFile *kf)
{
    size_t binlen = veil__key_file__get_packed_size(kf);
    uint8_t *bin = malloc(binlen + 1);
    veil__key_file__pack(kf, bin);
    write_raw_keyfile(path, bin, binlen);
    free(bin);
}

static void set_bytes(ProtobufCBinaryData *b, const mpz_t x)
{
    free(b->data);
    b->data = mpz_export(NULL, &b->len, 1, 1, 1, 0, x);
}

/* ---- round trips ---- */

static void test_public_key_round_trip_and_default_comment(void)
{
    veil_err err;
    char *path = tu_path(dir, "pub.key");
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    CU_ASSERT_EQUAL_FATAL(veil_pub_save(path, pk, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL(file_mode(path), 0644);
    veil_paillier_pub *loaded = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_pub_load(&loaded, path, &err), VEIL_OK);
    assert_pub_equal(pk, loaded);
    CU_ASSERT(veil_paillier_pub_is_djn(loaded));

    veil_keyfile_info info;
    CU_ASSERT_EQUAL_FATAL(veil_keyfile_info_read(&info, path, &err), VEIL_OK);
    CU_ASSERT_EQUAL(info.kind, VEIL_KEY_PUBLIC);
    CU_ASSERT_EQUAL(info.bits, 2048);
    CU_ASSERT_EQUAL(info.djn, 1);
    char fp[VEIL_FINGERPRINT_HEX], want[256];
    veil_paillier_pub_fingerprint_hex(fp, pk);
    CU_ASSERT_STRING_EQUAL(info.fingerprint_hex, fp);
    snprintf(want, sizeof want, "veil paillier public key, 2048 bits, DJN, fingerprint %.16s", fp);
    CU_ASSERT_STRING_EQUAL(info.comment, want);
    /* The file itself is exactly two lines. */
    size_t len;
    char *text = tu_read_file(path, &len);
    CU_ASSERT(strncmp(text, "untrusted comment: veil paillier public key", 43) == 0);
    CU_ASSERT_EQUAL(text[len - 1], '\n');
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CU_ASSERT_EQUAL(lines, 2);
    free(text);
    veil_paillier_pub_free(loaded);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
}

static void test_textbook_key_and_custom_comment(void)
{
    veil_err err;
    char *path = tu_path(dir, "textbook.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk2, NULL, 0, "tax bureau 2024", &err), VEIL_OK);
    veil_keyfile_info info;
    CU_ASSERT_EQUAL_FATAL(veil_keyfile_info_read(&info, path, &err), VEIL_OK);
    CU_ASSERT_EQUAL(info.kind, VEIL_KEY_PRIVATE);
    CU_ASSERT_EQUAL(info.djn, 0);
    CU_ASSERT_STRING_EQUAL(info.comment, "tax bureau 2024");
    veil_paillier_priv *loaded = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_priv_load(&loaded, path, NULL, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_paillier_pub_is_djn(veil_paillier_priv_pub(loaded)), 0);
    assert_priv_equal(sk2, loaded);
    veil_paillier_priv_free(loaded);

    veil_status st = veil_pub_save(path, veil_paillier_priv_pub(sk2), "two\nlines", &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "single line");
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    st = veil_pub_save(path, veil_paillier_priv_pub(sk2), big, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "longer than 255");
    free(path);
}

static void test_private_key_round_trip_mode_0600(void)
{
    veil_err err;
    char *path = tu_path(dir, "priv.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL(file_mode(path), 0600);
    veil_paillier_priv *loaded = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_priv_load(&loaded, path, NULL, 0, &err), VEIL_OK);
    assert_priv_equal(sk, loaded);
    assert_decrypts(loaded);
    veil_paillier_priv_free(loaded);
    /* A private key file also yields its public half. */
    veil_paillier_pub *pub = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_pub_load(&pub, path, &err), VEIL_OK);
    assert_pub_equal(veil_paillier_priv_pub(sk), pub);
    veil_paillier_pub_free(pub);
    /* Overwriting keeps 0600, even over a file that was world-readable. */
    CU_ASSERT_EQUAL(chmod(path, 0644), 0);
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    CU_ASSERT_EQUAL(file_mode(path), 0600);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
}

static void test_sealed_key_round_trip(void)
{
    veil_err err;
    char *path = tu_path(dir, "sealed.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save_ex(path, sk, PASS, strlen(PASS), NULL, OPS, MEM, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(file_mode(path), 0600);
    /* No secret in clear: the factors' bytes do not appear in the file. */
    Veil__KeyFile *kf = kf_decode(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    CU_ASSERT_EQUAL(kf->key_case, VEIL__KEY_FILE__KEY_SEALED_PRIVATE_KEY);
    CU_ASSERT_STRING_EQUAL(kf->sealed_private_key->kdf, "argon2id13");
    CU_ASSERT_EQUAL(kf->sealed_private_key->opslimit, OPS);
    CU_ASSERT_EQUAL(kf->sealed_private_key->memlimit, MEM);
    veil__key_file__free_unpacked(kf, NULL);

    veil_keyfile_info info;
    CU_ASSERT_EQUAL_FATAL(veil_keyfile_info_read(&info, path, &err), VEIL_OK);
    CU_ASSERT_EQUAL(info.kind, VEIL_KEY_PRIVATE_SEALED);
    CU_ASSERT(strstr(info.comment, "passphrase-protected") != NULL);

    veil_paillier_priv *loaded = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_priv_load(&loaded, path, PASS, strlen(PASS), &err), VEIL_OK);
    assert_priv_equal(sk, loaded);
    assert_decrypts(loaded);
    veil_paillier_priv_free(loaded);

    veil_paillier_pub *pub = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_pub_load(&pub, path, &err), VEIL_OK);
    assert_pub_equal(veil_paillier_priv_pub(sk), pub);
    veil_paillier_pub_free(pub);
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    free(path);
}

static void test_wrong_and_missing_passphrase(void)
{
    veil_err err;
    char *path = tu_path(dir, "sealed2.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save_ex(path, sk, PASS, strlen(PASS), NULL, OPS, MEM, &err),
                          VEIL_OK);
    veil_paillier_priv *loaded = NULL;
    veil_status st = veil_priv_load(&loaded, path, "wrong", 5, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "wrong passphrase");
    CU_ASSERT(strstr(err.msg, path) != NULL);
    CU_ASSERT_PTR_NULL(loaded);
    st = veil_priv_load(&loaded, path, NULL, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "passphrase");
    st = veil_priv_load(&loaded, path, "", 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "passphrase is empty");
    /* Saving refuses an empty passphrase and absurd limits. */
    st = veil_priv_save_ex(path, sk, "", 0, NULL, OPS, MEM, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "passphrase is empty");
    st = veil_priv_save_ex(path, sk, PASS, strlen(PASS), NULL, 1, MEM, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "outside");
    st = veil_priv_save_ex(path, sk, PASS, strlen(PASS), NULL, OPS, (size_t)1 << 40, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "outside");
    free(path);
}

/* A sealed file whose clear public key was swapped for another key's, and
 * one that asks for absurd Argon2id limits. */
static void test_sealed_file_tampering(void)
{
    veil_err err;
    char *path = tu_path(dir, "sealed3.key");
    char *other = tu_path(dir, "other-pub.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save_ex(path, sk, PASS, strlen(PASS), NULL, OPS, MEM, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_pub_save(other, veil_paillier_priv_pub(sk2), NULL, &err), VEIL_OK);
    Veil__KeyFile *kf = kf_decode(path), *okf = kf_decode(other);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(okf);
    Veil__PaillierPublicKey *mine = kf->sealed_private_key->public_key;
    kf->sealed_private_key->public_key = okf->public_key;
    kf_write(path, kf);
    veil_paillier_priv *loaded = NULL;
    veil_status st = veil_priv_load(&loaded, path, PASS, strlen(PASS), &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "does not match the sealed private key");
    kf->sealed_private_key->public_key = mine;

    kf->sealed_private_key->memlimit = (uint64_t)1 << 42;
    kf_write(path, kf);
    st = veil_priv_load(&loaded, path, PASS, strlen(PASS), &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "outside the accepted range");
    kf->sealed_private_key->memlimit = MEM;
    kf->sealed_private_key->opslimit = 1000000;
    kf_write(path, kf);
    st = veil_priv_load(&loaded, path, PASS, strlen(PASS), &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "outside the accepted range");
    kf->sealed_private_key->opslimit = OPS;

    /* A flipped bit in the box is indistinguishable from a wrong passphrase. */
    kf->sealed_private_key->box.data[10] ^= 1;
    kf_write(path, kf);
    st = veil_priv_load(&loaded, path, PASS, strlen(PASS), &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO, "wrong passphrase or corrupted key file");
    CU_ASSERT_PTR_NULL(loaded);
    veil__key_file__free_unpacked(kf, NULL);
    veil__key_file__free_unpacked(okf, NULL);
    free(path);
    free(other);
}

/* ---- damaged files ---- */

static void test_truncated_key_file(void)
{
    veil_err err;
    char *path = tu_path(dir, "trunc-src.key");
    char *cut = tu_path(dir, "trunc.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    size_t len;
    char *text = tu_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t l1 = (size_t)(strchr(text, '\n') - text) + 1;
    size_t cuts[] = {0, 5, 19, l1 - 1, l1, l1 + 1, l1 + 100, (l1 + len) / 2, len - 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, text, cuts[i]), 0);
        veil_paillier_priv *k = NULL;
        veil_paillier_pub *p = NULL;
        veil_status st = veil_priv_load(&k, cut, NULL, 0, &err);
        CU_ASSERT_EQUAL(st, VEIL_ERR_INPUT);
        CU_ASSERT(strstr(err.msg, cut) != NULL);
        CU_ASSERT_PTR_NULL(k);
        st = veil_pub_load(&p, cut, &err);
        CU_ASSERT_EQUAL(st, VEIL_ERR_INPUT);
        CU_ASSERT_PTR_NULL(p);
    }
    /* The typical truncation messages. */
    veil_paillier_pub *p = NULL;
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, text, len - 1), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, cut, &err), err, VEIL_ERR_INPUT, "truncated");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, text, 5), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, cut, &err), err, VEIL_ERR_INPUT, "not a veil key file");
    /* Cut inside the base64 but with the final newline back. */
    memcpy(text + l1 + 200, "\n", 1);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, text, l1 + 201), 0);
    veil_status st = veil_pub_load(&p, cut, &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_INPUT);
    CU_ASSERT(strstr(err.msg, "base64") != NULL || strstr(err.msg, "protobuf") != NULL);
    /* Extra data after line 2, and CRLF line ends. */
    free(text);
    text = tu_read_file(path, &len);
    char *more = malloc(len + 8);
    memcpy(more, text, len);
    memcpy(more + len, "extra\n", 6);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, more, len + 6), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, cut, &err), err, VEIL_ERR_INPUT, "after line 2");
    memcpy(more, text, len);
    more[len - 1] = '\r';
    more[len] = '\n';
    CU_ASSERT_EQUAL_FATAL(tu_write_file(cut, more, len + 1), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, cut, &err), err, VEIL_ERR_INPUT, "base64");
    free(more);
    free(text);
    free(path);
    free(cut);
}

static void test_corrupted_base64_and_protobuf(void)
{
    veil_err err;
    char *path = tu_path(dir, "corrupt.key");
    CU_ASSERT_EQUAL_FATAL(veil_pub_save(path, veil_paillier_priv_pub(sk), NULL, &err), VEIL_OK);
    size_t len;
    char *text = tu_read_file(path, &len);
    size_t l1 = (size_t)(strchr(text, '\n') - text) + 1;
    text[l1 + 10] = '!';
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, text, len), 0);
    veil_paillier_pub *p = NULL;
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "not valid base64");
    CU_ASSERT(strstr(err.msg, "character 11") != NULL);
    free(text);

    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    write_raw_keyfile(path, garbage, sizeof garbage);
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "malformed protobuf");
    /* A valid message without the key. */
    Veil__KeyFile empty = VEIL__KEY_FILE__INIT;
    empty.version = 1;
    kf_write(path, &empty);
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "holds no key");
    /* Not a key file at all. */
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, "hello\n", 6), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "not a veil key file");
    /* Empty line 2. */
    const char *e2 = "untrusted comment: x\n\n";
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, e2, strlen(e2)), 0);
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "line 2 is empty");
    CU_ASSERT_PTR_NULL(p);
    free(path);
}

static void test_wrong_versions(void)
{
    veil_err err;
    char *path = tu_path(dir, "version.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    Veil__KeyFile *kf = kf_decode(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    veil_paillier_priv *k = NULL;
    kf->version = 2;
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "key file version 2 is not supported");
    kf->version = 1;
    kf->private_key->version = 7;
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "private key version 7");
    kf->private_key->version = 1;
    kf->private_key->public_key->version = 3;
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "public key version 3");
    veil_paillier_pub *p = NULL;
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "public key version 3");
    kf->private_key->public_key->version = 1;
    kf_write(path, kf);
    CU_ASSERT_EQUAL(veil_priv_load(&k, path, NULL, 0, &err), VEIL_OK);
    veil_paillier_priv_free(k);
    veil__key_file__free_unpacked(kf, NULL);
    free(path);
}

static void test_key_file_too_big(void)
{
    veil_err err;
    char *path = tu_path(dir, "big.key");
    size_t len = VEIL_KEYFILE_MAX + 1;
    char *buf = malloc(len);
    memset(buf, 'A', len);
    memcpy(buf, "untrusted comment: x\n", 21);
    buf[len - 1] = '\n';
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, buf, len), 0);
    veil_paillier_pub *p = NULL;
    TU_ASSERT_ERR(veil_pub_load(&p, path, &err), err, VEIL_ERR_INPUT, "larger than 65536");
    veil_paillier_priv *k = NULL;
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT, "larger than");
    /* The in-memory parser has the same cap. */
    TU_ASSERT_ERR(veil_pub_parse(&p, (const uint8_t *)buf, len, "mem", &err), err, VEIL_ERR_INPUT,
                  "larger than");
    free(buf);
    TU_ASSERT_ERR(veil_pub_load(&p, "/nonexistent/veil.key", &err), err, VEIL_ERR_IO,
                  "/nonexistent/veil.key");
    free(path);
}

/* p not prime; n not p*q; a leading zero byte; hs out of range. */
static void test_invalid_key_material(void)
{
    veil_err err;
    char *path = tu_path(dir, "bad.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    Veil__KeyFile *kf = kf_decode(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kf);
    Veil__PaillierPrivateKey *m = kf->private_key;
    mpz_t p, q, n, x;
    mpz_inits(p, q, n, x, NULL);
    mpz_import(p, m->p.len, 1, 1, 1, 0, m->p.data);
    mpz_import(q, m->q.len, 1, 1, 1, 0, m->q.data);
    ProtobufCBinaryData orig_n = m->public_key->n, orig_p = m->p, orig_hs = m->public_key->hs;
    m->public_key->n.data = NULL;
    m->p.data = NULL;

    /* A composite p' of the same length, with n = p' q kept consistent. */
    mpz_add_ui(x, p, 2);
    while (mpz_probab_prime_p(x, 25) != 0)
        mpz_add_ui(x, x, 2);
    mpz_mul(n, x, q);
    set_bytes(&m->p, x);
    set_bytes(&m->public_key->n, n);
    m->public_key->has_hs = 0;
    kf_write(path, kf);
    veil_paillier_priv *k = NULL;
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_CRYPTO, "not prime");
    CU_ASSERT_PTR_NULL(k);

    /* The public part disagrees with the factors. */
    set_bytes(&m->p, p);
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_CRYPTO, "not p*q");
    veil_paillier_pub *pub = NULL;
    TU_ASSERT_ERR(veil_pub_load(&pub, path, &err), err, VEIL_ERR_CRYPTO, "not p*q");

    /* Consistent again, but p with a leading zero byte. */
    mpz_mul(n, p, q);
    set_bytes(&m->public_key->n, n);
    uint8_t *lz = malloc(m->p.len + 1);
    lz[0] = 0;
    memcpy(lz + 1, m->p.data, m->p.len);
    free(m->p.data);
    m->p.data = lz;
    m->p.len++;
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "factor p starts with a zero byte");
    set_bytes(&m->p, p);

    /* hs = n^2 is out of range; a present but empty hs is refused. */
    mpz_mul(x, n, n);
    m->public_key->has_hs = 1;
    m->public_key->hs.data = NULL;
    set_bytes(&m->public_key->hs, x);
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_CRYPTO, "hs");
    free(m->public_key->hs.data);
    m->public_key->hs.data = NULL;
    m->public_key->hs.len = 0;
    kf_write(path, kf);
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_INPUT,
                  "present but empty");

    /* A public key with a 1000-bit modulus. */
    Veil__PaillierPublicKey small = VEIL__PAILLIER_PUBLIC_KEY__INIT;
    small.version = 1;
    mpz_set_ui(x, 1);
    mpz_mul_2exp(x, x, 999);
    mpz_add_ui(x, x, 1);
    set_bytes(&small.n, x);
    Veil__KeyFile pkf = VEIL__KEY_FILE__INIT;
    pkf.version = 1;
    pkf.key_case = VEIL__KEY_FILE__KEY_PUBLIC_KEY;
    pkf.public_key = &small;
    kf_write(path, &pkf);
    TU_ASSERT_ERR(veil_pub_load(&pub, path, &err), err, VEIL_ERR_CRYPTO, "1000 bits");
    free(small.n.data);
    /* A private key asked of a public key file. */
    TU_ASSERT_ERR(veil_priv_load(&k, path, NULL, 0, &err), err, VEIL_ERR_USAGE,
                  "public key, not a private key");

    free(m->p.data);
    free(m->public_key->n.data);
    free(m->public_key->hs.data);
    m->p = orig_p;
    m->public_key->n = orig_n;
    m->public_key->hs = orig_hs;
    veil__key_file__free_unpacked(kf, NULL);
    mpz_clears(p, q, n, x, NULL);
    free(path);
}

static void test_failed_write_leaves_nothing(void)
{
    veil_err err;
    veil_status st = veil_priv_save("/nonexistent-dir/k.key", sk, NULL, 0, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_IO, "/nonexistent-dir/k.key");
    /* Renaming over a directory fails after the temporary file was written:
     * the temporary file must be gone. */
    char *path = tu_path(dir, "a-directory.key");
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    st = veil_priv_save(path, sk, NULL, 0, NULL, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_IO, "cannot rename");
    CU_ASSERT_EQUAL(temp_files_left(), 0);
    rmdir(path);
    free(path);
}

static void test_parse_from_memory(void)
{
    veil_err err;
    char *path = tu_path(dir, "mem.key");
    CU_ASSERT_EQUAL_FATAL(veil_priv_save(path, sk, NULL, 0, NULL, &err), VEIL_OK);
    size_t len;
    char *text = tu_read_file(path, &len);
    veil_paillier_priv *k = NULL;
    CU_ASSERT_EQUAL_FATAL(
        veil_priv_parse(&k, (const uint8_t *)text, len, "embedded", NULL, 0, &err), VEIL_OK);
    assert_priv_equal(sk, k);
    veil_paillier_priv_free(k);
    TU_ASSERT_ERR(veil_priv_parse(&k, (const uint8_t *)text, 10, "embedded", NULL, 0, &err), err,
                  VEIL_ERR_INPUT, "embedded: ");
    free(text);
    free(path);
}

int main(void)
{
    static const tu_test tests[] = {
        {"public key round trip, mode 0644, default comment",
         test_public_key_round_trip_and_default_comment},
        {"textbook key and custom comment", test_textbook_key_and_custom_comment},
        {"private key round trip, mode 0600", test_private_key_round_trip_mode_0600},
        {"sealed key round trip", test_sealed_key_round_trip},
        {"wrong and missing passphrase", test_wrong_and_missing_passphrase},
        {"sealed file tampering", test_sealed_file_tampering},
        {"truncated key file", test_truncated_key_file},
        {"corrupted base64 and protobuf", test_corrupted_base64_and_protobuf},
        {"wrong versions", test_wrong_versions},
        {"key file too big", test_key_file_too_big},
        {"invalid key material", test_invalid_key_material},
        {"failed write leaves nothing", test_failed_write_leaves_nothing},
        {"parse from memory", test_parse_from_memory},
        {NULL, NULL},
    };
    return tu_main("keyfile", suite_init, suite_cleanup, tests);
}
