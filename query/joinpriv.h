/* query/joinpriv.h — private to libveil_query: the pieces the three roles
 * of veil_query_run share (docs/query.md, "Protocol").
 *
 *  join_wire.c   messages, status, batches of points/tags/ciphertexts
 *  join_data.c   a department's records, its set, blinding and shuffling
 *  join_dept.c   a department that is not the combiner; connecting; budget
 *  join_comb.c   the combiner
 *  join_run.c    the analyst, veil_query_run, results */
#ifndef VEIL_JOINPRIV_H
#define VEIL_JOINPRIV_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "qpack.h"
#include "veil/join.h"
#include "veil/net.h"
#include "veil/psi.h"
#include "veil/query.h"
#include "veil/proto/query.pb-c.h"

enum {
    QMSG_HELLO = 1,
    QMSG_STATUS = 2,
    QMSG_BATCH = 3,
    QMSG_CHUNK = 4,
    QMSG_DONE = 5,
    QMSG_RESULT = 6,
    QMSG_DECRYPT = 7,  /* released ciphertexts for a share holder */
    QMSG_PARTIALS = 8, /* a holder's sealed partial decryptions */
};

enum {
    QPURPOSE_SET = 1,     /* a department's own set */
    QPURPOSE_BLIND = 2,   /* blind these points and return them in order */
    QPURPOSE_SHUFFLE = 3, /* blind, re-randomize and shuffle the combiner's set */
    QPURPOSE_ANSWER = 4,  /* the answer to 2 or 3 */
    QPURPOSE_SEND_SET = 5, /* send your set now (no elements) */
    QPURPOSE_DECRYPT = 6,  /* partially decrypt the QueryDecrypt that follows */
};

#define QPROTO_VERSION   2u
#define QCHUNK_MAX_ELEMS 4096u
#define QCHUNK_MAX_BYTES (4u << 20)
#define QSET_MAX_ELEMS   100000000ull /* elements in one batch */
#define QSTATUS_TEXT_MAX 400
#define QPOLL_MS         100
#define QEG_CT_BYTES     (2 * VEIL_PSI_POINT_BYTES)
#define QSEAL_KEY_BYTES  32u /* crypto_box_PUBLICKEYBYTES */
/* Ciphertexts one decryption request may carry: every cell's packs. */
#define QDECRYPT_MAX ((VEIL_PSI_TAGS_MAX + 1ull) * 2 * VEIL_QUERY_VALUES_MAX)

typedef struct {
    const veil_query *q;
    const veil_query_party *p;
    const veil_query_hooks *h;
    const veil_paillier_pub *pk;
    size_t ctlen; /* bytes of one ciphertext */
    unsigned threads;
    double start, deadline; /* monotonic seconds; deadline = start + query timeout */
    veil_roster roster;
    veil_net *net;
    /* The analyst of a threshold query: the key pair the holders seal
     * their partial decryptions to (fresh per query, wiped at the end). */
    int has_seal;
    uint8_t seal_pk[QSEAL_KEY_BYTES], seal_sk[QSEAL_KEY_BYTES];
} qctx;

/* A batch of elements as it travels: points (32 bytes each), optionally
 * ElGamal tags (64 bytes each) and cts_per Paillier ciphertexts each. */
typedef struct {
    size_t count;
    uint32_t cts_per;
    int has_tags;
    uint8_t *points;
    uint8_t *tags;
    uint8_t *cts;
} qbatch;

/* join_wire.c */
double q_now(void);
void q_sleep_ms(unsigned ms);
void q_log(const qctx *x, const char *fmt, ...) VEIL_PRINTF(2, 3);
int q_stopped(const qctx *x);
veil_status q_send_msg(veil_conn *c, uint32_t type, const ProtobufCMessage *m,
                       veil_err *err) VEIL_WUR;
veil_status q_send_status(veil_conn *c, int ok, const char *text, veil_err *err) VEIL_WUR;
/* Best effort: tells the peer the query stopped with `text`. */
void q_tell_stop(veil_conn *c, const char *text);
/* Receives one message of type `want` (hooks->message sees every one).
 * A QueryStatus with ok = false where something else is expected is the
 * peer stopping the query: VEIL_ERR_USAGE "PEER stopped the query: TEXT". */
veil_status q_recv_msg(const qctx *x, veil_conn *c, uint32_t want,
                       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                       veil_err *err) VEIL_WUR;
/* Like q_recv_msg for a QueryStatus: *ok receives its flag; a refusal is
 * returned as the error above. */
veil_status q_recv_status(const qctx *x, veil_conn *c, veil_err *err) VEIL_WUR;
const char *q_msg_name(uint32_t type);

veil_status q_batch_alloc(qbatch *b, size_t count, uint32_t cts_per, int has_tags, size_t ctlen,
                          veil_err *err) VEIL_WUR;
void q_batch_free(qbatch *b);
veil_status q_send_batch(const qctx *x, veil_conn *c, uint32_t purpose, const qbatch *b,
                         const uint8_t *tag_key, veil_err *err) VEIL_WUR;
/* Batches piece by piece, for sets streamed without holding them whole:
 * the chunk size for elements of this shape (at most QCHUNK_MAX_ELEMS and
 * QCHUNK_MAX_BYTES), a header, chunk `n` elements of b from element `at`
 * (sent as offset `offset` of the batch), the done. */
size_t q_chunk_elems(uint32_t cts_per, int has_tags, size_t ctlen);
veil_status q_send_header(veil_conn *c, uint32_t purpose, size_t count, uint32_t cts_per,
                          int has_tags, const uint8_t *tag_key, veil_err *err) VEIL_WUR;
veil_status q_send_chunk(const qctx *x, veil_conn *c, size_t offset, const qbatch *b, size_t at,
                         size_t n, veil_err *err) VEIL_WUR;
veil_status q_send_done(veil_conn *c, size_t count, veil_err *err) VEIL_WUR;

typedef struct {
    uint32_t purpose;
    size_t count;
    uint32_t cts_per;
    int has_tags;
    uint8_t tag_key[VEIL_PSI_POINT_BYTES]; /* zero when absent */
} qhdr;
/* Receives and checks a batch header (as q_recv_batch below). */
veil_status q_recv_header(const qctx *x, veil_conn *c, uint32_t want, qhdr *h, int *status_ok,
                          veil_err *err) VEIL_WUR;
/* Receives the chunk that starts at element `next` of the batch h into dst
 * from element `at` (dst->count - at must hold it); *got = its elements. */
veil_status q_recv_chunk(const qctx *x, veil_conn *c, const qhdr *h, size_t next, qbatch *dst,
                         size_t at, size_t *got, veil_err *err) VEIL_WUR;
veil_status q_recv_done(const qctx *x, veil_conn *c, const qhdr *h, veil_err *err) VEIL_WUR;

/* Receives a batch header (purpose want, or 2 or 3 when want = 0; a
 * QueryStatus instead sets *status_ok and returns VEIL_OK with
 * *purpose = 0 when status_ok is not NULL; want = 0 accepts the requests
 * 2, 3, 5 and 6), then the chunks and the done.
 * tag_key (32 bytes) receives the ElGamal key of a purpose-3 batch or the
 * analyst's seal key of a purpose-6 request. */
veil_status q_recv_batch(const qctx *x, veil_conn *c, uint32_t want, qbatch *b, uint32_t *purpose,
                         uint8_t *tag_key, int *status_ok, veil_err *err) VEIL_WUR;

/* join_data.c */
typedef struct {
    size_t n;
    char *idbuf; /* the join keys, back to back */
    size_t *idoff, *idlen;
    uint64_t *line;
    size_t ncols;
    int64_t *values; /* n * ncols */
    uint32_t *tags;  /* n, when the department groups */
    size_t nlabels;
    char **labels; /* sorted, distinct */
    uint64_t clipped;
} qrecords;

veil_status q_load_records(const qctx *x, size_t dept, qrecords *r, veil_err *err) VEIL_WUR;
void q_records_free(qrecords *r);
/* Does this department send encrypted values? (It has value columns and
 * the query asks for more than counts.) */
int q_dept_sends_values(const veil_query *q, size_t dept);
veil_status q_layout(const qctx *x, size_t dept, uint64_t rows, veil_qpack_layout *l,
                     veil_err *err) VEIL_WUR;
/* A department's set in a fresh random order, made piece by piece:
 * element i is key * H(id), its tag under eg_y (when r->tags and eg_y !=
 * NULL) and its packed encrypted values, for the row order[i]. r and key
 * must outlive the generator. fill writes elements off..off+n-1 into b
 * (allocated for at least n elements of the generator's shape: ncts
 * ciphertexts each, tags when `tags`). */
typedef struct {
    const qctx *x;
    const qrecords *r;
    const veil_psi_key *key;
    const uint8_t *eg_y;
    veil_qpack_layout l;
    int tags;
    size_t *order;
} qsetgen;
veil_status q_setgen_init(qsetgen *g, const qctx *x, size_t dept, const qrecords *r,
                          const veil_psi_key *key, const uint8_t *eg_y, veil_err *err) VEIL_WUR;
veil_status q_setgen_fill(qsetgen *g, size_t off, size_t n, qbatch *b, veil_err *err) VEIL_WUR;
void q_setgen_free(qsetgen *g);
/* The whole set at once. */
veil_status q_build_set(const qctx *x, size_t dept, const qrecords *r, const veil_psi_key *key,
                        const uint8_t *eg_y, qbatch *b, veil_err *err) VEIL_WUR;
/* Blinds b's points with key; with shuffle, also re-randomizes its tags
 * (under tag_key) and ciphertexts and applies a fresh random permutation. */
veil_status q_serve(const qctx *x, const veil_psi_key *key, qbatch *b, int shuffle,
                    const uint8_t *tag_key, veil_err *err) VEIL_WUR;

/* join_dept.c */
veil_status q_open_net(qctx *x, veil_err *err) VEIL_WUR;
/* Connects to the combiner (retrying while it is not listening yet, up to
 * the io timeout) and sends the hello. */
veil_status q_connect_combiner(const qctx *x, veil_conn **out, veil_err *err) VEIL_WUR;
/* With an epsilon: checks (q_check_budget, before anything runs) and
 * spends (q_spend_budget, when the department's data is about to leave)
 * the department's budget ledger. */
veil_status q_check_budget(const qctx *x, size_t dept, veil_err *err) VEIL_WUR;
veil_status q_spend_budget(const qctx *x, size_t dept, veil_err *err) VEIL_WUR;
veil_status q_department(qctx *x, size_t dept, veil_query_stats *stats, veil_err *err) VEIL_WUR;

/* join_thr.c: decryption by a threshold key's share holders */
/* A holder's partial decryptions of cts[0..n), packed as a QueryPartials
 * and sealed to seal_pk; *out (malloc'd) and *outlen. */
veil_status q_thr_partials(const qctx *x, const uint8_t *cts, size_t n, const uint8_t *seal_pk,
                           uint8_t **out, size_t *outlen, veil_err *err) VEIL_WUR;
/* Answers the combiner's QPURPOSE_DECRYPT request (its QueryDecrypt
 * follows on c) with this department's sealed partials. */
veil_status q_thr_serve(const qctx *x, veil_conn *c, const uint8_t *seal_pk,
                        veil_err *err) VEIL_WUR;
/* The analyst: m[0..n) = the plaintext residues of cts[0..n) from the
 * holders' sealed partials (the first t that check; a holder whose seal,
 * index or proofs fail is named in the log and skipped). */
veil_status q_thr_combine(const qctx *x, const mpz_t *cts, size_t n,
                          Veil__QuerySealedPartials *const *sealed, size_t nsealed, mpz_t *m,
                          veil_err *err) VEIL_WUR;

/* join_comb.c */
veil_status q_combiner(qctx *x, veil_query_stats *stats, veil_err *err) VEIL_WUR;

#endif
