/* Progress line on standard error for long runs: rows done, rows per
 * second and, when the total is known, percent and time left. Shown only
 * when stderr is a terminal, at most about four times a second, and erased
 * at the end so logs and pipes never see it. */
#ifndef VEIL_PROGRESS_H
#define VEIL_PROGRESS_H

#include <stdint.h>
#include <time.h>

typedef struct {
    int enabled;
    const char *label;
    uint64_t total; /* 0 when unknown */
    struct timespec start, last;
    int shown;
} veil_progress;

void veil_progress_start(veil_progress *p, const char *label, uint64_t total);
void veil_progress_update(veil_progress *p, uint64_t done);
/* Erases the line if one was drawn. */
void veil_progress_end(veil_progress *p);

#endif
