;; A 4-byte load at offset 16 from a 32-bit memory needs no bounds check:
;; the index is below 4 GiB (the reservation) and offset + size = 20 fits in
;; the 32 MiB guard, so the address is base + uextend(index) + 16 and an
;; out-of-bounds access faults on a guard page. tests/disas.rs also asserts
;; that the CLIF has a `uextend` and no `icmp`, `select_spectre_guard` or trap.
(module
  (memory 1)
  (func (param i32) (result i32)
    local.get 0
    i32.load offset=16))
