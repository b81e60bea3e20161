// Tries to reach outside its preopen in every way we know of; each attempt
// must be refused.
//
//   escape PREOPEN [SENTINEL [PATH]...]
//
// PREOPEN is the guest path of a writable preopen. SENTINEL names a file in
// the host directory that holds the preopen (so PREOPEN/../SENTINEL on the
// host); default "sentinel.txt". Each PATH is one more path to try to open
// for reading (say, host symlinks planted inside the preopen).
//
// Prints "<attempt>: refused (<strerror>)" or "<attempt>: ESCAPED" for each
// and exits 0 only if all were refused; ENOSYS does not count as refused. A
// control operation inside the preopen must succeed first (exit 2
// otherwise), so a runtime that refuses everything cannot pass. Removes
// what it created inside the preopen before exiting.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;
static int escaped;

static const char *at(const char *rel) {
    static char bufs[4][1024];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", root, rel);
    return p;
}

// Records one attempt: `result` is what the call returned, 0 or more
// meaning it worked.
static void report(const char *what, int result) {
    if (result >= 0) {
        printf("%s: ESCAPED\n", what);
        escaped = 1;
    } else if (errno == ENOSYS) {
        printf("%s: not implemented (%s)\n", what, strerror(errno));
        escaped = 1;
    } else {
        printf("%s: refused (%s)\n", what, strerror(errno));
    }
}

static int open_and_close(const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd >= 0)
        close(fd);
    return fd;
}

// Creates a symlink inside the preopen (allowed or not, it is only a
// name) and then tries to open `through` it.
static void via_symlink(const char *label, const char *target, const char *link, const char *through,
                        int flags) {
    char what[512];
    int r = symlink(target, at(link));
    printf("  symlink %s -> %s: %s\n", link, target, r == 0 ? "created" : strerror(errno));
    snprintf(what, sizeof what, "%s (open %s)", label, through);
    report(what, open_and_close(at(through), flags));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: escape PREOPEN [SENTINEL [PATH]...]\n", stderr);
        return 2;
    }
    root = argv[1];
    const char *sentinel = argc > 2 ? argv[2] : "sentinel.txt";
    char rel[512], what[600];

    // Control: ordinary work inside the preopen succeeds.
    int fd = open(at("victim"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "victim\n", 7) != 7) {
        printf("control: cannot create %s: %s\n", at("victim"), strerror(errno));
        return 2;
    }
    close(fd);
    puts("control: created victim inside the preopen");

    report("open /etc/passwd", open_and_close("/etc/passwd", O_RDONLY));
    snprintf(what, sizeof what, "open %s", at("../../etc/passwd"));
    report(what, open_and_close(at("../../etc/passwd"), O_RDONLY));
    snprintf(rel, sizeof rel, "../%s", sentinel);
    snprintf(what, sizeof what, "open %s", at(rel));
    report(what, open_and_close(at(rel), O_RDONLY));
    snprintf(what, sizeof what, "open %s for writing", at(rel));
    report(what, open_and_close(at(rel), O_WRONLY | O_TRUNC));
    report("open .. of the preopen", open_and_close(at(".."), O_RDONLY | O_DIRECTORY));
    DIR *d = opendir(at(".."));
    report("opendir .. of the preopen", d ? 0 : -1);
    if (d)
        closedir(d);

    via_symlink("absolute symlink to /etc", "/etc", "escape_abs", "escape_abs/passwd", O_RDONLY);
    via_symlink("symlink to ../..", "../..", "escape_up", "escape_up/etc/passwd", O_RDONLY);
    char through[600];
    snprintf(through, sizeof through, "escape_parent/%s", sentinel);
    via_symlink("symlink to ..", "..", "escape_parent", through, O_RDONLY);
    via_symlink("symlink to the sentinel", rel, "escape_file", "escape_file", O_RDONLY);
    via_symlink("symlink to the sentinel, for writing", rel, "escape_file_w", "escape_file_w",
                O_WRONLY | O_APPEND);

    report("rename victim to ../outside", rename(at("victim"), at("../outside")));
    report("link victim to ../outside_link", link(at("victim"), at("../outside_link")));
    snprintf(what, sizeof what, "rename ../%s into the preopen", sentinel);
    report(what, rename(at(rel), at("stolen")));
    snprintf(what, sizeof what, "unlink ../%s", sentinel);
    report(what, unlink(at(rel)));
    report("mkdir ../outside_dir", mkdir(at("../outside_dir"), 0755));
    report("create ../created", open_and_close(at("../created"), O_CREAT | O_WRONLY | O_EXCL));
    report("symlink ../outside_symlink", symlink("victim", at("../outside_symlink")));

    for (int i = 3; i < argc; i++) {
        snprintf(what, sizeof what, "open %s", argv[i]);
        report(what, open_and_close(argv[i], O_RDONLY));
    }

    // Clean up what we made inside the preopen.
    const char *mine[] = {"victim", "escape_abs", "escape_up", "escape_parent",
                          "escape_file", "escape_file_w", "stolen"};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        struct stat st;
        if (lstat(at(mine[i]), &st) == 0 && unlink(at(mine[i])) != 0)
            printf("cleanup: cannot remove %s: %s\n", mine[i], strerror(errno));
    }

    puts(escaped ? "escape: SOME ESCAPES SUCCEEDED" : "escape: all refused");
    return escaped;
}
