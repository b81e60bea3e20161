//! `-D coredump=PATH`: a Wasm core dump when the guest traps, in the
//! tool-conventions format (Coredump.md): a wasm module whose custom
//! sections `core`, `coremodules`, `coreinstances` and `corestack` name
//! the program, its modules and instances and the trapping thread's frames,
//! and whose memory, data and global sections hold every instance's
//! memories and globals at the trap.
//!
//! Left out, because hoist's API cannot see them: the locals and operand
//! stack of each frame (written as empty lists), tables, and what
//! reference-typed globals point to (written as null of their type). A
//! frame whose code offset is unknown gets 0, the function's start, as the
//! format allows.

use crate::commands::run::Loaded;
use anyhow::{Context, Result};
use hoist::{FrameInfo, Global, HeapType, Memory, Store, Val, ValType};
use std::path::Path;
use wasm_encoder as enc;

/// Writes the core dump of `store` after a trap with `frames` to `path`.
pub fn write<T>(
    path: &Path,
    store: &mut Store<T>,
    loaded: &[Loaded],
    frames: &[FrameInfo],
) -> Result<()> {
    let bytes = encode(store, loaded, frames);
    crate::commands::compile::write_atomically(path, &bytes)
        .with_context(|| format!("writing `{}`", path.display()))
}

fn encode<T>(store: &mut Store<T>, loaded: &[Loaded], frames: &[FrameInfo]) -> Vec<u8> {
    let mut modules = enc::CoreDumpModulesSection::new();
    for module in loaded {
        modules.module(&module.path);
    }
    // Memories and globals may be shared between instances (imported):
    // each is dumped once, and instances refer to it by its index.
    let mut memories: Vec<Memory> = Vec::new();
    let mut globals: Vec<Global> = Vec::new();
    let mut instances = enc::CoreDumpInstancesSection::new();
    let store_instances = store.instances();
    for instance in &store_instances {
        let module = loaded
            .iter()
            .position(|l| instance.is_instance_of(store, &l.module))
            .unwrap_or(0);
        let memory_indices: Vec<u32> = instance
            .memories(store)
            .into_iter()
            .map(|m| index_in(&mut memories, m))
            .collect();
        let global_indices: Vec<u32> = instance
            .globals(store)
            .into_iter()
            .map(|g| index_in(&mut globals, g))
            .collect();
        instances.instance(module as u32, memory_indices, global_indices);
    }

    let mut stack = enc::CoreDumpStackSection::new("main");
    for frame in frames {
        let instance = frame
            .instance
            .and_then(|i| store_instances.iter().position(|x| *x == i))
            .unwrap_or(0);
        let module = frame
            .instance
            .and_then(|i| loaded.iter().find(|l| i.is_instance_of(store, &l.module)));
        let code_offset = module
            .and_then(|m| m.wasm.as_deref())
            .zip(frame.module_offset)
            .and_then(|(wasm, offset)| offset.checked_sub(body_start(wasm, frame.func_index)?))
            .unwrap_or(0);
        stack.frame(instance as u32, frame.func_index, code_offset, [], []);
    }

    let mut module = enc::Module::new();
    let executable = loaded.first().map_or("", |l| l.path.as_str());
    module.section(&enc::CoreDumpSection::new(executable));
    module.section(&modules);
    module.section(&instances);
    module.section(&stack);

    let mut memory_section = enc::MemorySection::new();
    let mut data = enc::DataSection::new();
    for (index, memory) in memories.iter().enumerate() {
        let ty = memory.ty(store);
        let bytes = memory.data(store);
        let pages = memory.size(store);
        let page_size_log2 = match pages {
            0 => None,
            pages => Some((bytes.len() as u64 / pages).trailing_zeros()),
        };
        memory_section.memory(enc::MemoryType {
            minimum: pages,
            maximum: None,
            memory64: ty.is_64(),
            shared: false,
            page_size_log2: page_size_log2.filter(|log2| *log2 != 16),
        });
        // Runs of zeros are left out: a fresh memory is zero.
        for (start, chunk) in nonzero_chunks(bytes) {
            let offset = if ty.is_64() {
                enc::ConstExpr::i64_const(start as i64)
            } else {
                enc::ConstExpr::i32_const(start as i32)
            };
            data.active(index as u32, &offset, chunk.iter().copied());
        }
    }
    let mut global_section = enc::GlobalSection::new();
    for global in &globals {
        let value = global.get(store);
        let content = global.ty(store).content();
        let (val_type, init) = constant(&value, &content);
        global_section.global(
            enc::GlobalType {
                val_type,
                mutable: false,
                shared: false,
            },
            &init,
        );
    }
    module.section(&memory_section);
    module.section(&global_section);
    module.section(&data);
    module.finish()
}

/// The index of `item` in `list`, added at the end if new.
fn index_in<T: PartialEq>(list: &mut Vec<T>, item: T) -> u32 {
    match list.iter().position(|x| *x == item) {
        Some(i) => i as u32,
        None => {
            list.push(item);
            (list.len() - 1) as u32
        }
    }
}

/// The module offset of the body of function `func_index` (what a frame's
/// code offset is counted from). An artifact's module is a skeleton whose
/// bodies are not the original ones: it records where those were
/// ([`hoist_artifact::BODY_OFFSETS`], trusted only in a module whose bodies
/// are all skeleton-sized).
fn body_start(wasm: &[u8], func_index: u32) -> Option<u32> {
    let mut imported = 0u32;
    let mut defined = 0u32;
    let mut found = None;
    let mut skeleton_sized = true;
    let mut recorded = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let range = body.range();
                skeleton_sized &=
                    range.end - range.start < hoist_artifact::SKELETON_BODY.len() as u64;
                if imported + defined == func_index {
                    found = u32::try_from(range.start).ok();
                }
                defined += 1;
            }
            wasmparser::Payload::CustomSection(reader)
                if reader.name() == hoist_artifact::BODY_OFFSETS =>
            {
                recorded = Some(reader.data());
            }
            _ => {}
        }
    }
    match recorded {
        Some(table) if skeleton_sized => {
            let defined = func_index.checked_sub(imported)? as usize;
            let entry = table.chunks_exact(4).nth(defined)?;
            Some(u32::from_le_bytes(entry.try_into().ok()?))
        }
        _ => found,
    }
}

/// The stretches of `bytes` that are not all zeros, in 4 KiB steps.
fn nonzero_chunks(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    const STEP: usize = 4096;
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    for (i, chunk) in bytes.chunks(STEP).enumerate() {
        if chunk.iter().all(|b| *b == 0) {
            continue;
        }
        let start = i * STEP;
        match chunks.last_mut() {
            Some((_, end)) if *end == start => *end = start + chunk.len(),
            _ => chunks.push((start, start + chunk.len())),
        }
    }
    chunks
        .into_iter()
        .map(|(start, end)| (start, &bytes[start..end]))
        .collect()
}

/// A global's type and value as a constant; references are null.
fn constant(value: &Val, ty: &ValType) -> (enc::ValType, enc::ConstExpr) {
    match (value, ty) {
        (Val::I32(v), _) => (enc::ValType::I32, enc::ConstExpr::i32_const(*v)),
        (Val::I64(v), _) => (enc::ValType::I64, enc::ConstExpr::i64_const(*v)),
        (Val::F32(bits), _) => (
            enc::ValType::F32,
            enc::ConstExpr::f32_const(enc::Ieee32::from(f32::from_bits(*bits))),
        ),
        (Val::F64(bits), _) => (
            enc::ValType::F64,
            enc::ConstExpr::f64_const(enc::Ieee64::from(f64::from_bits(*bits))),
        ),
        (Val::V128(bits), _) => (
            enc::ValType::V128,
            enc::ConstExpr::v128_const(*bits as i128),
        ),
        (_, ValType::Ref(r)) => {
            use enc::AbstractHeapType as A;
            let ty = match r.heap {
                HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => A::Func,
                HeapType::Extern | HeapType::NoExtern => A::Extern,
                HeapType::Exn | HeapType::NoExn => A::Exn,
                _ => A::Any,
            };
            let heap = enc::HeapType::Abstract { shared: false, ty };
            (
                enc::ValType::Ref(enc::RefType {
                    nullable: true,
                    heap_type: heap,
                }),
                enc::ConstExpr::ref_null(heap),
            )
        }
        _ => (enc::ValType::I32, enc::ConstExpr::i32_const(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_runs_are_left_out() {
        let mut bytes = vec![0u8; 5 * 4096];
        bytes[10] = 1;
        bytes[4096 + 5] = 2;
        bytes[4 * 4096] = 3;
        let chunks = nonzero_chunks(&bytes);
        assert_eq!(chunks.len(), 2);
        assert_eq!((chunks[0].0, chunks[0].1.len()), (0, 2 * 4096));
        assert_eq!((chunks[1].0, chunks[1].1.len()), (4 * 4096, 4096));
    }
}
