/* Fuzzes the CSV column reader (tools/csv_column.c): any input must give
 * either rows or a clean error, never a crash, leak or hang; and feeding
 * the same bytes in small pieces must give exactly the same rows, status
 * and message as feeding them at once.
 *
 * Input layout: byte 0 chooses the piece size for the second run (1..256),
 * the rest is the CSV text. The value column is "income", the group column
 * "region"; values are parsed as they are by `veil encrypt`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmp.h>

#include "csv_column.h"
#include "veil/fixed.h"

typedef struct {
    uint64_t rows, good, digest;
    mpz_t v;
} sink;

static veil_status on_row(void *ctx, const veil_csv_row *row, veil_err *err)
{
    sink *s = ctx;
    /* Fields are NUL-terminated at their length. */
    if (row->value[row->value_len] != '\0' || row->group[row->group_len] != '\0')
        abort();
    s->rows++;
    s->digest = s->digest * 1000003u + row->line * 31u + row->value_len * 7u + row->group_len;
    veil_err e;
    if (veil_fixed_parse(s->v, row->value, row->value_len, 2, &e) == VEIL_OK)
        s->good++;
    /* Stop on a sentinel value, as a command does on a bad cell. */
    if (row->value_len == 4 && memcmp(row->value, "stop", 4) == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%llu: stop", row->file,
                            (unsigned long long)row->line);
    return VEIL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;

    sink a = {0}, b = {0};
    mpz_init(a.v);
    mpz_init(b.v);
    veil_err ea, eb;
    veil_err_clear(&ea);
    veil_err_clear(&eb);
    uint64_t rows_a = 0;
    veil_status sa =
        veil_csv_read_mem(data, size, "fuzz.csv", "income", "region", on_row, &a, &rows_a, &ea);

    veil_csv_reader *r = NULL;
    veil_status sb = veil_csv_reader_new(&r, "fuzz.csv", "income", "region", on_row, &b, &eb);
    for (size_t off = 0; sb == VEIL_OK && off < size; off += piece)
        sb = veil_csv_reader_feed(r, data + off, size - off < piece ? size - off : piece, &eb);
    if (sb == VEIL_OK)
        sb = veil_csv_reader_finish(r, &eb);
    uint64_t rows_b = veil_csv_reader_rows(r);
    veil_csv_reader_free(r);

    if (sa != sb || rows_a != rows_b || a.rows != b.rows || a.good != b.good ||
        a.digest != b.digest || strcmp(ea.msg, eb.msg) != 0)
        abort();
    if (sa != VEIL_OK && ea.msg[0] == '\0')
        abort();
    mpz_clear(a.v);
    mpz_clear(b.v);
    return 0;
}
