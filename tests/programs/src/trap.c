// Traps (wasm `unreachable`) inside a function with a recognizable name,
// called through another, for the trap backtrace test.
#include <stdio.h>

__attribute__((noinline)) void hoist_test_trap_here(int x) {
    if (x != 12345)
        __builtin_trap();
}

__attribute__((noinline)) void hoist_test_trap_caller(int x) {
    hoist_test_trap_here(x);
    puts("not reached");
}

int main(int argc, char **argv) {
    (void)argv;
    puts("about to trap");
    fflush(stdout);
    hoist_test_trap_caller(argc);
    return 0;
}
