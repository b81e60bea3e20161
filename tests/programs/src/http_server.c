/* A small HTTP/1.1 file server: GET and HEAD of the files below a
 * document root, keep-alive (and pipelined requests), many connections at
 * once multiplexed with poll(). One source, three builds:
 *
 * - http_server.wasm (wasi-libc, preview1): serves on a listening socket
 *   the runtime preopened (`hoist run --tcplisten ADDR:PORT`), the first
 *   socket among fds 3 and up.
 * - http_server_wasmedge.wasm (HOIST_WASMEDGE, see http_server_wasmedge.c):
 *   opens, binds and listens itself with the WasmEdge socket calls,
 *   declared here, on `--listen ADDR:PORT` (IPv4 or [IPv6]), and accepts
 *   with WasmEdge's V1 `sock_accept(fd, *fd)`.
 * - natively (gcc, for the benchmark): POSIX sockets on `--listen`.
 *
 *   http_server [--root DIR] [--listen ADDR:PORT]
 *
 * DIR defaults to /docroot. The path of the request is appended to DIR as
 * it is, `..` and all: keeping requests inside the document root is the
 * runtime's job (the preopen), and the tests check that it does. A file
 * that cannot be opened is 404 (ENOENT, ENOTDIR) or 403 (anything else,
 * such as ENOTCAPABLE for a path that leaves the preopen).
 *
 * Prints `listening on ADDR:PORT` or `serving DIR on fd N` when ready,
 * and one line on stderr for each connection that fails (`send: Broken
 * pipe`, ...); runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__wasi__)
#include <wasi/api.h>
#endif
#if !defined(__wasi__)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#endif

#define MAX_CONNS 1024
#define IN_MAX 8192

struct conn {
    int fd;
    char in[IN_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    int close_after;
};

static struct conn *conns[MAX_CONNS];
static size_t nconns;
static const char *root = "/docroot";

#if defined(HOIST_WASMEDGE)
/* The WasmEdge socket calls (WasmEdge 0.14, wasi_snapshot_preview1). */
#define WASMEDGE(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
struct wasi_address {
    uint8_t *buf;
    uint32_t buf_len;
};
int32_t we_sock_open(int32_t af, int32_t type, int32_t *fd) WASMEDGE(sock_open);
int32_t we_sock_bind(int32_t fd, struct wasi_address *addr, int32_t port) WASMEDGE(sock_bind);
int32_t we_sock_listen(int32_t fd, int32_t backlog) WASMEDGE(sock_listen);
int32_t we_sock_accept(int32_t fd, int32_t *new_fd) WASMEDGE(sock_accept);
int32_t we_sock_setsockopt(int32_t fd, int32_t level, int32_t name, int32_t *flag,
                           int32_t flag_size) WASMEDGE(sock_setsockopt);
int32_t we_sock_getlocaladdr(int32_t fd, struct wasi_address *addr, uint32_t *addr_type,
                             uint32_t *port) WASMEDGE(sock_getlocaladdr);
#endif

static void fail(const char *what, int err) {
    fprintf(stderr, "http_server: %s: %s\n", what, strerror(err));
    exit(1);
}

#if !defined(__wasi__) || defined(HOIST_WASMEDGE)
/* ADDR:PORT or [ADDR]:PORT into the address bytes (4 or 16) and the port. */
static int parse_listen(const char *spec, uint8_t addr[16], int *v6, int *port) {
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, colon - spec);
    host[colon - spec] = 0;
    *port = atoi(colon + 1);
    char *h = host;
    *v6 = 0;
    if (h[0] == '[') {
        size_t n = strlen(h);
        if (n < 2 || h[n - 1] != ']')
            return -1;
        h[n - 1] = 0;
        h++;
        *v6 = 1;
    }
    if (!*v6) {
        unsigned a, b, c, d;
        if (sscanf(h, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 || b > 255 || c > 255 || d > 255)
            return -1;
        addr[0] = a, addr[1] = b, addr[2] = c, addr[3] = d;
        return 0;
    }
    /* IPv6: only what the tests use, "::1" and "::". */
    memset(addr, 0, 16);
    if (strcmp(h, "::1") == 0)
        addr[15] = 1;
    else if (strcmp(h, "::") != 0)
        return -1;
    return 0;
}
#endif

static int open_listener(int argc, char **argv) {
    const char *listen_spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_spec = argv[++i];
        else {
            fprintf(stderr, "usage: http_server [--root DIR] [--listen ADDR:PORT]\n");
            exit(2);
        }
    }
#if defined(__wasi__) && !defined(HOIST_WASMEDGE)
    (void)listen_spec;
    /* The first preopened socket. */
    for (int fd = 3;; fd++) {
        __wasi_fdstat_t st;
        __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
        if (e == __WASI_ERRNO_BADF)
            break;
        if (e == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) {
            /* Accepting goes on until EAGAIN. */
            if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
                fail("fcntl(O_NONBLOCK)", errno);
            printf("serving %s on fd %d\n", root, fd);
            fflush(stdout);
            return fd;
        }
    }
    fprintf(stderr, "http_server: no listening socket (run with --tcplisten ADDR:PORT)\n");
    exit(1);
#else
    uint8_t addr[16];
    int v6, port;
    if (!listen_spec || parse_listen(listen_spec, addr, &v6, &port) != 0) {
        fprintf(stderr, "http_server: --listen ADDR:PORT is required\n");
        exit(2);
    }
#if defined(HOIST_WASMEDGE)
    int32_t fd;
    int32_t e = we_sock_open(v6 ? 2 : 1, 2 /* stream */, &fd);
    if (e != 0)
        fail("cannot open a socket (sock_open)", e);
    int32_t one = 1;
    e = we_sock_setsockopt(fd, 0 /* SOL_SOCKET */, 0 /* SO_REUSEADDR */, &one, sizeof one);
    if (e != 0)
        fail("sock_setsockopt(SO_REUSEADDR)", e);
    struct wasi_address a = {addr, v6 ? 16 : 4};
    e = we_sock_bind(fd, &a, port);
    if (e != 0) {
        char what[128];
        snprintf(what, sizeof what, "cannot bind %s (sock_bind)", listen_spec);
        fail(what, e);
    }
    e = we_sock_listen(fd, 1024);
    if (e != 0)
        fail("sock_listen", e);
    uint8_t local[16];
    struct wasi_address la = {local, 16};
    uint32_t type, lport;
    e = we_sock_getlocaladdr(fd, &la, &type, &lport);
    if (e != 0)
        fail("sock_getlocaladdr", e);
    if (type == 4)
        printf("listening on %u.%u.%u.%u:%u\n", local[0], local[1], local[2], local[3], lport);
    else
        printf("listening on [ipv6]:%u\n", lport);
#else
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket", errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, addr, 16);
        len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, addr, 4);
        len = sizeof *s4;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        fail("bind", errno);
    if (listen(fd, 1024) != 0)
        fail("listen", errno);
    signal(SIGPIPE, SIG_IGN);
    printf("listening on %s\n", listen_spec);
#endif
    fflush(stdout);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        fail("fcntl(O_NONBLOCK)", errno);
    return fd;
#endif
}

/* Accepts one pending connection: its fd, or -1 (errno EAGAIN: none). */
static int accept_one(int listener) {
#if defined(HOIST_WASMEDGE)
    int32_t fd;
    int32_t e = we_sock_accept(listener, &fd);
    if (e != 0) {
        errno = e;
        return -1;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
#elif defined(__wasi__)
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK);
#else
    int fd = accept(listener, NULL, NULL);
    if (fd >= 0)
        fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
#endif
}

static const char *content_type(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html";
    if (strcmp(dot, ".txt") == 0)
        return "text/plain";
    if (strcmp(dot, ".css") == 0)
        return "text/css";
    if (strcmp(dot, ".js") == 0)
        return "application/javascript";
    return "application/octet-stream";
}

/* Queues the response (status line, headers, body) on `c`. */
static void respond(struct conn *c, int status, const char *reason, const char *type,
                    const char *body, size_t body_len, int head) {
    char header[256];
    int n = snprintf(header, sizeof header,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: %s\r\n"
                     "Connection: %s\r\n\r\n",
                     status, reason, body_len, type, c->close_after ? "close" : "keep-alive");
    size_t total = (size_t)n + (head ? 0 : body_len);
    size_t pending = c->out_len - c->out_off;
    char *out = malloc(pending + total);
    if (!out) {
        c->close_after = 1;
        return;
    }
    if (pending)
        memcpy(out, c->out + c->out_off, pending);
    memcpy(out + pending, header, n);
    if (!head && body_len)
        memcpy(out + pending + n, body, body_len);
    free(c->out);
    c->out = out;
    c->out_len = pending + total;
    c->out_off = 0;
}

static void error_response(struct conn *c, int status, const char *reason, int head) {
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    respond(c, status, reason, "text/plain", body, n, head);
}

/* Reads the file at `target` below the root into a new buffer. */
static char *read_file(const char *target, size_t *len, int *err) {
    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s%s", root, target) >= sizeof path) {
        *err = ENAMETOOLONG;
        return NULL;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
        close(fd);
        return NULL;
    }
    char *buf = malloc(st.st_size ? st.st_size : 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, st.st_size - got);
        if (n <= 0)
            break;
        got += n;
    }
    close(fd);
    if (!buf) {
        *err = ENOMEM;
        return NULL;
    }
    *len = got;
    return buf;
}

/* Answers every complete request in `c->in`. A request too large or
 * malformed gets an error response, and the connection closes after it. */
static void handle_requests(struct conn *c) {
    while (!c->close_after) {
        char *end = NULL;
        for (size_t i = 0; i + 3 < c->in_len; i++) {
            if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
                end = c->in + i;
                break;
            }
        }
        if (!end) {
            if (c->in_len == IN_MAX) {
                c->close_after = 1;
                error_response(c, 431, "Request Header Fields Too Large", 0);
            }
            return;
        }
        size_t req_len = end + 4 - c->in;
        *end = 0;
        char method[16], target[2048], version[16];
        int head = 0;
        if (sscanf(c->in, "%15s %2047s %15s", method, target, version) != 3 ||
            strncmp(version, "HTTP/1.", 7) != 0) {
            c->close_after = 1;
            error_response(c, 400, "Bad Request", 0);
            return;
        }
        /* HTTP/1.0 closes unless asked not to; 1.1 keeps alive unless
         * asked to close. */
        int keep = strcmp(version, "HTTP/1.0") != 0;
        for (char *line = strstr(c->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
            const char *h = line + 2;
            if (strncasecmp(h, "Connection:", 11) == 0) {
                const char *v = h + 11;
                while (*v == ' ')
                    v++;
                if (strncasecmp(v, "close", 5) == 0)
                    keep = 0;
                else if (strncasecmp(v, "keep-alive", 10) == 0)
                    keep = 1;
            }
        }
        c->close_after = !keep;
        if (strcmp(method, "HEAD") == 0)
            head = 1;
        if (!head && strcmp(method, "GET") != 0) {
            c->close_after = 1;
            error_response(c, 405, "Method Not Allowed", 0);
        } else {
            size_t len;
            int err = 0;
            if (strcmp(target, "/") == 0)
                strcpy(target, "/index.html");
            char *body = read_file(target, &len, &err);
            if (body) {
                respond(c, 200, "OK", content_type(target), body, len, head);
                free(body);
            } else if (err == ENOENT || err == ENOTDIR || err == EISDIR) {
                error_response(c, 404, "Not Found", head);
            } else {
                error_response(c, 403, "Forbidden", head);
            }
        }
        memmove(c->in, c->in + req_len, c->in_len - req_len);
        c->in_len -= req_len;
    }
}

static void drop_conn(size_t i) {
    struct conn *c = conns[i];
    close(c->fd);
    free(c->out);
    free(c);
    conns[i] = conns[--nconns];
}

/* Reads what is there; returns -1 when the connection is finished. */
static int on_readable(struct conn *c) {
    for (;;) {
        if (c->in_len == IN_MAX || c->close_after)
            break;
        ssize_t n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
        if (n > 0) {
            c->in_len += n;
            continue;
        }
        if (n == 0) {
            /* The client is done sending: answer what it asked, then close. */
            handle_requests(c);
            c->close_after = 1;
            return c->out_len > c->out_off ? 0 : -1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        fprintf(stderr, "http_server: recv: %s\n", strerror(errno));
        return -1;
    }
    handle_requests(c);
    return 0;
}

/* Sends what is queued; returns -1 when the connection is finished. */
static int on_writable(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, 0);
        if (n > 0) {
            c->out_off += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        fprintf(stderr, "http_server: send: %s\n", strerror(errno));
        return -1;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->close_after)
        return -1;
    /* Pipelined requests may be waiting. */
    if (c->in_len) {
        handle_requests(c);
        return c->out_len ? on_writable(c) : 0;
    }
    return 0;
}

int main(int argc, char **argv) {
    int listener = open_listener(argc, argv);
    static struct pollfd pfds[MAX_CONNS + 1];
    for (;;) {
        pfds[0].fd = listener;
        pfds[0].events = nconns < MAX_CONNS ? POLLIN : 0;
        pfds[0].revents = 0;
        for (size_t i = 0; i < nconns; i++) {
            struct conn *c = conns[i];
            pfds[i + 1].fd = c->fd;
            pfds[i + 1].events = c->out_len > c->out_off ? POLLOUT : POLLIN;
            pfds[i + 1].revents = 0;
        }
        size_t polled = nconns;
        if (poll(pfds, polled + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail("poll", errno);
        }
        /* Back to front, so dropping one moves only entries already seen. */
        for (size_t i = polled; i-- > 0;) {
            struct conn *c = conns[i];
            short re = pfds[i + 1].revents;
            if (!re)
                continue;
            int done;
            if (c->out_len > c->out_off) {
                done = on_writable(c);
            } else {
                done = on_readable(c);
                if (done == 0 && c->out_len > c->out_off)
                    done = on_writable(c);
            }
            if (done < 0)
                drop_conn(i);
        }
        if (pfds[0].revents) {
            while (nconns < MAX_CONNS) {
                int fd = accept_one(listener);
                if (fd < 0) {
                    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
                        fprintf(stderr, "http_server: accept: %s\n", strerror(errno));
                    break;
                }
                struct conn *c = calloc(1, sizeof *c);
                if (!c) {
                    close(fd);
                    break;
                }
                c->fd = fd;
                conns[nconns++] = c;
            }
        }
    }
}
