/* Feeds arbitrary bytes to the analyst's handling of a share holder's
 * partial decryptions in a threshold query (query/join_thr.c): the input is
 * the holder's packet before sealing (a QueryPartials, or anything), which
 * the harness seals to the analyst's key, so every input reaches the
 * unpacking, the index and count checks, the integer import and the proof
 * check. A second holder's packet is genuine. Invariants: no crash or leak,
 * an error always has a message, and a success (which needs the fuzzed
 * packet to pass every proof) gives exactly the plaintexts the genuine
 * shares give. Inputs starting with 0xff are used as the sealed packet
 * itself instead; only inputs starting with 0xfe are followed by the
 * genuine packet (whose proofs cost tens of milliseconds to check), so the
 * rest run fast. Seeds: fuzz/corpus/qpartials/. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "joinpriv.h"
#include "threshold_testkey.h"
#include "veil/rand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCT 2

static const char QUERY[] =
    "{\"query\": \"f1\", \"key\": "
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", \"join_key\": \"id\",\n"
    " \"departments\": [{\"id\": \"tax\", \"fingerprint\": \"sha256:"
    "1111111111111111111111111111111111111111111111111111111111111111\", \"address\": "
    "\"127.0.0.1:7000\"}, {\"id\": \"edu\", \"fingerprint\": \"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\"}],\n"
    " \"analyst\": {\"id\": \"bureau\", \"fingerprint\": \"sha256:"
    "4444444444444444444444444444444444444444444444444444444444444444\"},\n"
    " \"statistics\": [\"count\"], \"min_count\": 1, \"threshold\": {\"key\": "
    "\"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\", \"holders\": "
    "[{\"id\": \"tax\", \"index\": 1}, {\"id\": \"edu\", \"index\": 2}]}}";

static veil_threshold_key *key;
static veil_threshold_share **shares;
static veil_query *query;
static veil_query_party party;
static qctx ctx;
static mpz_t cts[NCT], want[NCT];
static Veil__QuerySealedPartials edu;

static void quiet(void *c, const char *line)
{
    (void)c;
    (void)line;
}

static const veil_query_hooks hooks = {NULL, quiet, NULL, NULL};

static int setup(void)
{
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    veil_err err;
    int ok = veil_crypto_init() == 0 && mpz_set_str(p, TK_P1_HEX, 16) == 0 &&
             mpz_set_str(q, TK_Q1_HEX, 16) == 0 &&
             veil_threshold_deal(&key, &shares, p, q, 2, 2, 1, &err) == VEIL_OK &&
             veil_query_parse(&query, QUERY, strlen(QUERY), "f.json", &err) == VEIL_OK;
    mpz_clears(p, q, NULL);
    if (!ok)
        return -1;
    party.self_id = "bureau";
    party.tkey = key;
    party.threads = 1;
    ctx.q = query;
    ctx.p = &party;
    ctx.h = &hooks;
    ctx.pk = veil_threshold_key_pub(key);
    ctx.ctlen = veil_qpack_ct_bytes(ctx.pk);
    ctx.threads = 1;
    ctx.has_seal = 1;
    crypto_box_keypair(ctx.seal_pk, ctx.seal_sk);
    /* Two fixed units mod n^2 as the released ciphertexts. */
    uint8_t *bytes = malloc(NCT * ctx.ctlen);
    if (bytes == NULL)
        return -1;
    for (int i = 0; i < NCT; i++) {
        mpz_inits(cts[i], want[i], NULL);
        mpz_set_ui(cts[i], 2u + (unsigned)i);
        veil_qpack_ct_export(bytes + (size_t)i * ctx.ctlen, ctx.ctlen, cts[i]);
    }
    /* The genuine packets, and what they combine to. */
    Veil__QuerySealedPartials tax;
    veil_query_party hp = party;
    qctx hx = ctx;
    hx.p = &hp;
    size_t len = 0;
    veil__query_sealed_partials__init(&tax);
    veil__query_sealed_partials__init(&edu);
    tax.holder = "tax";
    edu.holder = "edu";
    hp.share = shares[0];
    ok = q_thr_partials(&hx, bytes, NCT, ctx.seal_pk, &tax.sealed.data, &len, &err) == VEIL_OK;
    tax.sealed.len = len;
    hp.share = shares[1];
    ok = ok && q_thr_partials(&hx, bytes, NCT, ctx.seal_pk, &edu.sealed.data, &len, &err) ==
                   VEIL_OK;
    edu.sealed.len = len;
    Veil__QuerySealedPartials *both[] = {&tax, &edu};
    ok = ok && q_thr_combine(&ctx, (const mpz_t *)cts, NCT, both, 2, want, &err) == VEIL_OK;
    free(tax.sealed.data);
    free(bytes);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup() != 0)
            abort();
        ready = 1;
    }
    Veil__QuerySealedPartials tax;
    veil__query_sealed_partials__init(&tax);
    tax.holder = "tax";
    uint8_t *sealed = NULL;
    if (size > 0 && data[0] == 0xff) {
        sealed = malloc(size);
        if (sealed == NULL)
            return 0;
        memcpy(sealed, data + 1, size - 1);
        tax.sealed.len = size - 1;
    } else {
        sealed = malloc(size + crypto_box_SEALBYTES);
        if (sealed == NULL || crypto_box_seal(sealed, data, size, ctx.seal_pk) != 0)
            abort();
        tax.sealed.len = size + crypto_box_SEALBYTES;
    }
    tax.sealed.data = sealed;
    mpz_t m[NCT];
    for (int i = 0; i < NCT; i++)
        mpz_init(m[i]);
    Veil__QuerySealedPartials *both[] = {&tax, &edu};
    size_t npackets = size > 0 && data[0] == 0xfe ? 2 : 1;
    veil_err err;
    veil_err_clear(&err);
    veil_status st = q_thr_combine(&ctx, (const mpz_t *)cts, NCT, both, npackets, m, &err);
    if (st != VEIL_OK && err.msg[0] == '\0')
        abort();
    for (int i = 0; i < NCT && st == VEIL_OK; i++)
        if (mpz_cmp(m[i], want[i]) != 0)
            abort();
    for (int i = 0; i < NCT; i++)
        mpz_clear(m[i]);
    free(sealed);
    return 0;
}
