/* The process-wide worker pool (veil/workers.h): every task runs exactly
 * once, tasks really run in parallel, concurrent callers share the pool's
 * fixed threads (no oversubscription), nesting does not deadlock, workers
 * block signals, and a forked child gets a working pool of its own. Waits
 * are bounded: a task that waits for a partner gives up after 10 s, and the
 * test then fails instead of hanging. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "veil/batch.h"
#include "veil/workers.h"

static double now_sec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int have_workers(const char *what)
{
    if (veil_cpu_count() > 1)
        return 1;
    printf("\n  skipped (%s): one CPU, the pool has no workers\n", what);
    return 0;
}

typedef struct {
    atomic_int runs;
} count_task;

static void count_fn(void *arg)
{
    atomic_fetch_add(&((count_task *)arg)->runs, 1);
}

static void test_every_task_once(void)
{
    const size_t counts[] = {0, 1, 2, 3, 7, 64, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c];
        count_task *t = calloc(n + 1, sizeof *t);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        veil_workers_run(count_fn, t, sizeof *t, n);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += atomic_load(&t[i].runs) != 1;
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_EQUAL(atomic_load(&t[n].runs), 0); /* past the end: untouched */
        free(t);
    }
}

/* Two tasks that each wait (up to 10 s) until both are running: they can
 * only meet if two threads run them at once. */
typedef struct {
    atomic_int *arrived;
    int met;
} meet_task;

static void meet_fn(void *arg)
{
    meet_task *t = arg;
    atomic_fetch_add(t->arrived, 1);
    double end = now_sec() + 10;
    while (atomic_load(t->arrived) < 2 && now_sec() < end)
        ;
    t->met = atomic_load(t->arrived) >= 2;
}

static int tasks_meet(void)
{
    atomic_int arrived = 0;
    meet_task t[2] = {{&arrived, 0}, {&arrived, 0}};
    veil_workers_run(meet_fn, t, sizeof t[0], 2);
    return t[0].met && t[1].met;
}

static void test_tasks_run_in_parallel(void)
{
    if (!have_workers("parallel"))
        return;
    CU_ASSERT(tasks_meet());
    CU_ASSERT_EQUAL(veil_workers_started(), veil_cpu_count() - 1);
}

/* Four threads call at once; every task records how many tasks run at
 * that moment. At most the four callers plus the pool's threads may. */
static atomic_int g_running, g_peak;

static void busy_fn(void *arg)
{
    int now = atomic_fetch_add(&g_running, 1) + 1;
    int peak = atomic_load(&g_peak);
    while (now > peak && !atomic_compare_exchange_weak(&g_peak, &peak, now))
        ;
    struct timespec d = {0, 200000}; /* 0.2 ms */
    nanosleep(&d, NULL);
    atomic_fetch_add(&((count_task *)arg)->runs, 1);
    atomic_fetch_sub(&g_running, 1);
}

enum { CALLERS = 4, CALLER_TASKS = 100 };

static void *caller_main(void *arg)
{
    veil_workers_run(busy_fn, arg, sizeof(count_task), CALLER_TASKS);
    return NULL;
}

static void test_callers_share_the_pool(void)
{
    count_task *t = calloc(CALLERS * CALLER_TASKS, sizeof *t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    pthread_t th[CALLERS];
    for (int c = 0; c < CALLERS; c++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[c], NULL, caller_main, t + c * CALLER_TASKS), 0);
    for (int c = 0; c < CALLERS; c++)
        pthread_join(th[c], NULL);
    size_t bad = 0;
    for (size_t i = 0; i < CALLERS * CALLER_TASKS; i++)
        bad += atomic_load(&t[i].runs) != 1;
    CU_ASSERT_EQUAL(bad, 0);
    int limit = CALLERS + (int)veil_workers_started();
    if (atomic_load(&g_peak) > limit)
        printf("\n  %d tasks ran at once, more than %d\n", atomic_load(&g_peak), limit);
    CU_ASSERT(atomic_load(&g_peak) <= limit);
    CU_ASSERT(atomic_load(&g_peak) >= 1);
    CU_ASSERT(veil_workers_started() <= veil_cpu_count() - 1);
    free(t);
}

/* Each outer task runs an inner call of its own. */
typedef struct {
    count_task inner[9];
} nest_task;

static void nest_fn(void *arg)
{
    nest_task *t = arg;
    veil_workers_run(count_fn, t->inner, sizeof t->inner[0], 9);
}

static void test_nested_calls(void)
{
    nest_task t[12] = {0};
    veil_workers_run(nest_fn, t, sizeof t[0], 12);
    size_t bad = 0;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 9; j++)
            bad += atomic_load(&t[i].inner[j].runs) != 1;
    CU_ASSERT_EQUAL(bad, 0);
}

/* Whether SIGINT is blocked on the thread running the task, and whether
 * that thread is the caller's. */
typedef struct {
    pthread_t caller;
    atomic_int *arrived;
    int on_caller, blocked, met;
} sig_task;

static void sig_fn(void *arg)
{
    sig_task *t = arg;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    t->blocked = sigismember(&cur, SIGINT) == 1;
    t->on_caller = pthread_equal(pthread_self(), t->caller) != 0;
    atomic_fetch_add(t->arrived, 1);
    double end = now_sec() + 10; /* hold the thread so the other task runs elsewhere */
    while (atomic_load(t->arrived) < 2 && now_sec() < end)
        ;
    t->met = atomic_load(t->arrived) >= 2;
}

static void test_workers_block_signals(void)
{
    if (!have_workers("signals"))
        return;
    atomic_int arrived = 0;
    sig_task t[2] = {{pthread_self(), &arrived, 0, 0, 0}, {pthread_self(), &arrived, 0, 0, 0}};
    veil_workers_run(sig_fn, t, sizeof t[0], 2);
    CU_ASSERT(t[0].met && t[1].met);
    CU_ASSERT_EQUAL(t[0].on_caller + t[1].on_caller, 1);
    for (int i = 0; i < 2; i++)
        if (!t[i].on_caller)
            CU_ASSERT(t[i].blocked);
}

/* After fork() the child has no workers of the parent's; its first call
 * starts its own and tasks still meet in parallel. */
static void test_pool_after_fork(void)
{
    if (!have_workers("fork"))
        return;
    CU_ASSERT(tasks_meet()); /* the parent's pool is running */
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        count_task t[50] = {0};
        veil_workers_run(count_fn, t, sizeof t[0], 50);
        int ok = tasks_meet() && veil_workers_started() == veil_cpu_count() - 1;
        for (int i = 0; i < 50; i++)
            ok = ok && atomic_load(&t[i].runs) == 1;
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    static const tu_test tests[] = {
        {"every task runs exactly once (counts 0..1000)", test_every_task_once},
        {"two tasks run at the same time on a pool of cpu_count - 1 threads",
         test_tasks_run_in_parallel},
        {"four concurrent callers: all tasks once, at most callers + pool threads at a time",
         test_callers_share_the_pool},
        {"nested calls complete", test_nested_calls},
        {"workers block signals", test_workers_block_signals},
        {"a forked child gets a working pool of its own", test_pool_after_fork},
        {NULL, NULL},
    };
    return tu_main("workers", NULL, NULL, tests);
}
