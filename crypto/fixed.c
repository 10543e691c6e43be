/* Exact parsing and formatting of signed fixed-point decimals. */
#include "veil/fixed.h"

#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

veil_status veil_fixed_parse(mpz_t out, const char *text, size_t len, unsigned scale, veil_err *err)
{
    if (scale > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "scale %u is larger than %d", scale,
                            VEIL_SCALE_MAX);
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1]))
        len--;
    if (len == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "empty value where a number is required");
    if (len > VEIL_FIXED_TEXT_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "number is longer than %d characters",
                            VEIL_FIXED_TEXT_MAX);

    /* digits: integer part then exactly `scale` fraction digits, padded. */
    char *digits = malloc(len + scale + 2);
    if (digits == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t i = 0, nd = 0, int_digits = 0, frac_digits = 0;
    int neg = 0, seen_point = 0;
    veil_status st = VEIL_OK;
    if (text[0] == '-' || text[0] == '+') {
        neg = text[0] == '-';
        i = 1;
    }
    for (; i < len; i++) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            digits[nd++] = c;
            if (seen_point)
                frac_digits++;
            else
                int_digits++;
        } else if (c == '.' && !seen_point) {
            seen_point = 1;
        } else {
            st = veil_err_set(err, VEIL_ERR_INPUT, "'%.*s' is not a decimal number",
                              (int)(len > 64 ? 64 : len), text);
            goto done;
        }
    }
    if (int_digits + frac_digits == 0) {
        st = veil_err_set(err, VEIL_ERR_INPUT, "'%.*s' is not a decimal number",
                          (int)(len > 64 ? 64 : len), text);
        goto done;
    }
    /* Trailing zeros beyond the scale are harmless ("1.50" at scale 1). */
    while (frac_digits > scale && digits[nd - 1] == '0') {
        nd--;
        frac_digits--;
    }
    if (frac_digits > scale) {
        st = veil_err_set(err, VEIL_ERR_INPUT,
                          "'%.*s' has %zu decimal places but the scale is %u (veil never rounds)",
                          (int)(len > 64 ? 64 : len), text, frac_digits, scale);
        goto done;
    }
    while (frac_digits < scale) {
        digits[nd++] = '0';
        frac_digits++;
    }
    digits[nd] = '\0';
    if (mpz_set_str(out, digits, 10) != 0) {
        st = veil_err_set(err, VEIL_ERR_INTERNAL, "could not convert '%s'", digits);
        goto done;
    }
    if (neg)
        mpz_neg(out, out);
done:
    free(digits);
    return st;
}

char *veil_fixed_format(const mpz_t v, unsigned scale)
{
    char *abs = mpz_get_str(NULL, 10, v);
    if (abs == NULL)
        return NULL;
    int neg = abs[0] == '-';
    const char *d = abs + neg;
    size_t nd = strlen(d);
    /* At least scale + 1 digits so there is an integer part. */
    size_t width = nd > scale ? nd : scale + 1;
    char *out = malloc(width + 3);
    if (out != NULL) {
        char *o = out;
        if (neg)
            *o++ = '-';
        size_t pad = width - nd;
        for (size_t k = 0; k < width; k++) {
            if (scale > 0 && k == width - scale)
                *o++ = '.';
            *o++ = k < pad ? '0' : d[k - pad];
        }
        *o = '\0';
    }
    void (*freefn)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &freefn);
    freefn(abs, strlen(abs) + 1);
    return out;
}

veil_status veil_fixed_rescale(mpz_t out, const mpz_t v, unsigned from, unsigned to, veil_err *err)
{
    if (from > VEIL_SCALE_MAX || to > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "scale is larger than %d", VEIL_SCALE_MAX);
    mpz_t p;
    mpz_init(p);
    if (to >= from) {
        mpz_ui_pow_ui(p, 10, to - from);
        mpz_mul(out, v, p);
        mpz_clear(p);
        return VEIL_OK;
    }
    mpz_ui_pow_ui(p, 10, from - to);
    if (!mpz_divisible_p(v, p)) {
        mpz_clear(p);
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "cannot lower the scale from %u to %u without rounding", from, to);
    }
    mpz_divexact(out, v, p);
    mpz_clear(p);
    return VEIL_OK;
}
