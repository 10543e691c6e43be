/* Inline GF(2^127 - 1) arithmetic for the hot loops of share.c; field.c
 * exports the same operations as functions (veil/share.h). Internal, not
 * installed. Elements are unsigned __int128 kept in [0, p). */
#ifndef VEIL_FE_INLINE_H
#define VEIL_FE_INLINE_H

#include <stdint.h>
#include <string.h>

#include "veil/share.h"

#define VEIL_FE_P ((((veil_fe)1) << 127) - 1)

/* x < 2^128 -> x mod p: 2^127 = 1 (mod p), so fold bit 127 onto bit 0. */
static inline veil_fe fe_reduce128(veil_fe x)
{
    x = (x & VEIL_FE_P) + (x >> 127); /* <= 2^127 = p + 1 */
    return x >= VEIL_FE_P ? x - VEIL_FE_P : x;
}

static inline veil_fe fe_add(veil_fe a, veil_fe b)
{
    return fe_reduce128(a + b); /* a + b < 2^128 */
}

static inline veil_fe fe_sub(veil_fe a, veil_fe b)
{
    return a >= b ? a - b : a + (VEIL_FE_P - b);
}

static inline veil_fe fe_mul(veil_fe a, veil_fe b)
{
    /* 254-bit product hi * 2^128 + lo from four 64x64 -> 128 products.
     * With 2^127 = 1 (mod p) it is (lo mod 2^127) + (lo >> 127) + 2 hi:
     * below 2^127 + 1 + 2^127 - 2 since hi < 2^126, so one fold of that
     * 128-bit sum finishes the reduction. */
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
    uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    veil_fe p00 = (veil_fe)a0 * b0, p01 = (veil_fe)a0 * b1;
    veil_fe p10 = (veil_fe)a1 * b0, p11 = (veil_fe)a1 * b1;
    veil_fe mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;  /* < 3 * 2^64 */
    veil_fe lo = (veil_fe)(uint64_t)p00 | (mid << 64);          /* low 128 bits */
    veil_fe hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64); /* high bits, < 2^126 */
    return fe_reduce128((lo & VEIL_FE_P) + (lo >> 127) + (hi << 1));
}

/* 16 little-endian bytes <-> a 128-bit integer (no range check). */
static inline veil_fe fe_load_raw(const uint8_t *b)
{
    veil_fe v = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, b, sizeof v);
#else
    for (int i = VEIL_FE_BYTES - 1; i >= 0; i--)
        v = (v << 8) | b[i];
#endif
    return v;
}

static inline void fe_store(uint8_t *b, veil_fe x)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b, &x, sizeof x);
#else
    for (int i = 0; i < VEIL_FE_BYTES; i++)
        b[i] = (uint8_t)(x >> (8 * i));
#endif
}

/* 16 little-endian bytes with bit 127 cleared, reduced mod p: how a key
 * stream block becomes an element of a seeded share. */
static inline veil_fe fe_from_stream(const uint8_t *b)
{
    veil_fe v = fe_load_raw(b) & VEIL_FE_P;
    return v == VEIL_FE_P ? 0 : v;
}

#endif
