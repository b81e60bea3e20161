//! The GC proposal's constant instructions (`struct.new`, `array.new`,
//! `ref.i31`, the conversions), evaluated at instantiation.
//!
//! An allocation may collect, so the evaluation stack's references are
//! roots while it does (and are rewritten if their objects move); every
//! value on the stack carries whether it is a traced reference.

use super::{AllocError, Frames};
use crate::instance::Instance;
use crate::vmcontext::ValRaw;
use hoist_environ::gc::{i31_ref, GC_ALIGN};
use hoist_environ::{ConstOp, GcLayout, TrapCode, TypeIndex};

/// A value on the evaluation stack and whether the collector traces it.
pub type StackValue = (ValRaw, bool);

/// Evaluates GC instruction `op` (one of the above), popping its operands
/// from `stack`; the result and whether it is traced.
pub fn eval(
    instance: &Instance,
    op: ConstOp,
    stack: &mut Vec<StackValue>,
) -> Result<StackValue, TrapCode> {
    let pop = |stack: &mut Vec<StackValue>| stack.pop().expect("validated: an operand");
    Ok(match op {
        ConstOp::RefI31 => {
            let v = pop(stack).0.get_u32();
            (ValRaw(u128::from(i31_ref(v))), true)
        }
        ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => pop(stack),
        ConstOp::StructNew(ty) | ConstOp::StructNewDefault(ty) => {
            let layout = struct_layout(instance, ty);
            let obj = alloc(instance, ty, layout.size, None, stack)?;
            if let ConstOp::StructNew(_) = op {
                let fields = stack.split_off(stack.len() - layout.fields.len());
                // SAFETY: see `alloc`.
                let gc = unsafe { &mut *(*instance.store_context()).gc.get() };
                for (field, (value, _)) in layout.fields.iter().zip(fields) {
                    gc.write(obj + field.offset, field.kind, value);
                }
            }
            (ValRaw(u128::from(obj)), true)
        }
        ConstOp::ArrayNew(ty) | ConstOp::ArrayNewDefault(ty) | ConstOp::ArrayNewFixed(ty, _) => {
            let len = match op {
                ConstOp::ArrayNewFixed(_, n) => n,
                _ => pop(stack).0.get_u32(),
            };
            let GcLayout::Array(layout) = instance.module().gc_layout(ty).clone() else {
                unreachable!("validated: an array type");
            };
            let size = layout.size(len).ok_or(TrapCode::GcHeapOutOfMemory)?;
            let obj = alloc(instance, ty, size, Some(len), stack)?;
            let values: Vec<StackValue> = match op {
                ConstOp::ArrayNew(_) => {
                    let init = pop(stack);
                    vec![init; if len > 0 { 1 } else { 0 }]
                }
                ConstOp::ArrayNewFixed(_, n) => stack.split_off(stack.len() - n as usize),
                _ => Vec::new(),
            };
            // SAFETY: see `alloc`.
            let gc = unsafe { &mut *(*instance.store_context()).gc.get() };
            let elem = layout.elem;
            for i in 0..len {
                let value = match op {
                    ConstOp::ArrayNew(_) => values[0].0,
                    ConstOp::ArrayNewFixed(..) => values[i as usize].0,
                    _ => break,
                };
                let at = obj + hoist_environ::gc::ARRAY_ELEMS_OFFSET + i * elem.size();
                gc.write(at, elem, value);
            }
            (ValRaw(u128::from(obj)), true)
        }
        other => unreachable!("{other:?} is not a GC instruction"),
    })
}

fn struct_layout(instance: &Instance, ty: TypeIndex) -> hoist_environ::GcStructLayout {
    match instance.module().gc_layout(ty) {
        GcLayout::Struct(s) => s.clone(),
        GcLayout::Array(_) => unreachable!("validated: a struct type"),
    }
}

/// Allocates and initializes (header, length, zeros) an object of module
/// type `ty`, with the stack's references as roots.
fn alloc(
    instance: &Instance,
    ty: TypeIndex,
    size: u32,
    array_len: Option<u32>,
    stack: &mut [StackValue],
) -> Result<u32, TrapCode> {
    debug_assert_eq!(size % GC_ALIGN, 0);
    let header = instance.type_id(ty) | instance.module().gc_layout(ty).kind_bits();
    let mut roots: Vec<u64> = stack
        .iter()
        .filter(|(_, traced)| *traced)
        .map(|(v, _)| v.0 as u64)
        .collect();
    // SAFETY: instantiation is host code: the store context is live, the
    // frames of any activation below are recorded (`Frames::Host`), and
    // the only references held here are the stack's, passed as roots.
    let result = unsafe {
        let ctx = &*instance.store_context();
        (*ctx.gc.get()).alloc(ctx, size, Frames::Host, &mut roots)
    };
    let mut roots = roots.into_iter();
    for (value, traced) in stack.iter_mut() {
        if *traced {
            value.0 = u128::from(roots.next().unwrap_or(0));
        }
    }
    let obj = result.map_err(|AllocError::OutOfMemory| TrapCode::GcHeapOutOfMemory)?;
    // SAFETY: as above.
    let gc = unsafe { &mut *(*instance.store_context()).gc.get() };
    gc.init_object(obj, size, header, array_len);
    Ok(obj)
}
