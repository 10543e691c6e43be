/* Fuzzes the secure-sum session parser: any input gives a session whose
 * invariants hold, or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/sum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_sum_session *s = NULL;
    veil_err err;
    if (veil_sum_session_parse(&s, (const char *)data, size, "fuzz", &err) != VEIL_OK) {
        if (s != NULL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    unsigned inputs = 0, computes = 0, outputs = 0;
    for (size_t i = 0; i < s->nparties; i++) {
        const veil_sum_party *p = &s->parties[i];
        if (!veil_net_id_ok(p->id, VEIL_PARTY_ID_MAX) || veil_sum_session_find(s, p->id) != p)
            abort();
        inputs += (p->roles & VEIL_SUM_ROLE_INPUT) != 0;
        outputs += (p->roles & VEIL_SUM_ROLE_OUTPUT) != 0;
        if (p->roles & VEIL_SUM_ROLE_COMPUTE) {
            if (p->index != ++computes)
                abort();
        }
        if ((p->roles & (VEIL_SUM_ROLE_COMPUTE | VEIL_SUM_ROLE_OUTPUT)) && s->peers[i].port == 0)
            abort();
    }
    if (inputs != s->n_input || computes != s->n_compute || outputs != 1 || inputs == 0 ||
        computes < 2 || s->threshold < 2 || s->threshold > computes || s->length == 0 ||
        s->length > VEIL_SUM_LENGTH_MAX || s->scale > VEIL_SUM_SCALE_MAX ||
        !(s->parties[s->output].roles & VEIL_SUM_ROLE_OUTPUT))
        abort();
    veil_sum_session_free(s);
    return 0;
}
