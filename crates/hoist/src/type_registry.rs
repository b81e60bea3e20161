//! The engine's type registry: every defined type of every module (and every
//! host function signature) canonicalized to one engine-wide id, so type
//! equality across modules is an integer comparison.
//!
//! Canonicalization is iso-recursive, as Wasm 3.0 specifies: a recursion
//! group is keyed by its types with references inside the group written as
//! group-relative positions and references to earlier groups as their
//! engine ids. Two modules that define structurally equal groups get the
//! same ids, so a type imported from another module is the same type.
//!
//! Subtyping uses each type's supertype display (its chain of supertypes
//! from the root, itself last): `a <: b` iff `b` sits in `a`'s display at
//! `b`'s own depth. Constant time, no walk up the chain.

use foldhash::HashMap;
use hoist_environ::{
    EntityRef, HeapTypeHierarchy, Module, TypeIndex, TypeRef, WasmCompositeType, WasmFuncType,
    WasmHeapType, WasmRefType, WasmSubType, WasmValType,
};

/// One registered type: its canonical form (references as engine ids) and
/// its supertype display.
struct Registered {
    ty: WasmSubType,
    /// Engine ids of its supertypes from the root down to itself.
    display: Box<[u32]>,
}

/// The engine-wide registry of canonicalized types.
#[derive(Default)]
pub(crate) struct TypeRegistry {
    /// A recursion group in canonical key form → the id of its first type.
    groups: HashMap<Vec<WasmSubType>, u32>,
    types: Vec<Registered>,
}

impl TypeRegistry {
    /// Registers every type of `module`; returns each type's engine id,
    /// by `TypeIndex`.
    pub(crate) fn register_module(&mut self, module: &Module) -> Vec<u32> {
        let mut ids: Vec<u32> = Vec::with_capacity(module.types.len());
        for &(start, count) in &module.rec_groups {
            let range = start.as_u32()..start.as_u32() + count;
            // Group-relative positions inside, engine ids outside.
            let key: Vec<WasmSubType> = (range.clone())
                .map(|i| {
                    module.types[TypeIndex::from_u32(i)].map_refs(&mut |r| match r {
                        TypeRef::Module(t) if range.contains(&t.as_u32()) => {
                            TypeRef::RecGroup(t.as_u32() - range.start)
                        }
                        TypeRef::Module(t) => TypeRef::Engine(ids[t.index()]),
                        other => other,
                    })
                })
                .collect();
            let first = self.register_group(key);
            ids.extend(first..first + count);
        }
        ids
    }

    /// The id of a function signature whose concrete references (if any)
    /// are already engine ids: a final type with no supertype, alone in its
    /// group, as host function signatures are.
    pub(crate) fn register_func(&mut self, ty: &WasmFuncType) -> u32 {
        self.register_group(vec![WasmSubType::func(ty.clone())])
    }

    fn register_group(&mut self, key: Vec<WasmSubType>) -> u32 {
        if let Some(first) = self.groups.get(&key) {
            return *first;
        }
        let first = self.types.len() as u32;
        for ty in &key {
            let ty = ty.map_refs(&mut |r| match r {
                TypeRef::RecGroup(i) => TypeRef::Engine(first + i),
                other => other,
            });
            let display = match ty.supertype {
                Some(TypeRef::Engine(sup)) => {
                    let mut display = self.types[sup as usize].display.to_vec();
                    display.push(self.types.len() as u32);
                    display.into_boxed_slice()
                }
                _ => Box::new([self.types.len() as u32]),
            };
            self.types.push(Registered { ty, display });
        }
        self.groups.insert(key, first);
        first
    }

    /// The canonical type behind `id` (references as engine ids).
    pub(crate) fn get(&self, id: u32) -> Option<&WasmSubType> {
        self.types.get(id as usize).map(|r| &r.ty)
    }

    /// Number of registered types (ids are `0..len`).
    pub(crate) fn len(&self) -> usize {
        self.types.len()
    }

    /// Type `id`'s supertype display: ids from its root to itself.
    pub(crate) fn display(&self, id: u32) -> Option<&[u32]> {
        self.types.get(id as usize).map(|r| &*r.display)
    }

    /// Whether concrete type `r` (an engine id) is a function type.
    pub(crate) fn is_func(&self, r: TypeRef) -> bool {
        match r {
            TypeRef::Engine(id) => matches!(
                self.get(id).map(|t| &t.composite),
                Some(WasmCompositeType::Func(_))
            ),
            _ => false,
        }
    }

    /// The object layout of struct or array type `id`.
    pub(crate) fn gc_layout(&self, id: u32) -> Option<hoist_environ::GcLayout> {
        hoist_environ::GcLayout::of(&self.get(id)?.composite, &|r| self.is_func(r))
    }

    /// Whether values of `ty` (engine references) are traced by the GC.
    pub(crate) fn is_gc_ref(&self, ty: WasmValType) -> bool {
        hoist_environ::gc::is_gc_ref(ty, &|r| self.is_func(r))
    }

    /// Whether type `a` is `b` or a declared subtype of it.
    pub(crate) fn is_subtype(&self, a: u32, b: u32) -> bool {
        if a == b {
            return true;
        }
        let (Some(a), Some(b)) = (self.types.get(a as usize), self.types.get(b as usize)) else {
            return false;
        };
        let depth = b.display.len() - 1;
        a.display.get(depth) == b.display.last()
    }

    fn hierarchy(&self, heap: WasmHeapType) -> HeapTypeHierarchy {
        match heap {
            WasmHeapType::Func | WasmHeapType::NoFunc => HeapTypeHierarchy::Func,
            WasmHeapType::Extern | WasmHeapType::NoExtern => HeapTypeHierarchy::Extern,
            WasmHeapType::Exn | WasmHeapType::NoExn => HeapTypeHierarchy::Exn,
            WasmHeapType::Concrete(TypeRef::Engine(id)) => match self.get(id).map(|t| &t.composite)
            {
                Some(WasmCompositeType::Func(_)) | None => HeapTypeHierarchy::Func,
                Some(_) => HeapTypeHierarchy::Any,
            },
            _ => HeapTypeHierarchy::Any,
        }
    }

    /// Heap subtyping (engine-canonical types): within one hierarchy, the
    /// bottom type is below everything and the abstract types form the
    /// spec's lattice (`i31`, `struct`, `array` below `eq` below `any`);
    /// a concrete type is below its abstract kind and its declared
    /// supertypes.
    pub(crate) fn heap_subtype(&self, a: WasmHeapType, b: WasmHeapType) -> bool {
        use WasmHeapType as H;
        if a == b {
            return true;
        }
        if self.hierarchy(a) != self.hierarchy(b) {
            return false;
        }
        if a.is_bottom() {
            return true;
        }
        let kind = |id: u32| self.get(id).map(|t| &t.composite);
        match (a, b) {
            (H::Concrete(TypeRef::Engine(a)), H::Concrete(TypeRef::Engine(b))) => {
                self.is_subtype(a, b)
            }
            (H::Concrete(TypeRef::Engine(a)), abstract_b) => matches!(
                (kind(a), abstract_b),
                (Some(WasmCompositeType::Func(_)), H::Func)
                    | (
                        Some(WasmCompositeType::Struct(_)),
                        H::Struct | H::Eq | H::Any
                    )
                    | (Some(WasmCompositeType::Array(_)), H::Array | H::Eq | H::Any)
            ),
            (H::I31 | H::Struct | H::Array, H::Eq | H::Any) => true,
            (H::Eq, H::Any) => true,
            _ => false,
        }
    }

    /// Reference subtyping: nullability, then heap types.
    pub(crate) fn ref_subtype(&self, a: WasmRefType, b: WasmRefType) -> bool {
        (!a.nullable || b.nullable) && self.heap_subtype(a.heap, b.heap)
    }

    /// Value subtyping (numeric and vector types only match themselves).
    pub(crate) fn val_subtype(&self, a: WasmValType, b: WasmValType) -> bool {
        match (a, b) {
            (WasmValType::Ref(a), WasmValType::Ref(b)) => self.ref_subtype(a, b),
            (a, b) => a == b,
        }
    }
}

/// `ty` of a module with its concrete references turned into engine ids.
pub(crate) fn to_engine_val(ty: WasmValType, ids: &[u32]) -> WasmValType {
    ty.map_refs(&mut |r| match r {
        TypeRef::Module(t) => TypeRef::Engine(ids[t.index()]),
        other => other,
    })
}

/// `ty` of a module with its concrete references turned into engine ids.
pub(crate) fn to_engine_ref(ty: WasmRefType, ids: &[u32]) -> WasmRefType {
    to_engine_val(WasmValType::Ref(ty), ids)
        .as_ref()
        .expect("a reference type stays one")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_environ::WasmFieldType;

    fn module(wat: &str) -> Module {
        let wasm = wat::parse_str(wat).unwrap();
        let mut features = hoist_environ::wasm_features();
        features |= wasmparser::WasmFeatures::GC | wasmparser::WasmFeatures::FUNCTION_REFERENCES;
        hoist_environ::translate_module_with_features(&wasm, features)
            .unwrap()
            .module
    }

    #[test]
    fn equal_groups_in_two_modules_are_one_type() {
        let mut registry = TypeRegistry::default();
        let text = "(module (rec (type $a (struct (field (ref null $b)))) (type $b (func (param (ref $a))))))";
        let a = registry.register_module(&module(text));
        let b = registry.register_module(&module(
            &("(module (type (func)) ".to_string() + &text["(module ".len()..]),
        ));
        assert_eq!(a, b[1..]);
        // The same shapes outside a rec group are different types.
        let c =
            registry.register_module(&module("(module (type $a (struct (field (ref null $a)))))"));
        assert_ne!(c[0], a[0]);
    }

    #[test]
    fn subtyping_follows_declared_supertypes() {
        let mut registry = TypeRegistry::default();
        let ids = registry.register_module(&module(
            "(module (type $top (sub (func))) (type $mid (sub $top (func))) (type $leaf (sub final $mid (func))) (type $other (sub (func (param i32)))))",
        ));
        let [top, mid, leaf, other] = ids[..] else {
            panic!()
        };
        assert!(registry.is_subtype(leaf, top));
        assert!(registry.is_subtype(leaf, mid));
        assert!(registry.is_subtype(mid, top));
        assert!(!registry.is_subtype(top, mid));
        assert!(!registry.is_subtype(leaf, other));
        let concrete = |id| WasmHeapType::Concrete(TypeRef::Engine(id));
        assert!(registry.heap_subtype(concrete(leaf), WasmHeapType::Func));
        assert!(registry.heap_subtype(WasmHeapType::NoFunc, concrete(leaf)));
        assert!(!registry.heap_subtype(concrete(leaf), WasmHeapType::Any));
        assert!(registry.heap_subtype(WasmHeapType::I31, WasmHeapType::Any));
        assert!(!registry.heap_subtype(WasmHeapType::Extern, WasmHeapType::Any));
        let _ = WasmFieldType {
            storage: hoist_environ::WasmStorageType::I8,
            mutable: false,
        };
    }

    #[test]
    fn host_signatures_equal_plain_module_types() {
        let mut registry = TypeRegistry::default();
        let ids =
            registry.register_module(&module("(module (type (func (param i32) (result i64))))"));
        let host =
            registry.register_func(&WasmFuncType::new([WasmValType::I32], [WasmValType::I64]));
        assert_eq!(ids[0], host);
    }
}
