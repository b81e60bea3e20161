// Prints each environment entry on its own line; nothing when there are none.
#include <stdio.h>

extern char **environ;

int main(void) {
    for (char **e = environ; e && *e; e++)
        puts(*e);
    return 0;
}
