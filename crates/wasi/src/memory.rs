//! Bounds-checked access to the guest's linear memory. Every pointer and
//! length a guest passes goes through here; a bad one is `EFAULT`, never a
//! host crash.

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

    /// Reads an array of `len` iovecs (8 bytes each) at `ptr`, checking
    /// that every buffer lies in memory. More than [`IOV_MAX`] is `EINVAL`,
    /// before anything is read, so the copy is at most 8 KiB whatever the
    /// guest passes. A copy rather than walking the guest's array in place:
    /// as with `readv`, a read into one buffer cannot rewrite later entries.
    pub fn iovecs(&self, ptr: u32, len: u32) -> Result<Vec<IoVec>, Errno> {
        if len > IOV_MAX {
            return Err(Errno::Inval);
        }
        let table = self.slice(ptr, len.checked_mul(8).ok_or(Errno::Fault)?)?;
        let iovs: Vec<IoVec> = table
            .chunks_exact(8)
            .map(|c| IoVec {
                ptr: u32::from_le_bytes(c[0..4].try_into().expect("4 bytes")),
                len: u32::from_le_bytes(c[4..8].try_into().expect("4 bytes")),
            })
            .collect();
        for iov in &iovs {
            self.range(iov.ptr, iov.len)?;
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
        assert_eq!(memory.iovecs(0, 3), Err(Errno::Fault));
        assert_eq!(memory.iovecs(0, 2).map(|v| v.len()), Ok(2));
        assert_eq!(memory.iovecs(0, IOV_MAX + 1), Err(Errno::Inval));
        assert_eq!(memory.iovecs(0, u32::MAX), Err(Errno::Inval));
    }
}
