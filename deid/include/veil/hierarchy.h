/* Value generalization hierarchies (the layout ARX and similar tools use).
 *
 * A hierarchy file has one row per original value: the value, then its
 * generalizations level by level, ';'-separated (RFC 4180 quoting, CRLF
 * or LF):
 *
 *     39;35-39;30-39;*
 *
 * Level 0 is the original value. Every row has the same number of levels;
 * a value listed twice, an empty file, or an inconsistent hierarchy (one
 * level-k value generalized to two different level-(k+1) values, so the
 * hierarchy would not be a tree) is VEIL_ERR_INPUT naming file and line.
 *
 * Besides strings, the hierarchy offers integer codes for the lattice
 * search: the values of each level are numbered 0 .. size-1 in order of
 * first appearance, and veil_hierarchy_up maps a level-k code to its
 * level-(k+1) code. */
#ifndef VEIL_HIERARCHY_H
#define VEIL_HIERARCHY_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_HIERARCHY_LEVELS_MAX 64
#define VEIL_HIERARCHY_VALUES_MAX (1u << 24)
#define VEIL_HIERARCHY_FILE_MAX   (256u << 20) /* bytes */

typedef struct veil_hierarchy veil_hierarchy;

/* Reads the hierarchy file at path (messages name the path). */
veil_status veil_hierarchy_load(veil_hierarchy **out, const char *path, veil_err *err) VEIL_WUR;
/* Parses len bytes at buf; `name` stands for the file in messages. */
veil_status veil_hierarchy_parse(veil_hierarchy **out, const char *buf, size_t len,
                                 const char *name, veil_err *err) VEIL_WUR;
/* Number of levels, counting level 0 (the original values). */
unsigned veil_hierarchy_levels(const veil_hierarchy *h);
/* The level-`level` generalization of an original value, or NULL when the
 * value is not in the hierarchy or level is out of range. */
const char *veil_hierarchy_generalize(const veil_hierarchy *h, const char *value, unsigned level);
void veil_hierarchy_free(veil_hierarchy *h);

/* ---- Integer-coded access ---------------------------------------------- */

/* The name given at load/parse time. */
const char *veil_hierarchy_name(const veil_hierarchy *h);
/* Number of distinct values at `level` (0 when level is out of range). */
size_t veil_hierarchy_size(const veil_hierarchy *h, unsigned level);
/* Level-0 code of an original value (len bytes), or -1 if unknown. */
int64_t veil_hierarchy_code(const veil_hierarchy *h, const char *value, size_t len);
/* Code at level+1 of the level-`level` value `code`; level+1 < levels. */
uint32_t veil_hierarchy_up(const veil_hierarchy *h, unsigned level, uint32_t code);
/* Code at `level` of the original value with level-0 code `code0`. */
uint32_t veil_hierarchy_map(const veil_hierarchy *h, uint32_t code0, unsigned level);
/* Text of the level-`level` value `code`. */
const char *veil_hierarchy_label(const veil_hierarchy *h, unsigned level, uint32_t code);
/* Number of original (level-0) values generalized to the level-`level`
 * value `code`: 1 at level 0. Non-decreasing along veil_hierarchy_up. */
uint32_t veil_hierarchy_leaves(const veil_hierarchy *h, unsigned level, uint32_t code);

#ifdef __cplusplus
}
#endif
#endif
