;; memory.copy and memory.fill check their ranges in compiled code
;; (`bounds_checks::range_check`: index + len against the current length,
;; overflow-checked) and hand native addresses to a builtin that copies or
;; fills without checking again. These cases aim at the edges of that
;; check: zero lengths at and past the end, 32-bit indices and lengths that
;; would wrap if not zero-extended, 64-bit index + len wrapping around
;; 2^64, copies with one range in bounds and the other not, copies between
;; a 32-bit and a 64-bit memory (the length has the narrower type), the
;; length seen after memory.grow in the same function, and shared memories.
;; Every trapping case then checks that nothing was written.

;; A 32-bit memory of one page.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08")
  (data (i32.const 65528) "\f1\f2\f3\f4\f5\f6\f7\f8")
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0))))

;; Zero lengths: at the end is fine, one past it is not.
(assert_return (invoke "fill" (i32.const 65536) (i32.const 0x55) (i32.const 0)))
(assert_trap (invoke "fill" (i32.const 65537) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const -1) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "copy" (i32.const 65536) (i32.const 0) (i32.const 0)))
(assert_return (invoke "copy" (i32.const 0) (i32.const 65536) (i32.const 0)))
(assert_return (invoke "copy" (i32.const 65536) (i32.const 65536) (i32.const 0)))
(assert_trap (invoke "copy" (i32.const 65537) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65537) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const -1) (i32.const -1) (i32.const 0)) "out of bounds memory access")

;; One byte past the end: trap, and the last byte keeps its value.
(assert_trap (invoke "fill" (i32.const 65535) (i32.const 0x55) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0) (i32.const 0x55) (i32.const 65537)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 0xf8))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0807060504030201))

;; index + len wraps in 32 bits (to 1, to 0): the sum is taken in 64.
(assert_trap (invoke "fill" (i32.const -1) (i32.const 0x55) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 1) (i32.const 0x55) (i32.const -1)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 8) (i32.const 0x55) (i32.const -8)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const -1) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const -1) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 16) (i32.const 8) (i32.const -16)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 8) (i32.const 0) (i32.const -8)) "out of bounds memory access")
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0807060504030201))
(assert_return (invoke "load64" (i32.const 8)) (i64.const 0))
(assert_return (invoke "load64" (i32.const 16)) (i64.const 0))

;; Source in bounds, destination not, and the other way round.
(assert_trap (invoke "copy" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 65529) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65535) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65529) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load64" (i32.const 65528)) (i64.const 0xf8f7f6f5f4f3f2f1))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0807060504030201))

;; Ending exactly at the end is fine.
(assert_return (invoke "copy" (i32.const 65528) (i32.const 0) (i32.const 8)))
(assert_return (invoke "load64" (i32.const 65528)) (i64.const 0x0807060504030201))
(assert_return (invoke "fill" (i32.const 65535) (i32.const 0x1aa) (i32.const 1)))
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 0xaa))
(assert_return (invoke "load8" (i32.const 65534)) (i32.const 0x07))

;; Overlapping copies move as memmove does.
(assert_return (invoke "copy" (i32.const 1) (i32.const 0) (i32.const 7)))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0706050403020101))
(assert_return (invoke "copy" (i32.const 0) (i32.const 1) (i32.const 7)))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0707060504030201))

;; A memory of no pages: only zero lengths at 0.
(module
  (memory 0)
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2))))
(assert_return (invoke "fill" (i32.const 0) (i32.const 0x55) (i32.const 0)))
(assert_return (invoke "copy" (i32.const 0) (i32.const 0) (i32.const 0)))
(assert_trap (invoke "fill" (i32.const 1) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0) (i32.const 0x55) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 1) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 1) (i32.const 0) (i32.const 0)) "out of bounds memory access")

;; A 64-bit memory of one page.
(module
  (memory i64 1)
  (data (i64.const 0) "\01\02\03\04\05\06\07\08")
  (func (export "fill") (param i64 i32 i64)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load (local.get 0))))

(assert_return (invoke "fill" (i64.const 65536) (i32.const 0x55) (i64.const 0)))
(assert_trap (invoke "fill" (i64.const 65537) (i32.const 0x55) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const -1) (i32.const 0x55) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 0x1_0000_0000) (i32.const 0x55) (i64.const 0)) "out of bounds memory access")
(assert_return (invoke "copy" (i64.const 65536) (i64.const 65536) (i64.const 0)))
(assert_trap (invoke "copy" (i64.const 65537) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0) (i64.const 65537) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0) (i64.const -1) (i64.const 0)) "out of bounds memory access")

;; index + len wraps around 2^64 (to 1, to 0, to 0x10): trap, nothing
;; written.
(assert_trap (invoke "fill" (i64.const -1) (i32.const 0x55) (i64.const 2)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const -8) (i32.const 0x55) (i64.const 8)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 16) (i32.const 0x55) (i64.const -16)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 1) (i32.const 0x55) (i64.const -1)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 0x20) (i32.const 0x55) (i64.const -0x10)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const -1) (i64.const 0) (i64.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0) (i64.const -1) (i64.const 2)) "out of bounds memory access")
;; Both ranges wrap (their ends 0x10 and 0): a memmove of 2^64 - 16 bytes
;; unless the overflow is caught.
(assert_trap (invoke "copy" (i64.const 0x20) (i64.const 0x10) (i64.const -0x10)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0x10) (i64.const 0x20) (i64.const -0x10)) "out of bounds memory access")
(assert_return (invoke "load64" (i64.const 0)) (i64.const 0x0807060504030201))
(assert_return (invoke "load64" (i64.const 8)) (i64.const 0))
(assert_return (invoke "load64" (i64.const 16)) (i64.const 0))
(assert_return (invoke "load64" (i64.const 32)) (i64.const 0))
(assert_return (invoke "load64" (i64.const 65528)) (i64.const 0))

;; An index past 4 GiB is not taken modulo 2^32.
(assert_trap (invoke "fill" (i64.const 0x1_0000_0000) (i32.const 0x55) (i64.const 1)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0x1_0000_0000) (i64.const 0) (i64.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 8) (i64.const 0x1_0000_0000) (i64.const 8)) "out of bounds memory access")
(assert_return (invoke "load64" (i64.const 0)) (i64.const 0x0807060504030201))
(assert_return (invoke "load64" (i64.const 8)) (i64.const 0))

;; One range in bounds, the other one byte past the end.
(assert_trap (invoke "copy" (i64.const 65529) (i64.const 0) (i64.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 8) (i64.const 65529) (i64.const 8)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const 65529) (i32.const 0x55) (i64.const 8)) "out of bounds memory access")
(assert_return (invoke "load64" (i64.const 65528)) (i64.const 0))
(assert_return (invoke "load64" (i64.const 8)) (i64.const 0))
(assert_return (invoke "copy" (i64.const 65528) (i64.const 0) (i64.const 8)))
(assert_return (invoke "load64" (i64.const 65528)) (i64.const 0x0807060504030201))
(assert_return (invoke "fill" (i64.const 65535) (i32.const 0x55) (i64.const 1)))
(assert_return (invoke "load8" (i64.const 65535)) (i32.const 0x55))

;; Copies between a 32-bit and a 64-bit memory: the length is an i32,
;; zero-extended; each index is checked against its own memory.
(module
  (memory $m32 1)
  (memory $m64 i64 1)
  (data (memory $m32) (i32.const 0) "\01\02\03\04\05\06\07\08")
  (data (memory $m64) (i64.const 0) "\11\12\13\14\15\16\17\18")
  (func (export "copy32to64") (param i64 i32 i32)
    (memory.copy $m64 $m32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy64to32") (param i32 i64 i32)
    (memory.copy $m32 $m64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load32") (param i32) (result i64) (i64.load $m32 (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load $m64 (local.get 0))))

;; Into the 64-bit memory.
(assert_return (invoke "copy32to64" (i64.const 65536) (i32.const 65536) (i32.const 0)))
(assert_trap (invoke "copy32to64" (i64.const 65537) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 0) (i32.const 65537) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const -1) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const -8) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 0x1_0000_0000) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 1) (i32.const 1) (i32.const -1)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 65529) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 8) (i32.const 65529) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy32to64" (i64.const 8) (i32.const -1) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "load64" (i64.const 0)) (i64.const 0x1817161514131211))
(assert_return (invoke "load64" (i64.const 8)) (i64.const 0))
(assert_return (invoke "load64" (i64.const 65528)) (i64.const 0))
(assert_return (invoke "copy32to64" (i64.const 65528) (i32.const 0) (i32.const 8)))
(assert_return (invoke "load64" (i64.const 65528)) (i64.const 0x0807060504030201))

;; Into the 32-bit memory.
(assert_return (invoke "copy64to32" (i32.const 65536) (i64.const 65536) (i32.const 0)))
(assert_trap (invoke "copy64to32" (i32.const 65537) (i64.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 0) (i64.const 65537) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 8) (i64.const -1) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 8) (i64.const -8) (i32.const 8)) "out of bounds memory access")
;; Upper half set, lower half 0: not truncated to 32 bits.
(assert_trap (invoke "copy64to32" (i32.const 8) (i64.const 0xffff_ffff_0000_0000) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 8) (i64.const 0x1_0000_0000) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const -1) (i64.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 1) (i64.const 1) (i32.const -1)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 65529) (i64.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "copy64to32" (i32.const 8) (i64.const 65529) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load32" (i32.const 0)) (i64.const 0x0807060504030201))
(assert_return (invoke "load32" (i32.const 8)) (i64.const 0))
(assert_return (invoke "load32" (i32.const 65528)) (i64.const 0))
(assert_return (invoke "copy64to32" (i32.const 65528) (i64.const 0) (i32.const 8)))
(assert_return (invoke "load32" (i32.const 65528)) (i64.const 0x1817161514131211))

;; Two 32-bit memories of different sizes: each range against its own
;; memory's length.
(module
  (memory $a 1)
  (memory $b 2)
  (data (memory $a) (i32.const 0) "\01\02\03\04\05\06\07\08")
  (data (memory $b) (i32.const 65600) "\21\22\23\24\25\26\27\28")
  (func (export "a<-b") (param i32 i32 i32)
    (memory.copy $a $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "b<-a") (param i32 i32 i32)
    (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill-a") (param i32 i32 i32)
    (memory.fill $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill-b") (param i32 i32 i32)
    (memory.fill $b (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load-a") (param i32) (result i64) (i64.load $a (local.get 0)))
  (func (export "load-b") (param i32) (result i64) (i64.load $b (local.get 0))))

(assert_return (invoke "b<-a" (i32.const 131064) (i32.const 0) (i32.const 8)))
(assert_return (invoke "load-b" (i32.const 131064)) (i64.const 0x0807060504030201))
(assert_trap (invoke "b<-a" (i32.const 131065) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "b<-a" (i32.const 0) (i32.const 65600) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "a<-b" (i32.const 65600) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "a<-b" (i32.const 65528) (i32.const 65600) (i32.const 8)))
(assert_return (invoke "load-a" (i32.const 65528)) (i64.const 0x2827262524232221))
(assert_trap (invoke "a<-b" (i32.const 8) (i32.const 131065) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load-a" (i32.const 8)) (i64.const 0))
(assert_return (invoke "fill-b" (i32.const 131071) (i32.const 0x55) (i32.const 1)))
(assert_trap (invoke "fill-a" (i32.const 65600) (i32.const 0x55) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "fill-a" (i32.const 65536) (i32.const 0x55) (i32.const 0)))
(assert_return (invoke "fill-b" (i32.const 131072) (i32.const 0x55) (i32.const 0)))
(assert_trap (invoke "fill-a" (i32.const 65537) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill-b" (i32.const 131073) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")

;; memory.grow earlier in the same function: the range checks after it see
;; the new length, though the function loaded the old one before.
(module $grower
  (memory (export "mem") 1 3)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow-fill-copy") (result i32)
    (local $end i32)
    (local.set $end (i32.shl (memory.size) (i32.const 16)))
    ;; Load the length (and use it) before growing.
    (memory.fill (i32.sub (local.get $end) (i32.const 1)) (i32.const 0xaa) (i32.const 1))
    (memory.copy (i32.sub (local.get $end) (i32.const 2)) (i32.sub (local.get $end) (i32.const 1)) (i32.const 1))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (local.get $end) (i32.const 0xbb) (i32.const 65536))
    (memory.copy (i32.add (local.get $end) (i32.const 65535)) (i32.sub (local.get $end) (i32.const 2)) (i32.const 1))
    (i32.load8_u (i32.add (local.get $end) (i32.const 65535))))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))

(assert_return (invoke "grow-fill-copy") (i32.const 0xaa))
(assert_return (invoke "load8" (i32.const 131071)) (i32.const 0xaa))
(assert_return (invoke "load8" (i32.const 65536)) (i32.const 0xbb))
(assert_return (invoke "grow-fill-copy") (i32.const 0xaa))
(assert_return (invoke "load8" (i32.const 196607)) (i32.const 0xaa))
;; At the maximum: the grow fails and the fill past the end traps, after
;; the fill and copy before the grow (which were in bounds) took effect.
(assert_trap (invoke "grow-fill-copy") "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 196606)) (i32.const 0xaa))
(assert_return (invoke "load8" (i32.const 196605)) (i32.const 0xbb))

;; The same through a loop, on a fresh memory.
(module
  (memory 1 4)
  (func (export "grow-loop") (param $n i32) (result i32)
    (local $old i32)
    (loop $l
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 1))
      (local.set $old (memory.grow (i32.const 1)))
      (memory.fill (i32.shl (local.get $old) (i32.const 16)) (i32.const 0xcc) (i32.const 65536))
      (memory.copy (i32.const 0) (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 1)) (i32.const 1))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.load8_u (i32.const 0)))
  (func (export "size") (result i32) (memory.size)))
(assert_return (invoke "grow-loop" (i32.const 3)) (i32.const 0xcc))
(assert_return (invoke "size") (i32.const 4))
;; The fourth grow fails: memory.grow returns -1, the fill at 0xffff0000
;; traps.
(assert_trap (invoke "grow-loop" (i32.const 1)) "out of bounds memory access")

;; Grown by another instance, through a call, between two fills.
(module $grower2
  (memory (export "mem") 1 3)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
(register "grower2" $grower2)
(module $user2
  (import "grower2" "mem" (memory 1 3))
  (import "grower2" "grow" (func $grow (param i32) (result i32)))
  (func (export "fill-grow-fill") (result i32)
    (local $end i32)
    (local.set $end (i32.shl (memory.size) (i32.const 16)))
    (memory.fill (i32.sub (local.get $end) (i32.const 1)) (i32.const 0x11) (i32.const 1))
    (drop (call $grow (i32.const 1)))
    (memory.fill (local.get $end) (i32.const 0x22) (i32.const 65536))
    (memory.copy (i32.sub (local.get $end) (i32.const 2)) (i32.sub (local.get $end) (i32.const 1)) (i32.const 2))
    (i32.load8_u (i32.add (local.get $end) (i32.const 65535))))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))
(assert_return (invoke $user2 "fill-grow-fill") (i32.const 0x22))
(assert_return (invoke $user2 "load8" (i32.const 65534)) (i32.const 0x11))
(assert_return (invoke $user2 "load8" (i32.const 65535)) (i32.const 0x22))
(assert_return (invoke $user2 "fill-grow-fill") (i32.const 0x22))
(assert_trap (invoke $user2 "fill-grow-fill") "out of bounds memory access")
(assert_return (invoke $user2 "load8" (i32.const 196607)) (i32.const 0x11))

;; A 64-bit memory grown in the same function.
(module
  (memory i64 1 2)
  (func (export "grow-fill") (result i64)
    (local $end i64)
    (local.set $end (i64.shl (memory.size) (i64.const 16)))
    (memory.fill (i64.sub (local.get $end) (i64.const 1)) (i32.const 0x33) (i64.const 1))
    (drop (memory.grow (i64.const 1)))
    (memory.fill (local.get $end) (i32.const 0x44) (i64.const 65536))
    (memory.copy (i64.add (local.get $end) (i64.const 65535)) (i64.sub (local.get $end) (i64.const 1)) (i64.const 1))
    (i64.load (i64.add (local.get $end) (i64.const 65528)))))
(assert_return (invoke "grow-fill") (i64.const 0x3344444444444444))
(assert_trap (invoke "grow-fill") "out of bounds memory access")

;; A shared memory: its length is loaded without an alias region.
(module
  (memory 1 2 shared)
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow-fill") (result i32)
    (local $end i32)
    (local.set $end (i32.shl (memory.size) (i32.const 16)))
    (memory.fill (i32.sub (local.get $end) (i32.const 1)) (i32.const 0x66) (i32.const 1))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (local.get $end) (i32.const 0x77) (i32.const 65536))
    (memory.copy (i32.add (local.get $end) (i32.const 65535)) (i32.sub (local.get $end) (i32.const 1)) (i32.const 1))
    (i32.load8_u (i32.add (local.get $end) (i32.const 65535))))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))
(assert_return (invoke "fill" (i32.const 65536) (i32.const 0x55) (i32.const 0)))
(assert_trap (invoke "fill" (i32.const 65537) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 65535) (i32.const 0x55) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65535) (i32.const 2)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const -1) (i32.const 0x55) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 0))
(assert_return (invoke "load8" (i32.const 0)) (i32.const 0))
(assert_return (invoke "grow-fill") (i32.const 0x66))
(assert_return (invoke "load8" (i32.const 65536)) (i32.const 0x77))
(assert_return (invoke "fill" (i32.const 131072) (i32.const 0x55) (i32.const 0)))
(assert_trap (invoke "fill" (i32.const 131073) (i32.const 0x55) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "grow-fill") "out of bounds memory access")
