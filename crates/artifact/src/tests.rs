use super::*;
use hoist_environ::{FunctionLoc, MemoryIndex, TrapCode, TypeIndex};

fn engine() -> EngineInfo {
    EngineInfo {
        build_id: "0123456789abcdef".into(),
        hoist_version: "0.1.0 (test)".into(),
        triple: "x86_64-unknown-linux-gnu".into(),
        shared_flags: "opt_level = \"speed\"\n".into(),
        isa_flags: vec!["has_sse41".into(), "has_avx".into()],
        tunables: "memory_reservation=4294967296 memory_guard_size=33554432".into(),
        features: "mutable-global,simd".into(),
    }
}

fn compiled() -> CompiledText {
    let mut c = CompiledText {
        text: vec![0xcc; 100],
        functions: vec![
            FunctionLoc {
                start: 0,
                length: 40,
            },
            FunctionLoc {
                start: 48,
                length: 40,
            },
        ],
        traps: vec![
            (3, TrapCode::StackOverflow),
            (60, TrapCode::MemoryOutOfBounds),
        ],
        address_map: vec![(0, 30), (50, 41)],
        gc_layouts: vec![
            None,
            Some(hoist_environ::GcLayout::Struct(
                hoist_environ::GcStructLayout {
                    size: 24,
                    fields: vec![
                        hoist_environ::GcField {
                            offset: 8,
                            kind: hoist_environ::GcFieldKind::Int(8),
                        },
                        hoist_environ::GcField {
                            offset: 16,
                            kind: hoist_environ::GcFieldKind::GcRef,
                        },
                    ]
                    .into(),
                },
            )),
            Some(hoist_environ::GcLayout::Array(
                hoist_environ::GcArrayLayout {
                    elem: hoist_environ::GcFieldKind::V128,
                },
            )),
        ],
        ..CompiledText::default()
    };
    c.array_to_wasm.insert(TypeIndex::from_u32(0), 90);
    c.import_trampolines.insert(TypeIndex::from_u32(1), 95);
    c
}

const WAT: &str = r#"(module
    (memory 1)
    (data (i32.const 5000) "hello")
    (data "passive")
    (func (export "f") (result i32) i32.const 1))"#;

fn image() -> Vec<u8> {
    let wasm = wat::parse_str(WAT).unwrap();
    let images = [MemoryImage {
        memory: MemoryIndex::from_u32(0),
        offset: 4096,
        bytes: vec![7; 4096],
    }];
    write(&ArtifactParts {
        architecture: object::Architecture::X86_64,
        engine: &engine(),
        compiled: &compiled(),
        wasm: &wasm,
        images: &images,
        debug_sections: true,
        keep_imaged_segments: false,
    })
    .unwrap()
}

#[test]
fn round_trips() {
    let image = image();
    let a = read(&image).unwrap();
    assert_eq!(a.engine, engine());
    assert_eq!(a.text, &compiled().text[..]);
    assert_eq!(a.text_offset as u64 % TEXT_ALIGN, 0);
    let mut expected = compiled();
    expected.text.clear();
    // The address map is a section of its own, and the trap table is read
    // in place: neither is decoded into the tables.
    let address_map = std::mem::take(&mut expected.address_map);
    let traps = std::mem::take(&mut expected.traps);
    assert_eq!(a.compiled, expected);
    assert_eq!(
        a.traps.iter().collect::<Vec<_>>(),
        traps.iter().map(|&(o, c)| (o, Some(c))).collect::<Vec<_>>()
    );
    let (offsets, codes) = a.trap_ranges.clone();
    assert_eq!(
        (&image[offsets], &image[codes]),
        (a.traps.offset_bytes(), a.traps.code_bytes()),
        "the ranges locate the records in the image"
    );
    for (offset, code) in &traps {
        assert_eq!(a.traps.lookup(*offset), Some(*code));
    }
    // In place, an unknown code byte or two offsets out of order are
    // refused as before (the digest skipped, as for a sealed image).
    let mut unknown = image.clone();
    unknown[a.trap_ranges.1.start] = 0;
    let err = read_authenticated(&unknown).unwrap_err().to_string();
    assert!(err.contains("unknown trap code"), "{err}");
    let mut swapped = image.clone();
    let first = a.trap_ranges.0.start;
    swapped[first..first + 8].rotate_left(4);
    let err = read_authenticated(&swapped).unwrap_err().to_string();
    assert!(err.contains("trap table is unsorted"), "{err}");
    let part = a.address_map.clone().expect("an address map");
    let records = AddressMapRecords::new(&image[part.range.clone()]);
    assert_eq!(records.iter().collect::<Vec<_>>(), address_map);
    assert!(check_address_map(&part, records.bytes(), a.text.len()));
    assert_eq!(a.images.len(), 1);
    assert_eq!(a.images[0].len, 4096);
    assert_eq!(&a.data[..4096], &[7; 4096][..]);
    assert_eq!(
        a.module_digest,
        module_digest(&wat::parse_str(WAT).unwrap())
    );
    assert!(inspect(&image).unwrap().contains("build 0123456789abcdef"));
}

#[test]
fn code_pages_hold_only_code() {
    let image = image();
    let a = read(&image).unwrap();
    let file = object::File::parse(&*image).unwrap();
    for section in file.sections() {
        if section.name() == Ok(TEXT) {
            continue;
        }
        if let Some((offset, len)) = section.file_range() {
            let text_end = (a.text_offset + a.text.len()).next_multiple_of(TEXT_ALIGN as usize);
            let overlaps = (offset as usize) < text_end && (offset + len) as usize > a.text_offset;
            assert!(
                !overlaps || len == 0,
                "{:?} shares a page with code",
                section.name()
            );
        }
    }
}

#[test]
fn any_changed_byte_is_refused() {
    let image = image();
    let a = read(&image).unwrap();
    // One byte in each part the digest covers, and in the memory image
    // (whose own digest `read` checks).
    let wasm_at = a.wasm.as_ptr() as usize - image.as_ptr() as usize;
    for at in [a.text_offset + 10, wasm_at + 3, a.data_offset + 100] {
        let mut bad = image.clone();
        bad[at] ^= 1;
        let err = read(&bad).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{at}: {err}");
    }
    for len in [10, image.len() / 2, image.len() - 1] {
        assert!(read(&image[..len]).is_err());
    }
}

#[test]
fn an_authenticated_read_skips_only_the_digest() {
    let image = image();
    let a = read(&image).unwrap();
    // A code byte changed: the digest no longer matches, which only `read`
    // sees (an authenticated image was checked byte for byte by its seal).
    let mut changed = image.clone();
    changed[a.text_offset + 10] ^= 1;
    assert!(read(&changed).is_err());
    let b = read_authenticated(&changed).unwrap();
    assert_eq!(b.text.len(), a.text.len());
    // Everything else is still checked.
    for len in [10, image.len() / 2, image.len() - 1] {
        assert!(read_authenticated(&image[..len]).is_err());
    }
}

/// A change to the tables, and the words the loader's refusal must contain.
type TableEdit = (&'static str, Box<dyn Fn(&mut CompiledText)>);

#[test]
fn consistent_but_bad_tables_are_refused() {
    let cases: Vec<TableEdit> = vec![
        ("outside", Box::new(|c| c.functions[1].length = 1000)),
        ("overlaps", Box::new(|c| c.functions[1].start = 10)),
        (
            "trampoline",
            Box::new(|c| {
                c.array_to_wasm.insert(TypeIndex::from_u32(0), 100);
            }),
        ),
        ("trap table", Box::new(|c| c.traps.reverse())),
        ("trap table", Box::new(|c| c.traps[1].0 = 100)),
        ("address map", Box::new(|c| c.address_map.reverse())),
    ];
    let wasm = wat::parse_str(WAT).unwrap();
    for (needle, mutate) in cases {
        let mut c = compiled();
        mutate(&mut c);
        let image = write(&ArtifactParts {
            architecture: object::Architecture::X86_64,
            engine: &engine(),
            compiled: &c,
            wasm: &wasm,
            images: &[],
            debug_sections: true,
            keep_imaged_segments: false,
        })
        .unwrap();
        let err = read(&image).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn decoded_artifacts_encode_back_identically() {
    let image = image();
    let owned = OwnedArtifact::decode(&image).unwrap();
    assert_eq!(owned.encode().unwrap(), image);
    let mut edited = owned.clone();
    edited.compiled.text[0] = 0x90;
    edited.engine.build_id = "another".into();
    let a = read(&edited.encode().unwrap()).unwrap().engine.build_id;
    assert_eq!(a, "another");
}

#[test]
fn seals_bind_image_key_and_context() {
    let key = [9u8; 32];
    let mut sealed = image();
    let len = sealed.len();
    seal(&mut sealed, &key, b"entry-a");
    assert_eq!(unseal(&sealed, &key, b"entry-a"), Some(len));
    assert_eq!(unseal(&sealed, &key, b"entry-b"), None);
    assert_eq!(unseal(&sealed, &[8u8; 32], b"entry-a"), None);
    // With nothing left out (no whole page of side parts: no memory
    // image, a short address map), the MAC is what it was before ranges
    // could be: older artifacts' seals still verify.
    let mut plain = with_parts(&[], compiled().address_map);
    assert_eq!(lazy_range(&plain), None);
    let plain_len = plain.len();
    seal(&mut plain, &key, b"entry-a");
    let mut mac = blake3::Hasher::new_keyed(&key);
    mac.update(&7u64.to_le_bytes());
    mac.update(b"entry-a");
    mac.update(&plain[..plain_len]);
    assert_eq!(&plain[plain_len..plain_len + 32], mac.finalize().as_bytes());
    let mut edited = sealed.clone();
    edited[100] ^= 1;
    assert_eq!(unseal(&edited, &key, b"entry-a"), None);
    assert_eq!(unseal(&sealed[..len], &key, b"entry-a"), None);
    assert_eq!(unseal(b"short", &key, b"entry-a"), None);
}

/// `.hoist.debug`: the module's DWARF, outside the digest and the seal but
/// for its edges, checked on its own against the digest in the header.
#[test]
fn dwarf_is_kept_apart_and_checked_on_its_own() {
    use wasm_encoder::Section;
    let mut wasm = wat::parse_str(WAT).unwrap();
    let dwarf: Vec<u8> = (0..3 * TEXT_ALIGN as u32 + 100).map(|i| i as u8).collect();
    wasm_encoder::CustomSection {
        name: ".debug_info".into(),
        data: dwarf.as_slice().into(),
    }
    .append_to(&mut wasm);
    let (engine, compiled) = (engine(), compiled());
    let parts = |debug_sections| ArtifactParts {
        architecture: object::Architecture::X86_64,
        engine: &engine,
        compiled: &compiled,
        wasm: &wasm,
        images: &[],
        debug_sections,
        keep_imaged_segments: false,
    };
    let image = write(&parts(true)).unwrap();
    let a = read(&image).unwrap();
    let part = a.debug.clone().expect("a debug section");
    assert_eq!(debug_part(&image), Some(part.clone()));
    assert!(check_side_part(&part, &image[part.range.clone()]));
    // The skeleton and the section make the module's custom sections again.
    let mut rebuilt = module_wasm(&image).unwrap().to_vec();
    assert!(!rebuilt.windows(11).any(|w| w == b".debug_info"));
    rebuilt.extend_from_slice(&image[part.range.clone()]);
    let found = wasmparser::Parser::new(0)
        .parse_all(&rebuilt)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(r) if r.name() == ".debug_info" => {
                Some(r.data().to_vec())
            }
            _ => None,
        });
    assert_eq!(found, Some(dwarf));
    wasmparser::Validator::new().validate_all(&rebuilt).unwrap();
    // Whole pages of it may be left unread, with the address map before it.
    let lazy = lazy_range(&image).expect("whole pages");
    let map = a.address_map.clone().expect("an address map");
    assert_eq!(lazy.start, map.range.start);
    assert!(map.range.end <= part.range.start && lazy.end <= part.range.end);
    assert!(lazy.len() >= 3 * TEXT_ALIGN as usize);

    // A changed byte in it: the image reads, the section does not check.
    let mut changed = image.clone();
    changed[part.range.start + 7] ^= 1;
    assert!(read(&changed).is_ok());
    assert!(!check_side_part(&part, &changed[part.range.clone()]));
    assert!(!check_side_part(
        &part,
        &image[part.range.start..part.range.end - 1]
    ));
    // The seal leaves out only the pages that may go unread.
    let key = [3u8; 32];
    let mut sealed = image.clone();
    seal(&mut sealed, &key, b"ctx");
    let mut inside = sealed.clone();
    inside[part.range.start + 7] ^= 1;
    assert_eq!(unseal(&inside, &key, b"ctx"), Some(image.len()));
    let mut edge = sealed.clone();
    edge[lazy.end] ^= 1;
    assert_eq!(unseal(&edge, &key, b"ctx"), None);

    // Without the DWARF kept: no section, and nothing to leave unread.
    let plain = write(&parts(false)).unwrap();
    assert_eq!(read(&plain).unwrap().debug, None);
    assert_eq!((debug_part(&plain), lazy_range(&plain)), (None, None));
    // Decoding keeps the section.
    let decoded = OwnedArtifact::decode(&image).unwrap();
    assert_eq!(decoded.encode().unwrap(), image);
}

/// `.hoist.data`: the memory images, the first side part, outside the
/// digest and the seal, each image checked on its own against its digest
/// in `.hoist.info` (which both cover).
#[test]
fn memory_images_are_kept_apart_and_checked_on_their_own() {
    let image = image();
    let a = read(&image).unwrap();
    let entry = a.images[0].clone();
    let bytes = a.data_offset + entry.section_offset as usize;
    let bytes = bytes..bytes + entry.len as usize;
    assert_eq!(&image[bytes.clone()], &[7; 4096][..]);
    assert!(check_image(&entry, &image[bytes.clone()]));
    assert!(!check_image(&entry, &image[bytes.start..bytes.end - 1]));
    // Its pages are the first that may go unread, before the address map.
    let lazy = lazy_range(&image).expect("whole pages");
    assert_eq!(lazy.start, a.data_offset);
    assert!(bytes.end <= a.address_map.as_ref().unwrap().range.start);
    assert_eq!(a.side_span.as_ref().map(|s| s.start), Some(a.data_offset));

    // A changed byte: the digest still holds (only the side check reads
    // it), the image's own digest does not.
    let mut changed = image.clone();
    changed[bytes.start + 100] ^= 1;
    let err = read(&changed).unwrap_err().to_string();
    assert!(
        err.contains("image of memory 0 does not match its digest"),
        "{err}"
    );
    assert!(read_with(&changed, true, SideCheck::OnUse).is_ok());
    assert!(read_with(&changed, true, SideCheck::Order).is_ok());
    assert!(!check_image(&entry, &changed[bytes.clone()]));
    // Unread (zeros): the same.
    let mut zeros = image.clone();
    zeros[lazy.clone()].fill(0);
    assert!(read_with(&zeros, true, SideCheck::OnUse).is_ok());
    assert!(!check_image(&entry, &zeros[bytes.clone()]));
    // The image's digest is in `.hoist.info`, which the digest covers.
    let info = {
        let file = object::File::parse(&*image).unwrap();
        let (start, len) = file.section_by_name(INFO).unwrap().file_range().unwrap();
        start as usize..(start + len) as usize
    };
    let at = info.start
        + image[info.clone()]
            .windows(32)
            .position(|w| w == entry.digest)
            .expect("the image's digest in .hoist.info");
    let mut forged = image.clone();
    forged[at] ^= 1;
    let err = read_with(&forged, true, SideCheck::OnUse)
        .unwrap_err()
        .to_string();
    assert!(err.contains("digest mismatch"), "{err}");
    // The seal leaves the image's pages out, not the table.
    let key = [4u8; 32];
    let mut sealed = image.clone();
    seal(&mut sealed, &key, b"ctx");
    let mut inside = sealed.clone();
    inside[bytes.start + 100] ^= 1;
    assert_eq!(unseal(&inside, &key, b"ctx"), Some(image.len()));
    let mut table = sealed.clone();
    table[at] ^= 1;
    assert_eq!(unseal(&table, &key, b"ctx"), None);
    // Without images: no data section at all.
    let plain = with_parts(&[], compiled().address_map);
    let file = object::File::parse(&*plain).unwrap();
    assert!(file.section_by_name(DATA).is_none());
    let p = read(&plain).unwrap();
    assert!(p.images.is_empty() && p.data.is_empty());
}

#[test]
fn the_skeleton_is_valid_and_keeps_passive_data_and_every_offset() {
    let wasm = wat::parse_str(WAT).unwrap();
    let stripped = skeleton(&wasm, &[MemoryIndex::from_u32(0)], true).unwrap();
    wasmparser::Validator::new()
        .validate_all(&stripped)
        .unwrap();
    let find = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!find(&stripped, b"hello"));
    assert!(find(&stripped, b"passive"));
    assert!(find(&skeleton(&wasm, &[], true).unwrap(), b"hello"));
}

/// Bodies shorter than the skeleton's stay as they are: a code section of
/// many empty functions whose size field is one byte still fits it.
#[test]
fn the_skeleton_never_outgrows_the_code_sections_size_field() {
    let mut text = String::from("(module");
    for _ in 0..39 {
        text.push_str(" (func)");
    }
    text.push_str(" (func (export \"_start\") (drop (i32.add (i32.const 1) (i32.const 2)))))");
    let wasm = wat::parse_str(&text).unwrap();
    let stripped = skeleton(&wasm, &[], true).unwrap();
    wasmparser::Validator::new()
        .validate_all(&stripped)
        .unwrap();
    let bodies = |bytes: &[u8]| -> Vec<Vec<u8>> {
        wasmparser::Parser::new(0)
            .parse_all(bytes)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    Some(bytes[range.start as usize..range.end as usize].to_vec())
                }
                _ => None,
            })
            .collect()
    };
    let (before, after) = (bodies(&wasm), bodies(&stripped));
    assert_eq!(after.len(), 40);
    assert_eq!(after[..39], before[..39], "empty bodies are kept");
    assert_eq!(
        after[39],
        [0x00, 0x00, 0x0b],
        "the last one is `unreachable`"
    );
}

/// DWARF stays in the skeleton only when asked for; other custom sections
/// (the name section) always do.
#[test]
fn the_skeleton_drops_dwarf_unless_kept() {
    use wasm_encoder::Section;
    let mut wasm = wat::parse_str(r#"(module $named (func $f))"#).unwrap();
    wasm_encoder::CustomSection {
        name: ".debug_info".into(),
        data: b"DWARF-BYTES".as_slice().into(),
    }
    .append_to(&mut wasm);
    let find = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let kept = skeleton(&wasm, &[], true).unwrap();
    let dropped = skeleton(&wasm, &[], false).unwrap();
    assert!(find(&kept, b"DWARF-BYTES"));
    assert!(!find(&dropped, b"DWARF-BYTES") && !find(&dropped, b".debug_info"));
    for bytes in [&kept, &dropped] {
        wasmparser::Validator::new().validate_all(bytes).unwrap();
        assert!(find(bytes, b"named"), "the name section stays");
    }
}

/// A module whose sections have padded size fields (as LLVM writes them)
/// and big bodies: the skeleton's code section starts where the original's
/// did, and it records where each original body was.
#[test]
fn the_skeleton_keeps_the_code_section_start_and_records_body_offsets() {
    use wasm_encoder::{CodeSection, Function, FunctionSection, Instruction, Module, TypeSection};
    let mut types = TypeSection::new();
    types.ty().function([], [wasm_encoder::ValType::I32]);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for n in 0..3 {
        functions.function(0);
        let mut body = Function::new([]);
        for _ in 0..100 * (n + 1) {
            body.instruction(&Instruction::Nop);
        }
        body.instruction(&Instruction::I32Const(n))
            .instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    let minimal = module.finish();
    // Re-encode every section size as a 5-byte LEB.
    let mut wasm = minimal[..8].to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(&minimal) {
        if let Some((id, range)) = payload.unwrap().as_section() {
            let contents = &minimal[range.start as usize..range.end as usize];
            wasm.push(id);
            wasm.extend_from_slice(&super::strip::padded_leb(contents.len(), 5).unwrap());
            wasm.extend_from_slice(contents);
        }
    }
    let code_starts = |bytes: &[u8]| -> (u64, Vec<u64>) {
        let mut start = 0;
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload.unwrap() {
                wasmparser::Payload::CodeSectionStart {
                    unchecked_range, ..
                } => start = unchecked_range.start,
                wasmparser::Payload::CodeSectionEntry(body) => bodies.push(body.range().start),
                _ => {}
            }
        }
        (start, bodies)
    };
    let stripped = skeleton(&wasm, &[], true).unwrap();
    wasmparser::Validator::new()
        .validate_all(&stripped)
        .unwrap();
    assert!(stripped.len() < wasm.len() / 2);
    let (start, bodies) = code_starts(&wasm);
    assert_eq!(code_starts(&stripped).0, start);
    let recorded = wasmparser::Parser::new(0)
        .parse_all(&stripped)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(r) if r.name() == BODY_OFFSETS => {
                Some(r.data().to_vec())
            }
            _ => None,
        })
        .unwrap();
    let recorded: Vec<u64> = recorded
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as u64)
        .collect();
    assert_eq!(recorded, bodies);
}

/// `.hoist.addrmap`: outside the digest and the seal, checked on its own
/// (digest and order) by `read`, or by whoever reads it later.
#[test]
fn the_address_map_is_kept_apart_and_checked_on_its_own() {
    let mut compiled = compiled();
    // Enough records for whole pages of them.
    compiled.address_map = (0..3 * TEXT_ALIGN as u32)
        .map(|i| (i % 4, 30 + i))
        .collect();
    compiled.address_map.sort();
    let engine = engine();
    let wasm = wat::parse_str(WAT).unwrap();
    let image = write(&ArtifactParts {
        architecture: object::Architecture::X86_64,
        engine: &engine,
        compiled: &compiled,
        wasm: &wasm,
        images: &[],
        debug_sections: false,
        keep_imaged_segments: false,
    })
    .unwrap();
    let a = read(&image).unwrap();
    let part = a.address_map.clone().expect("an address map");
    let text_len = a.text.len();
    assert!(check_address_map(
        &part,
        &image[part.range.clone()],
        text_len
    ));
    let lazy = lazy_range(&image).expect("whole pages");
    assert!(part.range.start <= lazy.start && lazy.end <= part.range.end);

    // A changed record: the image reads only without its map, which does
    // not check.
    let mut changed = image.clone();
    changed[lazy.start + 9] ^= 1;
    let err = read(&changed).unwrap_err().to_string();
    assert!(err.contains("address map"), "{err}");
    assert!(read_with(&changed, true, SideCheck::OnUse).is_ok());
    assert!(read_with(&image, true, SideCheck::Order).is_ok());
    assert!(!check_address_map(
        &part,
        &changed[part.range.clone()],
        text_len
    ));
    // Unread (zeros): the same.
    let mut zeros = image.clone();
    zeros[lazy.clone()].fill(0);
    assert!(read_with(&zeros, true, SideCheck::OnUse).is_ok());
    assert!(!check_address_map(
        &part,
        &zeros[part.range.clone()],
        text_len
    ));
    // The right bytes for a shorter `.text` (a map pointing outside it).
    assert!(!check_address_map(&part, &image[part.range.clone()], 2));
    // The seal leaves out only the pages that may go unread.
    let key = [5u8; 32];
    let mut sealed = image.clone();
    seal(&mut sealed, &key, b"ctx");
    let mut inside = sealed.clone();
    inside[lazy.start + 9] ^= 1;
    assert_eq!(unseal(&inside, &key, b"ctx"), Some(image.len()));
    let mut before = sealed.clone();
    before[lazy.start - 1] ^= 1;
    assert_eq!(unseal(&before, &key, b"ctx"), None);
    // Decoding checks it and keeps it.
    assert!(OwnedArtifact::decode(&changed).is_err());
    let decoded = OwnedArtifact::decode(&image).unwrap();
    assert_eq!(decoded.compiled.address_map, compiled.address_map);
    assert_eq!(decoded.encode().unwrap(), image);
}

/// Where section `name`'s bytes are in `image`.
fn section_in(image: &[u8], name: &str) -> std::ops::Range<usize> {
    let file = object::File::parse(image).unwrap();
    let (start, len) = file.section_by_name(name).unwrap().file_range().unwrap();
    start as usize..(start + len) as usize
}

/// An artifact of [`WAT`] with `images` and the given address map.
fn with_parts(images: &[MemoryImage], address_map: Vec<(u32, u32)>) -> Vec<u8> {
    let mut compiled = compiled();
    compiled.address_map = address_map;
    write(&ArtifactParts {
        architecture: object::Architecture::X86_64,
        engine: &engine(),
        compiled: &compiled,
        wasm: &wat::parse_str(WAT).unwrap(),
        images,
        debug_sections: false,
        keep_imaged_segments: false,
    })
    .unwrap()
}

/// An address map long enough for whole pages of `.hoist.addrmap`.
fn long_address_map() -> Vec<(u32, u32)> {
    let mut map: Vec<_> = (0..3 * TEXT_ALIGN as u32)
        .map(|i| (i % 4, 30 + i))
        .collect();
    map.sort();
    map
}

/// Another format's digest covers other bytes: the format is what `read`
/// names, not a digest mismatch, and `format_of` finds it unchecked.
#[test]
fn another_format_is_named_before_the_digest() {
    let image = image();
    let engine = section_in(&image, ENGINE);
    let at = engine.start + MAGIC.len() + 32;
    let mut bad = image.clone();
    bad[at..at + 4].copy_from_slice(&7u32.to_le_bytes());
    let err = read(&bad).unwrap_err().to_string();
    assert!(err.contains("format 7 is not supported"), "{err}");
    assert!(!err.contains("digest mismatch"), "{err}");
    // The same without the digest (a sealed cache entry).
    let err = read_authenticated(&bad).unwrap_err().to_string();
    assert!(err.contains("format 7 is not supported"), "{err}");
    assert_eq!(format_of(&bad), Some(7));
    assert_eq!(format_of(&image), Some(FORMAT_VERSION));
    assert_eq!(format_of(b"junk"), None);
    // Another magic: not ours, no format.
    let mut foreign = image.clone();
    foreign[engine.start + 1] ^= 0x20;
    assert_eq!(format_of(&foreign), None);
}

/// The compile cache leaves unread only the side parts after the images,
/// so that it reads and checks the images when it loads.
#[test]
fn lazy_range_after_images_starts_after_the_images() {
    let image = image();
    let a = read(&image).unwrap();
    let lazy = lazy_range(&image).expect("the image's page");
    assert_eq!(lazy.start, a.data_offset);
    let data_end = a.data_offset + a.data.len();
    if let Some(after) = lazy_range_after_images(&image) {
        assert!(after.start >= data_end, "{after:?} {data_end}");
        assert_eq!(after.end, lazy.end);
    }
    // With an address map of whole pages after the image: its pages, and
    // not the image's.
    let images = [MemoryImage {
        memory: MemoryIndex::from_u32(0),
        offset: 4096,
        bytes: vec![7; 4096],
    }];
    let big = with_parts(&images, long_address_map());
    let b = read(&big).unwrap();
    let map = b.address_map.clone().expect("an address map");
    let lazy = lazy_range(&big).expect("whole pages");
    assert_eq!(lazy.start, b.data_offset);
    let after = lazy_range_after_images(&big).expect("the map's pages");
    assert_eq!(after.start, b.data_offset + b.data.len());
    assert_eq!(after.start, map.range.start);
    assert_eq!(after.end, lazy.end);

    // No images: the same as `lazy_range`, with and without whole pages.
    for map in [compiled().address_map, long_address_map()] {
        let plain = with_parts(&[], map);
        assert_eq!(lazy_range_after_images(&plain), lazy_range(&plain));
    }
    assert!(lazy_range(&with_parts(&[], long_address_map())).is_some());
    // Images and nothing after them: nothing to leave unread.
    let only_data = with_parts(&images, Vec::new());
    let o = read(&only_data).unwrap();
    assert!(o.address_map.is_none() && o.debug.is_none());
    assert_eq!(
        lazy_range(&only_data),
        Some(o.data_offset..o.data_offset + o.data.len())
    );
    assert_eq!(lazy_range_after_images(&only_data), None);
}

/// An image entry whose length is zero, not whole pages, or runs past
/// `.hoist.data` is refused by the table check (the digest skipped, as
/// for a sealed image, so that the check itself is what refuses it).
#[test]
fn degenerate_image_entries_are_refused() {
    let image = image();
    let owned = OwnedArtifact::decode(&image).unwrap();
    assert_eq!(owned.images.len(), 1);
    let a = read(&image).unwrap();
    let entry = a.images[0].clone();
    let info = section_in(&image, INFO);
    let digest_at = info.start
        + image[info.clone()]
            .windows(32)
            .position(|w| w == entry.digest)
            .expect("the image's digest in .hoist.info");
    // `len` is the 8 bytes before the digest.
    let len_at = digest_at - 8;
    assert_eq!(
        u64::from_le_bytes(image[len_at..digest_at].try_into().unwrap()),
        entry.len
    );
    let data_len = a.data.len() as u64;
    for len in [0, 100, data_len + IMAGE_PAGE_SIZE, u64::MAX] {
        let mut patched = image.clone();
        patched[len_at..digest_at].copy_from_slice(&len.to_le_bytes());
        let err = read_authenticated(&patched).unwrap_err().to_string();
        assert!(
            err.contains("damaged artifact") && err.contains("memory image"),
            "len {len}: {err}"
        );
    }
}

#[test]
fn owned_artifacts_round_trip_with_two_images_and_none() {
    let two_memories = wat::parse_str(
        r#"(module
            (memory 1)
            (memory 1)
            (data (memory 1) (i32.const 8192) "hello")
            (func (export "f") (result i32) i32.const 1))"#,
    )
    .unwrap();
    let images = [
        MemoryImage {
            memory: MemoryIndex::from_u32(0),
            offset: 0,
            bytes: vec![1; 4096],
        },
        MemoryImage {
            memory: MemoryIndex::from_u32(1),
            offset: 8192,
            bytes: (0..8192u32).map(|i| (i % 253) as u8).collect(),
        },
    ];
    let artifact = |images: &[MemoryImage]| {
        write(&ArtifactParts {
            architecture: object::Architecture::X86_64,
            engine: &engine(),
            compiled: &compiled(),
            wasm: &two_memories,
            images,
            debug_sections: false,
            keep_imaged_segments: false,
        })
        .unwrap()
    };

    let none = artifact(&[]);
    let owned = OwnedArtifact::decode(&none).unwrap();
    assert!(owned.images.is_empty());
    assert_eq!(owned.encode().unwrap(), none);

    let two = artifact(&images);
    let a = read(&two).unwrap();
    assert_eq!(a.images.len(), 2);
    for (entry, image) in a.images.iter().zip(&images) {
        assert_eq!((entry.memory, entry.offset), (image.memory, image.offset));
        let start = entry.section_offset as usize;
        assert_eq!(&a.data[start..start + entry.len as usize], &image.bytes[..]);
    }
    let owned = OwnedArtifact::decode(&two).unwrap();
    assert_eq!(owned.images, images);
    assert_eq!(owned.encode().unwrap(), two);

    // An edited image is written with its new digest: `read` (which
    // checks every image's) accepts it.
    let mut edited = owned.clone();
    edited.images[0].bytes[0] ^= 0xff;
    let reencoded = edited.encode().unwrap();
    let b = read(&reencoded).unwrap();
    assert_ne!(b.images[0].digest, a.images[0].digest);
    assert_eq!(b.images[1].digest, a.images[1].digest);
    assert_eq!(b.data[b.images[0].section_offset as usize], 1 ^ 0xff);
}

/// A memory may have several images (split at long runs of zero pages),
/// in ascending order and apart; overlapping or out of order, they are
/// refused.
#[test]
fn a_memorys_images_ascend_and_do_not_overlap() {
    let page = IMAGE_PAGE_SIZE as usize;
    let image = |offset: u64, pages: usize| MemoryImage {
        memory: MemoryIndex::from_u32(0),
        offset: offset * IMAGE_PAGE_SIZE,
        bytes: vec![1; pages * page],
    };
    let apart = with_parts(&[image(0, 1), image(10, 2)], Vec::new());
    let a = read(&apart).unwrap();
    assert_eq!(a.images.len(), 2);
    assert_eq!(a.images[1].offset, 10 * IMAGE_PAGE_SIZE);
    for (what, images) in [
        ("out of order", [image(10, 1), image(0, 1)]),
        ("overlapping", [image(0, 2), image(1, 1)]),
    ] {
        let err = read(&with_parts(&images, Vec::new()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("overlaps another"), "{what}: {err}");
    }
}
