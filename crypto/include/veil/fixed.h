/* Signed fixed-point decimals with a declared scale.
 *
 * A value x at scale s is stored as the integer mantissa x * 10^s, so
 * "12345.67" at scale 2 is 1234567 and "-0.5" at scale 2 is -50. Parsing is
 * exact: a number with more decimal places than the scale is refused, never
 * rounded. */
#ifndef VEIL_FIXED_H
#define VEIL_FIXED_H

#include <gmp.h>
#include <stddef.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 256 = 4 * VEIL_PYJSON_EXP_MAX: python-paillier values imported exactly
 * (16^-64 = 5^256 / 10^256) must fit in ciphertext files. */
#define VEIL_SCALE_MAX 256
/* Longest decimal text accepted for one value (digits, sign and point). */
#define VEIL_FIXED_TEXT_MAX 4096

/* Parses `text` (len bytes, no NUL needed): optional sign, digits, optional
 * '.' and digits; surrounding spaces are allowed, nothing else (no
 * exponents, no thousands separators). Errors are VEIL_ERR_INPUT with a
 * message that quotes the text; the caller adds file/line/column. */
veil_status veil_fixed_parse(mpz_t out, const char *text, size_t len, unsigned scale,
                             veil_err *err) VEIL_WUR;

/* Formats a mantissa at `scale` as a decimal ("-12.50"). Returns a malloc'd
 * NUL-terminated string, or NULL when out of memory. */
char *veil_fixed_format(const mpz_t v, unsigned scale);

/* out = v rescaled from scale `from` to scale `to`. Going up multiplies by a
 * power of ten; going down is allowed only when exact (VEIL_ERR_INPUT
 * otherwise). */
veil_status veil_fixed_rescale(mpz_t out, const mpz_t v, unsigned from, unsigned to,
                               veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
