/* Delimited tables: a streaming all-fields reader over libcsv (strict
 * mode, any delimiter), a string dictionary, and the coded in-memory table
 * the privacy models work on. */
#include "veil/table.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dict_internal.h"
#include "veil/hierarchy.h"

#define FEED_PIECE (64u * 1024) /* largest slice handed to csv_parse */
#define CSV_BLOCK  4096         /* libcsv buffer growth step */

/* ---- String dictionary ----------------------------------------------- */

uint64_t veil_hash_bytes(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

void veil_dict_init(veil_dict *d)
{
    memset(d, 0, sizeof *d);
}

void veil_dict_free(veil_dict *d)
{
    free(d->arena);
    free(d->off);
    free(d->len);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

int64_t veil_dict_find(const veil_dict *d, const char *s, size_t len)
{
    if (d->nslots == 0)
        return -1;
    size_t mask = d->nslots - 1;
    for (size_t i = (size_t)veil_hash_bytes(s, len) & mask;; i = (i + 1) & mask) {
        uint32_t c = d->slots[i];
        if (c == UINT32_MAX)
            return -1;
        if (d->len[c] == len && memcmp(d->arena + d->off[c], s, len) == 0)
            return c;
    }
}

static int dict_rehash(veil_dict *d, size_t nslots)
{
    uint32_t *slots = malloc(nslots * sizeof *slots);
    if (slots == NULL)
        return -1;
    memset(slots, 0xff, nslots * sizeof *slots);
    size_t mask = nslots - 1;
    for (uint32_t c = 0; c < d->n; c++) {
        size_t i = (size_t)veil_hash_bytes(d->arena + d->off[c], d->len[c]) & mask;
        while (slots[i] != UINT32_MAX)
            i = (i + 1) & mask;
        slots[i] = c;
    }
    free(d->slots);
    d->slots = slots;
    d->nslots = nslots;
    return 0;
}

int64_t veil_dict_add(veil_dict *d, const char *s, size_t len, uint32_t limit, int *added)
{
    *added = 0;
    int64_t found = veil_dict_find(d, s, len);
    if (found >= 0)
        return found;
    if (d->n >= limit)
        return -2;
    if (2 * ((size_t)d->n + 1) > d->nslots && dict_rehash(d, d->nslots ? 2 * d->nslots : 64) != 0)
        return -1;
    if (d->n == d->codes_cap) {
        uint32_t cap = d->codes_cap ? 2 * d->codes_cap : 64;
        size_t *off = realloc(d->off, cap * sizeof *off);
        if (off == NULL)
            return -1;
        d->off = off;
        size_t *ln = realloc(d->len, cap * sizeof *ln);
        if (ln == NULL)
            return -1;
        d->len = ln;
        d->codes_cap = cap;
    }
    if (d->arena_len + len + 1 > d->arena_cap) {
        size_t cap = d->arena_cap ? d->arena_cap : 1024;
        while (cap < d->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(d->arena, cap);
        if (a == NULL)
            return -1;
        d->arena = a;
        d->arena_cap = cap;
    }
    memcpy(d->arena + d->arena_len, s, len);
    d->arena[d->arena_len + len] = '\0';
    uint32_t c = d->n++;
    d->off[c] = d->arena_len;
    d->len[c] = len;
    d->arena_len += len + 1;
    size_t mask = d->nslots - 1;
    size_t i = (size_t)veil_hash_bytes(s, len) & mask;
    while (d->slots[i] != UINT32_MAX)
        i = (i + 1) & mask;
    d->slots[i] = c;
    *added = 1;
    return c;
}

const char *veil_dict_str(const veil_dict *d, uint32_t code)
{
    return d->arena + d->off[code];
}

size_t veil_dict_len(const veil_dict *d, uint32_t code)
{
    return d->len[code];
}

/* ---- Streaming reader -------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} field_buf;

struct veil_table_reader {
    struct csv_parser p;
    char *name;
    unsigned char delim;
    int has_header;
    veil_table_row_fn fn;
    void *ctx;

    uint64_t line;     /* 1 + LF bytes fed before the current piece */
    uint64_t line_off; /* bytes of the current line fed before the piece */
    uint64_t row_line; /* line where the current row starts */
    uint64_t blank_line;
    uint64_t quote_line;
    int lf_ended, after_cr;
    uint64_t rows; /* rows delivered, header included */
    size_t ncols;  /* fields of the header (0 before it) */

    field_buf *fb; /* fields of the current row */
    char **fields;
    size_t *lens;
    size_t nf, fcap;

    int bom_done;
    size_t bom_len;

    int failed;
    veil_status st;
    veil_err *err;
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

static void fail(veil_table_reader *r, veil_status code, const char *fmt, ...) VEIL_PRINTF(3, 4);
static void fail(veil_table_reader *r, veil_status code, const char *fmt, ...)
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

/* Strict UTF-8 check (no overlongs, no surrogates, at most U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

static uint64_t count_lf(const char *s, size_t len)
{
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

static void too_long(veil_table_reader *r)
{
    if (r->quote_line != 0)
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: a field is longer than %u bytes (is the quote opened on line %llu "
             "ever closed?)",
             r->name, (unsigned long long)r->line, VEIL_TABLE_FIELD_MAX,
             (unsigned long long)r->quote_line);
    else
        fail(r, VEIL_ERR_INPUT, "%s:%llu: a field is longer than %u bytes", r->name,
             (unsigned long long)r->line, VEIL_TABLE_FIELD_MAX);
}

static int grow_fields(veil_table_reader *r)
{
    size_t cap = r->fcap ? 2 * r->fcap : 16;
    field_buf *fb = realloc(r->fb, cap * sizeof *fb);
    if (fb == NULL)
        return -1;
    memset(fb + r->fcap, 0, (cap - r->fcap) * sizeof *fb);
    r->fb = fb;
    char **f = realloc(r->fields, cap * sizeof *f);
    if (f == NULL)
        return -1;
    r->fields = f;
    size_t *l = realloc(r->lens, cap * sizeof *l);
    if (l == NULL)
        return -1;
    r->lens = l;
    r->fcap = cap;
    return 0;
}

static void on_field(void *data, size_t len, void *ctx)
{
    veil_table_reader *r = ctx;
    const char *s = data != NULL ? data : "";
    if (r->failed)
        return;
    r->after_cr = 0;
    if (r->nf == 0) {
        uint64_t lf = count_lf(s, len);
        r->row_line = r->line > lf ? r->line - lf : 1;
    }
    if (r->blank_line != 0) {
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: blank line (blank lines are allowed only at the end of the file)", r->name,
             (unsigned long long)r->blank_line);
        return;
    }
    if (len > VEIL_TABLE_FIELD_MAX) {
        too_long(r);
        return;
    }
    if (r->nf >= VEIL_TABLE_COLUMNS_MAX || (r->ncols > 0 && r->nf >= r->ncols)) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: row has more than %zu fields", r->name,
             (unsigned long long)r->row_line,
             r->ncols > 0 ? r->ncols : (size_t)VEIL_TABLE_COLUMNS_MAX);
        return;
    }
    if (!utf8_valid((const unsigned char *)s, len)) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: field %zu is not valid UTF-8", r->name,
             (unsigned long long)r->row_line, r->nf + 1);
        return;
    }
    if (r->nf == r->fcap && grow_fields(r) != 0) {
        fail(r, VEIL_ERR_NOMEM, "out of memory");
        return;
    }
    field_buf *b = &r->fb[r->nf];
    if (len + 1 > b->cap) {
        size_t cap = len + 1 < 32 ? 32 : len + 1;
        char *ns = realloc(b->s, cap);
        if (ns == NULL) {
            fail(r, VEIL_ERR_NOMEM, "out of memory");
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->s, s, len);
    b->s[len] = '\0';
    b->len = len;
    r->nf++;
}

static void on_row(int c, void *ctx)
{
    veil_table_reader *r = ctx;
    r->lf_ended = c == '\n';
    r->quote_line = 0;
    if (r->failed)
        return;
    if (r->nf == 0) {
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
    size_t nf = r->nf;
    r->nf = 0;
    if (r->has_header && r->rows == 0) {
        r->ncols = nf;
    } else if (r->has_header && nf != r->ncols) {
        fail(r, VEIL_ERR_INPUT, "%s:%llu: row has %zu field%s but the header has %zu", r->name,
             (unsigned long long)r->row_line, nf, nf == 1 ? "" : "s", r->ncols);
        return;
    }
    for (size_t i = 0; i < nf; i++) {
        r->fields[i] = r->fb[i].s;
        r->lens[i] = r->fb[i].len;
    }
    veil_table_row row = {
        .file = r->name,
        .line = r->row_line,
        .row = r->has_header ? r->rows : r->rows + 1,
        .nfields = nf,
        .fields = r->fields,
        .lens = r->lens,
    };
    r->rows++;
    veil_status st = r->fn(r->ctx, &row, r->err);
    if (st != VEIL_OK) {
        r->failed = 1;
        r->st = st;
    }
}

veil_status veil_table_reader_new(veil_table_reader **out, const char *name, unsigned char delim,
                                  int has_header, veil_table_row_fn fn, void *ctx, veil_err *err)
{
    *out = NULL;
    if (fn == NULL)
        return veil_err_set(err, VEIL_ERR_INTERNAL, "table reader: callback required");
    if (delim == '"' || delim == '\r' || delim == '\n' || delim == '\0')
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "the delimiter cannot be a quote, a line end or NUL");
    veil_table_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    r->name = strdup(name ? name : "input");
    if (r->name == NULL ||
        csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
        free(r->name);
        free(r);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    csv_set_delim(&r->p, delim);
    csv_set_blk_size(&r->p, CSV_BLOCK);
    r->delim = delim;
    r->has_header = has_header;
    r->fn = fn;
    r->ctx = ctx;
    r->line = 1;
    r->row_line = 1;
    *out = r;
    return VEIL_OK;
}

static void parse_error(veil_table_reader *r, size_t at)
{
    int e = csv_error(&r->p);
    unsigned long long line = (unsigned long long)r->line;
    unsigned long long col = (unsigned long long)(r->line_off + at + 1);
    if (e == CSV_ENOMEM)
        fail(r, VEIL_ERR_NOMEM, "%s:%llu: out of memory", r->name, line);
    else
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu:%llu: malformed CSV: a quote inside an unquoted field, or text after "
             "a closing quote (quote fields as \"...\" and double quotes inside them)",
             r->name, line, col);
}

/* Hands one piece (ending at the first LF) at a time to libcsv, so that
 * callbacks know the line they are on. */
static veil_status feed_raw(veil_table_reader *r, const unsigned char *b, size_t len)
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
        if (csv_get_buffer_size(&r->p) > VEIL_TABLE_FIELD_MAX + 2 * CSV_BLOCK) {
            too_long(r);
            break;
        }
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

veil_status veil_table_reader_feed(veil_table_reader *r, const void *buf, size_t len, veil_err *err)
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
            r->bom_done = 1;
            veil_status st = feed_raw(r, BOM, r->bom_len);
            if (st != VEIL_OK)
                return st;
        }
    }
    return feed_raw(r, b, len);
}

veil_status veil_table_reader_finish(veil_table_reader *r, veil_err *err)
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
    if (csv_fini(&r->p, on_field, on_row, r) != 0 && !r->failed)
        fail(r, VEIL_ERR_INPUT,
             "%s:%llu: the file ends inside a quoted field (opened on line %llu)", r->name,
             (unsigned long long)r->line,
             (unsigned long long)(r->quote_line ? r->quote_line : r->line));
    if (r->failed)
        return r->st;
    if (r->has_header && r->rows == 0)
        fail(r, VEIL_ERR_INPUT, "%s: no header row: the file is empty", r->name);
    return r->failed ? r->st : VEIL_OK;
}

static uint64_t data_rows(const veil_table_reader *r)
{
    if (r == NULL)
        return 0;
    return r->has_header && r->rows > 0 ? r->rows - 1 : r->rows;
}

void veil_table_reader_free(veil_table_reader *r)
{
    if (r == NULL)
        return;
    csv_free(&r->p);
    for (size_t i = 0; i < r->fcap; i++)
        free(r->fb[i].s);
    free(r->fb);
    free(r->fields);
    free(r->lens);
    free(r->name);
    free(r);
}

veil_status veil_table_read_mem(const void *buf, size_t len, const char *name, unsigned char delim,
                                int has_header, veil_table_row_fn fn, void *ctx, uint64_t *rows,
                                veil_err *err)
{
    veil_table_reader *r = NULL;
    veil_status st = veil_table_reader_new(&r, name, delim, has_header, fn, ctx, err);
    if (st != VEIL_OK)
        return st;
    st = veil_table_reader_feed(r, buf, len, err);
    if (st == VEIL_OK)
        st = veil_table_reader_finish(r, err);
    if (rows != NULL)
        *rows = data_rows(r);
    veil_table_reader_free(r);
    return st;
}

veil_status veil_table_read_file(const char *path, unsigned char delim, int has_header,
                                 veil_table_row_fn fn, void *ctx, uint64_t *rows, veil_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    veil_table_reader *r = NULL;
    char *buf = malloc(FEED_PIECE);
    veil_status st = buf ? veil_table_reader_new(&r, path, delim, has_header, fn, ctx, err)
                         : veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    while (st == VEIL_OK) {
        size_t got = fread(buf, 1, FEED_PIECE, f);
        if (got > 0)
            st = veil_table_reader_feed(r, buf, got, err);
        if (got < FEED_PIECE) {
            if (ferror(f) && st == VEIL_OK)
                st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    if (st == VEIL_OK)
        st = veil_table_reader_finish(r, err);
    if (rows != NULL)
        *rows = data_rows(r);
    veil_table_reader_free(r);
    free(buf);
    fclose(f);
    return st;
}

int veil_table_write_field(FILE *out, const char *s, size_t len, unsigned char delim)
{
    int quote = len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t');
    for (size_t i = 0; i < len && !quote; i++)
        quote = (unsigned char)s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        return csv_fwrite(out, s, len) == 0 ? 0 : EOF;
    return len == 0 || fwrite(s, 1, len, out) == len ? 0 : EOF;
}

/* ---- Coded in-memory table --------------------------------------------- */

typedef struct {
    char *name;
    size_t index; /* position in the header */
    veil_hierarchy *h;
    veil_dict dict; /* used when h is NULL */
    uint32_t *codes;
} table_col;

struct veil_table {
    size_t ncols;
    table_col *cols;
    size_t nrows, cap;
    uint64_t *lines;
};

typedef struct {
    veil_table *t;
    const char *path;
} load_ctx;

/* Appends printable text (control bytes shown as '?') to msg. */
static void append_printable(char *msg, size_t cap, const char *s, size_t len)
{
    size_t used = strlen(msg);
    for (size_t i = 0; i < len && used + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        msg[used++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    msg[used] = '\0';
}

static veil_status load_header(veil_table *t, const veil_table_row *row, veil_err *err)
{
    for (size_t c = 0; c < t->ncols; c++) {
        size_t found = SIZE_MAX;
        for (size_t i = 0; i < row->nfields; i++) {
            if (strcmp(row->fields[i], t->cols[c].name) != 0 ||
                strlen(t->cols[c].name) != row->lens[i])
                continue;
            if (found != SIZE_MAX)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "%s:%llu: column \"%s\" appears twice in the header "
                                    "(columns %zu and %zu)",
                                    row->file, (unsigned long long)row->line, t->cols[c].name,
                                    found + 1, i + 1);
            found = i;
        }
        if (found == SIZE_MAX) {
            char msg[VEIL_ERR_MSG_MAX] = "";
            snprintf(msg, sizeof msg, "%s: column \"", row->file);
            append_printable(msg, sizeof msg, t->cols[c].name, strlen(t->cols[c].name));
            append_printable(msg, sizeof msg, "\" not found; columns are: ", 26);
            for (size_t i = 0; i < row->nfields; i++) {
                if (i > 0)
                    append_printable(msg, sizeof msg, ", ", 2);
                append_printable(msg, sizeof msg, row->fields[i], row->lens[i]);
            }
            return veil_err_set(err, VEIL_ERR_INPUT, "%s", msg);
        }
        t->cols[c].index = found;
    }
    return VEIL_OK;
}

static veil_status load_row(void *ctx, const veil_table_row *row, veil_err *err)
{
    load_ctx *lc = ctx;
    veil_table *t = lc->t;
    if (row->row == 0)
        return load_header(t, row, err);
    if (t->nrows >= VEIL_TABLE_ROWS_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: more than %u data rows", row->file,
                            (unsigned long long)row->line, VEIL_TABLE_ROWS_MAX);
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        uint64_t *l = realloc(t->lines, cap * sizeof *l);
        if (l == NULL)
            return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        t->lines = l;
        for (size_t c = 0; c < t->ncols; c++) {
            uint32_t *codes = realloc(t->cols[c].codes, cap * sizeof *codes);
            if (codes == NULL)
                return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            t->cols[c].codes = codes;
        }
        t->cap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        table_col *col = &t->cols[c];
        const char *s = row->fields[col->index];
        size_t len = row->lens[col->index];
        int64_t code;
        if (col->h != NULL) {
            code = veil_hierarchy_code(col->h, s, len);
            if (code < 0) {
                char msg[VEIL_ERR_MSG_MAX] = "";
                snprintf(msg, sizeof msg, "%s:%llu: column %s: value \"", row->file,
                         (unsigned long long)row->line, col->name);
                append_printable(msg, sizeof msg, s, len > 64 ? 64 : len);
                snprintf(msg + strlen(msg), sizeof msg - strlen(msg),
                         "\" is not in the hierarchy %s", veil_hierarchy_name(col->h));
                return veil_err_set(err, VEIL_ERR_INPUT, "%s", msg);
            }
        } else {
            int added;
            code = veil_dict_add(&col->dict, s, len, UINT32_MAX - 1, &added);
            if (code < 0)
                return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        }
        col->codes[t->nrows] = (uint32_t)code;
    }
    t->lines[t->nrows] = row->line;
    t->nrows++;
    return VEIL_OK;
}

veil_status veil_table_load(veil_table **out, const char *path, unsigned char delim,
                            const char *const *cols, size_t ncols,
                            struct veil_hierarchy *const *hier, veil_err *err)
{
    *out = NULL;
    if (ncols == 0 || ncols > VEIL_TABLE_COLUMNS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "between 1 and %d columns must be chosen",
                            VEIL_TABLE_COLUMNS_MAX);
    for (size_t i = 0; i < ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[i], cols[j]) == 0)
                return veil_err_set(err, VEIL_ERR_USAGE, "column \"%s\" is chosen twice", cols[i]);
    veil_table *t = calloc(1, sizeof *t);
    veil_status st = VEIL_OK;
    if (t == NULL || (t->cols = calloc(ncols, sizeof *t->cols)) == NULL) {
        free(t);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    t->ncols = ncols;
    for (size_t c = 0; c < ncols; c++) {
        veil_dict_init(&t->cols[c].dict);
        t->cols[c].h = hier ? hier[c] : NULL;
        if ((t->cols[c].name = strdup(cols[c])) == NULL) {
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    load_ctx lc = {t, path};
    st = veil_table_read_file(path, delim, 1, load_row, &lc, NULL, err);
done:
    if (st != VEIL_OK) {
        veil_table_free(t);
        return st;
    }
    *out = t;
    return VEIL_OK;
}

void veil_table_free(veil_table *t)
{
    if (t == NULL)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->cols[c].name);
        free(t->cols[c].codes);
        veil_dict_free(&t->cols[c].dict);
    }
    free(t->cols);
    free(t->lines);
    free(t);
}

size_t veil_table_rows(const veil_table *t)
{
    return t->nrows;
}

size_t veil_table_cols(const veil_table *t)
{
    return t->ncols;
}

uint32_t veil_table_code(const veil_table *t, size_t c, size_t r)
{
    return t->cols[c].codes[r];
}

const uint32_t *veil_table_column(const veil_table *t, size_t c)
{
    return t->cols[c].codes;
}

size_t veil_table_domain(const veil_table *t, size_t c)
{
    const table_col *col = &t->cols[c];
    return col->h ? veil_hierarchy_size(col->h, 0) : col->dict.n;
}

const char *veil_table_value(const veil_table *t, size_t c, uint32_t code)
{
    const table_col *col = &t->cols[c];
    return col->h ? veil_hierarchy_label(col->h, 0, code) : veil_dict_str(&col->dict, code);
}

int64_t veil_table_lookup(const veil_table *t, size_t c, const char *s, size_t len)
{
    const table_col *col = &t->cols[c];
    return col->h ? veil_hierarchy_code(col->h, s, len) : veil_dict_find(&col->dict, s, len);
}

const char *veil_table_col_name(const veil_table *t, size_t c)
{
    return t->cols[c].name;
}

size_t veil_table_col_index(const veil_table *t, size_t c)
{
    return t->cols[c].index;
}

uint64_t veil_table_line(const veil_table *t, size_t r)
{
    return t->lines[r];
}
