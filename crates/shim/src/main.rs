//! `containerd-shim-hoist-v1`: the containerd shim for runtime
//! `io.containerd.hoist.v1`. Containers whose entrypoint is WebAssembly run
//! with hoist's engine and WASI layer; the container itself (namespaces,
//! cgroups, root file system, stdio) is set up by `containerd-shim-wasm`
//! (runwasi's shim framework, with youki's libcontainer), which calls
//! [`HoistSandbox::run_wasi`](sandbox::HoistSandbox) as the container's
//! process.
//!
//! Both kinds of Wasm image run: a Wasm layer (the module as a layer of its
//! own, one of [`hoist_oci::WASM_LAYER_MEDIA_TYPES`]) and a compat image
//! (the entrypoint is a `.wasm`, `.wat` or `.hwasm` file in the root file
//! system). Wasm layers are compiled once: containerd stores hoist's
//! artifact beside the layer (see [`compiler`]).

mod compiler;
mod guest;
mod mounts;
mod sandbox;

use containerd_shim_wasm::shim::{version, Cli, Shim, Version};

/// The shim, as `containerd-shim-wasm` sees it.
struct HoistShim;

impl Shim for HoistShim {
    fn name() -> &'static str {
        "hoist"
    }

    fn version() -> Version {
        version!()
    }

    type Sandbox = sandbox::HoistSandbox;

    #[allow(refining_impl_trait)]
    async fn compiler() -> Option<compiler::HoistCompiler> {
        compiler::HoistCompiler::new()
    }

    fn supported_layers_types() -> &'static [&'static str] {
        hoist_oci::WASM_LAYER_MEDIA_TYPES
    }
}

fn main() {
    // First thing: the library forks its zygote process here, before any
    // thread exists.
    HoistShim::run(None);
}
