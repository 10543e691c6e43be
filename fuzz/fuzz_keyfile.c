/* Feeds arbitrary bytes to the key file parsers (public and private, with a
 * fixed passphrase so sealed inputs reach Argon2id and the secretbox). */
#include <stddef.h>
#include <stdint.h>

#include "veil/keyfile.h"
#include "veil/rand.h"

#define PASS "fuzz passphrase"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (veil_crypto_init() != 0)
            return 0;
        ready = 1;
    }
    veil_err err;
    veil_paillier_pub *pk = NULL;
    if (veil_pub_parse(&pk, data, size, "fuzz.key", &err) == VEIL_OK)
        veil_paillier_pub_free(pk);
    veil_paillier_priv *sk = NULL;
    if (veil_priv_parse(&sk, data, size, "fuzz.key", PASS, sizeof PASS - 1, &err) == VEIL_OK)
        veil_paillier_priv_free(sk);
    return 0;
}
