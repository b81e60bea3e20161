//! What compiled code was compiled for, as recorded in `.hoist.engine`.

use crate::info::{put_bytes, Reader};
use anyhow::Result;

/// What compiled code needs from the machine and the hoist that runs it.
/// Every field is a string so the format needs no change when a new flag
/// appears; the engine decides which fields must match (see
/// `hoist::Engine`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EngineInfo {
    /// Identifies the hoist build whose VM layout and builtins the code
    /// assumes (a hash of the engine's sources); must match exactly.
    pub build_id: String,
    /// The hoist version and source revision, for messages only.
    pub hoist_version: String,
    /// The target triple.
    pub triple: String,
    /// Cranelift's shared flags, one `name = value` per line.
    pub shared_flags: String,
    /// Enabled CPU features and other ISA settings, sorted.
    pub isa_flags: Vec<String>,
    /// The code-affecting tunables, `name=value` separated by spaces.
    pub tunables: String,
    /// The enabled WebAssembly features, comma-separated.
    pub features: String,
}

impl EngineInfo {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let EngineInfo {
            build_id,
            hoist_version,
            triple,
            shared_flags,
            isa_flags,
            tunables,
            features,
        } = self;
        for string in [
            build_id.as_str(),
            hoist_version,
            triple,
            shared_flags,
            &isa_flags.join(","),
            tunables,
            features,
        ] {
            put_bytes(out, string.as_bytes());
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<EngineInfo> {
        let mut string = || -> Result<String> { Ok(String::from_utf8(reader.bytes()?.to_vec())?) };
        Ok(EngineInfo {
            build_id: string()?,
            hoist_version: string()?,
            triple: string()?,
            shared_flags: string()?,
            isa_flags: string()?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            tunables: string()?,
            features: string()?,
        })
    }
}
