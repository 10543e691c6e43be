/* Masking: keep some characters of a value and replace the rest, either by
 * a preset for a known kind of identifier (each preset validates its input
 * first: an invalid value is an error, never passed through) or by a plain
 * keep-first / keep-last rule counted in UTF-8 code points.
 *
 * Presets (output for a valid input):
 *   resident-id  first 6 characters (region) and 12 '*':  110105************
 *   mobile       11 digits starting 13..19; first 3 and last 4:  138****5678
 *   name         valid UTF-8; first code point, then one '*' per further code
 *                point:  张三丰 -> 张**; a one-character name becomes "*"
 *   address      valid UTF-8; the prefix through the last 省/市/区/县 among the
 *                first 12 code points (else the first 3 code points), then a
 *                fixed "****" that does not reveal the length
 *   email        first character of the local part, "***", '@' and the domain:
 *                zhangsan@example.cn -> z***@example.cn
 *   bank-card    12..19 digits (Luhn checked when asked); first 6 and last 4,
 *                '*' between:  6222021234567890123 -> 622202*********0123 */
#ifndef VEIL_MASK_H
#define VEIL_MASK_H

#include <stddef.h>

#include "veil/deid_buf.h"
#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_MASK_PLAIN = 0, /* keep_first / keep_last */
    VEIL_MASK_RESIDENT_ID,
    VEIL_MASK_MOBILE,
    VEIL_MASK_NAME,
    VEIL_MASK_ADDRESS,
    VEIL_MASK_EMAIL,
    VEIL_MASK_BANK_CARD
} veil_mask_preset;

typedef struct {
    veil_mask_preset preset;
    unsigned keep_first, keep_last; /* code points, VEIL_MASK_PLAIN only */
    char mask_char;                 /* printable ASCII, '*' by default */
    int luhn;                       /* bank-card: require a valid Luhn digit */
} veil_mask_spec;

/* 0 and the preset for a name ("resident-id", "mobile", ...), else -1. */
int veil_mask_preset_parse(veil_mask_preset *out, const char *name);
const char *veil_mask_preset_name(veil_mask_preset p);

/* Appends the masked value to out (which is reset first). Invalid input is
 * VEIL_ERR_INPUT with a reason; the caller adds file, line and column. */
veil_status veil_mask_apply(veil_deid_buf *out, const veil_mask_spec *m, const char *in, size_t len,
                            veil_err *err) VEIL_WUR;

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or values above
 * U+10FFFF); else 0 and *bad (if not NULL) is the offset of the bad byte. */
int veil_utf8_valid(const char *s, size_t len, size_t *bad);
/* Length in bytes of the code point starting at s (valid UTF-8 assumed). */
size_t veil_utf8_step(const char *s);
/* Luhn check over a string of digits. */
int veil_luhn_valid(const char *digits, size_t len);
/* Mainland mobile number: 11 digits, '1' then '3'..'9'. */
int veil_mobile_valid(const char *s, size_t len);
/* Simple e-mail shape: one '@', non-empty local part, a dotted domain,
 * printable ASCII without spaces. */
int veil_email_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
