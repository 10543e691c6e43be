/* A throttled, self-erasing progress line. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#define PROGRESS_INTERVAL 0.25 /* seconds between redraws */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void veil_progress_start(veil_progress *p, const char *label, uint64_t total)
{
    p->enabled = isatty(STDERR_FILENO);
    p->label = label;
    p->total = total;
    p->shown = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last = p->start;
}

void veil_progress_update(veil_progress *p, uint64_t done)
{
    if (!p->enabled)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (p->shown && seconds_between(&p->last, &now) < PROGRESS_INTERVAL)
        return;
    p->last = now;
    double elapsed = seconds_between(&p->start, &now);
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    if (p->total > 0 && done <= p->total) {
        double left = rate > 0 ? (double)(p->total - done) / rate : 0;
        fprintf(stderr, "\r\033[K%s: %llu/%llu rows (%.0f%%), %.0f rows/s, %.0f s left", p->label,
                (unsigned long long)done, (unsigned long long)p->total,
                100.0 * (double)done / (double)p->total, rate, left);
    } else {
        fprintf(stderr, "\r\033[K%s: %llu rows, %.0f rows/s", p->label, (unsigned long long)done,
                rate);
    }
    fflush(stderr);
    p->shown = 1;
}

void veil_progress_end(veil_progress *p)
{
    if (p->enabled && p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->shown = 0;
}
