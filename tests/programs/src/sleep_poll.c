// Sleeps 50 ms with nanosleep, then polls stdin for reading with a 10 ms
// timeout. Prints how long each took and what poll returned. Exits 1 if
// the sleep was short, poll failed, or poll timed out early.
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    int failed = 0;
    long long start = now_ns();
    struct timespec nap = {0, 50 * 1000000};
    if (nanosleep(&nap, NULL) != 0) {
        printf("nanosleep: %s\n", strerror(errno));
        return 1;
    }
    long long slept = now_ns() - start;
    /* Deterministic output: the same every run (artifact tests compare it). */
    if (slept < 50 * 1000000LL) {
        printf("FAIL: slept less than 50 ms (%lld ns)\n", slept);
        failed = 1;
    } else {
        printf("slept at least 50 ms\n");
    }

    struct pollfd p = {.fd = 0, .events = POLLIN, .revents = 0};
    start = now_ns();
    int r = poll(&p, 1, 10);
    long long waited = now_ns() - start;
    if (r < 0) {
        printf("poll: %s\n", strerror(errno));
        return 1;
    }
    printf("poll returned %d%s%s%s after %s\n", r, p.revents & POLLIN ? " POLLIN" : "",
           p.revents & POLLHUP ? " POLLHUP" : "", p.revents & (POLLERR | POLLNVAL) ? " POLLERR" : "",
           waited >= 10 * 1000000LL ? ">= 10 ms" : "< 10 ms");
    if (r == 0 && waited < 10 * 1000000LL) {
        printf("FAIL: poll timed out after %lld ns\n", waited);
        failed = 1;
    }
    return failed;
}
