/* veil aggregate: homomorphic sums of column files and result files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "groupmap.h"
#include "progress.h"
#include "veil/ctfile.h"
#include "veil/fixed.h"
#include "veil/keyfile.h"

enum { O_KEY = 1, O_OUT, O_RESCALE };

static const veil_opt opts[] = {
    {"key", O_KEY, "PUB", "public key the inputs were encrypted under", 1, VEIL_IO_IN},
    {"out", O_OUT, "RESULT.vct", "result file to write", 1, VEIL_IO_OUT},
    {"rescale", O_RESCALE, "S", "bring every input to scale S first (S >= every input's scale)", 0},
    {NULL, 0, NULL, NULL, 0},
};

/* What one input holds, learnt before any summing. */
typedef struct {
    const char *path;
    veil_file_kind kind;
    veil_result res; /* result files, loaded once */
    unsigned scale_lo, scale_hi;
    int grouped;
    char *group_name; /* column files only */
    uint64_t count;
} agg_input;

/* Running sums at one scale: by group label, or a single value. */
typedef struct {
    const veil_paillier_pub *pk;
    unsigned scale;
    int grouped;
    veil_groupmap *groups;
    veil_enc sum;
    int have_sum;
} agg_sum;

static veil_status sum_init(agg_sum *s, const veil_paillier_pub *pk, unsigned scale, int grouped,
                            veil_err *err)
{
    memset(s, 0, sizeof *s);
    s->pk = pk;
    s->scale = scale;
    s->grouped = grouped;
    veil_enc_init(&s->sum);
    if (grouped)
        return veil_groupmap_new(&s->groups, VEIL_RESULT_ITEMS_MAX - 1, err);
    return VEIL_OK;
}

static void sum_clear(agg_sum *s)
{
    veil_groupmap_free(s->groups);
    veil_enc_clear(&s->sum);
}

/* Adds e (rescaled to s's scale when needed) under label. */
static veil_status sum_add(agg_sum *s, const char *label, const veil_enc *e, veil_err *err)
{
    veil_status st = VEIL_OK;
    veil_enc tmp;
    const veil_enc *v = e;
    if (e->scale != s->scale) {
        veil_enc_init(&tmp);
        st = veil_enc_rescale(&tmp, s->pk, e, s->scale, err);
        v = &tmp;
    }
    if (st == VEIL_OK && s->grouped) {
        st = label != NULL
                 ? veil_groupmap_add(s->groups, s->pk, label, v, err)
                 : veil_err_set(err, VEIL_ERR_INTERNAL, "ungrouped value in a grouped sum");
    } else if (st == VEIL_OK && s->have_sum) {
        st = veil_enc_add(&s->sum, s->pk, &s->sum, v, err);
    } else if (st == VEIL_OK) {
        veil_enc_set(&s->sum, v);
        s->have_sum = 1;
    }
    if (v == &tmp)
        veil_enc_clear(&tmp);
    return st;
}

/* Adds everything summed in `from` into `to`. */
static veil_status sum_merge(agg_sum *to, agg_sum *from, veil_err *err)
{
    if (!from->grouped)
        return from->have_sum ? sum_add(to, NULL, &from->sum, err) : VEIL_OK;
    veil_group_entry *e = veil_groupmap_sorted(from->groups);
    size_t n = veil_groupmap_count(from->groups);
    for (size_t i = 0; i < n; i++) {
        veil_status st = sum_add(to, e[i].label, &e[i].sum, err);
        if (st != VEIL_OK)
            return st;
    }
    return VEIL_OK;
}

static veil_status inspect_result(agg_input *in, const veil_paillier_pub *pk, veil_err *err)
{
    veil_status st = veil_result_load(&in->res, in->path, pk, err);
    if (st != VEIL_OK)
        return st;
    size_t plain = 0, totals = 0;
    for (size_t i = 0; i < in->res.count; i++) {
        const veil_result_item *it = &in->res.items[i];
        if (it->is_total)
            totals++;
        else if (it->group == NULL)
            plain++;
        unsigned sc = it->value.scale;
        if (i == 0 || sc < in->scale_lo)
            in->scale_lo = sc;
        if (i == 0 || sc > in->scale_hi)
            in->scale_hi = sc;
        in->count += it->is_total ? 0 : it->value.count;
    }
    if (in->res.count == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s holds no values", in->path);
    if (plain > 0 && plain != in->res.count)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s mixes grouped and ungrouped values", in->path);
    if (plain > 1)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s holds %zu separate values; aggregate takes a single value or a "
                            "grouped result per file",
                            in->path, plain);
    if (totals > 1)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s holds %zu totals", in->path, totals);
    in->grouped = plain == 0;
    return VEIL_OK;
}

static veil_status inspect_column(agg_input *in, const veil_paillier_pub *pk, veil_err *err)
{
    veil_column_reader *r = NULL;
    veil_status st = veil_column_reader_open(&r, in->path, pk, err);
    if (st != VEIL_OK)
        return st;
    const veil_column_info *info = veil_column_reader_info(r);
    in->scale_lo = in->scale_hi = info->scale;
    in->grouped = info->grouped;
    in->count = info->count;
    if (info->group_name != NULL && (in->group_name = strdup(info->group_name)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_column_reader_close(r);
    return st;
}

static veil_status inspect(agg_input *in, const veil_paillier_pub *pk, veil_err *err)
{
    switch (in->kind) {
    case VEIL_FILE_COLUMN: return inspect_column(in, pk, err);
    case VEIL_FILE_RESULT: return inspect_result(in, pk, err);
    default:
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s: expected a column file (.vcol) or a result file (.vct)", in->path);
    }
}

static const char *grouping(const agg_input *in)
{
    return in->grouped ? (in->group_name ? in->group_name : "(result file)") : NULL;
}

/* All inputs must be grouped alike and share one scale (or fit under
 * --rescale); *target receives the scale of the sums. */
static veil_status check_inputs(const agg_input *in, size_t n, const char *rescale,
                                unsigned *target, veil_err *err)
{
    const agg_input *named = NULL; /* first column file with a group name */
    unsigned hi = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (veil_cli_same_path(in[i].path, in[j].path))
                return veil_err_set(err, VEIL_ERR_USAGE, "%s is given twice", in[i].path);
        if (in[i].grouped != in[0].grouped) {
            const agg_input *g = in[i].grouped ? &in[i] : &in[0];
            const agg_input *u = in[i].grouped ? &in[0] : &in[i];
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "%s is grouped (by %s) but %s is not; aggregate grouped and "
                                "ungrouped inputs separately",
                                g->path, grouping(g), u->path);
        }
        if (in[i].group_name != NULL && named == NULL)
            named = &in[i];
        else if (in[i].group_name != NULL && strcmp(in[i].group_name, named->group_name) != 0)
            return veil_err_set(err, VEIL_ERR_USAGE, "%s is grouped by \"%s\" but %s by \"%s\"",
                                named->path, named->group_name, in[i].path, in[i].group_name);
        if (in[i].scale_hi > hi)
            hi = in[i].scale_hi;
    }
    if (rescale != NULL) {
        veil_status st = veil_cli_parse_uint(target, rescale, 0, VEIL_SCALE_MAX, "rescale", err);
        if (st != VEIL_OK)
            return st;
        for (size_t i = 0; i < n; i++)
            if (in[i].scale_hi > *target)
                return veil_err_set(err, VEIL_ERR_USAGE,
                                    "%s has scale %u, above --rescale %u (a scale can only be "
                                    "raised under encryption)",
                                    in[i].path, in[i].scale_hi, *target);
        return VEIL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i].scale_lo != in[i].scale_hi)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "%s holds values at scales %u and %u; give --rescale %u",
                                in[i].path, in[i].scale_lo, in[i].scale_hi, hi);
        if (in[i].scale_lo != in[0].scale_lo)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "scales differ: %s has scale %u but %s has scale %u; give "
                                "--rescale %u to sum them at scale %u",
                                in[0].path, in[0].scale_lo, in[i].path, in[i].scale_lo, hi, hi);
    }
    *target = in[0].scale_lo;
    return VEIL_OK;
}

/* Values of a column file are summed a block at a time: the block's
 * ciphertexts are ordered by group label and each run of one label is
 * multiplied together by veil_paillier_add_many (the IFMA engine's running
 * products, no division per value) before it joins its group's sum. The
 * product mod n^2 does not depend on the order, so the sums are the ones
 * the value-by-value loop computes. The reader leaves gcd(c, n) = 1 to
 * us: each run's product is tested once, and only when it fails are the
 * block's values tested one by one to name the first bad one. */
#define AGG_BLOCK 4096

typedef struct {
    mpz_t c[AGG_BLOCK];
    char *label[AGG_BLOCK]; /* NULL in an ungrouped column */
    size_t order[AGG_BLOCK];
    mpz_t run[AGG_BLOCK]; /* one label's ciphertexts, swapped in and back */
    size_t n;
    uint64_t first; /* 1-based index of c[0] in the file */
} agg_block;

static agg_block *block_new(void)
{
    agg_block *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < AGG_BLOCK; i++) {
        mpz_init(b->c[i]);
        mpz_init(b->run[i]);
    }
    b->first = 1;
    return b;
}

static void block_reset(agg_block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->label[i]);
        b->label[i] = NULL;
    }
    b->first += b->n;
    b->n = 0;
}

static void block_free(agg_block *b)
{
    if (b == NULL)
        return;
    block_reset(b);
    for (size_t i = 0; i < AGG_BLOCK; i++) {
        mpz_clear(b->c[i]);
        mpz_clear(b->run[i]);
    }
    free(b);
}

static const agg_block *sort_block;

/* By label, then by position: runs of one label keep the file's order. */
static int cmp_order(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = strcmp(sort_block->label[a], sort_block->label[b]);
    return c != 0 ? c : (a > b) - (a < b);
}

/* Whether a run of k values of this column can join the sum under label
 * without an error (too many groups, or a bound over the plaintext space):
 * if not, the block goes value by value and the error names the value. */
static int run_fits(const agg_sum *s, const char *label, size_t k, const mpz_t bound,
                    size_t *new_labels, const mpz_t max)
{
    const veil_enc *have = NULL;
    if (s->grouped) {
        have = veil_groupmap_find(s->groups, label);
        if (have == NULL && ++*new_labels > veil_groupmap_room(s->groups))
            return 0;
    } else if (s->have_sum) {
        have = &s->sum;
    }
    mpz_t total;
    mpz_init(total);
    mpz_mul_ui(total, bound, (unsigned long)k);
    if (have != NULL)
        mpz_add(total, total, have->bound);
    int ok = mpz_cmp(total, max) <= 0 && (have == NULL || have->count <= UINT64_MAX - k);
    mpz_clear(total);
    return ok;
}

/* Whether gcd(c, n) = 1. */
static int is_unit(const veil_paillier_pub *pk, const mpz_t c)
{
    mpz_t n, g;
    mpz_inits(n, g, NULL);
    veil_paillier_pub_n(n, pk);
    mpz_gcd(g, c, n);
    int ok = mpz_cmp_ui(g, 1) == 0;
    mpz_clears(n, g, NULL);
    return ok;
}

/* A run's product shares a factor with n: the error names the first such
 * value of the block in file order. */
static veil_status first_non_unit(const agg_block *b, const veil_paillier_pub *pk, const char *path,
                                  veil_err *err)
{
    for (size_t i = 0; i < b->n; i++)
        if (veil_paillier_check_ct(pk, b->c[i], err) != VEIL_OK)
            return veil_err_prefix(err, "%s: value %llu", path, (unsigned long long)(b->first + i));
    return veil_err_set(err, VEIL_ERR_INTERNAL, "%s: a product is not invertible", path);
}

/* Adds the block's values to s (whose scale is the column's): by runs
 * through veil_paillier_add_many when every run fits, else one by one. */
static veil_status block_flush(agg_block *b, agg_sum *s, const veil_column_info *info,
                               const char *path, veil_err *err)
{
    veil_status st = VEIL_OK;
    size_t n = b->n;
    if (n == 0)
        return VEIL_OK;
    for (size_t i = 0; i < n; i++)
        b->order[i] = i;
    if (s->grouped) {
        sort_block = b;
        qsort(b->order, n, sizeof b->order[0], cmp_order);
        sort_block = NULL;
    }

    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, s->pk);
    int fits = 1;
    size_t new_labels = 0;
    for (size_t i = 0; i < n && fits;) {
        size_t j = i + 1;
        while (j < n && s->grouped && strcmp(b->label[b->order[j]], b->label[b->order[i]]) == 0)
            j++;
        if (!s->grouped)
            j = n;
        fits = run_fits(s, b->label[b->order[i]], j - i, info->bound, &new_labels, max);
        i = j;
    }
    mpz_clear(max);

    veil_enc v;
    veil_enc_init(&v);
    mpz_set(v.bound, info->bound);
    v.scale = info->scale;
    if (!fits) {
        v.count = 1;
        for (size_t i = 0; i < n && st == VEIL_OK; i++) {
            mpz_swap(v.c, b->c[i]);
            st = veil_paillier_check_ct(s->pk, v.c, err);
            if (st == VEIL_OK)
                st = sum_add(s, b->label[i], &v, err);
            mpz_swap(v.c, b->c[i]);
            if (st != VEIL_OK)
                veil_err_prefix(err, "%s: value %llu", path, (unsigned long long)(b->first + i));
        }
        veil_enc_clear(&v);
        return st;
    }
    for (size_t i = 0; i < n && st == VEIL_OK;) {
        size_t j = i;
        const char *label = b->label[b->order[i]];
        while (j < n && (!s->grouped || strcmp(b->label[b->order[j]], label) == 0)) {
            mpz_swap(b->run[j - i], b->c[b->order[j]]);
            j++;
        }
        size_t k = j - i;
        if (veil_paillier_add_many(v.c, s->pk, (const mpz_t *)b->run, k) != 0)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        for (size_t r = 0; r < k; r++)
            mpz_swap(b->run[r], b->c[b->order[i + r]]);
        if (st == VEIL_OK && !is_unit(s->pk, v.c))
            st = first_non_unit(b, s->pk, path, err);
        if (st == VEIL_OK) {
            mpz_mul_ui(v.bound, info->bound, (unsigned long)k);
            v.count = k;
            if ((st = sum_add(s, label, &v, err)) != VEIL_OK)
                veil_err_prefix(err, "%s: values %llu to %llu", path, (unsigned long long)b->first,
                                (unsigned long long)(b->first + n - 1));
        }
        i = j;
    }
    veil_enc_clear(&v);
    return st;
}

static veil_status sum_column(agg_sum *total, const agg_input *in, veil_progress *prog,
                              uint64_t *done, veil_err *err)
{
    veil_column_reader *r = NULL;
    agg_sum local;
    agg_block *b = block_new();
    if (b == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = veil_column_reader_open(&r, in->path, total->pk, err);
    if (st != VEIL_OK) {
        block_free(b);
        return st;
    }
    /* gcd(c, n) = 1 is checked once per run's product (block_flush). */
    veil_column_reader_defer_unit_check(r);
    const veil_column_info *info = veil_column_reader_info(r);
    st = sum_init(&local, total->pk, info->scale, info->grouped, err);
    while (st == VEIL_OK) {
        const char *group = NULL;
        int eof = 0;
        st = veil_cli_check_interrupt(err);
        if (st == VEIL_OK)
            st = veil_column_reader_next(r, b->c[b->n], &group, &eof, err);
        if (st != VEIL_OK)
            break;
        if (!eof && group != NULL && (b->label[b->n] = strdup(group)) == NULL) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            break;
        }
        if (!eof && local.grouped && group == NULL) {
            st = veil_err_set(err, VEIL_ERR_INTERNAL,
                              "%s: value %llu: ungrouped value in a grouped sum", in->path,
                              (unsigned long long)(b->first + b->n));
            break;
        }
        if (!eof)
            b->n++;
        if ((eof || b->n == AGG_BLOCK) &&
            (st = block_flush(b, &local, info, in->path, err)) == VEIL_OK)
            block_reset(b);
        if (eof)
            break;
        veil_progress_update(prog, ++*done);
    }
    if (st == VEIL_OK && (st = sum_merge(total, &local, err)) != VEIL_OK)
        veil_err_prefix(err, "%s", in->path);
    sum_clear(&local);
    block_free(b);
    veil_column_reader_close(r);
    return st;
}

static veil_status sum_result(agg_sum *total, const agg_input *in, veil_err *err)
{
    for (size_t i = 0; i < in->res.count; i++) {
        const veil_result_item *it = &in->res.items[i];
        if (it->is_total)
            continue; /* recomputed from the groups */
        veil_status st = sum_add(total, it->group, &it->value, err);
        if (st != VEIL_OK)
            return veil_err_prefix(err, "%s", in->path);
    }
    return VEIL_OK;
}

/* An encryption of zero: the sum of no values. */
static veil_status zero(veil_enc *e, const veil_paillier_pub *pk, unsigned scale, veil_err *err)
{
    mpz_t z;
    mpz_init(z);
    veil_status st = veil_enc_encrypt(e, pk, z, scale, z, err);
    e->count = 0;
    mpz_clear(z);
    return st;
}

/* Builds the result (groups in label order, then the total; or the single
 * sum), every ciphertext freshly re-randomized. */
static veil_status build_result(veil_result *res, agg_sum *s, veil_err *err)
{
    veil_status st = VEIL_OK;
    if (!s->grouped) {
        if (!s->have_sum && (st = zero(&s->sum, s->pk, s->scale, err)) != VEIL_OK)
            return st;
        veil_enc_rerandomize(&s->sum, s->pk, &s->sum);
        return veil_result_append(res, NULL, 0, &s->sum, err);
    }
    veil_group_entry *e = veil_groupmap_sorted(s->groups);
    size_t n = veil_groupmap_count(s->groups);
    veil_enc total;
    veil_enc_init(&total);
    if (n == 0)
        st = zero(&total, s->pk, s->scale, err);
    else
        veil_enc_set(&total, &e[0].sum);
    for (size_t i = 1; st == VEIL_OK && i < n; i++)
        st = veil_enc_add(&total, s->pk, &total, &e[i].sum, err);
    for (size_t i = 0; st == VEIL_OK && i < n; i++) {
        veil_enc_rerandomize(&e[i].sum, s->pk, &e[i].sum);
        st = veil_result_append(res, e[i].label, 0, &e[i].sum, err);
    }
    if (st == VEIL_OK) {
        veil_enc_rerandomize(&total, s->pk, &total);
        st = veil_result_append(res, NULL, 1, &total, err);
    }
    veil_enc_clear(&total);
    return st;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    veil_paillier_pub *pk = NULL;
    size_t n = (size_t)a.nargs;
    agg_input *in = calloc(n, sizeof *in);
    agg_sum total;
    int have_total = 0;
    veil_result res;
    veil_result_init(&res);
    veil_progress prog;
    uint64_t all = 0, done = 0;
    unsigned target = 0;

    veil_status st = in ? veil_pub_load(&pk, a.val[O_KEY], &err)
                        : veil_err_set(&err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == VEIL_OK && i < n; i++) {
        in[i].path = a.args[i];
        in[i].kind = veil_cli_file_kind(a.args[i]);
        veil_result_init(&in[i].res);
        st = veil_cli_check_distinct(in[i].path, a.val[O_OUT], &err);
        if (st == VEIL_OK)
            st = inspect(&in[i], pk, &err);
        if (in[i].kind == VEIL_FILE_COLUMN)
            all += in[i].count;
    }
    if (st == VEIL_OK)
        st = check_inputs(in, n, a.val[O_RESCALE], &target, &err);
    if (st == VEIL_OK) {
        st = sum_init(&total, pk, target, in[0].grouped, &err);
        have_total = 1; /* sum_init leaves total clearable even when it fails */
    }
    veil_progress_start(&prog, "veil aggregate", all);
    for (size_t i = 0; st == VEIL_OK && i < n; i++)
        st = in[i].kind == VEIL_FILE_COLUMN ? sum_column(&total, &in[i], &prog, &done, &err)
                                            : sum_result(&total, &in[i], &err);
    veil_progress_end(&prog);
    if (st == VEIL_OK)
        st = build_result(&res, &total, &err);
    if (st == VEIL_OK)
        st = veil_result_save(a.val[O_OUT], pk, &res, &err);

    if (have_total)
        sum_clear(&total);
    veil_result_clear(&res);
    for (size_t i = 0; in != NULL && i < n; i++) {
        veil_result_clear(&in[i].res);
        free(in[i].group_name);
    }
    free(in);
    veil_paillier_pub_free(pk);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_aggregate = {
    .name = "aggregate",
    .summary = "Sum encrypted columns and results without decrypting them.",
    .synopsis = "--key PUB --out RESULT.vct INPUT...",
    .description =
        "Each INPUT is a column file (.vcol, from encrypt) or a result file (.vct, from\n"
        "aggregate or ciphertext import), so sums can be built in stages. All inputs\n"
        "must be under the same key and either all grouped (same group column) or all\n"
        "ungrouped. Grouped inputs give one sum per group label, in byte order of the\n"
        "labels, plus the overall total; ungrouped inputs give a single sum. Every sum\n"
        "carries a count of the values in it and a proven bound; a sum that could\n"
        "exceed the key's plaintext space is refused (exit 4), never wrapped. Inputs at\n"
        "different scales are refused unless --rescale names a common scale. Output\n"
        "ciphertexts are re-randomized. Memory grows with the number of groups, not\n"
        "with the number of values.",
    .opts = opts,
    .min_args = 1,
    .max_args = -1,
    .example = "veil aggregate --key bureau.pub --out income-total.vct \\\n"
               "    tax-income.vcol social-income.vcol health-income.vcol",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
