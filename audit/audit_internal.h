/* Internal to libveil_audit: the log format's constants and the pieces
 * shared by the key files (keys.c), the writer (append.c) and the reader
 * (verify.c). docs/audit.md describes the format. */
#ifndef VEIL_AUDIT_INTERNAL_H
#define VEIL_AUDIT_INTERNAL_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "veil/audit.h"

#define AUDIT_MAGIC          "VEILAUD1"
#define AUDIT_MAGIC_LEN      8
#define AUDIT_VERSION        1
#define AUDIT_HEADER_MAX     1024            /* bytes of the AuditHeader message */
#define AUDIT_SIG_DOMAIN     "veil-audit-v1" /* signed with its NUL: 14 bytes */
#define AUDIT_SIG_DOMAIN_LEN 14
#define AUDIT_OPERATION_MAX  64
#define AUDIT_NAME_MAX       64
#define AUDIT_VALUE_MAX      1024
#define AUDIT_PATH_MAX       4096
#define AUDIT_MESSAGE_MAX    1024
#define AUDIT_LIST_MAX       64 /* params, inputs, outputs each */

struct veil_audit_signer {
    char party[VEIL_AUDIT_PARTY_MAX + 1];
    char *log_path;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

/* 1 when s is 1..64 of [A-Za-z0-9._-]. */
int veil_audit_party_ok(const char *s);

/* Packs the header (magic, length, AuditHeader) into a malloc'd buffer. */
veil_status veil_audit_header_pack(uint8_t **out, size_t *len, const char *party,
                                   const uint8_t pub[VEIL_AUDIT_PUB_BYTES], veil_err *err) VEIL_WUR;

/* Parses the header at the start of buf: *hlen its length, party and pub
 * filled. VEIL_ERR_INPUT naming `name` when it is not a valid header. */
veil_status veil_audit_header_parse(const uint8_t *buf, size_t len, const char *name, size_t *hlen,
                                    char party[VEIL_AUDIT_PARTY_MAX + 1],
                                    uint8_t pub[VEIL_AUDIT_PUB_BYTES], veil_err *err) VEIL_WUR;

/* The walk behind veil_audit_verify_mem; *valid_end gets the offset just
 * after the last record that verified (or after the header), so the
 * writer can cut an incomplete tail there. */
veil_status veil_audit_walk(const uint8_t *buf, size_t len, const char *name,
                            const uint8_t *trusted_pub, veil_audit_entry_fn fn, void *ctx,
                            veil_audit_report *rep, uint64_t *valid_end, veil_err *err) VEIL_WUR;

/* Checks one record's AuditRecord bytes: signature under pub, then decodes
 * the entry and checks its fields (version, lengths, party). *hash gets
 * the BLAKE2b-256 of the framed record (rec points at its leading length,
 * reclen = 8 + payload). On success the caller owns *entry_out
 * (veil__audit_entry__free_unpacked), which may be NULL. `what` prefixes
 * error messages ("audit.log: entry 7 (offset 2210)"). */
struct Veil__AuditEntry;
veil_status veil_audit_record_check(const uint8_t *rec, size_t reclen, const uint8_t *pub,
                                    const char *party, const char *what,
                                    struct Veil__AuditEntry **entry_out,
                                    uint8_t hash[VEIL_AUDIT_DIGEST_BYTES], veil_err *err) VEIL_WUR;

static inline uint32_t audit_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void audit_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
