// Exits with the status given in argv[1] (through exit(), i.e. proc_exit).
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: exit CODE\n", stderr);
        return 2;
    }
    int code = atoi(argv[1]);
    printf("exiting with %d\n", code);
    fflush(stdout);
    exit(code);
}
