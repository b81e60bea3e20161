// Prints argv[1] lines (default 200000) with stdout unbuffered, so each
// printf is one fd_write: a measure of the cost of a host call that writes.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    setvbuf(stdout, 0, _IONBF, 0);
    for (long i = 0; i < n; i++)
        printf("line %ld\n", i);
    return 0;
}
