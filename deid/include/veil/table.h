/* Delimited text tables for de-identification: a streaming reader that
 * hands every field of every row to a callback (libcsv underneath, any
 * one-byte delimiter, RFC 4180 quoting), and an in-memory table of
 * integer-coded columns for the privacy models and the risk report.
 *
 * Reader rules: CRLF and LF line ends, a UTF-8 byte order mark and blank
 * lines at the end of the file are accepted; a blank line elsewhere, a
 * field longer than VEIL_TABLE_FIELD_MAX bytes, a field that is not valid
 * UTF-8, a malformed quote, or (when the first row is a header) a row
 * whose field count differs from the header's are VEIL_ERR_INPUT with a
 * message naming the file and line. Memory stays bounded by the longest
 * row, whatever the number of rows. */
#ifndef VEIL_TABLE_H
#define VEIL_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_TABLE_FIELD_MAX   (1u << 20) /* bytes in one field */
#define VEIL_TABLE_COLUMNS_MAX 4096       /* fields in one row */
#define VEIL_TABLE_ROWS_MAX    100000000u /* rows of an in-memory table */

/* One row as delivered to the callback. Strings are NUL-terminated, point
 * into the reader and stay valid until the callback returns. */
typedef struct {
    const char *file; /* name given to the reader, for messages */
    uint64_t line;    /* line on which the row starts (1 = first line) */
    uint64_t row;     /* 0 for the header row, then 1, 2, ... */
    size_t nfields;
    char **fields;
    const size_t *lens;
} veil_table_row;

/* Returns VEIL_OK to go on; anything else stops the reader, which returns
 * that status with err as the callback left it. */
typedef veil_status (*veil_table_row_fn)(void *ctx, const veil_table_row *row, veil_err *err);

typedef struct veil_table_reader veil_table_reader;

/* `name` appears in messages. With has_header, the first row is delivered
 * as row 0 and every later row must have as many fields. */
veil_status veil_table_reader_new(veil_table_reader **out, const char *name, unsigned char delim,
                                  int has_header, veil_table_row_fn fn, void *ctx,
                                  veil_err *err) VEIL_WUR;
veil_status veil_table_reader_feed(veil_table_reader *r, const void *buf, size_t len,
                                   veil_err *err) VEIL_WUR;
/* Ends the input: flushes a last row without a line end and checks that
 * no quoted field is left open. */
veil_status veil_table_reader_finish(veil_table_reader *r, veil_err *err) VEIL_WUR;
void veil_table_reader_free(veil_table_reader *r);

/* Whole-input helpers. *rows (may be NULL) receives the data rows seen. */
veil_status veil_table_read_file(const char *path, unsigned char delim, int has_header,
                                 veil_table_row_fn fn, void *ctx, uint64_t *rows,
                                 veil_err *err) VEIL_WUR;
veil_status veil_table_read_mem(const void *buf, size_t len, const char *name, unsigned char delim,
                                int has_header, veil_table_row_fn fn, void *ctx, uint64_t *rows,
                                veil_err *err) VEIL_WUR;

/* Writes one field, quoted (RFC 4180) when it contains the delimiter, a
 * quote, CR or LF, or leading or trailing blanks. Returns 0 or EOF. */
int veil_table_write_field(FILE *out, const char *s, size_t len, unsigned char delim);

/* ---- In-memory table of coded columns ---------------------------------- */

struct veil_hierarchy;

/* Selected columns of a CSV file, each value replaced by a small integer
 * code. A column given a hierarchy uses the hierarchy's level-0 codes (a
 * value the hierarchy does not know is an error naming file, line and
 * column); other columns get codes in order of first appearance. */
typedef struct veil_table veil_table;

/* Loads columns cols[0..ncols) of the table at path (header row required,
 * names matched exactly). hier may be NULL, or hold NULL for columns
 * without a hierarchy. */
veil_status veil_table_load(veil_table **out, const char *path, unsigned char delim,
                            const char *const *cols, size_t ncols,
                            struct veil_hierarchy *const *hier, veil_err *err) VEIL_WUR;
void veil_table_free(veil_table *t);

size_t veil_table_rows(const veil_table *t);
size_t veil_table_cols(const veil_table *t);
/* Code of column c in row r (0-based data rows). */
uint32_t veil_table_code(const veil_table *t, size_t c, size_t r);
/* All codes of column c, one per row. */
const uint32_t *veil_table_column(const veil_table *t, size_t c);
/* Number of distinct codes column c can take (hierarchy level-0 size, or
 * the number of distinct values seen). */
size_t veil_table_domain(const veil_table *t, size_t c);
/* The text of a code of column c. */
const char *veil_table_value(const veil_table *t, size_t c, uint32_t code);
/* Code of a text in column c, or -1 when the column never holds it. */
int64_t veil_table_lookup(const veil_table *t, size_t c, const char *s, size_t len);
/* Column name and header position (0-based) of selected column c. */
const char *veil_table_col_name(const veil_table *t, size_t c);
size_t veil_table_col_index(const veil_table *t, size_t c);
/* Line of the file on which data row r starts. */
uint64_t veil_table_line(const veil_table *t, size_t r);

#ifdef __cplusplus
}
#endif
#endif
