//! The committed C header `include/vecmatch.h` must be exactly what the pinned cbindgen
//! generates from `src/ffi/` and `cbindgen.toml`, with the version macros of Cargo.toml.
//! `VECMATCH_BLESS=1 cargo test --features capi --test c_header` rewrites it.
#![cfg(feature = "capi")]

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define VECMATCH_VERSION_MAJOR {}\n#define VECMATCH_VERSION_MINOR {}\n\
         #define VECMATCH_VERSION_PATCH {}\n#define VECMATCH_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION"),
    ));
    let bindings = cbindgen::Builder::new()
        // Only the C API module: the rest of the crate has no C-visible items.
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen failed");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn committed_header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vecmatch.h");
    let fresh = generate();
    if std::env::var_os("VECMATCH_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/vecmatch.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/vecmatch.h is out of date with src/ffi/ or Cargo.toml's version; regenerate \
         it with `VECMATCH_BLESS=1 cargo test --features capi --test c_header` and commit it"
    );
}

/// The committed header (what C users compile against) carries Cargo.toml's version and
/// the library's ABI version; read from the file, not from a fresh generation.
#[test]
fn committed_version_macros_match_the_library() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vecmatch.h");
    let header = std::fs::read_to_string(&path).expect("read include/vecmatch.h");
    let define = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        let line = header
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("include/vecmatch.h has no {name}"));
        line[prefix.len()..].trim().to_string()
    };
    assert_eq!(
        define("VECMATCH_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define("VECMATCH_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define("VECMATCH_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    assert_eq!(
        define("VECMATCH_VERSION_STRING"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        define("VECMATCH_ABI_VERSION"),
        vecmatch::ffi::VECMATCH_ABI_VERSION.to_string()
    );
    // SAFETY: vecmatch_abi_version takes no arguments and has no preconditions.
    let runtime = unsafe { vecmatch::ffi::vecmatch_abi_version() };
    assert_eq!(runtime, vecmatch::ffi::VECMATCH_ABI_VERSION);
}
