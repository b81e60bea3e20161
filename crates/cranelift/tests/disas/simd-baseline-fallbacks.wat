;; SIMD on the x86_64 baseline (SSE2 only: no SSSE3, no SSE4.1), where
;; Cranelift would lower some operators with libcalls, which hoist does not
;; link; the translator takes its fallbacks instead (see translate/simd.rs).
;; Function 0: a shuffle of whole 32-bit lanes stays a `shuffle` (pshufd).
;; Function 1: a byte reversal would need pshufb: byte by byte through a
;; stack slot. Function 2: swizzle, likewise. Function 3: f32x4.ceil calls
;; the scalar ceil builtin once per lane.
(module
  (func (param v128) (result v128)
    (i8x16.shuffle 12 13 14 15 8 9 10 11 4 5 6 7 0 1 2 3 (local.get 0) (local.get 0)))
  (func (param v128) (result v128)
    (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get 0) (local.get 0)))
  (func (param v128 v128) (result v128)
    (i8x16.swizzle (local.get 0) (local.get 1)))
  (func (param v128) (result v128)
    (f32x4.ceil (local.get 0))))
