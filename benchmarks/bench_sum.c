/* veil-bench --sum: the secure-sum protocol end to end on 127.0.0.1.
 *
 * For each vector length (10^4 .. 10^7) and 3, 5 and 7 compute parties
 * (Shamir, t = n/2 + 1), three input parties, n compute parties and one
 * output party run as threads of this process, each with its own identity
 * and its own TLS connections, exactly as `veil sum submit` and
 * `veil sum serve` run them. Measured: the wall time from the first
 * submission to the reconstructed sums, the bytes each kind of party
 * sent, and two references:
 *   plain  the same sum computed directly on the three vectors in memory;
 *   tcp    the same total number of bytes sent over one plain loopback TCP
 *          connection (no TLS, no protocol), the transport's limit.
 * Every run's sums are checked against the plain sum. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "veil/net.h"
#include "veil/sum.h"

int veil_bench_sum(uint64_t max_len, const char *csv_path);

#define N_INPUT 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A port the kernel considers free right now; *hold is the socket bound
 * to it, kept open until all ports of a run are chosen so no two are the
 * same. */
static int free_port(int *hold)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    *hold = fd;
    return port;
}

typedef struct {
    const veil_sum_session *s;
    char dir[512];
    const char *id;
    const int64_t *values; /* input parties */
    veil_sum_outcome out;  /* serving parties */
    veil_sum_traffic traffic;
    veil_status st;
    veil_err err;
} party_run;

static void *serve_main(void *arg)
{
    party_run *p = arg;
    p->st = veil_sum_serve(p->s, p->dir, p->id, NULL, &p->out, &p->err);
    return NULL;
}

static void *submit_main(void *arg)
{
    party_run *p = arg;
    p->st = veil_sum_submit(p->s, p->dir, p->id, p->values, NULL, NULL, NULL, &p->traffic, &p->err);
    return NULL;
}

/* Sends `bytes` over a loopback TCP connection in 1 MiB writes; seconds. */
typedef struct {
    int fd;
    uint64_t bytes;
} tcp_job;

static void *tcp_reader(void *arg)
{
    tcp_job *j = arg;
    char *buf = malloc(1u << 20);
    uint64_t got = 0;
    while (buf != NULL && got < j->bytes) {
        ssize_t r = read(j->fd, buf, 1u << 20);
        if (r <= 0)
            break;
        got += (uint64_t)r;
    }
    free(buf);
    j->bytes = got;
    return NULL;
}

static double tcp_seconds(uint64_t bytes)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) != 0)
        return -1;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    int s = accept(ls, NULL, NULL);
    close(ls);
    tcp_job j = {s, bytes};
    char *buf = calloc(1, 1u << 20);
    double t0 = now_s();
    pthread_t th;
    pthread_create(&th, NULL, tcp_reader, &j);
    uint64_t sent = 0;
    while (buf != NULL && sent < bytes) {
        size_t n = bytes - sent < (1u << 20) ? (size_t)(bytes - sent) : (1u << 20);
        ssize_t w = write(c, buf, n);
        if (w <= 0)
            break;
        sent += (uint64_t)w;
    }
    pthread_join(th, NULL);
    double t = now_s() - t0;
    free(buf);
    close(c);
    close(s);
    return j.bytes == bytes ? t : -1;
}

/* The identity of party id under dir, made on first use (identities are
 * shared by all runs); its fingerprint text. */
static veil_status identity(const char *dir, const char *id, char fp[VEIL_FINGERPRINT_TEXT_LEN],
                            veil_err *err)
{
    char crt[600];
    uint8_t raw[VEIL_FINGERPRINT_LEN];
    snprintf(crt, sizeof crt, "%s/party.crt", dir);
    if (access(crt, R_OK) != 0 && veil_party_init(dir, id, 0, fp, err) != VEIL_OK)
        return err->code;
    if (veil_cert_fingerprint_file(crt, raw, err) != VEIL_OK)
        return err->code;
    veil_fingerprint_format(raw, fp);
    return VEIL_OK;
}

static int run_one(const char *root, uint64_t len, unsigned n, int64_t **values, FILE *csv)
{
    unsigned t = n / 2 + 1;
    unsigned np = N_INPUT + n + 1;
    party_run *runs = calloc(np, sizeof *runs);
    char *json = malloc(4096 + (size_t)np * 512);
    veil_sum_session *s = NULL;
    veil_err err;
    int rc = 1;
    int held[64];
    for (unsigned i = 0; i < 64; i++)
        held[i] = -1;
    if (runs == NULL || json == NULL)
        goto out;
    size_t o = (size_t)sprintf(json,
                               "{\"version\":1,\"session\":\"bench-%llu-%u\",\"length\":%llu,"
                               "\"scale\":0,\"threshold\":%u,\"timeouts\":{\"connect\":10,"
                               "\"io\":120,\"inputs\":600,\"results\":600},\"parties\":[",
                               (unsigned long long)len, n, (unsigned long long)len, t);
    for (unsigned i = 0; i < np; i++) {
        party_run *p = &runs[i];
        static char ids[64][16];
        if (i < N_INPUT)
            snprintf(ids[i], sizeof ids[i], "in%u", i + 1);
        else if (i < N_INPUT + n)
            snprintf(ids[i], sizeof ids[i], "c%u", i - N_INPUT + 1);
        else
            snprintf(ids[i], sizeof ids[i], "out");
        p->id = ids[i];
        snprintf(p->dir, sizeof p->dir, "%s/%s", root, p->id);
        char fp[VEIL_FINGERPRINT_TEXT_LEN];
        if (identity(p->dir, p->id, fp, &err) != VEIL_OK) {
            fprintf(stderr, "veil-bench: sum: %s\n", err.msg);
            goto out;
        }
        const char *role = i < N_INPUT ? "input" : i < N_INPUT + n ? "compute" : "output";
        o += (size_t)sprintf(json + o, "%s{\"id\":\"%s\",\"roles\":[\"%s\"],\"fingerprint\":\"%s\"",
                             i ? "," : "", p->id, role, fp);
        if (i >= N_INPUT)
            o += (size_t)sprintf(json + o, ",\"address\":\"127.0.0.1:%d\"", free_port(&held[i]));
        o += (size_t)sprintf(json + o, "}");
    }
    sprintf(json + o, "]}");
    for (unsigned i = 0; i < np; i++)
        if (held[i] >= 0)
            close(held[i]);
    if (veil_sum_session_parse(&s, json, strlen(json), "bench", &err) != VEIL_OK) {
        fprintf(stderr, "veil-bench: sum: %s\n", err.msg);
        goto out;
    }
    /* The plain reference. */
    __int128 *plain = malloc((size_t)len * sizeof *plain);
    if (plain == NULL)
        goto out;
    double t0 = now_s();
    for (uint64_t i = 0; i < len; i++)
        plain[i] = (__int128)values[0][i] + values[1][i] + values[2][i];
    double plain_s = now_s() - t0;

    pthread_t th[64];
    for (unsigned i = N_INPUT; i < np; i++) {
        runs[i].s = s;
        pthread_create(&th[i], NULL, serve_main, &runs[i]);
    }
    struct timespec pause = {0, 100000000L};
    nanosleep(&pause, NULL); /* listeners up */
    t0 = now_s();
    for (unsigned i = 0; i < N_INPUT; i++) {
        runs[i].s = s;
        runs[i].values = values[i];
        pthread_create(&th[i], NULL, submit_main, &runs[i]);
    }
    for (unsigned i = 0; i < np; i++)
        pthread_join(th[i], NULL);
    double wall = now_s() - t0;
    party_run *outp = &runs[np - 1];
    for (unsigned i = 0; i < np; i++)
        if (runs[i].st != VEIL_OK) {
            fprintf(stderr, "veil-bench: sum: %s: %s\n", runs[i].id, runs[i].err.msg);
            goto check_done;
        }
    for (uint64_t i = 0; i < len; i++)
        if (outp->out.sums[i] != plain[i]) {
            fprintf(stderr, "veil-bench: sum: element %llu differs from the plain sum\n",
                    (unsigned long long)i);
            goto check_done;
        }
    uint64_t in_sent = 0, c_sent = 0, total = 0;
    for (unsigned i = 0; i < np; i++) {
        uint64_t b = i < N_INPUT ? runs[i].traffic.sent : runs[i].out.traffic.sent;
        total += b;
        if (i < N_INPUT)
            in_sent += b;
        else if (i < N_INPUT + n)
            c_sent += b;
    }
    double tcp = tcp_seconds(total);
    printf("%-10llu %-2u %-2u %9.3f %12.1f %12.1f %12.1f %10.4f %8.3f %9.0f %7.1f\n",
           (unsigned long long)len, n, t, wall, (double)in_sent / N_INPUT / 1e6,
           (double)c_sent / n / 1e6, (double)outp->out.traffic.received / 1e6, plain_s, tcp,
           wall / (plain_s > 0 ? plain_s : 1e-9), wall / tcp);
    fflush(stdout);
    if (csv != NULL)
        fprintf(csv, "%llu,%u,%u,%.6f,%llu,%llu,%llu,%.6f,%.6f,%.1f,%.2f\n",
                (unsigned long long)len, n, t, wall, (unsigned long long)(in_sent / N_INPUT),
                (unsigned long long)(c_sent / n), (unsigned long long)outp->out.traffic.received,
                plain_s, tcp, wall / (plain_s > 0 ? plain_s : 1e-9), wall / tcp);
    rc = 0;
check_done:
    free(plain);
    for (unsigned i = N_INPUT; i < np; i++)
        veil_sum_outcome_free(&runs[i].out);
out:
    veil_sum_session_free(s);
    free(json);
    free(runs);
    return rc;
}

int veil_bench_sum(uint64_t max_len, const char *csv_path)
{
    char root[] = "/tmp/veil-bench-sum-XXXXXX";
    if (mkdtemp(root) == NULL) {
        perror("veil-bench: mkdtemp");
        return 1;
    }
    FILE *csv = NULL;
    if (csv_path != NULL && (csv = fopen(csv_path, "w")) == NULL) {
        perror(csv_path);
        return 1;
    }
    if (csv != NULL)
        fprintf(csv, "elements,compute_parties,threshold,wall_s,bytes_sent_per_input,"
                     "bytes_sent_per_compute,bytes_received_output,plain_s,tcp_s,ratio_plain,"
                     "ratio_tcp\n");
    int64_t *values[N_INPUT];
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < N_INPUT; k++) {
        values[k] = malloc((size_t)max_len * sizeof(int64_t));
        if (values[k] == NULL)
            return 1;
        for (uint64_t i = 0; i < max_len; i++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            values[k][i] = (int64_t)(state % 2000000000001ull) - 1000000000000ll; /* +-10^12 */
        }
    }
    printf("secure sum on 127.0.0.1: 3 input parties, n compute parties (Shamir, t = n/2+1), 1 "
           "output party\n");
    printf("%-10s %-2s %-2s %9s %12s %12s %12s %10s %8s %9s %7s\n", "elements", "n", "t", "wall_s",
           "MBsent/in", "MBsent/comp", "MBrecv/out", "plain_s", "tcp_s", "x_plain", "x_tcp");
    int rc = 0;
    for (uint64_t len = 10000; len <= max_len && rc == 0; len *= 10)
        for (unsigned n = 3; n <= 7 && rc == 0; n += 2)
            rc = run_one(root, len, n, values, csv);
    for (int k = 0; k < N_INPUT; k++)
        free(values[k]);
    if (csv != NULL && fclose(csv) != 0)
        rc = 1;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
