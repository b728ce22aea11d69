//! Build script: records the target triple and profile for the META section of written
//! galleries, and sets the C library's SONAME. Writes only into `OUT_DIR`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let code = format!(
        "/// Target triple and profile this library was built for.\npub const BUILD_TARGET: &str = {:?};\n",
        format!("{target} ({profile})")
    );
    std::fs::write(out.join("build_info.rs"), code).expect("OUT_DIR is writable");
    soname();
}

/// With the C API on an ELF platform, gives the shared library the SONAME
/// `libvecmatch.so.N`, N = `VECMATCH_ABI_VERSION` (src/ffi/library.rs): programs record it
/// and load a library of the same ABI, and distributions can install two ABIs side by
/// side (tools/install-capi.sh installs the file and its symlinks).
fn soname() {
    let elf = matches!(
        std::env::var("CARGO_CFG_TARGET_OS").as_deref(),
        Ok("linux" | "android" | "freebsd" | "dragonfly" | "netbsd" | "openbsd")
    );
    if std::env::var_os("CARGO_FEATURE_CAPI").is_none() || !elf {
        return;
    }
    let path = "src/ffi/library.rs";
    println!("cargo:rerun-if-changed={path}");
    let src = std::fs::read_to_string(path).expect("read src/ffi/library.rs");
    let abi: u32 = src
        .lines()
        .find_map(|l| l.strip_prefix("pub const VECMATCH_ABI_VERSION: u32 = "))
        .and_then(|rest| rest.strip_suffix(';'))
        .and_then(|n| n.parse().ok())
        .expect("src/ffi/library.rs defines `pub const VECMATCH_ABI_VERSION: u32 = N;`");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvecmatch.so.{abi}");
}
