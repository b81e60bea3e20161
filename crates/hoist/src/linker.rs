//! Resolving imports by name.

use crate::engine::Engine;
use crate::externals::Extern;
use crate::func::Func;
use crate::instance::Instance;
use crate::module::Module;
use crate::store::Store;
use crate::typed::IntoFunc;
use crate::types::{ExternType, FuncType, ValType};
use anyhow::{bail, Result};
use foldhash::{HashMap, HashMapExt, HashSet};
use std::marker::PhantomData;

/// Names for externs, used to satisfy a module's imports.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Extern>,
    /// With [`Linker::wrap_only_imports_of`]: the names host functions are
    /// made for, by module name (looked up without allocating).
    wanted: Option<HashMap<String, HashSet<String>>>,
    _store: PhantomData<fn(T)>,
}

impl<T> Linker<T> {
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            items: HashMap::new(),
            wanted: None,
            _store: PhantomData,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Defines `module::name`; a later definition replaces an earlier one.
    pub fn define(
        &mut self,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.items
            .insert((module.to_string(), name.to_string()), item.into());
        Ok(self)
    }

    /// From now on, [`Linker::func_wrap`] makes a host function only for a
    /// name that `module` (or a module given in an earlier call) imports, and
    /// skips the rest: a host offering many functions, as WASI's hundred,
    /// then makes only the few a module uses (a tenth of a millisecond of
    /// a small program's start-up). Other definitions are not affected. A
    /// skipped name is not defined: a module importing it fails to
    /// instantiate, as with any undefined import.
    pub fn wrap_only_imports_of(&mut self, module: &Module) -> &mut Self {
        let wanted = self.wanted.get_or_insert_with(HashMap::new);
        for (module, name, _) in module.imports() {
            wanted
                .entry(module.to_string())
                .or_default()
                .insert(name.to_string());
        }
        self
    }

    /// Defines a typed host function (see [`Func::wrap`]) under
    /// `module`/`name` (unless skipped, see
    /// [`Linker::wrap_only_imports_of`]).
    pub fn func_wrap<Params, Results>(
        &mut self,
        store: &mut Store<T>,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self>
    where
        T: 'static,
    {
        if let Some(wanted) = &self.wanted {
            if !wanted.get(module).is_some_and(|names| names.contains(name)) {
                return Ok(self);
            }
        }
        let func = Func::wrap(store, f);
        self.define(module, name, func)
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        store: &mut Store<T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(store) {
            self.define(module, &name, item)?;
        }
        Ok(self)
    }

    /// Defines each function `module` imports that nothing defines yet as
    /// a host function of its type that fails when called, naming the
    /// import (wasmtime's `-W unknown-imports-trap`): a module with imports
    /// it never calls still runs. Other kinds of import stay undefined.
    pub fn define_unknown_imports_as_traps(
        &mut self,
        store: &mut Store<T>,
        module: &Module,
    ) -> Result<&mut Self>
    where
        T: 'static,
    {
        self.define_unknown_funcs(store, module, |store, what, ty| {
            Some(Func::new(store, ty, move |_, _, _| {
                bail!("the module called `{what}`, an import nothing defines (-W unknown-imports-trap)")
            }))
        })
    }

    /// Defines each function `module` imports that nothing defines yet as
    /// a host function of its type that returns zeros and null references
    /// (wasmtime's `-W unknown-imports-default`). A function returning a
    /// non-nullable reference, which has no default, is left undefined:
    /// something defined later may provide it, else instantiation names it.
    pub fn define_unknown_imports_as_default_values(
        &mut self,
        store: &mut Store<T>,
        module: &Module,
    ) -> Result<&mut Self>
    where
        T: 'static,
    {
        self.define_unknown_funcs(store, module, |store, _, ty| {
            let defaultable = ty
                .results()
                .iter()
                .all(|r| !matches!(r, ValType::Ref(r) if !r.nullable));
            // The results start out as their types' defaults (zeros, and
            // the null of each reference's own hierarchy).
            defaultable.then(|| Func::new(store, ty, |_, _, _| Ok(())))
        })
    }

    /// Defines, for each function import of `module` nothing defines yet,
    /// what `make` makes of its `module::name` and type (`None`: nothing).
    fn define_unknown_funcs(
        &mut self,
        store: &mut Store<T>,
        module: &Module,
        make: impl Fn(&mut Store<T>, String, FuncType) -> Option<Func>,
    ) -> Result<&mut Self> {
        for (import_module, name, ty) in module.imports() {
            let ExternType::Func(ty) = ty else { continue };
            if self.get(import_module, name).is_some() {
                continue;
            }
            if let Some(func) = make(store, format!("{import_module}::{name}"), ty) {
                self.define(import_module, name, func)?;
            }
        }
        Ok(self)
    }

    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.items
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    /// Instantiates `module`, taking each import from this linker.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        let mut imports = Vec::new();
        for (module_name, name, _) in module.imports() {
            match self.get(module_name, name) {
                Some(item) => imports.push(item),
                None => bail!("unknown import: `{module_name}::{name}` has not been defined"),
            }
        }
        Instance::new(store, module, &imports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Val;
    use crate::Caller;

    /// Only the imported names get host functions; the module still links,
    /// and a second module's imports can be added.
    #[test]
    fn wrap_only_imports_of() {
        let engine = Engine::default();
        let first = Module::new(&engine, r#"(module (import "host" "used" (func)))"#).unwrap();
        let second = Module::new(&engine, r#"(module (import "host" "later" (func)))"#).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.wrap_only_imports_of(&first);
        for name in ["used", "unused", "later"] {
            linker
                .func_wrap(&mut store, "host", name, |_: Caller<'_, ()>| {})
                .unwrap();
        }
        assert!(linker.get("host", "used").is_some());
        assert!(linker.get("host", "unused").is_none());
        assert!(linker.get("host", "later").is_none());
        linker.instantiate(&mut store, &first).unwrap();
        let error = linker.instantiate(&mut store, &second).unwrap_err();
        assert!(error.to_string().contains("host::later"), "{error}");

        linker.wrap_only_imports_of(&second);
        linker
            .func_wrap(&mut store, "host", "later", |_: Caller<'_, ()>| {})
            .unwrap();
        linker.instantiate(&mut store, &second).unwrap();
    }

    /// Unknown function imports become traps or return defaults; defined
    /// ones are left as they are.
    #[test]
    fn unknown_imports() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module
                (import "env" "known" (func $known (result i32)))
                (import "env" "missing" (func $missing (param i32) (result i64 funcref)))
                (func (export "call_known") (result i32) (call $known))
                (func (export "call_missing") (result i64)
                    (call $missing (i32.const 1)) (drop)))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(&mut store, "env", "known", |_: Caller<'_, ()>| 7i32)
            .unwrap();
        linker
            .define_unknown_imports_as_traps(&mut store, &module)
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let known = instance.get_func(&mut store, "call_known").unwrap();
        let mut out = [Val::I32(0)];
        known.call(&mut store, &[], &mut out).unwrap();
        assert!(matches!(out[0], Val::I32(7)));
        let missing = instance.get_func(&mut store, "call_missing").unwrap();
        let mut out = [Val::I64(5)];
        let error = missing.call(&mut store, &[], &mut out).unwrap_err();
        assert!(format!("{error:#}").contains("env::missing"), "{error:#}");

        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .define_unknown_imports_as_default_values(&mut store, &module)
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let missing = instance.get_func(&mut store, "call_missing").unwrap();
        missing.call(&mut store, &[], &mut out).unwrap();
        assert!(matches!(out[0], Val::I64(0)));
        let known = instance.get_func(&mut store, "call_known").unwrap();
        let mut out = [Val::I32(9)];
        known.call(&mut store, &[], &mut out).unwrap();
        assert!(matches!(out[0], Val::I32(0)));

        // A concrete reference type's default is its own hierarchy's null;
        // a non-nullable result has none, and stays undefined.
        let gc = Module::new(
            &engine,
            r#"(module
                (type $s (struct))
                (import "env" "make" (func $make (result (ref null $s))))
                (func (export "is_null") (result i32) (ref.is_null (call $make))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .define_unknown_imports_as_default_values(&mut store, &gc)
            .unwrap();
        let instance = linker.instantiate(&mut store, &gc).unwrap();
        let is_null = instance.get_func(&mut store, "is_null").unwrap();
        let mut out = [Val::I32(0)];
        is_null.call(&mut store, &[], &mut out).unwrap();
        assert!(matches!(out[0], Val::I32(1)));
        let strict = Module::new(
            &engine,
            r#"(module (type $s (struct)) (import "env" "must" (func (result (ref $s)))))"#,
        )
        .unwrap();
        linker
            .define_unknown_imports_as_default_values(&mut store, &strict)
            .unwrap();
        assert!(linker.get("env", "must").is_none());
        let error = linker.instantiate(&mut store, &strict).unwrap_err();
        assert!(error.to_string().contains("env::must"), "{error}");
    }
}
