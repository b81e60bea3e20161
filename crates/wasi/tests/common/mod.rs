//! A small WAT guest that re-exports the WASI imports, so a test can call
//! them one at a time from the host and look at the errno and at memory.

#![allow(dead_code)]

use hoist::{Engine, Instance, Linker, Memory, Module, Store, Val};
use hoist_wasi::{Errno, WasiCtx, WasiCtxBuilder};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The calls the guest re-exports, with their parameter types (`i` i32,
/// `I` i64). Each returns the errno.
pub const CALLS: &[(&str, &str)] = &[
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("random_get", "ii"),
];

pub fn guest_wat() -> String {
    let mut wat = String::from("(module\n");
    for (name, sig) in CALLS {
        let params: Vec<&str> = sig
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) (result i32)))\n",
            params.join(" ")
        );
    }
    wat += "  (memory (export \"memory\") 1)\n";
    for (name, sig) in CALLS {
        let params: Vec<&str> = sig
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        let gets: Vec<String> = (0..params.len())
            .map(|i| format!("local.get {i}"))
            .collect();
        wat += &format!(
            "  (func (export \"{name}\") (param {}) (result i32) {} call ${name})\n",
            params.join(" "),
            gets.join(" ")
        );
    }
    wat += ")\n";
    wat
}

// Guest memory layout.
pub const OUT: u32 = 0; // results (fd, size, offset, bufused): 8 bytes
pub const STAT: u32 = 64; // filestat / fdstat / prestat: 64 bytes
pub const IOVS: u32 = 256; // one iovec
pub const PATH1: u32 = 1024;
pub const PATH2: u32 = 2048;
pub const DATA: u32 = 4096; // up to 32 KiB

pub const FOLLOW: u32 = 1;
pub const O_CREAT: u32 = 1;
pub const O_DIRECTORY: u32 = 2;
pub const O_EXCL: u32 = 4;
pub const O_TRUNC: u32 = 8;
pub const APPEND: u32 = 1;
pub const FD_READ: u64 = 1 << 1;
pub const FD_WRITE: u64 = 1 << 6;
pub const FD_SEEK: u64 = 1 << 2;
pub const FD_TELL: u64 = 1 << 5;
pub const FD_ALLOCATE: u64 = 1 << 8;
pub const PATH_OPEN: u64 = 1 << 13;
pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
pub const RW: u64 = FD_READ | FD_WRITE;

/// The first preopen's fd.
pub const ROOT: u32 = 3;

pub type R<T> = Result<T, Errno>;

pub fn errno(code: i32) -> R<()> {
    if code == 0 {
        return Ok(());
    }
    // Errno has no from-number; find the variant by value.
    for e in ALL_ERRNOS {
        if *e as i32 == code {
            return Err(*e);
        }
    }
    panic!("unknown errno {code}");
}

pub const ALL_ERRNOS: &[Errno] = &[
    Errno::Acces,
    Errno::Badf,
    Errno::Exist,
    Errno::Fault,
    Errno::Fbig,
    Errno::Ilseq,
    Errno::Inval,
    Errno::Io,
    Errno::Isdir,
    Errno::Loop,
    Errno::Nametoolong,
    Errno::Noent,
    Errno::Notcapable,
    Errno::Notdir,
    Errno::Notempty,
    Errno::Notsup,
    Errno::Perm,
    Errno::Pipe,
    Errno::Again,
    Errno::Nosys,
    Errno::Overflow,
    Errno::Notsock,
    Errno::Rofs,
    Errno::Spipe,
    Errno::Xdev,
];

pub struct Guest {
    pub store: Store<WasiCtx>,
    pub instance: Instance,
    pub memory: Memory,
}

impl Guest {
    /// A guest with `dir` preopened as `/` (fd 3).
    pub fn new(dir: &Path, read_only: bool) -> Guest {
        let mut builder = WasiCtxBuilder::new();
        builder.arg("fs-test");
        builder.preopen_dir(dir, "/", read_only).unwrap();
        Guest::with(builder.build())
    }

    pub fn with(ctx: WasiCtx) -> Guest {
        let engine = Engine::default();
        let mut store = Store::new(&engine, ctx);
        let mut linker = Linker::new(&engine);
        hoist_wasi::add_to_linker(&mut linker, &mut store, |c: &mut WasiCtx| c).unwrap();
        let wasm = wat::parse_str(guest_wat()).unwrap();
        let module = Module::from_binary(&engine, &wasm).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Guest {
            store,
            instance,
            memory,
        }
    }

    pub fn call(&mut self, name: &str, args: &[u64]) -> R<()> {
        let sig = CALLS.iter().find(|(n, _)| *n == name).unwrap().1;
        let params: Vec<Val> = sig
            .chars()
            .zip(args)
            .map(|(c, &a)| {
                if c == 'I' {
                    Val::I64(a as i64)
                } else {
                    Val::I32(a as u32 as i32)
                }
            })
            .collect();
        assert_eq!(params.len(), sig.len(), "{name}: wrong argument count");
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &params, &mut results).unwrap();
        errno(results[0].i32().unwrap())
    }

    pub fn mem(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    pub fn put(&mut self, at: u32, bytes: &[u8]) {
        self.mem()[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    pub fn get(&mut self, at: u32, len: usize) -> Vec<u8> {
        self.mem()[at as usize..at as usize + len].to_vec()
    }

    pub fn u32_at(&mut self, at: u32) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }

    pub fn u64_at(&mut self, at: u32) -> u64 {
        u64::from_le_bytes(self.get(at, 8).try_into().unwrap())
    }

    /// Puts `path` at `at`; returns (ptr, len).
    pub fn path(&mut self, at: u32, path: &str) -> (u64, u64) {
        self.put(at, path.as_bytes());
        (at as u64, path.len() as u64)
    }

    pub fn open(
        &mut self,
        dir: u32,
        dirflags: u32,
        path: &str,
        oflags: u32,
        rights: u64,
        fdflags: u32,
    ) -> R<u32> {
        let (p, l) = self.path(PATH1, path);
        self.call(
            "path_open",
            &[
                dir as u64,
                dirflags as u64,
                p,
                l,
                oflags as u64,
                rights,
                rights,
                fdflags as u64,
                OUT as u64,
            ],
        )?;
        Ok(self.u32_at(OUT))
    }

    pub fn close(&mut self, fd: u32) -> R<()> {
        self.call("fd_close", &[fd as u64])
    }

    pub fn write(&mut self, fd: u32, data: &[u8]) -> R<u32> {
        self.put(DATA, data);
        self.iov(DATA, data.len() as u32);
        self.call("fd_write", &[fd as u64, IOVS as u64, 1, OUT as u64])?;
        Ok(self.u32_at(OUT))
    }

    pub fn pwrite(&mut self, fd: u32, data: &[u8], offset: u64) -> R<u32> {
        self.put(DATA, data);
        self.iov(DATA, data.len() as u32);
        self.call(
            "fd_pwrite",
            &[fd as u64, IOVS as u64, 1, offset, OUT as u64],
        )?;
        Ok(self.u32_at(OUT))
    }

    pub fn read(&mut self, fd: u32, len: u32) -> R<Vec<u8>> {
        self.iov(DATA, len);
        self.call("fd_read", &[fd as u64, IOVS as u64, 1, OUT as u64])?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.get(DATA, n))
    }

    pub fn pread(&mut self, fd: u32, len: u32, offset: u64) -> R<Vec<u8>> {
        self.iov(DATA, len);
        self.call("fd_pread", &[fd as u64, IOVS as u64, 1, offset, OUT as u64])?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.get(DATA, n))
    }

    pub fn seek(&mut self, fd: u32, offset: i64, whence: u32) -> R<u64> {
        self.call(
            "fd_seek",
            &[fd as u64, offset as u64, whence as u64, OUT as u64],
        )?;
        Ok(self.u64_at(OUT))
    }

    pub fn tell(&mut self, fd: u32) -> R<u64> {
        self.call("fd_tell", &[fd as u64, OUT as u64])?;
        Ok(self.u64_at(OUT))
    }

    pub fn iov(&mut self, ptr: u32, len: u32) {
        let mut iov = [0u8; 8];
        iov[..4].copy_from_slice(&ptr.to_le_bytes());
        iov[4..].copy_from_slice(&len.to_le_bytes());
        self.put(IOVS, &iov);
    }

    pub fn path_call(&mut self, name: &str, dir: u32, path: &str) -> R<()> {
        let (p, l) = self.path(PATH1, path);
        self.call(name, &[dir as u64, p, l])
    }

    pub fn mkdir(&mut self, path: &str) -> R<()> {
        self.path_call("path_create_directory", ROOT, path)
    }

    pub fn rmdir(&mut self, path: &str) -> R<()> {
        self.path_call("path_remove_directory", ROOT, path)
    }

    pub fn unlink(&mut self, path: &str) -> R<()> {
        self.path_call("path_unlink_file", ROOT, path)
    }

    pub fn two_paths(&mut self, name: &str, from: &str, to: &str) -> R<()> {
        let (p1, l1) = self.path(PATH1, from);
        let (p2, l2) = self.path(PATH2, to);
        match name {
            "path_rename" => self.call(name, &[ROOT as u64, p1, l1, ROOT as u64, p2, l2]),
            "path_link" => self.call(name, &[ROOT as u64, 0, p1, l1, ROOT as u64, p2, l2]),
            "path_symlink" => self.call(name, &[p1, l1, ROOT as u64, p2, l2]),
            _ => unreachable!(),
        }
    }

    pub fn rename(&mut self, from: &str, to: &str) -> R<()> {
        self.two_paths("path_rename", from, to)
    }

    pub fn link(&mut self, from: &str, to: &str) -> R<()> {
        self.two_paths("path_link", from, to)
    }

    pub fn symlink(&mut self, target: &str, link: &str) -> R<()> {
        self.two_paths("path_symlink", target, link)
    }

    /// (filetype, size) of `path`.
    pub fn stat(&mut self, dirflags: u32, path: &str) -> R<(u8, u64)> {
        let (p, l) = self.path(PATH1, path);
        self.call(
            "path_filestat_get",
            &[ROOT as u64, dirflags as u64, p, l, STAT as u64],
        )?;
        let ty = self.get(STAT + 16, 1)[0];
        Ok((ty, self.u64_at(STAT + 32)))
    }

    pub fn set_times(&mut self, dirflags: u32, path: &str, atim: u64, mtim: u64) -> R<()> {
        let (p, l) = self.path(PATH1, path);
        self.call(
            "path_filestat_set_times",
            &[ROOT as u64, dirflags as u64, p, l, atim, mtim, 1 | 4],
        )
    }

    pub fn readlink(&mut self, path: &str, buf_len: u32) -> R<Vec<u8>> {
        let (p, l) = self.path(PATH1, path);
        self.call(
            "path_readlink",
            &[ROOT as u64, p, l, DATA as u64, buf_len as u64, OUT as u64],
        )?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.get(DATA, n))
    }

    /// Raw fd_readdir: (bytes, bufused).
    pub fn readdir(&mut self, fd: u32, buf_len: u32, cookie: u64) -> R<Vec<u8>> {
        self.call(
            "fd_readdir",
            &[fd as u64, DATA as u64, buf_len as u64, cookie, OUT as u64],
        )?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.get(DATA, n))
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hoist-wasi-fs-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
