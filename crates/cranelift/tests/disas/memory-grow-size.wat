;; memory.grow calls the MemoryGrow builtin through the vmctx's builtin array
;; (delta zero-extended to i64, old size reduced back to i32). memory.size
;; loads the current length and shifts it to pages; the length may change
;; across the grow, so the second memory.size must load it again.
(module
  (memory 1)
  (func (param i32) (result i32)
    local.get 0
    memory.grow)
  (func (param i32) (result i32 i32)
    memory.size
    local.get 0
    memory.grow
    drop
    memory.size))
