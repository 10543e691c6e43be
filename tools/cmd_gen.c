/* veil gen: reproducible synthetic department records.
 *
 * Every citizen j of an unbounded population has fixed attributes derived
 * from (seed, j) alone: a unique resident ID (region, birth date, sequence,
 * GB 11643 check digit), a region and a sex. A department keeps citizen j
 * with a fixed probability decided by (seed, department, j), so files of
 * different departments made with the same seed overlap partially and agree
 * on every shared citizen. Amounts are drawn per (seed, department, j), so a
 * file's rows do not depend on how many rows were asked for.
 *
 * Education has no amount: its level comes from a latent that mixes the
 * citizen's tax income draw (recomputed here, never redrawn) with the
 * education stream's own noise and a birth-cohort shift, so mean income
 * rises with level across files joined on resident_id (see edu_level). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "gen.h"

enum { OPT_DEPT = 1, OPT_ROWS, OPT_SEED, OPT_OUT, OPT_FORCE };

static const struct {
    const char *code; /* GB/T 2260 county-level code */
    const char *name;
    unsigned weight; /* relative population */
} regions[] = {
    {"110105", "Beijing", 22},   {"310104", "Shanghai", 25}, {"440106", "Guangzhou", 19},
    {"440305", "Shenzhen", 18},  {"330106", "Hangzhou", 12}, {"510107", "Chengdu", 21},
    {"420106", "Wuhan", 13},     {"610113", "Xian", 13},     {"320102", "Nanjing", 9},
    {"500103", "Chongqing", 32},
};
#define NREGIONS (sizeof regions / sizeof regions[0])

static const struct {
    const char *name;
    const char *column; /* the money column */
    double coverage;    /* share of the population the department knows */
} departments[] = {
    {"tax", "refund", 0.80},
    {"social", "benefit", 0.70},
    {"health", "reimbursement", 0.60},
    {"education", NULL, 0.75}, /* level and graduation year, no amount */
};
#define NDEPTS         (sizeof departments / sizeof departments[0])
#define DEPT_EDUCATION 3

/* splitmix64: a fast, well-mixed, reproducible generator for synthetic
 * data (not for secrets). */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s = mix64(r->s);
    return r->s;
}

static double rng_unit(rng *r) /* (0, 1) */
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static rng rng_for(uint64_t seed, uint64_t stream, uint64_t j)
{
    rng r = {mix64(seed ^ mix64(stream * 0x100000001b3ull ^ mix64(j)))};
    return r;
}

char veil_gen_check_digit(const char *first17)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[] = "10X98765432";
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * w[i];
    return map[sum % 11];
}

/* Days in a month of a year (Gregorian). */
static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* Citizen j: a bijection from j onto (region, birth day, sequence) slots
 * keeps IDs unique; births span 1940-01-01 .. 2008-12-31. */
void veil_gen_citizen(veil_gen_person *p, uint64_t seed, uint64_t j)
{
    const uint64_t days = 25202; /* 1940-01-01 .. 2008-12-31 */
    const uint64_t slots = NREGIONS * days * 1000;
    /* j -> (j * a + b) mod slots is a bijection because the prime a does
     * not divide slots (= 252,020,000). */
    const uint64_t a = 1000003;
    uint64_t k = (uint64_t)(((unsigned __int128)(j % slots) * a + mix64(seed) % slots) % slots);
    unsigned long seqn = (unsigned long)(k % 1000);
    k /= 1000;
    uint64_t day = k % days;
    k /= days;
    /* The region lived in now is drawn by population weight; the ID keeps
     * the slot's region code (the place of first registration), which keeps
     * IDs unique. */
    size_t slot_region = (size_t)(k % NREGIONS);
    rng r = rng_for(seed, 0xC1712E4, j);
    unsigned total = 0;
    for (size_t i = 0; i < NREGIONS; i++)
        total += regions[i].weight;
    unsigned pick = (unsigned)(rng_next(&r) % total);
    size_t region = 0;
    while (pick >= regions[region].weight) {
        pick -= regions[region].weight;
        region++;
    }
    int y = 1940, m = 1;
    long dd = (long)day;
    while (dd >= (((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 366 : 365)) {
        dd -= ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 366 : 365;
        y++;
    }
    while (dd >= month_days(y, m)) {
        dd -= month_days(y, m);
        m++;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s%04d%02d%02ld%03lu", regions[slot_region].code, y, m, dd + 1,
             seqn);
    memcpy(p->id, buf, 17);
    p->id[17] = veil_gen_check_digit(p->id);
    p->id[18] = '\0';
    p->region = regions[region].name;
    p->birth_year = y;
    p->male = (seqn % 2) == 1;
}

/* Amount in cents for department d and citizen j. The first normal of the
 * stream is the (log) income; edu_level re-reads tax's, so it comes first. */
static long long amount_cents(size_t d, uint64_t seed, uint64_t j, int age, double *income)
{
    rng r = rng_for(seed, 0xA0 + d, j);
    double x = 0;
    *income = exp(11.0 + 0.6 * rng_normal(&r)); /* median about 60,000 */
    switch (d) {
    case 0: /* tax refund: positive refund, negative = additional tax due */
        x = *income * (0.01 * rng_normal(&r));
        if (rng_unit(&r) < 0.25)
            x = -fabs(x) * 1.5;
        break;
    case 1: /* social benefit: pensions, unemployment, rare clawbacks */
        if (age >= 60)
            x = 36000 + 8000 * rng_normal(&r);
        else if (rng_unit(&r) < 0.12)
            x = 12000 + 3000 * rng_normal(&r);
        if (rng_unit(&r) < 0.02)
            x = -(50 + 450 * rng_unit(&r));
        if (x < -1000)
            x = -1000;
        break;
    default: /* health reimbursement: many zeros, rare corrections */
        if (rng_unit(&r) < 0.7)
            x = exp(6.7 + 1.0 * rng_normal(&r));
        if (rng_unit(&r) < 0.03)
            x = -(20 + 300 * rng_unit(&r));
        break;
    }
    return llround(x * 100.0);
}

/* The seven levels in order, with the typical age at graduation. */
static const struct {
    const char *name;
    int age;
} levels[] = {
    {"primary", 12},  {"junior_secondary", 15}, {"senior_secondary", 18}, {"vocational", 21},
    {"bachelor", 22}, {"master", 25},           {"doctorate", 29},
};
#define NLEVELS (sizeof levels / sizeof levels[0])

/* Latent thresholds: standard normal quantiles of 25, 60, 77, 87, 97 and
 * 99.5 %, i.e. the level shares of the 1975 cohort. */
static const double level_cut[NLEVELS - 1] = {-0.674, 0.253, 0.739, 1.126, 1.881, 2.576};

/* Highest level (index into levels) and its graduation year for citizen j.
 * latent = 0.7 z + 0.714 e + 0.045 (birth_year - 1975), where z is the
 * standard normal behind the citizen's tax income (income = exp(11 + 0.6 z),
 * the first draw of tax's amount stream) and e an independent normal of the
 * education stream. So corr(latent, log income) is 0.7 within a cohort,
 * the whole population included (tax's income exists for every citizen
 * whether or not tax's file lists them), and a cohort born 20 years later
 * sits 0.9 standard deviations higher. A citizen cannot have finished a
 * level older than their age at the end of 2025; graduation is at the
 * typical age plus 0 to 2 years' delay, never after 2025. */
static size_t edu_level(uint64_t seed, uint64_t j, int birth_year, int *graduation_year)
{
    rng t = rng_for(seed, 0xA0, j);
    double z = rng_normal(&t);
    rng r = rng_for(seed, 0xA0 + DEPT_EDUCATION, j);
    double latent = 0.7 * z + 0.714 * rng_normal(&r) + 0.045 * (birth_year - 1975);
    size_t l = 0;
    while (l < NLEVELS - 1 && latent >= level_cut[l])
        l++;
    while (l > 0 && birth_year + levels[l].age > 2025)
        l--;
    int y = birth_year + levels[l].age + (int)(rng_next(&r) % 3);
    *graduation_year = y > 2025 ? 2025 : y;
    return l;
}

static int in_department(size_t d, uint64_t seed, uint64_t j)
{
    rng r = rng_for(seed, 0xD0 + d, j);
    return rng_unit(&r) < departments[d].coverage;
}

static void print_cents(FILE *f, long long c)
{
    unsigned long long a = c < 0 ? (unsigned long long)(-(c + 1)) + 1 : (unsigned long long)c;
    fprintf(f, "%s%llu.%02llu", c < 0 ? "-" : "", a / 100, a % 100);
}

static int run_gen(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_outfile *out = NULL;
    size_t d = NDEPTS;
    for (size_t i = 0; i < NDEPTS; i++)
        if (strcmp(a.val[OPT_DEPT], departments[i].name) == 0)
            d = i;
    if (d == NDEPTS) {
        rc = veil_cli_fail(cmd, VEIL_ERR_USAGE,
                           "--department must be tax, social, health or education, not '%s'",
                           a.val[OPT_DEPT]);
        goto done;
    }
    unsigned rows = 0, seed = 1;
    if (veil_cli_parse_uint(&rows, a.val[OPT_ROWS], 1, 100000000u, "--rows", &err) != VEIL_OK ||
        (a.val[OPT_SEED] &&
         veil_cli_parse_uint(&seed, a.val[OPT_SEED], 0, 4294967295u, "--seed", &err) != VEIL_OK) ||
        (a.val[OPT_OUT] && veil_cli_check_new(a.val[OPT_OUT], a.val[OPT_FORCE] != NULL, &err)) ||
        veil_out_open(&out, a.val[OPT_OUT], 0644, &err) != VEIL_OK) {
        rc = veil_cli_fail_err(cmd, &err);
        goto done;
    }
    FILE *f = veil_out_fp(out);
    if (d == DEPT_EDUCATION)
        fputs("resident_id,region,sex,birth_year,level,graduation_year\n", f);
    else
        fprintf(f, "resident_id,region,sex,birth_year,%s%s\n", d == 0 ? "income," : "",
                departments[d].column);
    unsigned written = 0;
    for (uint64_t j = 0; written < rows; j++) {
        if (!in_department(d, seed, j))
            continue;
        veil_gen_person p;
        veil_gen_citizen(&p, seed, j);
        if (d == DEPT_EDUCATION) {
            int grad;
            size_t l = edu_level(seed, j, p.birth_year, &grad);
            fprintf(f, "%s,%s,%s,%d,%s,%d\n", p.id, p.region, p.male ? "M" : "F", p.birth_year,
                    levels[l].name, grad);
            written++;
            continue;
        }
        double income;
        long long c = amount_cents(d, seed, j, 2026 - p.birth_year, &income);
        fprintf(f, "%s,%s,%s,%d,", p.id, p.region, p.male ? "M" : "F", p.birth_year);
        if (d == 0) {
            print_cents(f, llround(income * 100.0));
            fputc(',', f);
        }
        print_cents(f, c);
        fputc('\n', f);
        written++;
    }
    if (ferror(f)) {
        veil_out_abort(out);
        out = NULL;
        rc = veil_cli_fail(cmd, VEIL_ERR_IO, "%s: write failed",
                           a.val[OPT_OUT] ? a.val[OPT_OUT] : "standard output");
        goto done;
    }
    veil_outfile *o = out;
    out = NULL;
    if (veil_out_commit(o, &err) != VEIL_OK) {
        rc = veil_cli_fail_err(cmd, &err);
        goto done;
    }
    rc = 0;
done:
    veil_out_abort(out);
    veil_args_free(&a);
    return rc;
}

static const veil_opt gen_opts[] = {
    {"department", OPT_DEPT, "NAME", "tax, social, health or education", 1},
    {"rows", OPT_ROWS, "N", "number of records (1 to 100000000)", 1},
    {"seed", OPT_SEED, "S", "random seed (default 1); the same seed gives the same citizens", 0},
    {"out", OPT_OUT, "FILE", "output CSV (default: standard output)", 0},
    {"force", OPT_FORCE, NULL, "overwrite FILE if it exists", 0},
    {NULL, 0, NULL, NULL, 0},
};

const veil_cmd veil_cmd_gen = {
    .name = "gen",
    .summary = "Generate synthetic department records (CSV) for demos and tests.",
    .synopsis = "--department tax|social|health|education --rows N [--seed S] [--out FILE]",
    .description =
        "Writes reproducible synthetic citizen records for one department: resident_id (a "
        "valid 18-character resident ID with its GB 11643 check digit), region, sex, "
        "birth_year, and the department's amount column at scale 2: tax has income and "
        "refund (negative: additional tax due), social has benefit, health has "
        "reimbursement. Negative amounts occur in every money column. Education has no "
        "amount: level (primary, junior_secondary, senior_secondary, vocational, bachelor, "
        "master or doctorate: the highest finished) and graduation_year (birth year plus the "
        "level's typical age of 12, 15, 18, 21, 22, 25 or 29, plus 0 to 2 years, at most "
        "2025).\n\n"
        "Departments made with the same seed share citizens: tax knows about 80%, social "
        "70%, health 60% and education 75% of one population, and a citizen has the same "
        "ID, region, sex and birth year in every file. Later birth cohorts are more "
        "educated, and education is correlated with tax income: the level comes from a "
        "latent whose correlation with the citizen's log income is 0.7 within a birth "
        "cohort, so mean income rises with level when the files are joined on resident_id. "
        "The data is synthetic; no real person is described.",
    .opts = gen_opts,
    .min_args = 0,
    .max_args = 0,
    .example = "veil gen --department tax --rows 100000 --seed 7 --out tax.csv",
    .run = run_gen,
};
