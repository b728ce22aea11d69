//! # vecmatch
//!
//! High-throughput vector matching: exact SIMD search (and, later, an HNSW index) over a
//! gallery of embeddings that lives in one memory-mapped file.
//!
//! ```
//! use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("demo.vmg");
//! let mut builder = GalleryBuilder::new(4, Metric::Cosine)?;
//! builder.add(100, &[1.0, 0.0, 0.0, 0.0])?;
//! builder.add(200, &[0.0, 1.0, 0.0, 0.0])?;
//! builder.add(300, &[0.7, 0.7, 0.0, 0.0])?;
//! builder.write(&path)?; // atomic: temp file + fsync + rename
//!
//! let gallery = Gallery::open(&path)?; // mmap, O(1)
//! let hits = gallery.search(&[1.0, 0.1, 0.0, 0.0], &SearchParams::k(2))?;
//! assert_eq!(hits[0].key, 100);
//! assert_eq!(hits[1].key, 300);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Distances: lower is better; cosine is `1 - cos`, dot is `1 - dot`, L2 is squared
//! Euclidean. Ties are broken by key. See [`Metric`].
//!
//! **mmap contract**: a gallery file must not be modified or truncated while it is open.
//! vecmatch never edits a published file in place.

mod collection;
mod error;
#[cfg(feature = "capi")]
pub mod ffi;
mod filter;
mod flat;
pub mod gallery;
pub mod hnsw;
pub mod metric;
mod pool;
mod rescore;
mod search;
mod topk;
mod types;

pub use collection::{Collection, CollectionOptions, CollectionStats, CommitReport};
pub use error::{Error, Result};
pub use gallery::{Gallery, GalleryBuilder, GalleryInfo, OpenOptions, SectionInfo};
pub use hnsw::{Builder, GraphReport, HnswParams, Progress};
pub use metric::hardware_acceleration;
pub use search::{Filter, KeyPredicate};
pub use topk::TopK;
pub use types::{DEFAULT_RESCORE, ElementType, Hit, KeyFilter, Metric, SearchParams};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
