/* Feeds arbitrary bytes to the share file reader (veil/sharefile.h):
 * every input must give a valid share or an error, never a crash or a
 * leak. Reading stops after a bounded number of elements, since a valid
 * seeded header may announce up to 2^34 of them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "veil/sharefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { CHUNK = 1000, MAX_ELEMENTS = 1 << 18 };
    static veil_fe buf[CHUNK];
    veil_err err;
    veil_sharefile_reader *r = NULL;
    if (veil_sharefile_reader_open_mem(&r, data, size, "fuzz.vsh", &err) != VEIL_OK)
        return 0;
    const veil_sharefile_info *in = veil_sharefile_reader_info(r);
    if (in->n < 2 || in->index < 1 || in->index > in->n || in->t > in->n)
        abort(); /* the reader promised a checked header */
    size_t got, total = 0;
    while (total < MAX_ELEMENTS &&
           veil_sharefile_reader_read(r, buf, CHUNK, &got, &err) == VEIL_OK && got > 0) {
        for (size_t i = 0; i < got; i++)
            if (buf[i] >= veil_fe_p())
                abort();
        total += got;
    }
    veil_sharefile_reader_close(r);
    return 0;
}
