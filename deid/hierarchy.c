/* Value generalization hierarchies: parsed with the table reader (';',
 * no header), checked to form a tree level by level, and coded so that
 * the lattice search can generalize with array lookups. */
#include "veil/hierarchy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dict_internal.h"
#include "veil/table.h"

struct veil_hierarchy {
    char *name;
    unsigned levels;
    veil_dict *dict;    /* per level: label -> code */
    uint32_t **up;      /* up[l][code at l] = code at l+1 (l+1 < levels) */
    uint64_t **up_line; /* line that first set up[l][code], for messages */
    uint32_t **map;     /* map[l][code0] = code at l */
    uint32_t **leaves;  /* leaves[l][code] = level-0 values under it */
    size_t *cap;        /* capacity of up/up_line/leaves per level */
};

static void hier_free_parts(veil_hierarchy *h)
{
    if (h->dict != NULL)
        for (unsigned l = 0; l < h->levels; l++)
            veil_dict_free(&h->dict[l]);
    for (unsigned l = 0; l < h->levels; l++) {
        if (h->up)
            free(h->up[l]);
        if (h->up_line)
            free(h->up_line[l]);
        if (h->map)
            free(h->map[l]);
        if (h->leaves)
            free(h->leaves[l]);
    }
    free(h->dict);
    free(h->up);
    free(h->up_line);
    free(h->map);
    free(h->leaves);
    free(h->cap);
}

void veil_hierarchy_free(veil_hierarchy *h)
{
    if (h == NULL)
        return;
    hier_free_parts(h);
    free(h->name);
    free(h);
}

static veil_status setup_levels(veil_hierarchy *h, const veil_table_row *row, veil_err *err)
{
    if (row->nfields > VEIL_HIERARCHY_LEVELS_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: %zu levels (at most %d)", row->file,
                            (unsigned long long)row->line, row->nfields, VEIL_HIERARCHY_LEVELS_MAX);
    unsigned L = (unsigned)row->nfields;
    h->dict = calloc(L, sizeof *h->dict);
    h->up = calloc(L, sizeof *h->up);
    h->up_line = calloc(L, sizeof *h->up_line);
    h->map = calloc(L, sizeof *h->map);
    h->leaves = calloc(L, sizeof *h->leaves);
    h->cap = calloc(L, sizeof *h->cap);
    if (!h->dict || !h->up || !h->up_line || !h->map || !h->leaves || !h->cap)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (unsigned l = 0; l < L; l++)
        veil_dict_init(&h->dict[l]);
    h->levels = L;
    return VEIL_OK;
}

static int ensure_cap(veil_hierarchy *h, unsigned l, size_t need)
{
    if (need <= h->cap[l])
        return 0;
    size_t cap = h->cap[l] ? 2 * h->cap[l] : 64;
    while (cap < need)
        cap *= 2;
    uint32_t *up = realloc(h->up[l], cap * sizeof *up);
    if (up == NULL)
        return -1;
    h->up[l] = up;
    uint64_t *ul = realloc(h->up_line[l], cap * sizeof *ul);
    if (ul == NULL)
        return -1;
    h->up_line[l] = ul;
    uint32_t *lv = realloc(h->leaves[l], cap * sizeof *lv);
    if (lv == NULL)
        return -1;
    h->leaves[l] = lv;
    h->cap[l] = cap;
    return 0;
}

static veil_status hier_row(void *ctx, const veil_table_row *row, veil_err *err)
{
    veil_hierarchy *h = ctx;
    veil_status st;
    if (h->levels == 0 && (st = setup_levels(h, row, err)) != VEIL_OK)
        return st;
    if (row->nfields != h->levels)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s:%llu: %zu level%s, but the first row has %u (every row needs "
                            "the same number)",
                            row->file, (unsigned long long)row->line, row->nfields,
                            row->nfields == 1 ? "" : "s", h->levels);
    uint32_t prev = 0;
    for (unsigned l = 0; l < h->levels; l++) {
        int added = 0;
        int64_t c = veil_dict_add(&h->dict[l], row->fields[l], row->lens[l],
                                  VEIL_HIERARCHY_VALUES_MAX, &added);
        if (c == -1)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        if (c == -2)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: more than %u values", row->file,
                                (unsigned long long)row->line, VEIL_HIERARCHY_VALUES_MAX);
        uint32_t code = (uint32_t)c;
        if (l == 0 && !added)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: duplicate value \"%.64s\"",
                                row->file, (unsigned long long)row->line, row->fields[0]);
        if (ensure_cap(h, l, (size_t)code + 1) != 0)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        if (added) {
            h->up[l][code] = UINT32_MAX;
            h->leaves[l][code] = 0;
        }
        h->leaves[l][code]++;
        if (l > 0) {
            /* The level-(l-1) value must always generalize to the same
             * level-l value, or the levels do not form a tree. */
            uint32_t *u = &h->up[l - 1][prev];
            if (*u == UINT32_MAX) {
                *u = code;
                h->up_line[l - 1][prev] = row->line;
            } else if (*u != code) {
                return veil_err_set(
                    err, VEIL_ERR_INPUT,
                    "%s:%llu: inconsistent hierarchy: level %u value \"%.64s\" generalizes to "
                    "\"%.64s\" here but to \"%.64s\" on line %llu",
                    row->file, (unsigned long long)row->line, l - 1, row->fields[l - 1],
                    row->fields[l], veil_dict_str(&h->dict[l], *u),
                    (unsigned long long)h->up_line[l - 1][prev]);
            }
        }
        prev = code;
    }
    return VEIL_OK;
}

static veil_status build_maps(veil_hierarchy *h, veil_err *err)
{
    size_t n0 = h->dict[0].n;
    for (unsigned l = 0; l < h->levels; l++) {
        h->map[l] = malloc((n0 ? n0 : 1) * sizeof *h->map[l]);
        if (h->map[l] == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        for (size_t v = 0; v < n0; v++)
            h->map[l][v] = l == 0 ? (uint32_t)v : h->up[l - 1][h->map[l - 1][v]];
    }
    return VEIL_OK;
}

veil_status veil_hierarchy_parse(veil_hierarchy **out, const char *buf, size_t len,
                                 const char *name, veil_err *err)
{
    *out = NULL;
    if (len > VEIL_HIERARCHY_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", name,
                            VEIL_HIERARCHY_FILE_MAX);
    veil_hierarchy *h = calloc(1, sizeof *h);
    if (h == NULL || (h->name = strdup(name ? name : "hierarchy")) == NULL) {
        free(h);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    veil_status st = veil_table_read_mem(buf, len, h->name, ';', 0, hier_row, h, NULL, err);
    if (st == VEIL_OK && h->levels == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: empty hierarchy (no rows)", h->name);
    if (st == VEIL_OK)
        st = build_maps(h, err);
    if (st != VEIL_OK) {
        veil_hierarchy_free(h);
        return st;
    }
    *out = h;
    return VEIL_OK;
}

veil_status veil_hierarchy_load(veil_hierarchy **out, const char *path, veil_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    veil_status st = VEIL_OK;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap > VEIL_HIERARCHY_FILE_MAX) {
                st = veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", path,
                                  VEIL_HIERARCHY_FILE_MAX);
                goto done;
            }
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
                goto done;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    if (st == VEIL_OK)
        st = veil_hierarchy_parse(out, buf ? buf : "", len, path, err);
done:
    free(buf);
    fclose(f);
    return st;
}

unsigned veil_hierarchy_levels(const veil_hierarchy *h)
{
    return h->levels;
}

const char *veil_hierarchy_generalize(const veil_hierarchy *h, const char *value, unsigned level)
{
    if (value == NULL || level >= h->levels)
        return NULL;
    int64_t c = veil_dict_find(&h->dict[0], value, strlen(value));
    if (c < 0)
        return NULL;
    return veil_dict_str(&h->dict[level], h->map[level][c]);
}

const char *veil_hierarchy_name(const veil_hierarchy *h)
{
    return h->name;
}

size_t veil_hierarchy_size(const veil_hierarchy *h, unsigned level)
{
    return level < h->levels ? h->dict[level].n : 0;
}

int64_t veil_hierarchy_code(const veil_hierarchy *h, const char *value, size_t len)
{
    return veil_dict_find(&h->dict[0], value, len);
}

uint32_t veil_hierarchy_up(const veil_hierarchy *h, unsigned level, uint32_t code)
{
    return h->up[level][code];
}

uint32_t veil_hierarchy_map(const veil_hierarchy *h, uint32_t code0, unsigned level)
{
    return h->map[level][code0];
}

const char *veil_hierarchy_label(const veil_hierarchy *h, unsigned level, uint32_t code)
{
    return veil_dict_str(&h->dict[level], code);
}

uint32_t veil_hierarchy_leaves(const veil_hierarchy *h, unsigned level, uint32_t code)
{
    return h->leaves[level][code];
}
