// A WASI reactor (built with -mexec-model=reactor): it exports
// `_initialize`, which runs the constructors, and no `_start`. The
// constructor adds 1 to `state`; `reactor_state` returns it, so a module
// that imports it (preload_main) sees 1 when `_initialize` ran exactly once.
// volatile: otherwise clang folds the constructor into `return 1`, and
// the state would not show whether `_initialize` ran.
static volatile int state;

__attribute__((constructor)) static void init(void) { state += 1; }

__attribute__((export_name("reactor_state"))) int reactor_state(void) { return state; }
