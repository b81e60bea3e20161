//! Reading what the user names on the command line (a module, a script, a
//! settings file) into memory, bounded: a device or a pipe that never ends
//! (`/dev/zero`, `yes |`) is refused with an error instead of filling the
//! host's memory.
//!
//! Two bounds apply. A size cap: [`MAX_MODULE_SIZE`] for modules and
//! scripts (V8's limit on a module's size), less for settings. And a look
//! at the first [`SNIFF_SIZE`] bytes ([`Expect`]): a module that is
//! neither a wasm binary, an ELF file (an artifact) nor WebAssembly text
//! is read no further (that much is enough for the caller to say what the
//! file is), and a text file with NUL bytes is refused there.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// The most bytes read as one module, script or artifact: 1 GiB.
pub const MAX_MODULE_SIZE: u64 = 1 << 30;

/// Bytes read before deciding whether the input can be a module at all.
pub const SNIFF_SIZE: usize = 64 << 10;

/// What the input must look like to be read past [`SNIFF_SIZE`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A wasm binary, an ELF file (an artifact) or WebAssembly text;
    /// anything else is returned cut at [`SNIFF_SIZE`] bytes, for the
    /// caller to say what it is.
    Module,
    /// UTF-8 text without NUL bytes; anything else is an error.
    Text,
}

/// The file at `path` (`name` in messages), at most `limit` bytes.
pub fn read_path(path: &Path, name: &str, limit: u64, expect: Expect) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("failed to read `{name}`"))?;
    // A regular file says its size: refused before anything is read.
    if let Ok(meta) = file.metadata() {
        if meta.is_file() && meta.len() > limit {
            bail!(
                "`{name}` is {} bytes, more than hoist reads ({limit} bytes)",
                meta.len()
            );
        }
    }
    read_stream(&mut file, name, limit, expect)
}

/// The module, artifact or WebAssembly text file at `path`, at most
/// [`MAX_MODULE_SIZE`] bytes (see [`Expect::Module`]).
pub fn read_module(path: &Path, name: &str) -> Result<Vec<u8>> {
    read_path(path, name, MAX_MODULE_SIZE, Expect::Module)
}

/// The text file at `path`, at most `limit` bytes (see [`Expect::Text`]).
pub fn read_text(path: &Path, name: &str, limit: u64) -> Result<String> {
    let bytes = read_path(path, name, limit, Expect::Text)?;
    String::from_utf8(bytes).with_context(|| format!("`{name}` is not a text file (not UTF-8)"))
}

/// All of `reader` (`name` in messages), at most `limit` bytes, looked at
/// after the first [`SNIFF_SIZE`] as `expect` says.
pub fn read_stream(
    reader: &mut dyn Read,
    name: &str,
    limit: u64,
    expect: Expect,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut limited = reader.take(limit.saturating_add(1));
    (&mut limited)
        .take(SNIFF_SIZE as u64)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read `{name}`"))?;
    match expect {
        Expect::Text if !is_text(&bytes) => {
            bail!("`{name}` is not a text file (it holds NUL bytes or is not UTF-8)")
        }
        Expect::Module if bytes.len() == SNIFF_SIZE && !may_be_module(&bytes) => {
            return Ok(bytes);
        }
        _ => {}
    }
    limited
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read `{name}`"))?;
    if bytes.len() as u64 > limit {
        bail!("`{name}` is more than {limit} bytes, more than hoist reads");
    }
    Ok(bytes)
}

/// Whether `prefix` may begin a wasm binary, an ELF file or WebAssembly
/// text (which starts with `(`, or a comment, after any blanks).
fn may_be_module(prefix: &[u8]) -> bool {
    if prefix.starts_with(b"\0asm") || prefix.starts_with(b"\x7fELF") {
        return true;
    }
    let first = prefix.iter().find(|b| !b.is_ascii_whitespace());
    is_text(prefix) && matches!(first, None | Some(b'(' | b';'))
}

/// Whether `prefix` may begin a text file: UTF-8 (a character cut at the
/// end allowed) without NUL bytes.
fn is_text(prefix: &[u8]) -> bool {
    let utf8 = match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none(),
    };
    utf8 && !prefix.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_input_is_bounded() {
        let module = |reader: &mut dyn Read| read_stream(reader, "m", 1 << 20, Expect::Module);
        // Zeros, or `yes`: not a module, read no further than the sniff.
        assert_eq!(module(&mut std::io::repeat(0)).unwrap().len(), SNIFF_SIZE);
        assert_eq!(
            module(&mut std::io::repeat(b'y')).unwrap().len(),
            SNIFF_SIZE
        );
        // Endless text or binary that may be a module: refused at the limit.
        let err = module(&mut std::io::repeat(b'(')).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        let mut binary =
            std::io::Cursor::new(b"\0asm\x01\0\0\0".to_vec()).chain(std::io::repeat(0));
        assert!(module(&mut binary).is_err());
        // Input under the limit is read whole, whatever it is.
        assert_eq!(module(&mut &[0u8; 10][..]).unwrap(), [0; 10]);
        let text = [b" \n;; a module\n".as_slice(), &[b'('; SNIFF_SIZE * 3]].concat();
        assert!(module(&mut &text[..]).unwrap() == text);
        // A multi-byte character cut by the sniff is still text.
        let mut cut = vec![b'('; SNIFF_SIZE - 1];
        cut.extend("é".repeat(10).as_bytes());
        assert!(module(&mut &cut[..]).unwrap() == cut);
        // Text: NUL bytes are refused at once, endless text at the limit.
        let text = |reader: &mut dyn Read| read_stream(reader, "t", 1 << 20, Expect::Text);
        let err = text(&mut std::io::repeat(0)).unwrap_err();
        assert!(err.to_string().contains("not a text file"), "{err}");
        assert!(text(&mut std::io::repeat(b'y')).is_err());
        assert_eq!(text(&mut &b"[cache]\n"[..]).unwrap(), b"[cache]\n");
    }
}
