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

/// The WebAssembly features hoist accepts: the 2.0 spec (which includes
/// SIMD) plus relaxed SIMD.
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::RELAXED_SIMD
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
    let mut validator = Validator::new_with_features(features);
    let mut module = Module::default();
    let mut function_bodies = PrimaryMap::new();

    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        if let ValidPayload::Func(validator, body) = validator.payload(&payload)? {
            function_bodies.push(FunctionBodyData { body, validator });
            continue;
        }
        match payload {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    let params = ty
                        .params()
                        .iter()
                        .map(|t| val_type(*t))
                        .collect::<WasmResult<Vec<_>>>()?;
                    let results = ty
                        .results()
                        .iter()
                        .map(|t| val_type(*t))
                        .collect::<WasmResult<Vec<_>>>()?;
                    module.types.push(WasmFuncType::new(params, results));
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
                    if !matches!(table.init, wasmparser::TableInit::RefNull) {
                        return Err(WasmError::Unsupported(
                            "table initializer expressions".into(),
                        ));
                    }
                    module.tables.push(table_type(table.ty)?);
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
            _ => {}
        }
    }
    Ok(())
}

/// Converts a wasmparser value type.
pub fn val_type(ty: wasmparser::ValType) -> WasmResult<WasmValType> {
    Ok(match ty {
        wasmparser::ValType::I32 => WasmValType::I32,
        wasmparser::ValType::I64 => WasmValType::I64,
        wasmparser::ValType::F32 => WasmValType::F32,
        wasmparser::ValType::F64 => WasmValType::F64,
        wasmparser::ValType::V128 => WasmValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r)?,
    })
}

fn ref_type(r: wasmparser::RefType) -> WasmResult<WasmValType> {
    if r == wasmparser::RefType::FUNCREF {
        Ok(WasmValType::FuncRef)
    } else if r == wasmparser::RefType::EXTERNREF {
        Ok(WasmValType::ExternRef)
    } else {
        Err(WasmError::Unsupported(format!("reference type {r}")))
    }
}

fn table_type(ty: wasmparser::TableType) -> WasmResult<TableType> {
    if ty.table64 || ty.shared {
        return Err(WasmError::Unsupported("64-bit or shared tables".into()));
    }
    Ok(TableType {
        element: ref_type(ty.element_type)?,
        minimum: ty.initial,
        maximum: ty.maximum,
    })
}

fn memory_type(ty: wasmparser::MemoryType) -> WasmResult<MemoryType> {
    if ty.page_size_log2.is_some() {
        return Err(WasmError::Unsupported("custom page sizes".into()));
    }
    Ok(MemoryType {
        minimum: ty.initial,
        maximum: ty.maximum,
        memory64: ty.memory64,
        shared: ty.shared,
    })
}

fn global_type(ty: wasmparser::GlobalType) -> WasmResult<GlobalType> {
    Ok(GlobalType {
        ty: val_type(ty.content_type)?,
        mutable: ty.mutable,
    })
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
            WasmValType::FuncRef,
            funcs
                .into_iter()
                .map(|f| Ok(ConstExpr::RefFunc(FuncIndex::from_u32(f?))))
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

/// Reads a (validated) constant expression. Wasm 2.0 allows exactly one
/// instruction before `end`.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> WasmResult<ConstExpr> {
    use wasmparser::Operator as O;
    let mut reader = expr.get_operators_reader();
    let value = match reader.read()? {
        O::I32Const { value } => ConstExpr::I32(value),
        O::I64Const { value } => ConstExpr::I64(value),
        O::F32Const { value } => ConstExpr::F32(value.bits()),
        O::F64Const { value } => ConstExpr::F64(value.bits()),
        O::V128Const { value } => ConstExpr::V128(u128::from_le_bytes(*value.bytes())),
        O::RefNull { hty } => ConstExpr::RefNull(ref_type(
            wasmparser::RefType::new(true, hty)
                .ok_or_else(|| WasmError::Unsupported("this heap type".into()))?,
        )?),
        O::RefFunc { function_index } => ConstExpr::RefFunc(FuncIndex::from_u32(function_index)),
        O::GlobalGet { global_index } => ConstExpr::GlobalGet(GlobalIndex::from_u32(global_index)),
        other => {
            return Err(WasmError::Unsupported(format!(
                "constant expression {other:?}"
            )))
        }
    };
    match reader.read()? {
        O::End => Ok(value),
        _ => Err(WasmError::Unsupported(
            "extended constant expressions".into(),
        )),
    }
}
