//! Where the linker places loops: the deepest innermost loop of each
//! function starts at a 64-byte boundary of the text section, whatever the
//! code before it (link.rs, `hot_loop_header`), and a lazily compiled
//! function, alone in its text, behind zeros that place its loop the same way.
//!
//! In `WAT`, the loop header is found through the address map alone: the
//! first machine code translated from the loop's body. Each loop body there
//! starts with a load that depends on the loop's variable, so nothing of it
//! can be hoisted out in front of the header. In `SIEVE_WAT` a constant
//! shared with code outside the loop makes the address map misleading, and
//! the header is the target of the loop's backward branch, decoded.

use hoist_cranelift::{build_isa, CompiledText, Compiler, CompilerOptions, Cpu};
use hoist_environ::{translate_module, Tunables};

/// Each `loop` of `wasm`, in order, as the module offsets of its `loop`
/// and `end` operators.
fn loops(wasm: &[u8]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let mut reader = body.get_operators_reader().unwrap();
            // Open blocks: the index in `out` of a loop, None for others.
            let mut open: Vec<Option<usize>> = Vec::new();
            while !reader.eof() {
                let offset = reader.original_position() as u32;
                match reader.read().unwrap() {
                    wasmparser::Operator::Loop { .. } => {
                        open.push(Some(out.len()));
                        out.push((offset, offset));
                    }
                    wasmparser::Operator::Block { .. } | wasmparser::Operator::If { .. } => {
                        open.push(None)
                    }
                    wasmparser::Operator::End => {
                        if let Some(Some(index)) = open.pop() {
                            out[index].1 = offset;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The targets hoist compiles for.
const TARGETS: [&str; 3] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "riscv64gc-unknown-linux-gnu",
];

/// A compiler for `target`'s baseline CPU, with its lazy tier.
fn compiler(target: &str) -> Compiler {
    let options = CompilerOptions {
        target: Some(target.parse().unwrap()),
        cpu: Cpu::Baseline,
        ..CompilerOptions::default()
    };
    Compiler::new(build_isa(&options).unwrap(), Tunables::default()).with_baseline_tier(options)
}

fn compile(target: &str, wat: &str) -> (Vec<u8>, CompiledText) {
    let wasm = wat::parse_str(wat).unwrap();
    let compiler = compiler(target);
    let translation = translate_module(&wasm).unwrap();
    let text = compiler
        .compile_module(&translation.module, translation.function_bodies)
        .unwrap();
    (wasm, text)
}

/// The text offset of the first code translated from the body of the loop
/// `(start, end)`.
fn first_code_of(text: &CompiledText, (start, end): (u32, u32)) -> u32 {
    text.address_map
        .iter()
        .filter(|(_, wasm)| *wasm > start && *wasm <= end)
        .map(|(code, _)| *code)
        .min()
        .unwrap_or_else(|| panic!("no code for the loop at wasm offset {start:#x}"))
}

/// Functions of different lengths before and between the loops, so each
/// would start wherever the previous one ended; the loops to align are the
/// `$inner` ones (deepest), and the single loop of `$flat`.
const WAT: &str = r#"
(module
  (memory 1)
  (func $straight (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 7)) (i32.const 3)))
  (func $nested (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $sum i32)
    (loop $outer
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $i))))
      (local.set $k (local.get $i))
      (loop $inner
        (i32.store8 (local.get $k) (i32.add (i32.load8_u (local.get $k)) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (local.get $i)))
        (br_if $inner (i32.lt_u (local.get $k) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func $flat (param $n i32) (result i32)
    (local $i i32) (local $x i32)
    (loop $l
      (local.set $x (i32.xor (local.get $x) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $x))
  (func $two_levels (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $x i32)
    (loop $shallow
      (local.set $x (i32.add (local.get $x) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $shallow (i32.lt_u (local.get $i) (local.get $n))))
    (loop $a
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $x (i32.sub (local.get $x) (i32.load (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $i))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $a (local.get $i)))
    (local.get $x))
)
"#;

fn check(target: &str) {
    let (wasm, text) = compile(target, WAT);
    let loops = loops(&wasm);
    // $nested: outer, inner; $flat: l; $two_levels: shallow, a, inner.
    assert_eq!(loops.len(), 6);
    for (name, span) in [
        ("$nested inner", loops[1]),
        ("$flat", loops[2]),
        ("$two_levels inner", loops[5]),
    ] {
        let header = first_code_of(&text, span);
        assert_eq!(
            header % 64,
            0,
            "{target}: {name}'s loop header at text offset {header:#x}, not at a 64-byte boundary"
        );
    }
    // Functions start where their alignment allows; the text stays
    // ordered and without overlap.
    for pair in text.functions.windows(2) {
        assert!(pair[0].start + pair[0].length <= pair[1].start);
    }
}

#[test]
fn innermost_loops_start_at_64_byte_boundaries_on_x86_64() {
    check("x86_64-unknown-linux-gnu");
}

#[test]
fn innermost_loops_start_at_64_byte_boundaries_on_aarch64() {
    check("aarch64-unknown-linux-gnu");
}

#[test]
fn innermost_loops_start_at_64_byte_boundaries_on_riscv64() {
    check("riscv64gc-unknown-linux-gnu");
}

/// A lazily compiled function has its text to itself, mapped at the start
/// of a page: zeros in front of it place its loop header the same way.
fn check_lazy(target: &str) {
    let wasm = wat::parse_str(WAT).unwrap();
    let compiler = compiler(target);
    let translation = translate_module(&wasm).unwrap();
    let module = &translation.module;
    let offsets = hoist_environ::VMOffsets::new(compiler.isa().pointer_bytes(), module);
    let loops = loops(&wasm);
    // Defined functions 1, 2 and 3 ($nested, $flat, $two_levels) and the
    // loop each aligns.
    let expected = [(1, loops[1]), (2, loops[2]), (3, loops[5])];
    // As the runtime compiles them: counting their hotness.
    for (index, body) in translation.function_bodies {
        let text = compiler
            .compile_function_lazily(module, &offsets, index, body, true)
            .unwrap();
        let start = text.functions[0].start;
        assert!(start < 64 && (text.text[..start as usize]).iter().all(|&b| b == 0));
        assert_eq!(text.text.len() as u32, start + text.functions[0].length);
        if let Some(&(_, span)) = expected.iter().find(|(i, _)| *i == index.as_u32()) {
            // The header is the block the loop's first code is in: the
            // single-pass register allocator may put moves (no source
            // location) at its start, before that code.
            let first = first_code_of(&text, span);
            let header = text.loop_header.expect("a loop header");
            assert_eq!(
                header % 64,
                0,
                "{target}: lazily compiled function {}'s loop header at {header:#x}",
                index.as_u32()
            );
            assert!(
                header <= first
                    && first - header < 16
                    && !text
                        .address_map
                        .iter()
                        .any(|&(code, _)| (header..first).contains(&code)),
                "{target}: function {}: loop code at {first:#x}, header at {header:#x}",
                index.as_u32()
            );
        } else {
            assert_eq!(start, 0, "a function without loops starts its text");
        }
    }
}

#[test]
fn lazily_compiled_loops_start_at_64_byte_boundaries() {
    for target in TARGETS {
        check_lazy(target);
    }
}

/// A sieve (shootout-sieve's `__original_main`, reduced): its innermost
/// loop stores the constant 0, and the count of primes starts from a 0
/// set before the loops. The mid-end merges the two zeros, and the one
/// instruction left before the loops may carry the innermost loop's
/// source location: the first code translated from that loop's body is
/// then outside it.
const SIEVE_WAT: &str = r#"
(module
  (memory 1)
  (func $sieve (param $rounds i32) (result i32)
    (local $i i32) (local $k i32) (local $count i32) (local $total i32)
    (loop $round
      (memory.fill (i32.const 100) (i32.const 1) (i32.const 8191))
      (local.set $i (i32.const 2))
      (local.set $count (i32.const 0))
      (loop $candidate
        (block $composite
          (br_if $composite (i32.eqz (i32.load8_u offset=100 (local.get $i))))
          (block $big
            (br_if $big (i32.gt_u (local.get $i) (i32.const 4096)))
            (local.set $k (i32.shl (local.get $i) (i32.const 1)))
            (loop $multiple
              (i32.store8 offset=100 (local.get $k) (i32.const 0))
              (local.tee $k (i32.add (local.get $k) (local.get $i)))
              (br_if $multiple (i32.lt_u (i32.const 8193)))))
          (local.set $count (i32.add (local.get $count) (i32.const 1))))
        (local.tee $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $candidate (i32.ne (i32.const 8193))))
      (local.set $total (i32.add (local.get $total) (local.get $count)))
      (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))
      (br_if $round))
    (local.get $total))
)
"#;

/// Where the wasm loop `(start, end)`'s machine loop starts: the target
/// of the backward branch that its last `br_if` compiled to. Found by
/// decoding the branch, not from source locations: a constant the mid-end
/// merged with an equal one outside the loop carries that one's location
/// into the loop, or the loop's own out of it.
fn machine_loop_start(target: &str, wasm: &[u8], text: &CompiledText, span: (u32, u32)) -> u32 {
    let branch = last_br_if_in(wasm, span);
    let map = &text.address_map;
    let at = map
        .iter()
        .rposition(|&(_, wasm)| wasm == branch)
        .unwrap_or_else(|| panic!("no code for the br_if at wasm offset {branch:#x}"));
    let from = map[at].0;
    let to = map
        .get(at + 1)
        .map_or(text.text.len() as u32, |&(code, _)| code);
    let backward: Vec<u32> = branch_targets(target, &text.text, from..to)
        .into_iter()
        .filter(|&(at, dest)| dest <= at)
        .map(|(_, dest)| dest)
        .collect();
    match backward[..] {
        [header] => header,
        _ => panic!("{target}: backward branches from {from:#x}..{to:#x}: {backward:x?}"),
    }
}

/// The PC-relative branches in `text[range]` that `target`'s Cranelift
/// backend emits, as (where, destination) text offsets: x86-64 `jcc` and
/// `jmp` with 32-bit displacements; AArch64 `b`, `b.cond`, `cbz`/`cbnz`
/// and `tbz`/`tbnz`; RISC-V conditional branches and `jal`.
fn branch_targets(target: &str, text: &[u8], range: std::ops::Range<u32>) -> Vec<(u32, u32)> {
    let word = |at: u32| -> Option<u32> {
        let bytes = text.get(at as usize..at as usize + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().unwrap()))
    };
    // `bits` wide two's complement `value`, times `scale`.
    let signed = |value: u32, bits: u32, scale: i64| -> i64 {
        i64::from(((value << (32 - bits)) as i32) >> (32 - bits)) * scale
    };
    let mut out = Vec::new();
    for at in range {
        let dest = if target.starts_with("x86_64") {
            let (Some(&op), Some(&next)) = (text.get(at as usize), text.get(at as usize + 1))
            else {
                continue;
            };
            match (op, next & 0xf0) {
                (0x0f, 0x80) => word(at + 2).map(|d| i64::from(at) + 6 + i64::from(d as i32)),
                (0xe9, _) => word(at + 1).map(|d| i64::from(at) + 5 + i64::from(d as i32)),
                _ => None,
            }
        } else if target.starts_with("aarch64") {
            word(at).filter(|_| at % 4 == 0).and_then(|w| {
                let offset = if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 {
                    signed((w >> 5) & 0x7ffff, 19, 4)
                } else if w & 0x7e00_0000 == 0x3600_0000 {
                    signed((w >> 5) & 0x3fff, 14, 4)
                } else if w & 0xfc00_0000 == 0x1400_0000 {
                    signed(w & 0x03ff_ffff, 26, 4)
                } else {
                    return None;
                };
                Some(i64::from(at) + offset)
            })
        } else {
            word(at).filter(|_| at % 2 == 0).and_then(|w| {
                let offset = match w & 0x7f {
                    0x63 => signed(
                        (w >> 31) << 12
                            | (w >> 7 & 1) << 11
                            | (w >> 25 & 0x3f) << 5
                            | (w >> 8 & 0xf) << 1,
                        13,
                        1,
                    ),
                    0x6f => signed(
                        (w >> 31) << 20
                            | (w >> 12 & 0xff) << 12
                            | (w >> 20 & 1) << 11
                            | (w >> 21 & 0x3ff) << 1,
                        21,
                        1,
                    ),
                    _ => return None,
                };
                Some(i64::from(at) + offset)
            })
        };
        if let Some(dest) = dest.and_then(|d| u32::try_from(d).ok()) {
            out.push((at, dest));
        }
    }
    out
}

/// The module offset of the last `br_if` between `start` and `end`.
fn last_br_if_in(wasm: &[u8], (start, end): (u32, u32)) -> u32 {
    let mut last = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let mut reader = body.get_operators_reader().unwrap();
            while !reader.eof() {
                let offset = reader.original_position() as u32;
                if let wasmparser::Operator::BrIf { .. } = reader.read().unwrap() {
                    if offset > start && offset < end {
                        last = Some(offset);
                    }
                }
            }
        }
    }
    last.expect("a br_if in the loop")
}

fn check_sieve(target: &str) {
    let (wasm, text) = compile(target, SIEVE_WAT);
    let loops = loops(&wasm);
    // $round, $candidate, $multiple.
    assert_eq!(loops.len(), 3);
    let header = machine_loop_start(target, &wasm, &text, loops[2]);
    assert_eq!(
        header % 64,
        0,
        "{target}: the sieve's innermost loop starts at text offset {header:#x} \
         (its first code from the address map: {:#x}), not at a 64-byte boundary",
        first_code_of(&text, loops[2]),
    );
}

#[test]
fn a_merged_constant_leaves_the_loop_header_on_the_boundary() {
    for target in TARGETS {
        check_sieve(target);
    }
}
