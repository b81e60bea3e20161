//! Arguments and environment variables.

use crate::{Errno, GuestMemory, WasiCtx};

/// Writes `items` as NUL-terminated strings into `buf` and their addresses
/// into the pointer array at `ptrs`.
fn write_strings(
    memory: &mut GuestMemory,
    items: impl Iterator<Item = Vec<u8>>,
    ptrs: u32,
    buf: u32,
) -> Result<(), Errno> {
    let (mut ptr, mut at) = (ptrs, buf);
    for mut item in items {
        item.push(0);
        memory.write_u32(ptr, at)?;
        memory.write(at, &item)?;
        ptr = ptr.checked_add(4).ok_or(Errno::Fault)?;
        at = at.checked_add(item.len() as u32).ok_or(Errno::Fault)?;
    }
    Ok(())
}

fn sizes(
    memory: &mut GuestMemory,
    items: impl Iterator<Item = usize>,
    count_out: u32,
    size_out: u32,
) -> Result<(), Errno> {
    let (mut count, mut size) = (0u32, 0u32);
    for len in items {
        count += 1;
        size = size
            .checked_add(u32::try_from(len + 1)?)
            .ok_or(Errno::Overflow)?;
    }
    memory.write_u32(count_out, count)?;
    memory.write_u32(size_out, size)
}

pub fn args_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    argv: u32,
    argv_buf: u32,
) -> Result<(), Errno> {
    write_strings(memory, ctx.args.iter().map(|a| a.to_vec()), argv, argv_buf)
}

pub fn args_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    argc: u32,
    argv_buf_size: u32,
) -> Result<(), Errno> {
    sizes(
        memory,
        ctx.args.iter().map(|a| a.len()),
        argc,
        argv_buf_size,
    )
}

pub fn environ_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    environ: u32,
    environ_buf: u32,
) -> Result<(), Errno> {
    let items = ctx.env.iter().map(|(k, v)| [&k[..], b"=", v].concat());
    write_strings(memory, items, environ, environ_buf)
}

pub fn environ_sizes_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    count: u32,
    buf_size: u32,
) -> Result<(), Errno> {
    sizes(
        memory,
        ctx.env.iter().map(|(k, v)| k.len() + 1 + v.len()),
        count,
        buf_size,
    )
}
