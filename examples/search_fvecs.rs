//! Build a gallery from an `.fvecs` file, open it by mmap and search it.
//!
//! ```sh
//! cargo run --release --example search_fvecs -- data/minilm-5k/base.fvecs data/minilm-5k/query.fvecs
//! ```

// The TEXMEX `.fvecs` reader (dims, row-major values) that tests, benches and examples share.
#[path = "../tests/support/mod.rs"]
mod support;

use std::error::Error;

use support::read_fvecs;
use vecmatch::{Gallery, GalleryBuilder, Metric, SearchParams};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (base, queries) = match args.as_slice() {
        [_, b, q] => (b.as_str(), q.as_str()),
        _ => ("data/minilm-5k/base.fvecs", "data/minilm-5k/query.fvecs"),
    };
    let (d, vectors) = read_fvecs(base)?;
    let (qd, queries) = read_fvecs(queries)?;
    if qd != d {
        return Err(format!("queries have {qd} dims, base has {d}").into());
    }

    let mut builder = GalleryBuilder::new(d, Metric::Cosine)?;
    let keys: Vec<u64> = (0..(vectors.len() / d) as u64).collect();
    builder.add_batch(&keys, &vectors)?;
    let path = std::env::temp_dir().join(format!("example-{}.vmg", std::process::id()));
    builder.write(&path)?;

    let gallery = Gallery::open(&path)?;
    println!(
        "{} vectors of {} dims, kernels: {}",
        gallery.len(),
        gallery.dims(),
        vecmatch::hardware_acceleration()
    );
    for (i, q) in queries.chunks_exact(d).take(3).enumerate() {
        let hits = gallery.search(q, &SearchParams::k(5))?;
        let shown: Vec<String> = hits
            .iter()
            .map(|h| format!("{}:{:.4}", h.key, h.distance))
            .collect();
        println!("query {i}: {}", shown.join("  "));
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
