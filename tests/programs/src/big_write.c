// Writes argv[1] MiB to stdout in 64 KiB chunks. Byte k of the output is
// k % 251, so a reader can check it arrived intact. On a write error
// (EPIPE when the reader went away) reports strerror(errno) to stderr and
// exits 3.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536

static unsigned char buf[CHUNK];

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: big_write MIB\n", stderr);
        return 2;
    }
    long long total = atoll(argv[1]) * 1024 * 1024;
    long long written = 0;
    while (written < total) {
        size_t len = total - written < CHUNK ? (size_t)(total - written) : CHUNK;
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)((written + (long long)i) % 251);
        for (size_t off = 0; off < len;) {
            ssize_t w = write(1, buf + off, len - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "write failed after %lld bytes: %s\n", written, strerror(errno));
                return 3;
            }
            if (w == 0) {
                fprintf(stderr, "write returned 0 after %lld bytes\n", written);
                return 3;
            }
            off += (size_t)w;
            written += w;
        }
    }
    fprintf(stderr, "wrote %lld bytes\n", written);
    return 0;
}
