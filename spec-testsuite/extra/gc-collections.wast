;; GC objects across collections: each function below allocates tens of
;; megabytes of garbage (the heap starts at 1 MiB, so it collects and
;; grows many times) while references live in locals, operand stacks,
;; globals, tables, exception payloads, tail calls and struct fields, then
;; checks what they point at. Identity (ref.eq) and types (casts) must
;; survive objects moving.

(module
  (type $chars (array (mut i8)))
  (type $base (sub (struct (field $tag i32))))
  (type $point (sub $base (struct (field $tag i32) (field $x (mut f64)) (field $y (mut f64)))))
  (type $named (sub final $point (struct (field $tag i32) (field $x (mut f64)) (field $y (mut f64)) (field $name (ref $chars)))))
  (type $row (array (mut anyref)))
  (type $grid (array (mut (ref null $row))))
  (type $holder (struct (field $f (mut funcref)) (field $any (mut anyref)) (field $ext (mut externref))))
  (type $fn (func (param i32) (result i32)))
  (tag $carry (param (ref $point) anyref))

  (global $keep (mut anyref) (ref.null any))
  (table $t 4 anyref)

  ;; 1000 * n bytes of garbage in small arrays, in between the work.
  (func $garbage (param $n i32)
    (local $i i32)
    (loop $l
      (drop (array.new_default $chars (i32.const 1000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))

  (func $double (type $fn) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $double)

  (func $point (param $x f64) (param $y f64) (result (ref $point))
    (struct.new $point (i32.const 1) (local.get $x) (local.get $y)))

  ;; Two references to one object, one in a local and one on the operand
  ;; stack across calls that collect: still the same object.
  (func (export "identity") (result i32)
    (local $p (ref $point))
    (local.set $p (call $point (f64.const 1) (f64.const 2)))
    (global.set $keep (local.get $p))
    (table.set $t (i32.const 1) (local.get $p))
    (local.get $p)
    (call $garbage (i32.const 20000))
    ;; The operand stack's copy and the global's.
    (ref.eq (ref.cast (ref eq) (global.get $keep)))
    ;; The global's and the table's.
    (ref.eq (ref.cast (ref eq) (global.get $keep))
            (ref.cast (ref eq) (table.get $t (i32.const 1))))
    (i32.and))

  ;; Subtyping: a $named seen as $base survives and casts back.
  (func (export "casts") (result f64)
    (local $b (ref null $base)) (local $sum f64) (local $i i32)
    (loop $l
      (local.set $b
        (if (result (ref $base)) (i32.and (local.get $i) (i32.const 1))
          (then (struct.new $named (i32.const 2) (f64.convert_i32_u (local.get $i)) (f64.const 0.5)
                  (array.new_fixed $chars 2 (i32.const 104) (i32.const 105))))
          (else (call $point (f64.convert_i32_u (local.get $i)) (f64.const 0.25)))))
      (call $garbage (i32.const 200))
      (block $not_named (result (ref null $base))
        (local.set $sum (f64.add (local.get $sum)
          (f64.convert_i32_u (array.get_u $chars
            (struct.get $named $name (br_on_cast_fail $not_named (ref null $base) (ref $named) (local.get $b)))
            (i32.const 1)))))
        (local.get $b))
      (drop)
      (local.set $sum (f64.add (local.get $sum)
        (struct.get $point $y (ref.cast (ref $point) (local.get $b)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
    (local.get $sum))

  ;; A grid of rows of mixed anyrefs (i31s, points, host values).
  (func (export "grid") (param $host externref) (result i32)
    (local $g (ref $grid)) (local $r i32) (local $c i32) (local $sum i32) (local $v anyref)
    (local.set $g (array.new_default $grid (i32.const 50)))
    (loop $rows
      (array.set $grid (local.get $g) (local.get $r) (array.new_default $row (i32.const 50)))
      (local.set $c (i32.const 0))
      (loop $cols
        (array.set $row (ref.as_non_null (array.get $grid (local.get $g) (local.get $r))) (local.get $c)
          (if (result anyref) (i32.and (local.get $c) (i32.const 1))
            (then (ref.i31 (i32.add (local.get $r) (local.get $c))))
            (else (if (result anyref) (i32.eqz (local.get $c))
              (then (any.convert_extern (local.get $host)))
              (else (call $point (f64.convert_i32_u (local.get $r)) (f64.convert_i32_u (local.get $c))))))))
        (call $garbage (i32.const 10))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $c) (i32.const 50))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $r) (i32.const 50))))
    (call $garbage (i32.const 5000))
    (local.set $r (i32.const 0))
    (loop $rows
      (local.set $c (i32.const 0))
      (loop $cols
        (local.set $v (array.get $row (ref.as_non_null (array.get $grid (local.get $g) (local.get $r))) (local.get $c)))
        (local.set $sum (i32.add (local.get $sum)
          (if (result i32) (ref.test (ref i31) (local.get $v))
            (then (i31.get_u (ref.cast (ref i31) (local.get $v))))
            (else (if (result i32) (ref.test (ref $point) (local.get $v))
              (then (i32.trunc_f64_u (f64.add
                (struct.get $point $x (ref.cast (ref $point) (local.get $v)))
                (struct.get $point $y (ref.cast (ref $point) (local.get $v))))))
              (else (i32.const 1000)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $c) (i32.const 50))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $r) (i32.const 50))))
    (local.get $sum))

  ;; Exception payloads, caught after collections.
  (func $thrower (param $n i32)
    (call $garbage (i32.const 100))
    (throw $carry (call $point (f64.convert_i32_u (local.get $n)) (f64.const 1))
      (ref.i31 (local.get $n))))
  (func (export "exceptions") (result f64)
    (local $i i32) (local $sum f64) (local $p (ref null $point)) (local $a anyref)
    (loop $l
      (block $caught (result (ref $point) anyref)
        (try_table (catch $carry $caught) (call $thrower (local.get $i)))
        (unreachable))
      (call $garbage (i32.const 50))
      (local.set $a)
      (local.set $p)
      (local.set $sum (f64.add (local.get $sum)
        (f64.convert_i32_u (i31.get_u (ref.cast (ref i31) (local.get $a))))))
      (local.set $sum (f64.add (local.get $sum) (struct.get $point $x (local.get $p))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
    (local.get $sum))

  ;; Tail calls carrying references.
  (func $count (param $p (ref $point)) (param $n i32) (result f64)
    (if (result f64) (i32.eqz (local.get $n))
      (then (struct.get $point $x (local.get $p)))
      (else
        (call $garbage (i32.const 20))
        (return_call $count
          (call $point (f64.add (struct.get $point $x (local.get $p)) (f64.const 1)) (f64.const 0))
          (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "tail") (result f64)
    (return_call $count (call $point (f64.const 0) (f64.const 0)) (i32.const 300)))

  ;; Function references, anyrefs and externrefs in struct fields.
  (func (export "holder") (param $host externref) (result i32)
    (local $h (ref $holder))
    (local.set $h (struct.new $holder (ref.func $double)
      (struct.new $point (i32.const 3) (f64.const 4) (f64.const 5))
      (local.get $host)))
    (call $garbage (i32.const 10000))
    (i32.add
      (call_ref $fn (i32.const 21) (ref.cast (ref $fn) (struct.get $holder $f (local.get $h))))
      (i32.add
        (struct.get $point $tag (ref.cast (ref $point) (struct.get $holder $any (local.get $h))))
        (ref.is_null (struct.get $holder $ext (local.get $h))))))

  ;; The same extern comes back out of the object.
  (func (export "extern-back") (param $host externref) (result externref)
    (local $h (ref $holder))
    (local.set $h (struct.new $holder (ref.null func) (ref.null any) (local.get $host)))
    (call $garbage (i32.const 5000))
    (struct.get $holder $ext (local.get $h)))
)

(assert_return (invoke "identity") (i32.const 1))
(assert_return (invoke "casts") (f64.const 5287.5))
(assert_return (invoke "grid" (ref.extern 7)) (i32.const 171275))
(assert_return (invoke "exceptions") (f64.const 2450))
(assert_return (invoke "tail") (f64.const 300))
(assert_return (invoke "holder" (ref.extern 1)) (i32.const 45))
(assert_return (invoke "extern-back" (ref.extern 3)) (ref.extern 3))
