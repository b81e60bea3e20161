//! OCI images for hoist.
//!
//! [`unpack`] opens an image the way it leaves a build tool: an OCI image
//! layout directory, or an archive of one (`skopeo copy ... oci-archive:`,
//! `docker buildx build --output type=oci`), or a `docker save` archive. It
//! picks the wasi/wasm image of a multi-platform index, checks every blob
//! against its digest, and unpacks the layers into a fresh temporary root
//! file system, whiteouts respected. [`Unpacked::command`] then says what to
//! run: the module, its argv and its environment, from the image config.
//!
//! Two kinds of Wasm image exist (see [`ImageKind`]): a Wasm layer (the
//! module is a layer of its own, as runwasi defines it) and a "compat" image
//! (an ordinary image whose entrypoint is a `.wasm` file in its root file
//! system, often annotated `module.wasm.image/variant=compat`).
//!
//! Images are treated as hostile: [`unpack::Unpacker`] writes only below
//! its root, through `cap-std`, whatever the archive says (`..`, absolute
//! paths, symlinks pointing out, hard links out, device nodes, sizes beyond
//! [`Limits`]).

mod image;
mod select;
mod store;
pub mod unpack;

pub use image::{unpack, Command, ImageKind, Unpacked};

/// Layer media types that hold a Wasm module (or component) as is, not a
/// tar: the CNCF Wasm OCI artifact type first, then runwasi's two.
pub const WASM_LAYER_MEDIA_TYPES: &[&str] = &[
    "application/vnd.wasm.content.layer.v1+wasm",
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
    "application/wasm",
];

/// The annotation (on the manifest, its index entry, or as a config label)
/// that marks a compat image, whose entrypoint is a Wasm file in its root
/// file system; its value is [`COMPAT_VARIANT`].
pub const COMPAT_ANNOTATION: &str = "module.wasm.image/variant";

/// The value of [`COMPAT_ANNOTATION`] for a compat image.
pub const COMPAT_VARIANT: &str = "compat";

/// Whether `media_type` is one of [`WASM_LAYER_MEDIA_TYPES`].
pub fn is_wasm_layer(media_type: &str) -> bool {
    WASM_LAYER_MEDIA_TYPES.contains(&media_type)
}

/// How much an image may make hoist read and write. An image beyond them is
/// refused with an error, never truncated.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes written into the root file system and the module file, all
    /// layers together (decompressed).
    pub max_unpacked_bytes: u64,
    /// Entries in all layers together (files, directories, links,
    /// whiteouts), and entries in an image archive.
    pub max_entries: u64,
    /// Size of one JSON document: index, manifest, config.
    pub max_document_bytes: u64,
    /// Size of a compressed image archive once decompressed.
    pub max_archive_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 8 << 30,
            max_entries: 1_000_000,
            max_document_bytes: 4 << 20,
            max_archive_bytes: 16 << 30,
        }
    }
}
