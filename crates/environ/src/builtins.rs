//! The builtins: host helpers that compiled code calls through the vmctx's
//! builtin array, for operations too big to inline.
//!
//! [`foreach_builtin!`] is the one table of them. The environment's
//! [`Builtin`] enum, the compiler's calls and result handling, and the
//! runtime's function array are all generated from it, so adding a builtin
//! is one line here plus its implementation in the runtime (a function of
//! the same name in `hoist_runtime`'s builtins module).
//!
//! Every builtin takes the caller's vmctx and then only 64-bit integer
//! arguments (indices, addresses, lengths and reference bits,
//! zero-extended), and returns one 64-bit integer or nothing. That keeps
//! one calling convention for all of them on every target (riscv64 would
//! otherwise want 32-bit arguments sign-extended).

/// Calls `$mac!` with the table of builtins, one per line:
/// `Variant function(args...) -> result;` where the result says what the
/// caller does with the returned value:
/// - `value`: it is the operation's result;
/// - `trap(Code)`: zero is success, anything else traps with `Code`;
/// - `unit`: there is none (the caller holds no register for one);
/// - `never`: the builtin does not return (it unwinds to the host).
///
/// The order is the order of the function pointers in the array.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            // `(memory, delta_pages)` → old size in pages, or -1.
            MemoryGrow memory_grow(memory, delta) -> value;
            // `memory.copy` and `memory.fill` on native address ranges the
            // compiled caller has bounds-checked: memmove `len` bytes from
            // `src` to `dst`; set `len` bytes at `dst` to `value`'s low byte.
            MemoryCopy memory_copy(dst, src, len) -> unit;
            MemoryFill memory_fill(dst, value, len) -> unit;
            MemoryInit memory_init(memory, data, dst, src, len) -> trap(MemoryOutOfBounds);
            DataDrop data_drop(data) -> unit;
            // `(table, delta, init)` → old size in elements, or -1.
            TableGrow table_grow(table, delta, init) -> value;
            TableFill table_fill(table, dst, value, len) -> trap(TableOutOfBounds);
            TableCopy table_copy(dst_table, src_table, dst, src, len) -> trap(TableOutOfBounds);
            TableInit table_init(table, elem, dst, src, len) -> trap(TableOutOfBounds);
            ElemDrop elem_drop(elem) -> unit;
            // Float rounding for CPUs without rounding instructions (x86_64
            // without SSE4.1): bits in, bits of the rounded value out.
            CeilF32 ceil_f32(bits) -> value;
            FloorF32 floor_f32(bits) -> value;
            TruncF32 trunc_f32(bits) -> value;
            NearestF32 nearest_f32(bits) -> value;
            CeilF64 ceil_f64(bits) -> value;
            FloorF64 floor_f64(bits) -> value;
            TruncF64 trunc_f64(bits) -> value;
            NearestF64 nearest_f64(bits) -> value;
            // A host function failed (its error is pending): unwind to the
            // innermost entry from the host, without a signal.
            Raise raise() -> never;
            // `(actual, expected)` engine type ids → 1 if `actual` is a
            // declared subtype of `expected`, else 0.
            IsSubtype is_subtype(actual, expected) -> value;
            // Exceptions: throw a new one of a module-local tag with the
            // values at `payload` (16-byte slots); rethrow one; copy one's
            // values out.
            Throw throw(tag, payload) -> never;
            ThrowRef throw_ref(exn) -> never;
            ExnPayload exn_payload(exn, dst) -> value;
            // The identity (`VMTagDefinition` address) of `exn`'s tag.
            ExnTag exn_tag(exn) -> value;
            // Shared memories (the threads proposal), at a checked, aligned
            // native `address`: wake up to `count` waiters → how many woke;
            // wait while the value there is `expected`, at most `timeout`
            // ns (negative: forever) → 0 woken, 1 not equal, 2 timed out.
            MemoryAtomicNotify memory_atomic_notify(address, count) -> value;
            MemoryAtomicWait32 memory_atomic_wait32(address, expected, timeout) -> value;
            MemoryAtomicWait64 memory_atomic_wait64(address, expected, timeout) -> value;
            // The GC proposal (see `hoist_environ::gc`). Allocation's slow
            // path, when the inline bump allocation finds no room: collects
            // (or grows the heap) and returns the offset of `size` bytes for
            // a new object, or 0 when the heap is full.
            GcAlloc gc_alloc(size) -> value;
            // A new array from `len` elements of a data or element segment
            // from `offset`: its offset, or 0 when the heap is full, 1 when
            // the range is outside the segment.
            ArrayNewData array_new_data(header, data, offset, len) -> value;
            ArrayNewElem array_new_elem(header, elem, offset, len) -> value;
            // `array.init_data` / `array.init_elem` on a non-null array: 0,
            // or 1 when the range is outside the array, 2 outside the
            // segment.
            ArrayInitData array_init_data(array, data, dst, src, len) -> value;
            ArrayInitElem array_init_elem(array, elem, dst, src, len) -> value;
            // `array.copy` between non-null arrays of the same element size.
            ArrayCopy array_copy(dst, dst_index, src, src_index, len) -> trap(ArrayOutOfBounds);
            // Lazy compilation: the code of defined function `func` (a
            // `FuncIndex`) of the instance whose vmctx is passed (the
            // callee's), compiled on its first call and installed in that
            // instance's funcref; 0 when the compile failed (its error is
            // pending: the stub raises it).
            LazyCompile lazy_compile(func) -> value;
        }
    };
}

/// What compiled code does with a builtin's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinResult {
    /// The result is the operation's value.
    Value,
    /// Zero is success; anything else traps with this code.
    Trap(crate::TrapCode),
    /// There is no result.
    Unit,
    /// The builtin never returns.
    Never,
}

macro_rules! builtin_result {
    (value) => {
        BuiltinResult::Value
    };
    (trap($code:ident)) => {
        BuiltinResult::Trap(crate::TrapCode::$code)
    };
    (unit) => {
        BuiltinResult::Unit
    };
    (never) => {
        BuiltinResult::Never
    };
}

macro_rules! declare_builtins {
    ($( $variant:ident $function:ident ( $($arg:ident),* ) -> $result:ident $( ( $code:ident ) )? ; )*) => {
        /// A builtin, by its index in the builtin array.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $variant, )*
        }

        impl Builtin {
            /// Every builtin, in array order.
            pub const ALL: &'static [Builtin] = &[ $( Builtin::$variant, )* ];
            /// Number of builtins, the length of the builtin pointer array.
            pub const COUNT: usize = Self::ALL.len();

            /// Number of 64-bit arguments after the vmctx.
            pub fn num_args(self) -> usize {
                match self {
                    $( Builtin::$variant => <[&str]>::len(&[$(stringify!($arg)),*]), )*
                }
            }

            /// The runtime function's name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Builtin::$variant => stringify!($function), )*
                }
            }

            /// What compiled code does with the result.
            pub fn result(self) -> BuiltinResult {
                match self {
                    $( Builtin::$variant => builtin_result!($result $( ( $code ) )?), )*
                }
            }
        }
    };
}

foreach_builtin!(declare_builtins);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        assert_eq!(Builtin::COUNT, 34);
        for (i, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(*builtin as usize, i);
        }
        assert_eq!(Builtin::MemoryCopy.num_args(), 3);
        assert_eq!(Builtin::MemoryCopy.result(), BuiltinResult::Unit);
        assert_eq!(Builtin::Raise.num_args(), 0);
        assert_eq!(Builtin::Raise.result(), BuiltinResult::Never);
        assert_eq!(
            Builtin::TableFill.result(),
            BuiltinResult::Trap(crate::TrapCode::TableOutOfBounds)
        );
        assert_eq!(Builtin::NearestF64.name(), "nearest_f64");
        assert_eq!(Builtin::LazyCompile.num_args(), 1);
        assert_eq!(Builtin::LazyCompile.result(), BuiltinResult::Value);
    }
}
