;; The legacy exception-handling encoding (try/catch/catch_all/delegate/
;; rethrow), which older LLVM and emscripten still emit. The spec suite has
;; no scripts for it; these follow the legacy proposal's semantics.

(module
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (func $throw0 (throw $e0))
  (func $throw1 (param i32) (throw $e1 (local.get 0)))

  ;; catch with a payload
  (func (export "catch-payload") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $throw1
      i32.const 0
    catch $e1
      i32.const 100
      i32.add
    end)

  ;; clauses are tried in order; catch_all takes the rest
  (func (export "clauses") (param i32) (result i32)
    try (result i32)
      (if (i32.eq (local.get 0) (i32.const 0)) (then (throw $e0)))
      (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e1 (i32.const 7))))
      (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $e2 (i32.const 8) (i64.const 9))))
      i32.const -1
    catch $e0
      i32.const 10
    catch $e1
      drop
      i32.const 11
    catch_all
      i32.const 12
    end)

  ;; no matching clause: the exception goes on to the outer try
  (func (export "no-match") (result i32)
    try (result i32)
      try (result i32)
        call $throw0
        i32.const 0
      catch $e1
        drop
        i32.const 1
      end
    catch $e0
      i32.const 2
    end)

  ;; rethrow from a catch clause, caught outside
  (func (export "rethrow") (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 5))
        i32.const 0
      catch $e1
        drop
        rethrow 0
      end
    catch $e1
    end)

  ;; rethrow of an outer catch's exception from an inner catch
  (func (export "rethrow-outer") (result i32)
    try (result i32)
      try (result i32)
        (call $throw1 (i32.const 3))
        i32.const 0
      catch $e1
        drop
        try (result i32)
          call $throw0
          i32.const 0
        catch $e0
          rethrow 1
        end
      end
    catch $e1
      i32.const 1000
      i32.add
    end)

  ;; delegate to an outer try skips the try in between
  (func (export "delegate-outer") (result i32)
    try $outer (result i32)
      try (result i32)
        try (result i32)
          call $throw0
          i32.const 0
        delegate $outer
      catch $e0
        i32.const 1
      end
    catch $e0
      i32.const 2
    end)

  ;; delegate 0 goes to the enclosing try
  (func (export "delegate-0") (result i32)
    try (result i32)
      try (result i32)
        call $throw0
        i32.const 0
      delegate 0
    catch_all
      i32.const 3
    end)

  ;; delegate to the function's label: out to the caller
  (func $delegate-out (result i32)
    try (result i32)
      call $throw0
      i32.const 0
    delegate 0)
  (func (export "delegate-function") (result i32)
    try (result i32)
      call $delegate-out
    catch $e0
      i32.const 4
    end)

  ;; a throw inside a catch clause is not caught by the same try
  (func (export "throw-in-catch") (result i32)
    try (result i32)
      try (result i32)
        call $throw0
        i32.const 0
      catch $e0
        (call $throw1 (i32.const 6))
        i32.const 0
      end
    catch $e1
    end)

  ;; nothing thrown: the body's value
  (func (export "no-throw") (result i32)
    try (result i32)
      i32.const 42
    catch_all
      i32.const 0
    end)

  ;; uncaught
  (func (export "uncaught") (call $throw0))

  ;; br out of a try body and out of a catch clause
  (func (export "br-out") (param i32) (result i32)
    block $b (result i32)
      try (result i32)
        (drop (br_if $b (i32.const 20) (local.get 0)))
        call $throw0
        i32.const 0
      catch $e0
        (br $b (i32.const 21))
      end
    end)

  ;; many throws in a loop (the exception heap collects)
  (func (export "loop") (param i32) (result i32) (local $sum i32)
    block $done
      loop $l
        (br_if $done (i32.eqz (local.get 0)))
        try
          (call $throw1 (local.get 0))
        catch $e1
          (local.set $sum (i32.add (local.get $sum)))
        end
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        br $l
      end
    end
    local.get $sum)

  ;; legacy and try_table in one function
  (func (export "mixed") (result i32)
    block $h (result i32)
      try_table (catch $e1 $h)
        try
          (call $throw1 (i32.const 77))
        catch $e0
        end
      end
      i32.const 0
    end)
)

(assert_return (invoke "catch-payload" (i32.const 5)) (i32.const 105))
(assert_return (invoke "clauses" (i32.const 0)) (i32.const 10))
(assert_return (invoke "clauses" (i32.const 1)) (i32.const 11))
(assert_return (invoke "clauses" (i32.const 2)) (i32.const 12))
(assert_return (invoke "clauses" (i32.const 3)) (i32.const -1))
(assert_return (invoke "no-match") (i32.const 2))
(assert_return (invoke "rethrow") (i32.const 5))
(assert_return (invoke "rethrow-outer") (i32.const 1003))
(assert_return (invoke "delegate-outer") (i32.const 2))
(assert_return (invoke "delegate-0") (i32.const 3))
(assert_return (invoke "delegate-function") (i32.const 4))
(assert_return (invoke "throw-in-catch") (i32.const 6))
(assert_return (invoke "no-throw") (i32.const 42))
(assert_exception (invoke "uncaught"))
(assert_return (invoke "br-out" (i32.const 1)) (i32.const 20))
(assert_return (invoke "br-out" (i32.const 0)) (i32.const 21))
(assert_return (invoke "loop" (i32.const 100000)) (i32.const 705082704))
(assert_return (invoke "mixed") (i32.const 77))

;; Tags are identities: an imported tag is the exporter's tag.
(module $M (tag (export "t") (param i32)))
(register "M" $M)
(module
  (import "M" "t" (tag $t (param i32)))
  (tag $local (param i32))
  (func (export "imported") (result i32)
    try (result i32)
      (throw $t (i32.const 9))
    catch $local
      drop
      i32.const 0
    catch $t
    end)
)
(assert_return (invoke "imported") (i32.const 9))
