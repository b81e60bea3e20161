//! Building the Cranelift target ISA with hoist's code-affecting settings.

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::Triple;

/// How hard Cranelift optimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OptLevel {
    None,
    #[default]
    Speed,
}

/// Which CPU features compiled code may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Cpu {
    /// Everything the host CPU has (only for the host target).
    #[default]
    Native,
    /// The target's baseline, so the code runs on any CPU of the architecture.
    Baseline,
}

/// Compiler settings chosen by the user.
#[derive(Clone, Debug, Default)]
pub struct CompilerOptions {
    /// Target triple; the host when `None`.
    pub target: Option<Triple>,
    pub cpu: Cpu,
    pub opt_level: OptLevel,
    /// Run Cranelift's IR verifier on every function (slow; for tests).
    pub verify: bool,
    /// Compile fast rather than well: no optimizations (for functions
    /// compiled lazily, whose run is followed by a full compile for the
    /// cache).
    pub baseline_tier: bool,
    /// Lazily compiled functions go to hoist's single-pass compiler (crate
    /// `hoist-baseline`) first, where the target is this x86-64 machine;
    /// those outside its subset, and every other target's, to Cranelift.
    pub single_pass_compiler: bool,
    /// Cranelift's single-pass register allocator (`regalloc_algorithm =
    /// single_pass`) instead of the backtracking one: about half the
    /// compile time, but each spilled value gets a stack slot of its own.
    pub single_pass_regalloc: bool,
    /// The host CPU's features as Cranelift setting names (`has_avx2`,
    /// ...), for [`Cpu::Native`] on the host, when the caller already has
    /// them (see `hoist_runtime::host_cpu_features`); `None`: detected
    /// here by `cranelift_native`.
    pub native_features: Option<Vec<&'static str>>,
}

/// Builds the ISA for `options`. For the host with `Cpu::Native`, CPU
/// features are detected; otherwise the baseline feature set is used.
pub fn build_isa(options: &CompilerOptions) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| format!("cranelift setting {name}={value}: {e}"))
    };
    set(
        &mut flags,
        "opt_level",
        match options.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
        },
    )?;
    if options.baseline_tier {
        // No mid-end optimizations: about 0.6 of the compile time. The
        // single-pass register allocator is a separate choice
        // (`single_pass_regalloc`, see `link::compile_function_lazily`).
        set(&mut flags, "opt_level", "none")?;
    }
    if options.single_pass_regalloc {
        set(&mut flags, "regalloc_algorithm", "single_pass")?;
    }
    set(
        &mut flags,
        "enable_verifier",
        if options.verify { "true" } else { "false" },
    )?;
    // Frame pointers make wasm backtraces a simple walk of the FP chain.
    set(&mut flags, "preserve_frame_pointers", "true")?;
    // Big frames must touch each page so they fault on the stack guard page
    // instead of skipping it; inline probes need no libcall.
    set(&mut flags, "enable_probestack", "true")?;
    set(&mut flags, "probestack_strategy", "inline")?;
    // Functions with more results than return registers (multi-value)
    // return the rest through memory the caller provides, on every target.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Unwind info is only needed by native debuggers; we walk frame pointers.
    set(&mut flags, "unwind_info", "false")?;
    // Block start offsets and edges, so the linker can find a loop's
    // header and place it at a cache-line boundary (link.rs,
    // `hot_loop_header`).
    set(&mut flags, "machine_code_cfg_info", "true")?;

    let host = options.target.as_ref().is_none_or(|t| *t == Triple::host());
    let builder = match &options.target {
        _ if host => {
            let mut builder =
                isa::lookup(Triple::host()).map_err(|e| format!("host is not supported: {e}"))?;
            match (&options.native_features, options.cpu) {
                (_, Cpu::Baseline) => {}
                (Some(features), Cpu::Native) => {
                    for name in features {
                        builder
                            .enable(name)
                            .map_err(|e| format!("cranelift setting {name}: {e}"))?;
                    }
                }
                (None, Cpu::Native) => cranelift_native::infer_native_flags(&mut builder)
                    .map_err(|e| format!("host is not supported: {e}"))?,
            }
            builder
        }
        Some(triple) => isa::lookup(triple.clone()).map_err(|e| format!("target {triple}: {e}"))?,
        None => unreachable!("no target means the host"),
    };
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("building the target ISA: {e}"))
}

/// `isa` as it is, but for functions whose shape makes some of
/// Cranelift's or regalloc2's work quadratic:
/// - `huge` (thousands of branch targets, see `link::MAX_BRANCH_TARGETS`):
///   without `machine_code_cfg_info` (block start offsets), whose
///   bookkeeping is quadratic in a run of empty edge blocks, and without
///   mid-end optimizations, whose redundant-load elimination merges the
///   values a huge `br_table` passes back into one (see
///   `translate::control::MAX_EDGES_SHARING_VALUES`);
/// - `single_pass`: with the single-pass register allocator, which needs
///   no dominator tree (see `joins`).
///
/// `None` if Cranelift refuses the copied settings (never expected; the
/// caller keeps `isa`).
pub(crate) fn for_hard_functions(
    isa: &dyn isa::TargetIsa,
    huge: bool,
    single_pass: bool,
) -> Option<OwnedTargetIsa> {
    let mut flags = settings::builder();
    for value in isa.flags().iter() {
        flags.set(value.name, &value.value_string()).ok()?;
    }
    if huge {
        flags.set("machine_code_cfg_info", "false").ok()?;
        flags.set("opt_level", "none").ok()?;
    }
    if single_pass {
        flags.set("regalloc_algorithm", "single_pass").ok()?;
    }
    isa::Builder::from_target_isa(isa)
        .finish(settings::Flags::new(flags))
        .ok()
}
