//! A module binary shared, read-only, between a lazily compiled module and
//! whoever else needs it (the CLI's background compile for the cache).

use hoist_runtime::ImageBuffer;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A module binary that cannot change while it is shared: the bytes a
/// lazily compiled module reads again for each function's first-call
/// compile (see [`crate::Module::new_lazy_shared`]). Validation covers the
/// bytes once, when the module is made, and the compilers trust it (the
/// single-pass compiler addresses locals by the index it reads), so bytes
/// that could change after it, a file mapping a guest can write through a
/// preopen, say, would let a guest choose the code. Hence only owned
/// memory nothing else can write: a `Vec<u8>` or boxed slice moved in, or
/// an [`ImageBuffer`] (a private anonymous copy of a file). Cloning shares.
#[derive(Clone)]
pub struct SharedBytes(Arc<Held>);

enum Held {
    // Not shrunk to a boxed slice: that can copy it.
    Owned(Vec<u8>),
    Image(ImageBuffer),
}

impl SharedBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &*self.0 {
            Held::Owned(bytes) => bytes,
            Held::Image(buffer) => buffer.as_slice(),
        }
    }

    /// How many `SharedBytes` share these bytes (as `Arc::strong_count`).
    pub fn strong_count(this: &SharedBytes) -> usize {
        Arc::strong_count(&this.0)
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> SharedBytes {
        SharedBytes(Arc::new(Held::Owned(bytes)))
    }
}

impl From<Box<[u8]>> for SharedBytes {
    fn from(bytes: Box<[u8]>) -> SharedBytes {
        SharedBytes(Arc::new(Held::Owned(bytes.into_vec())))
    }
}

impl From<ImageBuffer> for SharedBytes {
    fn from(buffer: ImageBuffer) -> SharedBytes {
        SharedBytes(Arc::new(Held::Image(buffer)))
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.len())
    }
}
