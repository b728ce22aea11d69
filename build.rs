//! Build script: records the target triple and profile for the META section of written
//! galleries. Writes only into `OUT_DIR`.

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
}
