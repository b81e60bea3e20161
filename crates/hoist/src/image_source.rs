//! A second source for a memory image: the module binary it was made from.
//!
//! A compile cache entry's images are outside its seal, read from the entry
//! at instantiation and checked there (see `hoist_artifact::check_image`).
//! One that fails its check (the entry was damaged after it loaded) is
//! rebuilt from the active data segments of the module binary, read again
//! from its file and checked against the entry's module digest (see
//! `Module::deserialize_cached`), so that cache trouble costs time, never
//! the run.

use crate::SharedBytes;
use wasmparser::{DataKind, Operator, Parser, Payload};

/// Writes into `target` the image of memory `memory` that starts at byte
/// `offset` of it, from the active data segments of `wasm` (in module
/// order, later ones over earlier ones, zeros between), as
/// `hoist_environ::memory_images` merged them. `false` if `wasm` does not
/// parse, or a segment of that memory has an offset other than an
/// `i32.const` (then no image could have been made from it).
pub(crate) fn write_from_segments(
    wasm: &SharedBytes,
    memory: u32,
    offset: u64,
    target: &mut [u8],
) -> bool {
    target.fill(0);
    let end = offset + target.len() as u64;
    for payload in Parser::new(0).parse_all(wasm.as_slice()) {
        let reader = match payload {
            Ok(Payload::DataSection(reader)) => reader,
            Ok(_) => continue,
            Err(_) => return false,
        };
        for data in reader {
            let Ok(data) = data else {
                return false;
            };
            let DataKind::Active {
                memory_index,
                offset_expr,
            } = data.kind
            else {
                continue;
            };
            if memory_index != memory {
                continue;
            }
            let mut ops = offset_expr.get_operators_reader();
            let (Ok(Operator::I32Const { value }), Ok(Operator::End)) = (ops.read(), ops.read())
            else {
                return false;
            };
            let start = u64::from(value as u32);
            let (from, to) = (start.max(offset), (start + data.data.len() as u64).min(end));
            if from < to {
                let bytes = &data.data[(from - start) as usize..(to - start) as usize];
                target[(from - offset) as usize..(to - offset) as usize].copy_from_slice(bytes);
            }
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The images built from the segments are the ones the compiler made:
    /// overlapping segments (the later wins), a split at zero pages, two
    /// memories.
    #[test]
    fn segments_give_the_compilers_images() {
        let wasm = wat::parse_str(
            r#"(module
                 (memory 2) (memory $b 1)
                 (data (i32.const 5000) "abcdef")
                 (data (i32.const 5002) "XY")
                 (data (memory $b) (i32.const 10) "other")
                 (data (i32.const 0x9000) "far")
                 (data (i32.const 0x8ffe) "edge"))"#,
        )
        .unwrap();
        let module =
            hoist_environ::translate_module_with_features(&wasm, hoist_environ::wasm_features())
                .unwrap()
                .module;
        let images = hoist_environ::memory_images(&module);
        let shape: Vec<_> = images.iter().map(|i| (i.offset, i.bytes.len())).collect();
        assert_eq!(shape, [(0x1000, 0x1000), (0x8000, 0x2000), (0, 0x1000)]);
        let wasm = SharedBytes::from(wasm);
        for image in &images {
            let mut target = vec![7; image.bytes.len()];
            assert!(write_from_segments(
                &wasm,
                image.memory.as_u32(),
                image.offset,
                &mut target
            ));
            assert!(
                target == image.bytes,
                "{:?} at {}",
                image.memory,
                image.offset
            );
        }
        // A segment of that memory at an offset not known at compile time.
        let moving = SharedBytes::from(
            wat::parse_str(
                r#"(module (global i32 (i32.const 0)) (memory 1) (data (global.get 0) "x"))"#,
            )
            .unwrap(),
        );
        assert!(!write_from_segments(&moving, 0, 0, &mut [0; 4096]));
        assert!(!write_from_segments(
            &SharedBytes::from(vec![1, 2, 3]),
            0,
            0,
            &mut [0; 4096]
        ));
    }
}
