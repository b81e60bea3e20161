/* A syntax error: tcc must report it (its error path unwinds with wasm exceptions). */
int main(void) {
    int x = 1
    return x;
}
