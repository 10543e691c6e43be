/* Arithmetic in GF(p), p = 2^127 - 1 (a Mersenne prime): reduction is a
 * shift and an add. Elements are unsigned __int128 kept in [0, p). */
#include <string.h>

#include "fe_inline.h"
#include "veil/share.h"

#define P_ VEIL_FE_P

veil_fe veil_fe_p(void)
{
    return P_;
}

veil_fe veil_fe_add(veil_fe a, veil_fe b)
{
    return fe_add(a, b);
}

veil_fe veil_fe_sub(veil_fe a, veil_fe b)
{
    return fe_sub(a, b);
}

veil_fe veil_fe_neg(veil_fe a)
{
    return a == 0 ? 0 : P_ - a;
}

veil_fe veil_fe_mul(veil_fe a, veil_fe b)
{
    return fe_mul(a, b);
}

veil_fe veil_fe_inv(veil_fe a)
{
    /* a^(p-2); p - 2 = 2^127 - 3 = 0b111...1101 (127 bits). */
    veil_fe r = 1, base = a;
    veil_fe e = P_ - 2;
    while (e != 0) {
        if (e & 1)
            r = fe_mul(r, base);
        base = fe_mul(base, base);
        e >>= 1;
    }
    return r;
}

veil_fe veil_fe_from_i64(int64_t v)
{
    if (v >= 0)
        return (veil_fe)(uint64_t)v;
    return P_ - (veil_fe)(-(uint64_t)v);
}

__int128 veil_fe_to_i128(veil_fe x)
{
    if (x <= (P_ - 1) / 2)
        return (__int128)x;
    return -(__int128)(P_ - x);
}

void veil_fe_store(uint8_t out[VEIL_FE_BYTES], veil_fe x)
{
    fe_store(out, x);
}

veil_status veil_fe_load(veil_fe *x, const uint8_t in[VEIL_FE_BYTES], veil_err *err)
{
    veil_fe v = fe_load_raw(in);
    if (v >= P_)
        return veil_err_set(err, VEIL_ERR_INPUT, "field element out of range (not below 2^127-1)");
    *x = v;
    return VEIL_OK;
}

void veil_fe_store_vec(uint8_t *out, const veil_fe *x, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, x, n * VEIL_FE_BYTES); /* the in-memory form is the wire form */
#else
    for (size_t i = 0; i < n; i++)
        fe_store(out + i * VEIL_FE_BYTES, x[i]);
#endif
}

size_t veil_fe_load_vec(veil_fe *x, const uint8_t *in, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(x, in, n * VEIL_FE_BYTES);
#else
    for (size_t i = 0; i < n; i++)
        x[i] = fe_load_raw(in + i * VEIL_FE_BYTES);
#endif
    /* Branch-free scan, then find the first bad one only if needed. */
    veil_fe bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= x[i] >= P_;
    if (!bad)
        return n;
    for (size_t i = 0; i < n; i++)
        if (x[i] >= P_)
            return i;
    return n;
}

void veil_fe_vec_add(veil_fe *dst, const veil_fe *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = fe_add(dst[i], src[i]);
}

size_t veil_i128_format(char *buf, size_t size, __int128 v, unsigned scale)
{
    char digits[48 + 256];
    size_t nd = 0;
    unsigned __int128 m = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[nd++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m != 0 && nd < sizeof digits);
    while (nd <= scale && nd < sizeof digits)
        digits[nd++] = '0';
    size_t o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = nd; i > 0; i--) {
        if (i == scale && scale > 0 && o + 1 < size)
            buf[o++] = '.';
        if (o + 1 < size)
            buf[o++] = digits[i - 1];
    }
    if (size > 0)
        buf[o] = '\0';
    return o;
}
