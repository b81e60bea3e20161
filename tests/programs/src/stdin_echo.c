// Copies stdin to stdout until EOF with read/write, counting the bytes;
// prints the count to stderr.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[65536];

int main(void) {
    long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "read: %s\n", strerror(errno));
            return 3;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) {
                fprintf(stderr, "write: %s\n", strerror(errno));
                return 3;
            }
            off += w;
        }
        total += n;
    }
    fprintf(stderr, "%lld\n", total);
    return 0;
}
