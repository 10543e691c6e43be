/* Streaming reader for one value column (and optionally one group column)
 * of a CSV file, on top of libcsv in strict mode.
 *
 * The first row is the header; columns are found by exact name. Every data
 * row must have as many fields as the header. Quoting follows RFC 4180;
 * CRLF and LF line ends, a UTF-8 byte order mark and blank lines at the end
 * of the file are accepted; a blank line anywhere else, a field longer than
 * VEIL_CSV_FIELD_MAX bytes, a duplicate header name or a malformed quote is
 * VEIL_ERR_INPUT with a message naming the file and line. Memory stays
 * bounded by the longest field, whatever the number of rows. */
#ifndef VEIL_CSV_COLUMN_H
#define VEIL_CSV_COLUMN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "veil/error.h"

#define VEIL_CSV_FIELD_MAX   (1u << 20)  /* bytes in one field */
#define VEIL_CSV_COLUMNS_MAX 65536       /* fields in the header */
#define VEIL_CSV_HEADER_MAX  (16u << 20) /* bytes in the header row */

/* One data row as delivered to the callback. The strings point into the
 * reader, are NUL-terminated (a field may itself contain NUL bytes: use
 * the lengths) and stay valid until the callback returns. */
typedef struct {
    const char *file;   /* name given to the reader, for messages */
    uint64_t line;      /* line on which the row starts (1 = header) */
    uint64_t row;       /* data row number, 1 for the first */
    const char *column; /* value column name */
    const char *value;
    size_t value_len;
    const char *group_column; /* NULL when no group column was asked for */
    const char *group;        /* NULL when no group column was asked for */
    size_t group_len;
} veil_csv_row;

/* Returns VEIL_OK to go on; anything else stops the reader, which then
 * returns that status with the callback's err unchanged. */
typedef veil_status (*veil_csv_row_fn)(void *ctx, const veil_csv_row *row, veil_err *err);

typedef struct veil_csv_reader veil_csv_reader;

/* `name` appears in messages; group_column may be NULL. */
veil_status veil_csv_reader_new(veil_csv_reader **out, const char *name, const char *column,
                                const char *group_column, veil_csv_row_fn fn, void *ctx,
                                veil_err *err) VEIL_WUR;
/* Feeds the next len bytes of the file (any split is fine). */
veil_status veil_csv_reader_feed(veil_csv_reader *r, const void *buf, size_t len,
                                 veil_err *err) VEIL_WUR;
/* Ends the input: flushes a last row without a line end, checks that a
 * header was seen and that no quoted field is left open. */
veil_status veil_csv_reader_finish(veil_csv_reader *r, veil_err *err) VEIL_WUR;
/* Data rows delivered so far. */
uint64_t veil_csv_reader_rows(const veil_csv_reader *r);
void veil_csv_reader_free(veil_csv_reader *r);

/* Whole-input entry points: a file read in chunks, or a memory buffer (for
 * the fuzzer). *rows (may be NULL) receives the number of data rows. */
veil_status veil_csv_read_file(const char *path, const char *column, const char *group_column,
                               veil_csv_row_fn fn, void *ctx, uint64_t *rows,
                               veil_err *err) VEIL_WUR;
veil_status veil_csv_read_mem(const void *buf, size_t len, const char *name, const char *column,
                              const char *group_column, veil_csv_row_fn fn, void *ctx,
                              uint64_t *rows, veil_err *err) VEIL_WUR;

/* Writes one field to out, quoted (RFC 4180) when it contains a comma,
 * quote, CR, LF, or leading or trailing blanks. Returns 0 or EOF. */
int veil_csv_write_field(FILE *out, const char *s, size_t len);

#endif
