/* One CSV column, streamed through libcsv (strict RFC 4180 parsing), with
 * line numbers for every message. */
#include "csv_column.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FEED_PIECE (64u * 1024) /* largest slice handed to csv_parse */
#define CSV_BLOCK  4096         /* libcsv buffer growth step */

typedef struct {
    char *s;
    size_t len;
    size_t idx;
} header_name;

typedef struct {
    char *s;
    size_t len, cap;
} field_buf;

struct veil_csv_reader {
    struct csv_parser p;
    char *name, *column, *group_column;
    veil_csv_row_fn fn;
    void *ctx;

    /* header */
    int header_done;
    header_name *names;
    size_t nnames, names_cap, header_bytes;
    size_t ncols, value_idx, group_idx;

    /* position */
    uint64_t line;     /* 1 + LF bytes fed before the current piece */
    uint64_t line_off; /* bytes of the current line fed before the piece */
    uint64_t row_line; /* line where the current row starts */
    uint64_t blank_line;
    uint64_t quote_line; /* line of the quote still open, 0 if none known */
    int lf_ended;        /* the last row end seen was at an LF */
    int after_cr;
    size_t field; /* fields seen so far in the current row */
    uint64_t rows;

    field_buf value, group;

    /* byte order mark */
    int bom_done;
    size_t bom_len;

    /* failure state: callbacks cannot stop libcsv, so they record it */
    int failed;
    veil_status st;
    veil_err *err;
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

static void fail(veil_csv_reader *r, veil_status code, const char *fmt, ...) VEIL_PRINTF(3, 4);
static void fail(veil_csv_reader *r, veil_status code, const char *fmt, ...)
{
    char msg[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    veil_err_set(r->err, code, "%s", msg);
    r->failed = 1;
    r->st = code;
}

/* Appends text to msg (of size cap) with control bytes shown as '?', so a
 * hostile header cannot write escape sequences to the user's terminal. */
static void append_printable(char *msg, size_t cap, const char *s, size_t len)
{
    size_t used = strlen(msg);
    for (size_t i = 0; i < len && used + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        msg[used++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    msg[used] = '\0';
}

static int keep(field_buf *b, const void *data, size_t len)
{
    if (len + 1 > b->cap) {
        size_t cap = len + 1 < 64 ? 64 : len + 1;
        char *s = realloc(b->s, cap);
        if (s == NULL)
            return -1;
        b->s = s;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->s, data, len);
    b->s[len] = '\0';
    b->len = len;
    return 0;
}

static uint64_t count_lf(const char *s, size_t len)
{
    uint64_t n = 0;
    for (const char *p = s; (p = memchr(p, '\n', len - (size_t)(p - s))) != NULL; p++)
        n++;
    return n;
}

static void header_field(veil_csv_reader *r, const char *s, size_t len)
{
    if (r->nnames >= VEIL_CSV_COLUMNS_MAX) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: the header has more than %d columns", r->name,
             (unsigned long long)r->row_line, VEIL_CSV_COLUMNS_MAX);
        return;
    }
    r->header_bytes += len + 1;
    if (r->header_bytes > VEIL_CSV_HEADER_MAX) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: the header row is longer than %u bytes", r->name,
             (unsigned long long)r->row_line, VEIL_CSV_HEADER_MAX);
        return;
    }
    if (r->nnames == r->names_cap) {
        size_t cap = r->names_cap ? 2 * r->names_cap : 16;
        header_name *n = realloc(r->names, cap * sizeof *n);
        if (n == NULL) {
            fail(r, VEIL_ERR_NOMEM, "out of memory");
            return;
        }
        r->names = n;
        r->names_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        fail(r, VEIL_ERR_NOMEM, "out of memory");
        return;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    r->names[r->nnames].s = copy;
    r->names[r->nnames].len = len;
    r->names[r->nnames].idx = r->nnames;
    r->nnames++;
}

static void too_long(veil_csv_reader *r)
{
    if (r->quote_line != 0)
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: a field is longer than %u bytes (is the quote opened on line %llu "
             "ever closed?)",
             r->name, (unsigned long long)r->line, VEIL_CSV_FIELD_MAX,
             (unsigned long long)r->quote_line);
    else
        fail(r, VEIL_ERR_INPUT, "%s:%llu: a field is longer than %u bytes", r->name,
             (unsigned long long)r->line, VEIL_CSV_FIELD_MAX);
}

static void on_field(void *data, size_t len, void *ctx)
{
    veil_csv_reader *r = ctx;
    const char *s = data != NULL ? data : "";
    if (r->failed)
        return;
    r->after_cr = 0;
    if (r->field == 0) {
        uint64_t lf = count_lf(s, len);
        r->row_line = r->line > lf ? r->line - lf : 1;
    }
    if (r->blank_line != 0) {
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: blank line (blank lines are allowed only at the end of the file)", r->name,
             (unsigned long long)r->blank_line);
        return;
    }
    if (len > VEIL_CSV_FIELD_MAX) {
        too_long(r);
        return;
    }
    if (!r->header_done) {
        header_field(r, s, len);
    } else if (r->field >= r->ncols) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: row has more fields than the header (%zu)", r->name,
             (unsigned long long)r->row_line, r->ncols);
        return;
    } else if (r->field == r->value_idx || r->field == r->group_idx) {
        field_buf *b = r->field == r->value_idx ? &r->value : &r->group;
        if (keep(b, s, len) != 0) {
            fail(r, VEIL_ERR_NOMEM, "out of memory");
            return;
        }
    }
    r->field++;
}

static int cmp_names(const void *a, const void *b)
{
    const header_name *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static size_t find_name(const veil_csv_reader *r, const char *want)
{
    size_t len = strlen(want);
    for (size_t i = 0; i < r->nnames; i++)
        if (r->names[i].len == len && memcmp(r->names[i].s, want, len) == 0)
            return r->names[i].idx;
    return SIZE_MAX;
}

static void not_found(veil_csv_reader *r, const char *what, const char *want)
{
    char msg[VEIL_ERR_MSG_MAX] = "";
    snprintf(msg, sizeof msg, "%s \"", what);
    append_printable(msg, sizeof msg, want, strlen(want));
    snprintf(msg + strlen(msg), sizeof msg - strlen(msg),
             "\" not found in %s; columns are: ", r->name);
    for (size_t i = 0; i < r->nnames; i++) {
        if (i > 0)
            append_printable(msg, sizeof msg, ", ", 2);
        append_printable(msg, sizeof msg, r->names[i].s, r->names[i].len);
    }
    fail(r, VEIL_ERR_INPUT, "%s", msg);
}

static void free_names(veil_csv_reader *r)
{
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i].s);
    free(r->names);
    r->names = NULL;
    r->nnames = r->names_cap = 0;
}

static void finish_header(veil_csv_reader *r)
{
    r->ncols = r->nnames;
    r->value_idx = find_name(r, r->column);
    if (r->value_idx == SIZE_MAX) {
        not_found(r, "column", r->column);
        return;
    }
    if (r->group_column != NULL) {
        r->group_idx = find_name(r, r->group_column);
        if (r->group_idx == SIZE_MAX) {
            not_found(r, "group column", r->group_column);
            return;
        }
    }
    header_name *sorted = malloc(r->nnames * sizeof *sorted);
    if (sorted == NULL) {
        fail(r, VEIL_ERR_NOMEM, "out of memory");
        return;
    }
    memcpy(sorted, r->names, r->nnames * sizeof *sorted);
    qsort(sorted, r->nnames, sizeof *sorted, cmp_names);
    for (size_t i = 1; i < r->nnames; i++) {
        if (sorted[i].len == sorted[i - 1].len &&
            memcmp(sorted[i].s, sorted[i - 1].s, sorted[i].len) == 0) {
            char msg[VEIL_ERR_MSG_MAX] = "";
            snprintf(msg, sizeof msg, "%s:%llu: duplicate column name \"", r->name,
                     (unsigned long long)r->row_line);
            append_printable(msg, sizeof msg, sorted[i].s, sorted[i].len);
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "\" (columns %zu and %zu)",
                     sorted[i - 1].idx + 1, sorted[i].idx + 1);
            fail(r, VEIL_ERR_INPUT, "%s", msg);
            break;
        }
    }
    free(sorted);
    if (!r->failed) {
        r->header_done = 1;
        free_names(r);
    }
}

static void on_row(int c, void *ctx)
{
    veil_csv_reader *r = ctx;
    r->lf_ended = c == '\n';
    r->quote_line = 0;
    if (r->failed)
        return;
    if (r->field == 0) {
        /* An empty row is a blank line, or the LF of a CRLF whose CR
         * already ended the previous row. */
        if (c == '\n' && r->after_cr) {
            r->after_cr = 0;
            return;
        }
        r->after_cr = c == '\r';
        if (r->blank_line == 0)
            r->blank_line = r->line;
        return;
    }
    r->after_cr = c == '\r';
    size_t nfields = r->field;
    r->field = 0;
    if (!r->header_done) {
        finish_header(r);
        return;
    }
    if (nfields != r->ncols) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: row has %zu field%s but the header has %zu", r->name,
             (unsigned long long)r->row_line, nfields, nfields == 1 ? "" : "s", r->ncols);
        return;
    }
    r->rows++;
    veil_csv_row row = {
        .file = r->name,
        .line = r->row_line,
        .row = r->rows,
        .column = r->column,
        .value = r->value.s,
        .value_len = r->value.len,
        .group_column = r->group_column,
        .group = r->group_column ? r->group.s : NULL,
        .group_len = r->group_column ? r->group.len : 0,
    };
    veil_status st = r->fn(r->ctx, &row, r->err);
    if (st != VEIL_OK) {
        r->failed = 1;
        r->st = st;
    }
}

static char *dup_or_null(const char *s, int *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

veil_status veil_csv_reader_new(veil_csv_reader **out, const char *name, const char *column,
                                const char *group_column, veil_csv_row_fn fn, void *ctx,
                                veil_err *err)
{
    *out = NULL;
    if (column == NULL || fn == NULL)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "csv reader: column and callback required");
    if (group_column != NULL && strcmp(group_column, column) == 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the value column \"%s\" cannot also be the group column", column);
    veil_csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    int oom = 0;
    r->name = dup_or_null(name ? name : "input", &oom);
    r->column = dup_or_null(column, &oom);
    r->group_column = dup_or_null(group_column, &oom);
    if (oom ||
        csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
        free(r->name);
        free(r->column);
        free(r->group_column);
        free(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    csv_set_blk_size(&r->p, CSV_BLOCK);
    r->fn = fn;
    r->ctx = ctx;
    r->line = 1;
    r->row_line = 1;
    r->group_idx = SIZE_MAX;
    *out = r;
    return VEIL_OK;
}

static void parse_error(veil_csv_reader *r, size_t at)
{
    int e = csv_error(&r->p);
    unsigned long long line = (unsigned long long)r->line;
    unsigned long long col = (unsigned long long)(r->line_off + at + 1);
    if (e == CSV_ENOMEM)
        fail(r, VEIL_ERR_NOMEM, "%s:%llu: out of memory", r->name, line);
    else if (e == CSV_EPARSE)
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu:%llu: malformed CSV: a quote inside an unquoted field, or text after "
             "a closing quote (quote fields as \"...\" and double quotes inside them)",
             r->name, line, col);
    else
        fail(r, VEIL_ERR_INPUT, "%s:%llu:%llu: malformed CSV (%s)", r->name, line, col,
             csv_strerror(e));
}

/* Hands one piece (ending at the first LF, at most FEED_PIECE bytes) at a
 * time to libcsv, so that callbacks know the line they are on and an
 * oversized field is caught after at most one piece. */
static veil_status feed_raw(veil_csv_reader *r, const unsigned char *b, size_t len)
{
    while (len > 0 && !r->failed) {
        size_t seg = len < FEED_PIECE ? len : FEED_PIECE;
        const unsigned char *nl = memchr(b, '\n', seg);
        if (nl != NULL)
            seg = (size_t)(nl - b) + 1;
        r->lf_ended = 0;
        size_t done = csv_parse(&r->p, b, seg, on_field, on_row, r);
        if (r->failed)
            break;
        if (done < seg) {
            parse_error(r, done);
            break;
        }
        if (csv_get_buffer_size(&r->p) > VEIL_CSV_FIELD_MAX + 2 * CSV_BLOCK) {
            too_long(r);
            break;
        }
        /* An LF that ended no row lies inside a quoted field; if none was
         * open at the previous LF, that quote opened on this line. */
        if (b[seg - 1] == '\n' && !r->lf_ended && r->quote_line == 0)
            r->quote_line = r->line;
        if (b[seg - 1] == '\n') {
            r->line++;
            r->line_off = 0;
        } else {
            r->line_off += seg;
        }
        b += seg;
        len -= seg;
    }
    return r->failed ? r->st : VEIL_OK;
}

veil_status veil_csv_reader_feed(veil_csv_reader *r, const void *buf, size_t len, veil_err *err)
{
    const unsigned char *b = buf;
    r->err = err;
    if (r->failed)
        return r->st;
    if (!r->bom_done) {
        while (len > 0 && r->bom_len < sizeof BOM && b[0] == BOM[r->bom_len]) {
            r->bom_len++;
            b++;
            len--;
        }
        if (r->bom_len == sizeof BOM) {
            r->bom_done = 1;
        } else if (len > 0) {
            /* Not a BOM after all: the bytes taken belong to the data. */
            r->bom_done = 1;
            veil_status st = feed_raw(r, BOM, r->bom_len);
            if (st != VEIL_OK)
                return st;
        }
    }
    return feed_raw(r, b, len);
}

veil_status veil_csv_reader_finish(veil_csv_reader *r, veil_err *err)
{
    r->err = err;
    if (r->failed)
        return r->st;
    if (!r->bom_done && r->bom_len > 0) {
        r->bom_done = 1;
        veil_status st = feed_raw(r, BOM, r->bom_len);
        if (st != VEIL_OK)
            return st;
    }
    if (csv_fini(&r->p, on_field, on_row, r) != 0 && !r->failed) {
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: the file ends inside a quoted field (opened on line %llu)", r->name,
             (unsigned long long)r->line,
             (unsigned long long)(r->quote_line ? r->quote_line : r->line));
    }
    if (r->failed)
        return r->st;
    if (!r->header_done)
        fail(r, VEIL_ERR_INPUT, "%s: no header row: the file is empty", r->name);
    return r->failed ? r->st : VEIL_OK;
}

uint64_t veil_csv_reader_rows(const veil_csv_reader *r)
{
    return r->rows;
}

void veil_csv_reader_free(veil_csv_reader *r)
{
    if (r == NULL)
        return;
    csv_free(&r->p);
    free_names(r);
    free(r->value.s);
    free(r->group.s);
    free(r->name);
    free(r->column);
    free(r->group_column);
    free(r);
}

veil_status veil_csv_read_mem(const void *buf, size_t len, const char *name, const char *column,
                              const char *group_column, veil_csv_row_fn fn, void *ctx,
                              uint64_t *rows, veil_err *err)
{
    veil_csv_reader *r = NULL;
    veil_status st = veil_csv_reader_new(&r, name, column, group_column, fn, ctx, err);
    if (st != VEIL_OK)
        return st;
    st = veil_csv_reader_feed(r, buf, len, err);
    if (st == VEIL_OK)
        st = veil_csv_reader_finish(r, err);
    if (rows != NULL)
        *rows = veil_csv_reader_rows(r);
    veil_csv_reader_free(r);
    return st;
}

veil_status veil_csv_read_file(const char *path, const char *column, const char *group_column,
                               veil_csv_row_fn fn, void *ctx, uint64_t *rows, veil_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    veil_csv_reader *r = NULL;
    char *buf = malloc(FEED_PIECE);
    veil_status st = buf ? veil_csv_reader_new(&r, path, column, group_column, fn, ctx, err)
                         : veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    while (st == VEIL_OK) {
        size_t got = fread(buf, 1, FEED_PIECE, f);
        if (got > 0)
            st = veil_csv_reader_feed(r, buf, got, err);
        if (got < FEED_PIECE) {
            if (ferror(f) && st == VEIL_OK)
                st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    if (st == VEIL_OK)
        st = veil_csv_reader_finish(r, err);
    if (rows != NULL)
        *rows = r ? veil_csv_reader_rows(r) : 0;
    veil_csv_reader_free(r);
    free(buf);
    fclose(f);
    return st;
}

int veil_csv_write_field(FILE *out, const char *s, size_t len)
{
    int quote = len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        return csv_fwrite(out, s, len) == 0 ? 0 : EOF;
    return len == 0 || fwrite(s, 1, len, out) == len ? 0 : EOF;
}
