//! The `spectest` host module that the spec scripts import from.
//!
//! Same items as the reference interpreter's `spectest` module. The `print*`
//! functions accept their arguments and print nothing: the runner's output is
//! its report.

use anyhow::Result;
use hoist::{
    Func, FuncType, Global, GlobalType, Linker, Memory, MemoryType, Mutability, SharedMemory,
    Store, Table, TableType, Val, ValType,
};

const MODULE: &str = "spectest";

/// Defines every `spectest` item in `linker`, allocating them in `store`.
pub(crate) fn define(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<()> {
    use ValType::{F32, F64, I32, I64};

    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType::new(params.iter().copied(), []);
        let func = Func::new(store, ty, |_caller, _params, _results| Ok(()));
        linker.define(MODULE, name, func)?;
    }

    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, val) in globals {
        let ty = GlobalType::new(val.ty(), Mutability::Const);
        let global = Global::new(store, ty, val)?;
        linker.define(MODULE, name, global)?;
    }

    let table = Table::new(
        store,
        TableType::new(ValType::FUNCREF, 10, Some(20)),
        Val::FuncRef(None),
    )?;
    linker.define(MODULE, "table", table)?;

    let memory = Memory::new(store, MemoryType::new(1, Some(2)))?;
    linker.define(MODULE, "memory", memory)?;
    let shared = SharedMemory::new(store.engine(), MemoryType::shared(1, 2))?;
    let shared = Memory::from_shared(store, &shared)?;
    linker.define(MODULE, "shared_memory", shared)?;
    Ok(())
}
