/* veil/sum.h — the secure-sum protocol: input parties secret-share a
 * vector among compute parties over net/'s mutual-TLS channel, each
 * compute party adds the shares it received, and the output party
 * reconstructs only the sum. docs/sum.md describes the messages, the
 * threat model and who learns what.
 *
 * A session is described by a JSON file every party holds a copy of
 * (docs/sum.md, "Session file"): session id, vector length, scale,
 * scheme, threshold, timeouts and the roster. Parties check at the start
 * of every connection that they hold the same file (its digest). */
#ifndef VEIL_SUM_H
#define VEIL_SUM_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"
#include "veil/net.h"
#include "veil/share.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_SUM_ROLE_INPUT   1u
#define VEIL_SUM_ROLE_COMPUTE 2u
#define VEIL_SUM_ROLE_OUTPUT  4u

#define VEIL_SUM_LENGTH_MAX       (1ull << 31) /* elements in a session's vector */
#define VEIL_SUM_SCALE_MAX        18u          /* int64 mantissas */
#define VEIL_SUM_PARTIES_MAX      256u
#define VEIL_SUM_SESSION_FILE_MAX (1u << 20)

typedef struct {
    char id[VEIL_PARTY_ID_MAX + 1];
    unsigned roles; /* VEIL_SUM_ROLE_* bits */
    unsigned index; /* 1..n among compute parties in roster order; 0 otherwise */
} veil_sum_party;

typedef struct {
    char id[VEIL_SESSION_ID_MAX + 1];
    uint64_t length;
    unsigned scale;
    veil_scheme scheme;
    unsigned threshold; /* t; n for the additive scheme */
    unsigned n_compute, n_input;
    /* Seconds: TCP connect + TLS handshake; one message; how long compute
     * parties accept input parties after they start; how much longer the
     * output party waits for compute parties after that. */
    unsigned connect_timeout, io_timeout, inputs_timeout, results_timeout;
    size_t nparties;
    veil_sum_party *parties; /* roster order */
    veil_peer *peers;        /* the same roster as net/ wants it */
    size_t output;           /* index in parties of the output party */
    uint8_t digest[32];      /* BLAKE2b-256 of the canonical JSON */
} veil_sum_session;

/* Parses and checks a session file. Every error names the file and the
 * field ("session.json: parties[3].address: ..."); unknown fields are
 * refused so a typo is not silently ignored. */
veil_status veil_sum_session_parse(veil_sum_session **out, const char *text, size_t len,
                                   const char *name, veil_err *err) VEIL_WUR;
veil_status veil_sum_session_load(veil_sum_session **out, const char *path, veil_err *err) VEIL_WUR;
void veil_sum_session_free(veil_sum_session *s);
/* The party with this id, or NULL. */
const veil_sum_party *veil_sum_session_find(const veil_sum_session *s, const char *id);

/* Callbacks from a running party; any may be NULL. The library never
 * prints: `log` receives one line per event worth telling the operator
 * (a refused connection, a party that dropped out). `stop` is polled
 * while waiting; returning non-zero abandons the session
 * (VEIL_ERR_IO "interrupted"). */
typedef struct {
    void (*log)(void *ctx, const char *line);
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    int (*stop)(void *ctx);
    void *ctx;
    /* Every protocol message this party receives, as the application
     * layer sees it (inside TLS): for tracing, and for the tests that
     * check what each party learns. May be called from several threads
     * at once. */
    void (*message)(void *ctx, const char *peer, uint32_t type, const uint8_t *payload, size_t len);
} veil_sum_hooks;

/* Per-party outcome, indexed like session->parties. */
enum {
    VEIL_SUM_NONE = 0,
    VEIL_SUM_INCLUDED, /* input party: its shares are in the sum */
    VEIL_SUM_DROPPED,  /* input party not in the sum / compute party never delivered */
    VEIL_SUM_USED,     /* compute party whose result was used */
    VEIL_SUM_EXCLUDED, /* compute party that delivered a result over another set of inputs */
    VEIL_SUM_FAILED    /* submit: this compute party did not accept our shares */
};

/* Bytes this party wrote to and read from its TLS connections (frames:
 * length heads and envelopes; TLS record overhead not included). */
typedef struct {
    uint64_t sent, received;
} veil_sum_traffic;

/* An input party sends its values (length = session->length mantissas at
 * the session's scale) to every compute party. Succeeds when at least t
 * compute parties (all n for the additive scheme) acknowledged; status[i]
 * (array of session->nparties, may be NULL) says INCLUDED for compute
 * parties that accepted and FAILED for the others, and messages[i] (may
 * be NULL; VEIL_ERR_MSG_MAX bytes each) why; traffic (may be NULL) the
 * bytes moved. */
veil_status veil_sum_submit(const veil_sum_session *s, const char *identity_dir,
                            const char *self_id, const int64_t *values, const veil_sum_hooks *hooks,
                            unsigned char *status, char (*messages)[VEIL_ERR_MSG_MAX],
                            veil_sum_traffic *traffic, veil_err *err) VEIL_WUR;

/* What a serving party ends with; both arrays have session->nparties
 * entries, indexed like session->parties. */
typedef struct {
    /* Input parties: INCLUDED or DROPPED. For a compute party that is not
     * the output party: the input parties it summed. For the output
     * party: the input parties in the reconstructed sum. */
    unsigned char *inputs;
    /* Output party only: compute parties USED, EXCLUDED or DROPPED. */
    unsigned char *computes;
    int have_sums;  /* output party */
    __int128 *sums; /* session->length mantissas at session->scale */
    __int128 total; /* sum of all elements */
    unsigned compute_used;
    veil_sum_traffic traffic;
} veil_sum_outcome;

void veil_sum_outcome_free(veil_sum_outcome *o);

/* Runs a compute and/or output party until its part of the session is
 * done: a compute party accepts input parties' shares until all have
 * submitted or inputs_timeout passed, then delivers its sum to the output
 * party (or to itself); an output party collects compute parties' results
 * until all have delivered or the results deadline passed, and
 * reconstructs from a group of at least t compute parties that summed the
 * same set of input parties. */
veil_status veil_sum_serve(const veil_sum_session *s, const char *identity_dir, const char *self_id,
                           const veil_sum_hooks *hooks, veil_sum_outcome *out,
                           veil_err *err) VEIL_WUR;

#ifdef __cplusplus
}
#endif
#endif
