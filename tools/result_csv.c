/* CSV output of decrypted result files (see result_csv.h). */
#include "result_csv.h"

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "csv_column.h"
#include "veil/fixed.h"

const char *veil_result_csv_label(const veil_result *res, size_t i)
{
    return res->items[i].is_total ? VEIL_TOTAL_LABEL : res->items[i].group;
}

static int put_field(FILE *f, const char *s)
{
    return veil_csv_write_field(f, s, strlen(s));
}

veil_status veil_result_csv_header(FILE *f, int grouped, veil_err *err)
{
    if (fputs(grouped ? "group,count,sum\n" : "count,sum\n", f) == EOF)
        return veil_err_set(err, VEIL_ERR_IO, "write failed");
    return VEIL_OK;
}

veil_status veil_result_csv_row(FILE *f, const char *label, unsigned long long count,
                                const mpz_t sum, unsigned scale, veil_err *err)
{
    char *text = veil_fixed_format(sum, scale);
    if (text == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    int bad = label != NULL && (put_field(f, label) != 0 || fputc(',', f) == EOF);
    bad = bad || fprintf(f, "%llu,%s\n", count, text) < 0;
    free(text);
    return bad ? veil_err_set(err, VEIL_ERR_IO, "write failed") : VEIL_OK;
}

veil_status veil_result_csv_write(FILE *f, const char *path, const veil_result *res,
                                  const mpz_t *values, veil_err *err)
{
    int grouped = 0;
    for (size_t i = 0; i < res->count; i++)
        grouped |= res->items[i].group != NULL || res->items[i].is_total;
    for (size_t i = 0; i < res->count; i++) {
        const veil_result_item *it = &res->items[i];
        if (grouped && veil_result_csv_label(res, i) == NULL)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: item %zu has no group label", path,
                                i + 1);
        if (it->group != NULL && strcmp(it->group, VEIL_TOTAL_LABEL) == 0)
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: a group is labelled '%s', which is "
                                "reserved for the overall total",
                                path, VEIL_TOTAL_LABEL);
    }
    veil_status st = veil_result_csv_header(f, grouped, err);
    for (size_t i = 0; st == VEIL_OK && i < res->count; i++) {
        const veil_enc *e = &res->items[i].value;
        st = veil_result_csv_row(f, grouped ? veil_result_csv_label(res, i) : NULL,
                                 (unsigned long long)e->count, values[i], e->scale, err);
    }
    return st;
}
