/* Streaming CSV de-identification (see veil/transform.h). Line tracking
 * follows tools/csv_column.c: libcsv gets one piece per input line, so the
 * callbacks know which line a row starts on. */
#include "veil/transform.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "veil/deid_buf.h"
#include "veil/dp.h"
#include "veil/ff1.h"
#include "veil/fixed.h"
#include "veil/hierarchy.h"
#include "veil/resident_id.h"

#define FEED_PIECE (64u * 1024)

enum { COL_DROP = -2, COL_KEEP = -1 };

struct veil_deid_transform {
    struct csv_parser p;
    const veil_deid_policy *pol;
    const veil_deid_key *key;
    char *name;
    FILE *out;
    int header_done;
    char **names;
    size_t nnames, names_cap;
    long *bind; /* per input column: policy column index, COL_DROP or COL_KEEP */
    size_t *rec_col, *cell_col;
    veil_ff1 **ff1; /* per input column, for fpe */
    veil_deid_buf *in, *res;
    size_t ncols;
    uint64_t line, row_line, blank_line;
    int lf_ended, after_cr;
    size_t field;
    veil_deid_stats stats;
    mpz_t num; /* noise */
    int bom_checked;
    int failed;
    veil_status st;
    veil_err *err;
};

static void fail(veil_deid_transform *t, veil_status code, const char *fmt, ...) VEIL_PRINTF(3, 4);
static void fail(veil_deid_transform *t, veil_status code, const char *fmt, ...)
{
    char msg[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    veil_err_set(t->err, code, "%s", msg);
    t->failed = 1;
    t->st = code;
}

static uint64_t count_lf(const char *s, size_t len)
{
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

static void on_field(void *data, size_t len, void *ctx)
{
    veil_deid_transform *t = ctx;
    const char *s = data ? data : "";
    if (t->failed)
        return;
    t->after_cr = 0;
    if (t->field == 0) {
        uint64_t lf = count_lf(s, len);
        t->row_line = t->line > lf ? t->line - lf : 1;
    }
    if (t->blank_line != 0) {
        fail(t, VEIL_ERR_INPUT, "%s:%llu: blank line (allowed only at the end of the file)",
             t->name, (unsigned long long)t->blank_line);
        return;
    }
    if (len > VEIL_DEID_FIELD_MAX) {
        fail(t, VEIL_ERR_INPUT, "%s:%llu: a field is longer than %u bytes", t->name,
             (unsigned long long)t->line, VEIL_DEID_FIELD_MAX);
        return;
    }
    if (!t->header_done) {
        if (t->nnames >= VEIL_DEID_COLUMNS_MAX) {
            fail(t, VEIL_ERR_INPUT, "%s:1: more than %d columns", t->name, VEIL_DEID_COLUMNS_MAX);
            return;
        }
        if (t->nnames == t->names_cap) {
            size_t cap = t->names_cap ? 2 * t->names_cap : 16;
            char **n = realloc(t->names, cap * sizeof *n);
            if (n == NULL) {
                fail(t, VEIL_ERR_NOMEM, "out of memory");
                return;
            }
            t->names = n;
            t->names_cap = cap;
        }
        char *c = malloc(len + 1);
        if (c == NULL) {
            fail(t, VEIL_ERR_NOMEM, "out of memory");
            return;
        }
        memcpy(c, s, len);
        c[len] = '\0';
        t->names[t->nnames++] = c;
    } else if (t->field >= t->ncols) {
        fail(t, VEIL_ERR_INPUT, "%s:%llu: row has more fields than the header (%zu)", t->name,
             (unsigned long long)t->row_line, t->ncols);
        return;
    } else {
        veil_err e;
        if (veil_deid_buf_set(&t->in[t->field], s, len, &e) != VEIL_OK) {
            fail(t, e.code, "%s", e.msg);
            return;
        }
    }
    t->field++;
}

static long find_policy_col(const veil_deid_policy *p, const char *name)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (strcmp(p->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

static size_t find_header(const veil_deid_transform *t, const char *name)
{
    for (size_t i = 0; i < t->nnames; i++)
        if (strcmp(t->names[i], name) == 0)
            return i;
    return SIZE_MAX;
}

static int write_field(FILE *f, const char *s, size_t len)
{
    int quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ' || s[0] == '\t' || s[len - 1] == '\t');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return len == 0 || fwrite(s, 1, len, f) == len ? 0 : -1;
    if (fputc('"', f) == EOF)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((s[i] == '"' && fputc('"', f) == EOF) || fputc(s[i], f) == EOF)
            return -1;
    return fputc('"', f) == EOF ? -1 : 0;
}

static int write_row_end(veil_deid_transform *t)
{
    return fputc('\n', t->out) == EOF ? -1 : 0;
}

static void bind_rules(veil_deid_transform *t, const pol_rule *r, size_t n, size_t *cols)
{
    for (size_t i = 0; i < n && !t->failed; i++) {
        size_t c = find_header(t, r[i].column);
        long pc = find_policy_col(t->pol, r[i].column);
        if (c == SIZE_MAX || (t->bind[c] == COL_DROP) ||
            (pc >= 0 && t->pol->cols[pc].action == ACT_DROP))
            fail(t, VEIL_ERR_INPUT,
                 "%s:%u: suppression rule on column \"%s\", which is not in the output",
                 t->pol->name, r[i].line, r[i].column);
        cols[i] = c;
    }
}

static void finish_header(veil_deid_transform *t)
{
    const veil_deid_policy *p = t->pol;
    veil_err e;
    t->ncols = t->nnames;
    for (size_t i = 0; i < t->nnames; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(t->names[i], t->names[k]) == 0) {
                fail(t, VEIL_ERR_INPUT, "%s:1: duplicate column name \"%s\"", t->name, t->names[i]);
                return;
            }
    for (size_t i = 0; i < p->ncols; i++)
        if (find_header(t, p->cols[i].name) == SIZE_MAX) {
            fail(t, VEIL_ERR_INPUT, "%s:%u: column \"%s\" is not in %s", p->name, p->cols[i].line,
                 p->cols[i].name, t->name);
            return;
        }
    t->bind = calloc(t->ncols, sizeof *t->bind);
    t->ff1 = calloc(t->ncols, sizeof *t->ff1);
    t->in = calloc(t->ncols, sizeof *t->in);
    t->res = calloc(t->ncols, sizeof *t->res);
    t->rec_col = calloc(p->nrecords + 1, sizeof *t->rec_col);
    t->cell_col = calloc(p->ncells + 1, sizeof *t->cell_col);
    if (!t->bind || !t->ff1 || !t->in || !t->res || !t->rec_col || !t->cell_col) {
        fail(t, VEIL_ERR_NOMEM, "out of memory");
        return;
    }
    int first = 1;
    for (size_t i = 0; i < t->ncols; i++) {
        long pc = find_policy_col(p, t->names[i]);
        if (pc < 0 && p->unlisted == UNLISTED_REFUSE) {
            fail(t, VEIL_ERR_INPUT,
                 "%s:%u: column \"%s\" of %s is not listed in \"columns\" (list it, or set "
                 "\"unlisted\" to \"drop\" or \"keep\")",
                 p->name, p->columns_line, t->names[i], t->name);
            return;
        }
        t->bind[i] = pc >= 0 ? (p->cols[pc].action == ACT_DROP ? COL_DROP : pc)
                             : (p->unlisted == UNLISTED_DROP ? COL_DROP : COL_KEEP);
        if (pc >= 0 && p->cols[pc].action == ACT_FPE) {
            if (t->key == NULL) {
                fail(t, VEIL_ERR_USAGE, "%s:%u: column \"%s\" uses fpe: a key file is needed",
                     p->name, p->cols[pc].line, t->names[i]);
                return;
            }
            unsigned radix =
                p->cols[pc].fpe_resident_id ? 10 : (unsigned)strlen(p->cols[pc].alphabet);
            if (veil_deid_key_ff1(&t->ff1[i], t->key, radix, &e) != VEIL_OK) {
                fail(t, e.code, "%s", e.msg);
                return;
            }
        }
        if (pc >= 0 && p->cols[pc].action == ACT_PSEUDONYMIZE && t->key == NULL) {
            fail(t, VEIL_ERR_USAGE, "%s:%u: column \"%s\" is pseudonymized: a key file is needed",
                 p->name, p->cols[pc].line, t->names[i]);
            return;
        }
        if (t->bind[i] == COL_DROP)
            continue;
        if ((!first && fputc(',', t->out) == EOF) ||
            write_field(t->out, t->names[i], strlen(t->names[i])) != 0) {
            fail(t, VEIL_ERR_IO, "write failed: %s", strerror(errno));
            return;
        }
        first = 0;
    }
    if (first) {
        fail(t, VEIL_ERR_INPUT, "%s: the policy drops every column of %s", p->name, t->name);
        return;
    }
    bind_rules(t, p->records, p->nrecords, t->rec_col);
    bind_rules(t, p->cells, p->ncells, t->cell_col);
    if (!t->failed && write_row_end(t) != 0)
        fail(t, VEIL_ERR_IO, "write failed: %s", strerror(errno));
    if (!t->failed)
        t->header_done = 1;
}

/* The transformation of one cell into res; VEIL_ERR_INPUT for a value the
 * rule cannot handle (the caller applies on_invalid). */
static veil_status apply_cell(veil_deid_transform *t, size_t i, const pol_column *c,
                              veil_deid_buf *res, veil_err *err)
{
    const veil_deid_buf *in = &t->in[i];
    const char *s = in->s ? in->s : "";
    char id[VEIL_RESIDENT_ID_LEN + 1];
    veil_status st;
    switch (c->action) {
    case ACT_KEEP: return veil_deid_buf_set(res, s, in->len, err);
    case ACT_DROP:
    case ACT_REDACT: return veil_deid_buf_set(res, c->replacement, strlen(c->replacement), err);
    case ACT_MASK: return veil_mask_apply(res, &c->mask, s, in->len, err);
    case ACT_PSEUDONYMIZE:
        return veil_pseudonym(res, t->key, c->method, c->format, c->bytes, c->domain, s, in->len,
                              err);
    case ACT_FPE:
        if (c->fpe_resident_id) {
            st = veil_resident_id_encrypt(id, t->ff1[i], s, in->len,
                                          (const unsigned char *)c->domain, strlen(c->domain), err);
            return st != VEIL_OK ? st : veil_deid_buf_set(res, id, VEIL_RESIDENT_ID_LEN, err);
        }
        if ((st = veil_deid_buf_set(res, s, in->len, err)) != VEIL_OK)
            return st;
        return veil_ff1_encrypt_text(res->s, t->ff1[i], c->alphabet, s, in->len,
                                     (const unsigned char *)c->domain, strlen(c->domain), err);
    case ACT_NOISE: {
        if ((st = veil_fixed_parse(t->num, s, in->len, c->scale, err)) != VEIL_OK ||
            (st = veil_dp_laplace_fixed(t->num, t->num, c->scale, c->epsilon, c->sensitivity,
                                        err)) != VEIL_OK)
            return st;
        char *txt = veil_fixed_format(t->num, c->scale);
        if (txt == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        st = veil_deid_buf_set(res, txt, strlen(txt), err);
        free(txt);
        return st;
    }
    case ACT_GENERALIZE:
        if (c->hier != NULL) {
            const char *g = veil_hierarchy_generalize(c->hier, s, c->hier_level);
            if (g == NULL || memchr(s, '\0', in->len) != NULL)
                return veil_err_set(err, VEIL_ERR_INPUT, "value not in the hierarchy %s",
                                    veil_hierarchy_name(c->hier));
            return veil_deid_buf_set(res, g, strlen(g), err);
        }
        if (c->is_date)
            return veil_gen_date(res, c->date, s, in->len, err);
        return veil_gen_num_apply(res, c->num, s, in->len, err);
    }
    return veil_err_set(err, VEIL_ERR_INTERNAL, "unknown action");
}

static int in_values(const pol_rule *r, const veil_deid_buf *b)
{
    for (size_t k = 0; k < r->nvalues; k++)
        if (strlen(r->values[k]) == b->len && memcmp(r->values[k], b->s ? b->s : "", b->len) == 0)
            return 1;
    return 0;
}

static void data_row(veil_deid_transform *t)
{
    const veil_deid_policy *p = t->pol;
    int suppress = 0;
    t->stats.rows_in++;
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->bind[i] == COL_DROP)
            continue;
        veil_err e;
        veil_err_clear(&e);
        if (t->bind[i] == COL_KEEP) {
            if (veil_deid_buf_set(&t->res[i], t->in[i].s ? t->in[i].s : "", t->in[i].len, &e) !=
                VEIL_OK) {
                fail(t, e.code, "%s", e.msg);
                return;
            }
            continue;
        }
        const pol_column *c = &p->cols[t->bind[i]];
        veil_status st = apply_cell(t, i, c, &t->res[i], &e);
        if (st == VEIL_OK)
            continue;
        if (st != VEIL_ERR_INPUT || c->on_invalid == INVALID_FAIL) {
            fail(t, st, "%s:%llu: column \"%s\": %s", t->name, (unsigned long long)t->row_line,
                 c->name, e.msg);
            return;
        }
        if (c->on_invalid == INVALID_SUPPRESS) {
            suppress = 1;
            continue;
        }
        t->stats.invalid_redacted++;
        if (veil_deid_buf_set(&t->res[i], c->replacement, strlen(c->replacement), &e) != VEIL_OK) {
            fail(t, e.code, "%s", e.msg);
            return;
        }
    }
    for (size_t r = 0; r < p->nrecords && !suppress; r++)
        suppress = in_values(&p->records[r], &t->res[t->rec_col[r]]);
    if (suppress) {
        t->stats.records_suppressed++;
        return;
    }
    for (size_t r = 0; r < p->ncells; r++) {
        veil_deid_buf *b = &t->res[t->cell_col[r]];
        veil_err e;
        if (in_values(&p->cells[r], b)) {
            t->stats.cells_suppressed++;
            if (veil_deid_buf_set(b, p->cell_replacement, strlen(p->cell_replacement), &e) !=
                VEIL_OK) {
                fail(t, e.code, "%s", e.msg);
                return;
            }
        }
    }
    int first = 1;
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->bind[i] == COL_DROP)
            continue;
        if ((!first && fputc(',', t->out) == EOF) ||
            write_field(t->out, t->res[i].s ? t->res[i].s : "", t->res[i].len) != 0) {
            fail(t, VEIL_ERR_IO, "write failed: %s", strerror(errno));
            return;
        }
        first = 0;
    }
    if (write_row_end(t) != 0)
        fail(t, VEIL_ERR_IO, "write failed: %s", strerror(errno));
    t->stats.rows_out++;
}

static void on_row(int c, void *ctx)
{
    veil_deid_transform *t = ctx;
    t->lf_ended = c == '\n';
    if (t->failed)
        return;
    if (t->field == 0) {
        if (c == '\n' && t->after_cr) {
            t->after_cr = 0;
            return;
        }
        t->after_cr = c == '\r';
        if (t->blank_line == 0)
            t->blank_line = t->line;
        return;
    }
    t->after_cr = c == '\r';
    size_t n = t->field;
    t->field = 0;
    if (!t->header_done) {
        finish_header(t);
        return;
    }
    if (n != t->ncols) {
        fail(t, VEIL_ERR_INPUT, "%s:%llu: row has %zu field%s but the header has %zu", t->name,
             (unsigned long long)t->row_line, n, n == 1 ? "" : "s", t->ncols);
        return;
    }
    data_row(t);
}

veil_status veil_deid_transform_new(veil_deid_transform **out, const veil_deid_policy *p,
                                    const veil_deid_key *key, const char *in_name, FILE *fp,
                                    veil_err *err)
{
    *out = NULL;
    veil_deid_transform *t = calloc(1, sizeof *t);
    if (t == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    t->name = strdup(in_name ? in_name : "input");
    if (t->name == NULL ||
        csv_init(&t->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
        free(t->name);
        free(t);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    csv_set_blk_size(&t->p, 4096);
    t->pol = p;
    t->key = key;
    t->out = fp;
    t->line = 1;
    t->row_line = 1;
    mpz_init(t->num);
    *out = t;
    return VEIL_OK;
}

veil_status veil_deid_transform_feed(veil_deid_transform *t, const void *buf, size_t len,
                                     veil_err *err)
{
    const unsigned char *b = buf;
    t->err = err;
    if (!t->bom_checked && len > 0) {
        /* a UTF-8 byte order mark before the header is not part of it */
        t->bom_checked = 1;
        if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) {
            b += 3;
            len -= 3;
        }
    }
    while (len > 0 && !t->failed) {
        size_t seg = len < FEED_PIECE ? len : FEED_PIECE;
        const unsigned char *nl = memchr(b, '\n', seg);
        if (nl != NULL)
            seg = (size_t)(nl - b) + 1;
        size_t done = csv_parse(&t->p, b, seg, on_field, on_row, t);
        if (t->failed)
            break;
        if (done < seg) {
            fail(t, VEIL_ERR_INPUT, "%s:%llu: malformed CSV (%s)", t->name,
                 (unsigned long long)t->line, csv_strerror(csv_error(&t->p)));
            break;
        }
        if (csv_get_buffer_size(&t->p) > VEIL_DEID_FIELD_MAX + 8192) {
            fail(t, VEIL_ERR_INPUT, "%s:%llu: a field is longer than %u bytes", t->name,
                 (unsigned long long)t->line, VEIL_DEID_FIELD_MAX);
            break;
        }
        if (b[seg - 1] == '\n')
            t->line++;
        b += seg;
        len -= seg;
    }
    return t->failed ? t->st : VEIL_OK;
}

veil_status veil_deid_transform_finish(veil_deid_transform *t, veil_err *err)
{
    t->err = err;
    if (t->failed)
        return t->st;
    if (csv_fini(&t->p, on_field, on_row, t) != 0 && !t->failed)
        fail(t, VEIL_ERR_INPUT, "%s:%llu: the file ends inside a quoted field", t->name,
             (unsigned long long)t->line);
    if (!t->failed && !t->header_done)
        fail(t, VEIL_ERR_INPUT, "%s: no header row: the file is empty", t->name);
    if (!t->failed && fflush(t->out) != 0)
        fail(t, VEIL_ERR_IO, "write failed: %s", strerror(errno));
    return t->failed ? t->st : VEIL_OK;
}

void veil_deid_transform_stats(const veil_deid_transform *t, veil_deid_stats *out)
{
    *out = t->stats;
}

void veil_deid_transform_free(veil_deid_transform *t)
{
    if (t == NULL)
        return;
    csv_free(&t->p);
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->in)
            veil_deid_buf_free(&t->in[i]);
        if (t->res)
            veil_deid_buf_free(&t->res[i]);
        if (t->ff1)
            veil_ff1_free(t->ff1[i]);
    }
    free(t->in);
    free(t->res);
    free(t->ff1);
    free(t->bind);
    free(t->rec_col);
    free(t->cell_col);
    free(t->name);
    mpz_clear(t->num);
    free(t);
}

static veil_status run_all(veil_deid_transform *t, FILE *f, const void *buf, size_t len,
                           const char *path, veil_deid_stats *stats, veil_err *err)
{
    veil_status st = VEIL_OK;
    if (f == NULL) {
        st = veil_deid_transform_feed(t, buf, len, err);
    } else {
        char *chunk = malloc(FEED_PIECE);
        if (chunk == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        while (st == VEIL_OK) {
            size_t got = fread(chunk, 1, FEED_PIECE, f);
            if (got > 0)
                st = veil_deid_transform_feed(t, chunk, got, err);
            if (got < FEED_PIECE) {
                if (ferror(f) && st == VEIL_OK)
                    st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed", path);
                break;
            }
        }
        free(chunk);
    }
    if (st == VEIL_OK)
        st = veil_deid_transform_finish(t, err);
    if (stats != NULL)
        veil_deid_transform_stats(t, stats);
    veil_deid_transform_free(t);
    return st;
}

veil_status veil_deid_apply_file(const veil_deid_policy *p, const veil_deid_key *key,
                                 const char *in_path, FILE *out, veil_deid_stats *stats,
                                 veil_err *err)
{
    FILE *f = fopen(in_path, "rb");
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", in_path, strerror(errno));
    veil_deid_transform *t = NULL;
    veil_status st = veil_deid_transform_new(&t, p, key, in_path, out, err);
    if (st == VEIL_OK)
        st = run_all(t, f, NULL, 0, in_path, stats, err);
    fclose(f);
    return st;
}

veil_status veil_deid_apply_mem(const veil_deid_policy *p, const veil_deid_key *key,
                                const void *buf, size_t len, const char *name, FILE *out,
                                veil_deid_stats *stats, veil_err *err)
{
    veil_deid_transform *t = NULL;
    veil_status st = veil_deid_transform_new(&t, p, key, name, out, err);
    if (st == VEIL_OK)
        st = run_all(t, NULL, buf, len, name, stats, err);
    return st;
}
