//! The C ABI (feature `capi`): `extern "C"` functions over [`crate::Gallery`],
//! [`crate::GalleryBuilder`], [`crate::Collection`] and [`crate::ShardSet`], declared for C in the committed,
//! generated `include/vecmatch.h`.
//!
//! Conventions, the same for every function:
//! - every function is `unsafe extern "C"`, documents its contract (pointer validity,
//!   lengths, lifetimes, thread safety) and runs inside one panic boundary: a panic becomes
//!   [`vecmatch_status::VECMATCH_ERR_PANIC`], never an unwind into C or an abort;
//! - fallible functions return a [`vecmatch_status`]; the text of the last failure on the
//!   calling thread is [`vecmatch_last_error_message`];
//! - handles are opaque (`vecmatch_gallery *`, `vecmatch_builder *`,
//!   `vecmatch_collection *`, `vecmatch_shards *`, `vecmatch_filter *`), made by `_open` /
//!   `_new` and released by `_free` (`_free(NULL)` is a no-op);
//! - out-parameters and caller-allocated result buffers are written only on success;
//! - every buffer comes with its length; a NULL pointer where one is required is
//!   [`vecmatch_status::VECMATCH_ERR_NULL_POINTER`], a misaligned one
//!   [`vecmatch_status::VECMATCH_ERR_MISALIGNED_POINTER`].
//!
//! The Rust library itself knows nothing of this module.

#![allow(non_camel_case_types)]

mod args;
mod boundary;
mod builder;
mod collection;
mod durability;
mod filter;
mod gallery;
mod library;
mod params;
mod search;
mod shards;
mod status;

pub use builder::*;
pub use collection::*;
pub use durability::*;
pub use filter::*;
pub use gallery::*;
pub use library::*;
pub use params::*;
pub use search::VECMATCH_NO_KEY;
pub use shards::*;
pub use status::{vecmatch_status, vecmatch_status_str};
