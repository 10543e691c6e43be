/* Ciphertext files (format: docs/formats.md).
 *
 * A result file (.vct) holds one or more labelled encrypted values: a single
 * ciphertext, a total, or per-group totals. A column file (.vcol) holds a
 * stream of ciphertexts, one per CSV row, optionally each with a plaintext
 * group label, in bounded memory: a header (key fingerprint, column name,
 * scale, per-value bound, count), frames of up to VEIL_COLUMN_FRAME values,
 * and a trailer with the count and a BLAKE2b-256 digest of everything
 * before it, so truncation and corruption are detected. Both are written to a
 * temporary file and renamed into place on success only. Every ciphertext read
 * is range- and gcd-checked against the key given, and the key fingerprint in
 * the file must match it. */
#ifndef VEIL_CTFILE_H
#define VEIL_CTFILE_H

#include <stddef.h>
#include <stdint.h>

#include "veil/encrypted.h"
#include "veil/error.h"
#include "veil/paillier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_COLUMN_FRAME     1024       /* ciphertexts per frame */
#define VEIL_MESSAGE_MAX      (8u << 20) /* largest framed message accepted */
#define VEIL_GROUP_LABEL_MAX  256        /* bytes in a group label */
#define VEIL_RESULT_ITEMS_MAX 1000000    /* groups in one result file */

/* ---- result files ---- */
typedef struct {
    char *group;  /* NULL for an ungrouped value or the overall total */
    int is_total; /* 1 for the overall total of a grouped result */
    veil_enc value;
} veil_result_item;

typedef struct {
    veil_result_item *items;
    size_t count;
    size_t cap;
} veil_result;

void veil_result_init(veil_result *r);
void veil_result_clear(veil_result *r);
/* Appends a copy of value (group may be NULL). */
veil_status veil_result_append(veil_result *r, const char *group, int is_total,
                               const veil_enc *value, veil_err *err) VEIL_WUR;

/* Writes r (1 to VEIL_RESULT_ITEMS_MAX items, each checked against pk) to
 * path, mode 0644. Load/parse initialize *out (its old content is not
 * freed) and leave it empty on error, so veil_result_clear is always safe. */
veil_status veil_result_save(const char *path, const veil_paillier_pub *pk, const veil_result *r,
                             veil_err *err) VEIL_WUR;
veil_status veil_result_load(veil_result *out, const char *path, const veil_paillier_pub *pk,
                             veil_err *err) VEIL_WUR;
veil_status veil_result_parse(veil_result *out, const uint8_t *buf, size_t len, const char *name,
                              const veil_paillier_pub *pk, veil_err *err) VEIL_WUR;

/* ---- column files ---- */
typedef struct {
    char *name; /* column name from the CSV header */
    uint32_t scale;
    mpz_t bound;      /* per-value bound on |mantissa| */
    int grouped;      /* values carry group labels */
    char *group_name; /* name of the group column, NULL if not grouped */
    uint64_t count;   /* number of values (from the header) */
} veil_column_info;

typedef struct veil_column_writer veil_column_writer;
typedef struct veil_column_reader veil_column_reader;

/* Opens path + ".tmp.XXXXXX" for writing (mode 0600: row-level data);
 * nothing appears at `path` until commit. group_name NULL means ungrouped.
 * pk must outlive the writer (and, for readers, the reader). */
veil_status veil_column_writer_open(veil_column_writer **out, const char *path,
                                    const veil_paillier_pub *pk, const char *name, uint32_t scale,
                                    const mpz_t bound, const char *group_name,
                                    veil_err *err) VEIL_WUR;
/* Appends one ciphertext (and its group label when grouped). */
veil_status veil_column_writer_append(veil_column_writer *w, const mpz_t c, const char *group,
                                      veil_err *err) VEIL_WUR;
/* Writes the trailer, fixes the header count, fsyncs and renames into
 * place; frees w in every case. */
veil_status veil_column_writer_commit(veil_column_writer *w, veil_err *err) VEIL_WUR;
/* Removes the temporary file and frees w. NULL is accepted. */
void veil_column_writer_abort(veil_column_writer *w);

veil_status veil_column_reader_open(veil_column_reader **out, const char *path,
                                    const veil_paillier_pub *pk, veil_err *err) VEIL_WUR;
/* Same from memory (fuzzing); buf must outlive the reader. */
veil_status veil_column_reader_open_mem(veil_column_reader **out, const uint8_t *buf, size_t len,
                                        const char *name, const veil_paillier_pub *pk,
                                        veil_err *err) VEIL_WUR;
const veil_column_info *veil_column_reader_info(const veil_column_reader *r);
/* Reads the next ciphertext into c; *group points into the reader (valid
 * until the next call) or is NULL. At the end sets *eof = 1 after checking
 * the trailer (count and digest): a file that ends early or was altered is
 * VEIL_ERR_INPUT. */
veil_status veil_column_reader_next(veil_column_reader *r, mpz_t c, const char **group, int *eof,
                                    veil_err *err) VEIL_WUR;
/* From now on next() checks only 0 < c < n^2 and leaves gcd(c, n) = 1 to
 * the caller, who can check many values with one gcd: a product of
 * ciphertexts mod n is a unit exactly when every factor is (`veil
 * aggregate` tests each run's product). */
void veil_column_reader_defer_unit_check(veil_column_reader *r);
void veil_column_reader_close(veil_column_reader *r);

#ifdef __cplusplus
}
#endif
#endif
