/* Randomness from libsodium and zeroization of GMP integers. */
#include "veil/rand.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int veil_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void veil_rand_bytes(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

void veil_rand_mpz_bits(mpz_t out, unsigned bits)
{
    size_t nbytes = (bits + 7) / 8;
    if (nbytes == 0) {
        mpz_set_ui(out, 0);
        return;
    }
    uint8_t *buf = malloc(nbytes);
    if (buf == NULL)
        abort(); /* GMP itself aborts on allocation failure */
    randombytes_buf(buf, nbytes);
    unsigned extra = (unsigned)(nbytes * 8 - bits);
    buf[0] &= (uint8_t)(0xffu >> extra);
    mpz_import(out, nbytes, 1, 1, 1, 0, buf);
    sodium_memzero(buf, nbytes);
    free(buf);
}

void veil_rand_mpz_below(mpz_t out, const mpz_t bound)
{
    unsigned bits = (unsigned)mpz_sizeinbase(bound, 2);
    do {
        veil_rand_mpz_bits(out, bits);
    } while (mpz_cmp(out, bound) >= 0);
}

void veil_mpz_wipe(mpz_t x)
{
    if (x->_mp_alloc > 0 && x->_mp_d != NULL)
        sodium_memzero(x->_mp_d, (size_t)x->_mp_alloc * sizeof(mp_limb_t));
    mpz_clear(x);
}

static void *zalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        abort();
    return p;
}

static void *zrealloc(void *old, size_t old_size, size_t new_size)
{
    void *p = zalloc(new_size);
    memcpy(p, old, old_size < new_size ? old_size : new_size);
    sodium_memzero(old, old_size);
    free(old);
    return p;
}

static void zfree(void *p, size_t size)
{
    if (p == NULL)
        return;
    sodium_memzero(p, size);
    free(p);
}

void veil_gmp_use_zeroizing_allocator(void)
{
    mp_set_memory_functions(zalloc, zrealloc, zfree);
}
