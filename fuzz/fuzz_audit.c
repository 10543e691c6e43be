/* Feeds arbitrary bytes to the audit log verifier (veil/audit.h): every
 * input must verify or fail with an error, never crash or leak. It runs
 * twice: under the key in the log's own header (so mutations of the seed
 * logs whose signatures still pass reach the chain and field checks), and
 * under the key that signed the seed corpus (fuzz/corpus/audit/), as an
 * auditor would. Every entry handed to the callback is checked against
 * the limits the reader promises. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public key of the seed logs. */
static const char SEED_PUB[] = "c6a0d29841c49fbbc09938d361a034be6fb5d589a27af8486847975340b2bbfa";

typedef struct {
    uint64_t next_seq;
} walk_state;

static void check_file(const veil_audit_file *f)
{
    if (f->path == NULL || strlen(f->path) == 0 || strlen(f->path) > 4096)
        abort();
    if (!f->present && f->size != 0)
        abort();
}

static int on_entry(void *ctx, const veil_audit_entry *e)
{
    walk_state *w = ctx;
    if (e->seq != w->next_seq++)
        abort(); /* verify promised consecutive seqs */
    if (e->party == NULL || e->operation == NULL || strlen(e->operation) == 0 ||
        strlen(e->operation) > 64 || strlen(e->party) > VEIL_AUDIT_PARTY_MAX)
        abort();
    for (size_t i = 0; i < e->nparams; i++)
        if (strlen(e->params[i].name) > 64 || strlen(e->params[i].value) > 1024)
            abort();
    for (size_t i = 0; i < e->ninputs; i++)
        check_file(&e->inputs[i]);
    for (size_t i = 0; i < e->noutputs; i++)
        check_file(&e->outputs[i]);
    if (e->message != NULL && strlen(e->message) > 1024)
        abort();
    return 0;
}

static void run(const uint8_t *data, size_t size, const uint8_t *pub)
{
    walk_state w = {0};
    veil_audit_report rep;
    veil_err err;
    veil_status st = veil_audit_verify_mem(data, size, "fuzz.log", pub, on_entry, &w, &rep, &err);
    if (st != VEIL_OK && (err.code != st || err.msg[0] == 0))
        abort(); /* every failure says why */
    if (rep.entries != w.next_seq)
        abort();
    if (st == VEIL_OK && rep.complete == rep.truncated_tail)
        abort(); /* a clean walk is either complete or stopped at a tail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pub[32];
    static int ready;
    if (!ready) {
        if (sodium_init() < 0 || sodium_hex2bin(pub, sizeof pub, SEED_PUB, 64, NULL, NULL, NULL))
            abort();
        ready = 1;
    }
    run(data, size, NULL);
    run(data, size, pub);
    return 0;
}
