//! Which kernel implementation runs: detection, the `VECMATCH_BACKEND` override, and the
//! [`Backend`] token that proves the CPU supports it.
//!
//! Soundness rests on one rule (the memchr style): a [`Backend`] value naming a SIMD
//! instruction set exists only after runtime detection found that set on this CPU
//! ([`Backend::available`], [`Backend::detect`], [`Backend::active`]) or through
//! [`Backend::new_unchecked`], whose caller promises it. The field is private, so safe code
//! outside this module cannot make one, and the facade's `unsafe` kernel calls rely on it.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The environment variable that overrides the detected backend for the whole process.
pub const BACKEND_ENV: &str = "VECMATCH_BACKEND";

/// The name of a kernel implementation (a plain label: holding one proves nothing about
/// the CPU; [`Backend::detect`] turns it into a usable [`Backend`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Portable scalar code (the reference; every CPU).
    Scalar,
    /// AVX2 + FMA + F16C (x86-64 since Haswell / Zen 1).
    Avx2Fma,
    /// AVX-512 F/BW/VL/DQ (with AVX2, FMA and F16C): 16-lane f32 kernels, `vpmaddubsw`
    /// integer kernels (Skylake-SP and later).
    Avx512,
    /// [`BackendKind::Avx512`] plus AVX-512 VNNI: `vpdpbusd` for the integer kernels
    /// (Cascade Lake, Ice Lake and later, Zen 4 and later).
    Avx512Vnni,
    /// NEON (aarch64): f32 dot and L2 kernels; other kernels use the scalar code.
    Neon,
}

impl BackendKind {
    /// Every kind, best first.
    pub const ALL: [BackendKind; 5] = [
        BackendKind::Avx512Vnni,
        BackendKind::Avx512,
        BackendKind::Avx2Fma,
        BackendKind::Neon,
        BackendKind::Scalar,
    ];

    /// The name [`crate::hardware_acceleration`] reports and `VECMATCH_BACKEND` accepts:
    /// `scalar`, `avx2+fma`, `avx512`, `avx512+vnni` or `neon`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Scalar => "scalar",
            BackendKind::Avx2Fma => "avx2+fma",
            BackendKind::Avx512 => "avx512",
            BackendKind::Avx512Vnni => "avx512+vnni",
            BackendKind::Neon => "neon",
        }
    }

    /// The kind of a name as `VECMATCH_BACKEND` takes it: any [`BackendKind::name`], or
    /// `avx2` for `avx2+fma` (ASCII case and surrounding blanks ignored).
    pub fn from_name(name: &str) -> Option<BackendKind> {
        let n = name.trim().to_ascii_lowercase();
        if n == "avx2" {
            return Some(BackendKind::Avx2Fma);
        }
        BackendKind::ALL.into_iter().find(|k| k.name() == n)
    }

    /// Whether the running CPU can execute this kind's kernels (runtime detection).
    pub fn is_supported(self) -> bool {
        match self {
            BackendKind::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            BackendKind::Avx2Fma => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            BackendKind::Avx512 => {
                BackendKind::Avx2Fma.is_supported()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(target_arch = "x86_64")]
            BackendKind::Avx512Vnni => {
                BackendKind::Avx512.is_supported() && std::is_x86_feature_detected!("avx512vnni")
            }
            // NEON is part of the aarch64 baseline.
            #[cfg(target_arch = "aarch64")]
            BackendKind::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A kernel implementation the running CPU supports: a token the safe distance functions
/// take. It cannot be built from a [`BackendKind`] without detection, so safe code never
/// runs a kernel the CPU lacks (the compile-fail tests that show it are in the docs of
/// `vecmatch::unstable`, the path through which code outside the crate reaches this type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backend(BackendKind);

impl Backend {
    /// The scalar backend (every CPU).
    pub const fn scalar() -> Backend {
        Backend(BackendKind::Scalar)
    }

    /// The backend of `kind` if the running CPU supports it (runtime detection).
    pub fn detect(kind: BackendKind) -> Option<Backend> {
        kind.is_supported().then_some(Backend(kind))
    }

    /// A backend of `kind` without detection.
    ///
    /// # Safety
    /// The running CPU must support every instruction set of `kind` (see
    /// [`BackendKind::is_supported`]); the kernels it selects execute them.
    pub const unsafe fn new_unchecked(kind: BackendKind) -> Backend {
        Backend(kind)
    }

    /// Every backend this machine can run, best first (for tests and benchmarks).
    pub fn available() -> Vec<Backend> {
        BackendKind::ALL
            .into_iter()
            .filter_map(Backend::detect)
            .collect()
    }

    /// The backend searches use: `VECMATCH_BACKEND` if it is set and valid, else the best
    /// available; resolved once per process. When `VECMATCH_BACKEND` is invalid this is
    /// the best available, and [`check_backend`] (which gallery opens and builders call)
    /// returns the error.
    #[inline]
    pub fn active() -> Backend {
        selection().backend
    }

    /// The implementation's label.
    pub fn kind(self) -> BackendKind {
        self.0
    }

    /// The implementation's name (as [`BackendKind::name`]).
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The process's choice, resolved once.
struct Selection {
    backend: Backend,
    /// The override's value and why it cannot be used, when it cannot.
    error: Option<(String, String)>,
}

fn selection() -> &'static Selection {
    static SELECTION: OnceLock<Selection> = OnceLock::new();
    SELECTION.get_or_init(|| {
        let best = Backend::available()[0];
        let Some(raw) = std::env::var_os(BACKEND_ENV) else {
            return Selection {
                backend: best,
                error: None,
            };
        };
        let raw = raw.to_string_lossy().into_owned();
        if raw.trim().is_empty() {
            return Selection {
                backend: best,
                error: None,
            };
        }
        let error = match resolve(&raw) {
            Ok(b) => {
                return Selection {
                    backend: b,
                    error: None,
                };
            }
            Err(reason) => Some((raw, reason)),
        };
        Selection {
            backend: best,
            error,
        }
    })
}

/// The backend a `VECMATCH_BACKEND` value selects on this CPU, or why it cannot.
fn resolve(raw: &str) -> std::result::Result<Backend, String> {
    let names = || {
        Backend::available()
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match BackendKind::from_name(raw) {
        None => Err(format!(
            "unknown backend name (known: scalar, avx2, avx2+fma, avx512, avx512+vnni, neon; this CPU runs: {})",
            names()
        )),
        Some(kind) => Backend::detect(kind).ok_or_else(|| {
            format!(
                "this CPU does not support {} (it runs: {})",
                kind.name(),
                names()
            )
        }),
    }
}

/// The backend in use, after checking the `VECMATCH_BACKEND` override against this CPU.
///
/// # Errors
/// [`Error::UnsupportedBackend`] if `VECMATCH_BACKEND` names an unknown backend or one
/// this CPU cannot run. Cost: one atomic load after the first call.
pub fn check_backend() -> Result<Backend> {
    let s = selection();
    match &s.error {
        None => Ok(s.backend),
        Some((requested, reason)) => Err(Error::UnsupportedBackend {
            requested: requested.clone(),
            reason: reason.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in BackendKind::ALL {
            assert_eq!(BackendKind::from_name(k.name()), Some(k));
        }
        assert_eq!(BackendKind::from_name(" AVX2 "), Some(BackendKind::Avx2Fma));
        assert_eq!(BackendKind::from_name("avx1024"), None);
        assert_eq!(BackendKind::from_name(""), None);
    }

    #[test]
    fn detection_is_consistent() {
        let avail = Backend::available();
        assert_eq!(avail.last(), Some(&Backend::scalar()));
        for k in BackendKind::ALL {
            assert_eq!(avail.iter().any(|b| b.kind() == k), k.is_supported(), "{k}");
            assert_eq!(Backend::detect(k).is_some(), k.is_supported(), "{k}");
        }
        assert!(Backend::available().contains(&Backend::active()));
    }

    #[test]
    fn resolve_validates_against_the_cpu() {
        assert_eq!(resolve("scalar"), Ok(Backend::scalar()));
        assert!(resolve("sse9").unwrap_err().contains("unknown backend"));
        for k in BackendKind::ALL {
            match resolve(k.name()) {
                Ok(b) => assert!(k.is_supported() && b.kind() == k),
                Err(e) => assert!(!k.is_supported() && e.contains("does not support"), "{e}"),
            }
        }
    }
}
