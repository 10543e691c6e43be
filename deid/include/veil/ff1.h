/* FF1 format-preserving encryption (NIST SP 800-38G, section 5.1) with
 * AES-128/192/256 from OpenSSL, over any radix 2 .. 65536.
 *
 * A message is a string of n numerals, each in [0, radix). The ciphertext
 * has the same length and radix. NIST's limits apply: radix^n >= 1000000,
 * n >= 2; veil also caps n at VEIL_FF1_LEN_MAX and the tweak at
 * VEIL_FF1_TWEAK_MAX bytes. A veil_ff1 holds an AES context: use one object
 * per thread. */
#ifndef VEIL_FF1_H
#define VEIL_FF1_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_FF1_RADIX_MAX 65536u
#define VEIL_FF1_LEN_MAX   4096u
#define VEIL_FF1_TWEAK_MAX 4096u

typedef struct veil_ff1 veil_ff1;

/* key_len is 16, 24 or 32 (AES-128, -192, -256). The key is copied into
 * OpenSSL's context only. */
veil_status veil_ff1_new(veil_ff1 **out, const unsigned char *key, size_t key_len, unsigned radix,
                         veil_err *err) VEIL_WUR;
void veil_ff1_free(veil_ff1 *f);
unsigned veil_ff1_radix(const veil_ff1 *f);

/* out and in hold n numerals (out may equal in). */
veil_status veil_ff1_encrypt(uint16_t *out, veil_ff1 *f, const uint16_t *in, size_t n,
                             const unsigned char *tweak, size_t tweak_len, veil_err *err) VEIL_WUR;
veil_status veil_ff1_decrypt(uint16_t *out, veil_ff1 *f, const uint16_t *in, size_t n,
                             const unsigned char *tweak, size_t tweak_len, veil_err *err) VEIL_WUR;

/* The same on text: each byte of `in` must occur in `alphabet`, a string
 * of distinct bytes whose length is the radix (so radix <= 256 here).
 * out receives n bytes and a NUL. */
veil_status veil_ff1_encrypt_text(char *out, veil_ff1 *f, const char *alphabet, const char *in,
                                  size_t n, const unsigned char *tweak, size_t tweak_len,
                                  veil_err *err) VEIL_WUR;
veil_status veil_ff1_decrypt_text(char *out, veil_ff1 *f, const char *alphabet, const char *in,
                                  size_t n, const unsigned char *tweak, size_t tweak_len,
                                  veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
