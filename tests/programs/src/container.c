// The guest of the container image tests (tests/containerd/run.sh and
// tests/image.rs): what a container sees, and what it may not do.
//
//   container show         argv, GREETING and EXTRA from the environment, and
//                          /etc/greeting.txt from the root file system
//   container exit CODE    exits with CODE
//   container escape       tries to write outside the root (through `..`, and
//                          through /up, a symlink to `../..` in the image); each
//                          attempt must be refused; exits 0 if all were, 1 if
//                          not, 2 if a write inside the root failed
//   container write PATH   creates PATH: prints `wrote PATH` (exit 0) or
//                          `PATH: refused (ERROR)` (exit 3)
//   container sleep        prints `sleeping`, then sleeps forever
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int show(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char *names[] = {"GREETING", "EXTRA"};
    for (int i = 0; i < 2; i++) {
        const char *value = getenv(names[i]);
        if (value)
            printf("%s=%s\n", names[i], value);
    }
    FILE *f = fopen("/etc/greeting.txt", "r");
    if (!f) {
        printf("/etc/greeting.txt: %s\n", strerror(errno));
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, f))
        printf("greeting.txt: %s", line);
    fclose(f);
    return 0;
}

static int escaped;

static void attempt(const char *what, int result) {
    if (result >= 0) {
        printf("%s: ESCAPED\n", what);
        escaped = 1;
    } else {
        printf("%s: refused (%s)\n", what, strerror(errno));
    }
}

static int create(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, "x\n", 2) == 2;
    close(fd);
    return ok ? 0 : -1;
}

static int escape(void) {
    // Inside the root, writing works.
    if (create("/inside.txt") != 0) {
        printf("/inside.txt: %s\n", strerror(errno));
        return 2;
    }
    unlink("/inside.txt");
    attempt("create /../escape.txt", create("/../escape.txt"));
    attempt("create /../../../escape.txt", create("/../../../escape.txt"));
    attempt("create /up/escape.txt (symlink to ../..)", create("/up/escape.txt"));
    attempt("mkdir /up/escape-dir", mkdir("/up/escape-dir", 0755));
    attempt("symlink then write /out/escape.txt", symlink("..", "/out") == 0 ? create("/out/escape.txt") : -1);
    unlink("/out");
    printf("escape: %s\n", escaped ? "ESCAPED" : "all refused");
    return escaped;
}

static int write_file(const char *path) {
    if (create(path) != 0) {
        printf("%s: refused (%s)\n", path, strerror(errno));
        return 3;
    }
    printf("wrote %s\n", path);
    return 0;
}

int main(int argc, char **argv) {
    const char *command = argc > 1 ? argv[1] : "show";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(command, "show") == 0)
        return show(argc, argv);
    if (strcmp(command, "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(command, "escape") == 0)
        return escape();
    if (strcmp(command, "write") == 0 && argc > 2)
        return write_file(argv[2]);
    if (strcmp(command, "sleep") == 0) {
        printf("sleeping\n");
        for (;;)
            sleep(1);
    }
    fprintf(stderr, "usage: container show|exit CODE|escape|write PATH|sleep\n");
    return 64;
}
