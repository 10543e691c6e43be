/* Fuzzes the budget ledger parser (query/ledger.c). A ledger that parses
 * must satisfy what the spenders rely on: spends adding up to spent, no
 * more than the budget, and every epsilon and the budget greater than 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/disclosure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_ledger l;
    veil_err err;
    if (veil_ledger_parse(&l, (const char *)data, size, "fuzz.ledger", &err) != VEIL_OK)
        return 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < l.nspends; i++) {
        if (l.spends[i].epsilon == 0 || strlen(l.spends[i].time) != 20 ||
            strlen(l.spends[i].query) == 0)
            abort();
        sum += l.spends[i].epsilon;
    }
    if (l.budget == 0 || sum != l.spent || l.spent > l.budget || strlen(l.dataset) == 0)
        abort();
    veil_ledger_free(&l);
    return 0;
}
