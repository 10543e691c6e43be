/* Open-addressing hash table from group label to encrypted sum. */
#include "groupmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct veil_groupmap {
    veil_group_entry *entries;
    size_t count, cap, max;
    size_t *slots; /* entry index + 1, 0 = empty; nslots is a power of two */
    size_t nslots;
    unsigned char key[crypto_shorthash_KEYBYTES];
};

static size_t slot_of(const veil_groupmap *m, const char *label, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)label, len, m->key);
    size_t v = 0;
    memcpy(&v, h, sizeof v < sizeof h ? sizeof v : sizeof h);
    return v & (m->nslots - 1);
}

static veil_status rehash(veil_groupmap *m, size_t nslots, veil_err *err)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    for (size_t i = 0; i < m->count; i++) {
        const char *label = m->entries[i].label;
        size_t s = slot_of(m, label, strlen(label));
        while (m->slots[s] != 0)
            s = (s + 1) & (nslots - 1);
        m->slots[s] = i + 1;
    }
    return VEIL_OK;
}

veil_status veil_groupmap_new(veil_groupmap **out, size_t max_groups, veil_err *err)
{
    *out = NULL;
    veil_groupmap *m = calloc(1, sizeof *m);
    if (m == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    m->max = max_groups;
    crypto_shorthash_keygen(m->key);
    veil_status st = rehash(m, 64, err);
    if (st != VEIL_OK) {
        free(m);
        return st;
    }
    *out = m;
    return VEIL_OK;
}

void veil_groupmap_free(veil_groupmap *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->entries[i].label);
        veil_enc_clear(&m->entries[i].sum);
    }
    free(m->entries);
    free(m->slots);
    free(m);
}

static veil_status insert(veil_groupmap *m, size_t slot, const char *label, size_t len,
                          const veil_enc *v, veil_err *err)
{
    if (m->count >= m->max)
        return veil_err_set(err, VEIL_ERR_INPUT, "more than %zu groups", m->max);
    if (m->count == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        veil_group_entry *e = realloc(m->entries, cap * sizeof *e);
        if (e == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        m->entries = e;
        m->cap = cap;
    }
    veil_group_entry *e = &m->entries[m->count];
    e->label = malloc(len + 1);
    if (e->label == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    memcpy(e->label, label, len + 1);
    veil_enc_init(&e->sum);
    veil_enc_set(&e->sum, v);
    m->slots[slot] = ++m->count;
    if (2 * m->count > m->nslots)
        return rehash(m, 2 * m->nslots, err);
    return VEIL_OK;
}

veil_status veil_groupmap_add(veil_groupmap *m, const veil_paillier_pub *pk, const char *label,
                              const veil_enc *v, veil_err *err)
{
    size_t len = strlen(label);
    size_t s = slot_of(m, label, len);
    while (m->slots[s] != 0) {
        veil_group_entry *e = &m->entries[m->slots[s] - 1];
        if (strcmp(e->label, label) == 0)
            return veil_enc_add(&e->sum, pk, &e->sum, v, err);
        s = (s + 1) & (m->nslots - 1);
    }
    return insert(m, s, label, len, v, err);
}

size_t veil_groupmap_count(const veil_groupmap *m)
{
    return m->count;
}

const veil_enc *veil_groupmap_find(const veil_groupmap *m, const char *label)
{
    size_t s = slot_of(m, label, strlen(label));
    while (m->slots[s] != 0) {
        const veil_group_entry *e = &m->entries[m->slots[s] - 1];
        if (strcmp(e->label, label) == 0)
            return &e->sum;
        s = (s + 1) & (m->nslots - 1);
    }
    return NULL;
}

size_t veil_groupmap_room(const veil_groupmap *m)
{
    return m->count < m->max ? m->max - m->count : 0;
}

static int cmp_entries(const void *a, const void *b)
{
    return strcmp(((const veil_group_entry *)a)->label, ((const veil_group_entry *)b)->label);
}

veil_group_entry *veil_groupmap_sorted(veil_groupmap *m)
{
    if (m->count > 1)
        qsort(m->entries, m->count, sizeof *m->entries, cmp_entries);
    /* Slots hold indices: rebuild them for the new order (same size, so
     * this cannot fail for lack of memory). */
    memset(m->slots, 0, m->nslots * sizeof *m->slots);
    for (size_t i = 0; i < m->count; i++) {
        const char *label = m->entries[i].label;
        size_t s = slot_of(m, label, strlen(label));
        while (m->slots[s] != 0)
            s = (s + 1) & (m->nslots - 1);
        m->slots[s] = i + 1;
    }
    return m->entries;
}
