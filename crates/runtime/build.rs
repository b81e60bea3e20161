//! Compiles `src/helpers.c`: the sigsetjmp/siglongjmp helpers used by `traphandlers.rs`.
//! (`setjmp` must be called from the frame that stays alive, which Rust cannot express.)

fn main() {
    println!("cargo:rerun-if-changed=src/helpers.c");
    cc::Build::new()
        .file("src/helpers.c")
        // The exception helpers read their caller's frame pointer.
        .flag("-fno-omit-frame-pointer")
        .warnings(true)
        .compile("hoist-runtime-helpers");
}
