/* veil sum serve: runs a compute party and/or the output party of a
 * secure-sum session (docs/sum.md). The output party writes the sums as
 * CSV and, on request, a JSON report of who took part. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/sum.h"

enum { O_SESSION = 1, O_PARTY, O_IDENTITY, O_OUT, O_REPORT, O_FORCE };

static const veil_opt opts[] = {
    {"session", O_SESSION, "FILE.json", "the session file every party holds", 1, VEIL_IO_IN},
    {"party", O_PARTY, "ID", "this department's party id in the session", 1},
    {"identity", O_IDENTITY, "DIR", "this party's identity (made by `veil party init`)", 1},
    {"out", O_OUT, "FILE.csv",
     "output party: where to write the sums (mode 0600; default: standard output)", 0, VEIL_IO_OUT},
    {"report", O_REPORT, "FILE.json",
     "output party: also write a JSON report of the parties included and dropped", 0, VEIL_IO_OUT},
    {"force", O_FORCE, NULL, "overwrite existing output files", 0},
    {NULL, 0, NULL, NULL, 0},
};

static void on_log(void *ctx, const char *line)
{
    fprintf(stderr, "veil sum serve: %s: %s\n", (const char *)ctx, line);
}

static int on_stop(void *ctx)
{
    (void)ctx;
    return veil_cli_interrupted();
}

/* "a, b, c" of the parties whose entry in flags equals want. */
static void list_parties(FILE *f, const veil_sum_session *s, const unsigned char *flags,
                         unsigned char want)
{
    const char *sep = "";
    for (size_t i = 0; i < s->nparties; i++)
        if (flags[i] == want) {
            fprintf(f, "%s%s", sep, s->parties[i].id);
            sep = ", ";
        }
    if (sep[0] == '\0')
        fprintf(f, "none");
}

static unsigned count(const veil_sum_session *s, const unsigned char *flags, unsigned char want)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->nparties; i++)
        n += flags[i] == want;
    return n;
}

static json_t *json_parties(const veil_sum_session *s, const unsigned char *flags,
                            unsigned char want)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->nparties; i++)
        if (flags[i] == want)
            json_array_append_new(a, json_string(s->parties[i].id));
    return a;
}

/* Which parties' data went into the sum, and who computed it, for the
 * audit entry: "tax,health". */
static void note_party_list(const char *name, const veil_sum_session *s, const unsigned char *flags,
                            unsigned char want)
{
    char buf[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < s->nparties && used < sizeof buf; i++)
        if (flags[i] == want)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "",
                                     s->parties[i].id);
    veil_audit_note(name, "%s", used > 0 ? buf : "none");
}

static void note_parties(const veil_sum_session *s, const veil_sum_outcome *o)
{
    veil_audit_note("session_id", "%s", s->id);
    note_party_list("inputs_included", s, o->inputs, VEIL_SUM_INCLUDED);
    note_party_list("inputs_dropped", s, o->inputs, VEIL_SUM_DROPPED);
    if (!o->have_sums)
        return; /* a compute party: it does not learn who else computed */
    note_party_list("compute_used", s, o->computes, VEIL_SUM_USED);
    note_party_list("compute_excluded", s, o->computes, VEIL_SUM_EXCLUDED);
    note_party_list("compute_dropped", s, o->computes, VEIL_SUM_DROPPED);
}

static veil_status write_sums(FILE *f, const veil_sum_session *s, const veil_sum_outcome *o,
                              veil_err *err)
{
    char buf[96];
    if (fprintf(f, "element,sum\n") < 0)
        return veil_err_set(err, VEIL_ERR_IO, "write failed");
    for (uint64_t i = 0; i < s->length; i++) {
        veil_i128_format(buf, sizeof buf, o->sums[i], s->scale);
        if (fprintf(f, "%llu,%s\n", (unsigned long long)i, buf) < 0)
            return veil_err_set(err, VEIL_ERR_IO, "write failed");
    }
    return VEIL_OK;
}

static veil_status write_report(const char *path, int force, const veil_sum_session *s,
                                const veil_sum_outcome *o, veil_err *err)
{
    char total[96];
    veil_i128_format(total, sizeof total, o->total, s->scale);
    json_t *root =
        json_pack("{s:s, s:I, s:I, s:s, s:I, s:{s:o, s:o}, s:{s:o, s:o, s:o}, s:s}", "session",
                  s->id, "length", (json_int_t)s->length, "scale", (json_int_t)s->scale, "scheme",
                  s->scheme == VEIL_SCHEME_SHAMIR ? "shamir" : "additive", "threshold",
                  (json_int_t)s->threshold, "inputs", "included",
                  json_parties(s, o->inputs, VEIL_SUM_INCLUDED), "dropped",
                  json_parties(s, o->inputs, VEIL_SUM_DROPPED), "compute", "used",
                  json_parties(s, o->computes, VEIL_SUM_USED), "excluded",
                  json_parties(s, o->computes, VEIL_SUM_EXCLUDED), "dropped",
                  json_parties(s, o->computes, VEIL_SUM_DROPPED), "total", total);
    char *text = root != NULL ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (text == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
    veil_status st = veil_cli_check_new(path, force, err);
    if (st == VEIL_OK)
        st = veil_out_write_all(path, text, len + 1, 0600, err);
    free(text);
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
    veil_sum_session *s = NULL;
    veil_sum_outcome o;
    memset(&o, 0, sizeof o);
    veil_outfile *out = NULL;
    int force = a.val[O_FORCE] != NULL;
    veil_status st = veil_sum_session_load(&s, a.val[O_SESSION], &err);
    const veil_sum_party *me = NULL;
    if (st == VEIL_OK && (me = veil_sum_session_find(s, a.val[O_PARTY])) == NULL)
        st = veil_err_set(&err, VEIL_ERR_USAGE, "%s: no party \"%s\" in session %s",
                          a.val[O_SESSION], a.val[O_PARTY], s->id);
    int output = me != NULL && (me->roles & VEIL_SUM_ROLE_OUTPUT);
    if (st == VEIL_OK && !output && (a.val[O_OUT] != NULL || a.val[O_REPORT] != NULL))
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "--out and --report are for the output party; %s is not it", me->id);
    /* Refuse existing outputs now, not after the session ran. */
    if (st == VEIL_OK && a.val[O_OUT] != NULL)
        st = veil_cli_check_new(a.val[O_OUT], force, &err);
    if (st == VEIL_OK && a.val[O_REPORT] != NULL)
        st = veil_cli_check_new(a.val[O_REPORT], force, &err);
    if (st == VEIL_OK) {
        veil_sum_hooks hooks = {on_log, NULL, on_stop, (void *)me->id};
        st = veil_sum_serve(s, a.val[O_IDENTITY], me->id, &hooks, &o, &err);
    }
    if (st == VEIL_OK)
        note_parties(s, &o);
    if (st == VEIL_OK && (me->roles & VEIL_SUM_ROLE_COMPUTE) && !output) {
        fprintf(stderr, "veil sum serve: %s: summed the shares of %u of %u input parties (", me->id,
                count(s, o.inputs, VEIL_SUM_INCLUDED), s->n_input);
        list_parties(stderr, s, o.inputs, VEIL_SUM_INCLUDED);
        fprintf(stderr, "); result delivered to %s\n", s->parties[s->output].id);
    }
    if (st == VEIL_OK && output) {
        st = veil_out_open(&out, a.val[O_OUT], 0600, &err);
        if (st == VEIL_OK)
            st = write_sums(veil_out_fp(out), s, &o, &err);
        if (st == VEIL_OK) {
            st = veil_out_commit(out, &err);
            out = NULL;
        }
        if (st == VEIL_OK && a.val[O_REPORT] != NULL)
            st = write_report(a.val[O_REPORT], force, s, &o, &err);
    }
    veil_out_abort(out);
    if (st == VEIL_OK && output) {
        fprintf(stderr, "veil sum serve: %s: sum of %llu elements over %u of %u input parties (",
                me->id, (unsigned long long)s->length, count(s, o.inputs, VEIL_SUM_INCLUDED),
                s->n_input);
        list_parties(stderr, s, o.inputs, VEIL_SUM_INCLUDED);
        fprintf(stderr, "; dropped: ");
        list_parties(stderr, s, o.inputs, VEIL_SUM_DROPPED);
        fprintf(stderr, ") from %u of %u compute parties (dropped: ", o.compute_used, s->n_compute);
        list_parties(stderr, s, o.computes, VEIL_SUM_DROPPED);
        fprintf(stderr, "; excluded: ");
        list_parties(stderr, s, o.computes, VEIL_SUM_EXCLUDED);
        fprintf(stderr, ")\n");
    }
    veil_sum_outcome_free(&o);
    veil_sum_session_free(s);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_sum_serve = {
    .name = "sum serve",
    .summary = "Run a compute party or the output party of a secure sum.",
    .synopsis =
        "--session FILE.json --party ID --identity DIR [--out FILE.csv] [--report FILE.json]",
    .description =
        "Listens on this party's address from the session file; every connection is\n"
        "mutual TLS 1.3 and only parties whose certificate fingerprint the session pins\n"
        "are accepted.\n\n"
        "A compute party takes input parties' shares until all have submitted or the\n"
        "session's inputs timeout passed, adds them, and sends the sum of its shares (and\n"
        "the names of the input parties in it) to the output party. It never sees a\n"
        "value.\n\n"
        "The output party takes the compute parties' sums until all have delivered or\n"
        "the results timeout passed, reconstructs from at least t of them that summed\n"
        "the same input parties (checking the others for consistency), and writes\n"
        "\"element,sum\" CSV rows (elements 0 .. length-1) at the session's scale.\n"
        "Standard error and --report name the input parties included and dropped and\n"
        "the compute parties used, dropped and excluded. A party may hold both roles.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil sum serve --session census.json --party c1 --identity /etc/veil/c1\n"
               "veil sum serve --session census.json --party stats --identity /etc/veil/stats \\\n"
               "    --out sums.csv --report report.json",
    .run = run,
    .audited = 1,
};
