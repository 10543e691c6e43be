/* veil/audit.h — the append-only, hash-chained, signed audit log.
 *
 * Every `veil` command that touches personal data or keys appends one
 * entry: time, acting party, operation, parameters, BLAKE2b-256 digests of
 * the files it read and wrote, and the outcome. Entries never contain a
 * personal value. docs/audit.md documents the format.
 *
 * A party's audit directory (veil_audit_init) holds:
 *   audit.key  the party id and its Ed25519 signing key (mode 0600)
 *   audit.pub  the public key, to hand to auditors (mode 0644)
 *   audit.log  the log (mode 0600)
 *
 * The log file is a header (magic, party id, public key) followed by
 * records: each is a 4-byte big-endian length, a protobuf AuditRecord
 * (the packed AuditEntry and its Ed25519 signature), and the same 4-byte
 * length again, so the last record can be found from the end. Entry i
 * carries seq = i (from 0) and prev_hash = BLAKE2b-256 of record i-1 as
 * stored (for entry 0: of the header), so deleting, inserting or
 * reordering entries breaks the chain, and changing any byte breaks a
 * signature or the chain.
 *
 * Appending takes an exclusive flock on the log, so concurrent writers
 * (two commands at once) serialize; each record is written with one
 * write() and fsync'd. A record cut short by a crash is detected by the
 * next append, which truncates the incomplete bytes and first appends a
 * "recovered" entry saying how many bytes after which entry it removed.
 *
 * What the chain cannot show on its own: entries removed from the END of
 * the log. Auditors keep the head (last seq and hash) from their previous
 * check (veil_audit_report.head_*) and compare. */
#ifndef VEIL_AUDIT_H
#define VEIL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_AUDIT_PUB_BYTES    32 /* Ed25519 public key */
#define VEIL_AUDIT_DIGEST_BYTES 32 /* BLAKE2b-256 */
#define VEIL_AUDIT_PARTY_MAX    64
/* Each entry's Ed25519 signature is over these 14 bytes (the text and its
 * NUL) followed by the packed AuditEntry. */
#define VEIL_AUDIT_SIG_DOMAIN   "veil-audit-v1"
#define VEIL_AUDIT_RECORD_MAX   (1u << 20) /* bytes of one record */

/* Creates dir (mode 0700; an existing empty dir is fine) with audit.key,
 * audit.pub and an empty audit.log (header only). Refuses
 * (VEIL_ERR_USAGE) when audit.key or audit.log exists, unless force (then
 * only the key and public key are replaced and the log is kept; a log
 * whose header names another key then fails to verify under the new
 * key, which is the point). party: 1..64 of [A-Za-z0-9._-]. pub_hex gets
 * the public key as 64 lowercase hex digits. */
veil_status veil_audit_init(const char *dir, const char *party, int force, char pub_hex[65],
                            veil_err *err) VEIL_WUR;

/* A loaded signing identity (holds the secret key; freed with wiping). */
typedef struct veil_audit_signer veil_audit_signer;

/* Loads dir/audit.key (refused unless mode 0600 or stricter, naming the
 * file) and checks dir/audit.log exists and its header names the same
 * public key and party: a log that cannot be appended to is an error
 * here, before a command does any work. */
veil_status veil_audit_open(veil_audit_signer **out, const char *dir, veil_err *err) VEIL_WUR;
void veil_audit_close(veil_audit_signer *s);
const char *veil_audit_party(const veil_audit_signer *s);
const char *veil_audit_log_path(const veil_audit_signer *s);

/* ---- entries ---- */

typedef struct {
    const char *name;  /* "scale", "column", "epsilon_spent", ... */
    const char *value; /* never a personal value */
} veil_audit_param;

typedef struct {
    const char *path; /* as given on the command line */
    int present;      /* 0: the file did not exist (digest and size unset) */
    uint64_t size;
    uint8_t digest[VEIL_AUDIT_DIGEST_BYTES];
} veil_audit_file;

/* Fills f for path: BLAKE2b-256 of the contents read in chunks (so a
 * 10-million-row file costs no memory); a missing file gives present = 0
 * and VEIL_OK; "-" (standard input/output) gives present = 0. Other read
 * errors: VEIL_ERR_IO. */
veil_status veil_audit_digest_file(veil_audit_file *f, const char *path, veil_err *err) VEIL_WUR;

typedef struct {
    const char *operation; /* "encrypt", "sum serve", "deid apply", ... */
    const veil_audit_param *params;
    size_t nparams;
    const veil_audit_file *inputs;
    size_t ninputs;
    const veil_audit_file *outputs;
    size_t noutputs;
    int status;          /* the command's exit status (veil_status) */
    const char *message; /* error message when status != 0, else NULL */
    int64_t time_ms;     /* Unix time in ms; 0 = now */
} veil_audit_event;

/* Appends one signed entry (see above: lock, recover an incomplete tail,
 * chain, sign, write, fsync). Fails with VEIL_ERR_CRYPTO when the last
 * complete record does not verify under this signer (the log was altered
 * or belongs to another key): nothing is appended to a broken chain. */
veil_status veil_audit_append(veil_audit_signer *s, const veil_audit_event *ev,
                              veil_err *err) VEIL_WUR;

/* ---- reading and verifying ---- */

/* One decoded entry, for `veil audit show`. Strings are owned by the
 * reader and valid until the next call. */
typedef struct {
    uint64_t seq;
    int64_t time_ms;
    const char *party;
    const char *operation;
    size_t nparams;
    const veil_audit_param *params;
    size_t ninputs, noutputs;
    const veil_audit_file *inputs, *outputs;
    int status;
    const char *message;
    uint8_t hash[VEIL_AUDIT_DIGEST_BYTES]; /* of this record: the next entry's prev_hash */
    uint64_t offset;                       /* byte offset of the record in the file */
} veil_audit_entry;

typedef struct {
    uint64_t entries;    /* complete entries that verified */
    int complete;        /* 1: the whole file verified */
    int truncated_tail;  /* 1: only an incomplete final record follows the valid ones */
    uint64_t tail_bytes; /* its length */
    uint64_t head_seq;   /* seq of the last valid entry (if entries > 0) */
    uint8_t head_hash[VEIL_AUDIT_DIGEST_BYTES];
    char party[VEIL_AUDIT_PARTY_MAX + 1];
    uint8_t pub[VEIL_AUDIT_PUB_BYTES]; /* the key the log was verified under */
} veil_audit_report;

/* Walks the log at path, verifying the header, every record's framing,
 * signature (under trusted_pub when not NULL — an auditor passes the
 * audit.pub received out of band — otherwise under the key in the log's
 * header), seq and prev_hash. For each verified entry calls fn (may be
 * NULL; a non-zero return stops the walk with VEIL_OK). On the first
 * failure returns VEIL_ERR_CRYPTO (bad signature, broken chain, wrong
 * key) or VEIL_ERR_INPUT (bad framing or protobuf) with a message naming
 * the entry: "audit.log: entry 7 (offset 2210): signature does not
 * verify", "entry 8: prev_hash does not match entry 7: an entry was
 * deleted, inserted or reordered", "entry 3: seq 5, expected 3". An
 * incomplete final record is not a failure of the entries before it:
 * VEIL_OK with rep->truncated_tail = 1 and rep->complete = 0 (the caller
 * says so). rep is filled as far as the walk got in every case. */
typedef int (*veil_audit_entry_fn)(void *ctx, const veil_audit_entry *e);
veil_status veil_audit_verify(const char *path, const uint8_t *trusted_pub, veil_audit_entry_fn fn,
                              void *ctx, veil_audit_report *rep, veil_err *err) VEIL_WUR;

/* The same over a buffer (for the fuzzer). */
veil_status veil_audit_verify_mem(const uint8_t *buf, size_t len, const char *name,
                                  const uint8_t *trusted_pub, veil_audit_entry_fn fn, void *ctx,
                                  veil_audit_report *rep, veil_err *err) VEIL_WUR;

/* Reads a public key file (audit.pub: 64 hex digits and a newline). */
veil_status veil_audit_read_pub(uint8_t pub[VEIL_AUDIT_PUB_BYTES], const char *path,
                                veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
