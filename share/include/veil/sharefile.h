/* veil/sharefile.h — share files (.vsh): one party's share of one
 * secret-shared column, for moving shares offline (format: docs/share.md).
 *
 * A file is the magic "VEILSHR\x01", a header (version, random split id,
 * scheme, n, t, party index, scale, vector length, column name, and for a
 * seeded share the 32-byte seed), frames of at most VEIL_SHAREFILE_FRAME
 * elements (offset, then 16 little-endian bytes per element), and a
 * trailer with the element count and the BLAKE2b-256 digest of every byte
 * before it. A seeded share's file carries only the seed: no frames.
 *
 * Files are written with mode 0600 through a temporary file renamed into
 * place on commit. Readers stream in bounded memory and check everything:
 * versions, n/t/index ranges, contiguous offsets, every element below p,
 * the total length and the digest; errors are VEIL_ERR_INPUT naming the
 * file and the frame. */
#ifndef VEIL_SHAREFILE_H
#define VEIL_SHAREFILE_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/share.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_SHAREFILE_FRAME      65536 /* elements per frame, at most */
#define VEIL_SHAREFILE_ID_BYTES   16    /* random split id */
#define VEIL_SHAREFILE_COLUMN_MAX 256   /* bytes of the column name */

typedef struct {
    uint8_t split_id[VEIL_SHAREFILE_ID_BYTES];
    veil_scheme scheme;
    unsigned n, t;
    unsigned index; /* this party, 1..n */
    unsigned scale;
    uint64_t length; /* elements in the vector */
    char column[VEIL_SHAREFILE_COLUMN_MAX + 1];
    int seeded; /* 1: the share is veil_share_expand(seed, ...) */
    uint8_t seed[VEIL_SHARE_SEED];
} veil_sharefile_info;

/* ---- writing ---- */

typedef struct veil_sharefile_writer veil_sharefile_writer;

/* Opens path + ".tmp.XXXXXX" (mode 0600); nothing appears at path until
 * commit. info is checked as a reader would check it. A seeded share
 * (info->seeded) takes no values and its length is info->length; for any
 * other share info->length is ignored: the length written is the number
 * of elements appended. */
veil_status veil_sharefile_writer_open(veil_sharefile_writer **out, const char *path,
                                       const veil_sharefile_info *info, veil_err *err) VEIL_WUR;
/* Appends count elements (each below p) of an unseeded share. */
veil_status veil_sharefile_writer_append(veil_sharefile_writer *w, const veil_fe *values,
                                         size_t count, veil_err *err) VEIL_WUR;
/* Writes the last frame and the trailer, fsyncs and renames into place.
 * Frees w in every case; on failure nothing is left at path. */
veil_status veil_sharefile_writer_commit(veil_sharefile_writer *w, veil_err *err) VEIL_WUR;
/* Removes the temporary file and frees w. NULL is accepted. */
void veil_sharefile_writer_abort(veil_sharefile_writer *w);

/* ---- reading ---- */

typedef struct veil_sharefile_reader veil_sharefile_reader;

/* Reads and checks the magic and header (and, for a seeded share, the
 * trailer: such a file is checked whole on open). */
veil_status veil_sharefile_reader_open(veil_sharefile_reader **out, const char *path,
                                       veil_err *err) VEIL_WUR;
/* Same from memory (fuzzing); buf must outlive the reader. */
veil_status veil_sharefile_reader_open_mem(veil_sharefile_reader **out, const uint8_t *buf,
                                           size_t len, const char *name, veil_err *err) VEIL_WUR;
const veil_sharefile_info *veil_sharefile_reader_info(const veil_sharefile_reader *r);
/* The name given to open (the path), for messages. */
const char *veil_sharefile_reader_name(const veil_sharefile_reader *r);
/* Reads the next min(max, remaining) elements into out and sets *got.
 * When none remain, checks the trailer (count, digest, nothing after it)
 * and sets *got = 0. An unseeded share's values are handed out before its
 * digest is checked: what was read counts only once the call returning
 * *got = 0 succeeded. After an error every further call fails. */
veil_status veil_sharefile_reader_read(veil_sharefile_reader *r, veil_fe *out, size_t max,
                                       size_t *got, veil_err *err) VEIL_WUR;
void veil_sharefile_reader_close(veil_sharefile_reader *r);

/* Whole-vector form: *values = malloc'd info->length elements (free()),
 * fully checked. */
veil_status veil_sharefile_load(veil_sharefile_info *info, veil_fe **values, const char *path,
                                veil_err *err) VEIL_WUR;

/* Checks that k files (infos[i] read from names[i]) can be combined: the
 * same split id, scheme, n, t, scale, length and column, distinct party
 * indices, and at least t of them (all n for additive). VEIL_ERR_INPUT
 * naming the files otherwise (too few: VEIL_ERR_USAGE). */
veil_status veil_sharefile_check_set(const veil_sharefile_info *const *infos,
                                     const char *const *names, unsigned k, veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
