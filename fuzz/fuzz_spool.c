/* Feeds arbitrary bytes to the file exchange's message-file check
 * (veil_spool_open), as the file tax sent education as message 3 of
 * session census-2024; then packs the same bytes as a payload and checks
 * that it opens back to exactly them. The keys come from fixed seeds, so
 * the checked-in seeds (fuzz/corpus/spool/) are valid files and files
 * altered in each way the checks name. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/framing.h"
#include "../net/spool.h"

#define FRAME_MAX 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static veil_spool_keys k_tax, k_edu;

static void keys_once(void)
{
    static int done;
    if (done)
        return;
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 1, sizeof seed);
    if (sodium_init() < 0 || veil_spool_keys_from_seed(&k_tax, seed) != 0)
        abort();
    memset(seed, 2, sizeof seed);
    if (veil_spool_keys_from_seed(&k_edu, seed) != 0)
        abort();
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys_once();
    veil_err err;
    const veil_net_expect want = {"tax (spool file x.msg)", "census-2024", "tax", 3};
    uint32_t type = 0;
    uint8_t *payload = NULL;
    size_t len = 0;
    veil_status st = veil_spool_open(data, size, &k_edu, "education", k_tax.sign_pk, &want,
                                     FRAME_MAX, &type, &payload, &len, &err);
    if (st == VEIL_OK) {
        if ((len == 0) != (payload == NULL))
            abort();
        free(payload);
    } else if (payload != NULL || len != 0 || type != 0 ||
               strncmp(err.msg, want.who, strlen(want.who)) != 0) {
        abort();
    }

    /* Round trip: any payload that fits opens back byte for byte. */
    if (size > FRAME_MAX - VEIL_NET_ENVELOPE_OVERHEAD)
        return 0;
    uint8_t *file = NULL;
    size_t flen = 0;
    uint32_t t = size > 0 ? data[0] : 7;
    if (veil_spool_pack(&file, &flen, &k_tax, "education", k_edu.sign_pk, "census-2024", "tax", 3,
                        t, data, size, FRAME_MAX, &err) != VEIL_OK)
        abort();
    if (veil_spool_open(file, flen, &k_edu, "education", k_tax.sign_pk, &want, FRAME_MAX, &type,
                        &payload, &len, &err) != VEIL_OK ||
        type != t || len != size || (size > 0 && memcmp(payload, data, size) != 0))
        abort();
    free(payload);
    veil_secret_free(file, flen);
    return 0;
}
