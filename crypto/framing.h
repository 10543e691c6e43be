/* Internal helpers for veil's binary and text files (docs/formats.md):
 * big-endian big integers, whole-file reads with a size cap, crash-safe
 * writers (temporary file, fsync, rename) and framed protobuf messages
 * (1 tag byte, 4-byte big-endian length, payload) with a length limit.
 *
 * Not installed: used by crypto/ and by other veil libraries that build
 * their own file or wire formats on the same framing. Every function that
 * can fail returns a veil_status and fills err with a message that names
 * the file (or the `what` given). */
#ifndef VEIL_FRAMING_H
#define VEIL_FRAMING_H

#include <gmp.h>
#include <protobuf-c/protobuf-c.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "veil/error.h"

#define VEIL_FRAME_HEAD   5  /* tag byte + uint32 big-endian length */
#define VEIL_DIGEST_BYTES 32 /* BLAKE2b-256 (crypto_generichash) */

/* ---- big integers as big-endian unsigned bytes ---- */

/* out = the unsigned big-endian integer in buf[0..len). Zero is the empty
 * string; a leading zero byte (a non-canonical encoding) and len > max_len
 * are VEIL_ERR_INPUT, with `what` naming the field in the message. */
veil_status veil_be_to_mpz(mpz_t out, const uint8_t *buf, size_t len, size_t max_len,
                           const char *what, veil_err *err) VEIL_WUR;

/* *out = malloc'd big-endian bytes of x >= 0 without leading zeros, *len
 * their count (0 for x = 0; *out is then still a valid allocation). A
 * negative x is VEIL_ERR_INTERNAL. Free with free(), or with
 * veil_secret_free() when x is secret. */
veil_status veil_mpz_to_be(uint8_t **out, size_t *len, const mpz_t x, veil_err *err) VEIL_WUR;

/* Zeroizes len bytes at p, then frees p. NULL is accepted. */
void veil_secret_free(void *p, size_t len);

/* ---- whole files ---- */

/* Reads the whole file at path into a malloc'd buffer (one extra NUL byte
 * is appended, not counted in *len). A file larger than max bytes is
 * VEIL_ERR_INPUT ("larger than"), a missing or unreadable one VEIL_ERR_IO.
 * Uses read(2) only, so no stdio buffer keeps a copy: free secrets with
 * veil_secret_free(*out, *len + 1). */
veil_status veil_file_read_all(uint8_t **out, size_t *len, const char *path, size_t max,
                               veil_err *err) VEIL_WUR;

/* ---- crash-safe writers ---- */

/* A file being written as "<path>.tmp.XXXXXX" (mkstemp: created with
 * O_CREAT|O_EXCL and mode 0600) in the directory of path; nothing appears
 * at path until veil_atomic_commit renames it there. */
typedef struct veil_atomic_file veil_atomic_file;

/* Creates the temporary file and gives it `mode` (fchmod, so the umask does
 * not matter; a mode wider than 0600 only ever applies to a file that is
 * still empty). */
veil_status veil_atomic_open(veil_atomic_file **out, const char *path, mode_t mode,
                             veil_err *err) VEIL_WUR;
/* Appends len bytes (retrying short writes and EINTR). */
veil_status veil_atomic_write(veil_atomic_file *f, const void *buf, size_t len,
                              veil_err *err) VEIL_WUR;
/* Overwrites len bytes at offset off without moving the append position. */
veil_status veil_atomic_pwrite(veil_atomic_file *f, const void *buf, size_t len, uint64_t off,
                               veil_err *err) VEIL_WUR;
/* Feeds bytes [0, size) of what was written so far to h (re-reads the
 * temporary file; used when a header was rewritten in place). */
veil_status veil_atomic_hash(veil_atomic_file *f, crypto_generichash_state *h,
                             veil_err *err) VEIL_WUR;
/* Bytes written so far (the append position). */
uint64_t veil_atomic_size(const veil_atomic_file *f);
/* The final path given to veil_atomic_open. */
const char *veil_atomic_path(const veil_atomic_file *f);
/* fsync, close, rename over path, fsync the directory. Frees f in every
 * case; on failure the temporary file is removed. */
veil_status veil_atomic_commit(veil_atomic_file *f, veil_err *err) VEIL_WUR;
/* Closes and removes the temporary file, frees f. NULL is accepted. */
void veil_atomic_abort(veil_atomic_file *f);

/* Writes buf to path through a temporary file with the given mode. */
veil_status veil_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                                   veil_err *err) VEIL_WUR;

/* ---- framed protobuf messages ---- */

/* Hashes one frame as it appears in a file: tag, length, payload. */
void veil_frame_hash(crypto_generichash_state *h, uint8_t tag, const uint8_t *payload, size_t len);

/* Packs msg into a malloc'd frame (VEIL_FRAME_HEAD bytes of tag and length,
 * then the payload). A payload longer than max_len is VEIL_ERR_INTERNAL:
 * writers must keep their messages small enough for readers to accept. */
veil_status veil_frame_pack(uint8_t **out, size_t *len, uint8_t tag, const ProtobufCMessage *msg,
                            size_t max_len, veil_err *err) VEIL_WUR;

/* Packs msg as a frame and appends it to f; when h is not NULL the frame's
 * bytes are also fed to h. */
veil_status veil_frame_write(veil_atomic_file *f, crypto_generichash_state *h, uint8_t tag,
                             const ProtobufCMessage *msg, size_t max_len, veil_err *err) VEIL_WUR;

/* Reads frames from a file (buffered stdio) or from memory, one at a
 * time, so memory stays bounded by the largest frame accepted. */
typedef struct veil_frame_reader veil_frame_reader;

/* `name` (copied) appears in every error message. */
veil_status veil_frame_reader_open_file(veil_frame_reader **out, const char *path,
                                        veil_err *err) VEIL_WUR;
/* buf must outlive the reader. */
veil_status veil_frame_reader_open_mem(veil_frame_reader **out, const uint8_t *buf, size_t len,
                                       const char *name, veil_err *err) VEIL_WUR;
void veil_frame_reader_close(veil_frame_reader *r);

/* Reads exactly len raw bytes (a magic number). *got is set to the number
 * of bytes actually available when the input ends early (then the status is
 * still VEIL_OK and the caller decides); got may be NULL, in which case an
 * early end is VEIL_ERR_INPUT "truncated". */
veil_status veil_frame_reader_raw(veil_frame_reader *r, void *buf, size_t len, size_t *got,
                                  veil_err *err) VEIL_WUR;

/* Reads the next frame. At a clean end of input (no byte left) sets
 * *eof = 1 and returns VEIL_OK. An input that ends inside a frame is
 * VEIL_ERR_INPUT "truncated"; a length above max_len is VEIL_ERR_INPUT.
 * *payload points into the reader and stays valid until the next call. */
veil_status veil_frame_read(veil_frame_reader *r, uint8_t *tag, const uint8_t **payload,
                            size_t *len, size_t max_len, int *eof, veil_err *err) VEIL_WUR;

/* VEIL_OK if no byte is left, else VEIL_ERR_INPUT naming `after`
 * ("data after the trailer"). */
veil_status veil_frame_reader_expect_end(veil_frame_reader *r, const char *after,
                                         veil_err *err) VEIL_WUR;

/* Number of frames read so far (the index of the next one, from 0) and the
 * byte offset of the next byte, for error messages. */
uint64_t veil_frame_reader_frames(const veil_frame_reader *r);
uint64_t veil_frame_reader_offset(const veil_frame_reader *r);
const char *veil_frame_reader_name(const veil_frame_reader *r);

#endif
