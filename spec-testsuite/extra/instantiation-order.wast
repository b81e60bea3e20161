;; A failed instantiation's functions stay reachable through the funcrefs
;; that its element segments left in an imported table. Data segments come
;; after every element segment, in module order: a memory whose segments
;; were not reached reads as zeros, even when hoist would write those
;; segments as one memory image.

(module $Mt (table (export "tab") 2 funcref))
(register "Mt" $Mt)

;; An element segment traps: no data segment was written.
(assert_trap
  (module
    (table (import "Mt" "tab") 2 funcref)
    (memory 1)
    (data (i32.const 0) "\2a")
    (func $f (result i32) (i32.load8_u (i32.const 0)))
    (elem (i32.const 0) $f)
    (elem (i32.const 2) $f))
  "out of bounds table access")
(module
  (table (import "Mt" "tab") 2 funcref)
  (type $t (func (result i32)))
  (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0))))
(assert_return (invoke "call0") (i32.const 0))

;; Multi-memory: memory $b's segment traps; memory $a's segment after it
;; was not written, and its segment before it was.
(module $Mt2 (table (export "tab") 2 funcref))
(register "Mt2" $Mt2)
(assert_trap
  (module
    (table (import "Mt2" "tab") 2 funcref)
    (memory $a 1)
    (memory $b 1)
    (func $early (result i32) (i32.load8_u $a (i32.const 0)))
    (func $late (result i32) (i32.load8_u $a (i32.const 100)))
    (elem (i32.const 0) $early $late)
    (data (memory $a) (i32.const 0) "\2a")
    (data (memory $b) (i32.const 65536) "x")
    (data (memory $a) (i32.const 100) "\2b"))
  "out of bounds memory access")
(module
  (table (import "Mt2" "tab") 2 funcref)
  (type $t (func (result i32)))
  (func (export "early") (result i32) (call_indirect (type $t) (i32.const 0)))
  (func (export "late") (result i32) (call_indirect (type $t) (i32.const 1))))
(assert_return (invoke "early") (i32.const 42))
(assert_return (invoke "late") (i32.const 0))
