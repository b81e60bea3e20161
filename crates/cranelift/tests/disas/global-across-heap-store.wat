;; Alias regions: linear memory, each defined global, imported globals and
;; table elements are disjoint, so a global read again after a store to
;; linear memory is the value read before (C's stack pointer global around
;; stores to the shadow stack); a store to an imported global still makes
;; the next read load again.
(module
  (import "env" "g" (global $imported (mut i32)))
  (global $sp (mut i32) (i32.const 1024))
  (memory 1)
  (func (param i32) (result i32)
    (i32.store (global.get $sp) (local.get 0))
    (i32.store offset=4 (global.get $sp) (local.get 0))
    (global.set $imported (local.get 0))
    (i32.add (global.get $sp) (global.get $imported))))
