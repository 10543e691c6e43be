/* A misbehaving input party for tests/e2e_sum.sh: it holds a real identity
 * of the session, so TLS accepts it, and then sends what an honest party
 * never would. The compute party must refuse each message; the test checks
 * the compute party's log and this tool's exit status.
 *
 *   sum_rogue MODE SESSION.json PARTY IDENTITY_DIR COMPUTE_PARTY
 *
 * MODE: replay         hello, then the same hello again with sequence 1
 *       other-session  hello whose envelope names another session
 *       bad-element    a chunk holding 2^127 - 1, which is not a field element
 *       short          fewer elements than the header promised
 *
 * Exit 0 when the compute party refused (closed the connection or
 * answered with a refusal), 1 when it accepted, 2 on a setup error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_testhook.h"
#include "veil/proto/sum.pb-c.h"
#include "veil/sum.h"

static int send_pb(veil_conn *c, uint32_t type, const ProtobufCMessage *m, veil_err *err)
{
    uint8_t buf[4096];
    size_t len = protobuf_c_message_get_packed_size(m);
    if (len > sizeof buf)
        return -1;
    protobuf_c_message_pack(m, buf);
    return veil_conn_send(c, type, buf, len, err) == VEIL_OK ? 0 : -1;
}

/* 0 when the next message is an ack with ok = 1. */
static int ack_ok(veil_conn *c, veil_err *err)
{
    uint32_t type;
    uint8_t *p = NULL;
    size_t len;
    if (veil_conn_recv(c, &type, &p, &len, err) != VEIL_OK)
        return -1;
    Veil__SumAck *a = type == 5 ? veil__sum_ack__unpack(NULL, len, p) : NULL;
    free(p);
    int ok = a != NULL && a->ok;
    if (a != NULL && !a->ok)
        fprintf(stderr, "sum_rogue: refused: %s\n", a->error ? a->error : "");
    if (a != NULL)
        veil__sum_ack__free_unpacked(a, NULL);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: sum_rogue MODE SESSION PARTY IDENTITY_DIR COMPUTE_PARTY\n");
        return 2;
    }
    const char *mode = argv[1];
    veil_err err;
    veil_sum_session *s = NULL;
    veil_net *net = NULL;
    veil_conn *c = NULL;
    if (veil_sum_session_load(&s, argv[2], &err) != VEIL_OK) {
        fprintf(stderr, "sum_rogue: %s\n", err.msg);
        return 2;
    }
    veil_roster roster = {s->peers, s->nparties};
    veil_net_config cfg = {.identity_dir = argv[4],
                           .self_id = argv[3],
                           .session_id = s->id,
                           .roster = &roster,
                           .io_timeout_ms = 10000,
                           .frame_max = 2u << 20};
    if (veil_net_new(&net, &cfg, &err) != VEIL_OK ||
        veil_net_connect(net, argv[5], &c, &err) != VEIL_OK) {
        fprintf(stderr, "sum_rogue: %s\n", err.msg);
        return 2;
    }
    Veil__SumHello h = VEIL__SUM_HELLO__INIT;
    h.version = 1;
    h.session_digest.data = s->digest;
    h.session_digest.len = sizeof s->digest;
    h.purpose = 1;
    int refused;
    if (strcmp(mode, "other-session") == 0) {
        if (veil_conn_test_override(c, "another-session", NULL) != 0)
            return 2;
        refused = send_pb(c, 1, &h.base, &err) != 0 || ack_ok(c, &err) != 0;
    } else if (send_pb(c, 1, &h.base, &err) != 0 || ack_ok(c, &err) != 0) {
        fprintf(stderr, "sum_rogue: the honest hello failed: %s\n", err.msg);
        return 2;
    } else if (strcmp(mode, "replay") == 0) {
        veil_conn_test_set_send_seq(c, 1);
        refused = send_pb(c, 1, &h.base, &err) != 0 || ack_ok(c, &err) != 0;
    } else {
        Veil__SumShareHeader sh = VEIL__SUM_SHARE_HEADER__INIT;
        sh.length = s->length;
        uint8_t vals[2 * VEIL_FE_BYTES];
        memset(vals, 0, sizeof vals);
        if (strcmp(mode, "bad-element") == 0)
            veil_fe_store(vals, veil_fe_p()); /* p itself: not below p */
        Veil__SumChunk ch = VEIL__SUM_CHUNK__INIT;
        ch.offset = 0;
        ch.values.data = vals;
        ch.values.len = sizeof vals;
        Veil__SumDone d = VEIL__SUM_DONE__INIT;
        d.elements = s->length;
        refused = send_pb(c, 2, &sh.base, &err) != 0 || send_pb(c, 3, &ch.base, &err) != 0;
        if (!refused && strcmp(mode, "short") == 0)
            refused = send_pb(c, 4, &d.base, &err) != 0;
        if (!refused)
            refused = ack_ok(c, &err) != 0;
    }
    if (refused)
        fprintf(stderr, "sum_rogue: %s: refused as expected (%s)\n", mode,
                err.msg[0] ? err.msg : "see the compute party's log");
    veil_conn_close(c);
    veil_net_free(net);
    veil_sum_session_free(s);
    return refused ? 0 : 1;
}
