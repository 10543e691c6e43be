/* Feeds arbitrary bytes to the channel's envelope decoder, checked against
 * fixed expectations (session, sender, sequence number), and, as text, to
 * the fingerprint parser. Seeds: valid envelopes of that session. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../net/envelope.h"
#include "veil/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_err err;
    const veil_net_expect want = {"tax (127.0.0.1:7001)", "census-2024", "tax", 3};
    uint32_t type = 0;
    uint8_t *payload = NULL;
    size_t len = 0;
    if (veil_net_envelope_open(data, size, &want, &type, &payload, &len, &err) == VEIL_OK) {
        /* An accepted envelope must say what was expected of it. */
        if ((len == 0) != (payload == NULL))
            abort();
        free(payload);
    } else if (payload != NULL || len != 0 || strncmp(err.msg, want.who, strlen(want.who)) != 0) {
        abort();
    }
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t fp[VEIL_FINGERPRINT_LEN];
    if (veil_fingerprint_parse(fp, text, &err) == VEIL_OK) {
        /* Whatever form was accepted, the canonical form parses back the same. */
        char canon[VEIL_FINGERPRINT_TEXT_LEN];
        uint8_t again[VEIL_FINGERPRINT_LEN];
        veil_fingerprint_format(fp, canon);
        if (veil_fingerprint_parse(again, canon, &err) != VEIL_OK ||
            memcmp(fp, again, sizeof fp) != 0)
            abort();
    }
    free(text);
    return 0;
}
