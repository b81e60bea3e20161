/* A client for an echo server, on the WasmEdge socket calls (declared
 * here, as WasmEdge 0.14 defines them); run it with `hoist run
 * --allow-net ...`.
 *
 *   echo_client tcp HOST PORT MESSAGE   connect, send MESSAGE, shut down
 *                                       writing, print what comes back
 *   echo_client udp HOST PORT MESSAGE   one datagram there, one back
 *   echo_client resolve HOST [PORT]     print what sock_getaddrinfo says
 *
 * HOST goes through sock_getaddrinfo (the host's resolver), so it may be
 * a name or an IPv4 or IPv6 address; the first answer is used. Prints each
 * step (`connected from A to B`, `reply: ...`, `udp reply from A: ...`);
 * a failed call prints `echo_client: CALL: errno N (...)` and exits 1.
 *
 * The module imports the calls whose WasmEdge V1 and V2 differ in type
 * with both shapes: `sock_getlocaladdr` as V1 (4 parameters),
 * `sock_getpeeraddr` and `sock_recv_from` as V2 (3 and 8), all under their
 * plain names, as the wasmedge_wasi_socket crate does for `sock_recv_from`. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WASMEDGE(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

struct we_address {
    uint8_t *buf;
    uint32_t buf_len;
};
struct we_sockaddr {
    uint8_t sa_family;
    uint32_t sa_data_len;
    uint8_t *sa_data;
};
struct we_addrinfo {
    uint16_t ai_flags;
    uint8_t ai_family;
    uint8_t ai_socktype;
    uint8_t ai_protocol;
    uint32_t ai_addrlen;
    struct we_sockaddr *ai_addr;
    char *ai_canonname;
    uint32_t ai_canonname_len;
    struct we_addrinfo *ai_next;
};
_Static_assert(sizeof(struct we_address) == 8, "__wasi_address_t");
_Static_assert(sizeof(struct we_sockaddr) == 12, "__wasi_sockaddr_t");
_Static_assert(sizeof(struct we_addrinfo) == 28, "__wasi_addrinfo_t");
struct we_iovec {
    void *buf;
    uint32_t len;
};

int32_t we_sock_open(int32_t af, int32_t type, int32_t *fd) WASMEDGE(sock_open);
int32_t we_sock_connect(int32_t fd, struct we_address *addr, int32_t port) WASMEDGE(sock_connect);
int32_t we_sock_getlocaladdr(int32_t fd, struct we_address *addr, uint32_t *addr_type,
                             uint32_t *port) WASMEDGE(sock_getlocaladdr);
int32_t we_sock_getpeeraddr(int32_t fd, struct we_address *addr, uint32_t *port)
    WASMEDGE(sock_getpeeraddr);
int32_t we_sock_send_to(int32_t fd, struct we_iovec *data, int32_t data_len,
                        struct we_address *addr, int32_t port, int32_t flags, uint32_t *sent)
    WASMEDGE(sock_send_to);
int32_t we_sock_recv_from(int32_t fd, struct we_iovec *data, int32_t data_len,
                          struct we_address *addr, int32_t flags, uint32_t *port, uint32_t *len,
                          uint32_t *oflags) WASMEDGE(sock_recv_from);
int32_t we_sock_getaddrinfo(const char *node, uint32_t node_len, const char *service,
                            uint32_t service_len, struct we_addrinfo *hints,
                            struct we_addrinfo **res, uint32_t max_len, uint32_t *res_len)
    WASMEDGE(sock_getaddrinfo);

static void check(const char *call, int32_t e) {
    if (e != 0) {
        printf("echo_client: %s: errno %d (%s)\n", call, e,
               e == 76 ? "not capable" : strerror(e));
        exit(1);
    }
}

/* An address: family 1 (IPv4) or 2 (IPv6), its bytes, a port. */
struct addr {
    int family;
    uint8_t bytes[16];
    unsigned port;
};

static void format_addr(const struct addr *a, char *out, size_t room) {
    if (a->family == 1) {
        snprintf(out, room, "%u.%u.%u.%u:%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3],
                 a->port);
        return;
    }
    int n = snprintf(out, room, "[");
    for (int i = 0; i < 16; i += 2)
        n += snprintf(out + n, room - n, "%s%x", i ? ":" : "", a->bytes[i] << 8 | a->bytes[i + 1]);
    snprintf(out + n, room - n, "]:%u", a->port);
}

#define MAX_RESULTS 8

/* Resolves HOST (and PORT) for `socktype`; fills up to MAX_RESULTS. */
static int resolve(const char *host, const char *port, int socktype, struct addr *out) {
    static struct we_addrinfo infos[MAX_RESULTS];
    static struct we_sockaddr addrs[MAX_RESULTS];
    static uint8_t data[MAX_RESULTS][26];
    static char canon[MAX_RESULTS][256];
    for (int i = 0; i < MAX_RESULTS; i++) {
        addrs[i].sa_data = data[i];
        addrs[i].sa_data_len = sizeof data[i];
        infos[i].ai_addr = &addrs[i];
        infos[i].ai_canonname = canon[i];
        infos[i].ai_canonname_len = sizeof canon[i];
        infos[i].ai_next = i + 1 < MAX_RESULTS ? &infos[i + 1] : NULL;
    }
    struct we_addrinfo hints = {0};
    hints.ai_socktype = socktype;
    struct we_addrinfo *res = infos;
    uint32_t n = 0;
    check("sock_getaddrinfo",
          we_sock_getaddrinfo(host, strlen(host), port, port ? strlen(port) : 0, &hints, &res,
                              MAX_RESULTS, &n));
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d = addrs[i].sa_data;
        out[i].family = addrs[i].sa_family;
        out[i].port = d[0] << 8 | d[1];
        if (addrs[i].sa_family == 1)
            memcpy(out[i].bytes, d + 2, 4);
        else
            memcpy(out[i].bytes, d + 6, 16);
    }
    return n;
}

static int open_to(const struct addr *to, int socktype) {
    int32_t fd;
    check("sock_open", we_sock_open(to->family, socktype, &fd));
    return fd;
}

static void tcp(const struct addr *to, const char *message) {
    int fd = open_to(to, 2);
    uint8_t bytes[16];
    memcpy(bytes, to->bytes, 16);
    struct we_address a = {bytes, to->family == 1 ? 4 : 16};
    check("sock_connect", we_sock_connect(fd, &a, to->port));

    /* Local address the V1 way: raw bytes, type 4 or 6, port. */
    struct addr local = {0}, peer = {0};
    struct we_address la = {local.bytes, 16};
    uint32_t type, port;
    check("sock_getlocaladdr", we_sock_getlocaladdr(fd, &la, &type, &port));
    local.family = type == 4 ? 1 : 2;
    local.port = port;
    /* Peer address the V2 way: a 128-byte storage with the family first. */
    uint8_t storage[128] = {0};
    struct we_address pa = {storage, sizeof storage};
    check("sock_getpeeraddr", we_sock_getpeeraddr(fd, &pa, &port));
    peer.family = storage[0] | storage[1] << 8;
    memcpy(peer.bytes, storage + 2, 16);
    peer.port = port;
    char l[64], p[64];
    format_addr(&local, l, sizeof l);
    format_addr(&peer, p, sizeof p);
    printf("connected from %s to %s\n", l, p);

    size_t len = strlen(message), sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, message + sent, len - sent, 0);
        if (n < 0)
            check("sock_send", errno);
        sent += n;
    }
    check("sock_shutdown", shutdown(fd, SHUT_WR) ? errno : 0);
    printf("reply: ");
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            check("sock_recv", errno);
        if (n == 0)
            break;
        fwrite(buf, 1, n, stdout);
    }
    printf("\n");
    close(fd);
}

static void udp(const struct addr *to, const char *message) {
    int fd = open_to(to, 1);
    uint8_t bytes[16];
    memcpy(bytes, to->bytes, 16);
    struct we_address a = {bytes, to->family == 1 ? 4 : 16};
    struct we_iovec out = {(void *)message, strlen(message)};
    uint32_t sent;
    check("sock_send_to", we_sock_send_to(fd, &out, 1, &a, to->port, 0, &sent));
    char buf[2048];
    struct we_iovec in = {buf, sizeof buf - 1};
    uint8_t storage[128] = {0};
    struct we_address from = {storage, sizeof storage};
    uint32_t port = 0, len = 0, oflags = 0;
    check("sock_recv_from", we_sock_recv_from(fd, &in, 1, &from, 0, &port, &len, &oflags));
    buf[len] = 0;
    struct addr sender = {0};
    sender.family = storage[0] | storage[1] << 8;
    memcpy(sender.bytes, storage + 2, 16);
    sender.port = port;
    char s[64];
    format_addr(&sender, s, sizeof s);
    printf("udp reply from %s: %s%s\n", s, buf, oflags & 1 ? " (truncated)" : "");
    close(fd);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "resolve") == 0) {
        struct addr found[MAX_RESULTS];
        int n = resolve(argv[2], argc > 3 ? argv[3] : NULL, 2, found);
        for (int i = 0; i < n; i++) {
            char text[64];
            format_addr(&found[i], text, sizeof text);
            printf("%s\n", text);
        }
        return 0;
    }
    if (argc != 5 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0)) {
        fprintf(stderr, "usage: echo_client tcp|udp HOST PORT MESSAGE | resolve HOST [PORT]\n");
        return 2;
    }
    int is_tcp = strcmp(argv[1], "tcp") == 0;
    struct addr found[MAX_RESULTS];
    if (resolve(argv[2], argv[3], is_tcp ? 2 : 1, found) < 1) {
        printf("echo_client: %s: no address\n", argv[2]);
        return 1;
    }
    if (is_tcp)
        tcp(&found[0], argv[4]);
    else
        udp(&found[0], argv[4]);
    return 0;
}
