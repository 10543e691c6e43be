/* veil-bench --anon [DIR]: time of the optimal k-anonymity search (k = 5,
 * the 8 usual quasi-identifiers of Adult with their hierarchies,
 * suppression limit 0 % and 5 %, discernibility and loss metrics) on the
 * Adult table in DIR (default data/adult) and on 1,000,000 rows generated
 * by drawing each column's value independently from Adult's distribution
 * of that column (a fixed seed), so rare combinations abound and the
 * search has real work to do. Each
 * result is checked against the known optimum's suppression count being
 * within the limit; the run aborts on any error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "veil/anon.h"
#include "veil/hierarchy.h"
#include "veil/table.h"

int veil_bench_anon(const char *dir);

#define NQI 8
static const char *const QI[NQI] = {
    "age",       "sex",       "race", "marital-status", "education", "native-country",
    "workclass", "occupation"};

static double now_sec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run_searches(const char *label, const veil_table *t, veil_hierarchy *const *h)
{
    static const struct {
        uint64_t supp;
        veil_anon_metric m;
    } cases[] = {{0, VEIL_ANON_DISCERNIBILITY},
                 {5, VEIL_ANON_DISCERNIBILITY},
                 {0, VEIL_ANON_LOSS},
                 {5, VEIL_ANON_LOSS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        veil_anon_config cfg = {
            .k = 5, .t = -1, .supp_num = cases[i].supp, .supp_den = 100, .metric = cases[i].m};
        veil_anon_result r;
        veil_err err;
        double t0 = now_sec();
        if (veil_anon_search(&r, t, NQI, h, -1, &cfg, &err) != VEIL_OK) {
            fprintf(stderr, "veil-bench: %s\n", err.msg);
            return 1;
        }
        double secs = now_sec() - t0;
        if (!r.found || r.suppressed > r.rows * cases[i].supp / 100) {
            fprintf(stderr, "veil-bench: k-anonymity search gave an infeasible result\n");
            return 1;
        }
        printf("%-22s k=5 supp %2u %% %-14s %8.3f s  levels ", label, (unsigned)cases[i].supp,
               cases[i].m == VEIL_ANON_LOSS ? "loss" : "discernibility", secs);
        for (int j = 0; j < NQI; j++)
            printf("%u", r.levels[j]);
        printf("  suppressed %llu  classes %llu  nodes %llu/%llu\n",
               (unsigned long long)r.suppressed, (unsigned long long)r.classes,
               (unsigned long long)r.evaluated, (unsigned long long)r.nodes);
    }
    return 0;
}

/* Writes `rows` records whose every field is drawn from the values that
 * column takes in Adult (each Adult row equally likely, columns drawn
 * independently). */
static int generate(const char *src, const char *path, unsigned long rows)
{
    FILE *in = fopen(src, "rb");
    if (in == NULL)
        return -1;
    char **lines = NULL, buf[4096], header[4096];
    size_t n = 0, cap = 0;
    if (fgets(header, sizeof header, in) == NULL) {
        fclose(in);
        return -1;
    }
    size_t ncol = 1;
    for (const char *p = header; *p; p++)
        ncol += *p == ';';
    while (fgets(buf, sizeof buf, in) != NULL) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **l = realloc(lines, cap * ncol * sizeof *l);
            if (l == NULL)
                break;
            lines = l;
        }
        buf[strcspn(buf, "\r\n")] = '\0';
        char *p = buf;
        for (size_t c = 0; c < ncol; c++) {
            char *d = strchr(p, ';');
            if (d != NULL)
                *d = '\0';
            lines[n * ncol + c] = strdup(p);
            p = d ? d + 1 : p + strlen(p);
        }
        n++;
    }
    fclose(in);
    FILE *out = fopen(path, "wb");
    int rc = out && n > 0 ? 0 : -1;
    if (rc == 0) {
        header[strcspn(header, "\r\n")] = '\0';
        fprintf(out, "%s\n", header);
        uint64_t s = 20261123;
        for (unsigned long r = 0; r < rows; r++)
            for (size_t c = 0; c < ncol; c++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                const char *v = lines[((s >> 33) % n) * ncol + c];
                fprintf(out, "%s%c", v ? v : "", c + 1 < ncol ? ';' : '\n');
            }
        if (fclose(out) != 0)
            rc = -1;
    } else if (out != NULL) {
        fclose(out);
    }
    for (size_t i = 0; i < n * ncol; i++)
        free(lines[i]);
    free(lines);
    return rc;
}

int veil_bench_anon(const char *dir)
{
    veil_hierarchy *h[NQI] = {0};
    veil_table *t = NULL;
    veil_err err;
    char path[4096], table[4096], tmpdir[] = "/tmp/veil-bench-anon.XXXXXX", gen[4096];
    int rc = 1;
    int have_tmp = 0;
    for (int j = 0; j < NQI; j++) {
        snprintf(path, sizeof path, "%s/adult_hierarchy_%s.csv", dir, QI[j]);
        if (veil_hierarchy_load(&h[j], path, &err) != VEIL_OK) {
            fprintf(stderr, "veil-bench: %s (give the Adult folder: --anon DIR)\n", err.msg);
            goto done;
        }
    }
    snprintf(table, sizeof table, "%s/adult.csv", dir);
    printf("optimal k-anonymity search (exact, full-domain lattice of 6480 nodes)\n");
    double t0 = now_sec();
    if (veil_table_load(&t, table, ';', QI, NQI, h, &err) != VEIL_OK) {
        fprintf(stderr, "veil-bench: %s\n", err.msg);
        goto done;
    }
    printf("Adult: %zu rows loaded in %.3f s\n", veil_table_rows(t), now_sec() - t0);
    if (run_searches("Adult (30,162 rows)", t, h) != 0)
        goto done;
    veil_table_free(t);
    t = NULL;
    if (mkdtemp(tmpdir) == NULL) {
        fprintf(stderr, "veil-bench: cannot create a temporary directory\n");
        goto done;
    }
    have_tmp = 1;
    snprintf(gen, sizeof gen, "%s/gen.csv", tmpdir);
    if (generate(table, gen, 1000000) != 0) {
        fprintf(stderr, "veil-bench: cannot generate %s\n", gen);
        goto done;
    }
    t0 = now_sec();
    if (veil_table_load(&t, gen, ';', QI, NQI, h, &err) != VEIL_OK) {
        fprintf(stderr, "veil-bench: %s\n", err.msg);
        goto done;
    }
    printf("generated: %zu rows loaded in %.3f s\n", veil_table_rows(t), now_sec() - t0);
    if (run_searches("generated (1,000,000)", t, h) != 0)
        goto done;
    rc = 0;
done:
    if (have_tmp) {
        unlink(gen);
        rmdir(tmpdir);
    }
    veil_table_free(t);
    for (int j = 0; j < NQI; j++)
        veil_hierarchy_free(h[j]);
    return rc;
}
