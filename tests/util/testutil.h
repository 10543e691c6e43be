/* Shared helpers for the CUnit suites. */
#ifndef VEIL_TESTUTIL_H
#define VEIL_TESTUTIL_H

#include <CUnit/Basic.h>
#include <gmp.h>
#include <stddef.h>

#include "veil/error.h"
#include "veil/paillier.h"

/* The fixed 2048-bit key of tests/util/kat_paillier.h (textbook, or with a
 * fresh DJN base when djn != 0). Caller frees. */
veil_paillier_priv *tu_fixed_key(int djn);
/* A fresh random key. Caller frees. */
veil_paillier_priv *tu_random_key(unsigned bits, int djn);

/* Asserts that a call failed with `code` and a message containing `needle`. */
#define TU_ASSERT_ERR(st, err, want_code, needle)                                                  \
    do {                                                                                           \
        CU_ASSERT_EQUAL((st), (want_code));                                                        \
        CU_ASSERT_EQUAL((err).code, (want_code));                                                  \
        if (strstr((err).msg, (needle)) == NULL) {                                                 \
            fprintf(stderr, "\n  expected message containing \"%s\", got \"%s\"\n", (needle),      \
                    (err).msg);                                                                    \
            CU_FAIL("error message mismatch");                                                     \
        }                                                                                          \
    } while (0)

/* A fresh private temporary directory (malloc'd path), and its removal. */
char *tu_tempdir(void);
void tu_rmtree(const char *path);
/* Joins dir and name into a malloc'd path. */
char *tu_path(const char *dir, const char *name);

/* Writes / reads a whole file. read returns malloc'd data (NUL-terminated)
 * and its length, or NULL. */
int tu_write_file(const char *path, const void *data, size_t len);
char *tu_read_file(const char *path, size_t *len);

/* Runs `cmd` through /bin/sh; stdout and stderr captured into malloc'd
 * strings when the pointers are not NULL. Returns the exit status, or -1. */
int tu_run(const char *cmd, char **out, char **err);

/* Registers the tests of one suite and runs everything registered; returns
 * the process exit status (non-zero when any test failed). */
typedef struct {
    const char *name;
    void (*fn)(void);
} tu_test;
int tu_main(const char *suite, int (*init)(void), int (*cleanup)(void), const tu_test *tests);

#endif
