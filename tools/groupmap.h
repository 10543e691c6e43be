/* Sums of encrypted values by group label, for `veil aggregate`: memory
 * grows with the number of distinct labels, never with the number of
 * values. Labels are hashed with SipHash under a random key, so hostile
 * labels cannot force collisions. */
#ifndef VEIL_GROUPMAP_H
#define VEIL_GROUPMAP_H

#include <stddef.h>

#include "veil/encrypted.h"
#include "veil/error.h"
#include "veil/paillier.h"

typedef struct {
    char *label; /* NUL-terminated, no NUL inside */
    veil_enc sum;
} veil_group_entry;

typedef struct veil_groupmap veil_groupmap;

/* max_groups: more distinct labels than this is VEIL_ERR_INPUT. */
veil_status veil_groupmap_new(veil_groupmap **out, size_t max_groups, veil_err *err) VEIL_WUR;
void veil_groupmap_free(veil_groupmap *m);
/* sum(label) += v (veil_enc_add: equal scales, bound checked); a new label
 * starts as a copy of v. */
veil_status veil_groupmap_add(veil_groupmap *m, const veil_paillier_pub *pk, const char *label,
                              const veil_enc *v, veil_err *err) VEIL_WUR;
size_t veil_groupmap_count(const veil_groupmap *m);
/* The sum of label, or NULL when the label has no sum yet. */
const veil_enc *veil_groupmap_find(const veil_groupmap *m, const char *label);
/* How many more distinct labels the map accepts. */
size_t veil_groupmap_room(const veil_groupmap *m);
/* The entries, sorted by label in byte order. The array belongs to the
 * map; entries may be modified in place (not their labels). */
veil_group_entry *veil_groupmap_sorted(veil_groupmap *m);

#endif
