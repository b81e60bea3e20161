;; A shared memory can be grown by another thread at any time: its
;; `memory.size` is a sequentially consistent (atomic) load, never merged
;; with an earlier one, and its loads and stores carry no alias region, so
;; nothing is assumed about its length across them.
(module
  (memory 1 10 shared)
  (func (result i32) (local $n i32)
    (local.set $n (memory.size))
    (i32.store (i32.const 0) (local.get $n))
    (i32.add (local.get $n) (memory.size))))
