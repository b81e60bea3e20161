;; An i64x2 built from two i64s, as argon2 builds its BLAKE2b rows: a
;; `v128.load64_splat` then a `v128.load64_lane 1`, and an `i64x2.splat`
;; then an `i64x2.replace_lane 1`. Lane 0 is moved in and lane 1 inserted
;; (`movq`, `pinsrq`), with no shuffle to fill lane 1 first.
(module
  (memory 1)
  (func (param i32 i32) (result v128)
    (v128.load64_lane 1 (local.get 1) (v128.load64_splat (local.get 0))))
  (func (param i64 i64) (result v128)
    (i64x2.replace_lane 1 (i64x2.splat (local.get 0)) (local.get 1))))
