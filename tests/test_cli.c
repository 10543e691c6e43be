/* The `veil` command, run as a subprocess: help and usage errors, exact
 * results of encrypt / aggregate / decrypt on small CSV files, and the
 * exit code and message of every kind of bad input, with no output file
 * left behind on failure. The large end-to-end run is tests/e2e_departments.sh. */
#define _GNU_SOURCE
#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <gmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "veil/ctfile.h"
#include "veil/keyfile.h"
#include "veil/paillier.h"

static char workdir[] = "/tmp/veil-test-cli-XXXXXX";
static char *g_out, *g_err;   /* output of the last run */
static char fp1[65], fp2[65]; /* fingerprints of k1 and k2 */

/* ---- helpers ---- */

/* The whole file, NUL-terminated, its length in *size. */
static char *slurp_n(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *b = realloc(buf, cap * 2);
            if (b == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    if (buf != NULL)
        buf[len] = '\0';
    fclose(f);
    *size = len;
    return buf;
}

static char *slurp(const char *path)
{
    size_t size;
    return slurp_n(path, &size);
}

/* Writes a file (also used from suite_init, so no CUnit assertions). */
static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(text, 1, strlen(text), f);
    return fclose(f) == 0 && n == strlen(text) ? 0 : -1;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Temporary files ("*.tmp.*") left in the work directory. */
static int leftovers(void)
{
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.") != NULL)
            n++;
    if (d != NULL)
        closedir(d);
    return n;
}

/* Runs veil with the given arguments (NULL-terminated); returns the exit
 * status and keeps stdout and stderr in g_out and g_err. */
static int veil(const char *arg, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = VEIL_BIN;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open("run.stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open("run.stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        /* No controlling terminal: --ask-passphrase must fail cleanly. */
        setsid();
        execv(VEIL_BIN, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    free(g_out);
    free(g_err);
    g_out = slurp("run.stdout");
    g_err = slurp("run.stderr");
    if (g_out == NULL)
        g_out = strdup("");
    if (g_err == NULL)
        g_err = strdup("");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int has(const char *hay, const char *needle)
{
    int ok = hay != NULL && strstr(hay, needle) != NULL;
    if (!ok)
        fprintf(stderr, "\n  expected to find: %s\n  in: %s\n", needle, hay ? hay : "(null)");
    return ok;
}

static int same(const char *got, const char *want)
{
    int ok = got != NULL && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "\n  expected:\n%s\n  got:\n%s\n  stderr: %s\n", want, got ? got : "(null)",
                g_err ? g_err : "");
    return ok;
}

#define RUN(...) veil(__VA_ARGS__, NULL)
/* Runs and checks the exit code, printing stderr when it differs. */
#define EXPECT(code, ...)                                                                          \
    do {                                                                                           \
        int rc_ = veil(__VA_ARGS__, NULL);                                                         \
        if (rc_ != (code))                                                                         \
            fprintf(stderr, "\n  exit %d, wanted %d; stderr: %s\n", rc_, (code), g_err);           \
        CU_ASSERT_EQUAL(rc_, (code));                                                              \
    } while (0)

static void read_fingerprint(char out[65], const char *keyfile)
{
    CU_ASSERT_EQUAL_FATAL(RUN("key", "show", keyfile), 0);
    const char *p = strstr(g_out, "fingerprint: ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memcpy(out, p + 13, 64);
    out[64] = '\0';
}

/* ---- fixtures ---- */

/* Department A: BOM, CRLF, quoting, a blank line at the end. */
static const char CSV_A[] = "\xEF\xBB\xBFid,income,region\r\n"
                            "1,1200.50,north\r\n"
                            "2,-300.25,\"south, coast\"\r\n"
                            "3,\" 45.5 \",north\r\n"
                            "4,0,west\r\n"
                            "\r\n";
/* Department B: other column order, LF, no final line end. */
static const char CSV_B[] = "region,income,id\nnorth,-0.75,5\neast,100,6";
static const char CSV_C[] = "income\n7\n-2\n"; /* scale 0 */

static int suite_init(void)
{
    if (mkdtemp(workdir) == NULL || chdir(workdir) != 0)
        return 1;
    if (spit("pw", "correct horse\n") || spit("pw.bad", "wrong horse\n") || chmod("pw", 0600) ||
        chmod("pw.bad", 0600) || spit("a.csv", CSV_A) || spit("b.csv", CSV_B) ||
        spit("c.csv", CSV_C))
        return 1;
    if (RUN("keygen", "--public", "k1.pub", "--private", "k1.key") != 0)
        return 1;
    if (RUN("keygen", "--public", "k2.pub", "--private", "k2.key", "--passphrase-file", "pw",
            "--comment", "sealed test key") != 0)
        return 1;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int suite_cleanup(void)
{
    free(g_out);
    free(g_err);
    if (chdir("/") != 0)
        return 1;
    return nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- help and usage ---- */

typedef struct {
    const char *cmd[2];
    const char *opts;
} help_case;

static const help_case HELP[] = {
    {{"keygen", NULL},
     "--bits --textbook --public --private --passphrase-file --ask-passphrase --comment --force"},
    {{"encrypt", NULL}, "--key --in --column --scale --max-abs --group --threads --out"},
    {{"aggregate", NULL}, "--key --out --rescale"},
    {{"decrypt", NULL}, "--key --passphrase-file --ask-passphrase --out --threads"},
    {{"key", "show"}, ""},
    {{"key", "import"}, "--from --public --private --out --passphrase-file --ask-passphrase"},
    {{"key", "export"}, "--to --out --public --passphrase-file --ask-passphrase --force"},
    {{"ciphertext", "import"}, "--from --key --in --max-abs --out"},
    {{"ciphertext", "export"}, "--to --key --in --out"},
};
#define NHELP (sizeof HELP / sizeof HELP[0])

static void test_every_command_has_help(void)
{
    for (size_t i = 0; i < NHELP; i++) {
        const help_case *h = &HELP[i];
        char usage[64];
        snprintf(usage, sizeof usage, "Usage: veil %s%s%s ", h->cmd[0], h->cmd[1] ? " " : "",
                 h->cmd[1] ? h->cmd[1] : "");
        if (h->cmd[1])
            EXPECT(0, h->cmd[0], h->cmd[1], "--help");
        else
            EXPECT(0, h->cmd[0], "--help");
        CU_ASSERT(has(g_out, usage));
        CU_ASSERT(has(g_out, "Options:"));
        CU_ASSERT(has(g_out, "Example:\n  veil "));
        CU_ASSERT(has(g_out, "--help"));
        char opts[256];
        snprintf(opts, sizeof opts, "%s", h->opts);
        for (char *o = strtok(opts, " "); o != NULL; o = strtok(NULL, " ")) {
            char want[64];
            snprintf(want, sizeof want, "\n  %s", o);
            CU_ASSERT(has(g_out, want));
        }
        /* `veil help <cmd>` prints the same text. */
        char *first = strdup(g_out);
        if (h->cmd[1])
            EXPECT(0, "help", h->cmd[0], h->cmd[1]);
        else
            EXPECT(0, "help", h->cmd[0]);
        CU_ASSERT(same(g_out, first));
        free(first);
    }
}

static void test_top_level_help_and_version(void)
{
    EXPECT(0, "--help");
    CU_ASSERT(has(g_out, "Usage: veil <command>"));
    for (size_t i = 0; i < NHELP; i++) {
        char name[64];
        snprintf(name, sizeof name, "\n  %s%s%s ", HELP[i].cmd[0], HELP[i].cmd[1] ? " " : "",
                 HELP[i].cmd[1] ? HELP[i].cmd[1] : "");
        CU_ASSERT(has(g_out, name));
    }
    CU_ASSERT(has(g_out, "Exit status: 0 success, 1 internal error, 2 usage error, 3 bad input"));
    EXPECT(0, "--version");
    CU_ASSERT(strncmp(g_out, "veil ", 5) == 0);
    CU_ASSERT(has(g_out, "."));
    EXPECT(2, "frobnicate");
    CU_ASSERT(has(g_err, "veil: error: unknown command 'frobnicate'"));
    EXPECT(2, "--frobnicate");
    CU_ASSERT(has(g_err, "veil: error: unknown option '--frobnicate'"));
    EXPECT(2, "key");
    CU_ASSERT(has(g_err, "veil key: error: expected one of: 'show' 'import' 'export'"));
    EXPECT(2, "key", "burn");
    EXPECT(2, "help", "frobnicate");
    CU_ASSERT_EQUAL(RUN(NULL), 2);
}

static void test_unknown_option_is_usage_error(void)
{
    for (size_t i = 0; i < NHELP; i++) {
        const help_case *h = &HELP[i];
        if (h->cmd[1])
            EXPECT(2, h->cmd[0], h->cmd[1], "--bogus", "x");
        else
            EXPECT(2, h->cmd[0], "--bogus", "x");
        CU_ASSERT(has(g_err, "error: unknown option '--bogus'"));
        CU_ASSERT(has(g_err, "Try 'veil "));
        CU_ASSERT_STRING_EQUAL(g_out, "");
    }
    EXPECT(2, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income");
    CU_ASSERT(has(g_err, "veil encrypt: error: missing option --out FILE.vcol"));
    EXPECT(2, "encrypt", "--key", "k1.pub", "--key", "k1.pub", "--in", "a.csv", "--column",
           "income", "--out", "x.vcol");
    CU_ASSERT(has(g_err, "option --key given twice"));
    EXPECT(2, "encrypt", "--key");
    CU_ASSERT(has(g_err, "option --key needs a value (PUB)"));
    EXPECT(2, "keygen", "--textbook=yes", "--public", "x.pub", "--private", "x.key");
    CU_ASSERT(has(g_err, "option --textbook takes no value"));
    EXPECT(2, "decrypt", "--key", "k1.key");
    CU_ASSERT(has(g_err, "missing arguments; usage: --key PRIV"));
    EXPECT(2, "key", "show", "k1.pub", "k2.pub");
    CU_ASSERT(has(g_err, "too many arguments"));
    EXPECT(2, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income", "--scale", "257",
           "--out", "x.vcol");
    CU_ASSERT(has(g_err, "--scale: 257 is out of range (0 to 256)"));
    EXPECT(2, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income", "--max-abs",
           "1e700", "--out", "x.vcol");
    CU_ASSERT(has(g_err, "--max-abs 1e700 at scale 0 is too large for a 2048-bit key"));
    EXPECT(2, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income", "--group",
           "income", "--out", "x.vcol");
    CU_ASSERT(has(g_err, "--group and --column name the same column"));
    CU_ASSERT(!exists("x.vcol") && !exists("x.pub") && !exists("x.key"));
}

/* docs/cli.md carries the reference generated by `veil help --markdown`
 * between two markers; the test fails when the two drift apart. */
static void test_docs_match_help(void)
{
    EXPECT(0, "help", "--markdown");
    CU_ASSERT(has(g_out, "### veil encrypt\n"));
    char *doc = slurp(VEIL_SOURCE_DIR "/docs/cli.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    /* The markers are whole lines. */
    const char *begin = "\n<!-- BEGIN GENERATED: veil help --markdown -->\n";
    char *b = strstr(doc, begin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    b += strlen(begin);
    char *e = strstr(b, "\n<!-- END GENERATED -->\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    e[1] = '\0';
    int ok = strcmp(b, g_out) == 0;
    if (!ok)
        fprintf(stderr, "\n  docs/cli.md is out of date with `veil help --markdown`; "
                        "regenerate it as its introduction shows\n");
    CU_ASSERT(ok);
    free(doc);
}

/* ---- keys ---- */

static void test_keygen_writes_pair_and_refuses_overwrite(void)
{
    struct stat sb;
    CU_ASSERT_EQUAL(stat("k1.key", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    EXPECT(0, "keygen", "--public", "t.pub", "--private", "t.key", "--textbook", "--comment",
           "textbook key");
    CU_ASSERT(has(g_out, "public key:  t.pub\nprivate key: t.key\nfingerprint: "));
    CU_ASSERT(has(g_err, "warning: t.key is not protected by a passphrase"));
    char fp[65];
    memcpy(fp, strstr(g_out, "fingerprint: ") + 13, 64);
    fp[64] = '\0';
    EXPECT(0, "key", "show", "t.pub");
    CU_ASSERT(has(g_out, "kind:        public key\n"));
    CU_ASSERT(has(g_out, "bits:        2048\n"));
    CU_ASSERT(has(g_out, "randomizer:  textbook (r^n)\n"));
    CU_ASSERT(has(g_out, fp));
    CU_ASSERT(has(g_out, "comment:     textbook key\n"));
    EXPECT(2, "keygen", "--public", "t.pub", "--private", "t2.key");
    CU_ASSERT(has(g_err, "veil keygen: error: t.pub already exists; use --force to replace it"));
    CU_ASSERT(!exists("t2.key"));
    EXPECT(0, "keygen", "--public", "t.pub", "--private", "t.key", "--force");
    CU_ASSERT_PTR_NULL(strstr(g_out, fp)); /* a new key */
    EXPECT(2, "keygen", "--public", "t.pub", "--private", "t.pub", "--force");
    CU_ASSERT(has(g_err, "--public and --private name the same file"));
    EXPECT(2, "keygen", "--bits", "1024", "--public", "u.pub", "--private", "u.key");
    CU_ASSERT(has(g_err, "--bits 1024 is not supported (2048, 3072, 4096)"));
    EXPECT(2, "keygen", "--public", "u.pub", "--private", "u.key", "--ask-passphrase");
    CU_ASSERT(has(g_err, "--ask-passphrase: no terminal"));
    CU_ASSERT(!exists("u.pub") && !exists("u.key"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

/* Output to a FIFO (or a device such as /dev/null) is written straight
 * through and never replaced by a rename; files veil must replace
 * atomically (keys) refuse such a target. A FIFO stands in for /dev/null so
 * a failure cannot damage the machine. */
static void test_output_to_fifo_is_written_through(void)
{
    unlink("out.fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo("out.fifo", 0600), 0);
    pid_t reader = fork();
    CU_ASSERT_FATAL(reader >= 0);
    if (reader == 0) {
        alarm(30);
        int in = open("out.fifo", O_RDONLY);
        int out = open("fifo.copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char buf[4096];
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(0);
    }
    EXPECT(0, "gen", "--department", "tax", "--rows", "50", "--seed", "3", "--out", "out.fifo");
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(reader, &status, 0), reader);
    EXPECT(0, "gen", "--department", "tax", "--rows", "50", "--seed", "3", "--out", "direct.csv");
    char *via = slurp("fifo.copy"), *direct = slurp("direct.csv");
    CU_ASSERT(via != NULL && direct != NULL && strlen(direct) > 0 && strcmp(via, direct) == 0);
    free(via);
    free(direct);
    struct stat sb;
    CU_ASSERT(lstat("out.fifo", &sb) == 0 && S_ISFIFO(sb.st_mode));
    EXPECT(2, "keygen", "--public", "out.fifo", "--private", "fifo.key", "--force", "--textbook");
    CU_ASSERT(has(g_err, "out.fifo exists and is not a regular file"));
    CU_ASSERT(lstat("out.fifo", &sb) == 0 && S_ISFIFO(sb.st_mode));
    CU_ASSERT(!exists("fifo.key"));
    unlink("out.fifo");
    unlink("fifo.copy");
    unlink("direct.csv");
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void test_key_show_sealed_needs_no_passphrase(void)
{
    EXPECT(0, "key", "show", "k2.key");
    CU_ASSERT(has(g_out, "kind:        private key (protected by a passphrase)\n"));
    CU_ASSERT(has(g_out, "randomizer:  DJN (Damgard-Jurik-Nielsen)\n"));
    CU_ASSERT(has(g_out, "comment:     sealed test key\n"));
    read_fingerprint(fp1, "k1.pub");
    read_fingerprint(fp2, "k2.key");
    char fp2pub[65];
    read_fingerprint(fp2pub, "k2.pub");
    CU_ASSERT_STRING_EQUAL(fp2, fp2pub);
    CU_ASSERT(strcmp(fp1, fp2) != 0);
    EXPECT(5, "key", "show", "missing.key");
    CU_ASSERT(has(g_err, "veil key show: error: "));
    CU_ASSERT(has(g_err, "missing.key"));
    spit("junk.key", "this is not a key\n");
    EXPECT(3, "key", "show", "junk.key");
    CU_ASSERT(has(g_err, "junk.key"));
}

/* ---- encrypt / aggregate / decrypt ---- */

static void test_column_round_trip(void)
{
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income", "--scale", "2",
           "--out", "ua.vcol");
    CU_ASSERT_STRING_EQUAL(g_out, "");
    struct stat sb;
    CU_ASSERT_EQUAL(stat("ua.vcol", &sb), 0);
    EXPECT(0, "decrypt", "--key", "k1.key", "ua.vcol");
    CU_ASSERT(same(g_out, "income\n1200.50\n-300.25\n45.50\n0.00\n"));
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "a.csv", "--column", "income", "--scale", "2",
           "--group", "region", "--threads", "1", "--out", "ga.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "--out", "ga.csv", "ga.vcol");
    CU_ASSERT_STRING_EQUAL(g_out, "");
    char *csv = slurp("ga.csv");
    CU_ASSERT(same(csv, "income,region\n1200.50,north\n-300.25,\"south, coast\"\n45.50,north\n"
                        "0.00,west\n"));
    free(csv);
    CU_ASSERT_EQUAL(stat("ga.csv", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "b.csv", "--column", "income", "--scale", "2",
           "--out", "ub.vcol");
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "b.csv", "--column", "income", "--scale", "2",
           "--group", "region", "--out", "gb.vcol");
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "c.csv", "--column", "income", "--out",
           "uc.vcol");
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void test_aggregate_ungrouped(void)
{
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "uab.vct", "ua.vcol", "ub.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "uab.vct");
    CU_ASSERT(same(g_out, "count,sum\n6,1045.00\n"));
    /* Hierarchical: a result summed with a column again. */
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "ua.vct", "ua.vcol");
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "uab2.vct", "ua.vct", "ub.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "uab2.vct");
    CU_ASSERT(same(g_out, "count,sum\n6,1045.00\n"));
    /* The private key file also serves as the public key. */
    EXPECT(0, "aggregate", "--key", "k1.key", "--out", "ub.vct", "ub.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "ub.vct");
    CU_ASSERT(same(g_out, "count,sum\n2,99.25\n"));
}

static void test_aggregate_grouped(void)
{
    static const char want[] = "group,count,sum\n"
                               "east,1,100.00\n"
                               "north,3,1245.25\n"
                               "\"south, coast\",1,-300.25\n"
                               "west,1,0.00\n"
                               "*total*,6,1045.00\n";
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "gab.vct", "ga.vcol", "gb.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "gab.vct");
    CU_ASSERT(same(g_out, want));
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "ga.vct", "ga.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "ga.vct");
    CU_ASSERT(same(g_out, "group,count,sum\nnorth,2,1246.00\n\"south, coast\",1,-300.25\n"
                          "west,1,0.00\n*total*,4,945.75\n"));
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "gb.vct", "gb.vcol");
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "gab2.vct", "ga.vct", "gb.vct");
    EXPECT(0, "decrypt", "--key", "k1.key", "gab2.vct");
    CU_ASSERT(same(g_out, want));
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "gab3.vct", "ga.vct", "gb.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "gab3.vct");
    CU_ASSERT(same(g_out, want));
}

/* Columns longer than the block that `veil aggregate` multiplies together
 * (4096 values): three labels interleaved over 9000 rows sum exactly as
 * computed here, and a sum that outgrows the plaintext space is refused at
 * the exact value, inside the second block. */
static void test_aggregate_many_values(void)
{
    enum { ROWS = 9000, OVER = 5000 };
    static const char *const labels[3] = {"b", "a", "c"};
    long long sum[3] = {0, 0, 0}, count[3] = {0, 0, 0}, total = 0;
    size_t cap = 32 * ROWS, len = 0;
    char *csv = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    len += (size_t)snprintf(csv + len, cap - len, "v,g\n");
    unsigned x = 12345;
    for (int i = 0; i < ROWS; i++) {
        x = x * 1103515245u + 12345u;
        long long v = (long long)(x >> 8) % 2000001 - 1000000;
        int g = (int)((x >> 4) % 3);
        sum[g] += v;
        count[g]++;
        total += v;
        len += (size_t)snprintf(csv + len, cap - len, "%lld,%s\n", v, labels[g]);
    }
    CU_ASSERT_EQUAL_FATAL(spit("many.csv", csv), 0);
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "many.csv", "--column", "v", "--group", "g",
           "--out", "many.vcol");
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "many.vct", "many.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "many.vct");
    len = (size_t)snprintf(csv, cap, "group,count,sum\n");
    for (int g = 0; g < 3; g++) { /* a, b, c: labels[1], [0], [2] */
        int k = g == 0 ? 1 : g == 1 ? 0 : 2;
        len +=
            (size_t)snprintf(csv + len, cap - len, "%s,%lld,%lld\n", labels[k], count[k], sum[k]);
    }
    snprintf(csv + len, cap - len, "*total*,%d,%lld\n", ROWS, total);
    CU_ASSERT(same(g_out, csv));

    /* --max-abs (n/3 - 1) / 5000: 5000 ones fit, the 5001st does not. */
    veil_err err;
    veil_paillier_pub *pk = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_pub_load(&pk, "k1.pub", &err), VEIL_OK);
    mpz_t b;
    mpz_init(b);
    veil_paillier_pub_max_int(b, pk);
    mpz_fdiv_q_ui(b, b, OVER);
    char *bound = mpz_get_str(NULL, 10, b);
    mpz_clear(b);
    veil_paillier_pub_free(pk);
    len = (size_t)snprintf(csv, cap, "v\n");
    for (int i = 0; i < 6000; i++)
        len += (size_t)snprintf(csv + len, cap - len, "1\n");
    CU_ASSERT_EQUAL_FATAL(spit("ones.csv", csv), 0);
    EXPECT(0, "encrypt", "--key", "k1.pub", "--in", "ones.csv", "--column", "v", "--max-abs", bound,
           "--out", "ones.vcol");
    EXPECT(4, "aggregate", "--key", "k1.pub", "--out", "ones.vct", "ones.vcol");
    CU_ASSERT(has(g_err, "veil aggregate: error: ones.vcol: value 5001: overflow: the sum could "
                         "exceed the 2048-bit key's plaintext space"));
    CU_ASSERT_EQUAL(access("ones.vct", F_OK), -1);
    free(bound);
    free(csv);
}

/* Replaces the at-th occurrence (1-based) of from[0..len) in path by
 * to[0..len) and re-signs the file: the trailer (the last 48 bytes: tag,
 * length, count, digest) holds BLAKE2b-256 of everything before it
 * (docs/formats.md). 0 on success. */
static int patch_column(const char *path, const uint8_t *from, const uint8_t *to, size_t len,
                        unsigned at)
{
    size_t size = 0;
    char *buf = slurp_n(path, &size);
    int rc = -1;
    if (buf == NULL || size < 48 + len || buf[size - 48] != 'T')
        goto done;
    for (size_t i = 0, seen = 0; i + len <= size - 48; i++) {
        if (memcmp(buf + i, from, len) == 0 && ++seen == at) {
            memcpy(buf + i, to, len);
            rc = 0;
            break;
        }
    }
    if (rc == 0)
        rc = crypto_generichash((uint8_t *)buf + size - 32, 32, (const uint8_t *)buf, size - 48,
                                NULL, 0);
    if (rc == 0) {
        FILE *f = fopen(path, "wb");
        rc = f != NULL && fwrite(buf, 1, size, f) == size && fclose(f) == 0 ? 0 : -1;
    }
done:
    free(buf);
    return rc;
}

/* A ciphertext that shares a factor with n (c - (c mod p)) deep inside a
 * column file: `veil aggregate` tests gcd(c, n) = 1 once per product of a
 * run and must still name the exact value, in the first block and in the
 * second. The writer refuses such a value, so the file is patched. */
static void test_aggregate_names_non_invertible_value(void)
{
    veil_err err;
    veil_paillier_priv *sk = NULL;
    CU_ASSERT_EQUAL_FATAL(veil_priv_load(&sk, "k1.key", NULL, 0, &err), VEIL_OK);
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    mpz_t c, x, bound;
    mpz_inits(c, x, bound, NULL);
    mpz_set_ui(bound, 1);
    CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c, pk, bound, &err), VEIL_OK);
    veil_paillier_priv_p(x, sk);
    mpz_mod(x, c, x);
    mpz_sub(x, c, x); /* a multiple of p just below c: same length */
    size_t clen = 0, xlen = 0;
    uint8_t *cb = mpz_export(NULL, &clen, 1, 1, 1, 0, c);
    uint8_t *xb = mpz_export(NULL, &xlen, 1, 1, 1, 0, x);
    CU_ASSERT_EQUAL_FATAL(clen, xlen);
    for (int bad = 0; bad < 2; bad++) {
        const char *path = bad ? "nonunit2.vcol" : "nonunit1.vcol";
        unsigned at = bad ? 4500 : 17; /* in the second block, in the first */
        veil_column_writer *w = NULL;
        CU_ASSERT_EQUAL_FATAL(veil_column_writer_open(&w, path, pk, "v", 0, bound, NULL, &err),
                              VEIL_OK);
        for (unsigned i = 1; i <= 10000; i++)
            CU_ASSERT_EQUAL_FATAL(veil_column_writer_append(w, c, NULL, &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_column_writer_commit(w, &err), VEIL_OK);
        EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "unit.vct", path);
        CU_ASSERT_EQUAL_FATAL(patch_column(path, cb, xb, clen, at), 0);
        EXPECT(4, "aggregate", "--key", "k1.pub", "--out", "nonunit.vct", path);
        char want[160];
        snprintf(want, sizeof want,
                 "veil aggregate: error: %s: value %u: ciphertext is not invertible (shares a "
                 "factor with n)",
                 path, at);
        CU_ASSERT(has(g_err, want));
        CU_ASSERT_EQUAL(access("nonunit.vct", F_OK), -1);
    }
    free(cb);
    free(xb);
    mpz_clears(c, x, bound, NULL);
    veil_paillier_priv_free(sk);
}

static void test_aggregate_refuses_mixed_inputs(void)
{
    EXPECT(2, "aggregate", "--key", "k1.pub", "--out", "mix.vct", "ua.vcol", "gb.vcol");
    CU_ASSERT(has(g_err, "gb.vcol is grouped (by region) but ua.vcol is not"));
    EXPECT(2, "aggregate", "--key", "k1.pub", "--out", "mix.vct", "ua.vcol", "uc.vcol");
    CU_ASSERT(has(g_err, "scales differ: ua.vcol has scale 2 but uc.vcol has scale 0; give "
                         "--rescale 2"));
    EXPECT(2, "aggregate", "--key", "k1.pub", "--rescale", "1", "--out", "mix.vct", "ua.vcol",
           "uc.vcol");
    CU_ASSERT(has(g_err, "ua.vcol has scale 2, above --rescale 1"));
    EXPECT(2, "aggregate", "--key", "k1.pub", "--out", "mix.vct", "ua.vcol", "ua.vcol");
    CU_ASSERT(has(g_err, "ua.vcol is given twice"));
    EXPECT(2, "aggregate", "--key", "k1.pub", "--out", "mix.vct", "a.csv");
    CU_ASSERT(has(g_err, "a.csv: expected a column file (.vcol) or a result file (.vct)"));
    EXPECT(2, "aggregate", "--key", "k1.pub", "--out", "ua.vcol", "ua.vcol");
    CU_ASSERT(has(g_err, "ua.vcol is both input and output"));
    CU_ASSERT(!exists("mix.vct"));
    /* --rescale brings both to scale 3. */
    EXPECT(0, "aggregate", "--key", "k1.pub", "--rescale", "3", "--out", "mix.vct", "ua.vcol",
           "uc.vcol");
    EXPECT(0, "decrypt", "--key", "k1.key", "mix.vct");
    CU_ASSERT(same(g_out, "count,sum\n6,950.750\n"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

/* ---- bad CSV input ---- */

typedef struct {
    const char *csv;
    const char *group; /* --group, or NULL */
    const char *message;
} bad_csv;

static const bad_csv BAD[] = {
    {"id,income,region\n1,5,x\n2,12a,y\n", NULL,
     "bad.csv:3: column \"income\": '12a' is not a decimal number"},
    {"id,income,region\n1,5,x\n2,6\n", NULL, "bad.csv:3: row has 2 fields but the header has 3"},
    {"id,income,region\n1,5,x,extra\n", NULL, "bad.csv:2: row has more fields than the header (3)"},
    {"id,income,region\n1,1.234,x\n", NULL,
     "bad.csv:2: column \"income\": '1.234' has 3 decimal places but the scale is 2"},
    {"id,income,region\n1,2000,x\n", NULL,
     "bad.csv:2: column \"income\": '2000' is beyond --max-abs 1000"},
    {"id,income,region\n1,,x\n", NULL,
     "bad.csv:2: column \"income\": empty value where a number is required"},
    {"id,income,id\n1,2,3\n", NULL, "bad.csv:1: duplicate column name \"id\" (columns 1 and 3)"},
    {"id,income,region\n1,2,x\n\n3,4,y\n", NULL,
     "bad.csv:3: blank line (blank lines are allowed only at the end of the file)"},
    {"id,income,region\n1,2,\"x\n3,4,y\n", NULL,
     "bad.csv:4: the file ends inside a quoted field (opened on line 2)"},
    {"id,income,region\n1,2,x\"y\n", NULL, "bad.csv:2:6: malformed CSV"},
    {"", NULL, "bad.csv: no header row: the file is empty"},
    {"id,income,region\n1,2,\n", "region",
     "bad.csv:2: group column \"region\": the label is empty"},
    {"id,income,region\n1,2,*total*\n", "region",
     "bad.csv:2: group column \"region\": the label is '*total*', which veil reserves"},
    {"id,income,region\n1,2,x\n", "regon",
     "group column \"regon\" not found in bad.csv; columns are: id, income, region"},
};

static void test_bad_csv_is_input_error_and_writes_nothing(void)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        spit("bad.csv", BAD[i].csv);
        if (BAD[i].group)
            EXPECT(3, "encrypt", "--key", "k1.pub", "--in", "bad.csv", "--column", "income",
                   "--scale", "2", "--max-abs", "1000", "--group", BAD[i].group, "--out",
                   "bad.vcol");
        else
            EXPECT(3, "encrypt", "--key", "k1.pub", "--in", "bad.csv", "--column", "income",
                   "--scale", "2", "--max-abs", "1000", "--out", "bad.vcol");
        CU_ASSERT(has(g_err, "veil encrypt: error: "));
        CU_ASSERT(has(g_err, BAD[i].message));
        CU_ASSERT(!exists("bad.vcol"));
        CU_ASSERT_EQUAL(leftovers(), 0);
    }
    spit("bad.csv", "id,income,region\n1,5,x\n");
    EXPECT(3, "encrypt", "--key", "k1.pub", "--in", "bad.csv", "--column", "incme", "--out",
           "bad.vcol");
    CU_ASSERT(has(g_err, "veil encrypt: error: column \"incme\" not found in bad.csv; columns "
                         "are: id, income, region\n"));
    CU_ASSERT(!exists("bad.vcol"));
    /* A bad row after many good ones: found before anything is encrypted. */
    FILE *f = fopen("late.csv", "w");
    fprintf(f, "n\n");
    for (int i = 0; i < 5000; i++)
        fprintf(f, "%d\n", i);
    fprintf(f, "oops\n");
    fclose(f);
    EXPECT(3, "encrypt", "--key", "k1.pub", "--in", "late.csv", "--column", "n", "--out",
           "late.vcol");
    CU_ASSERT(has(g_err, "late.csv:5002: column \"n\": 'oops' is not a decimal number"));
    CU_ASSERT(!exists("late.vcol"));
    EXPECT(5, "encrypt", "--key", "k1.pub", "--in", "nothere.csv", "--column", "n", "--out",
           "x.vcol");
    CU_ASSERT(has(g_err, "nothere.csv"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

/* ---- keys, passphrases, corrupt files ---- */

static void test_passphrases(void)
{
    CU_ASSERT_EQUAL(RUN("encrypt", "--key", "k2.pub", "--in", "c.csv", "--column", "income",
                        "--out", "u2.vcol"),
                    0);
    EXPECT(0, "aggregate", "--key", "k2.pub", "--out", "u2.vct", "u2.vcol");
    EXPECT(4, "decrypt", "--key", "k2.key", "--passphrase-file", "pw.bad", "--out", "u2.csv",
           "u2.vct");
    CU_ASSERT(has(g_err, "veil decrypt: error: k2.key: wrong passphrase or corrupted key file"));
    CU_ASSERT(!exists("u2.csv"));
    EXPECT(2, "decrypt", "--key", "k2.key", "u2.vct");
    CU_ASSERT(has(g_err, "k2.key is protected by a passphrase: give --passphrase-file F or "
                         "--ask-passphrase"));
    EXPECT(2, "decrypt", "--key", "k2.key", "--ask-passphrase", "u2.vct");
    CU_ASSERT(has(g_err, "no terminal"));
    EXPECT(2, "decrypt", "--key", "k2.pub", "u2.vct");
    CU_ASSERT(has(g_err, "k2.pub is a public key; a private key is needed"));
    EXPECT(0, "decrypt", "--key", "k2.key", "--passphrase-file", "pw", "--out", "u2.csv", "u2.vct");
    char *csv = slurp("u2.csv");
    CU_ASSERT(same(csv, "count,sum\n2,5\n"));
    free(csv);
    /* A passphrase file others can read still works, with a warning. */
    spit("pw.open", "correct horse");
    chmod("pw.open", 0644);
    EXPECT(0, "decrypt", "--key", "k2.key", "--passphrase-file", "pw.open", "u2.vct");
    CU_ASSERT(has(g_err, "warning: pw.open can be read by other users"));
    CU_ASSERT(same(g_out, "count,sum\n2,5\n"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void test_wrong_key_names_both_fingerprints(void)
{
    char a[17], b[17];
    memcpy(a, fp1, 16);
    memcpy(b, fp2, 16);
    a[16] = b[16] = '\0';
    EXPECT(4, "aggregate", "--key", "k2.pub", "--out", "wrong.vct", "ua.vcol");
    CU_ASSERT(has(g_err, "ua.vcol"));
    CU_ASSERT(has(g_err, a));
    CU_ASSERT(has(g_err, b));
    CU_ASSERT(!exists("wrong.vct"));
    EXPECT(4, "decrypt", "--key", "k2.key", "--passphrase-file", "pw", "--out", "wrong.csv",
           "uab.vct");
    CU_ASSERT(has(g_err, a));
    CU_ASSERT(has(g_err, b));
    CU_ASSERT(!exists("wrong.csv"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void truncate_copy(const char *from, const char *to, long cut)
{
    char *data = NULL;
    FILE *f = fopen(from, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n);
    CU_ASSERT_EQUAL_FATAL(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    f = fopen(to, "wb");
    fwrite(data, 1, (size_t)(n - cut), f);
    fclose(f);
    free(data);
}

static void test_truncated_column_file(void)
{
    truncate_copy("ua.vcol", "trunc.vcol", 40);
    EXPECT(3, "aggregate", "--key", "k1.pub", "--out", "trunc.vct", "trunc.vcol");
    CU_ASSERT(has(g_err, "veil aggregate: error: trunc.vcol"));
    CU_ASSERT(!exists("trunc.vct"));
    EXPECT(3, "decrypt", "--key", "k1.key", "--out", "trunc.csv", "trunc.vcol");
    CU_ASSERT(has(g_err, "trunc.vcol"));
    CU_ASSERT(!exists("trunc.csv"));
    truncate_copy("uab.vct", "trunc.vct", 10);
    EXPECT(3, "decrypt", "--key", "k1.key", "--out", "trunc.csv", "trunc.vct");
    CU_ASSERT(has(g_err, "trunc.vct"));
    CU_ASSERT(!exists("trunc.csv"));
    EXPECT(2, "decrypt", "--key", "k1.key", "a.csv");
    CU_ASSERT(has(g_err, "a.csv: expected a result file (.vct) or a column file (.vcol)"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

/* ---- python-paillier ---- */

static void test_phe_key_round_trip(void)
{
    EXPECT(0, "key", "export", "--to", "phe", "--out", "k1.pub.json", "k1.pub");
    char *json = slurp("k1.pub.json");
    CU_ASSERT(has(json, "\"kty\": \"DAJ\""));
    free(json);
    EXPECT(0, "key", "import", "--from", "phe", "--public", "--out", "k1phe.pub", "k1.pub.json");
    CU_ASSERT(has(g_out, fp1));
    EXPECT(2, "key", "import", "--from", "phe", "--public", "--out", "k1phe.pub", "k1.pub.json");
    CU_ASSERT(has(g_err, "k1phe.pub already exists; use --force to replace it"));
    EXPECT(0, "key", "show", "k1phe.pub");
    CU_ASSERT(has(g_out, "randomizer:  textbook (r^n)\n"));
    CU_ASSERT(has(g_out, fp1));

    /* A sealed private key: the passphrase opens it, the JSON is 0600. */
    EXPECT(0, "key", "export", "--to", "phe", "--passphrase-file", "pw", "--out", "k2.json",
           "k2.key");
    struct stat sb;
    CU_ASSERT_EQUAL(stat("k2.json", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    EXPECT(4, "key", "export", "--to", "phe", "--passphrase-file", "pw.bad", "--out", "k2b.json",
           "k2.key");
    CU_ASSERT(!exists("k2b.json"));
    EXPECT(0, "key", "export", "--to", "phe", "--public", "--out", "k2pub.json", "k2.key");
    CU_ASSERT_EQUAL(stat("k2pub.json", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0644);
    EXPECT(0, "key", "import", "--from", "phe", "--private", "--out", "k2phe.key", "k2.json");
    CU_ASSERT(has(g_out, fp2));
    CU_ASSERT_EQUAL(stat("k2phe.key", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    EXPECT(0, "decrypt", "--key", "k2phe.key", "u2.vct");
    CU_ASSERT(same(g_out, "count,sum\n2,5\n"));
    EXPECT(2, "key", "import", "--from", "phe", "--public", "--private", "--out", "z.key",
           "k2.json");
    CU_ASSERT(has(g_err, "give exactly one of --public and --private"));
    EXPECT(2, "key", "import", "--from", "seal", "--public", "--out", "z.key", "k2.json");
    CU_ASSERT(has(g_err, "--from seal: the only format is phe"));
    spit("broken.json", "{\"kty\": \"DAJ\"");
    EXPECT(3, "key", "import", "--from", "phe", "--public", "--out", "z.key", "broken.json");
    CU_ASSERT(has(g_err, "broken.json"));
    CU_ASSERT(!exists("z.key"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void test_phe_ciphertext_round_trip_and_overflow(void)
{
    EXPECT(0, "aggregate", "--key", "k1.pub", "--out", "uc.vct", "uc.vcol");
    EXPECT(0, "ciphertext", "export", "--to", "phe", "--key", "k1.pub", "--in", "uc.vct", "--out",
           "uc.json");
    char *json = slurp("uc.json");
    CU_ASSERT(has(json, "\"v\": \""));
    CU_ASSERT(has(json, "\"e\": 0"));
    free(json);
    EXPECT(0, "ciphertext", "import", "--from", "phe", "--key", "k1.pub", "--in", "uc.json",
           "--max-abs", "100", "--out", "uc2.vct");
    EXPECT(0, "decrypt", "--key", "k1.key", "uc2.vct");
    CU_ASSERT(same(g_out, "count,sum\n1,5\n"));
    /* A bound the value breaks: decrypt reports overflow. */
    EXPECT(0, "ciphertext", "import", "--from", "phe", "--key", "k1.pub", "--in", "uc.json",
           "--max-abs", "4", "--out", "uc3.vct");
    EXPECT(4, "decrypt", "--key", "k1.key", "--out", "uc3.csv", "uc3.vct");
    CU_ASSERT(has(g_err, "veil decrypt: error: uc3.vct: item 1: overflow"));
    CU_ASSERT(!exists("uc3.csv"));
    /* A phe number carries no key fingerprint; malformed JSON is refused. */
    spit("uc4.json", "{\"v\": \"12\", \"e\": 0.5}");
    EXPECT(3, "ciphertext", "import", "--from", "phe", "--key", "k1.pub", "--in", "uc4.json",
           "--out", "uc4.vct");
    CU_ASSERT(has(g_err, "veil ciphertext import: error: uc4.json"));
    CU_ASSERT(!exists("uc4.vct"));
    /* Grouped results export all values, with a warning about labels. */
    EXPECT(0, "ciphertext", "export", "--to", "phe", "--key", "k1.pub", "--in", "gab.vct", "--out",
           "gab.json");
    CU_ASSERT(has(g_err, "warning: gab.vct is grouped"));
    EXPECT(0, "ciphertext", "import", "--from", "phe", "--key", "k1.pub", "--in", "gab.json",
           "--max-abs", "1e6", "--out", "gab2.vct");
    EXPECT(0, "decrypt", "--key", "k1.key", "gab2.vct");
    /* e = -2 read back as base 16: scale 8 mantissas times 5^8 (exact). */
    CU_ASSERT(has(g_out, "count,sum\n1,39.06250000\n"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

/* ---- ledger ---- */

static void test_ledger_init_and_show(void)
{
    EXPECT(0, "ledger", "init", "--dataset", "tax", "--budget", "1", "--out", "tax.ledger");
    CU_ASSERT(same(g_out, "wrote tax.ledger (dataset tax, budget 1, mode 0600)\n"));
    struct stat sb;
    CU_ASSERT_EQUAL(stat("tax.ledger", &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    EXPECT(0, "ledger", "show", "tax.ledger");
    CU_ASSERT(same(g_out, "dataset:   tax\nbudget:    1\nspent:     0\nremaining: 1\n"
                          "spends:    0\n"));
    EXPECT(0, "ledger", "show", "--json", "tax.ledger");
    CU_ASSERT(has(g_out, "\"remaining\": \"1\""));
    /* An existing ledger is kept without --force. */
    EXPECT(2, "ledger", "init", "--dataset", "tax", "--budget", "2", "--out", "tax.ledger");
    CU_ASSERT(same(g_err, "veil ledger init: error: tax.ledger already exists; use --force to "
                          "replace it (its spends are lost)\nTry 'veil ledger init --help'.\n"));
    EXPECT(0, "ledger", "init", "--dataset", "tax", "--budget", "2.5", "--out", "tax.ledger",
           "--force");
    EXPECT(0, "ledger", "show", "tax.ledger");
    CU_ASSERT(has(g_out, "budget:    2.5\n"));
    /* Bad budgets are usage errors and write nothing. */
    EXPECT(2, "ledger", "init", "--dataset", "tax", "--budget", "0", "--out", "zero.ledger");
    CU_ASSERT(has(g_err, "veil ledger init: error: the budget must be greater than 0"));
    EXPECT(2, "ledger", "init", "--dataset", "tax", "--budget", "0.1234567", "--out",
           "zero.ledger");
    CU_ASSERT(has(g_err, "--budget: epsilon '0.1234567' has more than 6 decimal places"));
    EXPECT(2, "ledger", "init", "--dataset", "tax office", "--budget", "1", "--out", "zero.ledger");
    CU_ASSERT(has(g_err, "dataset 'tax office' must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    CU_ASSERT(!exists("zero.ledger"));
    /* A malformed or group-readable ledger is refused by show. */
    spit("bad.ledger", "{\"format\":\"veil-ledger-v1\",\"dataset\":\"tax\",\"budget\":\"1\","
                       "\"spends\":[],\"x\":1}");
    chmod("bad.ledger", 0600);
    EXPECT(3, "ledger", "show", "bad.ledger");
    CU_ASSERT(has(g_err, "veil ledger show: error: bad.ledger: \"x\": unknown field"));
    chmod("tax.ledger", 0644);
    EXPECT(2, "ledger", "show", "tax.ledger");
    CU_ASSERT(has(g_err, "run chmod 600 tax.ledger"));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("cli", suite_init, suite_cleanup);
    if (s == NULL) {
        CU_cleanup_registry();
        return 1;
    }
    CU_add_test(s, "every command has --help", test_every_command_has_help);
    CU_add_test(s, "top-level help, version, unknown command", test_top_level_help_and_version);
    CU_add_test(s, "unknown option is a usage error", test_unknown_option_is_usage_error);
    CU_add_test(s, "docs/cli.md matches --help", test_docs_match_help);
    CU_add_test(s, "keygen writes a pair, refuses overwrite",
                test_keygen_writes_pair_and_refuses_overwrite);
    CU_add_test(s, "key show needs no passphrase", test_key_show_sealed_needs_no_passphrase);
    CU_add_test(s, "column round trip", test_column_round_trip);
    CU_add_test(s, "aggregate ungrouped", test_aggregate_ungrouped);
    CU_add_test(s, "aggregate grouped", test_aggregate_grouped);
    CU_add_test(s, "aggregate more values than a block", test_aggregate_many_values);
    CU_add_test(s, "aggregate names a non-invertible value",
                test_aggregate_names_non_invertible_value);
    CU_add_test(s, "aggregate refuses mixed inputs", test_aggregate_refuses_mixed_inputs);
    CU_add_test(s, "bad CSV is input error and writes nothing",
                test_bad_csv_is_input_error_and_writes_nothing);
    CU_add_test(s, "passphrases", test_passphrases);
    CU_add_test(s, "output to a FIFO is written through, never replaced",
                test_output_to_fifo_is_written_through);
    CU_add_test(s, "wrong key names both fingerprints", test_wrong_key_names_both_fingerprints);
    CU_add_test(s, "truncated column file", test_truncated_column_file);
    CU_add_test(s, "phe key round trip", test_phe_key_round_trip);
    CU_add_test(s, "phe ciphertext round trip and overflow",
                test_phe_ciphertext_round_trip_and_overflow);
    CU_add_test(s, "ledger init and show", test_ledger_init_and_show);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
