// overwrite SRC DST: writes SRC's bytes over the start of DST in place (no
// truncation, no rename: the same file changes under anyone who has it
// open or mapped). overwrite --truncate DST: cuts DST to zero bytes.
// Either way it then keeps running and prints a line computed by code and
// data that were in the module from the start, to show they did not change.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char message[] = "still running the original code";

// Enough work to run through code pages after the write.
static unsigned long work(unsigned n) {
    unsigned long h = 5381;
    for (unsigned i = 0; i < n; i++)
        h = h * 33 + (i ^ (h >> 7));
    return h;
}

static int overwrite(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb");
    if (!in) {
        perror(src);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, in)) > 0) {
        len += n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(in);
    int fd = open(dst, O_WRONLY);
    if (fd < 0) {
        perror(dst);
        return 1;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(fd, buf + done, len - done, (off_t)done);
        if (w <= 0) {
            perror("pwrite");
            return 1;
        }
        done += (size_t)w;
    }
    close(fd);
    printf("overwrote %s with %zu bytes\n", dst, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    int rc;
    if (argc == 3 && strcmp(argv[1], "--truncate") == 0) {
        rc = truncate(argv[2], 0);
        if (rc != 0)
            perror(argv[2]);
        else
            printf("truncated %s\n", argv[2]);
    } else if (argc == 3) {
        rc = overwrite(argv[1], argv[2]);
    } else {
        fprintf(stderr, "usage: overwrite SRC DST | overwrite --truncate DST\n");
        return 2;
    }
    if (rc != 0)
        return 1;
    printf("%s: %lu\n", message, work(1000000));
    return 0;
}
