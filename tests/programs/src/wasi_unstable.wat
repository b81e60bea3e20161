;; A guest of the legacy `wasi_unstable` (snapshot 0) ABI, checking each
;; place where it differs from preview1, in a preopen (fd 3) that holds
;; `f.txt` = "0123456789":
;; - fd_seek with snapshot 0's whence numbering (cur 0, end 1, set 2);
;; - fd_filestat_get / path_filestat_get write the 56-byte filestat with a
;;   u32 nlink at 20, size at 24, and nothing past byte 56;
;; - fd_readdir's dirents (the same layout in both);
;; - poll_oneoff with 56-byte subscriptions, whose clock carries an
;;   `identifier` before the clock id.
;; Prints `wasi_unstable: all ok` and exits 0, or exits with the number of
;; the first check that failed.
(module
  (import "wasi_unstable" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_unstable" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: results; 100: path; 200: filestat; 400: subscriptions; 600:
  ;; events; 700: nevents; 1024: readdir buffer; 3000: message; 3100: iovec.
  (data (i32.const 100) "f.txt")
  (data (i32.const 3000) "wasi_unstable: all ok\n")

  (func $check (param $ok i32) (param $code i32)
    (if (i32.eqz (local.get $ok)) (then (call $proc_exit (local.get $code)))))

  ;; Checks the snapshot 0 filestat at 200 of f.txt; codes base+1...
  (func $check_filestat (param $base i32)
    (call $check (i32.eq (i32.load8_u (i32.const 216)) (i32.const 4)) (i32.add (local.get $base) (i32.const 1)))
    (call $check (i32.eq (i32.load (i32.const 220)) (i32.const 1)) (i32.add (local.get $base) (i32.const 2)))
    (call $check (i64.eq (i64.load (i32.const 224)) (i64.const 10)) (i32.add (local.get $base) (i32.const 3)))
    (call $check (i64.ne (i64.load (i32.const 208)) (i64.const 0)) (i32.add (local.get $base) (i32.const 4)))
    (call $check (i64.ne (i64.load (i32.const 240)) (i64.const 0)) (i32.add (local.get $base) (i32.const 5)))
    ;; Bytes 56..64 are past the struct: untouched.
    (call $check (i64.eq (i64.load (i32.const 256)) (i64.const 0xaaaaaaaaaaaaaaaa)) (i32.add (local.get $base) (i32.const 6))))

  (func (export "_start")
    (local $fd i32) (local $p i32) (local $end i32) (local $found i32)
    ;; rights: fd_read | fd_seek | fd_tell | fd_filestat_get | poll_fd_readwrite
    (call $check (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5)
      (i32.const 0) (i64.const 0x8200026) (i64.const 0x8200026) (i32.const 0) (i32.const 0))) (i32.const 10))
    (local.set $fd (i32.load (i32.const 0)))

    ;; whence: set = 2, cur = 0, end = 1; 3 is invalid.
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const 3) (i32.const 2) (i32.const 0))) (i32.const 11))
    (call $check (i64.eq (i64.load (i32.const 0)) (i64.const 3)) (i32.const 12))
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const 2) (i32.const 0) (i32.const 0))) (i32.const 13))
    (call $check (i64.eq (i64.load (i32.const 0)) (i64.const 5)) (i32.const 14))
    (call $check (i32.eqz (call $fd_seek (local.get $fd) (i64.const -1) (i32.const 1) (i32.const 0))) (i32.const 15))
    (call $check (i64.eq (i64.load (i32.const 0)) (i64.const 9)) (i32.const 16))
    (call $check (i32.eq (call $fd_seek (local.get $fd) (i64.const 0) (i32.const 3) (i32.const 0)) (i32.const 28)) (i32.const 17))

    (memory.fill (i32.const 200) (i32.const 0xaa) (i32.const 64))
    (call $check (i32.eqz (call $fd_filestat_get (local.get $fd) (i32.const 200))) (i32.const 20))
    (call $check_filestat (i32.const 20))
    (memory.fill (i32.const 200) (i32.const 0xaa) (i32.const 64))
    (call $check (i32.eqz (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 5) (i32.const 200))) (i32.const 30))
    (call $check_filestat (i32.const 30))

    ;; The dirent of f.txt: d_namlen 5 at 16, d_type 4 at 20, name at 24.
    (call $check (i32.eqz (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 1024) (i64.const 0) (i32.const 0))) (i32.const 40))
    (local.set $p (i32.const 1024))
    (local.set $end (i32.add (i32.const 1024) (i32.load (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const 24)) (local.get $end)))
        (if (i32.and
              (i32.eq (i32.load offset=16 (local.get $p)) (i32.const 5))
              (i32.and
                (i32.eq (i32.load offset=24 (local.get $p)) (i32.load (i32.const 100)))
                (i32.eq (i32.load8_u offset=28 (local.get $p)) (i32.load8_u (i32.const 104)))))
          (then
            (call $check (i32.eq (i32.load8_u offset=20 (local.get $p)) (i32.const 4)) (i32.const 41))
            (local.set $found (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.add (i32.const 24) (i32.load offset=16 (local.get $p)))))
        (br $next)))
    (call $check (local.get $found) (i32.const 42))

    ;; A 10 s clock (identifier 0xdead, clock 1 at 24, timeout at 32) and
    ;; fd_read on the file (fd at 16): only the file is ready, with 1 byte.
    (memory.fill (i32.const 400) (i32.const 0) (i32.const 112))
    (i64.store (i32.const 400) (i64.const 7))
    (i32.store8 (i32.const 408) (i32.const 0))
    (i64.store (i32.const 416) (i64.const 0xdead))
    (i32.store (i32.const 424) (i32.const 1))
    (i64.store (i32.const 432) (i64.const 10000000000))
    (i64.store (i32.const 456) (i64.const 8))
    (i32.store8 (i32.const 464) (i32.const 1))
    (i32.store (i32.const 472) (local.get $fd))
    (call $check (i32.eqz (call $poll_oneoff (i32.const 400) (i32.const 600) (i32.const 2) (i32.const 700))) (i32.const 50))
    (call $check (i32.eq (i32.load (i32.const 700)) (i32.const 1)) (i32.const 51))
    (call $check (i64.eq (i64.load (i32.const 600)) (i64.const 8)) (i32.const 52))
    (call $check (i32.eqz (i32.load16_u (i32.const 608))) (i32.const 53))
    (call $check (i32.eq (i32.load8_u (i32.const 610)) (i32.const 1)) (i32.const 54))
    (call $check (i64.eq (i64.load (i32.const 616)) (i64.const 1)) (i32.const 55))

    ;; The clock alone, 1 ms: it fires, without error.
    (i64.store (i32.const 400) (i64.const 9))
    (i64.store (i32.const 432) (i64.const 1000000))
    (call $check (i32.eqz (call $poll_oneoff (i32.const 400) (i32.const 600) (i32.const 1) (i32.const 700))) (i32.const 60))
    (call $check (i32.eq (i32.load (i32.const 700)) (i32.const 1)) (i32.const 61))
    (call $check (i64.eq (i64.load (i32.const 600)) (i64.const 9)) (i32.const 62))
    (call $check (i32.eqz (i32.load16_u (i32.const 608))) (i32.const 63))
    (call $check (i32.eqz (i32.load8_u (i32.const 610))) (i32.const 64))

    (i32.store (i32.const 3100) (i32.const 3000))
    (i32.store (i32.const 3104) (i32.const 22))
    (drop (call $fd_write (i32.const 1) (i32.const 3100) (i32.const 1) (i32.const 0)))))
