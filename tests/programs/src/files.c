// Exercises files and directories inside the preopen named by argv[1]:
// mkdir, create + write, read back, append, seek, pread/pwrite, stat,
// ftruncate, readdir (with enough entries to need several fd_readdir
// calls), rename, unlink, rmdir. Prints each step; exits 1 at the first
// unexpected result. Leaves exactly one file behind, "kept.txt"
// containing "kept\n", so the caller can check where writes landed.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 200

static char path_buf[4][1024];

// A path below the preopen; up to four live at once.
static const char *at(const char *root, const char *rel) {
    static int next;
    char *p = path_buf[next++ % 4];
    snprintf(p, sizeof path_buf[0], "%s/%s", root, rel);
    return p;
}

static void fail(const char *step) {
    printf("FAIL %s: %s\n", step, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void expect(int ok, const char *step) {
    if (!ok) {
        printf("FAIL %s\n", step);
        fflush(stdout);
        exit(1);
    }
}

static void write_all(int fd, const char *s, const char *step) {
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    if (n < 0)
        fail(step);
    expect((size_t)n == len, step);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: files PREOPEN\n", stderr);
        return 2;
    }
    const char *root = argv[1];
    char buf[256];
    struct stat st;
    int fd;
    ssize_t n;

    if (mkdir(at(root, "sub"), 0755) != 0)
        fail("mkdir sub");
    expect(mkdir(at(root, "sub"), 0755) != 0 && errno == EEXIST, "mkdir sub again is EEXIST");
    puts("mkdir sub: ok");

    fd = open(at(root, "sub/a.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        fail("create sub/a.txt");
    write_all(fd, "hello\n", "write sub/a.txt");
    if (close(fd) != 0)
        fail("close");
    puts("write sub/a.txt: 6 bytes");

    fd = open(at(root, "sub/a.txt"), O_RDONLY);
    if (fd < 0)
        fail("open sub/a.txt");
    n = read(fd, buf, sizeof buf);
    if (n < 0)
        fail("read sub/a.txt");
    expect(n == 6 && memcmp(buf, "hello\n", 6) == 0, "read back hello");
    expect(read(fd, buf, sizeof buf) == 0, "read at EOF returns 0");
    expect(write(fd, "x", 1) < 0, "write to a read-only fd fails");
    close(fd);
    puts("read sub/a.txt: hello");

    fd = open(at(root, "sub/a.txt"), O_WRONLY | O_APPEND);
    if (fd < 0)
        fail("open sub/a.txt for append");
    write_all(fd, "world\n", "append");
    expect(lseek(fd, 0, SEEK_CUR) == 12, "offset after append is the file size");
    expect(lseek(fd, 0, SEEK_SET) == 0, "seek to 0");
    write_all(fd, "again\n", "append after seek");
    if (fstat(fd, &st) != 0)
        fail("fstat");
    expect(st.st_size == 18 && S_ISREG(st.st_mode), "size 18 after appends");
    close(fd);
    puts("append: size 18");

    fd = open(at(root, "sub/a.txt"), O_RDWR);
    if (fd < 0)
        fail("open sub/a.txt read-write");
    expect(lseek(fd, 6, SEEK_SET) == 6, "seek to 6");
    n = read(fd, buf, 6);
    expect(n == 6 && memcmp(buf, "world\n", 6) == 0, "read world after seek");
    expect(lseek(fd, -6, SEEK_END) == 12, "seek from end");
    n = read(fd, buf, sizeof buf);
    expect(n == 6 && memcmp(buf, "again\n", 6) == 0, "read again after seek from end");
    expect(lseek(fd, 0, SEEK_CUR) == 18, "tell at end");
    n = pread(fd, buf, 5, 0);
    expect(n == 5 && memcmp(buf, "hello", 5) == 0, "pread at 0");
    expect(lseek(fd, 0, SEEK_CUR) == 18, "pread leaves the offset");
    n = pwrite(fd, "HELLO", 5, 0);
    expect(n == 5, "pwrite at 0");
    expect(lseek(fd, 0, SEEK_CUR) == 18, "pwrite leaves the offset");
    if (ftruncate(fd, 12) != 0)
        fail("ftruncate");
    if (fstat(fd, &st) != 0)
        fail("fstat after ftruncate");
    expect(st.st_size == 12, "size 12 after ftruncate");
    expect(lseek(fd, 0, SEEK_SET) == 0, "seek to 0 again");
    n = read(fd, buf, sizeof buf);
    expect(n == 12 && memcmp(buf, "HELLO\nworld\n", 12) == 0, "contents after pwrite+truncate");
    close(fd);
    puts("seek/pread/pwrite/ftruncate: HELLO world");

    for (int i = 0; i < NFILES; i++) {
        char name[64];
        snprintf(name, sizeof name, "sub/entry-with-a-longish-name-%03d", i);
        fd = open(at(root, name), O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (fd < 0)
            fail("create entry");
        close(fd);
    }
    expect(open(at(root, "sub/entry-with-a-longish-name-000"), O_CREAT | O_WRONLY | O_EXCL, 0644) < 0 &&
               errno == EEXIST,
           "O_EXCL on an existing file is EEXIST");

    DIR *dir = opendir(at(root, "sub"));
    if (!dir)
        fail("opendir sub");
    char *names[NFILES + 8];
    int count = 0, dots = 0;
    struct dirent *ent;
    errno = 0;
    while ((ent = readdir(dir)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) {
            dots++;
            continue;
        }
        expect(count < NFILES + 8, "not too many entries");
        names[count++] = strdup(ent->d_name);
    }
    expect(errno == 0, "readdir ends without error");
    closedir(dir);
    qsort(names, (size_t)count, sizeof names[0], cmp_str);
    printf("readdir sub: %d entries besides . and .. (%d of those)\n", count, dots);
    expect(count == NFILES + 1, "readdir sees every entry exactly once");
    expect(strcmp(names[0], "a.txt") == 0, "a.txt listed");
    for (int i = 0; i < NFILES; i++) {
        char name[64];
        snprintf(name, sizeof name, "entry-with-a-longish-name-%03d", i);
        expect(strcmp(names[i + 1], name) == 0, "entry listed once, in order");
    }
    for (int i = 0; i < count; i++)
        free(names[i]);

    if (rename(at(root, "sub/a.txt"), at(root, "sub/b.txt")) != 0)
        fail("rename a.txt b.txt");
    expect(stat(at(root, "sub/a.txt"), &st) != 0 && errno == ENOENT, "a.txt gone after rename");
    if (stat(at(root, "sub/b.txt"), &st) != 0)
        fail("stat b.txt");
    expect(st.st_size == 12, "b.txt has the contents");
    puts("rename sub/a.txt -> sub/b.txt: ok");

    expect(rmdir(at(root, "sub")) != 0 && errno == ENOTEMPTY, "rmdir of a non-empty dir is ENOTEMPTY");
    expect(unlink(at(root, "sub")) != 0, "unlink of a directory fails");
    for (int i = 0; i < NFILES; i++) {
        char name[64];
        snprintf(name, sizeof name, "sub/entry-with-a-longish-name-%03d", i);
        if (unlink(at(root, name)) != 0)
            fail("unlink entry");
    }
    if (unlink(at(root, "sub/b.txt")) != 0)
        fail("unlink b.txt");
    expect(unlink(at(root, "sub/b.txt")) != 0 && errno == ENOENT, "second unlink is ENOENT");
    if (rmdir(at(root, "sub")) != 0)
        fail("rmdir sub");
    expect(stat(at(root, "sub"), &st) != 0 && errno == ENOENT, "sub gone");
    puts("remove: ok");

    fd = open(at(root, "kept.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        fail("create kept.txt");
    write_all(fd, "kept\n", "write kept.txt");
    close(fd);
    puts("kept.txt: written");
    puts("files: all ok");
    return 0;
}
