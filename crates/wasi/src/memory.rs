//! Bounds-checked access to the guest's linear memory. Every pointer and
//! length a guest passes goes through here; a bad one is `EFAULT`, never a
//! host crash.

use crate::abi::iovec;
use crate::Errno;

/// The caller's linear memory, little-endian, during one WASI call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// The most buffers one `readv`/`writev` takes on Linux (`IOV_MAX`);
/// more is `EINVAL` there and here.
pub const IOV_MAX: u32 = 1024;

/// One `iovec`/`ciovec`: a guest buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVec {
    pub ptr: u32,
    pub len: u32,
}

/// How many iovecs [`IoVecs`] holds without allocating: more than stdio
/// and libc's buffered streams pass (2), and 128 bytes of stack.
const INLINE_IOVECS: usize = 16;

/// The iovecs of one call: on the stack up to [`INLINE_IOVECS`], so the
/// common `fd_write` and `fd_read` allocate nothing.
pub struct IoVecs {
    inline: [IoVec; INLINE_IOVECS],
    len: usize,
    spilled: Vec<IoVec>,
}

impl IoVecs {
    fn new() -> Self {
        IoVecs {
            inline: [IoVec { ptr: 0, len: 0 }; INLINE_IOVECS],
            len: 0,
            spilled: Vec::new(),
        }
    }

    fn push(&mut self, iov: IoVec) {
        if !self.spilled.is_empty() || self.len == INLINE_IOVECS {
            if self.spilled.is_empty() {
                self.spilled.extend_from_slice(&self.inline);
            }
            self.spilled.push(iov);
        } else {
            self.inline[self.len] = iov;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for IoVecs {
    type Target = [IoVec];
    fn deref(&self) -> &[IoVec] {
        if self.spilled.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spilled
        }
    }
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// A guest string: `len` bytes of UTF-8 (`EILSEQ` otherwise).
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    pub fn read<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        Ok(self
            .slice(ptr, N as u32)?
            .try_into()
            .expect("slice of N bytes"))
    }

    pub fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.read::<1>(ptr)?[0])
    }
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.read(ptr)?))
    }
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.read(ptr)?))
    }
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.read(ptr)?))
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        self.slice_mut(ptr, u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?)?
            .copy_from_slice(bytes);
        Ok(())
    }
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Reads an array of `len` iovecs at `ptr`, checking that every buffer
    /// lies in memory. More than [`IOV_MAX`] is `EINVAL`, before anything
    /// is read, so the copy is at most 8 KiB whatever the guest passes. A
    /// copy rather than walking the guest's array in place: as with
    /// `readv`, a read into one buffer cannot rewrite later entries. The
    /// usual few stay on the stack (see [`IoVecs`]).
    pub fn iovecs(&self, ptr: u32, len: u32) -> Result<IoVecs, Errno> {
        if len > IOV_MAX {
            return Err(Errno::Inval);
        }
        let table = self.slice(ptr, len.checked_mul(iovec::SIZE).ok_or(Errno::Fault)?)?;
        let mut iovs = IoVecs::new();
        for c in table.chunks_exact(iovec::SIZE as usize) {
            let field = |at: usize| u32::from_le_bytes(c[at..at + 4].try_into().expect("4 bytes"));
            let iov = IoVec {
                ptr: field(iovec::BUF),
                len: field(iovec::BUF_LEN),
            };
            self.range(iov.ptr, iov.len)?;
            iovs.push(iov);
        }
        Ok(iovs)
    }

    /// Copies `data` into `iovs` in order; returns how many bytes fit.
    pub fn scatter(&mut self, iovs: &[IoVec], mut data: &[u8]) -> Result<usize, Errno> {
        let mut total = 0;
        for iov in iovs {
            if data.is_empty() {
                break;
            }
            let n = (iov.len as usize).min(data.len());
            self.slice_mut(iov.ptr, n as u32)?
                .copy_from_slice(&data[..n]);
            data = &data[n..];
            total += n;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_efault() {
        let mut bytes = vec![0u8; 16];
        let mut memory = GuestMemory::new(&mut bytes);
        assert_eq!(memory.read_u32(12), Ok(0));
        assert_eq!(memory.read_u32(13), Err(Errno::Fault));
        assert_eq!(memory.write_u64(u32::MAX, 1), Err(Errno::Fault));
        assert_eq!(memory.iovecs(0, 3).err(), Some(Errno::Fault));
        assert_eq!(memory.iovecs(0, 2).map(|v| v.len()).ok(), Some(2));
        assert_eq!(memory.iovecs(0, IOV_MAX + 1).err(), Some(Errno::Inval));
        assert_eq!(memory.iovecs(0, u32::MAX).err(), Some(Errno::Inval));
    }

    #[test]
    fn many_iovecs_spill_in_order() {
        let mut bytes = vec![0u8; 8 * 40];
        for i in 0..40u32 {
            let at = i as usize * 8;
            bytes[at..at + 4].copy_from_slice(&i.to_le_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&1u32.to_le_bytes());
        }
        let memory = GuestMemory::new(&mut bytes);
        for n in [0, 1, 16, 17, 40] {
            let iovs = memory.iovecs(0, n).unwrap();
            let ptrs: Vec<u32> = iovs.iter().map(|v| v.ptr).collect();
            assert_eq!(ptrs, (0..n).collect::<Vec<_>>());
        }
    }
}
