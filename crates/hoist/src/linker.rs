//! Resolving imports by name.

use crate::engine::Engine;
use crate::externals::Extern;
use crate::func::Func;
use crate::instance::Instance;
use crate::module::Module;
use crate::store::Store;
use crate::typed::IntoFunc;
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::marker::PhantomData;

/// Names for externs, used to satisfy a module's imports.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Extern>,
    _store: PhantomData<fn(T)>,
}

impl<T> Linker<T> {
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            items: HashMap::new(),
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

    /// Defines a typed host function (see [`Func::wrap`]) under
    /// `module`/`name`.
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
