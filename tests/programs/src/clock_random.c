// Checks the clocks and the entropy source: the monotonic clock never goes
// back and moves on across a 1 ms sleep, the realtime clock is after
// 2020, both have a resolution, and getentropy fills buffers with bytes
// that differ between calls. Prints each observation; exits 1 on a
// failed expectation.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec ts) {
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int failed;

static void expect(int ok, const char *what) {
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failed = 1;
}

int main(void) {
    struct timespec a, b, res;
    int ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0;
    long long prev = ns(a);
    for (int i = 0; i < 1000 && ok; i++) {
        ok = clock_gettime(CLOCK_MONOTONIC, &b) == 0 && ns(b) >= prev;
        prev = ns(b);
    }
    expect(ok, "monotonic never decreases");

    struct timespec nap = {0, 1000000};
    ok = nanosleep(&nap, NULL) == 0 && clock_gettime(CLOCK_MONOTONIC, &b) == 0;
    expect(ok && ns(b) - ns(a) >= 1000000, "monotonic advances across a 1 ms sleep");

    ok = clock_gettime(CLOCK_REALTIME, &a) == 0;
    expect(ok && a.tv_sec > 1577836800, "realtime is after 2020");

    ok = clock_getres(CLOCK_MONOTONIC, &res) == 0;
    expect(ok && ns(res) > 0 && ns(res) <= 1000000000LL, "monotonic resolution is sane");

    unsigned char x[256], y[256], zero[256] = {0};
    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    ok = getentropy(x, sizeof x) == 0 && getentropy(y, sizeof y) == 0;
    expect(ok, "getentropy succeeds");
    expect(memcmp(x, zero, sizeof x) != 0, "getentropy fills the buffer");
    expect(memcmp(x, y, sizeof x) != 0, "two getentropy calls differ");
    // Every byte of the second half was written, not only the start.
    expect(memcmp(x + 128, zero, 128) != 0, "getentropy fills the whole buffer");

    return failed;
}
