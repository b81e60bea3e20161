;; memory64: a WASI command with a 64-bit memory that grows past 4 GiB.
;;
;; WASI preview1 takes i32 pointers into the memory exported as "memory", so
;; this module has two memories (multi-memory): memory 0 ($io) is an ordinary
;; i32 memory exported as "memory" for fd_write and args_get; memory 1
;; ($big) is the i64 memory under test, exported as "big".
;;
;; $big starts at 1 page (64 KiB) with a maximum of 65552 pages (4 GiB +
;; 1 MiB). _start grows it to the maximum, then checks bytes just below, at
;; and above 4 GiB, an i64 straddling the 4 GiB line, that an address above
;; 4 GiB is not truncated to 32 bits, a memarg offset above 4 GiB,
;; memory.fill on $big and memory.copy from $big to $io, and that growing
;; past the maximum returns -1. It prints one line per check, "ok: ..." or
;; "FAIL: ...", and exits 1 if any failed.
;;
;; Out of bounds: `memory64.wasm oob` (argv[1] = "oob") or the export
;; "memory64_oob" grows $big to the maximum, reads the last byte (fine), then
;; reads one byte past the end, which must trap with "out of bounds memory
;; access". The export "memory64_oob_wrap" loads with address 2^64 - 8 and a
;; memarg offset of 16: the effective address does not fit in 64 bits and
;; must trap the same way rather than wrap around to 8.
;;
;; Build: tests/programs/build.sh memory64 (wasm-tools parse; Debian's
;; wat2wasm 1.0.32 rejects memarg offsets above 0xffff_ffff).
;; Checked with wasmtime 49.0.3 (memory64 and multi-memory on by default):
;;   $ wasmtime run tests/programs/memory64.wasm; echo "exit=$?"
;;   memory64: $big is 1 pages
;;   memory64: memory.grow 65551 pages returned 1, size now 65552 pages
;;   ok: byte at 0xffff_ffff (last below 4 GiB)
;;   ok: byte at 0x1_0000_0000 (first above 4 GiB)
;;   ok: byte at 0x1_000f_ffff (last byte of the memory)
;;   ok: i64 at 0xffff_fffc straddles 4 GiB
;;   ok: store at 0x1_0000_0005 did not touch 0x5
;;   ok: i64.load offset=0x1_0000_0000 from base 0x10
;;   ok: memory.fill at 0x1_0000_1000, memory.copy to memory 0
;;   ok: memory.grow past the maximum returns -1
;;   memory64 done
;;   exit=0
;;   $ RUST_BACKTRACE=0 wasmtime run tests/programs/memory64.wasm oob; echo "exit=$?"
;;   memory64_oob: size 65552 pages, last byte 0 read, now reading one past the end
;;   Error: failed to run main module `tests/programs/memory64.wasm`
;;
;;   Caused by:
;;       0: failed to invoke command default
;;       1: error while executing at wasm backtrace:
;;              0:  0x3ec - memory64!oob_one_past_end
;;              1:  0x48b - memory64!_start
;;       2: wasm trap: out of bounds memory access
;;   exit=134
;; `wasmtime run --invoke memory64_oob tests/programs/memory64.wasm` prints
;; the same first line and trap ("0: failed to invoke `memory64_oob`"), and
;; `--invoke memory64_oob_wrap` prints
;; "memory64_oob_wrap: i64.load offset=16 at 0xffff_ffff_ffff_fff8" and traps
;; with "wasm trap: out of bounds memory access" in memory64!oob_wrap; both
;; exit 134.
(module $memory64
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  ;; $io: 0..8 iovec, 8..16 scratch, 16..32 fill/copy target, 64..1000
  ;; strings, 1000..1024 digits, 1024..2048 the line being built,
  ;; 4096.. argv.
  (memory $io (export "memory") 1)
  (memory $big (export "big") i64 1 65552)

  (data (memory $io) (i32.const 64) "memory64: $big is \00")
  (data (memory $io) (i32.const 96) " pages\00")
  (data (memory $io) (i32.const 112) "memory64: memory.grow 65551 pages returned \00")
  (data (memory $io) (i32.const 160) ", size now \00")
  (data (memory $io) (i32.const 176) "ok: \00")
  (data (memory $io) (i32.const 184) "FAIL: \00")
  (data (memory $io) (i32.const 192) "byte at 0xffff_ffff (last below 4 GiB)\00")
  (data (memory $io) (i32.const 240) "byte at 0x1_0000_0000 (first above 4 GiB)\00")
  (data (memory $io) (i32.const 288) "byte at 0x1_000f_ffff (last byte of the memory)\00")
  (data (memory $io) (i32.const 336) "i64 at 0xffff_fffc straddles 4 GiB\00")
  (data (memory $io) (i32.const 384) "store at 0x1_0000_0005 did not touch 0x5\00")
  (data (memory $io) (i32.const 432) "i64.load offset=0x1_0000_0000 from base 0x10\00")
  (data (memory $io) (i32.const 480) "memory.fill at 0x1_0000_1000, memory.copy to memory 0\00")
  (data (memory $io) (i32.const 544) "memory.grow past the maximum returns -1\00")
  (data (memory $io) (i32.const 592) "memory64 done\00")
  (data (memory $io) (i32.const 608) "memory64_oob: size \00")
  (data (memory $io) (i32.const 640) " pages, last byte \00")
  (data (memory $io) (i32.const 672) " read, now reading one past the end\00")
  (data (memory $io) (i32.const 720) "memory64_oob_wrap: i64.load offset=16 at 0xffff_ffff_ffff_fff8\00")
  (data (memory $io) (i32.const 800) "oob\00")
  (data (memory $io) (i32.const 808) "memory64: memory.grow failed\00")
  ;; A marker in $big at address 5, below 4 GiB.
  (data (memory $big) (i64.const 5) "\a5")

  (global $line_len (mut i32) (i32.const 0))
  (global $failed (mut i32) (i32.const 0))

  ;; ---- output (all in $io) -----------------------------------------------
  (func $put_byte (param $b i32)
    (i32.store8 $io (i32.add (i32.const 1024) (global.get $line_len)) (local.get $b))
    (global.set $line_len (i32.add (global.get $line_len) (i32.const 1))))

  (func $put_str (param $p i32)
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (i32.load8_u $io (local.get $p)))
        (br_if $done (i32.eqz (local.get $c)))
        (call $put_byte (local.get $c))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next))))

  (func $put_u64 (param $v i64)
    (local $p i32)
    (local.set $p (i32.const 1024))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 $io (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (block $done
      (loop $copy
        (br_if $done (i32.eq (local.get $p) (i32.const 1024)))
        (call $put_byte (i32.load8_u $io (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $copy))))

  (func $write_line
    (call $put_byte (i32.const 10))
    (i32.store $io (i32.const 0) (i32.const 1024))
    (i32.store $io (i32.const 4) (global.get $line_len))
    (global.set $line_len (i32.const 0))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $print (param $p i32)
    (call $put_str (local.get $p))
    (call $write_line))

  (func $check (param $ok i32) (param $what i32)
    (if (local.get $ok)
      (then (call $put_str (i32.const 176)))
      (else
        (call $put_str (i32.const 184))
        (global.set $failed (i32.const 1))))
    (call $print (local.get $what)))

  ;; Grows $big to its maximum of 65552 pages; returns memory.grow's result
  ;; (the old size, or -1). Does nothing (returns the size) if already there.
  (func $grow_to_max (result i64)
    (local $size i64)
    (local.set $size (memory.size $big))
    (if (i64.eq (local.get $size) (i64.const 65552))
      (then (return (local.get $size))))
    (memory.grow $big (i64.sub (i64.const 65552) (local.get $size))))

  ;; ---- the checks ----------------------------------------------------------
  (func $run_checks
    (local $old i64)

    (call $put_str (i32.const 64))
    (call $put_u64 (memory.size $big))
    (call $print (i32.const 96))

    (local.set $old (call $grow_to_max))
    (if (i64.eq (local.get $old) (i64.const -1))
      (then
        (call $print (i32.const 808))
        (call $proc_exit (i32.const 1))))
    (call $put_str (i32.const 112))
    (call $put_u64 (local.get $old))
    (call $put_str (i32.const 160))
    (call $put_u64 (memory.size $big))
    (call $print (i32.const 96))

    ;; Single bytes below, at and above 4 GiB, and the very last byte.
    (i32.store8 $big (i64.const 0xffff_ffff) (i32.const 0x11))
    (i32.store8 $big (i64.const 0x1_0000_0000) (i32.const 0x22))
    (i32.store8 $big (i64.const 0x1_000f_ffff) (i32.const 0x33))
    (call $check (i32.eq (i32.load8_u $big (i64.const 0xffff_ffff)) (i32.const 0x11)) (i32.const 192))
    (call $check (i32.eq (i32.load8_u $big (i64.const 0x1_0000_0000)) (i32.const 0x22)) (i32.const 240))
    (call $check (i32.eq (i32.load8_u $big (i64.const 0x1_000f_ffff)) (i32.const 0x33)) (i32.const 288))

    ;; An i64 whose bytes lie on both sides of 4 GiB: read back whole and as
    ;; the two halves.
    (i64.store $big (i64.const 0xffff_fffc) (i64.const 0x0807_0605_0403_0201))
    (call $check
      (i32.and
        (i64.eq (i64.load $big (i64.const 0xffff_fffc)) (i64.const 0x0807_0605_0403_0201))
        (i32.and
          (i32.eq (i32.load $big (i64.const 0xffff_fffc)) (i32.const 0x0403_0201))
          (i32.eq (i32.load $big (i64.const 0x1_0000_0000)) (i32.const 0x0807_0605))))
      (i32.const 336))

    ;; 0x1_0000_0005 truncated to 32 bits is 5, which holds the marker 0xa5.
    (i32.store8 $big (i64.const 0x1_0000_0005) (i32.const 0x5a))
    (call $check
      (i32.and
        (i32.eq (i32.load8_u $big (i64.const 5)) (i32.const 0xa5))
        (i32.eq (i32.load8_u $big (i64.const 0x1_0000_0005)) (i32.const 0x5a)))
      (i32.const 384))

    ;; A static offset above 4 GiB: 0x10 + 0x1_0000_0000.
    (i64.store $big (i64.const 0x1_0000_0010) (i64.const 0x1234_5678_9abc_def0))
    (call $check
      (i64.eq (i64.load $big offset=0x1_0000_0000 (i64.const 0x10)) (i64.const 0x1234_5678_9abc_def0))
      (i32.const 432))

    ;; memory.fill 16 bytes of 0x77 in $big, then memory.copy (i64 source,
    ;; i32 destination, i32 length) of 16 bytes into $io at 16.
    (memory.fill $big (i64.const 0x1_0000_1000) (i32.const 0x77) (i64.const 16))
    (memory.copy $io $big (i32.const 16) (i64.const 0x1_0000_1000) (i32.const 16))
    (call $check
      (i32.and
        (i64.eq (i64.load $io (i32.const 16)) (i64.const 0x7777_7777_7777_7777))
        (i64.eq (i64.load $io (i32.const 24)) (i64.const 0x7777_7777_7777_7777)))
      (i32.const 480))

    (call $check
      (i32.and
        (i64.eq (memory.grow $big (i64.const 1)) (i64.const -1))
        (i64.eq (memory.size $big) (i64.const 65552)))
      (i32.const 544))

    (call $print (i32.const 592)))

  ;; ---- out of bounds ---------------------------------------------------
  (func $oob_one_past_end (export "memory64_oob")
    (local $end i64)
    (drop (call $grow_to_max))
    (local.set $end (i64.mul (memory.size $big) (i64.const 65536)))
    (call $put_str (i32.const 608))
    (call $put_u64 (memory.size $big))
    (call $put_str (i32.const 640))
    (call $put_u64 (i64.load8_u $big (i64.sub (local.get $end) (i64.const 1))))
    (call $print (i32.const 672))
    (drop (i32.load8_u $big (local.get $end))))

  (func $oob_wrap (export "memory64_oob_wrap")
    (call $print (i32.const 720))
    (drop (i64.load $big offset=16 (i64.const 0xffff_ffff_ffff_fff8))))

  ;; argv[1] == "oob"?
  (func $arg1_is_oob (result i32)
    (local $argv i32)
    (local $p i32)
    (local $q i32)
    (local $c i32)
    ;; argc at 8, buffer size at 12; argv pointers at 4096, strings after.
    (drop (call $args_sizes_get (i32.const 8) (i32.const 12)))
    (if (i32.lt_u (i32.load $io (i32.const 8)) (i32.const 2))
      (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load $io (i32.const 8)) (i32.const 256))
      (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load $io (i32.const 12)) (i32.const 32768))
      (then (return (i32.const 0))))
    (drop (call $args_get (i32.const 4096) (i32.const 8192)))
    (local.set $p (i32.load $io (i32.const 4100)))
    (local.set $q (i32.const 800))
    (loop $cmp
      (local.set $c (i32.load8_u $io (local.get $q)))
      (if (i32.ne (i32.load8_u $io (local.get $p)) (local.get $c))
        (then (return (i32.const 0))))
      (if (i32.eqz (local.get $c))
        (then (return (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $cmp))
    (i32.const 0))

  (func $_start (export "_start")
    (if (call $arg1_is_oob)
      (then (call $oob_one_past_end)))
    (call $run_checks)
    (if (global.get $failed) (then (call $proc_exit (i32.const 1))))))
