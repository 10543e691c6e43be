/* Synthetic citizens of `veil gen`: valid, unique, reproducible IDs. */
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "testutil.h"

static void test_check_digit_known_answers(void)
{
    /* The worked example of GB 11643-1999 and a second published one. */
    CU_ASSERT_EQUAL(veil_gen_check_digit("11010519491231002"), 'X');
    CU_ASSERT_EQUAL(veil_gen_check_digit("44052418800101001"), '4');
    CU_ASSERT_EQUAL(veil_gen_check_digit("00000000000000000"), '1');
}

static int valid_date(const char *d)
{
    int y = atoi((char[]){d[0], d[1], d[2], d[3], 0});
    int m = atoi((char[]){d[4], d[5], 0});
    int day = atoi((char[]){d[6], d[7], 0});
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || day < 1)
        return 0;
    return day <= md[m - 1] + (m == 2 && leap);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 18);
}

static void test_ids_are_valid_unique_and_reproducible(void)
{
    enum { N = 200000 };
    char(*ids)[19] = malloc(sizeof *ids * N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
    int bad = 0;
    for (uint64_t j = 0; j < N; j++) {
        veil_gen_person p, again;
        veil_gen_citizen(&p, 42, j);
        veil_gen_citizen(&again, 42, j);
        if (strcmp(p.id, again.id) != 0 || strcmp(p.region, again.region) != 0)
            bad++;
        if (strlen(p.id) != 18 || veil_gen_check_digit(p.id) != p.id[17] || !valid_date(p.id + 6) ||
            p.birth_year < 1940 || p.birth_year > 2008 || p.male != ((p.id[16] - '0') % 2))
            bad++;
        memcpy(ids[j], p.id, 19);
    }
    CU_ASSERT_EQUAL(bad, 0);
    qsort(ids, N, sizeof *ids, cmp_id);
    int dup = 0;
    for (size_t i = 1; i < N; i++)
        dup += memcmp(ids[i - 1], ids[i], 18) == 0;
    CU_ASSERT_EQUAL(dup, 0);
    free(ids);
}

static void test_other_seed_other_population(void)
{
    veil_gen_person a, b;
    int same = 0;
    for (uint64_t j = 0; j < 1000; j++) {
        veil_gen_citizen(&a, 1, j);
        veil_gen_citizen(&b, 2, j);
        same += strcmp(a.id, b.id) == 0;
    }
    CU_ASSERT(same < 5);
}

/* Two departments generated with one seed share citizens, in about the
 * proportions documented (tax 80 %, social 70 % of the population). */
static void test_departments_overlap(void)
{
    char *dir = tu_tempdir();
    char *tax = tu_path(dir, "tax.csv"), *soc = tu_path(dir, "social.csv");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' gen --department tax --rows 8000 --seed 5 --out '%s' && "
             "'%s' gen --department social --rows 7000 --seed 5 --out '%s' && "
             "cut -d, -f1 '%s' | tail -n +2 | sort > '%s.ids' && "
             "cut -d, -f1 '%s' | tail -n +2 | sort > '%s.ids' && "
             "comm -12 '%s.ids' '%s.ids' | wc -l",
             VEIL_BIN, tax, VEIL_BIN, soc, tax, tax, soc, soc, tax, soc);
    char *out = NULL;
    CU_ASSERT_EQUAL(tu_run(cmd, &out, NULL), 0);
    long common = out ? atol(out) : 0;
    /* Expected 10000 * 0.8 * 0.7 = 5600 shared citizens. */
    CU_ASSERT(common > 5200 && common < 6000);
    free(out);
    /* Header and a first row of the documented shape. */
    size_t len;
    char *text = tu_read_file(tax, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_NSTRING_EQUAL(text, "resident_id,region,sex,birth_year,income,refund\n", 48);
    free(text);
    free(tax);
    free(soc);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    static const tu_test tests[] = {
        {"GB 11643 check digit known answers", test_check_digit_known_answers},
        {"IDs valid, unique over 200000 citizens, reproducible",
         test_ids_are_valid_unique_and_reproducible},
        {"another seed gives another population", test_other_seed_other_population},
        {"departments overlap as documented", test_departments_overlap},
        {NULL, NULL},
    };
    return tu_main("gen", NULL, NULL, tests);
}
