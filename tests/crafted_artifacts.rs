//! Crafted artifacts: the metadata structures of a real artifact mutated
//! (functions, trampolines, trap table, address map, memory images, engine
//! info, the embedded module) and written back with a valid digest, as an
//! attacker who knows the format would. Loading each one must either
//! refuse it with an error or accept it, never panic or crash; accepted
//! ones are instantiated, and those whose code tables are intact are
//! called. A fixed number of cases from a fixed seed, so CI runs the same
//! cases every time.

use hoist::{Engine, Extern, Func, FuncType, Instance, Module, Store, Val, ValType};
use hoist_artifact::OwnedArtifact;
use hoist_environ::{FunctionLoc, MemoryIndex, TrapCode, TypeIndex};
use std::panic::AssertUnwindSafe;

const CASES: u64 = 3000;

const WAT: &str = r#"(module
  (import "host" "log" (func $log (param i32 i64) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 4096) "an image of memory")
  (data (i32.const 70000) "second page")
  (data $passive "passive bytes")
  (table 4 funcref)
  (elem (i32.const 0) $add $twice)
  (global $g (mut i32) (i32.const 7))
  (func $add (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $twice (param i64) (result i64) (i64.add (local.get 0) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "call_log") (result i32)
    (call $log (global.get $g) (i64.const 5)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (param i32 i32) (result i32) (local.get 0) (local.get 1) (i32.const 0)))
  (func (export "multi") (result i32 i64 f32 f64)
    i32.const 1 i64.const 2 f32.const 3 f64.const 4))"#;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// A value near an interesting boundary, or anything.
    fn u32_near(&mut self, around: u32) -> u32 {
        match self.below(6) {
            0 => 0,
            1 => u32::MAX - self.below(16) as u32,
            2 => around,
            3 => around.wrapping_add(self.below(64) as u32),
            4 => around.wrapping_sub(self.below(64) as u32),
            _ => self.next() as u32,
        }
    }
}

/// Mutates one structure; says whether the code tables stayed intact (so
/// calling into the code is meaningful if the loader accepts it).
fn mutate(rng: &mut Rng, a: &mut OwnedArtifact) -> (&'static str, bool) {
    let text_len = a.compiled.text.len() as u32;
    let c = &mut a.compiled;
    match rng.below(14) {
        0 => {
            if let Some(f) = c.functions.get_mut(rng.below(6) as usize) {
                f.start = rng.u32_near(f.start);
            }
            ("function start", false)
        }
        1 => {
            if let Some(f) = c.functions.get_mut(rng.below(6) as usize) {
                f.length = rng.u32_near(f.length);
            }
            ("function length", false)
        }
        2 => {
            match rng.below(3) {
                0 => drop(c.functions.pop()),
                1 => c.functions.push(FunctionLoc {
                    start: rng.u32_near(text_len),
                    length: rng.u32_near(16),
                }),
                _ => c.functions.reverse(),
            }
            ("function count or order", false)
        }
        3 => {
            let keys: Vec<TypeIndex> = c.array_to_wasm.keys().copied().collect();
            let key = keys
                .get(rng.below(keys.len() as u64) as usize)
                .copied()
                .unwrap_or(TypeIndex::from_u32(0));
            if rng.below(2) == 0 {
                c.array_to_wasm.remove(&key);
            } else {
                c.array_to_wasm.insert(key, rng.u32_near(text_len));
            }
            ("host-to-wasm trampoline", false)
        }
        4 => {
            let keys: Vec<TypeIndex> = c.import_trampolines.keys().copied().collect();
            let key = keys
                .get(rng.below(keys.len() as u64) as usize)
                .copied()
                .unwrap_or(TypeIndex::from_u32(0));
            if rng.below(2) == 0 {
                c.import_trampolines.remove(&key);
            } else {
                c.import_trampolines.insert(key, rng.u32_near(text_len));
            }
            ("import trampoline", false)
        }
        5 => {
            c.array_to_wasm
                .insert(TypeIndex::from_u32(rng.u32_near(3)), rng.u32_near(text_len));
            ("extra trampoline", false)
        }
        6 => {
            match rng.below(4) {
                0 => c.traps.clear(),
                1 => c.traps.reverse(),
                2 => {
                    let i = rng.below(c.traps.len() as u64) as usize;
                    if let Some(trap) = c.traps.get_mut(i) {
                        trap.0 = rng.u32_near(text_len);
                    }
                }
                _ => c.traps.push((rng.u32_near(text_len), TrapCode::HostTrap)),
            }
            ("trap table", true)
        }
        7 => {
            match rng.below(3) {
                0 => c.address_map.clear(),
                1 => c.address_map.reverse(),
                _ => {
                    let i = rng.below(c.address_map.len() as u64) as usize;
                    if let Some(entry) = c.address_map.get_mut(i) {
                        *entry = (rng.u32_near(text_len), rng.next() as u32);
                    }
                }
            }
            ("address map", true)
        }
        8 => {
            let image = rng.below(a.images.len() as u64 + 1) as usize;
            if let Some(image) = a.images.get_mut(image) {
                match rng.below(4) {
                    0 => image.memory = MemoryIndex::from_u32(rng.u32_near(1)),
                    1 => image.offset = u64::from(rng.u32_near(65536)) * rng.below(3),
                    2 => image
                        .bytes
                        .truncate(rng.below(image.bytes.len() as u64) as usize),
                    _ => image.bytes.resize(200_000, 0xaa),
                }
            } else if let Some(first) = a.images.first().cloned() {
                a.images.push(first);
            }
            ("memory image", false)
        }
        9 => {
            let len = rng.below(text_len as u64 + 1) as usize;
            c.text.truncate(len);
            ("text length", false)
        }
        10 => {
            let field = match rng.below(5) {
                0 => &mut a.engine.features,
                1 => &mut a.engine.tunables,
                2 => &mut a.engine.shared_flags,
                3 => &mut a.engine.triple,
                _ => &mut a.engine.build_id,
            };
            match rng.below(3) {
                0 => field.clear(),
                1 => field.push_str(",x=y,\u{0}\u{1b}"),
                _ => *field = "z".repeat(rng.below(5000) as usize),
            }
            ("engine info", true)
        }
        11 => {
            a.engine
                .isa_flags
                .push(["has_nothing", "x=", "=", ""][rng.below(4) as usize].into());
            ("isa flags", true)
        }
        12 => {
            let len = rng.below(a.wasm.len() as u64) as usize;
            if rng.below(2) == 0 {
                a.wasm.truncate(len);
            } else if let Some(byte) = a.wasm.get_mut(len) {
                *byte ^= 1 << rng.below(8);
            }
            ("embedded module", false)
        }
        _ => {
            a.module_digest[rng.below(32) as usize] ^= 1;
            ("module digest", true)
        }
    }
}

fn log_import(store: &mut Store<()>) -> Extern {
    let ty = FuncType::new([ValType::I32, ValType::I64], [ValType::I32]);
    Extern::Func(Func::new(store, ty, |_, params, results| {
        results[0] = Val::I32(params[0].i32().unwrap() + params[1].i64().unwrap() as i32);
        Ok(())
    }))
}

#[test]
fn crafted_artifacts_are_refused_or_run_never_crash() {
    let engine = Engine::default();
    let original = engine.precompile_module(WAT.as_bytes()).unwrap();
    let pristine = OwnedArtifact::decode(&original).unwrap();
    assert_eq!(pristine.encode().unwrap(), original);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut accepted, mut called) = (0, 0, 0);
    for case in 0..CASES {
        let mut artifact = pristine.clone();
        let mut kinds = Vec::new();
        let mut intact = true;
        for _ in 0..=rng.below(2) {
            let (kind, keeps_code) = mutate(&mut rng, &mut artifact);
            kinds.push(kind);
            intact &= keeps_code;
        }
        let image = artifact.encode().unwrap();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let module = match Module::deserialize(&engine, &image) {
                Ok(module) => module,
                Err(_) => return (false, false),
            };
            let mut store = Store::new(&engine, ());
            let import = log_import(&mut store);
            let Ok(instance) = Instance::new(&mut store, &module, &[import]) else {
                return (true, false);
            };
            if !intact {
                return (true, false);
            }
            let add = instance.get_func(&mut store, "add").unwrap();
            let mut out = [Val::I32(0)];
            add.call(&mut store, &[Val::I32(2), Val::I32(40)], &mut out)
                .unwrap();
            assert_eq!(out[0].i32().unwrap(), 42);
            let log = instance.get_func(&mut store, "call_log").unwrap();
            log.call(&mut store, &[], &mut out).unwrap();
            assert_eq!(out[0].i32().unwrap(), 12);
            (true, true)
        }));
        match outcome {
            Ok((false, _)) => refused += 1,
            Ok((true, ran)) => {
                accepted += 1;
                called += usize::from(ran);
            }
            Err(_) => panic!("case {case} ({kinds:?}) panicked"),
        }
    }
    eprintln!(
        "{CASES} crafted artifacts: {refused} refused, {accepted} accepted ({called} called)"
    );
    assert!(refused > 0 && accepted > 0);
}
