//! The host CPU's features for Cranelift, read without `cpuid` where the C
//! library already has them.
//!
//! `cranelift_native` asks std's feature detection, which executes `cpuid`
//! about ten times; on a virtual machine each one exits to the hypervisor
//! (3.7 µs apiece on the development VM): 0.03 ms of every `hoist run`,
//! glibc having done the same work a moment earlier at start-up.
//! glibc (2.33 and later) hands its copy of the `cpuid` leaves out through
//! `__x86_get_cpuid_feature_leaf` (<sys/platform/x86.h>). The raw leaves
//! are read, not glibc's "active" bits, which `GLIBC_TUNABLES` can mask;
//! the operating system's support for AVX and AVX-512 state comes from
//! `xgetbv`, which does not exit. The rules are std_detect's, so the
//! settings are `cranelift_native::infer_native_flags`'s (the engine's
//! tests check that on the host they run on).

/// `struct cpuid_feature` of glibc's <bits/platform/x86.h>: one `cpuid` leaf as
/// the CPU reported it (eax, ebx, ecx, edx), then glibc's usable bits.
#[repr(C)]
struct CpuidFeature {
    cpuid: [u32; 4],
    active: [u32; 4],
}

// `enum cpuid_index` of <bits/platform/x86.h>.
const LEAF_1: u32 = 0;
const LEAF_7: u32 = 1;
const LEAF_80000001: u32 = 2;
const LEAF_7_ECX_1: u32 = 6;

const EAX: usize = 0;
const EBX: usize = 1;
const ECX: usize = 2;

unsafe extern "C" {
    /// `helpers.c`: glibc's `__x86_get_cpuid_feature_leaf(index)` where
    /// hoist was built against glibc 2.33 or later, else NULL.
    fn hoist_cpuid_feature_leaf(index: u32) -> *const CpuidFeature;
}

/// The Cranelift settings (`has_*`, as `cranelift_native` enables them)
/// for the host CPU's features, or `None` where they are not at hand
/// without `cpuid` (built against glibc before 2.33, or another C
/// library): detect them the usual way then.
pub fn host_cpu_features() -> Option<Vec<&'static str>> {
    let leaf = |index: u32| -> [u32; 4] {
        // SAFETY: glibc's function returns a pointer to a static filled in
        // at start-up before any user code ran, for any index (zeros for
        // leaves this glibc does not know); the fallback returns NULL.
        let feature = unsafe { hoist_cpuid_feature_leaf(index) };
        if feature.is_null() {
            [0; 4]
        } else {
            // SAFETY: non-null, to glibc's static `cpuid_feature`.
            unsafe { (*feature).cpuid }
        }
    };
    let leaf1 = leaf(LEAF_1);
    let leaf7 = leaf(LEAF_7);
    let leaf7_1 = leaf(LEAF_7_ECX_1);
    let extended = leaf(LEAF_80000001);
    if leaf1 == [0; 4] {
        return None; // glibc filled nothing in: detect the usual way.
    }
    let bit = |register: u32, n: u32| register & (1 << n) != 0;

    // Whether the OS saves the AVX (XMM|YMM) and AVX-512 (opmask,
    // ZMM_Hi256, Hi16_ZMM) state: XCR0, readable once the OS set
    // CR4.OSXSAVE (leaf 1 ecx bit 27) on a CPU with XSAVE (bit 26).
    let (os_avx, os_avx512) = if bit(leaf1[ECX], 26) && bit(leaf1[ECX], 27) {
        // SAFETY: `xgetbv` with ecx = 0 reads XCR0; it is available
        // because the OS enabled XSAVE (checked above).
        let xcr0 = unsafe { std::arch::x86_64::_xgetbv(0) };
        (xcr0 & 0x6 == 0x6, xcr0 & 0xe6 == 0xe6)
    } else {
        (false, false)
    };

    let mut on = Vec::new();
    let mut set = |present: bool, name: &'static str| {
        if present {
            on.push(name);
        }
    };
    set(bit(leaf1[ECX], 13), "has_cmpxchg16b");
    set(bit(leaf1[ECX], 0), "has_sse3");
    set(bit(leaf1[ECX], 9), "has_ssse3");
    set(bit(leaf1[ECX], 19), "has_sse41");
    set(bit(leaf1[ECX], 20), "has_sse42");
    set(bit(leaf1[ECX], 23), "has_popcnt");
    set(os_avx && bit(leaf1[ECX], 28), "has_avx");
    set(os_avx && bit(leaf7[EBX], 5), "has_avx2");
    set(os_avx && bit(leaf1[ECX], 12), "has_fma");
    set(os_avx && bit(leaf7_1[EAX], 4), "has_avx_vnni");
    set(os_avx512 && bit(leaf7[ECX], 11), "has_avx512vnni");
    set(bit(leaf7[EBX], 3), "has_bmi1");
    set(bit(leaf7[EBX], 8), "has_bmi2");
    set(os_avx512 && bit(leaf7[ECX], 12), "has_avx512bitalg");
    set(os_avx512 && bit(leaf7[EBX], 17), "has_avx512dq");
    set(os_avx512 && bit(leaf7[EBX], 16), "has_avx512f");
    set(os_avx512 && bit(leaf7[EBX], 31), "has_avx512vl");
    set(os_avx512 && bit(leaf7[ECX], 1), "has_avx512vbmi");
    set(bit(extended[ECX], 5), "has_lzcnt");
    Some(on)
}
