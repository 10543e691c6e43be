/* veil-bench --deid: rows per second of `veil deid apply`'s streaming
 * transformer on 1,000,000 generated citizen rows under a masking +
 * pseudonymization + generalization policy. Rows are generated in 10,000-row
 * chunks and fed as they are made, output goes to /dev/null; the run aborts
 * unless every row came out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "veil/deid_policy.h"
#include "veil/pseudonym.h"
#include "veil/resident_id.h"
#include "veil/transform.h"

int veil_bench_deid(unsigned long rows);

static const char POLICY[] =
    "{\"version\": 1, \"columns\": {\n"
    " \"resident_id\": {\"level\": \"L4\", \"action\": \"pseudonymize\"},\n"
    " \"name\": {\"level\": \"L4\", \"action\": \"mask\", \"preset\": \"name\"},\n"
    " \"phone\": {\"level\": \"L3\", \"action\": \"mask\", \"preset\": \"mobile\"},\n"
    " \"birth_date\": {\"level\": \"L2\", \"date\": \"year\"},\n"
    " \"age\": {\"level\": \"L2\", \"interval\": 10, \"top\": 90},\n"
    " \"sex\": {\"level\": \"L1\"},\n"
    " \"income\": {\"level\": \"L3\", \"action\": \"generalize\", \"interval\": \"5000\", "
    "\"scale\": 2}}}";

static const char *const SURNAMES[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄"};
static const char *const GIVEN[] = {"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die_err(const veil_err *err)
{
    fprintf(stderr, "veil-bench --deid: %s\n", err->msg);
    return 1;
}

int veil_bench_deid(unsigned long rows)
{
    veil_err err;
    veil_deid_policy *p = NULL;
    veil_deid_key *k = NULL;
    veil_deid_transform *t = NULL;
    if (veil_deid_policy_parse(&p, POLICY, strlen(POLICY), "bench.json", &err) != VEIL_OK ||
        veil_deid_key_generate(&k, &err) != VEIL_OK)
        return die_err(&err);
    FILE *out = fopen("/dev/null", "w");
    char *chunk = malloc(10000 * 160);
    if (out == NULL || chunk == NULL ||
        veil_deid_transform_new(&t, p, k, "generated", out, &err) != VEIL_OK)
        return die_err(&err);
    const char *head = "resident_id,name,phone,birth_date,age,sex,income\n";
    double gen = 0, start = now();
    if (veil_deid_transform_feed(t, head, strlen(head), &err) != VEIL_OK)
        return die_err(&err);
    unsigned seed = 1;
    for (unsigned long done = 0; done < rows;) {
        double g0 = now();
        size_t len = 0;
        unsigned long n = rows - done < 10000 ? rows - done : 10000;
        for (unsigned long i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 4;
            int y = 1930 + (int)(r % 90);
            unsigned m = 1 + r % 12, d = 1 + (r >> 8) % 28;
            char id[19];
            snprintf(id, sizeof id, "%06u%04d%02u%02u%03u", 110101u + r % 500000u, y, m, d,
                     (r >> 12) % 1000u);
            id[17] = veil_resident_id_check_char(id);
            id[18] = '\0';
            len += (size_t)snprintf(
                chunk + len, 160, "%s,%s%s,1%u%09u,%04d-%02u-%02u,%d,%c,%u.%02u\n", id,
                SURNAMES[r % 8], GIVEN[(r >> 3) % 8], 3 + r % 7, (r * 7u) % 1000000000u, y, m, d,
                2025 - y, "MF"[r & 1], (r >> 5) % 50000u, r % 100u);
        }
        gen += now() - g0;
        if (veil_deid_transform_feed(t, chunk, len, &err) != VEIL_OK)
            return die_err(&err);
        done += n;
    }
    if (veil_deid_transform_finish(t, &err) != VEIL_OK)
        return die_err(&err);
    double secs = now() - start - gen;
    veil_deid_stats st;
    veil_deid_transform_stats(t, &st);
    if (st.rows_out != rows) {
        fprintf(stderr, "veil-bench --deid: %llu rows out of %lu\n",
                (unsigned long long)st.rows_out, rows);
        return 1;
    }
    printf("deid apply (mask name+mobile, HMAC-SHA-256 pseudonym, generalize date/age/income)\n"
           "  %lu rows in %.2f s (generation excluded): %.0f rows/s\n",
           rows, secs, (double)rows / secs);
    veil_deid_transform_free(t);
    veil_deid_key_free(k);
    veil_deid_policy_free(p);
    fclose(out);
    free(chunk);
    return 0;
}
