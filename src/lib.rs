//! # vecmatch
//!
//! High-throughput vector matching over a gallery of embeddings that lives in one
//! memory-mapped, checksummed file: exact SIMD search, and approximate search over an HNSW
//! graph stored in the same file ([`HnswParams`], [`GalleryBuilder::hnsw`]). A
//! [`Collection`] adds, replaces and deletes vectors while searches run; the C API is behind
//! the feature `capi`.
//!
//! ```
//! use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let path = std::env::temp_dir().join(format!("vecmatch-doc-{}.vmg", std::process::id()));
//!     let mut builder = GalleryBuilder::new(4, Metric::Cosine)?;
//!     builder.add(100, &[1.0, 0.0, 0.0, 0.0])?;
//!     builder.add(200, &[0.0, 1.0, 0.0, 0.0])?;
//!     builder.add(300, &[0.7, 0.7, 0.0, 0.0])?;
//!     builder.write(&path)?; // atomic: temp file + fsync + rename
//!
//!     let gallery = Gallery::open(&path)?; // mmap, O(1)
//!     let hits = gallery.search(&[1.0, 0.1, 0.0, 0.0], &SearchParams::k(2))?;
//!     assert_eq!(hits[0].key, 100);
//!     assert_eq!(hits[1].key, 300);
//!     drop(gallery);
//!     std::fs::remove_file(&path)?;
//!     Ok(())
//! }
//! ```
//!
//! Build with `opt-level = 3` even in debug builds of your program (add
//! `[profile.dev.package.vecmatch] opt-level = 3` to your Cargo.toml): unoptimised, graph
//! builds and searches are ~28× slower (a 10,000 × 128 HNSW build: 75 s against 2.5 s).
//!
//! Distances: lower is better; cosine is `1 - cos`, dot is `1 - dot`, L2 is squared
//! Euclidean. Ties are broken by key. See [`Metric`].
//!
//! **mmap contract**: a gallery file must not be modified or truncated while it is open.
//! vecmatch never edits a published file in place.
//!
//! Everything at the crate root is the API, recorded in `tests/public-api.txt`.
//! [`unstable`] holds kernels and backends for benchmarks and per-backend tests; it is not
//! covered by semver.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod collection;
mod error;
#[cfg(feature = "capi")]
pub mod ffi;
mod filter;
mod flat;
mod gallery;
mod hnsw;
mod ingest;
mod metric;
mod pool;
mod search;
mod shards;
mod topk;
mod types;
pub mod unstable;
mod view;

pub use collection::{Collection, CollectionOptions, CollectionStats, CommitReport, Durability};
pub use error::{Error, Result};
pub use gallery::{Gallery, GalleryBuilder, GalleryInfo, OpenOptions, SectionInfo};
pub use hnsw::{GraphReport, HnswAlgorithm, HnswConstruction, HnswParams, Progress};
pub use metric::hardware_acceleration;
pub use pool::thread_limit;
pub use search::{Filter, KeyPredicate};
pub use shards::ShardSet;
pub use types::{DEFAULT_RERANK_FACTOR, ElementType, Hit, KeyFilter, Metric, SearchParams};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
