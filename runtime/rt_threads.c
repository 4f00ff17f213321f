/*
 * rt_threads.c — the worker pool behind rt_parallel_for (see rt_threads.h).
 *
 * Handing out a loop: the caller writes the loop's fn/arg into the pool, then offers chunk
 * i (i >= 1) to worker i-1 through that worker's mailbox: it writes the range, releases the
 * mailbox (taken = 0) and bumps the worker's generation counter, which is what an idle
 * worker watches. Whoever flips `taken` from 0 to 1 first (compare-and-swap) runs the
 * chunk: the worker when it wakes, or the caller once its own chunk 0 is done. So every
 * chunk runs exactly once, and a mailbox is only rewritten after its chunk has finished
 * (the caller waits for `pending` to reach 0 before starting another loop).
 *
 * Waiting: idle workers and the caller (waiting for the last chunk) first poll for
 * POOL_SPIN_NS — with the pause instruction, then with sched_yield so another runnable
 * thread (OpenBLAS's) gets the core — and then sleep on a condition variable. A sleeper
 * takes the pool mutex, sets its sleeping flag, reads what it waits for again and only
 * then waits (which releases the mutex); a waker changes that value first and then reads
 * the flag, both sequentially consistent, so at least one of the two sees the other's
 * write: the sleeper does not wait, or the waker sees the flag, takes the mutex (free only
 * once the sleeper waits) and signals. No wake-up is lost, and a hand-off to a polling
 * worker (the common case: loops follow each other within microseconds) takes no lock.
 */
#include "rt_threads.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#if defined(__GNUC__)
#define POOL_ATOMICS 1
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define LOAD_SC(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE_SC(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
static int claim(unsigned *taken) {
    unsigned zero = 0;
    return __atomic_compare_exchange_n(taken, &zero, 1u, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}
#if defined(__x86_64__) || defined(__i386__)
#define CPU_PAUSE() __builtin_ia32_pause()
#else
#define CPU_PAUSE() ((void)0)
#endif
#else /* no atomics: pools get no workers, so these never race */
#define POOL_ATOMICS 0
#define LOAD(p) (*(p))
#define STORE(p, v) (*(p) = (v))
#define ADD(p, v) (*(p) += (v))
#define LOAD_SC(p) (*(p))
#define STORE_SC(p, v) (*(p) = (v))
static int claim(unsigned *taken) { return *taken == 0 ? (*taken = 1, 1) : 0; }
#define CPU_PAUSE() ((void)0)
#endif

/* Polling before sleeping. Waking a thread blocked on a condition variable took 35-55 us
 * on average on the project's 2-core machine (measured), as long as a whole element-wise op,
 * so an idle thread keeps polling for POOL_SPIN_NS: kernels hand out loops back to back.
 * The first POOL_PAUSE_POLLS polls only pause; later ones yield, so that a runnable thread
 * sharing the core (OpenBLAS's, in a GEMM) runs instead. */
#define POOL_SPIN_NS 100000
#define POOL_PAUSE_POLLS 256

typedef struct {
    RtThreadPool *pool;    /* borrowed: the owner */
    pthread_t thread;
    pthread_cond_t wake;   /* signalled when a chunk is offered or the pool stops */
    int64_t begin, end;    /* the offered chunk; rewritten only while taken == 1 */
    unsigned taken;        /* atomic: 0 = a chunk waits here, 1 = none (claimed or idle) */
    unsigned gen;          /* atomic: bumped with every offer and at stop */
    unsigned sleeping;     /* atomic, written under pool->mu: blocked on wake */
    char pad[64];          /* keeps the next worker's hot fields off this cache line */
} RtWorker;

struct RtThreadPool {
    RtAllocator alloc;     /* copy of the allocator the pool came from */
    int n_threads;         /* caller + workers */
    int n_workers;         /* workers started */
    RtWorker *w;           /* [n_threads - 1] owned */
    pthread_mutex_t mu;    /* guards the sleeping flags and the condition waits */
    pthread_cond_t done;   /* signalled when the last offered chunk finishes */
    unsigned caller_sleeping; /* atomic, written under mu: the caller blocked on done */
    RtParallelFn fn;       /* the running loop; written before its chunks are offered */
    void *arg;
    unsigned pending;      /* atomic: offered chunks not finished yet */
    unsigned busy;         /* atomic: 1 while a loop runs */
    unsigned stop;         /* atomic: workers exit */
};

/* Polls *addr until (*addr == v) == want_eq, for up to POOL_SPIN_NS; 1 when that happened. */
static int spin_for(const unsigned *addr, unsigned v, int want_eq) {
    int64_t deadline = 0;
    for (int i = 0;; i++) {
        if ((LOAD(addr) == v) == want_eq) return 1;
        if (i >= POOL_PAUSE_POLLS && (i & 63) == 0) {
            int64_t t = rt_clock_ns();
            if (deadline == 0) deadline = t + POOL_SPIN_NS;
            else if (t > deadline) return 0;
        }
        if (i >= POOL_PAUSE_POLLS) sched_yield();
        else CPU_PAUSE();
    }
}

/* Runs an offered chunk and reports it finished (waking the caller if it sleeps). */
static void chunk_run(RtThreadPool *p, const RtWorker *w, int is_caller) {
    p->fn(p->arg, w->begin, w->end);
    if (ADD(&p->pending, (unsigned)-1) == 0 && !is_caller && LOAD_SC(&p->caller_sleeping)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker_main(void *arg) {
    RtWorker *w = arg;
    RtThreadPool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        if (!spin_for(&w->gen, seen, 0)) {
            pthread_mutex_lock(&p->mu);
            STORE_SC(&w->sleeping, 1u);
            while (LOAD_SC(&w->gen) == seen) pthread_cond_wait(&w->wake, &p->mu);
            STORE_SC(&w->sleeping, 0u);
            pthread_mutex_unlock(&p->mu);
        }
        seen = LOAD(&w->gen);
        if (LOAD(&p->stop)) break;
        if (claim(&w->taken)) chunk_run(p, w, 0);
    }
    return NULL;
}

/* Bumps w's generation and wakes it if it sleeps (no lock while it polls). */
static void worker_poke(RtThreadPool *p, RtWorker *w) {
    ADD(&w->gen, 1u);
    if (!LOAD_SC(&w->sleeping)) return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&p->mu);
}

static void pool_stop(RtThreadPool *p) {
    STORE(&p->stop, 1u);
    for (int i = 0; i < p->n_workers; i++) worker_poke(p, &p->w[i]);
    for (int i = 0; i < p->n_workers; i++) {
        pthread_join(p->w[i].thread, NULL);
        pthread_cond_destroy(&p->w[i].wake);
    }
    p->n_workers = 0;
}

void rt_pool_free(RtThreadPool *p) {
    if (!p) return;
    pool_stop(p);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    RtAllocator a = p->alloc;
    if (p->w) a.free(a.user, p->w);
    a.free(a.user, p);
}

RtThreadPool *rt_pool_new(int n_threads, const RtAllocator *a) {
    if (n_threads < 1) return NULL;
    if (!a) a = rt_allocator_default();
    if (!POOL_ATOMICS) n_threads = 1;
    RtThreadPool *p = a->alloc(a->user, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->alloc = *a;
    p->n_threads = n_threads;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        a->free(a->user, p);
        return NULL;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        a->free(a->user, p);
        return NULL;
    }
    if (n_threads > 1) {
        p->w = a->alloc(a->user, sizeof *p->w * (size_t)(n_threads - 1));
        if (!p->w) {
            rt_pool_free(p);
            return NULL;
        }
        memset(p->w, 0, sizeof *p->w * (size_t)(n_threads - 1));
    }
    for (int i = 0; i < n_threads - 1; i++) {
        RtWorker *w = &p->w[i];
        w->pool = p;
        w->taken = 1;
        if (pthread_cond_init(&w->wake, NULL) != 0) break;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_cond_destroy(&w->wake);
            break;
        }
        p->n_workers++;
    }
    if (p->n_workers != n_threads - 1) {
        rt_pool_free(p);
        return NULL;
    }
    return p;
}

int rt_pool_threads(const RtThreadPool *p) { return p ? p->n_threads : 1; }

int64_t rt_pool_chunks(const RtThreadPool *p, int64_t n, int64_t min_chunk) {
    if (n <= 0) return 0;
    int64_t k = n / (min_chunk > 1 ? min_chunk : 1), t = rt_pool_threads(p);
    if (k > t) k = t;
    return k < 1 ? 1 : k;
}

/* Waits until every offered chunk has finished. */
static void caller_wait(RtThreadPool *p) {
    if (spin_for(&p->pending, 0, 1)) return;
    pthread_mutex_lock(&p->mu);
    STORE_SC(&p->caller_sleeping, 1u);
    while (LOAD_SC(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
    STORE_SC(&p->caller_sleeping, 0u);
    pthread_mutex_unlock(&p->mu);
}

void rt_parallel_for(RtThreadPool *p, int64_t n, int64_t min_chunk, RtParallelFn fn, void *arg) {
    if (n <= 0) return;
    int64_t k = rt_pool_chunks(p, n, min_chunk);
    if (k <= 1 || !claim(&p->busy)) { /* one chunk, or the pool already runs a loop */
        fn(arg, 0, n);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    STORE(&p->pending, (unsigned)(k - 1));
    for (int64_t i = 1; i < k; i++) {
        RtWorker *w = &p->w[i - 1];
        rt_chunk_range(n, k, i, &w->begin, &w->end);
        STORE(&w->taken, 0u); /* publishes fn, arg and the range to the claimer */
        worker_poke(p, w);
    }
    int64_t b, e;
    rt_chunk_range(n, k, 0, &b, &e);
    fn(arg, b, e);
    for (int64_t i = 1; i < k; i++) /* chunks no worker has started yet */
        if (claim(&p->w[i - 1].taken)) chunk_run(p, &p->w[i - 1], 1);
    caller_wait(p);
    STORE(&p->busy, 0u);
}
