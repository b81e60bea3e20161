//! Network servers and clients in the sandbox, through the `hoist` binary:
//! our HTTP file server (tests/programs/src/http_server.c) on a preopened
//! listener (`--tcplisten`, `--listenfd`) and on the WasmEdge socket calls
//! (`--allow-net`), and an echo client on the WasmEdge calls.
//!
//! All traffic is on 127.0.0.1 (and ::1 where the host has it), on ports
//! the tests pick; every wait has a deadline and every loop a count.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;
use support::program;

/// The longest any one step may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A scratch directory: `docroot/` with a few files, and a secret next to
/// it (outside the docroot) that no request may reach.
struct Site {
    dir: PathBuf,
}

static SITES: AtomicUsize = AtomicUsize::new(0);

impl Site {
    fn new() -> Site {
        let dir = std::env::temp_dir().join(format!(
            "hoist-net-{}-{}",
            std::process::id(),
            SITES.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("docroot/sub")).unwrap();
        std::fs::write(dir.join("docroot/index.html"), INDEX).unwrap();
        std::fs::write(dir.join("docroot/hello.txt"), b"hello, world\n").unwrap();
        std::fs::write(dir.join("docroot/sub/data.bin"), data_bin()).unwrap();
        std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
        Site { dir }
    }

    fn docroot_arg(&self) -> String {
        format!("/docroot:{}", self.dir.join("docroot").display())
    }

    fn add(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join("docroot").join(name), bytes).unwrap();
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const INDEX: &[u8] = b"<!doctype html><title>hoist</title><p>served from a wasm guest\n";
const SECRET: &[u8] = b"SECRET-OUTSIDE-THE-DOCROOT\n";

fn data_bin() -> Vec<u8> {
    (0..20_000u32).map(|i| (i % 251) as u8).collect()
}

/// A hoist process, killed (by its own pid) when dropped. Its output is
/// read by threads, so that no read can block a test past its deadline.
struct Hoist {
    child: Child,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Hoist {
    fn spawn(mut cmd: Command) -> Hoist {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning hoist");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let (out_tx, out_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if out_tx.send(line + "\n").is_err() {
                    break;
                }
            }
        });
        let (err_tx, err_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        Hoist {
            child,
            stdout: out_rx,
            stderr: err_rx,
        }
    }

    /// The next line the guest prints ("" once its stdout is closed);
    /// panics after [`TIMEOUT`].
    fn line(&mut self) -> String {
        match self.stdout.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => String::new(),
            Err(e) => panic!("no line from hoist within {TIMEOUT:?}: {e}"),
        }
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Stops it; returns its stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.recv_timeout(TIMEOUT).unwrap_or_default()
    }

    /// Waits for it to exit by itself: (status, stdout, stderr).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < TIMEOUT, "hoist did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut out = String::new();
        while let Ok(line) = self.stdout.recv_timeout(TIMEOUT) {
            out.push_str(&line);
        }
        let err = self.stderr.recv_timeout(TIMEOUT).unwrap_or_default();
        (status.code(), out, err)
    }
}

impl Drop for Hoist {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects, retrying until the server is up (at most [`TIMEOUT`]).
fn connect(addr: SocketAddr) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(stream) => {
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                stream.set_write_timeout(Some(TIMEOUT)).unwrap();
                return stream;
            }
            Err(e) if start.elapsed() < TIMEOUT => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect to {addr}: {e}"),
        }
    }
}

/// One response: status, headers (lowercased names), body.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response from `reader` (a HEAD response has no body).
fn read_response(reader: &mut BufReader<TcpStream>, head: bool) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status = parts.next().unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).expect("header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').expect("header line");
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if !head {
        let len: usize = response.header("content-length").unwrap().parse().unwrap();
        response.body = vec![0; len];
        reader.read_exact(&mut response.body).expect("body");
    }
    response
}

/// Sends `request` as it is and reads the response.
fn exchange(reader: &mut BufReader<TcpStream>, request: &str) -> Response {
    reader.get_mut().write_all(request.as_bytes()).unwrap();
    read_response(reader, request.starts_with("HEAD "))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// The HTTP server on a preopened listener; returns it and its address.
fn tcplisten_server(site: &Site) -> (Hoist, SocketAddr) {
    // The port is picked, then bound by hoist: retry if another test took
    // it in between.
    for _ in 0..5 {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut cmd = support::hoist();
        cmd.args([
            "run",
            "--tcplisten",
            &addr.to_string(),
            "--dir",
            &site.docroot_arg(),
        ])
        .arg(program("http_server"));
        let mut server = Hoist::spawn(cmd);
        let line = server.line();
        if line.starts_with("serving /docroot on fd 4") {
            return (server, addr);
        }
        let err = server.stop();
        assert!(
            err.contains("Address already in use"),
            "server failed: {line}{err}"
        );
    }
    panic!("no free port");
}

/// Checks the files of a [`Site`] over one keep-alive connection.
fn check_site(addr: SocketAddr) {
    let mut conn = BufReader::new(connect(addr));
    let r = exchange(&mut conn, &get("/"));
    assert_eq!((r.status, r.body.as_slice()), (200, INDEX));
    assert_eq!(r.header("connection"), Some("keep-alive"));
    assert_eq!(r.header("content-type"), Some("text/html"));
    let r = exchange(&mut conn, &get("/hello.txt"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello, world\n"[..]));
    let r = exchange(&mut conn, &get("/sub/data.bin"));
    assert_eq!(r.status, 200);
    assert!(r.body == data_bin(), "data.bin differs");
    let r = exchange(&mut conn, "HEAD /hello.txt HTTP/1.1\r\n\r\n");
    assert_eq!((r.status, r.header("content-length")), (200, Some("13")));
    let r = exchange(&mut conn, &get("/missing.txt"));
    assert_eq!(r.status, 404);
    // Two pipelined requests, the second asking to close.
    conn.get_mut()
        .write_all(b"GET /hello.txt HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut conn, false).status, 200);
    let r = read_response(&mut conn, false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "the server closed after `Connection: close`"
    );
}

#[test]
fn tcplisten_serves_the_docroot() {
    let site = Site::new();
    let (server, addr) = tcplisten_server(&site);
    check_site(addr);
    let err = server.stop();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn path_traversal_cannot_leave_the_preopen() {
    let site = Site::new();
    let (mut server, addr) = tcplisten_server(&site);
    let mut conn = BufReader::new(connect(addr));
    for path in [
        "/../secret.txt",
        "/../../etc/passwd",
        "/../../../../../../etc/passwd",
        "/sub/../../secret.txt",
        "//etc/passwd",
    ] {
        let r = exchange(&mut conn, &get(path));
        assert!(
            r.status == 403 || r.status == 404,
            "{path}: status {}, body {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("SECRET") && !body.contains("root:"),
            "{path}: {body}"
        );
    }
    // A path that stays inside after `..` is fine.
    let r = exchange(&mut conn, &get("/sub/../hello.txt"));
    assert_eq!(r.status, 200);
    assert!(server.still_running());
}

#[test]
fn listenfd_takes_an_inherited_listener() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let site = Site::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.as_raw_fd();
    // systemd's convention: the sockets at fds 3.., LISTEN_FDS of them,
    // LISTEN_PID the pid of the process they are for; the shell's `exec`
    // keeps its pid for hoist.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@""#)
        .arg(support::hoist_binary())
        .args(["run", "--listenfd", "--dir", &site.docroot_arg()])
        .arg(program("http_server"))
        .env("XDG_CACHE_HOME", support::private_home().join("cache"))
        .env("XDG_STATE_HOME", support::private_home().join("state"));
    // SAFETY: only dup2 or fcntl runs between fork and exec, both
    // async-signal-safe; they put the listener at fd 3 without CLOEXEC.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep CLOEXEC: when the listener
            // already is fd 3, clear the flag instead.
            let rc = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if rc < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = Hoist::spawn(cmd);
    drop(listener);
    let line = server.line();
    assert!(line.starts_with("serving /docroot on fd 4"), "{line}");
    check_site(addr);
    server.stop();

    // A LISTEN_PID for someone else is refused before anything runs.
    let mut cmd = support::hoist();
    cmd.args(["run", "--listenfd"])
        .arg(program("http_server"))
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1");
    let (code, _, err) = Hoist::spawn(cmd).finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("LISTEN_PID is 1, not hoist's pid"), "{err}");
}

/// The WasmEdge-ABI server with `--allow-net`; it binds port 0 and says
/// which port it got.
#[test]
fn wasmedge_server_with_allow_net() {
    let site = Site::new();
    let mut cmd = support::hoist();
    cmd.args([
        "run",
        "--allow-net",
        "127.0.0.1:*",
        "--dir",
        &site.docroot_arg(),
    ])
    .arg(program("http_server_wasmedge"))
    .args(["--listen", "127.0.0.1:0"]);
    let mut server = Hoist::spawn(cmd);
    let line = server.line();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    assert_ne!(addr.port(), 0);
    check_site(addr);
    server.stop();
}

#[test]
fn wasmedge_server_without_allow_net_cannot_listen() {
    let site = Site::new();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // No --allow-net: no socket at all.
    let mut cmd = support::hoist();
    cmd.args(["run", "--dir", &site.docroot_arg()])
        .arg(program("http_server_wasmedge"))
        .args(["--listen", &listen]);
    let (code, _, err) = Hoist::spawn(cmd).finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("hoist: refused the guest's socket: networking is denied without --allow-net"),
        "{err}"
    );
    assert!(
        err.contains("http_server: cannot open a socket (sock_open): Capabilities insufficient"),
        "{err}"
    );
    // Allowed elsewhere only: the bind is refused, and hoist says how to allow it.
    let mut cmd = support::hoist();
    cmd.args([
        "run",
        "--allow-net",
        "127.0.0.1:1-1023",
        "--allow-net",
        "[::1]:*",
    ])
    .args(["--dir", &site.docroot_arg()])
    .arg(program("http_server_wasmedge"))
    .args(["--listen", &listen]);
    let (code, _, err) = Hoist::spawn(cmd).finish();
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "hoist: refused the guest's bind {listen}: not allowed by any --allow-net (allow it \
             with --allow-net {listen})"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "http_server: cannot bind {listen} (sock_bind): Capabilities insufficient"
        )),
        "{err}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {listen}"
    );
}

#[test]
fn two_hundred_keep_alive_clients_ten_thousand_requests() {
    const CLIENTS: usize = 200;
    const REQUESTS: usize = 10_000;
    let site = Site::new();
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let body: Vec<u8> = (0..(i * 997 + 1))
                .map(|j| b'a' + ((i + j) % 26) as u8)
                .collect();
            (format!("f{i}.txt"), body)
        })
        .collect();
    for (name, body) in &files {
        site.add(name, body);
    }
    let (mut server, addr) = tcplisten_server(&site);
    let files = std::sync::Arc::new(files);
    let done = std::sync::Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let files = files.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut conn = BufReader::new(connect(addr));
                for r in 0..REQUESTS / CLIENTS {
                    let (name, body) = &files[(c + r) % files.len()];
                    let response = exchange(&mut conn, &get(&format!("/{name}")));
                    assert_eq!(response.status, 200);
                    assert!(
                        response.body == *body,
                        "client {c} request {r}: wrong body for {name}"
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
    assert_eq!(done.load(Ordering::Relaxed), REQUESTS);
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "took {:?}",
        start.elapsed()
    );
    assert!(server.still_running());
    let err = server.stop();
    assert!(!err.contains("http_server:"), "server errors: {err}");
}

#[test]
fn a_client_leaving_mid_response_leaves_the_server_running() {
    let site = Site::new();
    site.add("big.bin", &vec![7u8; 16 << 20]);
    let (mut server, addr) = tcplisten_server(&site);
    for _ in 0..3 {
        let mut conn = connect(addr);
        conn.write_all(get("/big.bin").as_bytes()).unwrap();
        let mut some = [0u8; 65536];
        conn.read_exact(&mut some).unwrap();
        // Closing with unread data resets the connection under the server.
        drop(conn);
    }
    // The server goes on serving.
    let mut conn = BufReader::new(connect(addr));
    let r = exchange(&mut conn, &get("/hello.txt"));
    assert_eq!(r.status, 200);
    assert!(server.still_running());
    let err = server.stop();
    assert!(!err.contains("panicked"), "{err}");
    // What the guest saw was an error on its send (EPIPE or ECONNRESET).
    assert!(
        err.contains("http_server: send: Broken pipe")
            || err.contains("http_server: send: Connection reset by peer"),
        "{err}"
    );
}

/// An echo server on `addr` for one connection; returns its address.
fn tcp_echo(addr: &str) -> Option<SocketAddr> {
    let listener = TcpListener::bind(addr).ok()?;
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut data = Vec::new();
            let _ = conn.read_to_end(&mut data);
            let _ = conn.write_all(&data);
        }
    });
    Some(local)
}

fn echo_client(allow: &[&str], args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = support::hoist();
    cmd.arg("run");
    for a in allow {
        cmd.args(["--allow-net", a]);
    }
    cmd.arg(program("echo_client")).args(args);
    Hoist::spawn(cmd).finish()
}

#[test]
fn echo_client_connects_out_over_tcp_and_udp() {
    let server = tcp_echo("127.0.0.1:0").unwrap();
    let port = server.port().to_string();
    let (code, out, err) = echo_client(
        &[&server.to_string()],
        &["tcp", "127.0.0.1", &port, "hello through hoist"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!(" to 127.0.0.1:{port}\n")), "{out}");
    assert!(out.starts_with("connected from 127.0.0.1:"), "{out}");
    assert!(out.contains("reply: hello through hoist\n"), "{out}");

    // UDP: one datagram out, one back.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (n, from) = udp.recv_from(&mut buf).unwrap();
        udp.send_to(&buf[..n], from).unwrap();
    });
    let (code, out, err) = echo_client(
        &[&udp_addr.to_string()],
        &["udp", "127.0.0.1", &udp_addr.port().to_string(), "datagram"],
    );
    echo.join().unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, format!("udp reply from {udp_addr}: datagram\n"));

    // IPv6, where the host has it.
    if let Some(server6) = tcp_echo("[::1]:0") {
        let (code, out, err) = echo_client(
            &["[::1]:*"],
            &["tcp", "::1", &server6.port().to_string(), "six"],
        );
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(
            out.contains(&format!(" to [0:0:0:0:0:0:0:1]:{}\n", server6.port())),
            "{out}"
        );
        assert!(out.contains("reply: six\n"), "{out}");
    }
}

#[test]
fn echo_client_is_refused_what_is_not_allowed() {
    let server = tcp_echo("127.0.0.1:0").unwrap();
    let port = server.port().to_string();
    // Nothing allowed: not even a name lookup.
    let (code, out, err) = echo_client(&[], &["tcp", "127.0.0.1", &port, "x"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("sock_getaddrinfo: errno 76 (not capable)"),
        "{out}"
    );
    assert!(err.contains("refused the guest's resolve"), "{err}");
    // Another port allowed: the connect is refused.
    let (code, out, err) = echo_client(&["127.0.0.1:1"], &["tcp", "127.0.0.1", &port, "x"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("sock_connect: errno 76 (not capable)"),
        "{out}"
    );
    assert!(
        err.contains(&format!("refused the guest's connect 127.0.0.1:{port}")),
        "{err}"
    );
    // Let the echo server's thread finish.
    drop(TcpStream::connect(server));
}

#[test]
fn getaddrinfo_goes_through_the_host_resolver() {
    let (code, out, err) = echo_client(&["*:*"], &["resolve", "127.0.0.1", "8080"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "127.0.0.1:8080\n");
    let (code, out, err) = echo_client(&["*:*"], &["resolve", "localhost", "80"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.lines()
            .all(|l| l == "127.0.0.1:80" || l == "[0:0:0:0:0:0:0:1]:80"),
        "{out}"
    );
    assert!(!out.is_empty());
}

#[test]
fn run_help_says_networking_is_denied_by_default() {
    let output = support::hoist().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for text in [
        "--tcplisten",
        "--listenfd",
        "--allow-net",
        "denied by default",
        "ENOTCAPABLE",
    ] {
        assert!(help.contains(text), "`{text}` missing from:\n{help}");
    }
}
