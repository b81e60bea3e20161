//! Sealed images: an artifact image followed by a keyed BLAKE3 MAC, as the
//! compile cache stores them.
//!
//! The MAC binds the image to a context (the cache key: module digest and
//! engine fingerprint), so an entry renamed to another key, edited, or
//! written by anything that does not know the key is refused. The key is
//! the cache's secret; see the CLI's cache module for where it lives.

/// `MAC (32 bytes) || SEAL_MAGIC (8 bytes)`, appended to the image.
pub const SEAL_LEN: usize = 40;
const SEAL_MAGIC: &[u8; 8] = b"HOISTMAC";

/// The MAC of `image` for `context`: every byte but the pages loading may
/// leave unread ([`crate::lazy_range`]: an artifact's memory images,
/// address map and DWARF, whose digests `.hoist.info` and the header
/// hold), preceded by that range's bounds, so a forged range that leaves
/// out other bytes does not verify. Without such a range, the MAC is the
/// same as before there were any; the two cannot be confused, since an
/// image starts with `\x7fELF` and a range with a page-aligned offset,
/// whose first byte is 0. (An artifact of another format may not verify:
/// the CLI names its format, [`crate::format_of`].)
fn mac(key: &[u8; 32], context: &[u8], image: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(&(context.len() as u64).to_le_bytes());
    hasher.update(context);
    match crate::lazy_range(image) {
        Some(skip) => {
            hasher.update(&(skip.start as u64).to_le_bytes());
            hasher.update(&(skip.end as u64).to_le_bytes());
            crate::hash(&mut hasher, &image[..skip.start]);
            crate::hash(&mut hasher, &image[skip.end..]);
        }
        None => crate::hash(&mut hasher, image),
    }
    *hasher.finalize().as_bytes()
}

/// Appends the seal for `context` to `image`.
pub fn seal(image: &mut Vec<u8>, key: &[u8; 32], context: &[u8]) {
    let mac = mac(key, context, image);
    image.extend_from_slice(&mac);
    image.extend_from_slice(SEAL_MAGIC);
}

/// The length of the image inside `sealed` if its seal is valid for `key`
/// and `context`; `None` otherwise. Compares in constant time.
pub fn unseal(sealed: &[u8], key: &[u8; 32], context: &[u8]) -> Option<usize> {
    let len = sealed.len().checked_sub(SEAL_LEN)?;
    let (image, trailer) = sealed.split_at(len);
    if &trailer[32..] != SEAL_MAGIC {
        return None;
    }
    let expected = blake3::Hash::from_bytes(mac(key, context, image));
    let stored = blake3::Hash::from_bytes(trailer[..32].try_into().ok()?);
    // `blake3::Hash` equality is constant-time.
    (expected == stored).then_some(len)
}
