//! Where the linker places loops: the deepest innermost loop of each
//! function starts at a 64-byte boundary of the text section, whatever the
//! code before it (link.rs, `hot_loop_header`), and a lazily compiled
//! function, alone in its text, behind zeros that place its loop the same way.
//!
//! The loop header is found through the address map alone: the first
//! machine code translated from the loop's body. Each loop body here starts
//! with a load that depends on the loop's variable, so nothing of it can be
//! hoisted out in front of the header.

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
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "riscv64gc-unknown-linux-gnu",
    ] {
        check_lazy(target);
    }
}
