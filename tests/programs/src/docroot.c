// What a PHP-style guest run with `--dir /docroot:HOST` sees: reads
// /docroot/index.php and prints it, lists /docroot, prints the number of
// environment variables, and tries to open "/" and
// "/docroot/../../etc/passwd", printing the error of each. Exits 1 if
// index.php cannot be read or either open succeeds.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int try_open(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        printf("open %s: SUCCEEDED\n", path);
        close(fd);
        return 1;
    }
    printf("open %s: %s\n", path, strerror(errno));
    return 0;
}

int main(void) {
    int failed = 0;

    FILE *f = fopen("/docroot/index.php", "r");
    if (!f) {
        printf("open /docroot/index.php: %s\n", strerror(errno));
        return 1;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    printf("index.php (%zu bytes):\n", n);
    fwrite(buf, 1, n, stdout);
    if (n == 0 || buf[n - 1] != '\n')
        putchar('\n');

    DIR *dir = opendir("/docroot");
    if (!dir) {
        printf("opendir /docroot: %s\n", strerror(errno));
        return 1;
    }
    char *names[256];
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL && count < 256) {
        if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
            names[count++] = strdup(ent->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)count, sizeof names[0], cmp_str);
    printf("ls /docroot:");
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("\n");

    int nenv = 0;
    for (char **e = environ; e && *e; e++)
        nenv++;
    printf("env vars: %d\n", nenv);

    failed |= try_open("/");
    failed |= try_open("/docroot/../../etc/passwd");
    return failed;
}
