;; memory.copy and memory.fill check their ranges inline (index + len
;; against the current length, trapping before anything is written) and
;; call a builtin on native addresses that returns nothing: a status result
;; held a register at every call, which in big functions tipped the
;; allocator into spilling the vmctx for the whole function.
(module
  (memory 1)
  (memory i64 1)
  (func (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.copy)
  (func (param i32 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.fill)
  ;; From a 32-bit memory to a 64-bit one: the length is 32-bit.
  (func (param i64 i32 i32)
    local.get 0
    local.get 1
    local.get 2
    memory.copy 1 0))
