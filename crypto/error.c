/* Error messages for the veil libraries. */
#include "veil/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void veil_err_clear(veil_err *err)
{
    if (err == NULL)
        return;
    err->code = VEIL_OK;
    err->msg[0] = '\0';
}

veil_status veil_err_set(veil_err *err, veil_status code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

veil_status veil_err_prefix(veil_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return VEIL_ERR_INTERNAL;
    char buf[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    size_t used = strlen(buf);
    /* Append ": " and as much of the old message as fits. */
    size_t room = sizeof buf - 1 - used;
    size_t sep = room < 2 ? room : 2;
    memcpy(buf + used, ": ", sep);
    used += sep;
    room -= sep;
    size_t old = strlen(err->msg);
    if (old > room)
        old = room;
    memcpy(buf + used, err->msg, old);
    buf[used + old] = '\0';
    memcpy(err->msg, buf, sizeof buf);
    return err->code;
}

const char *veil_status_name(veil_status code)
{
    switch (code) {
    case VEIL_OK: return "success";
    case VEIL_ERR_INTERNAL: return "internal error";
    case VEIL_ERR_USAGE: return "usage error";
    case VEIL_ERR_INPUT: return "bad input";
    case VEIL_ERR_CRYPTO: return "crypto failure";
    case VEIL_ERR_IO: return "I/O error";
    case VEIL_ERR_NOMEM: return "out of memory";
    }
    return "unknown error";
}
