/* Masking presets and the plain keep-first/keep-last rule. */
#include "veil/mask.h"

#include <string.h>

#include "veil/resident_id.h"

static const char *const NAMES[] = {"plain",   "resident-id", "mobile",   "name",
                                    "address", "email",       "bank-card"};

int veil_mask_preset_parse(veil_mask_preset *out, const char *name)
{
    for (int i = 1; i < (int)(sizeof NAMES / sizeof NAMES[0]); i++)
        if (strcmp(name, NAMES[i]) == 0) {
            *out = (veil_mask_preset)i;
            return 0;
        }
    return -1;
}

const char *veil_mask_preset_name(veil_mask_preset p)
{
    return (unsigned)p < sizeof NAMES / sizeof NAMES[0] ? NAMES[p] : "?";
}

int veil_utf8_valid(const char *str, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            goto fail;
        }
        if (i + n > len)
            goto fail;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto fail;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto fail;
        i += n;
    }
    return 1;
fail:
    if (bad != NULL)
        *bad = i;
    return 0;
}

size_t veil_utf8_step(const char *str)
{
    unsigned c = (unsigned char)str[0];
    return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return len > 0;
}

int veil_luhn_valid(const char *d, size_t len)
{
    if (!all_digits(d, len))
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned v = (unsigned)(d[len - 1 - i] - '0');
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

int veil_mobile_valid(const char *s, size_t len)
{
    return len == 11 && all_digits(s, len) && s[0] == '1' && s[1] >= '3';
}

int veil_email_valid(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (at == NULL || at == s || memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    const char *dom = at + 1;
    size_t dlen = len - (size_t)(dom - s);
    const char *dot = memchr(dom, '.', dlen);
    return dlen >= 3 && dot != NULL && dot != dom && dom[dlen - 1] != '.';
}

static veil_status need_utf8(const char *in, size_t len, veil_err *err)
{
    size_t bad = 0;
    if (!veil_utf8_valid(in, len, &bad))
        return veil_err_set(err, VEIL_ERR_INPUT, "invalid UTF-8 at byte %zu", bad + 1);
    return VEIL_OK;
}

static size_t count_cp(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += veil_utf8_step(s + i))
        n++;
    return n;
}

/* keep_first code points, mask the middle (one mask char each), keep_last. */
static veil_status plain(veil_deid_buf *out, const char *in, size_t len, size_t first, size_t last,
                         char mc, veil_err *err)
{
    size_t n = count_cp(in, len);
    if (first + last >= n)
        return veil_deid_buf_repeat(out, mc, n, err); /* nothing would be hidden */
    size_t i = 0, k = 0;
    veil_status st = VEIL_OK;
    for (; k < first; k++)
        i += veil_utf8_step(in + i);
    if ((st = veil_deid_buf_append(out, in, i, err)) != VEIL_OK)
        return st;
    for (; k < n - last; k++)
        i += veil_utf8_step(in + i);
    if ((st = veil_deid_buf_repeat(out, mc, n - first - last, err)) != VEIL_OK)
        return st;
    return veil_deid_buf_append(out, in + i, len - i, err);
}

static int admin_suffix(const char *p, size_t n)
{
    static const char *const S[] = {"省", "市", "区", "县"};
    for (int i = 0; i < 4; i++)
        if (n == 3 && memcmp(p, S[i], 3) == 0)
            return 1;
    return 0;
}

static veil_status address(veil_deid_buf *out, const char *in, size_t len, char mc, veil_err *err)
{
    size_t i = 0, keep = 0, first3 = 0;
    for (size_t k = 0; k < 12 && i < len; k++) {
        size_t n = veil_utf8_step(in + i);
        i += n;
        if (k < 3)
            first3 = i;
        if (admin_suffix(in + i - n, n))
            keep = i;
    }
    if (keep == 0)
        keep = first3;
    if (keep >= len && len > 0) { /* the whole address is a region name */
        keep = 0;
        for (size_t k = 0; k + 1 < count_cp(in, len); k++)
            keep += veil_utf8_step(in + keep);
    }
    veil_status st = veil_deid_buf_append(out, in, keep, err);
    return st != VEIL_OK ? st : veil_deid_buf_repeat(out, mc, 4, err);
}

veil_status veil_mask_apply(veil_deid_buf *out, const veil_mask_spec *m, const char *in, size_t len,
                            veil_err *err)
{
    char mc = m->mask_char ? m->mask_char : '*';
    veil_status st;
    char id[VEIL_RESIDENT_ID_LEN + 1];
    veil_deid_buf_reset(out);
    switch (m->preset) {
    case VEIL_MASK_PLAIN:
        if ((st = need_utf8(in, len, err)) != VEIL_OK)
            return st;
        return plain(out, in, len, m->keep_first, m->keep_last, mc, err);
    case VEIL_MASK_RESIDENT_ID:
        if ((st = veil_resident_id_validate(id, in, len, err)) != VEIL_OK)
            return st;
        if ((st = veil_deid_buf_append(out, id, 6, err)) != VEIL_OK)
            return st;
        return veil_deid_buf_repeat(out, mc, 12, err);
    case VEIL_MASK_MOBILE:
        if (!veil_mobile_valid(in, len))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "not a mobile number (11 digits starting 13..19)");
        return plain(out, in, len, 3, 4, mc, err);
    case VEIL_MASK_NAME:
        if ((st = need_utf8(in, len, err)) != VEIL_OK)
            return st;
        if (len == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "empty name");
        if (count_cp(in, len) == 1)
            return veil_deid_buf_repeat(out, mc, 1, err);
        return plain(out, in, len, 1, 0, mc, err);
    case VEIL_MASK_ADDRESS:
        if ((st = need_utf8(in, len, err)) != VEIL_OK)
            return st;
        if (len == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "empty address");
        return address(out, in, len, mc, err);
    case VEIL_MASK_EMAIL: {
        if (!veil_email_valid(in, len))
            return veil_err_set(err, VEIL_ERR_INPUT, "not an e-mail address");
        const char *at = memchr(in, '@', len);
        if ((st = veil_deid_buf_append(out, in, 1, err)) != VEIL_OK ||
            (st = veil_deid_buf_repeat(out, mc, 3, err)) != VEIL_OK)
            return st;
        return veil_deid_buf_append(out, at, len - (size_t)(at - in), err);
    }
    case VEIL_MASK_BANK_CARD:
        if (len < 12 || len > 19 || !all_digits(in, len))
            return veil_err_set(err, VEIL_ERR_INPUT, "not a bank card number (12..19 digits)");
        if (m->luhn && !veil_luhn_valid(in, len))
            return veil_err_set(err, VEIL_ERR_INPUT, "bank card number fails the Luhn check");
        return plain(out, in, len, 6, 4, mc, err);
    }
    return veil_err_set(err, VEIL_ERR_INTERNAL, "unknown mask preset %d", (int)m->preset);
}
