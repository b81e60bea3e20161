;; A block with two params and two results, left early by br_if: the block's
;; end becomes a Cranelift block with two parameters, reached from the branch
;; (with the params unchanged) and from the fallthrough (with the sum and 7).
(module
  (func (param i32 i32 i32) (result i32 i32)
    local.get 0
    local.get 1
    (block (param i32 i32) (result i32 i32)
      local.get 2
      br_if 0
      i32.add
      i32.const 7)))
