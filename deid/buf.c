/* Growable cell buffer shared by the transformations. */
#include "veil/deid_buf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX ((size_t)64 << 20) /* no cell ever needs more */

void veil_deid_buf_reset(veil_deid_buf *b)
{
    b->len = 0;
    if (b->s != NULL)
        b->s[0] = '\0';
}

void veil_deid_buf_free(veil_deid_buf *b)
{
    if (b->s != NULL) {
        sodium_memzero(b->s, b->cap);
        free(b->s);
    }
    b->s = NULL;
    b->len = b->cap = 0;
}

static veil_status reserve(veil_deid_buf *b, size_t extra, veil_err *err)
{
    if (extra > BUF_MAX || b->len + extra > BUF_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "a transformed cell would exceed %zu bytes",
                            BUF_MAX);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return VEIL_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    /* grow by copy so old contents can be wiped (cells may be secret) */
    char *s = malloc(cap);
    if (s == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (b->s != NULL) {
        memcpy(s, b->s, b->len);
        sodium_memzero(b->s, b->cap);
        free(b->s);
    }
    s[b->len] = '\0';
    b->s = s;
    b->cap = cap;
    return VEIL_OK;
}

veil_status veil_deid_buf_append(veil_deid_buf *b, const void *data, size_t len, veil_err *err)
{
    veil_status st = reserve(b, len, err);
    if (st != VEIL_OK)
        return st;
    if (len > 0)
        memcpy(b->s + b->len, data, len);
    b->len += len;
    b->s[b->len] = '\0';
    return VEIL_OK;
}

veil_status veil_deid_buf_set(veil_deid_buf *b, const void *data, size_t len, veil_err *err)
{
    veil_deid_buf_reset(b);
    return veil_deid_buf_append(b, data, len, err);
}

veil_status veil_deid_buf_repeat(veil_deid_buf *b, char c, size_t count, veil_err *err)
{
    veil_status st = reserve(b, count, err);
    if (st != VEIL_OK)
        return st;
    memset(b->s + b->len, c, count);
    b->len += count;
    b->s[b->len] = '\0';
    return VEIL_OK;
}
