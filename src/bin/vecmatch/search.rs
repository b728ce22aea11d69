//! `vecmatch search`.

use std::io::Write;
use std::path::PathBuf;

use vecmatch::{Filter, Gallery, SearchParams};

use crate::CliError;
use crate::input::read_vectors;
use crate::output::{Format, io_err, write_results};
use crate::same_file::refuse_output_over_inputs;

#[derive(clap::Args)]
pub struct Args {
    /// Gallery file.
    gallery: PathBuf,
    /// Query vectors: .fvecs, .npy (float32, 2-D) or raw float32 (dims taken from the gallery).
    #[arg(long)]
    query: PathBuf,
    /// Hits per query (at most the gallery's size: `--format ivecs` writes that many
    /// columns).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    k: u64,
    /// HNSW beam width (galleries with a graph; default 64): larger is slower and more
    /// accurate. On a gallery without a graph the search is exact, and a warning says so.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    ef: Option<u64>,
    /// Force exact (brute-force) search.
    #[arg(long)]
    exact: bool,
    /// Only return hits with distance <= D (range search; up to k hits).
    #[arg(long)]
    max_distance: Option<f32>,
    /// Worker threads (default: all cores; at most 4 × the available cores).
    #[arg(long, value_parser = crate::parse_threads)]
    threads: Option<usize>,
    /// Galleries with f32 rows beside f16/i8 ones: re-rank the best k × this many rows of
    /// an exact scan or of a graph beam's ef rows exactly; 0 = compact distances only
    /// (was --rescore).
    #[arg(long, alias = "rescore", default_value_t = vecmatch::DEFAULT_RERANK_FACTOR as u64)]
    rerank_factor: u64,
    /// Only rows carrying every one of these labels (comma- or space-separated u32).
    #[arg(long, value_parser = crate::labels::parse_arg)]
    all_labels: Option<crate::labels::LabelList>,
    /// Only rows carrying at least one of these labels.
    #[arg(long, value_parser = crate::labels::parse_arg)]
    any_labels: Option<crate::labels::LabelList>,
    /// Only rows carrying none of these labels.
    #[arg(long, value_parser = crate::labels::parse_arg)]
    no_labels: Option<crate::labels::LabelList>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write results to this file instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<(), CliError> {
    if let Some(out) = &a.output {
        refuse_output_over_inputs(out, &[("the gallery", &a.gallery), ("--query", &a.query)])?;
    }
    let g = Gallery::open(&a.gallery)?;
    let q = read_vectors(&a.query, Some(g.dims()))?;
    if let Some(d) = a.max_distance
        && d.is_nan()
    {
        return Err(CliError::usage("--max-distance is NaN"));
    }
    if a.ef.is_some() && !a.exact && !g.has_graph() {
        eprintln!(
            "warning: {} has no HNSW graph, so --ef is ignored and the search is exact \
             (`vecmatch build --hnsw` adds a graph)",
            a.gallery.display()
        );
    }
    let params = SearchParams {
        // No query has more hits than the gallery has rows.
        k: usize::try_from(a.k)
            .unwrap_or(usize::MAX)
            .min(g.len().max(1)),
        max_distance: a.max_distance,
        exact: a.exact,
        ef: a.ef.map_or(SearchParams::default().ef, |e| e as usize),
        threads: a.threads,
        rerank_factor: a.rerank_factor as usize,
        ..SearchParams::default()
    };
    let (all, any, none) = (
        a.all_labels.unwrap_or_default().0,
        a.any_labels.unwrap_or_default().0,
        a.no_labels.unwrap_or_default().0,
    );
    let filter = Filter::new()
        .all_labels(&all)
        .any_labels(&any)
        .no_labels(&none);
    let results = if filter.is_empty() {
        g.search_batch(&q.data, &params)?
    } else {
        g.search_batch_filtered(&q.data, &[filter], &params)?
    };
    let written = match &a.output {
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| CliError::runtime(format!("cannot create {}: {e}", p.display())))?;
            let mut w = std::io::BufWriter::new(f);
            write_results(&mut w, a.format, &results, params.k)
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write_results(&mut w, a.format, &results, params.k)
                .and_then(|()| w.flush().map_err(io_err))
        }
    };
    match written {
        // `vecmatch search ... | head` closes the pipe early: that is not a failure.
        Err(e) if e.is_broken_pipe() => Ok(()),
        other => other,
    }
}
