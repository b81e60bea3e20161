//! Turning a wasm binary into a [`Module`] plus function bodies, validating
//! everything at module level. Function bodies are validated later, operator
//! by operator, while the compiler translates them.

use crate::*;
use cranelift_entity::PrimaryMap;
use wasmparser::{
    FuncToValidate, FunctionBody, KnownCustom, Name, Parser, Payload, TypeRef, ValidPayload,
    Validator, ValidatorResources, WasmFeatures,
};

/// One function body, waiting to be validated and compiled.
pub struct FunctionBodyData<'data> {
    pub body: FunctionBody<'data>,
    pub validator: FuncToValidate<ValidatorResources>,
}

/// The result of translating a module: its model plus the bodies to compile.
pub struct ModuleTranslation<'data> {
    pub module: Module,
    pub function_bodies: PrimaryMap<DefinedFuncIndex, FunctionBodyData<'data>>,
}

/// The WebAssembly features hoist accepts by default: the Wasm 3.0
/// standard (which includes SIMD, relaxed SIMD, tail calls, exceptions,
/// typed function references and GC, memory64, multi-memory,
/// extended-const and the threads proposal's atomics), plus the legacy
/// exception encoding that older toolchains still emit.
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM3 | WasmFeatures::LEGACY_EXCEPTIONS
}

/// Parses and validates `wasm` at module level, with the default features.
pub fn translate_module(wasm: &[u8]) -> WasmResult<ModuleTranslation<'_>> {
    translate_module_with_features(wasm, wasm_features())
}

/// Parses and validates `wasm` at module level, accepting `features`.
pub fn translate_module_with_features(
    wasm: &[u8],
    features: WasmFeatures,
) -> WasmResult<ModuleTranslation<'_>> {
    translate(wasm, features, true)
}

/// The model of a module that hoist itself validated before (the module in
/// an artifact sealed with this user's key), without its function bodies:
/// only the binary format is checked, so this is never for modules from
/// outside. Saves the validator's pass (3 ms of CPython's warm start).
pub fn parse_validated_module(wasm: &[u8], features: WasmFeatures) -> WasmResult<Module> {
    Ok(translate(wasm, features, false)?.module)
}

fn translate(
    wasm: &[u8],
    features: WasmFeatures,
    validate: bool,
) -> WasmResult<ModuleTranslation<'_>> {
    let mut validator = Validator::new_with_features(features);
    let mut module = Module::default();
    let mut function_bodies = PrimaryMap::new();

    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        if validate {
            if let ValidPayload::Func(validator, body) = validator.payload(&payload)? {
                function_bodies.push(FunctionBodyData { body, validator });
                continue;
            }
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = module.types.next_key();
                    let count = group.types().len() as u32;
                    for ty in group.into_types() {
                        let ty = sub_type(&ty, start)?;
                        module.types.push(ty);
                    }
                    module.rec_groups.push((start, count));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let index = match import.ty {
                        TypeRef::Func(ty) => {
                            module.num_imported_funcs += 1;
                            EntityIndex::Function(module.functions.push(TypeIndex::from_u32(ty)))
                        }
                        TypeRef::Table(ty) => {
                            module.num_imported_tables += 1;
                            EntityIndex::Table(module.tables.push(table_type(ty)?))
                        }
                        TypeRef::Memory(ty) => {
                            module.num_imported_memories += 1;
                            EntityIndex::Memory(module.memories.push(memory_type(ty)?))
                        }
                        TypeRef::Global(ty) => {
                            module.num_imported_globals += 1;
                            EntityIndex::Global(module.globals.push(global_type(ty)?))
                        }
                        TypeRef::Tag(ty) => {
                            module.num_imported_tags += 1;
                            EntityIndex::Tag(module.tags.push(tag_type(ty)))
                        }
                        other => {
                            return Err(WasmError::Unsupported(format!("import of {other:?}")));
                        }
                    };
                    module.imports.push(Import {
                        module: import.module.to_string(),
                        field: import.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.functions.push(TypeIndex::from_u32(ty?));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    module.tables.push(table_type(table.ty)?);
                    module.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => Some(const_expr(&expr)?),
                    });
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    module.tags.push(tag_type(tag?));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    module.memories.push(memory_type(memory?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    module.globals.push(global_type(global.ty)?);
                    module.global_inits.push(const_expr(&global.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        wasmparser::ExternalKind::Func => {
                            EntityIndex::Function(FuncIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Table => {
                            EntityIndex::Table(TableIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Memory => {
                            EntityIndex::Memory(MemoryIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Global => {
                            EntityIndex::Global(GlobalIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Tag => {
                            EntityIndex::Tag(TagIndex::from_u32(export.index))
                        }
                        other => {
                            return Err(WasmError::Unsupported(format!("export of {other:?}")))
                        }
                    };
                    module.exports.push((export.name.to_string(), index));
                }
            }
            Payload::StartSection { func, .. } => module.start = Some(FuncIndex::from_u32(func)),
            Payload::ElementSection(reader) => {
                for element in reader {
                    module.elements.push(element_segment(element?)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let kind = match data.kind {
                        wasmparser::DataKind::Passive => DataKind::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataKind::Active {
                            memory: MemoryIndex::from_u32(memory_index),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    module.data.push(DataSegment {
                        kind,
                        bytes: data.data.into(),
                    });
                }
            }
            Payload::CustomSection(reader) => {
                // A malformed name section is ignored, as the spec asks.
                if let KnownCustom::Name(names) = reader.as_known() {
                    let _ = read_names(&mut module, names);
                }
            }
            _ => {}
        }
    }
    module.compute_gc_info();
    Ok(ModuleTranslation {
        module,
        function_bodies,
    })
}

fn read_names(module: &mut Module, names: wasmparser::NameSectionReader<'_>) -> WasmResult<()> {
    for name in names {
        match name? {
            Name::Module { name, .. } => module.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    module
                        .func_names
                        .insert(FuncIndex::from_u32(naming.index), naming.name.to_string());
                }
            }
            Name::Tag(map) => {
                for naming in map {
                    let naming = naming?;
                    module
                        .tag_names
                        .insert(TagIndex::from_u32(naming.index), naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Converts a wasmparser value type from a function body or a module
/// section (concrete types as module type indices).
pub fn val_type(ty: wasmparser::ValType) -> WasmResult<WasmValType> {
    val_type_in(ty, None)
}

/// Converts a value type; inside a recursion group starting at
/// `group_start`, group-relative type indices become module indices.
fn val_type_in(ty: wasmparser::ValType, group_start: Option<TypeIndex>) -> WasmResult<WasmValType> {
    Ok(match ty {
        wasmparser::ValType::I32 => WasmValType::I32,
        wasmparser::ValType::I64 => WasmValType::I64,
        wasmparser::ValType::F32 => WasmValType::F32,
        wasmparser::ValType::F64 => WasmValType::F64,
        wasmparser::ValType::V128 => WasmValType::V128,
        wasmparser::ValType::Ref(r) => WasmValType::Ref(ref_type_in(r, group_start)?),
    })
}

/// Converts a wasmparser reference type.
pub fn ref_type(r: wasmparser::RefType) -> WasmResult<WasmRefType> {
    ref_type_in(r, None)
}

fn ref_type_in(r: wasmparser::RefType, group_start: Option<TypeIndex>) -> WasmResult<WasmRefType> {
    Ok(WasmRefType {
        nullable: r.is_nullable(),
        heap: heap_type_in(r.heap_type(), group_start)?,
    })
}

/// Converts a wasmparser heap type.
pub fn heap_type(h: wasmparser::HeapType) -> WasmResult<WasmHeapType> {
    heap_type_in(h, None)
}

fn heap_type_in(
    h: wasmparser::HeapType,
    group_start: Option<TypeIndex>,
) -> WasmResult<WasmHeapType> {
    use wasmparser::AbstractHeapType as A;
    Ok(match h {
        wasmparser::HeapType::Abstract { shared: true, .. } => {
            return Err(WasmError::Unsupported("shared heap types".into()))
        }
        wasmparser::HeapType::Abstract { ty, .. } => match ty {
            A::Func => WasmHeapType::Func,
            A::NoFunc => WasmHeapType::NoFunc,
            A::Extern => WasmHeapType::Extern,
            A::NoExtern => WasmHeapType::NoExtern,
            A::Any => WasmHeapType::Any,
            A::Eq => WasmHeapType::Eq,
            A::I31 => WasmHeapType::I31,
            A::Struct => WasmHeapType::Struct,
            A::Array => WasmHeapType::Array,
            A::None => WasmHeapType::None,
            A::Exn => WasmHeapType::Exn,
            A::NoExn => WasmHeapType::NoExn,
            A::Cont | A::NoCont => return Err(WasmError::Unsupported("continuation types".into())),
        },
        wasmparser::HeapType::Concrete(index) => {
            WasmHeapType::Concrete(crate::TypeRef::Module(type_index(index, group_start)?))
        }
        wasmparser::HeapType::Exact(_) => {
            return Err(WasmError::Unsupported("exact reference types".into()))
        }
    })
}

/// A module type index from a type reference in the type section or a body.
fn type_index(
    index: wasmparser::UnpackedIndex,
    group_start: Option<TypeIndex>,
) -> WasmResult<TypeIndex> {
    match index {
        wasmparser::UnpackedIndex::Module(i) => Ok(TypeIndex::from_u32(i)),
        wasmparser::UnpackedIndex::RecGroup(i) => match group_start {
            Some(start) => Ok(TypeIndex::from_u32(start.as_u32() + i)),
            None => Err(WasmError::Unsupported(
                "a group-relative type index outside its group".into(),
            )),
        },
        wasmparser::UnpackedIndex::Id(_) => Err(WasmError::Unsupported(
            "a canonicalized type id in a module".into(),
        )),
    }
}

/// Converts one type of the type section, in the group starting at `start`.
fn sub_type(ty: &wasmparser::SubType, start: TypeIndex) -> WasmResult<WasmSubType> {
    let group = Some(start);
    let composite = &ty.composite_type;
    if composite.shared || composite.descriptor_idx.is_some() || composite.describes_idx.is_some() {
        return Err(WasmError::Unsupported("shared or descriptor types".into()));
    }
    let field = |f: &wasmparser::FieldType| -> WasmResult<WasmFieldType> {
        Ok(WasmFieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => WasmStorageType::I8,
                wasmparser::StorageType::I16 => WasmStorageType::I16,
                wasmparser::StorageType::Val(v) => WasmStorageType::Val(val_type_in(v, group)?),
            },
            mutable: f.mutable,
        })
    };
    let composite = match &composite.inner {
        wasmparser::CompositeInnerType::Func(f) => {
            let params = f
                .params()
                .iter()
                .map(|t| val_type_in(*t, group))
                .collect::<WasmResult<Vec<_>>>()?;
            let results = f
                .results()
                .iter()
                .map(|t| val_type_in(*t, group))
                .collect::<WasmResult<Vec<_>>>()?;
            WasmCompositeType::Func(WasmFuncType::new(params, results))
        }
        wasmparser::CompositeInnerType::Struct(s) => {
            WasmCompositeType::Struct(s.fields.iter().map(field).collect::<WasmResult<_>>()?)
        }
        wasmparser::CompositeInnerType::Array(a) => WasmCompositeType::Array(field(&a.0)?),
        wasmparser::CompositeInnerType::Cont(_) => {
            return Err(WasmError::Unsupported("continuation types".into()))
        }
    };
    let supertype = match ty.supertype_idxs.as_slice() {
        [] => None,
        [one] => Some(crate::TypeRef::Module(type_index(one.unpack(), group)?)),
        _ => return Err(WasmError::Unsupported("more than one supertype".into())),
    };
    Ok(WasmSubType {
        is_final: ty.is_final,
        supertype,
        composite,
    })
}

fn table_type(ty: wasmparser::TableType) -> WasmResult<TableType> {
    if ty.shared {
        return Err(WasmError::Unsupported("shared tables".into()));
    }
    Ok(TableType {
        element: ref_type(ty.element_type)?,
        minimum: ty.initial,
        maximum: ty.maximum,
        table64: ty.table64,
    })
}

fn memory_type(ty: wasmparser::MemoryType) -> WasmResult<MemoryType> {
    Ok(MemoryType {
        minimum: ty.initial,
        maximum: ty.maximum,
        memory64: ty.memory64,
        shared: ty.shared,
        page_size_log2: match ty.page_size_log2 {
            None => 16,
            Some(log2) => {
                u8::try_from(log2).map_err(|_| WasmError::Unsupported("this page size".into()))?
            }
        },
    })
}

fn global_type(ty: wasmparser::GlobalType) -> WasmResult<GlobalType> {
    if ty.shared {
        return Err(WasmError::Unsupported("shared globals".into()));
    }
    Ok(GlobalType {
        ty: val_type(ty.content_type)?,
        mutable: ty.mutable,
    })
}

fn tag_type(ty: wasmparser::TagType) -> TagType {
    TagType {
        ty: TypeIndex::from_u32(ty.func_type_idx),
    }
}

fn element_segment(element: wasmparser::Element<'_>) -> WasmResult<ElementSegment> {
    let kind = match element.kind {
        wasmparser::ElementKind::Passive => ElementKind::Passive,
        wasmparser::ElementKind::Declared => ElementKind::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElementKind::Active {
            table: TableIndex::from_u32(table_index.unwrap_or(0)),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match element.items {
        wasmparser::ElementItems::Functions(funcs) => (
            WasmRefType {
                nullable: false,
                heap: WasmHeapType::Func,
            },
            funcs
                .into_iter()
                .map(|f| Ok(ConstExpr::op(ConstOp::RefFunc(FuncIndex::from_u32(f?)))))
                .collect::<WasmResult<Vec<_>>>()?,
        ),
        wasmparser::ElementItems::Expressions(ty, exprs) => (
            ref_type(ty)?,
            exprs
                .into_iter()
                .map(|e| const_expr(&e?))
                .collect::<WasmResult<Vec<_>>>()?,
        ),
    };
    Ok(ElementSegment {
        kind,
        ty,
        items: items.into(),
    })
}

/// Reads a (validated) constant expression.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> WasmResult<ConstExpr> {
    use wasmparser::Operator as O;
    let mut reader = expr.get_operators_reader();
    // Most are one instruction: one allocation, not a Vec of four shrunk
    // into a slice of one (CPython has 24,000 data segment offsets).
    let mut ops = Vec::with_capacity(1);
    loop {
        ops.push(match reader.read()? {
            O::End => break,
            O::I32Const { value } => ConstOp::I32Const(value),
            O::I64Const { value } => ConstOp::I64Const(value),
            O::F32Const { value } => ConstOp::F32Const(value.bits()),
            O::F64Const { value } => ConstOp::F64Const(value.bits()),
            O::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
            O::RefNull { hty } => ConstOp::RefNull(heap_type(hty)?),
            O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex::from_u32(function_index)),
            O::GlobalGet { global_index } => {
                ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
            }
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::StructNew { struct_type_index } => {
                ConstOp::StructNew(TypeIndex::from_u32(struct_type_index))
            }
            O::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(TypeIndex::from_u32(struct_type_index))
            }
            O::ArrayNew { array_type_index } => {
                ConstOp::ArrayNew(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(TypeIndex::from_u32(array_type_index), array_size),
            O::RefI31 => ConstOp::RefI31,
            O::AnyConvertExtern => ConstOp::AnyConvertExtern,
            O::ExternConvertAny => ConstOp::ExternConvertAny,
            other => {
                return Err(WasmError::Unsupported(format!(
                    "constant expression {other:?}"
                )))
            }
        });
    }
    Ok(ConstExpr::new(ops))
}
