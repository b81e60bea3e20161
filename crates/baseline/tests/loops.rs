//! What the single-pass compiler makes of a small hot loop: its locals stay
//! in registers (the loop's code never addresses their frame slots) and its
//! back edge branches on the comparison's flags (no `setcc` to make an i32
//! of it first). A guard on `pinning.rs` and `Val::Flags`: both are about
//! speed only, so the suites that run the compiler's code would not notice
//! either going away.

use hoist_baseline::{compile, Compiled, Options};
use hoist_environ::{translate_module, DefinedFuncIndex, Tunables, VMOffsets};

const OPTIONS: Options = Options {
    popcnt: true,
    sse41: true,
    count_hotness: true,
    max_frame: 16 << 10,
};

/// A sum over an array of `$n` i32s: three locals and the memory base, all
/// busy in the loop.
const WAT: &str = r#"
(module
  (memory 1)
  (func (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum
        (i32.add (local.get $sum) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.get $sum)))
"#;

/// The module offsets of the first `loop` operator of `wasm` and of the
/// `end` that closes it.
fn first_loop(wasm: &[u8]) -> (u32, u32) {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let mut reader = body.get_operators_reader().unwrap();
        let mut depth = 0usize;
        let mut start = None;
        while !reader.eof() {
            let at = reader.original_position() as u32;
            match reader.read().unwrap() {
                wasmparser::Operator::Loop { .. } if start.is_none() => {
                    start = Some(at);
                    depth = 1;
                }
                wasmparser::Operator::Block { .. }
                | wasmparser::Operator::Loop { .. }
                | wasmparser::Operator::If { .. } => depth += 1,
                wasmparser::Operator::End if start.is_some() => {
                    depth -= 1;
                    if depth == 0 {
                        return (start.unwrap(), at);
                    }
                }
                _ => {}
            }
        }
    }
    panic!("no loop");
}

/// The machine code translated from the operators strictly inside module
/// range `(start, end)`, by the address map.
fn code_between(compiled: &Compiled, (start, end): (u32, u32)) -> &[u8] {
    let map = &compiled.address_map;
    let inside = |(_, wasm): &&(u32, u32)| *wasm > start && *wasm < end;
    let first = map
        .iter()
        .position(|e| inside(&e))
        .expect("code in the loop");
    let last = map.iter().rposition(|e| inside(&e)).unwrap();
    let to = map
        .get(last + 1)
        .map_or(compiled.code.len(), |(code, _)| *code as usize);
    &compiled.code[map[first].0 as usize..to]
}

#[test]
fn a_hot_loop_keeps_its_locals_in_registers_and_branches_on_flags() {
    let wasm = wat::parse_str(WAT).unwrap();
    let translation = translate_module(&wasm).unwrap();
    let module = &translation.module;
    let offsets = VMOffsets::new(8, module);
    let (index, body) = translation.function_bodies.iter().next().unwrap();
    let index: DefinedFuncIndex = index;
    let compiled = compile(
        module,
        &offsets,
        &Tunables::default(),
        index,
        &body.body,
        OPTIONS,
    )
    .expect("in the subset");
    let code = code_between(&compiled, first_loop(&wasm));
    // Local `j`'s slot, if it has one, is `[rbp - 16 - 8(s + k)]` with `s`
    // saved registers (at most five) and `k <= j` (pinned locals have no
    // slot): a disp8 ModRM on rbp (mod 01, r/m 101) with any of those
    // displacements would be an access to one.
    let slots: Vec<u8> = (0..=5)
        .flat_map(|s| (0..3).map(move |j| (-16 - 8 * (s + j)) as i8 as u8))
        .collect();
    for (k, pair) in code.windows(2).enumerate() {
        assert!(
            !(pair[0] & 0xc7 == 0x45 && slots.contains(&pair[1])),
            "a frame-slot access at loop byte {k}: {code:02x?}"
        );
        assert!(
            !(pair[0] == 0x0f && (0x90..=0x9f).contains(&pair[1])),
            "a setcc at loop byte {k}: {code:02x?}"
        );
    }
    assert!(code.len() < 80, "{} bytes: {code:02x?}", code.len());
}
