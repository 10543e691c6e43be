/* Fuzzes the hierarchy parser (and through it the ';' table reader): any
 * input must give a hierarchy whose codes are consistent, or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/hierarchy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_hierarchy *h = NULL;
    veil_err err;
    if (veil_hierarchy_parse(&h, (const char *)data, size, "fuzz", &err) != VEIL_OK)
        return 0;
    unsigned L = veil_hierarchy_levels(h);
    size_t n0 = veil_hierarchy_size(h, 0);
    for (size_t v = 0; v < n0; v++) {
        const char *s = veil_hierarchy_label(h, 0, (uint32_t)v);
        for (unsigned l = 0; l + 1 < L; l++) {
            uint32_t c = veil_hierarchy_map(h, (uint32_t)v, l);
            if (veil_hierarchy_up(h, l, c) != veil_hierarchy_map(h, (uint32_t)v, l + 1))
                abort();
            if (veil_hierarchy_leaves(h, l, c) >
                veil_hierarchy_leaves(h, l + 1, veil_hierarchy_up(h, l, c)))
                abort();
        }
        (void)veil_hierarchy_generalize(h, s, L - 1);
    }
    veil_hierarchy_free(h);
    return 0;
}
