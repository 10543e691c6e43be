/* Feeds arbitrary bytes to the threshold file parsers: key parameters,
 * shares (clear, and sealed to a fixed department key pair so sealed inputs
 * reach crypto_box_seal_open) and partial decryption files. Seeds in
 * fuzz/corpus/threshold/ are made with the real writers and the test key of
 * tests/util/threshold_testkey.h, sealed to the key pair derived below. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/rand.h"
#include "veil/threshold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    if (!ready) {
        static const uint8_t seed[crypto_box_SEEDBYTES] = "veil fuzz department key seed!";
        if (veil_crypto_init() != 0 || crypto_box_seed_keypair(pk, sk, seed) != 0)
            return 0;
        ready = 1;
    }
    veil_err err;
    veil_threshold_key *k = NULL;
    if (veil_threshold_key_parse(&k, data, size, "fuzz.tkey", &err) == VEIL_OK)
        veil_threshold_key_free(k);
    veil_threshold_share *s = NULL;
    if (veil_threshold_share_parse(&s, data, size, "fuzz.tsh", pk, sk, &err) == VEIL_OK)
        veil_threshold_share_free(s);
    veil_threshold_partials p;
    if (veil_threshold_partials_parse(&p, data, size, "fuzz.vpd", &err) == VEIL_OK)
        veil_threshold_partials_clear(&p);
    return 0;
}
