/* veil query run: one party of a cross-department query (docs/query.md).
 * Every department and the analyst run it with the same query file; the
 * analyst writes the released table as CSV. */
#include <errno.h>
#include <sodium.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "cliutil.h"
#include "commands.h"
#include "passphrase.h"
#include "veil/disclosure.h"
#include "veil/join.h"
#include "veil/keyfile.h"
#include "veil/query.h"
#include "veil/threshold.h"

enum {
    O_QUERY = 1,
    O_PARTY,
    O_IDENTITY,
    O_INPUT,
    O_KEY,
    O_PASSFILE,
    O_ASK,
    O_OUT,
    O_LEDGER,
    O_THREADS,
    O_TRACE,
    O_TKEY,
    O_SHARE,
    O_PARTYKEY,
    O_FORCE,
    O_SPOOL
};

static const veil_opt opts[] = {
    {"query", O_QUERY, "FILE.json", "the query description every party holds", 1, VEIL_IO_IN},
    {"party", O_PARTY, "ID", "this party: a department of the query or its analyst", 1},
    {"identity", O_IDENTITY, "DIR", "this party's identity (made by `veil party init`)", 1},
    {"input", O_INPUT, "FILE.csv",
     "departments: the records (header row; the join key, the group-by column, the value "
     "columns)",
     0, VEIL_IO_IN},
    {"key", O_KEY, "KEY",
     "departments: the query's public key; the analyst: its private key (queries without a "
     "threshold key)",
     0, VEIL_IO_IN},
    {"threshold-key", O_TKEY, "FILE.tkey",
     "queries with a threshold key: the key (the analyst needs it; departments may give it "
     "instead of --key)",
     0, VEIL_IO_IN},
    {"share", O_SHARE, "SHARE.tsh",
     "a share holder the query names: this party's share of the threshold key", 0, VEIL_IO_IN},
    {"party-key", O_PARTYKEY, "SEC",
     "this party's secret key, when its share is sealed (threshold party-key)", 0, VEIL_IO_IN},
    {"passphrase-file", O_PASSFILE, "F", VEIL_PASS_OPT_FILE_HELP, 0, VEIL_IO_SECRET},
    {"ask-passphrase", O_ASK, NULL, VEIL_PASS_OPT_ASK_HELP, 0},
    {"out", O_OUT, "FILE.csv",
     "the analyst: where to write the released table (mode 0600; default: standard output)", 0,
     VEIL_IO_OUT},
    {"ledger", O_LEDGER, "FILE",
     "departments, when the query has an epsilon: the dataset's budget ledger", 0},
    {"threads", O_THREADS, "N", "worker threads (default: one per CPU)", 0},
    {"trace", O_TRACE, "DIR",
     "append every protocol message this party receives to DIR/PARTY.trace (for audits)", 0},
    {"spool", O_SPOOL, "DIR",
     "exchange signed, sealed message files in DIR instead of connecting (every party of the "
     "run gives the same DIR; the combiner's address is unused)",
     0},
    {"force", O_FORCE, NULL, "overwrite an existing --out file", 0},
    {NULL, 0, NULL, NULL, 0},
};

typedef struct {
    const char *self;
    FILE *trace;
    struct timespec start;
} runctx;

/* Progress lines carry the seconds since the command started. */
static void on_log(void *ctx, const char *line)
{
    const runctx *rx = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = (double)(now.tv_sec - rx->start.tv_sec) +
               (double)(now.tv_nsec - rx->start.tv_nsec) / 1e9;
    fprintf(stderr, "veil query run: %s: [%7.2f s] %s\n", rx->self, t, line);
}

static void on_message(void *ctx, const char *peer, uint32_t type, const uint8_t *payload,
                       size_t len)
{
    FILE *f = ((const runctx *)ctx)->trace;
    if (f == NULL)
        return;
    fprintf(f, "== from %s type %u length %zu\n", peer, type, len);
    if (len > 0)
        fwrite(payload, 1, len, f);
    fputc('\n', f);
}

static int on_stop(void *ctx)
{
    (void)ctx;
    return veil_cli_interrupted();
}

static veil_status open_trace(FILE **out, const char *dir, const char *self, veil_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.trace", dir, self) >= sizeof path)
        return veil_err_set(err, VEIL_ERR_USAGE, "--trace: the directory name is too long");
    *out = fopen(path, "ab");
    if (*out == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    (void)chmod(path, 0600);
    return VEIL_OK;
}

static void print_table(const veil_query *q, const veil_query_result *r)
{
    size_t shown = 0;
    for (size_t i = 0; i < r->ncells; i++)
        shown += r->cells[i].released;
    fprintf(stderr, "veil query run: %s: %zu of %zu cells released%s\n", q->analyst_id, shown,
            r->ncells, r->total.released ? "; the total is released" : "; the total is suppressed");
}

/* The keys this party needs: without a threshold key, --key (public for
 * departments, private for the analyst); with one, --threshold-key and,
 * for a holder, --share (departments may still give the public --key). */
static veil_status load_keys(const veil_cmd *cmd, const veil_args *a, const veil_query *q,
                             int analyst, veil_paillier_pub **pk, veil_paillier_priv **sk,
                             veil_threshold_key **tkey, veil_threshold_share **share,
                             veil_err *err)
{
    const char *key = a->val[O_KEY], *tk = a->val[O_TKEY], *sh = a->val[O_SHARE];
    if (!q->threshold) {
        if (tk != NULL || sh != NULL || a->val[O_PARTYKEY] != NULL)
            return veil_err_set(err, VEIL_ERR_USAGE,
                                "query %s has no threshold key: --threshold-key, --share and "
                                "--party-key do not apply",
                                q->id);
        if (key == NULL)
            return veil_err_set(err, VEIL_ERR_USAGE, "%s needs --key (%s)", a->val[O_PARTY],
                                analyst ? "the analyst's private key" : "the query's public key");
        if (analyst) {
            veil_pass_opts po = {a->val[O_PASSFILE], a->val[O_ASK] != NULL};
            return veil_pass_load_priv(sk, key, &po, cmd, err);
        }
        return veil_pub_load(pk, key, err);
    }
    if (analyst && key != NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s is decrypted by the holders of a threshold key: the "
                            "analyst gives --threshold-key, not --key",
                            q->id);
    if (analyst && tk == NULL && sh == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query %s has a threshold key: the analyst needs it (--threshold-key)",
                            q->id);
    if (!analyst && key == NULL && tk == NULL && sh == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "department %s needs the query's public key (--key or "
                            "--threshold-key)",
                            a->val[O_PARTY]);
    if (a->val[O_PARTYKEY] != NULL && sh == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE, "--party-key opens a sealed --share; no --share "
                                                 "given");
    veil_status st = VEIL_OK;
    if (key != NULL)
        st = veil_pub_load(pk, key, err);
    if (st == VEIL_OK && tk != NULL)
        st = veil_threshold_key_load(tkey, tk, err);
    if (st == VEIL_OK && sh != NULL) {
        uint8_t ppk[VEIL_PARTY_KEY_BYTES], psk[VEIL_PARTY_KEY_BYTES];
        int sealed = a->val[O_PARTYKEY] != NULL;
        if (sealed)
            st = veil_party_secret_load(ppk, psk, a->val[O_PARTYKEY], err);
        if (st == VEIL_OK)
            st = veil_threshold_share_load(share, sh, sealed ? ppk : NULL, sealed ? psk : NULL,
                                           err);
        sodium_memzero(psk, sizeof psk);
    }
    return st;
}

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    veil_err err;
    veil_err_clear(&err);
    veil_query *q = NULL;
    veil_paillier_pub *pk = NULL;
    veil_paillier_priv *sk = NULL;
    veil_threshold_key *tkey = NULL;
    veil_threshold_share *share = NULL;
    veil_query_result *res = NULL;
    veil_outfile *out = NULL;
    runctx rx = {a.val[O_PARTY], NULL, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &rx.start);
    unsigned threads = 0;
    int force = a.val[O_FORCE] != NULL;
    veil_status st = veil_query_load(&q, a.val[O_QUERY], &err);
    int analyst = st == VEIL_OK && strcmp(a.val[O_PARTY], q->analyst_id) == 0;
    long dept = st == VEIL_OK ? veil_query_find_dept(q, a.val[O_PARTY]) : -1;
    if (st == VEIL_OK && !analyst && dept < 0)
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "%s: party %s is not part of query %s (its "
                          "parties are the departments and the analyst %s)",
                          a.val[O_QUERY], a.val[O_PARTY], q->id, q->analyst_id);
    if (st == VEIL_OK && analyst && (a.val[O_INPUT] != NULL || a.val[O_LEDGER] != NULL))
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "--input and --ledger are for departments; %s is "
                          "the analyst",
                          q->analyst_id);
    if (st == VEIL_OK && !analyst && a.val[O_INPUT] == NULL)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "department %s needs its records (--input)",
                          a.val[O_PARTY]);
    if (st == VEIL_OK && !analyst && a.val[O_OUT] != NULL)
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "--out is for the analyst %s; department %s "
                          "receives no result",
                          q->analyst_id, a.val[O_PARTY]);
    if (st == VEIL_OK && a.val[O_THREADS] != NULL)
        st = veil_cli_parse_uint(&threads, a.val[O_THREADS], 1, 1024, "threads", &err);
    if (st == VEIL_OK && analyst && a.val[O_OUT] != NULL)
        st = veil_cli_check_new(a.val[O_OUT], force, &err);
    if (st == VEIL_OK)
        st = load_keys(cmd, &a, q, analyst, &pk, &sk, &tkey, &share, &err);
    if (st == VEIL_OK && a.val[O_TRACE] != NULL)
        st = open_trace(&rx.trace, a.val[O_TRACE], a.val[O_PARTY], &err);
    veil_query_stats stats;
    memset(&stats, 0, sizeof stats);
    if (st == VEIL_OK) {
        veil_audit_note("query_id", "%s", q->id);
        char eps[VEIL_EPS_TEXT_MAX];
        veil_eps_format(eps, q->epsilon);
        veil_audit_note("epsilon", "%s", eps);
        veil_audit_note("role", "%s",
                        analyst                       ? "analyst"
                        : (size_t)dept == q->combiner ? "combiner"
                                                      : "department");
        veil_query_hooks hooks = {&rx, on_log, on_message, on_stop};
        veil_query_party p = {
            .identity_dir = a.val[O_IDENTITY],
            .self_id = a.val[O_PARTY],
            .input = a.val[O_INPUT],
            .ledger = a.val[O_LEDGER],
            .pk = pk,
            .sk = sk,
            .tkey = tkey != NULL ? tkey
                    : share != NULL ? veil_threshold_share_key(share)
                                    : NULL,
            .share = share,
            .threads = threads,
            .hooks = &hooks,
            .spool_dir = a.val[O_SPOOL],
        };
        st = veil_query_run(q, &p, analyst ? &res : NULL, &stats, &err);
    }
    if (rx.trace != NULL)
        fclose(rx.trace);
    if (st == VEIL_OK && analyst) {
        st = veil_out_open(&out, a.val[O_OUT], 0600, &err);
        if (st == VEIL_OK)
            st = veil_query_result_write(veil_out_fp(out), q, res, &err);
        if (st == VEIL_OK) {
            st = veil_out_commit(out, &err);
            out = NULL;
        }
        if (st == VEIL_OK)
            print_table(q, res);
    }
    veil_out_abort(out);
    if (st == VEIL_OK) {
        veil_audit_note("bytes_sent", "%" PRIu64, stats.bytes_sent);
        veil_audit_note("bytes_received", "%" PRIu64, stats.bytes_received);
        fprintf(stderr,
                "veil query run: %s: done in %.2f s; %" PRIu64 " bytes sent, %" PRIu64 " received",
                a.val[O_PARTY], stats.seconds, stats.bytes_sent, stats.bytes_received);
        if (!analyst)
            fprintf(stderr, "; %" PRIu64 " rows%s", stats.rows,
                    stats.clipped > 0 ? " (values clipped to the declared bounds)" : "");
        fputc('\n', stderr);
    }
    veil_query_result_free(res);
    veil_paillier_pub_free(pk);
    veil_paillier_priv_free(sk);
    veil_threshold_key_free(tkey);
    veil_threshold_share_free(share);
    veil_query_free(q);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_query_run = {
    .name = "query run",
    .summary = "Run one party of a cross-department query (private join + encrypted sums).",
    .synopsis = "--query FILE.json --party ID --identity DIR --key KEY [--input FILE.csv]\n"
                "    [--ledger FILE] [--out FILE.csv] [--threads N] [--trace DIR]\n"
                "    [--threshold-key FILE.tkey] [--share SHARE.tsh [--party-key SEC]]\n"
                "    [--spool DIR]",
    .description = "Every department named in the query and its analyst run this command with the\n"
                   "same query file (docs/query.md). Connections are mutual TLS 1.3 between the\n"
                   "parties the file pins. The combining department (the one with group_by, else\n"
                   "the first) listens on its address; the others connect to it.\n\n"
                   "Departments that cannot open network connections to each other give\n"
                   "--spool DIR instead, the same directory for every party of the run (a\n"
                   "shared or synchronized directory): each message is then a file there,\n"
                   "signed with the sender's party key and sealed to the recipient; each party\n"
                   "publishes its certificate as DIR/certs/ID.crt, checked against the query's\n"
                   "pinned fingerprints. A re-run needs a new query id or a clean spool\n"
                   "(docs/net.md, \"File exchange\").\n\n"
                   "Departments read their records from --input and need the query's Paillier\n"
                   "public key (--key). Resident IDs leave a department only hashed onto\n"
                   "ristretto255 and blinded with a fresh secret key; values leave it only\n"
                   "Paillier-encrypted. Only citizens known to every department are counted.\n"
                   "When the query has an epsilon, each department first spends it from its\n"
                   "dataset's budget ledger (--ledger) and refuses the query when too little is\n"
                   "left.\n\n"
                   "The analyst gives its private key (--key) and writes the released table as\n"
                   "CSV: the group column (or \"group\"), status (released or suppressed), count,\n"
                   "and per value column <col>_sum, <col>_mean and <col>_variance (population) as\n"
                   "the query's statistics ask; the last row, \"*total*\", is everyone matched.\n"
                   "Cells below the query's min_count are suppressed, and further cells as needed\n"
                   "so that no suppressed cell follows from the total (docs/disclosure.md).\n\n"
                   "A query with \"threshold\" has no private key anywhere: the released\n"
                   "cells are decrypted by t of the share holders it names (veil threshold\n"
                   "keygen). The analyst gives --threshold-key instead of --key; each holder\n"
                   "gives its --share (and --party-key when the share is sealed). Holders'\n"
                   "partial decryptions travel sealed to the analyst, which checks every proof\n"
                   "and names a holder whose partials fail.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil query run --query q.json --party tax --identity tax.id --key bureau.pub \\\n"
               "    --input tax.csv\n"
               "veil query run --query q.json --party bureau --identity bureau.id \\\n"
               "    --key bureau.key --passphrase-file pass.txt --out table.csv",
    .run = run,
    .audited = 1,
};
