/* Tests for the private-join group operations (veil/psi.h): hashing,
 * commutative blinding, point validation naming the lowest bad index,
 * ElGamal tag round trips and re-randomization, and uniform shuffles. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veil/psi.h"

#define N_IDS 1000

static veil_psi_tag_table *g_table; /* all VEIL_PSI_TAGS_MAX tags */

static int suite_init(void)
{
    veil_err err;
    if (sodium_init() < 0)
        return -1;
    return veil_psi_tag_table_new(&g_table, VEIL_PSI_TAGS_MAX, &err) == VEIL_OK ? 0 : -1;
}

static int suite_cleanup(void)
{
    veil_psi_tag_table_free(g_table);
    return 0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

/* N_IDS distinct resident IDs "R000000".."R000999" (static storage). */
static char g_idbuf[N_IDS][16];
static const char *g_ids[N_IDS];
static size_t g_lens[N_IDS];

static void make_ids(void)
{
    for (size_t i = 0; i < N_IDS; i++) {
        snprintf(g_idbuf[i], sizeof g_idbuf[i], "R%06zu", i);
        g_ids[i] = g_idbuf[i];
        g_lens[i] = strlen(g_idbuf[i]);
    }
}

static void test_hash_deterministic_and_separated(void)
{
    uint8_t a[32], b[32], c[32], d[32], e[32];
    veil_psi_hash(a, "q1", "123", 3);
    veil_psi_hash(b, "q1", "123", 3);
    veil_psi_hash(c, "q2", "123", 3);
    veil_psi_hash(d, "q1", "124", 3);
    /* "q1"+"1123" must not collide with "q11"+"123": the length prefix. */
    veil_psi_hash(e, "q11", "23", 2);
    CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, d, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, e, 32), 0);
    uint8_t f[32];
    veil_psi_hash(f, "q1", "1123", 4);
    uint8_t g[32];
    veil_psi_hash(g, "q11", "123", 3);
    CU_ASSERT_NOT_EQUAL(memcmp(f, g, 32), 0);
    CU_ASSERT(crypto_core_ristretto255_is_valid_point(a));
    CU_ASSERT(!sodium_is_zero(a, 32));
}

/* Matches the construction documented in psi.h, computed here directly. */
static void test_hash_matches_documented_construction(void)
{
    const char *q = "query-2026-17", *id = "110101199001011234";
    uint8_t digest[64], want[32], got[32];
    crypto_generichash_state st;
    uint8_t be[4] = {0, 0, 0, (uint8_t)strlen(q)};
    crypto_generichash_init(&st, NULL, 0, 64);
    crypto_generichash_update(&st, (const uint8_t *)"veil-psi-v1", 11);
    crypto_generichash_update(&st, be, 4);
    crypto_generichash_update(&st, (const uint8_t *)q, strlen(q));
    crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
    crypto_generichash_final(&st, digest, 64);
    crypto_core_ristretto255_from_hash(want, digest);
    veil_psi_hash(got, q, id, strlen(id));
    CU_ASSERT_EQUAL(memcmp(want, got, 32), 0);
}

static void test_key_new_is_fresh_and_wiped(void)
{
    veil_psi_key a, b, zero = {{0}};
    veil_psi_key_new(&a);
    veil_psi_key_new(&b);
    CU_ASSERT_NOT_EQUAL(memcmp(&a, &b, sizeof a), 0);
    CU_ASSERT(!sodium_is_zero(a.k, sizeof a.k));
    veil_psi_key_wipe(&a);
    CU_ASSERT_EQUAL(memcmp(&a, &zero, sizeof a), 0);
    veil_psi_key_wipe(&b);
}

/* b * (a * H(id)) == a * (b * H(id)) for 1000 IDs, with 1 and 2 threads
 * giving the same bytes; and a * H(id) matches the single-ID hash. */
static void test_blinding_commutes(void)
{
    veil_psi_key a, b;
    veil_err err;
    veil_psi_key_new(&a);
    veil_psi_key_new(&b);
    make_ids();
    uint8_t *ha = xmalloc(N_IDS * 32), *hb = xmalloc(N_IDS * 32), *ha2 = xmalloc(N_IDS * 32);
    uint8_t *hab = xmalloc(N_IDS * 32), *hba = xmalloc(N_IDS * 32), *hab2 = xmalloc(N_IDS * 32);
    CU_ASSERT_EQUAL_FATAL(veil_psi_hash_blind(ha, &a, "q", g_ids, g_lens, N_IDS, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_hash_blind(ha2, &a, "q", g_ids, g_lens, N_IDS, 2, &err),
                          VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(ha, ha2, N_IDS * 32), 0);
    CU_ASSERT_EQUAL_FATAL(veil_psi_hash_blind(hb, &b, "q", g_ids, g_lens, N_IDS, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_blind(hab, &b, ha, N_IDS, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_blind(hab2, &b, ha, N_IDS, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(hab, hab2, N_IDS * 32), 0);
    CU_ASSERT_EQUAL_FATAL(veil_psi_blind(hba, &a, hb, N_IDS, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(hab, hba, N_IDS * 32), 0);
    /* In place gives the same result. */
    CU_ASSERT_EQUAL_FATAL(veil_psi_blind(hb, &a, hb, N_IDS, 3, &err), VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(hb, hba, N_IDS * 32), 0);
    /* Element 17 is a * H("q", id 17), and blinded values differ. */
    uint8_t h[32], ah[32];
    veil_psi_hash(h, "q", g_ids[17], g_lens[17]);
    CU_ASSERT_EQUAL_FATAL(crypto_scalarmult_ristretto255(ah, a.k, h), 0);
    CU_ASSERT_EQUAL(memcmp(ah, ha + 17 * 32, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(ha, ha + 32, 32), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(ha, hb, 32), 0);
    free(ha);
    free(hb);
    free(ha2);
    free(hab);
    free(hba);
    free(hab2);
    veil_psi_key_wipe(&a);
    veil_psi_key_wipe(&b);
}

static void test_count_zero_and_null(void)
{
    veil_psi_key k;
    veil_err err;
    veil_psi_key_new(&k);
    CU_ASSERT_EQUAL(veil_psi_blind(NULL, &k, NULL, 0, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(veil_psi_hash_blind(NULL, &k, "q", NULL, NULL, 0, 0, &err), VEIL_OK);
    uint8_t p[32];
    veil_status st = veil_psi_blind(p, NULL, p, 1, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "NULL");
    veil_psi_key_wipe(&k);
}

/* Ten random valid points with bad ones at `bad1` and `bad2`. */
static void points_with_bad(uint8_t *pts, size_t count, size_t bad1, size_t bad2,
                            const uint8_t bad[32])
{
    for (size_t i = 0; i < count; i++)
        crypto_core_ristretto255_random(pts + i * 32);
    memcpy(pts + bad1 * 32, bad, 32);
    memcpy(pts + bad2 * 32, bad, 32);
}

static void test_blind_rejects_bad_points_lowest_index(void)
{
    veil_psi_key k;
    veil_err err;
    uint8_t pts[10 * 32], out[10 * 32], ff[32], zero[32] = {0}, odd[32] = {1};
    memset(ff, 0xff, sizeof ff);
    veil_psi_key_new(&k);
    for (unsigned threads = 1; threads <= 4; threads++) {
        points_with_bad(pts, 10, 7, 3, ff);
        veil_status st = veil_psi_blind(out, &k, pts, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 3 is not a valid ristretto255 point");
        points_with_bad(pts, 10, 7, 3, zero);
        st = veil_psi_blind(out, &k, pts, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 3 is the identity");
        /* Lowest index wins across kinds: identity at 3, invalid at 7. */
        points_with_bad(pts, 10, 7, 7, ff);
        memset(pts + 3 * 32, 0, 32);
        st = veil_psi_blind(out, &k, pts, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 3 is the identity");
        /* An odd ("negative") s is never a canonical ristretto255 encoding. */
        points_with_bad(pts, 10, 9, 5, odd);
        st = veil_psi_blind(out, &k, pts, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 5 is not a valid ristretto255 point");
        /* All good: succeeds. */
        for (size_t i = 0; i < 10; i++)
            crypto_core_ristretto255_random(pts + i * 32);
        CU_ASSERT_EQUAL(veil_psi_blind(out, &k, pts, 10, threads, &err), VEIL_OK);
    }
    veil_psi_key_wipe(&k);
}

/* Encrypt, re-randomize, decrypt: tags 0, 1, 2 and 65535 with the full
 * table, with 1 and 2 threads. */
static void test_eg_round_trip(void)
{
    veil_psi_eg_key key;
    veil_err err;
    const uint32_t tags[] = {0, 1, 2, 65535, 2, 0};
    const size_t n = sizeof tags / sizeof tags[0];
    veil_psi_eg_ct ct[6];
    uint32_t got[6];
    veil_psi_eg_keygen(&key);
    for (unsigned threads = 1; threads <= 2; threads++) {
        memset(got, 0xaa, sizeof got);
        CU_ASSERT_EQUAL_FATAL(veil_psi_eg_encrypt(ct, key.y, tags, n, threads, &err), VEIL_OK);
        CU_ASSERT_EQUAL_FATAL(veil_psi_eg_decrypt(got, &key, g_table, ct, n, threads, &err),
                              VEIL_OK);
        CU_ASSERT_EQUAL(memcmp(got, tags, sizeof tags), 0);
        /* Equal tags encrypt to different ciphertexts. */
        CU_ASSERT_NOT_EQUAL(memcmp(&ct[2], &ct[4], sizeof ct[2]), 0);
    }
    veil_psi_eg_key_wipe(&key);
    CU_ASSERT(sodium_is_zero((const unsigned char *)&key, sizeof key));
}

static void test_eg_small_table_rejects_unknown_tag(void)
{
    veil_psi_eg_key key;
    veil_psi_tag_table *small = NULL;
    veil_err err;
    const uint32_t tags[] = {9, 0, 10, 5, 10};
    veil_psi_eg_ct ct[5];
    uint32_t got[5];
    veil_psi_eg_keygen(&key);
    CU_ASSERT_EQUAL_FATAL(veil_psi_tag_table_new(&small, 10, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_encrypt(ct, key.y, tags, 5, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_decrypt(got, &key, small, ct, 2, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL(got[0], 9);
    CU_ASSERT_EQUAL(got[1], 0);
    for (unsigned threads = 1; threads <= 3; threads++) {
        veil_status st = veil_psi_eg_decrypt(got, &key, small, ct, 5, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 2 does not decrypt to a known group tag");
    }
    /* The full table knows tag 10. */
    CU_ASSERT_EQUAL(veil_psi_eg_decrypt(got, &key, g_table, ct, 5, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL(got[2], 10);
    CU_ASSERT_EQUAL(got[4], 10);
    veil_psi_tag_table_free(small);
    veil_psi_eg_key_wipe(&key);
}

static void test_eg_rerandomize_unlinks_same_tag(void)
{
    veil_psi_eg_key key;
    veil_err err;
    const uint32_t tags[] = {0, 1, 2, 65535, 42, 7, 7, 3};
    const size_t n = sizeof tags / sizeof tags[0];
    veil_psi_eg_ct ct[8], rr[8], rr2[8];
    uint32_t got[8];
    veil_psi_eg_keygen(&key);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_encrypt(ct, key.y, tags, n, 0, &err), VEIL_OK);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_rerandomize(rr, key.y, ct, n, 2, &err), VEIL_OK);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_NOT_EQUAL(memcmp(rr[i].c1, ct[i].c1, 32), 0);
        CU_ASSERT_NOT_EQUAL(memcmp(rr[i].c2, ct[i].c2, 32), 0);
    }
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_decrypt(got, &key, g_table, rr, n, 2, &err), VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(got, tags, sizeof tags), 0);
    /* In place, twice over. */
    memcpy(rr2, rr, sizeof rr);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_rerandomize(rr2, key.y, rr2, n, 1, &err), VEIL_OK);
    CU_ASSERT_NOT_EQUAL(memcmp(rr2, rr, sizeof rr), 0);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_decrypt(got, &key, g_table, rr2, n, 1, &err), VEIL_OK);
    CU_ASSERT_EQUAL(memcmp(got, tags, sizeof tags), 0);
    veil_psi_eg_key_wipe(&key);
}

static void test_eg_rerandomize_rejects_bad_points(void)
{
    veil_psi_eg_key key;
    veil_err err;
    const uint32_t tags[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    veil_psi_eg_ct ct[10], out[10];
    uint32_t got[10];
    veil_psi_eg_keygen(&key);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_encrypt(ct, key.y, tags, 10, 0, &err), VEIL_OK);
    memset(ct[7].c1, 0xff, 32);
    memset(ct[3].c2, 0, 32);
    for (unsigned threads = 1; threads <= 4; threads++) {
        veil_status st = veil_psi_eg_rerandomize(out, key.y, ct, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 3 is the identity");
        st = veil_psi_eg_decrypt(got, &key, g_table, ct, 10, threads, &err);
        TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 3 is the identity");
    }
    uint8_t bad_y[32];
    memset(bad_y, 0xff, 32);
    veil_status st = veil_psi_eg_rerandomize(out, bad_y, ct, 10, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "not a valid ristretto255 point");
    st = veil_psi_eg_encrypt(out, bad_y, tags, 10, 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "not a valid ristretto255 point");
    veil_psi_eg_key_wipe(&key);
}

static void test_eg_wrong_key_fails(void)
{
    veil_psi_eg_key key, other;
    veil_err err;
    const uint32_t tags[] = {0, 1, 2, 65535};
    veil_psi_eg_ct ct[4];
    uint32_t got[4];
    veil_psi_eg_keygen(&key);
    veil_psi_eg_keygen(&other);
    CU_ASSERT_EQUAL_FATAL(veil_psi_eg_encrypt(ct, key.y, tags, 4, 0, &err), VEIL_OK);
    veil_status st = veil_psi_eg_decrypt(got, &other, g_table, ct, 4, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_INPUT, "element 0 does not decrypt to a known group tag");
    veil_psi_eg_key_wipe(&key);
    veil_psi_eg_key_wipe(&other);
}

static void test_eg_tag_out_of_range(void)
{
    veil_psi_eg_key key;
    veil_psi_tag_table *t = NULL;
    veil_err err;
    const uint32_t tags[] = {0, VEIL_PSI_TAGS_MAX, UINT32_MAX};
    veil_psi_eg_ct ct[3];
    veil_psi_eg_keygen(&key);
    veil_status st = veil_psi_eg_encrypt(ct, key.y, tags, 3, 0, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "65536");
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "element 1");
    st = veil_psi_tag_table_new(&t, VEIL_PSI_TAGS_MAX + 1, &err);
    TU_ASSERT_ERR(st, err, VEIL_ERR_USAGE, "65537");
    CU_ASSERT_PTR_NULL(t);
    veil_psi_eg_key_wipe(&key);
}

static int is_permutation(const size_t *p, size_t n)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    int ok = seen != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (p[i] >= n || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_permutation(void)
{
    size_t one = 99, *big = xmalloc(1000 * sizeof *big);
    veil_psi_permutation(NULL, 0);
    veil_psi_permutation(&one, 1);
    CU_ASSERT_EQUAL(one, 0);
    veil_psi_permutation(big, 1000);
    CU_ASSERT(is_permutation(big, 1000));
    size_t fixed = 0;
    for (size_t i = 0; i < 1000; i++)
        fixed += big[i] == i;
    CU_ASSERT(fixed < 1000); /* identity with probability 1/1000! */
    free(big);
}

/* All 3! orders of three elements appear, each roughly 1/6 of the time. */
static void test_permutation_of_three_is_uniform(void)
{
    unsigned counts[6] = {0};
    const unsigned draws = 6000;
    for (unsigned d = 0; d < draws; d++) {
        size_t p[3];
        veil_psi_permutation(p, 3);
        CU_ASSERT_FATAL(is_permutation(p, 3));
        /* Lehmer code: index of p[0] and of p[1] among the rest. */
        unsigned code = (unsigned)p[0] * 2 + (p[1] > p[2]);
        counts[code]++;
    }
    for (unsigned i = 0; i < 6; i++) {
        CU_ASSERT(counts[i] > 0);
        CU_ASSERT(counts[i] > 800 && counts[i] < 1200); /* mean 1000, sd ~29 */
    }
}

int main(void)
{
    static const tu_test tests[] = {
        {"hash is deterministic and separated by query id and id",
         test_hash_deterministic_and_separated},
        {"hash matches the documented construction", test_hash_matches_documented_construction},
        {"key_new is fresh and wipe zeroes it", test_key_new_is_fresh_and_wiped},
        {"blinding commutes for 1000 ids (1, 2 threads)", test_blinding_commutes},
        {"count 0 and NULL arguments", test_count_zero_and_null},
        {"blind rejects bad points naming the lowest index",
         test_blind_rejects_bad_points_lowest_index},
        {"ElGamal round trip of tags 0, 1, 2, 65535", test_eg_round_trip},
        {"small table rejects tag 10", test_eg_small_table_rejects_unknown_tag},
        {"re-randomize changes c1, c2 and keeps the tag", test_eg_rerandomize_unlinks_same_tag},
        {"re-randomize and decrypt reject bad points", test_eg_rerandomize_rejects_bad_points},
        {"decrypt with a wrong key fails", test_eg_wrong_key_fails},
        {"tag 65536 is a usage error", test_eg_tag_out_of_range},
        {"permutation of 0, 1, 1000 elements", test_permutation},
        {"permutation of 3 draws all 6 orders", test_permutation_of_three_is_uniform},
        {NULL, NULL},
    };
    return tu_main("psi", suite_init, suite_cleanup, tests);
}
