/* Threshold decryption inside a query (query/join_thr.c): holders' partial
 * decryptions, sealed to the analyst, combine to the plaintexts; a packet
 * that does not open, one made with another share, one over other
 * ciphertexts, one from a party that holds no share and a second one from
 * the same holder are each named, and too few good holders is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "joinpriv.h"
#include "testutil.h"
#include "threshold_testkey.h"

#define NCT 4

static veil_threshold_key *g_key;
static veil_threshold_share **g_shares; /* 3 shares, t = 2 */
static veil_query *g_q;
static const long g_values[NCT] = {0, 1, -987654321, 4000000000000L};

/* Holders: tax share 1, edu share 2, the analyst bureau share 3. */
static const char QUERY[] =
    "{\"query\": \"t1\", \"key\": "
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\n"
    " \"join_key\": \"id\", \"departments\": [\n"
    "  {\"id\": \"tax\", \"fingerprint\": \"sha256:"
    "1111111111111111111111111111111111111111111111111111111111111111\", "
    "\"address\": \"127.0.0.1:7000\"},\n"
    "  {\"id\": \"edu\", \"fingerprint\": \"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\"}],\n"
    " \"analyst\": {\"id\": \"bureau\", \"fingerprint\": \"sha256:"
    "4444444444444444444444444444444444444444444444444444444444444444\"},\n"
    " \"statistics\": [\"count\"], \"min_count\": 1,\n"
    " \"threshold\": {\"key\": "
    "\"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\",\n"
    "  \"holders\": [{\"id\": \"tax\", \"index\": 1}, {\"id\": \"edu\", \"index\": 2},\n"
    "               {\"id\": \"bureau\", \"index\": 3}]}}\n";

static char g_log[4096];

static void on_log(void *ctx, const char *line)
{
    (void)ctx;
    size_t used = strlen(g_log);
    snprintf(g_log + used, sizeof g_log - used, "%s\n", line);
}

static const veil_query_hooks g_hooks = {NULL, on_log, NULL, NULL};

static int suite_init(void)
{
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    veil_err err;
    int rc = 0;
    if (mpz_set_str(p, TK_P1_HEX, 16) != 0 || mpz_set_str(q, TK_Q1_HEX, 16) != 0 ||
        veil_threshold_deal(&g_key, &g_shares, p, q, 3, 2, 1, &err) != VEIL_OK ||
        veil_query_parse(&g_q, QUERY, strlen(QUERY), "t.json", &err) != VEIL_OK) {
        fprintf(stderr, "suite set-up: %s\n", err.msg);
        rc = -1;
    }
    mpz_clears(p, q, NULL);
    return rc;
}

static int suite_cleanup(void)
{
    veil_threshold_shares_free(g_shares, 3);
    veil_threshold_key_free(g_key);
    veil_query_free(g_q);
    return 0;
}

/* A context for party `self` holding `share` (NULL for none). */
static void ctx_for(qctx *x, veil_query_party *p, const char *self,
                    const veil_threshold_share *share)
{
    memset(x, 0, sizeof *x);
    memset(p, 0, sizeof *p);
    p->self_id = self;
    p->tkey = g_key;
    p->share = share;
    p->threads = 1;
    x->q = g_q;
    x->p = p;
    x->h = &g_hooks;
    x->pk = veil_threshold_key_pub(g_key);
    x->ctlen = veil_qpack_ct_bytes(x->pk);
    x->threads = 1;
}

/* NCT ciphertexts of g_values + shift, as mpz and as wire bytes. */
static void make_cts(const qctx *x, mpz_t *c, uint8_t *bytes, long shift)
{
    mpz_t m;
    mpz_init(m);
    veil_err err;
    for (int i = 0; i < NCT; i++) {
        mpz_set_si(m, g_values[i] + shift);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encode(m, x->pk, m, &err), VEIL_OK);
        mpz_init(c[i]);
        CU_ASSERT_EQUAL_FATAL(veil_paillier_encrypt(c[i], x->pk, m, &err), VEIL_OK);
        veil_qpack_ct_export(bytes + (size_t)i * x->ctlen, x->ctlen, c[i]);
    }
    mpz_clear(m);
}

/* Holder `self`'s sealed packet over bytes, made with `share`. */
static void packet(Veil__QuerySealedPartials *sp, const char *self,
                   const veil_threshold_share *share, const uint8_t *bytes,
                   const uint8_t *seal_pk)
{
    qctx x;
    veil_query_party p;
    ctx_for(&x, &p, self, share);
    veil_err err;
    size_t len = 0;
    veil__query_sealed_partials__init(sp);
    sp->holder = (char *)self;
    CU_ASSERT_EQUAL_FATAL(q_thr_partials(&x, bytes, NCT, seal_pk, &sp->sealed.data, &len, &err),
                          VEIL_OK);
    sp->sealed.len = len;
}

/* Runs the analyst's combination over the packets; on success checks the
 * decoded plaintexts against g_values. */
static veil_status combine(const qctx *x, const mpz_t *c, Veil__QuerySealedPartials **sp,
                           size_t n, veil_err *err)
{
    g_log[0] = '\0';
    mpz_t m[NCT];
    for (int i = 0; i < NCT; i++)
        mpz_init(m[i]);
    veil_status st = q_thr_combine(x, c, NCT, sp, n, m, err);
    for (int i = 0; i < NCT && st == VEIL_OK; i++) {
        CU_ASSERT_EQUAL(veil_paillier_decode(m[i], x->pk, m[i], err), VEIL_OK);
        CU_ASSERT_EQUAL(mpz_cmp_si(m[i], g_values[i]), 0);
    }
    for (int i = 0; i < NCT; i++)
        mpz_clear(m[i]);
    return st;
}

typedef struct {
    qctx x;
    veil_query_party p;
    mpz_t c[NCT];
    uint8_t *bytes;
    Veil__QuerySealedPartials tax, edu;
} fixture;

static void setup(fixture *f, const veil_threshold_share *analyst_share)
{
    ctx_for(&f->x, &f->p, "bureau", analyst_share);
    crypto_box_keypair(f->x.seal_pk, f->x.seal_sk);
    f->x.has_seal = 1;
    f->bytes = malloc(NCT * f->x.ctlen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->bytes);
    make_cts(&f->x, f->c, f->bytes, 0);
    packet(&f->tax, "tax", g_shares[0], f->bytes, f->x.seal_pk);
    packet(&f->edu, "edu", g_shares[1], f->bytes, f->x.seal_pk);
}

static void teardown(fixture *f)
{
    for (int i = 0; i < NCT; i++)
        mpz_clear(f->c[i]);
    free(f->bytes);
    free(f->tax.sealed.data);
    free(f->edu.sealed.data);
}

static void test_two_holders_combine(void)
{
    fixture f;
    setup(&f, NULL);
    veil_err err;
    Veil__QuerySealedPartials *sp[] = {&f.tax, &f.edu};
    CU_ASSERT_EQUAL(combine(&f.x, (const mpz_t *)f.c, sp, 2, &err), VEIL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "combined the partial decryptions of 2 share holders"));
    /* One holder is not enough. */
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO,
                  "only 1 share holder gave partial decryptions that check; the threshold key "
                  "needs 2");
    teardown(&f);
}

static void test_altered_packet_skipped(void)
{
    fixture f;
    setup(&f, NULL);
    veil_err err;
    f.tax.sealed.data[f.tax.sealed.len / 2] ^= 1;
    Veil__QuerySealedPartials *sp[] = {&f.tax, &f.edu};
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO,
                  "only 1 share holder gave partial decryptions that check; the threshold key "
                  "needs 2");
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "share holder tax skipped: its packet does not open "
                                         "with this query's seal key"));
    teardown(&f);
    /* The analyst's own share makes up for it. */
    setup(&f, g_shares[2]);
    f.tax.sealed.data[3] ^= 0x80;
    CU_ASSERT_EQUAL(combine(&f.x, (const mpz_t *)f.c, sp, 2, &err), VEIL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "share holder tax skipped"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "combined the partial decryptions of 2 share holders"));
    teardown(&f);
}

static void test_sealed_to_another_key(void)
{
    fixture f;
    setup(&f, g_shares[2]);
    uint8_t pk2[QSEAL_KEY_BYTES], sk2[QSEAL_KEY_BYTES];
    crypto_box_keypair(pk2, sk2);
    free(f.edu.sealed.data);
    packet(&f.edu, "edu", g_shares[1], f.bytes, pk2);
    veil_err err;
    Veil__QuerySealedPartials *sp[] = {&f.edu};
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_CRYPTO,
                  "only 1 share holder gave partial decryptions that check; the threshold key "
                  "needs 2");
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "share holder edu skipped: its packet does not open"));
    teardown(&f);
}

static void test_wrong_share_named(void)
{
    fixture f;
    setup(&f, NULL);
    free(f.edu.sealed.data);
    /* edu's packet made with share 3: the query gives edu share 2. */
    packet(&f.edu, "edu", g_shares[2], f.bytes, f.x.seal_pk);
    veil_err err;
    Veil__QuerySealedPartials *sp[] = {&f.tax, &f.edu};
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 2, &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_CRYPTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "share holder edu skipped: its partial decryptions are "
                                         "made with share 3; the query gives it share 2"));
    teardown(&f);
}

static void test_other_ciphertexts_fail_proof(void)
{
    fixture f;
    setup(&f, NULL);
    mpz_t other[NCT];
    uint8_t *obytes = malloc(NCT * f.x.ctlen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obytes);
    make_cts(&f.x, other, obytes, 5);
    free(f.tax.sealed.data);
    packet(&f.tax, "tax", g_shares[0], obytes, f.x.seal_pk);
    veil_err err;
    Veil__QuerySealedPartials *sp[] = {&f.tax, &f.edu};
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 2, &err);
    CU_ASSERT_EQUAL(st, VEIL_ERR_CRYPTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "share holder tax skipped: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log, "proof"));
    for (int i = 0; i < NCT; i++)
        mpz_clear(other[i]);
    free(obytes);
    teardown(&f);
}

static void test_non_holder_and_repeat_refused(void)
{
    fixture f;
    setup(&f, NULL);
    veil_err err;
    Veil__QuerySealedPartials mallory = f.tax;
    mallory.holder = "mallory";
    Veil__QuerySealedPartials *sp[] = {&mallory, &f.edu};
    veil_status st = combine(&f.x, (const mpz_t *)f.c, sp, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT,
                  "the result carries partial decryptions from mallory, which holds no share in "
                  "this query");
    Veil__QuerySealedPartials *twice[] = {&f.edu, &f.edu};
    st = combine(&f.x, (const mpz_t *)f.c, twice, 2, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT,
                  "the result carries partial decryptions from edu, a second time");
    teardown(&f);
}

int main(void)
{
    static const tu_test tests[] = {
        {"two holders' sealed partials combine to the plaintexts; one is not enough",
         test_two_holders_combine},
        {"an altered packet is skipped and named; the analyst's own share counts",
         test_altered_packet_skipped},
        {"a packet sealed to another key does not open", test_sealed_to_another_key},
        {"partials made with another share are named", test_wrong_share_named},
        {"partials of other ciphertexts fail their proofs", test_other_ciphertexts_fail_proof},
        {"a party without a share, and a holder twice, are refused",
         test_non_holder_and_repeat_refused},
        {NULL, NULL},
    };
    return tu_main("qthr", suite_init, suite_cleanup, tests);
}
