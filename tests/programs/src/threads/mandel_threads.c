/* A parallel compute kernel for the threads scaling benchmark: the
 * Mandelbrot set on a 1200x1200 grid, rows dealt out to N threads (argv[1],
 * default 1), a checksum of the iteration counts printed at the end. */
#include "minithreads.h"

#define SIZE 1200
#define MAX_ITER 500

static int32_t next_row;
static uint64_t total;

static void rows(void *arg) {
    (void)arg;
    uint64_t sum = 0;
    for (;;) {
        int32_t y = __atomic_fetch_add(&next_row, 1, __ATOMIC_SEQ_CST);
        if (y >= SIZE) break;
        double ci = -1.5 + 3.0 * y / SIZE;
        for (int x = 0; x < SIZE; x++) {
            double cr = -2.0 + 3.0 * x / SIZE, zr = 0, zi = 0;
            int i = 0;
            while (i < MAX_ITER && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                i++;
            }
            sum += (uint64_t)i * (uint64_t)(x + 1);
        }
    }
    __atomic_fetch_add(&total, sum, __ATOMIC_SEQ_CST);
}

int mt_main(int argc, char **argv) {
    uint64_t n = argc > 1 ? mt_atou(argv[1]) : 1;
    if (n < 1 || n > 16) n = 1;
    mt_thread threads[16];
    for (uint64_t i = 1; i < n; i++) mt_spawn(&threads[i], rows, 0);
    rows(0);
    for (uint64_t i = 1; i < n; i++) mt_join(&threads[i]);
    mt_line("checksum: ", total);
    return 0;
}
