//! Calls on paths, resolved under a directory descriptor.
//!
//! Every path goes to cap-std relative to the descriptor's `Dir`; it is
//! never joined onto a host path. cap-std refuses absolute paths, `..`
//! past the directory and symlinks that lead out with a capability error
//! (`ENOTCAPABLE`). Below a read-only preopen every change is `EROFS`.

use super::fs_util::{self, guest_path, rights};
use crate::table::{fdflags, lock, Access, Descriptor, OpenDir, OpenFile, Rights};
use crate::{Errno, GuestMemory, WasiCtx};
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
};
use cap_std::fs::{Dir, OpenOptions};

use crate::abi::lookupflags::SYMLINK_FOLLOW;
use crate::abi::oflags::{
    ALL as O_ALL, CREAT as O_CREAT, DIRECTORY as O_DIRECTORY, EXCL as O_EXCL, TRUNC as O_TRUNC,
};
use std::sync::Arc;

/// What a path call needs of a directory descriptor, taken out of the
/// table so that no lock is held while the call works (opening a FIFO, say,
/// may block; other threads keep using the same preopen meanwhile).
struct DirRef {
    dir: Arc<Dir>,
    access: Access,
    rights: Rights,
}

/// The directory behind `fd`, for a call that needs the rights `needed`
/// of it (`ENOTCAPABLE` if the guest gave any of them up).
fn dir(ctx: &WasiCtx, fd: u32, needed: u64) -> Result<DirRef, Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let dir = guard.as_dir()?;
    dir.rights.require(needed)?;
    Ok(DirRef {
        dir: Arc::clone(&dir.dir),
        access: dir.access,
        rights: dir.rights,
    })
}

/// Things below `dir` may change unless it is under a read-only preopen.
fn writable(dir: &DirRef) -> Result<(), Errno> {
    dir.access.check_write()
}

/// The error for creating a non-directory (a link or symlink) at a name
/// with a trailing slash, as Linux gives it: `EEXIST` if the name exists
/// (even as a dangling symlink), else the lookup's error (`ENOENT`).
fn slashed_new_name(dir: &Dir, name: &str) -> Errno {
    match dir.symlink_metadata(name) {
        Ok(_) => Errno::Exist,
        Err(e) => e.into(),
    }
}

/// The lookup error of the directory that holds `name`, if any.
fn parent_is_dir(dir: &Dir, name: &str) -> Result<(), Errno> {
    match name.rsplit_once('/') {
        Some((parent, _)) if !parent.is_empty() && !dir.metadata(parent)?.is_dir() => {
            Err(Errno::Notdir)
        }
        _ => Ok(()),
    }
}

fn follow(flags: u32) -> Result<bool, Errno> {
    if flags & !SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval);
    }
    Ok(flags & SYMLINK_FOLLOW != 0)
}

pub fn path_create_directory(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let dir = dir(ctx, fd, rights::PATH_CREATE_DIRECTORY)?;
    let path = guest_path(memory, path, path_len)?;
    writable(&dir)?;
    dir.dir.create_dir(fs_util::strip_trailing_slashes(path))?;
    Ok(())
}

pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    out: u32,
) -> Result<(), Errno> {
    let bytes = path_filestat(ctx, memory, fd, flags, path, path_len)?;
    memory.write(out, &bytes)
}

/// The `filestat` of a path, as preview1 lays it out.
pub(crate) fn path_filestat(
    ctx: &mut WasiCtx,
    memory: &GuestMemory,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
) -> Result<[u8; crate::abi::filestat::SIZE], Errno> {
    let follow = follow(flags)?;
    let dir = dir(ctx, fd, rights::PATH_FILESTAT_GET)?;
    let path = guest_path(memory, path, path_len)?;
    let (name, slash) = fs_util::split_trailing_slashes(path);
    let meta = if slash {
        // The slash makes the lookup follow a final symlink, and only a
        // directory will do.
        let meta = dir.dir.metadata(name)?;
        if !meta.is_dir() {
            return Err(Errno::Notdir);
        }
        meta
    } else if follow {
        dir.dir.metadata(path)?
    } else {
        dir.dir.symlink_metadata(path)?
    };
    Ok(fs_util::filestat_bytes(&meta))
}

pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let follow = follow(flags)?;
    let (atim, mtim) = fs_util::decode_times(atim, mtim, fst_flags)?;
    let dir = dir(ctx, fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let path = guest_path(memory, path, path_len)?;
    writable(&dir)?;
    if follow {
        dir.dir.set_times(path, atim.spec(), mtim.spec())?;
    } else {
        dir.dir.set_symlink_times(path, atim.spec(), mtim.spec())?;
    }
    Ok(())
}

pub fn path_link(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    // Following a symlink at the source would need resolving it first;
    // like Wasmtime, refuse.
    if follow(old_flags)? {
        return Err(Errno::Inval);
    }
    let old_dir = dir(ctx, old_fd, rights::PATH_LINK_SOURCE)?;
    let new_dir = dir(ctx, new_fd, rights::PATH_LINK_TARGET)?;
    let old_path = guest_path(memory, old_path, old_path_len)?;
    let new_path = guest_path(memory, new_path, new_path_len)?;
    // Both ends must be writable: a new name in a writable tree for a
    // file of a read-only one would let the guest change that file.
    writable(&old_dir)?;
    writable(&new_dir)?;
    let (old_name, old_slash) = fs_util::split_trailing_slashes(old_path);
    let (new_name, new_slash) = fs_util::split_trailing_slashes(new_path);
    // A slash on the source follows a final symlink and asks for a
    // directory, which cannot be linked (`EPERM`), but Linux reports a
    // problem with the new name first.
    if old_slash && !old_dir.dir.metadata(old_name)?.is_dir() {
        return Err(Errno::Notdir);
    }
    if new_slash {
        return Err(slashed_new_name(&new_dir.dir, new_name));
    }
    if old_slash {
        return Err(match new_dir.dir.symlink_metadata(new_name) {
            Ok(_) => Errno::Exist,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Errno::Perm,
            Err(e) => e.into(),
        });
    }
    old_dir.dir.hard_link(old_path, &new_dir.dir, new_path)?;
    Ok(())
}

pub fn path_open(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    rights_base: u64,
    _rights_inheriting: u64,
    fdflags: u32,
    opened_fd: u32,
) -> Result<(), Errno> {
    let parent = dir(ctx, fd, rights::PATH_OPEN)?;
    let follow = follow(dirflags)?;
    if oflags & !O_ALL != 0 {
        return Err(Errno::Inval);
    }
    if fdflags & !(fdflags::ALL as u32) != 0 {
        return Err(Errno::Inval);
    }
    let fdflags = fdflags as u16;
    let path = guest_path(memory, path, path_len)?;
    memory.slice(opened_fd, 4)?;

    let access = parent.access;
    let tree_writable = access == Access::ReadWrite;
    let (creat, directory, excl, trunc) = (
        oflags & O_CREAT != 0,
        oflags & O_DIRECTORY != 0,
        oflags & O_EXCL != 0,
        oflags & O_TRUNC != 0,
    );
    if directory && (creat || excl || trunc) {
        return Err(Errno::Inval);
    }
    // `FD_READ` and `FD_WRITE` among the rights asked for choose how a file
    // is opened; beyond that the new descriptor gets what its kind has, as
    // in Wasmtime, less what the guest gave up of the parent's inheriting
    // rights. Other rights asked for are not needed (toolchains ask for
    // fixed sets: Go asks even a read-only open for FD_FILESTAT_SET_SIZE,
    // Rust's read_dir for FD_READ), but a file is not opened to read or
    // write, created, truncated or synced where the guest gave that up.
    let gave_up = |right: u64| parent.rights.gave_up_inheriting(right);
    let (read, write) = (
        rights_base & rights::FD_READ != 0,
        rights_base & rights::FD_WRITE != 0,
    );
    let file_refused = (read && gave_up(rights::FD_READ)) || (write && gave_up(rights::FD_WRITE));
    if creat {
        parent.rights.require(rights::PATH_CREATE_FILE)?;
    }
    let needs = [
        (fdflags & fdflags::DSYNC != 0, rights::FD_DATASYNC),
        (
            fdflags & (fdflags::SYNC | fdflags::RSYNC) != 0,
            rights::FD_SYNC,
        ),
        (trunc, rights::FD_FILESTAT_SET_SIZE),
    ];
    if needs.iter().any(|&(asked, right)| asked && gave_up(right))
        || file_refused && (creat || trunc)
    {
        return Err(Errno::Notcapable);
    }
    let inherited = parent.rights.inheriting;
    let new_dir = |dir: Dir| {
        let dir = OpenDir::new(dir, None, access);
        Descriptor::Dir(OpenDir {
            rights: dir.rights.limited(inherited, inherited),
            ..dir
        })
    };

    let descriptor = if directory {
        // What the path names decides first (`ENOTDIR` for a file, as
        // Linux's openat); then writing a directory is `EISDIR`. Rights
        // that do not apply to a directory (allocating, resizing) are
        // dropped, as the spec allows.
        let dir = if follow {
            parent.dir.open_dir(path)?
        } else {
            parent.dir.open_dir_nofollow(path)?
        };
        if write {
            return Err(Errno::Isdir);
        }
        new_dir(dir)
    } else {
        if !tree_writable && (write || trunc || (creat && excl)) {
            return Err(Errno::Rofs);
        }
        // O_CREAT below a read-only preopen can only open what exists.
        let creat = creat && tree_writable;
        // A file asked for with rights the guest gave up is refused once
        // opened (it may be a directory); it is opened read-only till then.
        let host_write = (write && !file_refused) || trunc || creat;
        let mut options = OpenOptions::new();
        options
            .read(read || !host_write)
            .write(host_write)
            .create(creat && !excl)
            .create_new(creat && excl)
            .truncate(trunc)
            .maybe_dir(true)
            .follow(if follow {
                FollowSymlinks::Yes
            } else {
                FollowSymlinks::No
            })
            .sync(fdflags & fdflags::SYNC != 0)
            .dsync(fdflags & fdflags::DSYNC != 0)
            .rsync(fdflags & fdflags::RSYNC != 0)
            .nonblock(fdflags & fdflags::NONBLOCK != 0);
        ctx.table.check_room()?;
        let file = match parent.dir.open_with(path, &options) {
            Ok(file) => file,
            Err(e) if !tree_writable && e.kind() == std::io::ErrorKind::NotFound => {
                return Err(if oflags & O_CREAT != 0 {
                    Errno::Rofs
                } else {
                    Errno::Noent
                })
            }
            Err(e) => return Err(e.into()),
        };
        let meta = file.metadata()?;
        ctx.check_not_withheld(&meta)?;
        if !meta.is_dir() && on_procfs(&file)? {
            return Err(Errno::Notcapable);
        }
        if meta.is_dir() {
            // Opened read-only (the host refuses to open a directory for
            // writing): a directory descriptor.
            if write {
                return Err(Errno::Isdir);
            }
            new_dir(Dir::from_std_file(file.into_std()))
        } else if file_refused {
            return Err(Errno::Notcapable);
        } else {
            // The guest's rights say what it may do; the host file may be
            // open for more (O_CREAT and O_TRUNC need write access).
            let file = OpenFile::new(file, access, read || !host_write, host_write);
            if fdflags & fdflags::APPEND != 0 && file.seekable && file.writable {
                super::fd::set_host_append(&file.file, true)?;
            }
            let natural = rights::file(access, read, write, file.seekable);
            Descriptor::File(OpenFile {
                flags: fdflags,
                rights: Rights::full(natural, natural).limited(inherited, inherited),
                ..file
            })
        }
    };
    let new_fd = ctx.table.push(descriptor)?;
    memory.write_u32(opened_fd, new_fd)
}

/// Whether `file` lives on procfs. Its files are the state of the host's
/// processes, hoist's own among them (`/proc/self/mem` would let a guest
/// given `/`, or `/proc`, rewrite hoist's code; `/proc/self/environ`
/// holds the environment the guest was not given), so none opens; its
/// directories can still be listed.
fn on_procfs(file: &cap_std::fs::File) -> Result<bool, Errno> {
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    let stat = rustix::fs::fstatfs(file)?;
    Ok(stat.f_type as i64 == PROC_SUPER_MAGIC)
}

pub fn path_readlink(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    use std::os::unix::ffi::OsStrExt;
    let dir = dir(ctx, fd, rights::PATH_READLINK)?;
    let path = guest_path(memory, path, path_len)?;
    // `read_link` refuses absolute targets: they name nothing the guest
    // can reach, and their text is the host's business.
    let target = dir.dir.read_link(path)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    memory.write(buf, &bytes[..n])?;
    memory.write_u32(bufused, n as u32)
}

pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let dir = dir(ctx, fd, rights::PATH_REMOVE_DIRECTORY)?;
    let path = guest_path(memory, path, path_len)?;
    writable(&dir)?;
    dir.dir.remove_dir(fs_util::strip_trailing_slashes(path))?;
    Ok(())
}

pub fn path_rename(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let old_dir = dir(ctx, fd, rights::PATH_RENAME_SOURCE)?;
    let new_dir = dir(ctx, new_fd, rights::PATH_RENAME_TARGET)?;
    let old_path = guest_path(memory, old_path, old_path_len)?;
    let new_path = guest_path(memory, new_path, new_path_len)?;
    writable(&old_dir)?;
    writable(&new_dir)?;
    let (old_name, old_slash) = fs_util::split_trailing_slashes(old_path);
    let (new_name, new_slash) = fs_util::split_trailing_slashes(new_path);
    // Only a directory may be renamed from or to a name with a trailing
    // slash (cap-std would rename a file to `x/` as `x`). Linux looks up
    // both parents first, so their errors come first.
    if old_slash || new_slash {
        parent_is_dir(&old_dir.dir, old_name)?;
        parent_is_dir(&new_dir.dir, new_name)?;
        if !old_dir.dir.symlink_metadata(old_name)?.is_dir() {
            return Err(Errno::Notdir);
        }
    }
    old_dir.dir.rename(old_name, &new_dir.dir, new_name)?;
    Ok(())
}

pub fn path_symlink(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    old_path: u32,
    old_path_len: u32,
    fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let dir = dir(ctx, fd, rights::PATH_SYMLINK)?;
    let target = fs_util::guest_path_str(memory, old_path, old_path_len)?;
    let new_path = guest_path(memory, new_path, new_path_len)?;
    // An absolute target names nothing inside the sandbox. A relative one
    // is only text: where it leads depends on where the link ends up (a
    // rename moves it), so it is checked when the link is followed, where
    // cap-std refuses any step out of the directory, not here.
    if target.starts_with('/') {
        return Err(Errno::Notcapable);
    }
    if target.contains('\0') {
        return Err(Errno::Inval);
    }
    writable(&dir)?;
    let (name, slash) = fs_util::split_trailing_slashes(new_path);
    if slash {
        return Err(slashed_new_name(&dir.dir, name));
    }
    dir.dir.symlink(target, new_path)?;
    Ok(())
}

pub fn path_unlink_file(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let dir = dir(ctx, fd, rights::PATH_UNLINK_FILE)?;
    let path = guest_path(memory, path, path_len)?;
    writable(&dir)?;
    let (name, slash) = fs_util::split_trailing_slashes(path);
    if slash {
        // Always an error: the name itself (not a symlink's target) is a
        // directory (`EISDIR`) or is not one (`ENOTDIR`).
        return Err(match dir.dir.symlink_metadata(name) {
            Ok(meta) if meta.is_dir() => Errno::Isdir,
            Ok(_) => Errno::Notdir,
            Err(e) => e.into(),
        });
    }
    dir.dir.remove_file(path)?;
    Ok(())
}
