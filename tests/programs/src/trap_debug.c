// Traps in a known source line, two calls deep, built with DWARF (-g -O0)
// so `hoist run -D debug-info` can print trap_debug.c:LINE for each frame.
#include <stdio.h>

__attribute__((noinline)) static int divide(int a, int b) {
    return a / b; // line 6: traps when b is 0
}

__attribute__((noinline)) static int average(int total, int count) {
    return divide(total, count); // line 10
}

int main(int argc, char **argv) {
    (void)argv;
    printf("%d\n", average(10, argc - 1)); // line 15
    return 0;
}
