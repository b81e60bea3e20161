;; Globals: an imported mutable global is reached through a pointer stored in
;; the vmctx (a read-only load), a defined one lives inline in the vmctx.
;; Function 0 reads both and writes the defined one; function 1 increments the
;; imported one in a loop, where the pointer load should be hoisted out of
;; the loop while the value itself is loaded and stored each iteration.
(module
  (import "env" "g" (global $imported (mut i32)))
  (global $defined (mut i32) (i32.const 0))
  (func (result i32)
    global.get $imported
    global.get $defined
    i32.add
    global.set $defined
    global.get $defined)
  (func (param i32)
    (loop $again
      global.get $imported
      i32.const 1
      i32.add
      global.set $imported
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      br_if $again)))
