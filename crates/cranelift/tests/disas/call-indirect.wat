;; call_indirect through a table: the index is compared with the table's
;; current size (trap: undefined element), a null funcref faults on the
;; type-id load (uninitialized element), and the type id must equal the
;; expected one from the vmctx (indirect call type mismatch); then the call
;; passes the callee's vmctx and ours ahead of the wasm arguments.
(module
  (type $binop (func (param i32 i32) (result i32)))
  (table 4 funcref)
  (func (param i32 i32 i32) (result i32)
    local.get 0
    local.get 1
    local.get 2
    call_indirect (type $binop)))
