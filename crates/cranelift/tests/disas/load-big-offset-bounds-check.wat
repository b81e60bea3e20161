;; A load at offset 0x10000000 (256 MiB) reaches past the 32 MiB guard, so
;; it is checked explicitly: uextend(index) + offset + 4 is compared with the
;; current length, and `select_spectre_guard` makes the address null when out
;; of bounds (the load then faults on the null page). tests/disas.rs also
;; asserts that the CLIF has the `icmp` and the `select_spectre_guard`.
(module
  (memory 1)
  (func (param i32) (result i32)
    local.get 0
    i32.load offset=0x10000000))
