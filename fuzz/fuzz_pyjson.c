/* Fuzzes the python-paillier (phe) JSON importers with the same bytes: the
 * public key, the private key, and encrypted numbers under the fixed test
 * key. Whatever imports must export again and satisfy the importer's
 * promises (valid ciphertexts, bounded scales); anything else aborts. */
#include <gmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/util/kat_paillier.h"
#include "veil/pyjson.h"
#include "veil/rand.h"

static veil_paillier_pub *g_pk;
static mpz_t g_bound;

static void setup(void)
{
    (void)kat_vectors;
    (void)kat_fingerprint;
    if (veil_crypto_init() != 0)
        abort();
    mpz_t p, q, n;
    mpz_init_set_str(p, kat_p, 16);
    mpz_init_set_str(q, kat_q, 16);
    mpz_init(n);
    mpz_mul(n, p, q);
    veil_err err;
    if (veil_paillier_pub_new(&g_pk, n, NULL, &err) != VEIL_OK)
        abort();
    mpz_clears(p, q, n, NULL);
    mpz_init_set_ui(g_bound, 1);
    mpz_mul_2exp(g_bound, g_bound, 64);
}

static void fuzz_pub(const char *json, size_t size)
{
    veil_paillier_pub *pk = NULL, *back = NULL;
    veil_err err;
    if (veil_pyjson_pub_import(&pk, json, size, &err) != VEIL_OK) {
        if (pk != NULL || err.code == VEIL_OK || err.msg[0] == '\0')
            abort();
        return;
    }
    char *out = veil_pyjson_pub_export(pk, &err);
    if (out == NULL || veil_pyjson_pub_import(&back, out, strlen(out), &err) != VEIL_OK ||
        !veil_paillier_pub_equal(pk, back))
        abort();
    free(out);
    veil_paillier_pub_free(back);
    veil_paillier_pub_free(pk);
}

static void fuzz_priv(const char *json, size_t size)
{
    veil_paillier_priv *sk = NULL;
    veil_err err;
    if (veil_pyjson_priv_import(&sk, json, size, &err) != VEIL_OK) {
        if (sk != NULL || err.code == VEIL_OK || err.msg[0] == '\0')
            abort();
        return;
    }
    char *out = veil_pyjson_priv_export(sk, &err);
    if (out == NULL)
        abort();
    free(out);
    veil_paillier_priv_free(sk);
}

static void fuzz_numbers(const char *json, size_t size)
{
    veil_enc *vals = NULL;
    size_t n = 0;
    veil_err err;
    if (veil_pyjson_numbers_import(&vals, &n, g_pk, json, size, g_bound, &err) != VEIL_OK) {
        if (vals != NULL || n != 0 || err.code == VEIL_OK || err.msg[0] == '\0')
            abort();
        return;
    }
    mpz_t max;
    mpz_init(max);
    veil_paillier_pub_max_int(max, g_pk);
    for (size_t i = 0; i < n; i++) {
        if (veil_paillier_check_ct(g_pk, vals[i].c, &err) != VEIL_OK ||
            vals[i].scale > 4 * VEIL_PYJSON_EXP_MAX || mpz_cmp(vals[i].bound, max) > 0 ||
            vals[i].count != 1)
            abort();
    }
    mpz_clear(max);
    char *out = veil_pyjson_numbers_export(vals, n, &err);
    char *list = veil_pyjson_values_export(g_pk, vals, n, &err);
    if (out == NULL || list == NULL)
        abort();
    free(out);
    free(list);
    veil_pyjson_numbers_free(vals, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_pk == NULL)
        setup();
    const char *json = (const char *)data;
    fuzz_pub(json, size);
    fuzz_priv(json, size);
    fuzz_numbers(json, size);
    return 0;
}
