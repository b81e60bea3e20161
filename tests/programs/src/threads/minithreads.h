/* A small thread library for the wasi-threads test guests: spawn, join,
 * mutex, condition variable, thread-local storage, and output, over
 * `wasi::thread-spawn` and the wasm atomics in a wasm build (no libc:
 * Debian's wasi-libc is not built for threads), and over pthreads in a
 * native build of the same program, whose output must be the same. */
#ifndef MINITHREADS_H
#define MINITHREADS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*mt_fn)(void *);

#ifdef __wasm__

typedef struct mt_thread {
    volatile int32_t done;
    mt_fn fn;
    void *arg;
} mt_thread;

/* wasi-threads: the new thread's id (> 0), or a negative errno. */
int32_t mt_thread_spawn(int32_t start_arg)
    __attribute__((import_module("wasi"), import_name("thread-spawn")));
int32_t mt_fd_write(int32_t fd, const void *iovs, int32_t n, int32_t *written)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")));
int32_t mt_args_sizes_get(int32_t *argc, int32_t *size)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("args_sizes_get")));
int32_t mt_args_get(char **argv, char *buf)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("args_get")));
_Noreturn void mt_proc_exit(int32_t code)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit")));

#define MT_MAX 64
#define MT_STACK (64 * 1024)
#define MT_TLS 256

/* What `wasi_thread_start` (wasi_thread_start.s) is given: the new
 * thread's stack top and TLS block, then the thread to run. */
struct mt_start {
    uint32_t stack_top;
    uint32_t tls;
    mt_thread *thread;
};

static char mt_stacks[MT_MAX][MT_STACK] __attribute__((aligned(16)));
static char mt_tls[MT_MAX + 1][MT_TLS] __attribute__((aligned(16)));
static struct mt_start mt_starts[MT_MAX];
static int32_t mt_next_slot;

void __wasm_init_tls(void *block);

/* Called by wasi_thread_start once the stack and TLS are set up. */
void mt_thread_entry(int32_t tid, struct mt_start *start) {
    (void)tid;
    mt_thread *t = start->thread;
    t->fn(t->arg);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify((int32_t *)&t->done, 0x7fffffff);
}

static inline int mt_spawn(mt_thread *t, mt_fn fn, void *arg) {
    int32_t slot = __atomic_fetch_add(&mt_next_slot, 1, __ATOMIC_SEQ_CST);
    if (slot >= MT_MAX || __builtin_wasm_tls_size() > MT_TLS) return -1;
    t->done = 0;
    t->fn = fn;
    t->arg = arg;
    struct mt_start *s = &mt_starts[slot];
    s->stack_top = (uint32_t)(uintptr_t)&mt_stacks[slot][MT_STACK];
    s->tls = (uint32_t)(uintptr_t)mt_tls[slot + 1];
    s->thread = t;
    return mt_thread_spawn((int32_t)(uintptr_t)s) > 0 ? 0 : -1;
}

static inline void mt_join(mt_thread *t) {
    while (__atomic_load_n(&t->done, __ATOMIC_SEQ_CST) == 0)
        __builtin_wasm_memory_atomic_wait32((int32_t *)&t->done, 0, -1);
}

/* A futex mutex (Drepper's three states: 0 free, 1 locked, 2 contended). */
typedef struct { int32_t state; } mt_mutex;
#define MT_MUTEX_INIT {0}

static inline void mt_lock(mt_mutex *m) {
    int32_t c = 0;
    if (__atomic_compare_exchange_n(&m->state, &c, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;
    if (c != 2) c = __atomic_exchange_n(&m->state, 2, __ATOMIC_SEQ_CST);
    while (c != 0) {
        __builtin_wasm_memory_atomic_wait32(&m->state, 2, -1);
        c = __atomic_exchange_n(&m->state, 2, __ATOMIC_SEQ_CST);
    }
}

static inline void mt_unlock(mt_mutex *m) {
    if (__atomic_fetch_sub(&m->state, 1, __ATOMIC_SEQ_CST) != 1) {
        __atomic_store_n(&m->state, 0, __ATOMIC_SEQ_CST);
        __builtin_wasm_memory_atomic_notify(&m->state, 1);
    }
}

typedef struct { int32_t seq; } mt_cond;
#define MT_COND_INIT {0}

static inline void mt_cond_wait(mt_cond *c, mt_mutex *m) {
    int32_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    mt_unlock(m);
    __builtin_wasm_memory_atomic_wait32(&c->seq, seq, -1);
    mt_lock(m);
}

static inline void mt_cond_broadcast(mt_cond *c) {
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&c->seq, 0x7fffffff);
}

/* A wait for `*p` to change from `old`, and a wake of its waiters. */
static inline void mt_wait(int32_t *p, int32_t old) {
    __builtin_wasm_memory_atomic_wait32(p, old, -1);
}
static inline void mt_wake(int32_t *p) {
    __builtin_wasm_memory_atomic_notify(p, 0x7fffffff);
}

static inline void mt_write(const char *s, size_t n) {
    struct { const char *p; size_t n; } iov = {s, n};
    int32_t written;
    mt_fd_write(1, &iov, 1, &written);
}

int mt_main(int argc, char **argv);

/* The program's entry: TLS for the main thread, argv, `mt_main`. */
void _start(void) {
    __wasm_init_tls(mt_tls[0]);
    static char *argv[16];
    static char buf[1024];
    int32_t argc = 0, size = 0;
    if (mt_args_sizes_get(&argc, &size) != 0 || argc > 16 || size > 1024) mt_proc_exit(2);
    mt_args_get(argv, buf);
    mt_proc_exit(mt_main(argc, argv));
}

#else /* native */

#include <pthread.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

typedef struct mt_thread {
    pthread_t handle;
    mt_fn fn;
    void *arg;
} mt_thread;

static void *mt_trampoline(void *p) {
    mt_thread *t = p;
    t->fn(t->arg);
    return 0;
}

static inline int mt_spawn(mt_thread *t, mt_fn fn, void *arg) {
    t->fn = fn;
    t->arg = arg;
    return pthread_create(&t->handle, 0, mt_trampoline, t) == 0 ? 0 : -1;
}

static inline void mt_join(mt_thread *t) { pthread_join(t->handle, 0); }

typedef pthread_mutex_t mt_mutex;
#define MT_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
static inline void mt_lock(mt_mutex *m) { pthread_mutex_lock(m); }
static inline void mt_unlock(mt_mutex *m) { pthread_mutex_unlock(m); }

typedef pthread_cond_t mt_cond;
#define MT_COND_INIT PTHREAD_COND_INITIALIZER
static inline void mt_cond_wait(mt_cond *c, mt_mutex *m) { pthread_cond_wait(c, m); }
static inline void mt_cond_broadcast(mt_cond *c) { pthread_cond_broadcast(c); }

static inline void mt_wait(int32_t *p, int32_t old) {
    syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, old, 0, 0, 0);
}
static inline void mt_wake(int32_t *p) {
    syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
}

static inline void mt_write(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

int mt_main(int argc, char **argv);
int main(int argc, char **argv) { return mt_main(argc, argv); }

#endif

/* Output without libc: a string, a number, a line. */
static inline size_t mt_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
static inline void mt_puts(const char *s) { mt_write(s, mt_strlen(s)); }
static inline void mt_putu(uint64_t v) {
    char buf[24];
    int i = 24;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    mt_write(buf + i, (size_t)(24 - i));
}
static inline void mt_line(const char *label, uint64_t v) {
    mt_puts(label);
    mt_putu(v);
    mt_puts("\n");
}
static inline uint64_t mt_atou(const char *s) {
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}

#endif
