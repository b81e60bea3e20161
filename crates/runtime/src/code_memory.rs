//! Executable memory holding one linked text section.

use crate::code_registry::{register_code, unregister_code, TrapTable};
use hoist_environ::TrapCode;
use std::sync::Arc;

/// A text section mapped read+execute, registered with the trap handler
/// for as long as it lives.
pub struct CodeMemory {
    mmap: memmap2::Mmap,
}

impl CodeMemory {
    /// Copies `text` into fresh pages, makes them executable and registers
    /// their trap table.
    pub fn new(text: &[u8], traps: Vec<(u32, TrapCode)>) -> std::io::Result<CodeMemory> {
        let len = text.len().max(1);
        let mut map = memmap2::MmapMut::map_anon(len)?;
        map[..text.len()].copy_from_slice(text);
        let mmap = map.make_exec()?;
        // Compiled code on aarch64 and riscv64 needs the instruction cache
        // to see the new bytes; `make_exec` changes protection only.
        flush_icache(mmap.as_ptr(), len);
        register_code(mmap.as_ptr() as usize, len, Arc::new(TrapTable::new(traps)));
        Ok(CodeMemory { mmap })
    }

    /// Maps `len` bytes of `file` at `offset` (page-aligned) as executable
    /// code, without copying them, and registers their trap table.
    ///
    /// # Safety
    /// The file range must hold code compiled for this host (the caller
    /// checked the artifact), and the file must not be modified in place
    /// while mapped: a private mapping still shows changes to pages it has
    /// not copied. hoist itself only ever replaces artifacts by renaming.
    pub unsafe fn from_file(
        file: &std::fs::File,
        offset: u64,
        len: usize,
        traps: Vec<(u32, TrapCode)>,
    ) -> std::io::Result<CodeMemory> {
        if len == 0 {
            return CodeMemory::new(&[], traps);
        }
        // SAFETY: per this function's contract.
        let mmap = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map_exec(file)?
        };
        flush_icache(mmap.as_ptr(), len);
        register_code(mmap.as_ptr() as usize, len, Arc::new(TrapTable::new(traps)));
        Ok(CodeMemory { mmap })
    }

    /// The address of byte `offset` of the text.
    pub fn address(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.mmap.len());
        // SAFETY: in bounds, checked above.
        unsafe { self.mmap.as_ptr().add(offset as usize) }
    }

    pub fn text(&self) -> &[u8] {
        &self.mmap
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister_code(self.mmap.as_ptr() as usize);
    }
}

#[cfg(target_arch = "x86_64")]
fn flush_icache(_start: *const u8, _len: usize) {
    // x86 keeps instruction and data caches coherent.
}

#[cfg(not(target_arch = "x86_64"))]
fn flush_icache(start: *const u8, len: usize) {
    unsafe extern "C" {
        fn __clear_cache(start: *mut std::ffi::c_char, end: *mut std::ffi::c_char);
    }
    // SAFETY: the range is one mapping we own; `__clear_cache` only
    // synchronizes caches for it.
    unsafe { __clear_cache(start as *mut _, start.add(len) as *mut _) }
}
