;; `if` without `else`: the branch's false edge goes straight to the block
;; after `end` (no block that only jumps on, which the register allocator
;; would reload spilled values around); with an `else`, that edge is moved
;; to the else arm's block when the `else` is met; and an `if` whose
;; parameters' types differ from its results' gets its else block up front.
(module
  (func (param i32 i32) (result i32)
    (if (local.get 0)
      (then (local.set 1 (i32.add (local.get 1) (i32.const 7)))))
    (local.get 1))
  (func (param i32 i32) (result i32)
    (local.get 1)
    (if (param i32) (result i32) (local.get 0)
      (then (i32.const 1) (i32.add))
      (else (i32.const 2) (i32.sub))))
  (func (param i32) (result i64)
    (local.get 0)
    (if (param i32) (result i64) (local.get 0)
      (then (i64.extend_i32_u))
      (else (drop) (i64.const -1)))))
