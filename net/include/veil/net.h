/* veil/net.h — party identities and the one authenticated channel every
 * multiparty protocol of veil uses.
 *
 * A party is an Ed25519 key and a self-signed X.509 certificate
 * (`veil party init`). Peers know each other from a roster: party id,
 * address, and the SHA-256 fingerprint of the party's certificate (DER).
 * Every connection is TLS 1.3 (OpenSSL) with mutual authentication; a peer
 * is accepted only when its certificate's fingerprint is pinned in the
 * roster, and a client additionally checks that the server it reached is
 * the party it meant to reach.
 *
 * On top of TLS, messages are framed protobuf envelopes (proto/net.proto):
 * a 4-byte big-endian length, then an Envelope carrying the session id,
 * the sender's party id, a sequence number (1, 2, 3, ... per direction of
 * a connection), a message type and the payload. The receiver rejects a
 * message from another session, from a sender other than the
 * authenticated peer, a replayed or out-of-order sequence number, and a
 * frame longer than the connection's limit. Every wait has a timeout.
 *
 * Libraries never print: failures are a veil_status and a message naming
 * the peer and what went wrong. */
#ifndef VEIL_NET_H
#define VEIL_NET_H

#include <stddef.h>
#include <stdint.h>

#include "veil/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_PARTY_ID_MAX                                                                          \
    64 /* bytes of a party id: [A-Za-z0-9._-], not starting with '.' or '-'                        \
        */
#define VEIL_SESSION_ID_MAX  128 /* bytes of a session id, same alphabet */
#define VEIL_FINGERPRINT_LEN 32  /* SHA-256 of the certificate's DER */
/* "sha256:" + 64 lowercase hex digits + NUL */
#define VEIL_FINGERPRINT_TEXT_LEN (7 + 2 * VEIL_FINGERPRINT_LEN + 1)
#define VEIL_HOST_MAX             255
/* Default limit on one frame (envelope) received. */
#define VEIL_NET_FRAME_MAX_DEFAULT (16u << 20)

/* 1 when id is a usable party or session id (1..max bytes of
 * [A-Za-z0-9._-], not starting with '.' or '-'). */
int veil_net_id_ok(const char *id, size_t max);

/* ---- identities ---- */

/* Creates dir (mode 0700; an existing empty dir is fine) holding
 * party.key (PEM PKCS#8 Ed25519 private key, mode 0600), party.crt (PEM
 * self-signed certificate, CN = id, valid 10 years, mode 0644) and
 * party.id (the id and a newline). Refuses (VEIL_ERR_USAGE) when
 * party.key or party.crt already exist unless force is set. Writes the
 * fingerprint text ("sha256:<hex>") to fp_text. Files are written to a
 * temporary name and renamed, so a failure leaves no half identity. */
veil_status veil_party_init(const char *dir, const char *id, int force,
                            char fp_text[VEIL_FINGERPRINT_TEXT_LEN], veil_err *err) VEIL_WUR;

/* Fingerprint of the PEM certificate in cert_path. */
veil_status veil_cert_fingerprint_file(const char *cert_path, uint8_t fp[VEIL_FINGERPRINT_LEN],
                                       veil_err *err) VEIL_WUR;
/* "sha256:<64 lowercase hex>" <-> 32 bytes. Parsing accepts upper or
 * lower case hex and also the colon-separated form "AB:CD:..." that
 * `openssl x509 -fingerprint -sha256` prints (with or without its
 * "sha256 Fingerprint=" prefix); anything else is VEIL_ERR_INPUT. */
void veil_fingerprint_format(const uint8_t fp[VEIL_FINGERPRINT_LEN],
                             char out[VEIL_FINGERPRINT_TEXT_LEN]);
veil_status veil_fingerprint_parse(uint8_t fp[VEIL_FINGERPRINT_LEN], const char *text,
                                   veil_err *err) VEIL_WUR;

/* What an identity directory holds (`veil party show`). Loading checks it
 * as veil_net_new does: party.key not readable by group or others
 * (VEIL_ERR_USAGE, "chmod 600"), an Ed25519 key matching the certificate
 * (VEIL_ERR_CRYPTO otherwise), party.id equal to the certificate's CN
 * (VEIL_ERR_INPUT otherwise). Validity times are "YYYY-MM-DD HH:MM:SS UTC". */
typedef struct {
    char id[VEIL_PARTY_ID_MAX + 1];
    uint8_t fingerprint[VEIL_FINGERPRINT_LEN];
    char not_before[32];
    char not_after[32];
} veil_party_info;

veil_status veil_party_info_load(veil_party_info *out, const char *dir, veil_err *err) VEIL_WUR;

/* ---- roster ---- */

typedef struct {
    char id[VEIL_PARTY_ID_MAX + 1];
    char host[VEIL_HOST_MAX + 1]; /* "" for a party that never listens */
    uint16_t port;                /* 0 for a party that never listens */
    uint8_t fingerprint[VEIL_FINGERPRINT_LEN];
} veil_peer;

typedef struct {
    const veil_peer *peers; /* not owned by the channel */
    size_t npeers;
} veil_roster;

/* ---- channel ---- */

/* Everything a party needs to talk: its identity (loaded from the
 * directory made by veil_party_init), the roster, the session id, and
 * the timeouts. The party's own certificate must be the roster entry of
 * self_id (VEIL_ERR_USAGE otherwise: a wrong --identity is caught before
 * any connection). The roster is copied. */
typedef struct veil_net veil_net;

typedef struct {
    const char *identity_dir; /* party.key, party.crt */
    const char *self_id;
    const char *session_id;
    const veil_roster *roster;
    unsigned connect_timeout_ms; /* TCP connect + TLS handshake; 0 = 10 s */
    unsigned io_timeout_ms;      /* one send or receive; 0 = 30 s */
    size_t frame_max;            /* 0 = VEIL_NET_FRAME_MAX_DEFAULT */
    /* NULL: TCP and mutual TLS. Otherwise the file exchange (docs/net.md,
     * "File exchange"): every message is a file in this directory, signed
     * with the sender's party key and sealed to the recipient; see
     * "Spool mode" below for what the calls then do. */
    const char *spool_dir;
} veil_net_config;

veil_status veil_net_new(veil_net **out, const veil_net_config *cfg, veil_err *err) VEIL_WUR;
void veil_net_free(veil_net *net);
const char *veil_net_self(const veil_net *net);
/* Bytes of frames (length heads and envelopes, hellos included) written to
 * and read from all of net's connections so far; TLS record overhead is
 * not counted. */
void veil_net_traffic(const veil_net *net, uint64_t *sent, uint64_t *received);

/* Listens on the host and port of self_id's roster entry (SO_REUSEADDR).
 * VEIL_ERR_USAGE when the roster gives self_id no address, VEIL_ERR_IO
 * when the port is taken ("127.0.0.1:7001: Address already in use"). */
veil_status veil_net_listen(veil_net *net, int *fd, veil_err *err) VEIL_WUR;

typedef struct veil_conn veil_conn;

/* Waits up to timeout_ms (0 = forever, -1 = do not wait) for a TCP
 * connection on fd. VEIL_OK with *conn = NULL on timeout. The TLS
 * handshake is NOT done here (so a slow client cannot block the accept
 * loop): call veil_conn_handshake, typically from a worker thread. */
veil_status veil_net_accept(veil_net *net, int fd, int timeout_ms, veil_conn **conn,
                            veil_err *err) VEIL_WUR;
/* Server side of the TLS 1.3 handshake on an accepted connection. A
 * client whose certificate is not in the roster is refused during the
 * handshake (it receives a TLS alert) and the error names its
 * fingerprint and address. */
veil_status veil_conn_handshake(veil_conn *c, veil_err *err) VEIL_WUR;

/* Connects to the roster entry peer_id and completes the handshake; the
 * server's certificate must be peer_id's pinned one. */
veil_status veil_net_connect(veil_net *net, const char *peer_id, veil_conn **conn,
                             veil_err *err) VEIL_WUR;

/* The authenticated peer's party id (valid after the handshake) and its
 * address ("127.0.0.1:53122"). */
const char *veil_conn_peer(const veil_conn *c);
const char *veil_conn_addr(const veil_conn *c);

/* Sends one message: an Envelope with this connection's next sequence
 * number. len may be 0. Payload longer than the frame limit minus the
 * envelope overhead (VEIL_NET_ENVELOPE_OVERHEAD) is VEIL_ERR_INTERNAL. */
#define VEIL_NET_ENVELOPE_OVERHEAD 512
veil_status veil_conn_send(veil_conn *c, uint32_t type, const void *payload, size_t len,
                           veil_err *err) VEIL_WUR;
/* Receives one message within the connection's io timeout. *payload is
 * malloc'd (free with free(); NULL when len is 0). Rejected with
 * VEIL_ERR_INPUT (the message names peer, session, seq as appropriate):
 * a frame over the limit, an envelope that does not decode, a wrong
 * version, another session id, a sender other than the peer, a sequence
 * number other than the next expected ("replayed", "out of order").
 * A peer that closed the connection cleanly: VEIL_ERR_IO "closed the
 * connection". Timeout: VEIL_ERR_IO "timed out after N s". */
veil_status veil_conn_recv(veil_conn *c, uint32_t *type, uint8_t **payload, size_t *len,
                           veil_err *err) VEIL_WUR;
/* Sends close_notify (best effort), closes, frees. NULL is accepted. */
void veil_conn_close(veil_conn *c);

/* ---- spool mode (veil_net_config.spool_dir set) ----
 *
 * The same calls, without sockets: veil_net_new also publishes this
 * party's certificate as DIR/certs/ID.crt and refuses (VEIL_ERR_USAGE) a
 * spool still holding a message file of this session sent by this party.
 * veil_net_listen opens nothing (*fd = -1). veil_net_accept waits, polling
 * with the same timeout semantics, for the first message file (sequence
 * number 1) addressed to this party from a roster peer it has not returned
 * before; veil_conn_handshake then loads that peer's published certificate
 * and checks its fingerprint against the roster. veil_net_connect loads
 * the peer's certificate the same way (VEIL_ERR_IO while the peer has not
 * published it yet; VEIL_ERR_CRYPTO when it is not the pinned one).
 * veil_conn_send writes one file "SESSION,SENDER,RECIPIENT,SEQ.msg"
 * (temporary file, fsync, link: mode 0600, never replacing a file);
 * veil_conn_recv waits up to the io timeout for the next expected file,
 * checks it (VEIL_ERR_INPUT naming the file: oversize, truncated, not
 * sealed to this party or altered, bad signature, then the envelope checks
 * above) and removes it. There is no close notification: a peer that
 * stops sending is noticed by the timeout. Traffic counts file bytes.
 * One conversation per pair of parties and session; connecting to itself
 * is VEIL_ERR_USAGE (both directions would use the same file names). A
 * refused file ends receiving on that conversation, not sending. */

#ifdef __cplusplus
}
#endif
#endif
