/* Synthetic citizens of `veil gen`: valid, unique, reproducible IDs;
 * the education department's levels, years, overlap and income gradient. */
#include <stdio.h>
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

/* One row of a tax or education file, joined on id. */
typedef struct {
    char id[19];
    char region[32];
    char sex;
    int birth_year;
    double income; /* tax */
    int level;     /* education: index into edu_levels */
    int grad;      /* education: graduation_year */
} row;

static const char *const edu_levels[] = {"primary",    "junior_secondary", "senior_secondary",
                                         "vocational", "bachelor",         "master",
                                         "doctorate"};
static const int edu_age[] = {12, 15, 18, 21, 22, 25, 29};

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const row *)a)->id, ((const row *)b)->id);
}

/* Parses a `veil gen` file of tax or education rows after checking its
 * header; a row that does not parse leaves level -1 / returns NULL. */
static row *read_rows(const char *path, int edu, size_t *n)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text)
        return NULL;
    const char *want = edu ? "resident_id,region,sex,birth_year,level,graduation_year\n"
                           : "resident_id,region,sex,birth_year,income,refund\n";
    row *rows = NULL;
    if (strncmp(text, want, strlen(want)) != 0)
        goto done;
    size_t cap = 0;
    *n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(want), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            row *grown = realloc(rows, cap * sizeof *rows);
            if (!grown) {
                free(rows);
                rows = NULL;
                goto done;
            }
            rows = grown;
        }
        row *r = &rows[(*n)++];
        char level[32] = "";
        r->level = -1;
        int got = edu ? sscanf(line, "%18[^,],%31[^,],%c,%d,%31[^,],%d", r->id, r->region, &r->sex,
                               &r->birth_year, level, &r->grad)
                      : sscanf(line, "%18[^,],%31[^,],%c,%d,%lf,", r->id, r->region, &r->sex,
                               &r->birth_year, &r->income);
        if (got != (edu ? 6 : 5)) {
            free(rows);
            rows = NULL;
            goto done;
        }
        for (int l = 0; edu && l < 7; l++)
            if (strcmp(level, edu_levels[l]) == 0)
                r->level = l;
    }
done:
    free(text);
    return rows;
}

static int valid_id(const row *r)
{
    char year[5];
    memcpy(year, r->id + 6, 4);
    year[4] = '\0';
    return strlen(r->id) == 18 && veil_gen_check_digit(r->id) == r->id[17] &&
           valid_date(r->id + 6) && atoi(year) == r->birth_year &&
           r->sex == ((r->id[16] - '0') % 2 ? 'M' : 'F');
}

/* Education joined with tax on resident_id: valid rows, the documented
 * overlap, the same citizens, and mean income rising with level. */
static void test_education_rows_and_income_gradient(void)
{
    char *dir = tu_tempdir();
    char *tax = tu_path(dir, "tax.csv"), *edu = tu_path(dir, "edu.csv");
    char *edu2 = tu_path(dir, "edu2.csv"), *edu3 = tu_path(dir, "edu3.csv");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' gen --department tax --rows 20000 --seed 11 --out '%s' && "
             "'%s' gen --department education --rows 20000 --seed 11 --out '%s' && "
             "'%s' gen --department education --rows 20000 --seed 11 --out '%s' && "
             "'%s' gen --department education --rows 20000 --seed 12 --out '%s'",
             VEIL_BIN, tax, VEIL_BIN, edu, VEIL_BIN, edu2, VEIL_BIN, edu3);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, NULL, NULL), 0);
    size_t nt = 0, ne = 0, n3 = 0;
    row *t = read_rows(tax, 0, &nt), *e = read_rows(edu, 1, &ne);
    row *e3 = read_rows(edu3, 1, &n3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e3);
    CU_ASSERT_EQUAL(nt, 20000);
    CU_ASSERT_EQUAL_FATAL(ne, 20000);
    /* Reproducible from the seed, another seed another file. */
    size_t la = 0, lb = 0;
    char *fa = tu_read_file(edu, &la), *fb = tu_read_file(edu2, &lb);
    CU_ASSERT(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
    free(fa);
    free(fb);
    size_t same = 0;
    for (size_t i = 0; i < ne && i < n3; i++)
        same += strcmp(e[i].id, e3[i].id) == 0;
    CU_ASSERT(same < 100);

    int bad = 0;
    size_t young = 0, young_hi = 0, old = 0, old_hi = 0;
    for (size_t i = 0; i < ne; i++) {
        const row *r = &e[i];
        if (!valid_id(r) || r->level < 0 || r->grad > 2025 ||
            r->grad < r->birth_year + edu_age[r->level] ||
            r->grad > r->birth_year + edu_age[r->level] + 2) {
            bad++;
            continue;
        }
        if (r->birth_year >= 1985 && r->birth_year <= 1995) {
            young++;
            young_hi += r->level >= 4;
        } else if (r->birth_year < 1960) {
            old++;
            old_hi += r->level >= 4;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Later cohorts more educated: about 40 % vs 2 % bachelor or above. */
    CU_ASSERT_FATAL(young > 1000 && old > 1000);
    CU_ASSERT((double)young_hi / young > 0.25);
    CU_ASSERT((double)old_hi / old < 0.08);

    /* tax lists 80 % and education 75 % of the population: 20000 tax rows
     * span 25000 citizens, of whom education (spanning 26667) holds 15000. */
    qsort(t, nt, sizeof *t, cmp_row);
    size_t common = 0, mismatch = 0, cnt[7] = {0};
    double sum[7] = {0};
    for (size_t i = 0; i < ne; i++) {
        const row *m = bsearch(&e[i], t, nt, sizeof *t, cmp_row);
        if (!m || e[i].level < 0)
            continue;
        common++;
        mismatch += strcmp(m->region, e[i].region) != 0 || m->sex != e[i].sex ||
                    m->birth_year != e[i].birth_year;
        cnt[e[i].level]++;
        sum[e[i].level] += m->income;
    }
    CU_ASSERT(common > 14400 && common < 15600);
    CU_ASSERT_EQUAL(mismatch, 0);
    /* Mean income by level: about 49,000 for primary, over 100,000 for
     * bachelor and above (the latent's correlation with log income is 0.7). */
    size_t hi_n = cnt[4] + cnt[5] + cnt[6];
    CU_ASSERT_FATAL(cnt[0] > 1000 && hi_n > 1000);
    double primary = sum[0] / cnt[0], higher = (sum[4] + sum[5] + sum[6]) / hi_n;
    CU_ASSERT(higher > 1.6 * primary);
    CU_ASSERT(sum[2] / cnt[2] > primary && sum[2] / cnt[2] < higher);
    free(t);
    free(e);
    free(e3);
    free(tax);
    free(edu);
    free(edu2);
    free(edu3);
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
        {"education: valid rows, overlap, same citizens as tax, income gradient",
         test_education_rows_and_income_gradient},
        {NULL, NULL},
    };
    return tu_main("gen", NULL, NULL, tests);
}
