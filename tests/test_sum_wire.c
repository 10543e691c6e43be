/* What crosses the wire in a secure sum: compute and output parties run as
 * real processes on 127.0.0.1 and record every protocol message they
 * receive (the application layer, inside TLS); none of those bytes may
 * contain an input value, in binary or as decimal text. Also checks that
 * the seeded compute party received a seed and no share vector, and that
 * the output equals the plaintext sum. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/net.h"
#include "veil/sum.h"

#define LEN   1000
#define N_IN  2
#define N_SRV 4 /* c1, c2, c3 (t = 2) and out */

static const char *const ids[] = {"in1", "in2", "c1", "c2", "c3", "out"};
#define N_PARTIES 6

static char *dir;
static veil_sum_session *sess;
static int64_t values[N_IN][LEN];

/* Appends [type u32][len u32][payload] to the FILE in ctx. */
static void record(void *ctx, const char *peer, uint32_t type, const uint8_t *p, size_t len)
{
    (void)peer;
    FILE *f = ctx;
    uint32_t head[2] = {type, (uint32_t)len};
    flockfile(f);
    fwrite(head, sizeof head, 1, f);
    if (len > 0)
        fwrite(p, 1, len, f);
    funlockfile(f);
}

static int setup(void)
{
    dir = tu_tempdir();
    char json[8192];
    size_t o = (size_t)snprintf(json, sizeof json,
                                "{\"version\": 1, \"session\": \"wire-test\", \"length\": %d, "
                                "\"scale\": 0, \"threshold\": 2, \"timeouts\": {\"connect\": 5, "
                                "\"io\": 20, \"inputs\": 60, \"results\": 60}, \"parties\": [",
                                LEN);
    int held[N_PARTIES];
    for (int i = 0; i < N_PARTIES; i++) {
        char *d = tu_path(dir, ids[i]);
        char fp[VEIL_FINGERPRINT_TEXT_LEN];
        veil_err err;
        if (veil_party_init(d, ids[i], 0, fp, &err) != VEIL_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return -1;
        }
        free(d);
        const char *role = i < N_IN ? "input" : i < N_PARTIES - 1 ? "compute" : "output";
        o += (size_t)snprintf(json + o, sizeof json - o,
                              "%s{\"id\": \"%s\", \"roles\": [\"%s\"], \"fingerprint\": \"%s\"",
                              i ? ", " : "", ids[i], role, fp);
        held[i] = -1;
        if (i >= N_IN) {
            /* A free port, held until all are chosen so none repeats. */
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            socklen_t sl = sizeof a;
            held[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (held[i] < 0 || bind(held[i], (struct sockaddr *)&a, sizeof a) != 0 ||
                getsockname(held[i], (struct sockaddr *)&a, &sl) != 0)
                return -1;
            o += (size_t)snprintf(json + o, sizeof json - o, ", \"address\": \"127.0.0.1:%d\"",
                                  ntohs(a.sin_port));
        }
        o += (size_t)snprintf(json + o, sizeof json - o, "}");
    }
    snprintf(json + o, sizeof json - o, "]}");
    for (int i = 0; i < N_PARTIES; i++)
        if (held[i] >= 0)
            close(held[i]);
    veil_err err;
    if (veil_sum_session_parse(&sess, json, strlen(json), "wire-test", &err) != VEIL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    /* Large magnitudes of both signs, so no value can appear in the
     * recorded bytes by chance. */
    for (int k = 0; k < N_IN; k++)
        for (int i = 0; i < LEN; i++) {
            uint64_t r;
            randombytes_buf(&r, sizeof r);
            int64_t v = (int64_t)((r >> 2) | (1ull << 60));
            values[k][i] = (r & 1) ? -v : v;
        }
    return 0;
}

static int cleanup(void)
{
    veil_sum_session_free(sess);
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* Child: one serving party; its received messages go to <id>.wire, the
 * output party's sums to sums.bin. */
static void serve_child(const char *id)
{
    alarm(60);
    char *wire = tu_path(dir, id), *ident = tu_path(dir, id);
    char path[4096];
    snprintf(path, sizeof path, "%s.wire", wire);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        _exit(90);
    veil_sum_hooks hooks = {NULL, NULL, NULL, f, record};
    veil_sum_outcome o;
    veil_err err;
    veil_status st = veil_sum_serve(sess, ident, id, &hooks, &o, &err);
    if (st != VEIL_OK)
        fprintf(stderr, "%s: %s\n", id, err.msg);
    if (st == VEIL_OK && o.have_sums) {
        char *sums = tu_path(dir, "sums.bin");
        tu_write_file(sums, o.sums, LEN * sizeof *o.sums);
        free(sums);
    }
    fclose(f);
    veil_sum_outcome_free(&o);
    _exit(st == VEIL_OK ? 0 : 91);
}

/* 1 when needle occurs in the recorded payloads of buf. */
static int occurs(const uint8_t *buf, size_t len, const void *needle, size_t nlen)
{
    const uint8_t *n = needle;
    for (size_t i = 0; i + nlen <= len; i++) {
        const uint8_t *at = memchr(buf + i, n[0], len - nlen + 1 - i);
        if (at == NULL)
            return 0;
        i = (size_t)(at - buf);
        if (memcmp(at, n, nlen) == 0)
            return 1;
    }
    return 0;
}

static void test_nothing_in_the_clear(void)
{
    pid_t pids[N_SRV];
    for (int i = 0; i < N_SRV; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0)
            serve_child(ids[N_IN + i]);
    }
    struct timespec pause = {0, 200000000L};
    nanosleep(&pause, NULL);
    alarm(60);
    for (int k = 0; k < N_IN; k++) {
        char *ident = tu_path(dir, ids[k]);
        veil_err err;
        veil_status st =
            veil_sum_submit(sess, ident, ids[k], values[k], NULL, NULL, NULL, NULL, &err);
        if (st != VEIL_OK)
            fprintf(stderr, "\n  submit %s: %s\n", ids[k], err.msg);
        CU_ASSERT_EQUAL(st, VEIL_OK);
        free(ident);
    }
    for (int i = 0; i < N_SRV; i++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(pids[i], &status, 0), pids[i]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    alarm(0);

    /* The sums are right. */
    char *sums_path = tu_path(dir, "sums.bin");
    size_t slen = 0;
    __int128 *sums = (__int128 *)tu_read_file(sums_path, &slen);
    CU_ASSERT_FATAL(sums != NULL && slen == LEN * sizeof *sums);
    for (int i = 0; i < LEN; i++)
        CU_ASSERT((__int128)values[0][i] + values[1][i] == sums[i]);
    free(sums);
    free(sums_path);

    /* The scanner finds a value that is there. */
    uint8_t planted[64] = {0};
    memcpy(planted + 13, &values[1][7], sizeof values[1][7]);
    CU_ASSERT(occurs(planted, sizeof planted, &values[1][7], sizeof values[1][7]));
    CU_ASSERT(!occurs(planted, sizeof planted, &values[1][8], sizeof values[1][8]));

    /* Nothing any serving party received holds an input value. */
    for (int p = 0; p < N_SRV; p++) {
        char *base = tu_path(dir, ids[N_IN + p]);
        char path[4096];
        snprintf(path, sizeof path, "%s.wire", base);
        size_t len = 0;
        uint8_t *buf = (uint8_t *)tu_read_file(path, &len);
        CU_ASSERT_FATAL(buf != NULL);
        CU_ASSERT(len > 0);
        unsigned hits = 0;
        for (int k = 0; k < N_IN; k++)
            for (int i = 0; i < LEN; i++) {
                uint8_t fe[VEIL_FE_BYTES];
                char text[32];
                veil_fe_store(fe, veil_fe_from_i64(values[k][i]));
                int tl = snprintf(text, sizeof text, "%lld", (long long)values[k][i]);
                hits += occurs(buf, len, &values[k][i], sizeof values[k][i]);
                hits += occurs(buf, len, fe, sizeof fe);
                hits +=
                    occurs(buf, len, text + (values[k][i] < 0), (size_t)tl - (values[k][i] < 0));
            }
        if (hits != 0)
            fprintf(stderr, "\n  %s received %u input values in the clear\n", ids[N_IN + p], hits);
        CU_ASSERT_EQUAL(hits, 0);
        /* Message types: what each party received. c1 has the lowest
         * index, so with t = 2 it gets a seed from each input party and
         * no chunk; c2 and c3 get chunks; out gets the three results. */
        unsigned chunks = 0, seeds = 0;
        for (size_t off = 0; off + 8 <= len;) {
            uint32_t head[2];
            memcpy(head, buf + off, sizeof head);
            if (head[0] == 3)
                chunks++;
            if (head[0] == 2 && head[1] > 32)
                seeds++; /* a share header carrying a 32-byte seed */
            off += 8 + head[1];
        }
        if (p == 0) {
            CU_ASSERT_EQUAL(chunks, 0);
            CU_ASSERT_EQUAL(seeds, N_IN);
        } else {
            CU_ASSERT(chunks >= N_IN);
            CU_ASSERT_EQUAL(seeds, 0);
        }
        free(buf);
        free(base);
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"no input value crosses the wire in the clear", test_nothing_in_the_clear},
        {NULL, NULL},
    };
    if (sodium_init() < 0)
        return 1;
    return tu_main("sum wire", setup, cleanup, tests);
}
