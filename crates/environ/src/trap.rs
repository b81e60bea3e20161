//! Trap codes and the spec's messages for them.

use std::fmt;

/// Why WebAssembly execution stopped abnormally.
///
/// The `Display` text is the wording of the spec test suite, so a
/// `.wast` `assert_trap` is a substring check.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapCode {
    StackOverflow = 1,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    UnreachableCodeReached,
    UndefinedElement,
    /// A host function returned an error; the error itself is kept by the
    /// runtime and reported instead of this code.
    HostTrap,
    /// `ref.as_non_null` (and similar) on a null reference.
    NullReference,
    /// `call_ref` / `return_call_ref` on a null reference.
    NullFunctionReference,
    /// An atomic access at an address not aligned to its size.
    UnalignedAtomic,
    /// `ref.cast` of a reference that is not of the type.
    CastFailure,
    /// A struct access through a null reference.
    NullStructReference,
    /// An array access through a null reference.
    NullArrayReference,
    /// An array access out of bounds.
    ArrayOutOfBounds,
    /// `memory.atomic.wait` on a memory that is not shared: nothing could
    /// ever wake it.
    AtomicWaitNonSharedMemory,
    /// The epoch deadline passed: a time limit or a signal interrupted the
    /// guest.
    Interrupt,
    /// Fuel metering: the store's fuel is used up.
    OutOfFuel,
    /// `memory.grow` or `table.grow` failed with trap-on-grow-failure set.
    GrowFailure,
    /// `i31.get_s` / `i31.get_u` of a null reference.
    NullI31Reference,
    /// An allocation found the GC heap full after a full collection, at
    /// its maximum size (`--max-gc-heap`).
    GcHeapOutOfMemory,
}

impl TrapCode {
    /// Every code, in discriminant order.
    pub const ALL: [TrapCode; 24] = [
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::UnreachableCodeReached,
        TrapCode::UndefinedElement,
        TrapCode::HostTrap,
        TrapCode::NullReference,
        TrapCode::NullFunctionReference,
        TrapCode::UnalignedAtomic,
        TrapCode::CastFailure,
        TrapCode::NullStructReference,
        TrapCode::NullArrayReference,
        TrapCode::ArrayOutOfBounds,
        TrapCode::AtomicWaitNonSharedMemory,
        TrapCode::Interrupt,
        TrapCode::OutOfFuel,
        TrapCode::GrowFailure,
        TrapCode::NullI31Reference,
        TrapCode::GcHeapOutOfMemory,
    ];

    /// Decodes a code stored in a trap table.
    pub fn from_u8(byte: u8) -> Option<TrapCode> {
        Self::ALL.get(usize::from(byte).checked_sub(1)?).copied()
    }

    /// Whether [`TrapCode::from_u8`] gives a code for `byte`.
    pub fn is_code(byte: u8) -> bool {
        usize::from(byte).wrapping_sub(1) < Self::ALL.len()
    }

    /// The spec's message for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "wasm `unreachable` instruction executed",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::HostTrap => "host function error",
            TrapCode::NullReference => "null reference",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::UnalignedAtomic => "unaligned atomic",
            TrapCode::CastFailure => "cast failure",
            TrapCode::NullStructReference => "null structure reference",
            TrapCode::NullArrayReference => "null array reference",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::AtomicWaitNonSharedMemory => "atomic wait on non-shared memory",
            TrapCode::Interrupt => "interrupt",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::GrowFailure => "memory or table growth failed (trap-on-grow-failure)",
            TrapCode::NullI31Reference => "null i31 reference",
            TrapCode::GcHeapOutOfMemory => {
                "out of GC heap memory: the live objects exceed the GC heap's maximum (--max-gc-heap)"
            }
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_bytes() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code as u8), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        assert_eq!(TrapCode::from_u8(200), None);
    }
}
