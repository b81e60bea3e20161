;; The GC stress guest (tests/gc.rs): allocates many small structs and
;; arrays while keeping a fixed number alive, so the total allocated is
;; large (`run`'s `rounds` times the ring) and the live set stays about
;; the ring's size; `hoard` keeps everything, to exhaust any heap.
(module
  (type $bytes (array (mut i8)))
  (type $node (struct
    (field $id (mut i64))
    (field $data (ref $bytes))
    (field $prev (mut (ref null $node)))))
  (type $ring (array (mut (ref null $node))))

  ;; A node of `size` bytes of data, all `id mod 251`, pointing at `prev`.
  (func $node (param $id i64) (param $size i32) (param $prev (ref null $node)) (result (ref $node))
    (struct.new $node
      (local.get $id)
      (array.new $bytes (i32.wrap_i64 (i64.rem_u (local.get $id) (i64.const 251))) (local.get $size))
      (local.get $prev)))

  ;; Checks node `n` (made with `id`): its id and its data's first and
  ;; last bytes; 0 if wrong.
  (func $check (param $n (ref $node)) (param $id i64) (result i32)
    (local $data (ref $bytes)) (local $want i32)
    (local.set $data (struct.get $node $data (local.get $n)))
    (local.set $want (i32.wrap_i64 (i64.rem_u (local.get $id) (i64.const 251))))
    (i32.and
      (i64.eq (struct.get $node $id (local.get $n)) (local.get $id))
      (i32.and
        (i32.eq (array.get_u $bytes (local.get $data) (i32.const 0)) (local.get $want))
        (i32.eq
          (array.get_u $bytes (local.get $data)
            (i32.sub (array.len (local.get $data)) (i32.const 1)))
          (local.get $want)))))

  ;; `rounds` times over a ring of `live` slots: each slot gets a new node
  ;; (data 16 to 79 bytes) whose `prev` is the node it replaces, and that
  ;; one's `prev` is dropped, so two generations stay alive. Returns the
  ;; number of nodes made, after checking every live node.
  (func (export "run") (param $live i32) (param $rounds i32) (result i64)
    (local $ring (ref $ring)) (local $i i32) (local $r i32) (local $id i64)
    (local $old (ref null $node)) (local $n (ref $node))
    (local.set $ring (array.new_default $ring (local.get $live)))
    (loop $rounds_loop
      (local.set $i (i32.const 0))
      (loop $slots
        (local.set $old (array.get $ring (local.get $ring) (local.get $i)))
        (if (i32.eqz (ref.is_null (local.get $old)))
          (then (struct.set $node $prev (ref.as_non_null (local.get $old)) (ref.null $node))))
        (local.set $n
          (call $node (local.get $id)
            (i32.add (i32.const 16) (i32.wrap_i64 (i64.and (local.get $id) (i64.const 63))))
            (local.get $old)))
        (array.set $ring (local.get $ring) (local.get $i) (local.get $n))
        (local.set $id (i64.add (local.get $id) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $slots (i32.lt_u (local.get $i) (local.get $live))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rounds_loop (i32.lt_u (local.get $r) (local.get $rounds))))
    ;; Slot i holds node id - live + i, whose prev is id - 2*live + i.
    (local.set $i (i32.const 0))
    (loop $verify
      (local.set $n (ref.as_non_null (array.get $ring (local.get $ring) (local.get $i))))
      (if (i32.eqz (call $check (local.get $n)
            (i64.add (i64.sub (local.get $id) (i64.extend_i32_u (local.get $live)))
                     (i64.extend_i32_u (local.get $i)))))
        (then unreachable))
      (if (i32.gt_u (local.get $rounds) (i32.const 1))
        (then
          (if (i32.eqz (call $check
                (ref.as_non_null (struct.get $node $prev (local.get $n)))
                (i64.add (i64.sub (local.get $id) (i64.extend_i32_u (i32.shl (local.get $live) (i32.const 1))))
                         (i64.extend_i32_u (local.get $i)))))
            (then unreachable))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $verify (i32.lt_u (local.get $i) (local.get $live))))
    (local.get $id))

  ;; Keeps every node it makes (a list of `count` nodes of 64 bytes of
  ;; data): with a small enough heap, it runs out.
  (func (export "hoard") (param $count i32) (result i32)
    (local $list (ref null $node)) (local $i i32)
    (loop $more
      (local.set $list (call $node (i64.extend_i32_u (local.get $i)) (i32.const 64) (local.get $list)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $count))))
    (local.get $i))
)
