/* The process-wide worker pool behind every parallel call of veil (the
 * batch API, threshold batches, the private join's group operations).
 *
 * The pool holds veil_cpu_count() - 1 threads, started on first use and
 * kept for the life of the process; the calling thread is always the last
 * worker. veil_workers_run hands tasks to the pool and runs tasks itself
 * until its own are all claimed, then waits for those the pool took. Calls
 * from several threads at once share the same workers, so veil never runs
 * more threads of its own than the process has CPUs, however many callers
 * there are (no oversubscription). A task may itself call
 * veil_workers_run: the inner call makes progress on the caller's thread,
 * so nesting cannot deadlock. If threads cannot be started, tasks run on
 * the calling thread: a shortage slows a call down, never fails it.
 *
 * The workers block every signal (signals go to the application's own
 * threads). In a child process created by fork() the pool starts afresh on
 * its first use there. */
#ifndef VEIL_WORKERS_H
#define VEIL_WORKERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fn(base + i * stride) for every i in [0, count), each exactly once, on
 * the pool and the calling thread; returns when all have returned. count 0
 * does nothing; count 1 runs on the calling thread. Tasks of one call may
 * run in any order and at the same time. */
void veil_workers_run(void (*fn)(void *task), void *base, size_t stride, size_t count);

/* Threads the pool has started (0 before first use or on one CPU). */
unsigned veil_workers_started(void);

#ifdef __cplusplus
}
#endif
#endif
