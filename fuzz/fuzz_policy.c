/* Fuzzes the de-identification policy parser, then runs every policy that
 * parses over a small citizen table (with a fixed key), so the checks of
 * the parser and the assumptions of the transformer are tested together.
 * Policies naming a hierarchy file are skipped: they would read files. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "veil/deid_policy.h"
#include "veil/pseudonym.h"
#include "veil/transform.h"

static const char CSV[] =
    "resident_id,name,phone,email,bank_card,address,birth_date,age,sex,region,income\n"
    "11010519491231002X,张三丰,13812345678,zhangsan@example.cn,6222021234567890128,"
    "北京市朝阳区建国路88号,1949-12-31,76,M,110105,12000.50\n"
    "440306198507151231,李四,13987654321,lisi@mail.gd.cn,6217001234567890,"
    "广东省深圳市南山区科技园,1985-07-15,40,F,440306,8500.00\n";

static const char KEY[] = "veil-deid-key 1\n"
                          "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

static int mentions(const uint8_t *data, size_t size, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, word, n) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static veil_deid_key *key;
    veil_err err;
    if (key == NULL && veil_deid_key_parse(&key, KEY, strlen(KEY), "key", &err) != VEIL_OK)
        return 0;
    if (mentions(data, size, "hierarchy"))
        return 0;
    veil_deid_policy *p = NULL;
    if (veil_deid_policy_parse(&p, (const char *)data, size, "fuzz.json", &err) != VEIL_OK)
        return 0;
    FILE *out = fopen("/dev/null", "w");
    if (out != NULL) {
        (void)veil_deid_apply_mem(p, key, CSV, sizeof CSV - 1, "fuzz.csv", out, NULL, &err);
        fclose(out);
    }
    veil_deid_policy_free(p);
    return 0;
}
