//! The GC proposal's operators: structs, arrays, `i31ref`, casts and the
//! conversions between `anyref` and `externref` (see `hoist_environ::gc`
//! for the object model and `crate::gc` for how the heap is reached).
//!
//! Null checks, bounds checks and casts are compiled inline; so is
//! allocation, which only calls the runtime when the heap's current space
//! is full. References into the heap are 32-bit offsets, zero-extended to
//! pointer width like every reference, so an object's address is the
//! heap's base plus its reference.
//!
//! The collector moves objects, so every value of a traced reference type
//! is declared to Cranelift as needing a stack map
//! ([`FuncTranslator::declare_gc_values`]): Cranelift keeps such values in
//! stack slots across calls and the collector rewrites the slots.

use super::control::args;
use super::FuncTranslator;
use crate::gc::gc_flags;
use crate::trap_code;
use cranelift_codegen::ir::{self, condcodes::IntCC, types, BlockArg, InstBuilder, Value};
use hoist_environ::gc::{
    ARRAY_ELEMS_OFFSET, ARRAY_LENGTH_OFFSET, I31_TAG, KIND_ARRAY, KIND_MASK, KIND_STRUCT,
    TYPE_ID_MASK,
};
use hoist_environ::{
    Builtin, GcArrayLayout, GcFieldKind, GcLayout, GcStructLayout, TrapCode, TypeIndex, TypeRef,
    WasmHeapType, WasmRefType, WasmResult,
};
use wasmparser::{FuncValidator, ValidatorResources, WasmModuleResources};

/// Declares the visitor methods of the GC operators (all but `ref.eq`,
/// which typed function references already had) inside the translator's
/// `VisitOperator` impl.
macro_rules! gc_operators {
    () => {
        fn visit_struct_new(&mut self, struct_type_index: u32) -> Self::Output {
            self.translate_struct_new(struct_type_index, false)
        }
        fn visit_struct_new_default(&mut self, struct_type_index: u32) -> Self::Output {
            self.translate_struct_new(struct_type_index, true)
        }
        fn visit_struct_get(&mut self, struct_type_index: u32, field_index: u32) -> Self::Output {
            self.translate_struct_get(struct_type_index, field_index, false)
        }
        fn visit_struct_get_s(&mut self, struct_type_index: u32, field_index: u32) -> Self::Output {
            self.translate_struct_get(struct_type_index, field_index, true)
        }
        fn visit_struct_get_u(&mut self, struct_type_index: u32, field_index: u32) -> Self::Output {
            self.translate_struct_get(struct_type_index, field_index, false)
        }
        fn visit_struct_set(&mut self, struct_type_index: u32, field_index: u32) -> Self::Output {
            self.translate_struct_set(struct_type_index, field_index)
        }
        fn visit_array_new(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_new(array_type_index, false)
        }
        fn visit_array_new_default(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_new(array_type_index, true)
        }
        fn visit_array_new_fixed(
            &mut self,
            array_type_index: u32,
            array_size: u32,
        ) -> Self::Output {
            self.translate_array_new_fixed(array_type_index, array_size)
        }
        fn visit_array_new_data(
            &mut self,
            array_type_index: u32,
            array_data_index: u32,
        ) -> Self::Output {
            self.translate_array_new_segment(array_type_index, array_data_index, true)
        }
        fn visit_array_new_elem(
            &mut self,
            array_type_index: u32,
            array_elem_index: u32,
        ) -> Self::Output {
            self.translate_array_new_segment(array_type_index, array_elem_index, false)
        }
        fn visit_array_get(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_get(array_type_index, false)
        }
        fn visit_array_get_s(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_get(array_type_index, true)
        }
        fn visit_array_get_u(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_get(array_type_index, false)
        }
        fn visit_array_set(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_set(array_type_index)
        }
        fn visit_array_len(&mut self) -> Self::Output {
            self.translate_array_len()
        }
        fn visit_array_fill(&mut self, array_type_index: u32) -> Self::Output {
            self.translate_array_fill(array_type_index)
        }
        fn visit_array_copy(
            &mut self,
            array_type_index_dst: u32,
            array_type_index_src: u32,
        ) -> Self::Output {
            let _ = (array_type_index_dst, array_type_index_src);
            self.translate_array_copy()
        }
        fn visit_array_init_data(
            &mut self,
            array_type_index: u32,
            array_data_index: u32,
        ) -> Self::Output {
            let _ = array_type_index;
            self.translate_array_init(array_data_index, true)
        }
        fn visit_array_init_elem(
            &mut self,
            array_type_index: u32,
            array_elem_index: u32,
        ) -> Self::Output {
            let _ = array_type_index;
            self.translate_array_init(array_elem_index, false)
        }
        fn visit_ref_test_non_null(&mut self, hty: wasmparser::HeapType) -> Self::Output {
            self.translate_ref_test(hty, false)
        }
        fn visit_ref_test_nullable(&mut self, hty: wasmparser::HeapType) -> Self::Output {
            self.translate_ref_test(hty, true)
        }
        fn visit_ref_cast_non_null(&mut self, hty: wasmparser::HeapType) -> Self::Output {
            self.translate_ref_cast(hty, false)
        }
        fn visit_ref_cast_nullable(&mut self, hty: wasmparser::HeapType) -> Self::Output {
            self.translate_ref_cast(hty, true)
        }
        fn visit_br_on_cast(
            &mut self,
            relative_depth: u32,
            from_ref_type: wasmparser::RefType,
            to_ref_type: wasmparser::RefType,
        ) -> Self::Output {
            let _ = from_ref_type;
            self.translate_br_on_cast(relative_depth, to_ref_type, false)
        }
        fn visit_br_on_cast_fail(
            &mut self,
            relative_depth: u32,
            from_ref_type: wasmparser::RefType,
            to_ref_type: wasmparser::RefType,
        ) -> Self::Output {
            let _ = from_ref_type;
            self.translate_br_on_cast(relative_depth, to_ref_type, true)
        }
        // The two hierarchies share one encoding: a no-op either way.
        fn visit_any_convert_extern(&mut self) -> Self::Output {
            Ok(())
        }
        fn visit_extern_convert_any(&mut self) -> Self::Output {
            Ok(())
        }
        fn visit_ref_i31(&mut self) -> Self::Output {
            self.translate_ref_i31()
        }
        fn visit_i31_get_s(&mut self) -> Self::Output {
            self.translate_i31_get(true)
        }
        fn visit_i31_get_u(&mut self) -> Self::Output {
            self.translate_i31_get(false)
        }
    };
}
pub(crate) use gc_operators;

impl FuncTranslator<'_, '_> {
    // ----- stack maps -----

    /// After an operator: declares every value it pushed whose type (as
    /// the validator has it) is a traced reference as needing a stack map.
    /// `before` is the operand stack before the operator.
    pub(crate) fn declare_gc_values(
        &mut self,
        validator: &FuncValidator<ValidatorResources>,
        before: &[Value],
    ) {
        let unchanged = before
            .iter()
            .zip(&self.stack)
            .take_while(|(a, b)| a == b)
            .count();
        let len = self.stack.len();
        for i in unchanged..len {
            let Some(Some(wasmparser::ValType::Ref(r))) = validator.get_operand_type(len - 1 - i)
            else {
                continue;
            };
            let top = validator.resources().top_type(&r.heap_type());
            if matches!(
                top,
                wasmparser::HeapType::Abstract {
                    ty: wasmparser::AbstractHeapType::Any | wasmparser::AbstractHeapType::Extern,
                    ..
                }
            ) {
                self.builder.declare_value_needs_stack_map(self.stack[i]);
            }
        }
    }

    // ----- helpers -----

    fn struct_layout(&self, ty: TypeIndex) -> GcStructLayout {
        match self.env.module.gc_layout(ty) {
            GcLayout::Struct(s) => s.clone(),
            GcLayout::Array(_) => unreachable!("validated: a struct type"),
        }
    }

    fn array_layout(&self, ty: TypeIndex) -> GcArrayLayout {
        match self.env.module.gc_layout(ty) {
            GcLayout::Array(a) => *a,
            GcLayout::Struct(_) => unreachable!("validated: an array type"),
        }
    }

    fn null_check(&mut self, r: Value, code: TrapCode) {
        self.builder.ins().trapz(r, trap_code(code));
    }

    /// The header word for a new object of type `ty`.
    fn header(&mut self, ty: TypeIndex, kind: u32) -> Value {
        let id = self.env.engine_type_id(&mut self.builder, ty);
        self.builder.ins().bor_imm_u(id, i64::from(kind))
    }

    /// Loads a field or element of kind `kind` at `address`: integers as
    /// i32 or i64 (packed ones extended as `signed` says), references
    /// zero-extended to pointer width.
    fn load_field(&mut self, kind: GcFieldKind, address: Value, signed: bool) -> Value {
        let flags = gc_flags(kind != GcFieldKind::V128);
        let ptr = self.env.pointer_type;
        let ins = self.builder.ins();
        match kind {
            GcFieldKind::Int(1) if signed => ins.sload8(types::I32, flags, address, 0),
            GcFieldKind::Int(1) => ins.uload8(types::I32, flags, address, 0),
            GcFieldKind::Int(2) if signed => ins.sload16(types::I32, flags, address, 0),
            GcFieldKind::Int(2) => ins.uload16(types::I32, flags, address, 0),
            GcFieldKind::Int(4) => ins.load(types::I32, flags, address, 0),
            GcFieldKind::Int(_) => ins.load(types::I64, flags, address, 0),
            GcFieldKind::F32 => ins.load(types::F32, flags, address, 0),
            GcFieldKind::F64 => ins.load(types::F64, flags, address, 0),
            GcFieldKind::V128 => ins.load(types::I8X16, flags, address, 0),
            GcFieldKind::GcRef => ins.uload32(flags, address, 0),
            GcFieldKind::FuncRef | GcFieldKind::ExnRef => ins.load(ptr, flags, address, 0),
        }
    }

    /// Stores `value` (as `load_field` gives it) into a field of kind
    /// `kind` at `address`.
    fn store_field(&mut self, kind: GcFieldKind, address: Value, value: Value) {
        let flags = gc_flags(kind != GcFieldKind::V128);
        let ins = self.builder.ins();
        match kind {
            GcFieldKind::Int(1) => ins.istore8(flags, value, address, 0),
            GcFieldKind::Int(2) => ins.istore16(flags, value, address, 0),
            GcFieldKind::GcRef => ins.istore32(flags, value, address, 0),
            _ => ins.store(flags, value, address, 0),
        };
    }

    /// The zero of a field kind, as `load_field` gives values.
    fn field_zero(&mut self, kind: GcFieldKind) -> Value {
        let ptr = self.env.pointer_type;
        let ins = self.builder.ins();
        match kind {
            GcFieldKind::Int(8) => ins.iconst(types::I64, 0),
            GcFieldKind::Int(_) => ins.iconst(types::I32, 0),
            GcFieldKind::F32 => ins.f32const(0.0),
            GcFieldKind::F64 => ins.f64const(0.0),
            GcFieldKind::V128 => {
                let c = self.builder.func.dfg.constants.insert(vec![0u8; 16].into());
                self.builder.ins().vconst(types::I8X16, c)
            }
            GcFieldKind::GcRef | GcFieldKind::FuncRef | GcFieldKind::ExnRef => ins.iconst(ptr, 0),
        }
    }

    /// Stores `value` into every element slot of `[start, end)`, `size`
    /// bytes apart: an inline loop (no calls, so no safepoint inside).
    fn fill_loop(&mut self, start: Value, end: Value, size: u32, kind: GcFieldKind, value: Value) {
        let header = self.builder.create_block();
        let body = self.builder.create_block();
        let exit = self.builder.create_block();
        let ptr = self.env.pointer_type;
        self.builder.append_block_param(header, ptr);
        self.builder.ins().jump(header, &[BlockArg::Value(start)]);
        self.builder.switch_to_block(header);
        let at = self.builder.block_params(header)[0];
        let more = self.builder.ins().icmp(IntCC::UnsignedLessThan, at, end);
        self.builder.ins().brif(more, body, &[], exit, &[]);
        self.builder.seal_block(body);
        self.builder.switch_to_block(body);
        self.store_field(kind, at, value);
        let next = self.builder.ins().iadd_imm_u(at, i64::from(size));
        self.builder.ins().jump(header, &[BlockArg::Value(next)]);
        self.builder.seal_block(header);
        self.builder.seal_block(exit);
        self.builder.switch_to_block(exit);
    }

    /// An i64 holding `value` (of a field kind narrower than 8 bytes, as
    /// `load_field` gives it) repeated in every slot of its size.
    fn splat_word(&mut self, kind: GcFieldKind, value: Value) -> Value {
        let ins = self.builder.ins();
        let bits = match kind {
            GcFieldKind::F32 => ins.bitcast(types::I32, ir::MemFlagsData::new(), value),
            // A reference word, zero-extended in its register.
            GcFieldKind::GcRef => ins.ireduce(types::I32, value),
            _ => value,
        };
        let (mask, repeat): (i64, i64) = match kind.size() {
            1 => (0xff, 0x0101_0101_0101_0101),
            2 => (0xffff, 0x0001_0001_0001_0001),
            _ => (0xffff_ffff, 0x0000_0001_0000_0001),
        };
        let wide = self.builder.ins().uextend(types::I64, bits);
        let narrow = self.builder.ins().band_imm_u(wide, mask);
        self.builder.ins().imul_imm_u(narrow, repeat)
    }

    /// The address of element `index` (an i32, checked against the
    /// length) of array `array` (non-null).
    fn array_elem_address(&mut self, array: Value, index: Value, elem_size: u32) -> Value {
        let len_at = self
            .env
            .gc_address(&mut self.builder, array, ARRAY_LENGTH_OFFSET);
        let len = self
            .builder
            .ins()
            .load(types::I32, gc_flags(true), len_at, 0);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.builder
            .ins()
            .trapnz(oob, trap_code(TrapCode::ArrayOutOfBounds));
        let index = self.builder.ins().uextend(self.env.pointer_type, index);
        let scaled = self.builder.ins().imul_imm_u(index, i64::from(elem_size));
        let elems = self
            .env
            .gc_address(&mut self.builder, array, ARRAY_ELEMS_OFFSET);
        self.builder.ins().iadd(elems, scaled)
    }

    // ----- structs -----

    pub(crate) fn translate_struct_new(&mut self, ty: u32, default: bool) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let ty = TypeIndex::from_u32(ty);
        let layout = self.struct_layout(ty);
        let values = if default {
            layout
                .fields
                .iter()
                .map(|f| self.field_zero(f.kind))
                .collect()
        } else {
            self.popn(layout.fields.len())
        };
        let header = self.header(ty, KIND_STRUCT);
        let size = self.i64(i64::from(layout.size));
        let obj = self.env.gc_alloc(&mut self.builder, header, size);
        let base = self.env.gc_address(&mut self.builder, obj, 0);
        for (field, value) in layout.fields.iter().zip(values) {
            let at = self.builder.ins().iadd_imm_u(base, i64::from(field.offset));
            self.store_field(field.kind, at, value);
        }
        self.push(obj);
        Ok(())
    }

    pub(crate) fn translate_struct_get(
        &mut self,
        ty: u32,
        field: u32,
        signed: bool,
    ) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let layout = self.struct_layout(TypeIndex::from_u32(ty));
        let field = layout.fields[field as usize];
        let obj = self.pop();
        self.null_check(obj, TrapCode::NullStructReference);
        let at = self.env.gc_address(&mut self.builder, obj, field.offset);
        let v = self.load_field(field.kind, at, signed);
        self.push(v);
        Ok(())
    }

    pub(crate) fn translate_struct_set(&mut self, ty: u32, field: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let layout = self.struct_layout(TypeIndex::from_u32(ty));
        let field = layout.fields[field as usize];
        let (obj, value) = self.pop2();
        self.null_check(obj, TrapCode::NullStructReference);
        let at = self.env.gc_address(&mut self.builder, obj, field.offset);
        self.store_field(field.kind, at, value);
        Ok(())
    }

    // ----- arrays -----

    /// Allocates an array of `len` (an i32) elements with its length set.
    fn alloc_array(&mut self, ty: TypeIndex, layout: &GcArrayLayout, len: Value) -> Value {
        let len64 = self.builder.ins().uextend(types::I64, len);
        let bytes = self
            .builder
            .ins()
            .imul_imm_u(len64, i64::from(layout.elem_size()));
        // Header and length, rounded up to the object alignment (at most
        // 2^32 * 16 + 15: no overflow; the runtime refuses what is too big).
        let bytes = self
            .builder
            .ins()
            .iadd_imm_u(bytes, i64::from(ARRAY_ELEMS_OFFSET) + 7);
        let size = self.builder.ins().band_imm_s(bytes, -8);
        let header = self.header(ty, KIND_ARRAY);
        let obj = self.env.gc_alloc(&mut self.builder, header, size);
        let len_at = self
            .env
            .gc_address(&mut self.builder, obj, ARRAY_LENGTH_OFFSET);
        self.builder.ins().store(gc_flags(true), len, len_at, 0);
        obj
    }

    pub(crate) fn translate_array_new(&mut self, ty: u32, default: bool) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let ty = TypeIndex::from_u32(ty);
        let layout = self.array_layout(ty);
        let len = self.pop();
        let init = if default { None } else { Some(self.pop()) };
        let obj = self.alloc_array(ty, &layout, len);
        let start = self
            .env
            .gc_address(&mut self.builder, obj, ARRAY_ELEMS_OFFSET);
        let len64 = self.builder.ins().uextend(self.env.pointer_type, len);
        let bytes = self
            .builder
            .ins()
            .imul_imm_u(len64, i64::from(layout.elem_size()));
        // Elements narrower than a word are written a word at a time, the
        // value repeated in it, up to the end of the object: the elements
        // start 8-aligned and the object's size rounds them up to a
        // multiple of 8 (the padding is never read).
        let word = match (init, layout.elem) {
            (None, _) => Some(self.builder.ins().iconst(types::I64, 0)),
            (Some(value), kind) if kind.size() < 8 => Some(self.splat_word(kind, value)),
            _ => None,
        };
        match (word, init) {
            (Some(word), _) => {
                let rounded = self.builder.ins().iadd_imm_u(bytes, 7);
                let rounded = self.builder.ins().band_imm_s(rounded, -8);
                let end = self.builder.ins().iadd(start, rounded);
                self.fill_loop(start, end, 8, GcFieldKind::Int(8), word);
            }
            (None, Some(value)) => {
                let end = self.builder.ins().iadd(start, bytes);
                self.fill_loop(start, end, layout.elem_size(), layout.elem, value)
            }
            (None, None) => unreachable!("a default array fills with zero words"),
        }
        self.push(obj);
        Ok(())
    }

    pub(crate) fn translate_array_new_fixed(&mut self, ty: u32, n: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let ty = TypeIndex::from_u32(ty);
        let layout = self.array_layout(ty);
        let values = self.popn(n as usize);
        let len = self.builder.ins().iconst(types::I32, i64::from(n));
        let obj = self.alloc_array(ty, &layout, len);
        let base = self
            .env
            .gc_address(&mut self.builder, obj, ARRAY_ELEMS_OFFSET);
        for (i, value) in values.into_iter().enumerate() {
            let offset = i as i64 * i64::from(layout.elem_size());
            let at = self.builder.ins().iadd_imm_u(base, offset);
            self.store_field(layout.elem, at, value);
        }
        self.push(obj);
        Ok(())
    }

    /// `array.new_data` / `array.new_elem`: the runtime allocates and
    /// copies; 0 back means the heap is full, 1 the range is outside the
    /// segment.
    pub(crate) fn translate_array_new_segment(
        &mut self,
        ty: u32,
        segment: u32,
        data: bool,
    ) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let ty = TypeIndex::from_u32(ty);
        let (offset, len) = self.pop2();
        let header = self.header(ty, KIND_ARRAY);
        let segment = self.i64(i64::from(segment));
        let (builtin, oob) = if data {
            (Builtin::ArrayNewData, TrapCode::MemoryOutOfBounds)
        } else {
            (Builtin::ArrayNewElem, TrapCode::TableOutOfBounds)
        };
        let obj =
            self.env
                .call_builtin(&mut self.builder, builtin, &[header, segment, offset, len]);
        self.builder
            .ins()
            .trapz(obj, trap_code(TrapCode::GcHeapOutOfMemory));
        let outside = self.builder.ins().icmp_imm_u(IntCC::Equal, obj, 1);
        self.builder.ins().trapnz(outside, trap_code(oob));
        self.push(obj);
        Ok(())
    }

    pub(crate) fn translate_array_get(&mut self, ty: u32, signed: bool) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let layout = self.array_layout(TypeIndex::from_u32(ty));
        let (array, index) = self.pop2();
        self.null_check(array, TrapCode::NullArrayReference);
        let at = self.array_elem_address(array, index, layout.elem_size());
        let v = self.load_field(layout.elem, at, signed);
        self.push(v);
        Ok(())
    }

    pub(crate) fn translate_array_set(&mut self, ty: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let layout = self.array_layout(TypeIndex::from_u32(ty));
        let (array, index, value) = self.pop3();
        self.null_check(array, TrapCode::NullArrayReference);
        let at = self.array_elem_address(array, index, layout.elem_size());
        self.store_field(layout.elem, at, value);
        Ok(())
    }

    pub(crate) fn translate_array_len(&mut self) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let array = self.pop();
        self.null_check(array, TrapCode::NullArrayReference);
        let at = self
            .env
            .gc_address(&mut self.builder, array, ARRAY_LENGTH_OFFSET);
        let len = self.builder.ins().load(types::I32, gc_flags(true), at, 0);
        self.push(len);
        Ok(())
    }

    pub(crate) fn translate_array_fill(&mut self, ty: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let layout = self.array_layout(TypeIndex::from_u32(ty));
        let n = self.pop();
        let (array, offset, value) = self.pop3();
        self.null_check(array, TrapCode::NullArrayReference);
        // offset + n <= len, in 64 bits (no overflow).
        let len_at = self
            .env
            .gc_address(&mut self.builder, array, ARRAY_LENGTH_OFFSET);
        let len = self
            .builder
            .ins()
            .load(types::I32, gc_flags(true), len_at, 0);
        let len = self.builder.ins().uextend(types::I64, len);
        let offset = self.builder.ins().uextend(types::I64, offset);
        let n = self.builder.ins().uextend(types::I64, n);
        let end_index = self.builder.ins().iadd(offset, n);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end_index, len);
        self.builder
            .ins()
            .trapnz(oob, trap_code(TrapCode::ArrayOutOfBounds));
        let elems = self
            .env
            .gc_address(&mut self.builder, array, ARRAY_ELEMS_OFFSET);
        let size = i64::from(layout.elem_size());
        let from = self.builder.ins().imul_imm_u(offset, size);
        let start = self.builder.ins().iadd(elems, from);
        let to = self.builder.ins().imul_imm_u(end_index, size);
        let end = self.builder.ins().iadd(elems, to);
        self.fill_loop(start, end, layout.elem_size(), layout.elem, value);
        Ok(())
    }

    pub(crate) fn translate_array_copy(&mut self) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let n = self.pop();
        let (src, src_index) = self.pop2();
        let (dst, dst_index) = self.pop2();
        self.null_check(dst, TrapCode::NullArrayReference);
        self.null_check(src, TrapCode::NullArrayReference);
        self.env.call_fallible_builtin(
            &mut self.builder,
            Builtin::ArrayCopy,
            &[dst, dst_index, src, src_index, n],
        );
        Ok(())
    }

    /// `array.init_data` / `array.init_elem`: the runtime copies; 1 back
    /// means the range is outside the array, 2 outside the segment.
    pub(crate) fn translate_array_init(&mut self, segment: u32, data: bool) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let n = self.pop();
        let (array, dst, src) = self.pop3();
        self.null_check(array, TrapCode::NullArrayReference);
        let segment = self.i64(i64::from(segment));
        let (builtin, oob) = if data {
            (Builtin::ArrayInitData, TrapCode::MemoryOutOfBounds)
        } else {
            (Builtin::ArrayInitElem, TrapCode::TableOutOfBounds)
        };
        let r = self
            .env
            .call_builtin(&mut self.builder, builtin, &[array, segment, dst, src, n]);
        let array_oob = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 1);
        self.builder
            .ins()
            .trapnz(array_oob, trap_code(TrapCode::ArrayOutOfBounds));
        self.builder.ins().trapnz(r, trap_code(oob));
        Ok(())
    }

    // ----- i31 -----

    pub(crate) fn translate_ref_i31(&mut self) -> WasmResult<()> {
        if self.reachable {
            let x = self.pop();
            let shifted = self.builder.ins().ishl_imm_u(x, 1);
            let tagged = self.builder.ins().bor_imm_u(shifted, i64::from(I31_TAG));
            let r = self.builder.ins().uextend(self.env.pointer_type, tagged);
            self.push(r);
        }
        Ok(())
    }

    pub(crate) fn translate_i31_get(&mut self, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let r = self.pop();
            self.null_check(r, TrapCode::NullI31Reference);
            let word = self.builder.ins().ireduce(types::I32, r);
            let v = if signed {
                self.builder.ins().sshr_imm_u(word, 1)
            } else {
                self.builder.ins().ushr_imm_u(word, 1)
            };
            self.push(v);
        }
        Ok(())
    }

    // ----- casts -----

    /// Whether reference `r` is of type `target` (`nullable`: null is):
    /// an i8, 1 or 0. `r` is in `target`'s hierarchy (validation).
    fn ref_test(&mut self, r: Value, heap: WasmHeapType, nullable: bool) -> Value {
        use WasmHeapType as H;
        let done = self.builder.create_block();
        self.builder.append_block_param(done, types::I8);
        let non_null = self.builder.create_block();
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let null_result = self.builder.ins().iconst(types::I8, i64::from(nullable));
        self.builder.ins().brif(
            is_null,
            done,
            &[BlockArg::Value(null_result)],
            non_null,
            &[],
        );
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        let result = match heap {
            // Every non-null reference of the hierarchy.
            H::Any | H::Extern | H::Func | H::Exn => self.builder.ins().iconst(types::I8, 1),
            // Only null.
            H::None | H::NoExtern | H::NoFunc | H::NoExn => self.builder.ins().iconst(types::I8, 0),
            // An i31 or an object: not a host value.
            H::Eq => {
                let low = self.builder.ins().band_imm_u(r, 3);
                self.builder.ins().icmp_imm_u(IntCC::NotEqual, low, 2)
            }
            H::I31 => {
                let low = self.builder.ins().band_imm_u(r, i64::from(I31_TAG));
                self.builder.ins().icmp_imm_u(IntCC::NotEqual, low, 0)
            }
            H::Struct | H::Array | H::Concrete(_) => {
                let concrete_func =
                    matches!(heap, H::Concrete(t) if self.env.module.is_func_type(t));
                if concrete_func {
                    let H::Concrete(TypeRef::Module(ty)) = heap else {
                        unreachable!("module types only in function bodies")
                    };
                    self.env.funcref_subtype_check(&mut self.builder, r, ty)
                } else {
                    self.object_test(r, heap, done)
                }
            }
        };
        self.builder.ins().jump(done, &[BlockArg::Value(result)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        self.builder.block_params(done)[0]
    }

    /// The part of `ref_test` for struct, array and concrete GC types on a
    /// non-null reference: objects only (not i31s or host values), then
    /// their header's kind or type.
    fn object_test(&mut self, r: Value, heap: WasmHeapType, done: ir::Block) -> Value {
        let object = self.builder.create_block();
        let low = self.builder.ins().band_imm_u(r, 3);
        let is_object = self.builder.ins().icmp_imm_u(IntCC::Equal, low, 0);
        let no = self.builder.ins().iconst(types::I8, 0);
        self.builder
            .ins()
            .brif(is_object, object, &[], done, &[BlockArg::Value(no)]);
        self.builder.seal_block(object);
        self.builder.switch_to_block(object);
        let at = self.env.gc_address(&mut self.builder, r, 0);
        let header = self.builder.ins().load(types::I32, gc_flags(true), at, 0);
        match heap {
            WasmHeapType::Struct | WasmHeapType::Array => {
                let kind = self.builder.ins().band_imm_u(header, i64::from(KIND_MASK));
                let want = if heap == WasmHeapType::Struct {
                    KIND_STRUCT
                } else {
                    KIND_ARRAY
                };
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::Equal, kind, i64::from(want))
            }
            WasmHeapType::Concrete(TypeRef::Module(ty)) => {
                let id = self
                    .builder
                    .ins()
                    .band_imm_u(header, i64::from(TYPE_ID_MASK));
                self.env.gc_subtype_check(&mut self.builder, id, ty)
            }
            other => unreachable!("not an object type: {other:?}"),
        }
    }

    pub(crate) fn translate_ref_test(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> WasmResult<()> {
        if self.reachable {
            let heap = hoist_environ::heap_type(hty)?;
            let r = self.pop();
            let ok = self.ref_test(r, heap, nullable);
            let v = self.builder.ins().uextend(types::I32, ok);
            self.push(v);
        }
        Ok(())
    }

    pub(crate) fn translate_ref_cast(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> WasmResult<()> {
        if self.reachable {
            let heap = hoist_environ::heap_type(hty)?;
            let r = self.pop();
            let ok = self.ref_test(r, heap, nullable);
            self.builder
                .ins()
                .trapz(ok, trap_code(TrapCode::CastFailure));
            self.push(r);
        }
        Ok(())
    }

    /// `br_on_cast l rt1 rt2` (`fail`: `br_on_cast_fail`): branch with the
    /// reference when it is (is not) an `rt2`, else keep it on the stack.
    pub(crate) fn translate_br_on_cast(
        &mut self,
        depth: u32,
        to: wasmparser::RefType,
        fail: bool,
    ) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let WasmRefType { nullable, heap } = hoist_environ::ref_type(to)?;
        let r = *self.stack.last().expect("validated: a reference operand");
        let ok = self.ref_test(r, heap, nullable);
        let (target, n) = self.mark_branch(depth);
        let values = self.peekn(n).to_vec();
        let next = self.builder.create_block();
        if fail {
            self.builder
                .ins()
                .brif(ok, next, &[], target, &args(&values));
        } else {
            self.builder
                .ins()
                .brif(ok, target, &args(&values), next, &[]);
        }
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        Ok(())
    }

    fn i64(&mut self, value: i64) -> Value {
        self.builder.ins().iconst(types::I64, value)
    }
}
