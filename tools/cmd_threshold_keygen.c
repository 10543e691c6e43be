/* veil threshold keygen (the dealer's key ceremony) and veil threshold
 * party-key (a department's X25519 key pair for receiving its share). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/keyfile.h"
#include "veil/rand.h"
#include "veil/threshold.h"

enum { O_PARTIES = 1, O_THRESHOLD, O_OUTDIR, O_BITS, O_TEXTBOOK, O_SEAL, O_PRIMES, O_FORCE };

static const veil_opt opts[] = {
    {"parties", O_PARTIES, "N", "number of departments holding a share, 1 .. 64", 1},
    {"threshold", O_THRESHOLD, "T", "departments needed to decrypt, 1 .. N", 1},
    {"out-dir", O_OUTDIR, "DIR",
     "where to write public.key, threshold.tkey and share-1.tsh .. share-N.tsh (created 0700)", 1},
    {"bits", O_BITS, "B", "modulus size: 2048 (default), 3072 or 4096", 0},
    {"textbook", O_TEXTBOOK, NULL, "textbook r^n randomizers instead of DJN", 0},
    {"seal-to", O_SEAL, "P1,..,PN",
     "seal share i to department i's public key file (from `veil threshold party-key`)", 0},
    {"safe-primes", O_PRIMES, "FILE",
     "use the two safe primes in FILE (hex, one per line) instead of generating them "
     "(tests, or primes from a hardware module)",
     0, VEIL_IO_IN},
    {"force", O_FORCE, NULL, "replace existing files", 0},
    {NULL, 0, NULL, NULL, 0},
};

static void progress(void *arg, unsigned found, unsigned want, unsigned long candidates)
{
    (void)arg;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\rveil threshold keygen: safe prime %u of %u, %lu candidates tested ",
                found < want ? found + 1 : want, want, candidates);
}

/* Reads two hex safe primes, one per line. */
static veil_status read_primes(mpz_t p, mpz_t q, const char *path, veil_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    veil_status st = veil_cli_read_file(&buf, &len, path, 8192, err);
    if (st != VEIL_OK)
        return st;
    char *save = NULL, *a = strtok_r(buf, "\n", &save), *b = strtok_r(NULL, "\n", &save);
    if (a == NULL || b == NULL || mpz_set_str(p, a, 16) != 0 || mpz_set_str(q, b, 16) != 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: expected two hexadecimal primes, one per line",
                          path);
    veil_cli_free_secret(buf, len);
    return st;
}

static veil_status parse_seal(uint8_t (*keys)[VEIL_PARTY_KEY_BYTES], unsigned parties,
                              const char *list, veil_err *err)
{
    char *copy = strdup(list);
    if (copy == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    unsigned got = 0;
    veil_status st = VEIL_OK;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && st == VEIL_OK;
         t = strtok_r(NULL, ",", &save)) {
        if (got == parties) {
            got++;
            break;
        }
        st = veil_party_pub_load(keys[got++], t, err);
    }
    if (st == VEIL_OK && got != parties)
        st = veil_err_set(err, VEIL_ERR_USAGE, "--seal-to: %u public keys for %u parties", got,
                          parties);
    free(copy);
    return st;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    unsigned parties = 0, threshold = 0, bits = VEIL_PAILLIER_BITS_DEFAULT;
    int force = a.val[O_FORCE] != NULL, djn = a.val[O_TEXTBOOK] == NULL;
    const char *dir = a.val[O_OUTDIR];
    veil_threshold_key *key = NULL;
    veil_threshold_share **shares = NULL;
    uint8_t(*seal)[VEIL_PARTY_KEY_BYTES] = NULL;
    char *path = NULL;
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    size_t plen = strlen(dir) + 32;
    veil_status st = veil_cli_parse_uint(&parties, a.val[O_PARTIES], 1, VEIL_THRESHOLD_PARTIES_MAX,
                                         "parties", &err);
    if (st == VEIL_OK)
        st = veil_cli_parse_uint(&threshold, a.val[O_THRESHOLD], 1, parties, "threshold", &err);
    if (st == VEIL_OK && a.val[O_BITS] != NULL)
        st = veil_cli_parse_uint(&bits, a.val[O_BITS], 0, 1u << 16, "bits", &err);
    if (st == VEIL_OK && !veil_paillier_bits_supported(bits))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--bits %u is not supported (2048, 3072, 4096)",
                          bits);
    if (st == VEIL_OK && (path = malloc(plen)) == NULL)
        st = veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && a.val[O_SEAL] != NULL) {
        seal = calloc(parties, sizeof *seal);
        st = seal == NULL ? veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory")
                          : parse_seal(seal, parties, a.val[O_SEAL], &err);
    }
    if (st == VEIL_OK && mkdir(dir, 0700) != 0 && errno != EEXIST)
        st = veil_err_set(&err, VEIL_ERR_IO, "%s: cannot create the directory: %s", dir,
                          strerror(errno));
    const char *fixed[] = {"public.key", "threshold.tkey"};
    for (int i = 0; i < 2 && st == VEIL_OK; i++) {
        snprintf(path, plen, "%s/%s", dir, fixed[i]);
        st = veil_cli_check_new(path, force, &err);
    }
    for (unsigned i = 1; i <= parties && st == VEIL_OK; i++) {
        snprintf(path, plen, "%s/share-%u.tsh", dir, i);
        st = veil_cli_check_new(path, force, &err);
    }
    if (st == VEIL_OK && a.val[O_PRIMES] != NULL) {
        st = read_primes(p, q, a.val[O_PRIMES], &err);
        if (st == VEIL_OK)
            st = veil_threshold_deal(&key, &shares, p, q, parties, threshold, djn, &err);
        if (st == VEIL_OK && veil_paillier_pub_bits(veil_threshold_key_pub(key)) != bits)
            st = veil_err_set(&err, VEIL_ERR_USAGE, "the primes of %s make a %u-bit key, not %u",
                              a.val[O_PRIMES], veil_paillier_pub_bits(veil_threshold_key_pub(key)),
                              bits);
    } else if (st == VEIL_OK) {
        st = veil_threshold_keygen(&key, &shares, bits, parties, threshold, djn, progress, NULL,
                                   &err);
        if (isatty(STDERR_FILENO))
            fputs("\r\033[K", stderr);
    }
    veil_mpz_wipe(p);
    veil_mpz_wipe(q);
    /* Shares first; the dealer's copies are wiped when freed below. */
    for (unsigned i = 1; i <= parties && st == VEIL_OK; i++) {
        snprintf(path, plen, "%s/share-%u.tsh", dir, i);
        st = veil_threshold_share_save(path, shares[i - 1], seal ? seal[i - 1] : NULL, &err);
        veil_audit_note_output(path); /* digested into the audit entry */
    }
    if (st == VEIL_OK) {
        snprintf(path, plen, "%s/threshold.tkey", dir);
        st = veil_threshold_key_save(path, key, &err);
        veil_audit_note_output(path);
    }
    if (st == VEIL_OK) {
        snprintf(path, plen, "%s/public.key", dir);
        st = veil_pub_save(path, veil_threshold_key_pub(key), "veil threshold paillier public key",
                           &err);
        veil_audit_note_output(path);
    }
    if (st == VEIL_OK) {
        char fp[VEIL_FINGERPRINT_HEX], tfp[VEIL_FINGERPRINT_HEX];
        veil_paillier_pub_fingerprint_hex(fp, veil_threshold_key_pub(key));
        veil_threshold_key_fingerprint_hex(tfp, key);
        printf("public key:        %s/public.key (fingerprint %s)\n"
               "threshold key:     %s/threshold.tkey (fingerprint %s)\n"
               "shares:            %s/share-1.tsh .. share-%u.tsh%s\n"
               "%u of %u departments are needed to decrypt. Hand each share to its department,\n"
               "then delete the shares from this machine (see docs/threshold.md).\n",
               dir, fp, dir, tfp, dir, parties, seal ? " (sealed)" : " (NOT sealed)", threshold,
               parties);
    }
    veil_threshold_shares_free(shares, parties);
    veil_threshold_key_free(key);
    if (seal != NULL)
        veil_cli_free_secret((char *)seal, parties * VEIL_PARTY_KEY_BYTES);
    free(path);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_threshold_keygen = {
    .name = "threshold keygen",
    .summary = "Deal a threshold key: t of N departments needed to decrypt.",
    .synopsis = "--parties N --threshold T --out-dir DIR [options]",
    .description = "The dealer's key ceremony (docs/threshold.md). Generates n = pq from two safe\n"
                   "primes, shares the decryption exponent among N departments so that any T of\n"
                   "them can decrypt and fewer learn nothing, and writes into DIR: public.key (an\n"
                   "ordinary veil public key: encrypt and aggregate with it as usual),\n"
                   "threshold.tkey (public parameters and verification keys, for combining) and\n"
                   "share-I.tsh for each department I (mode 0600; sealed to the department's key\n"
                   "with --seal-to). The factors and the full exponent are never written; the\n"
                   "dealer must delete the share files once delivered. 2048-bit keys take a few\n"
                   "seconds (safe primes).",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil threshold keygen --parties 5 --threshold 3 --out-dir ceremony \\\n"
               "    --seal-to tax.ppk,health.ppk,edu.ppk,civil.ppk,social.ppk",
    .run = run,
    .audited = 1,
};

enum { P_PUBLIC = 1, P_SECRET, P_FORCE };

static const veil_opt party_opts[] = {
    {"public", P_PUBLIC, "PUB", "where to write the public key (give it to the dealer)", 1,
     VEIL_IO_OUT},
    {"secret", P_SECRET, "SEC", "where to write the secret key (mode 0600)", 1, VEIL_IO_OUT},
    {"force", P_FORCE, NULL, "replace existing files", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run_party(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    uint8_t pk[VEIL_PARTY_KEY_BYTES], sk[VEIL_PARTY_KEY_BYTES];
    int force = a.val[P_FORCE] != NULL;
    veil_status st = VEIL_OK;
    if (veil_cli_same_path(a.val[P_PUBLIC], a.val[P_SECRET]))
        st = veil_err_set(&err, VEIL_ERR_USAGE, "--public and --secret name the same file");
    if (st == VEIL_OK)
        st = veil_cli_check_new(a.val[P_PUBLIC], force, &err);
    if (st == VEIL_OK)
        st = veil_cli_check_new(a.val[P_SECRET], force, &err);
    if (st == VEIL_OK)
        st = veil_party_keygen(pk, sk, &err);
    if (st == VEIL_OK)
        st = veil_party_secret_save(a.val[P_SECRET], pk, sk, &err);
    if (st == VEIL_OK && (st = veil_party_pub_save(a.val[P_PUBLIC], pk, &err)) != VEIL_OK)
        unlink(a.val[P_SECRET]);
    if (st == VEIL_OK)
        printf("public key: %s\nsecret key: %s\n", a.val[P_PUBLIC], a.val[P_SECRET]);
    sodium_memzero(sk, sizeof sk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_threshold_party_key = {
    .name = "threshold party-key",
    .summary = "Make a department's key pair for receiving a sealed share.",
    .synopsis = "--public PUB --secret SEC",
    .description = "Writes an X25519 key pair (libsodium). Send PUB to the dealer, who seals\n"
                   "the department's share to it (threshold keygen --seal-to); keep SEC, which\n"
                   "threshold decrypt-share needs (--party-key) to open the share.",
    .opts = party_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil threshold party-key --public tax.ppk --secret tax.psk",
    .run = run_party,
    .audited = 1,
};
