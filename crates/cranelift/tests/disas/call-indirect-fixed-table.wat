;; call_indirect through a table whose type fixes its size (minimum =
;; maximum, as LLVM emits for C and Rust): the bound is a constant and the
;; table's base one read-only load from the vmctx, not two loads through
;; its definition.
(module
  (type $binop (func (param i32 i32) (result i32)))
  (table 4 4 funcref)
  (func (param i32 i32 i32) (result i32)
    local.get 0
    local.get 1
    local.get 2
    call_indirect (type $binop)))
