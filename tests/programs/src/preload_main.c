// Prints what the preloaded module `reactor` (preload_reactor or
// wat_reactor) says its state is: 1 once its `_initialize` ran.
#include <stdio.h>

__attribute__((import_module("reactor"), import_name("reactor_state"))) int reactor_state(void);

int main(void) {
    printf("reactor state: %d\n", reactor_state());
    return 0;
}
