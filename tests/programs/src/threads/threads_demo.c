/* wasi-threads under test: 8 threads share a mutex-guarded counter, each
 * sums into its own thread-local variable, signals a condition variable,
 * then races on an atomic counter; two more play ping-pong `rounds` times
 * (argv[1], default 100,000) with wait/notify. The output is the same for
 * the native build. */
#include "minithreads.h"

#define THREADS 8

static mt_mutex lock = MT_MUTEX_INIT;
static mt_cond all_ready = MT_COND_INIT;
static uint64_t counter;
static uint64_t tls_total;
static int ready;
static uint64_t atomic_counter;
static _Thread_local uint64_t mine;

static void worker(void *arg) {
    uint64_t id = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 10000; i++) {
        mine += id;
        mt_lock(&lock);
        counter++;
        mt_unlock(&lock);
    }
    mt_lock(&lock);
    tls_total += mine;
    ready++;
    mt_cond_broadcast(&all_ready);
    mt_unlock(&lock);
    for (int i = 0; i < 100000; i++) __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
}

/* Ping-pong: the ball is 0 (ping's turn) or 1 (pong's). */
static uint64_t rounds = 100000;
static int32_t ball;
static uint64_t hits[2];

static void player(void *arg) {
    int32_t me = (int32_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < rounds; i++) {
        int32_t b;
        while ((b = __atomic_load_n(&ball, __ATOMIC_SEQ_CST)) != me) mt_wait(&ball, b);
        hits[me]++;
        __atomic_store_n(&ball, 1 - me, __ATOMIC_SEQ_CST);
        mt_wake(&ball);
    }
}

int mt_main(int argc, char **argv) {
    if (argc > 1) rounds = mt_atou(argv[1]);
    mt_thread threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        if (mt_spawn(&threads[i], worker, (void *)(uintptr_t)(i + 1)) != 0) {
            mt_puts("spawn failed\n");
            return 1;
        }
    }
    mt_lock(&lock);
    while (ready < THREADS) mt_cond_wait(&all_ready, &lock);
    mt_unlock(&lock);
    for (int i = 0; i < THREADS; i++) mt_join(&threads[i]);
    mt_line("mutex counter: ", counter);
    mt_line("thread-local sums: ", tls_total);
    mt_line("atomic counter: ", atomic_counter);
    mt_line("main thread-local: ", mine);

    mt_thread players[2];
    mt_spawn(&players[0], player, (void *)0);
    mt_spawn(&players[1], player, (void *)1);
    mt_join(&players[0]);
    mt_join(&players[1]);
    mt_line("ping: ", hits[0]);
    mt_line("pong: ", hits[1]);
    return 0;
}
