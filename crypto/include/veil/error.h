/* veil error reporting: every library call that can fail returns a
 * veil_status and fills a veil_err with a message that names the file,
 * line or field involved. Libraries never print and never exit. */
#ifndef VEIL_ERROR_H
#define VEIL_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VEIL_WUR          __attribute__((warn_unused_result))
#define VEIL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VEIL_WUR
#define VEIL_PRINTF(a, b)
#endif

/* Status codes. The `veil` command maps them one-to-one onto exit codes. */
typedef enum {
    VEIL_OK = 0,
    VEIL_ERR_INTERNAL = 1, /* a bug or an impossible state */
    VEIL_ERR_USAGE = 2,    /* the caller passed bad arguments or options */
    VEIL_ERR_INPUT = 3,    /* malformed input: file, CSV cell, JSON, message */
    VEIL_ERR_CRYPTO = 4,   /* a cryptographic check failed: wrong key,
                              ciphertext out of range, bad passphrase,
                              decrypted value overflowed its bound */
    VEIL_ERR_IO = 5,       /* the operating system refused a read or write */
    VEIL_ERR_NOMEM = 6     /* out of memory */
} veil_status;

#define VEIL_ERR_MSG_MAX 512

typedef struct {
    veil_status code;
    char msg[VEIL_ERR_MSG_MAX];
} veil_err;

/* Resets err to VEIL_OK with an empty message. err may be NULL. */
void veil_err_clear(veil_err *err);

/* Sets err (if not NULL) and returns code, so callers can write
 * `return veil_err_set(err, VEIL_ERR_INPUT, "%s:%zu: ...", file, line);` */
veil_status veil_err_set(veil_err *err, veil_status code, const char *fmt, ...) VEIL_PRINTF(3, 4);

/* Prepends "prefix: " to an existing message (e.g. a file name), keeping
 * the code. Returns err->code. */
veil_status veil_err_prefix(veil_err *err, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* Short English name of a status ("bad input", "crypto failure", ...). */
const char *veil_status_name(veil_status code);

#ifdef __cplusplus
}
#endif
#endif
