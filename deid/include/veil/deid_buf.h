/* A growable byte buffer for transformed cells: every de-identification
 * function appends its output here, so a row costs no allocation once the
 * buffers have grown to the longest cell. */
#ifndef VEIL_DEID_BUF_H
#define VEIL_DEID_BUF_H

#include <stddef.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *s; /* NUL-terminated when len > 0 or after any append */
    size_t len, cap;
} veil_deid_buf;

void veil_deid_buf_reset(veil_deid_buf *b);
/* Wipes and frees the storage. */
void veil_deid_buf_free(veil_deid_buf *b);
veil_status veil_deid_buf_append(veil_deid_buf *b, const void *data, size_t len,
                                 veil_err *err) VEIL_WUR;
veil_status veil_deid_buf_set(veil_deid_buf *b, const void *data, size_t len,
                              veil_err *err) VEIL_WUR;
veil_status veil_deid_buf_repeat(veil_deid_buf *b, char c, size_t count, veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
