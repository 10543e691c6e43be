/* The process-wide worker pool (veil/workers.h).
 *
 * One mutex guards a FIFO of groups (one group per veil_workers_run call
 * with tasks left to claim). A worker takes the next unclaimed task of the
 * head group, runs it without the lock, and counts it done; the caller of a
 * group claims tasks of its own group the same way, then sleeps until the
 * group's done count reaches its size. Groups live on their callers' stacks
 * and leave the queue as soon as their last task is claimed, so no worker
 * touches a group after its caller has returned. */
#include "veil/workers.h"

#include <pthread.h>
#include <signal.h>

#include "veil/batch.h"

typedef struct group {
    void (*fn)(void *);
    char *base;
    size_t stride, count;
    size_t next; /* next task to claim */
    size_t done; /* tasks finished */
    struct group *qnext;
} group;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work = PTHREAD_COND_INITIALIZER; /* a group was queued */
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER; /* a group finished */
static group *g_head, *g_tail;
static unsigned g_started;
static int g_tried; /* the pool was started (or could not be) */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* In a forked child only the forking thread exists: forget the parent's
 * workers and queue (their groups belong to the parent). */
static void atfork_child(void)
{
    pthread_mutex_init(&g_mu, NULL);
    pthread_cond_init(&g_work, NULL);
    pthread_cond_init(&g_done, NULL);
    g_head = g_tail = NULL;
    g_started = 0;
    g_tried = 0;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, atfork_child);
}

/* Under g_mu: removes g from the queue (it is in it). */
static void dequeue(group *g)
{
    group **pp = &g_head, *prev = NULL;
    while (*pp != g) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    *pp = g->qnext;
    if (g_tail == g)
        g_tail = prev;
    g->qnext = NULL;
}

/* Under g_mu: claims the next task of g (which must have one left); the
 * group leaves the queue with its last task. Returns the task's index. */
static size_t claim(group *g)
{
    size_t i = g->next++;
    if (g->next == g->count)
        dequeue(g);
    return i;
}

/* Runs task i of g without the lock, then counts it done (lock held again
 * on return). */
static void run_task(group *g, size_t i)
{
    pthread_mutex_unlock(&g_mu);
    g->fn(g->base + i * g->stride);
    pthread_mutex_lock(&g_mu);
    if (++g->done == g->count)
        pthread_cond_broadcast(&g_done);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        while (g_head == NULL)
            pthread_cond_wait(&g_work, &g_mu);
        group *g = g_head;
        run_task(g, claim(g));
    }
    return NULL; /* not reached: workers live as long as the process */
}

/* Under g_mu: starts the workers once per process (per fork child). */
static void start_pool(void)
{
    if (g_tried)
        return;
    g_tried = 1;
    unsigned want = veil_cpu_count();
    if (want > VEIL_BATCH_MAX_THREADS)
        want = VEIL_BATCH_MAX_THREADS;
    want = want > 0 ? want - 1 : 0;
    if (want == 0)
        return;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Workers inherit this mask: block every signal there. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned k = 0; k < want; k++) {
        pthread_t tid;
        if (pthread_create(&tid, &attr, worker_main, NULL) != 0)
            break;
        g_started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

void veil_workers_run(void (*fn)(void *task), void *base, size_t stride, size_t count)
{
    if (count == 0)
        return;
    if (count == 1) {
        fn(base);
        return;
    }
    pthread_once(&g_once, register_atfork);
    group g = {fn, base, stride, count, 0, 0, NULL};
    pthread_mutex_lock(&g_mu);
    start_pool();
    /* Without workers the group is not queued: every task runs here. */
    const int queued = g_started > 0;
    if (queued) {
        if (g_tail != NULL)
            g_tail->qnext = &g;
        else
            g_head = &g;
        g_tail = &g;
        pthread_cond_broadcast(&g_work);
    }
    while (g.next < g.count)
        run_task(&g, queued ? claim(&g) : g.next++);
    while (g.done < g.count)
        pthread_cond_wait(&g_done, &g_mu);
    pthread_mutex_unlock(&g_mu);
}

unsigned veil_workers_started(void)
{
    pthread_mutex_lock(&g_mu);
    unsigned n = g_started;
    pthread_mutex_unlock(&g_mu);
    return n;
}
