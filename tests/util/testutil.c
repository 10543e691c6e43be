/* Shared helpers for the CUnit suites. */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kat_paillier.h"
#include "veil/engine.h"
#include "veil/rand.h"

veil_paillier_priv *tu_fixed_key(int djn)
{
    mpz_t p, q;
    mpz_init_set_str(p, kat_p, 16);
    mpz_init_set_str(q, kat_q, 16);
    veil_paillier_priv *sk = NULL;
    veil_err err;
    if (veil_paillier_priv_new(&sk, p, q, NULL, djn, &err) != VEIL_OK) {
        fprintf(stderr, "fixed test key rejected: %s\n", err.msg);
        abort();
    }
    mpz_clears(p, q, NULL);
    return sk;
}

veil_paillier_priv *tu_random_key(unsigned bits, int djn)
{
    veil_paillier_priv *sk = NULL;
    veil_err err;
    if (veil_paillier_keygen(&sk, bits, djn, &err) != VEIL_OK) {
        fprintf(stderr, "keygen failed: %s\n", err.msg);
        abort();
    }
    return sk;
}

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/veil-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tu_rmtree(const char *path)
{
    if (path == NULL || strncmp(path, "/", 1) != 0 || strstr(path, "veil-test-") == NULL)
        return; /* refuse to delete anything we did not make */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

char *tu_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tu_run(const char *cmd, char **out, char **errout)
{
    char *dir = tu_tempdir();
    if (dir == NULL)
        return -1;
    char *o = tu_path(dir, "out"), *e = tu_path(dir, "err");
    size_t len = strlen(cmd) + strlen(o) + strlen(e) + 64;
    char *full = malloc(len);
    snprintf(full, len, "( %s ) >'%s' 2>'%s' </dev/null", cmd, o, e);
    int st = system(full);
    int rc = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    if (out)
        *out = tu_read_file(o, NULL);
    if (errout)
        *errout = tu_read_file(e, NULL);
    free(full);
    free(o);
    free(e);
    tu_rmtree(dir);
    free(dir);
    return rc;
}

int tu_main(const char *suite, int (*init)(void), int (*cleanup)(void), const tu_test *tests)
{
    veil_crypto_init();
    /* VEIL_ENGINE=scalar runs a suite with the IFMA engine switched off
     * (tests/CMakeLists.txt registers some suites both ways). */
    veil_engine e;
    if (veil_engine_parse(getenv("VEIL_ENGINE"), &e) != 0) {
        fprintf(stderr, "VEIL_ENGINE must be auto, ifma or scalar\n");
        return 2;
    }
    veil_engine_select(e);
    printf("%s: arithmetic engine %s\n", suite, veil_engine_name());
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(suite, init, cleanup);
    if (s == NULL)
        return 2;
    for (const tu_test *t = tests; t->name != NULL; t++)
        if (CU_add_test(s, t->name, t->fn) == NULL)
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned suite_failures = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return (failures || suite_failures) ? 1 : 0;
}
