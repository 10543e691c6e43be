/* Internal to libveil_deid: a string dictionary giving each distinct
 * string a dense code in order of first insertion (implemented in
 * table.c, used by the hierarchy and table loaders). */
#ifndef VEIL_DEID_DICT_INTERNAL_H
#define VEIL_DEID_DICT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *arena; /* the strings, each NUL-terminated, back to back */
    size_t arena_len, arena_cap;
    size_t *off; /* code -> offset in arena */
    size_t *len; /* code -> length */
    uint32_t n, codes_cap;
    uint32_t *slots; /* open addressing: code, or UINT32_MAX when empty */
    size_t nslots;
} veil_dict;

void veil_dict_init(veil_dict *d);
void veil_dict_free(veil_dict *d);
/* Code of s, or -1. */
int64_t veil_dict_find(const veil_dict *d, const char *s, size_t len);
/* Code of s, inserting it when new (*added = 1). -1 when out of memory or
 * when the dictionary already holds `limit` strings and s is new (-2). */
int64_t veil_dict_add(veil_dict *d, const char *s, size_t len, uint32_t limit, int *added);
/* The string of a code (valid until the next add). */
const char *veil_dict_str(const veil_dict *d, uint32_t code);
size_t veil_dict_len(const veil_dict *d, uint32_t code);
uint64_t veil_hash_bytes(const void *p, size_t len);

#endif
