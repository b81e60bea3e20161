//! The process's first instructions, before the C library's `_start`: ask
//! the kernel for every page of the binary's writable segments at once.
//!
//! A static PIE relocates itself: `_dl_relocate_static_pie` writes a
//! pointer into nearly every page of `.data.rel.ro` and `.got` (about
//! 200 KiB in hoist, 13,700 relocations), and each first write to a page
//! of the file's private mapping is a copy-on-write fault. On the virtual
//! machines hoist is measured on, a fault that allocates a page costs
//! about 3.7 µs, of which about 1.3 µs is the trap itself; one
//! `madvise(MADV_POPULATE_WRITE)` (Linux 5.14) over the whole range makes
//! the same copies without the traps. Where the kernel refuses it, the
//! pages fault in one by one as before: the call's result is ignored.
//!
//! Only for the static PIE that build.rs links on x86-64 (it sets
//! `hoist_prefault` and makes `hoist_entry` the ELF entry point): with a
//! dynamic loader, the relocations are written before any code of hoist
//! runs.
//!
//! The stub runs before relocation, so it reads nothing through an
//! absolute address: `__ehdr_start` is reached `%rip`-relative, and a PIE's
//! ELF header is at link address 0, so its run-time address is the load
//! bias that each program header's `p_vaddr` is added to.

#[cfg(all(hoist_prefault, target_arch = "x86_64"))]
core::arch::global_asm!(
    ".pushsection .text.hoist_entry,\"ax\",@progbits",
    ".globl hoist_entry",
    ".type hoist_entry,@function",
    "hoist_entry:",
    // The kernel's entry state: %rsp at argc, %rdx the function `_start`
    // registers with atexit. %rdx is kept in %r12; `syscall` clobbers
    // %rcx and %r11.
    "    mov %rdx, %r12",
    "    lea __ehdr_start(%rip), %r13", // load bias
    "    mov 32(%r13), %r14",           // e_phoff
    "    add %r13, %r14",               // first program header
    "    movzwl 56(%r13), %r15d",       // e_phnum
    "1:  test %r15d, %r15d",
    "    jz 3f",
    "    cmpl $1, (%r14)", // PT_LOAD
    "    jne 2f",
    "    testl $2, 4(%r14)", // PF_W
    "    jz 2f",
    "    mov 16(%r14), %rdi", // p_vaddr
    "    add %r13, %rdi",
    "    mov 40(%r14), %rsi", // p_memsz
    "    add %rdi, %rsi",     // end
    "    and $-4096, %rdi",
    "    add $4095, %rsi",
    "    and $-4096, %rsi",
    "    sub %rdi, %rsi", // length, whole pages
    "    mov $23, %edx",  // MADV_POPULATE_WRITE
    "    mov $28, %eax",  // SYS_madvise
    "    syscall",
    "2:  add $56, %r14", // sizeof(Elf64_Phdr)
    "    dec %r15d",
    "    jmp 1b",
    "3:  mov %r12, %rdx",
    // `_start` expects the registers it reads (%rsp, %rdx) as the kernel
    // left them; the ABI leaves the rest undefined at entry.
    "    jmp _start",
    ".size hoist_entry, .-hoist_entry",
    ".popsection",
    options(att_syntax)
);
