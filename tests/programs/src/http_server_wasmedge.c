/* http_server.c built for the WasmEdge socket calls: the server opens,
 * binds and listens itself (`--listen ADDR:PORT`), which needs
 * `hoist run --allow-net`. */
#define HOIST_WASMEDGE 1
#include "http_server.c"
