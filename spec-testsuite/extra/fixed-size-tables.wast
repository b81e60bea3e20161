;; Tables whose type fixes their size (minimum = maximum): compiled code
;; bounds-checks them against a constant and reads their base from a copy
;; in the vmctx. Imports typed that way must see the exporter's elements,
;; exactly as many as the type says, also after the exporter grew the
;; table to that size before the import.

(module $exporter
  (type $r (func (result i32)))
  (table $growable (export "growable") 2 3 funcref)
  (table $fixed (export "fixed") 3 3 funcref)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))
  (elem (table $growable) (i32.const 0) func $one $two)
  (elem (table $fixed) (i32.const 0) func $one $two $three)
  (func (export "grow") (result i32)
    (table.grow $growable (ref.func $three) (i32.const 1)))
  (func (export "call-growable") (param i32) (result i32)
    (call_indirect $growable (type $r) (local.get 0))))
(register "exporter" $exporter)

;; The table reallocates while it grows to its maximum; importers that
;; see it as fixed-size instantiate after that.
(assert_return (invoke $exporter "grow") (i32.const 2))
(assert_return (invoke $exporter "call-growable" (i32.const 2)) (i32.const 3))
(assert_return (invoke $exporter "grow") (i32.const -1))

(module $importer
  (type $r (func (result i32)))
  (import "exporter" "growable" (table $g 3 3 funcref))
  (import "exporter" "fixed" (table $f 3 3 funcref))
  (table $own 4 4 funcref)
  (elem (table $own) (i32.const 1) func $ten)
  (func $ten (result i32) (i32.const 10))
  (func (export "call-g") (param i32) (result i32)
    (call_indirect $g (type $r) (local.get 0)))
  (func (export "call-f") (param i32) (result i32)
    (call_indirect $f (type $r) (local.get 0)))
  (func (export "call-own") (param i32) (result i32)
    (call_indirect $own (type $r) (local.get 0)))
  (func (export "size-g") (result i32) (table.size $g))
  (func (export "size-own") (result i32) (table.size $own))
  (func (export "grow-own") (result i32)
    (table.grow $own (ref.null func) (i32.const 1)))
  (func (export "grow-own-0") (result i32)
    (table.grow $own (ref.null func) (i32.const 0)))
  (func (export "set-own") (param i32)
    (table.set $own (local.get 0) (ref.func $ten)))
  (func (export "get-own-is-null") (param i32) (result i32)
    (ref.is_null (table.get $own (local.get 0)))))

(assert_return (invoke "call-g" (i32.const 0)) (i32.const 1))
(assert_return (invoke "call-g" (i32.const 2)) (i32.const 3))
(assert_trap (invoke "call-g" (i32.const 3)) "undefined element")
(assert_return (invoke "call-f" (i32.const 1)) (i32.const 2))
(assert_trap (invoke "call-f" (i32.const 3)) "undefined element")
(assert_trap (invoke "call-f" (i32.const -1)) "undefined element")
(assert_return (invoke "call-own" (i32.const 1)) (i32.const 10))
(assert_trap (invoke "call-own" (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call-own" (i32.const 4)) "undefined element")
(assert_return (invoke "size-g") (i32.const 3))
(assert_return (invoke "size-own") (i32.const 4))
(assert_return (invoke "grow-own") (i32.const -1))
(assert_return (invoke "grow-own-0") (i32.const 4))
(assert_return (invoke "get-own-is-null" (i32.const 3)) (i32.const 1))
(invoke "set-own" (i32.const 3))
(assert_return (invoke "get-own-is-null" (i32.const 3)) (i32.const 0))
(assert_return (invoke "call-own" (i32.const 3)) (i32.const 10))
(assert_trap (invoke "set-own" (i32.const 4)) "out of bounds table access")

;; A table the importer declares fixed must not be bigger than that.
(module $big (table (export "t") 5 5 funcref))
(register "big" $big)
(assert_unlinkable
  (module (import "big" "t" (table 3 3 funcref)))
  "incompatible import type")

;; Empty fixed tables: every index is out of bounds.
(module
  (type $r (func (result i32)))
  (table 0 0 funcref)
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $r) (local.get 0)))
  (func (export "size") (result i32) (table.size 0)))
(assert_trap (invoke "call" (i32.const 0)) "undefined element")
(assert_return (invoke "size") (i32.const 0))

;; table64 with a fixed size: the bound is an i64 constant.
(module
  (type $r (func (result i32)))
  (table i64 2 2 funcref)
  (elem (i64.const 1) func $seven)
  (func $seven (result i32) (i32.const 7))
  (func (export "call") (param i64) (result i32)
    (call_indirect (type $r) (local.get 0)))
  (func (export "size") (result i64) (table.size 0)))
(assert_return (invoke "call" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "call" (i64.const 2)) "undefined element")
(assert_trap (invoke "call" (i64.const 0x1_0000_0001)) "undefined element")
(assert_return (invoke "size") (i64.const 2))
