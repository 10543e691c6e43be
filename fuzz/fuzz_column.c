/* Feeds arbitrary bytes to the column file reader and reads every value,
 * under a fixed key (the test key of tests/util/kat_paillier.h, so the
 * seeds in corpus/column, written for that key, get past the fingerprint
 * check). */
#include <gmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil/ctfile.h"
#include "veil/paillier.h"
#include "veil/rand.h"

static const char *const key_p =
    "e3e43b780265f9dfae30c47d82dadd11720431bb8781a13f3abdbcd07373f205117754d294a32746966294766a1395"
    "694b2e1ca935a92552ef47ed0ffee6291220f1d0eee5dd31054aa19488a6bf28d9d11584478fd292dfb16cb4820b94"
    "8758b460600c3b792e5cc169f197114bac8cb24bbc48053fc30f7f632c477d97ddb3";
static const char *const key_q =
    "ebfb3fa50bb44cb0741ca0ed2060dbac33768ce0ed36a8a339303d26747b0e0cc6f9c23bcbcc0a03368395dc34349a"
    "9bd24f4237b90c9701fd9ec319c5c4ec4f55907bb375ba60a336a22d6c8614d2323878334aa5633bf1fa281dd2eb0d"
    "13d7a73e484a60f42c1a3ef989e94fc5842cf0a6d167863b5662c78f69dcd355b935";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const veil_paillier_pub *fixed_key(void)
{
    static veil_paillier_priv *sk;
    if (sk == NULL) {
        veil_err err;
        mpz_t p, q;
        if (veil_crypto_init() != 0)
            abort();
        mpz_init_set_str(p, key_p, 16);
        mpz_init_set_str(q, key_q, 16);
        if (veil_paillier_priv_new(&sk, p, q, NULL, 0, &err) != VEIL_OK)
            abort();
        mpz_clears(p, q, NULL);
    }
    return veil_paillier_priv_pub(sk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const veil_paillier_pub *pk = fixed_key();
    veil_err err;
    veil_column_reader *r = NULL;
    if (veil_column_reader_open_mem(&r, data, size, "fuzz.vcol", pk, &err) != VEIL_OK)
        return 0;
    /* Read every string the reader hands out, so ASan checks them. */
    /* Half the inputs (by their length) as `veil aggregate` reads: the gcd
     * left to the caller, which checks it here as aggregate does. */
    int deferred = size % 2;
    if (deferred)
        veil_column_reader_defer_unit_check(r);
    const veil_column_info *info = veil_column_reader_info(r);
    volatile size_t seen = strlen(info->name);
    if (info->group_name != NULL)
        seen += strlen(info->group_name);
    mpz_t c;
    mpz_init(c);
    int eof = 0;
    const char *group;
    while (veil_column_reader_next(r, c, &group, &eof, &err) == VEIL_OK && !eof) {
        if (group != NULL)
            seen += strlen(group);
        if (deferred && veil_paillier_check_ct(pk, c, &err) != VEIL_OK)
            break;
    }
    (void)seen;
    mpz_clear(c);
    veil_column_reader_close(r);
    return 0;
}
