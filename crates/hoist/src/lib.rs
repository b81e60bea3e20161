//! The hoist embedding API: compile modules, instantiate them in a store,
//! call their functions, and give them host functions written in Rust.
//!
//! ```no_run
//! use hoist::*;
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "answer") (result i32) i32.const 42))"#)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[])?;
//! let answer = instance.get_func(&mut store, "answer").unwrap();
//! let mut results = [Val::I32(0)];
//! answer.call(&mut store, &[], &mut results)?;
//! # Ok::<(), hoist::Error>(())
//! ```

mod engine;
mod externals;
mod func;
mod gc;
mod image_source;
mod instance;
mod lazy;
mod linker;
mod module;
mod shared_bytes;
mod store;
mod tier_up;
mod trap;
mod type_registry;
mod typed;
mod types;
mod values;

pub use anyhow::{Error, Result};
pub use engine::{Config, Engine, WasmFeatures};
pub use externals::{Extern, Global, Memory, SharedMemory, Table, Tag};
pub use func::{Caller, Func};
pub use hoist_artifact::{inspect as inspect_artifact, is_artifact, EngineInfo};
pub use hoist_cranelift::{Cpu, OptLevel};
pub use hoist_environ::{DEFAULT_MAX_GC_HEAP, DEFAULT_MAX_TOTAL_TABLE_ELEMENTS, MAX_GC_HEAP_LIMIT};
pub use hoist_runtime::gc::GcStats;
pub use hoist_runtime::ImageBuffer;
pub use hoist_runtime::TableBudget;
pub use hoist_runtime::{BASELINE_STACK_FACTOR, UNOPTIMIZED_STACK_FACTOR};
pub use instance::Instance;
pub use lazy::LazyActivity;
pub use linker::Linker;
pub use module::{FunctionCode, Module};
pub use shared_bytes::SharedBytes;
pub use store::{AsContextMut, Store, StoreContextMut};
pub use trap::{FrameInfo, Trap, TrapCode, WasmException};
pub use typed::{HostReturn, IntoFunc, WasmResults, WasmTy};
pub use types::{
    ExternType, FuncType, GlobalType, HeapType, MemoryType, Mutability, RefType, TableType,
    TagType, ValType,
};
pub use values::{AnyRef, ArrayRef, ExnRef, ExternRef, StructRef, Val, I31};
