//! `vecmatch build`.

use std::path::PathBuf;

use vecmatch::{
    ElementType, GalleryBuilder, HnswAlgorithm, HnswConstruction, HnswParams, Metric, Progress,
};

use crate::input::{read_unique_keys, read_vectors};
use crate::same_file::refuse_output_over_inputs;
use crate::{
    CliError, parse_construction, parse_element_type, parse_hnsw_algorithm, parse_metric, progress,
};

#[derive(clap::Args)]
pub struct Args {
    /// Vectors: .fvecs, .npy (float32, 2-D) or raw little-endian float32 (with --dims).
    #[arg(long)]
    input: PathBuf,
    /// Gallery file to write (replaced atomically if it exists).
    #[arg(long)]
    output: PathBuf,
    /// Distance metric: cosine, dot (alias ip) or l2.
    #[arg(long, default_value = "cosine", value_parser = parse_metric)]
    metric: Metric,
    /// Keys: .npy of uint64, or text with one integer per line. Default: row numbers 0..N-1.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Labels: text with one line per input row, u32 labels separated by spaces or
    /// commas (an empty line: none). Searches select rows by label with --all-labels,
    /// --any-labels and --no-labels.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Dimensions (required for raw float32 input; checked against other formats).
    #[arg(long)]
    dims: Option<usize>,
    /// Worker threads (default: all cores; at most 4 × the available cores).
    #[arg(long, value_parser = crate::parse_threads)]
    threads: Option<usize>,
    /// Free-form text stored in the gallery's META section.
    #[arg(long)]
    note: Option<String>,
    /// Element type of the stored vectors: f32, f16 (half the bytes), i8 (a quarter, with
    /// one scale per row) or i4 (an eighth; use with --keep-f32-rows).
    #[arg(long, default_value = "f32", value_parser = parse_element_type)]
    dtype: ElementType,
    /// With --dtype f16, i8 or i4: also keep the f32 rows, so searches re-rank their best
    /// candidates exactly (was --rescore).
    #[arg(long, alias = "rescore")]
    keep_f32_rows: bool,
    /// Also build an HNSW graph for fast approximate search.
    #[arg(long)]
    hnsw: bool,
    /// HNSW: neighbours per node on upper layers (layer 0 keeps 2·M).
    #[arg(long, default_value_t = 16, requires = "hnsw")]
    m: usize,
    /// HNSW: beam width while building.
    #[arg(long, default_value_t = 200, requires = "hnsw")]
    ef_construction: usize,
    /// HNSW: construction algorithm, native (default; deterministic with --threads 1) or
    /// hnsw_rs (was --builder).
    #[arg(long, alias = "builder", default_value = "native", value_parser = parse_hnsw_algorithm, requires = "hnsw")]
    hnsw_algorithm: HnswAlgorithm,
    /// HNSW, native builder: distances while building, on f32 rows or i8 codes of them
    /// (auto: i8 from 64 dims on the avx2+fma, avx512 and avx512+vnni backends, else f32).
    #[arg(long, default_value = "auto", value_parser = parse_construction, requires = "hnsw")]
    construction: HnswConstruction,
    /// HNSW: seed of the level draws.
    #[arg(long, default_value_t = HnswParams::default().seed, requires = "hnsw")]
    seed: u64,
}

pub fn run(a: Args) -> Result<(), CliError> {
    if let Some(t) = a.threads {
        // Only the global pool is used by the builder; size it once.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global();
    }
    let mut inputs = vec![("--input", a.input.as_path())];
    if let Some(k) = &a.keys {
        inputs.push(("--keys", k.as_path()));
    }
    refuse_output_over_inputs(&a.output, &inputs)?;
    let m = read_vectors(&a.input, a.dims)?;
    let n = m.rows();
    let keys: Vec<u64> = match &a.keys {
        Some(p) => {
            let k = read_unique_keys(p)?;
            if k.len() != n {
                return Err(CliError::runtime(format!(
                    "{} holds {} keys but {} holds {n} vectors",
                    p.display(),
                    k.len(),
                    a.input.display()
                )));
            }
            k
        }
        None => (0..n as u64).collect(),
    };
    let labels = match &a.labels {
        Some(p) => {
            let l = crate::labels::read_labels(p)?;
            if l.len() != n {
                return Err(CliError::runtime(format!(
                    "{} has {} lines but {} holds {n} vectors",
                    p.display(),
                    l.len(),
                    a.input.display()
                )));
            }
            Some(l)
        }
        None => None,
    };
    if a.keep_f32_rows && a.dtype == ElementType::F32 {
        return Err(CliError::usage(
            "--keep-f32-rows keeps f32 rows beside compact ones: use it with --dtype f16, i8 or i4",
        ));
    }
    let mut b = GalleryBuilder::new(m.dims, a.metric)?;
    b.reserve(n);
    b.element_type(a.dtype).keep_f32_rows(a.keep_f32_rows);
    if let Some(note) = &a.note {
        b.user_meta(note.clone());
    }
    let pb = progress::bar(n as u64, "adding");
    const CHUNK: usize = 4096;
    for (i, (ks, vs)) in keys
        .chunks(CHUNK)
        .zip(m.data.chunks(CHUNK * m.dims))
        .enumerate()
    {
        let added = match &labels {
            Some(l) => b.add_batch_labeled(ks, vs, &l[i * CHUNK..i * CHUNK + ks.len()]),
            None => b.add_batch(ks, vs),
        };
        added.map_err(|e| {
            CliError::runtime(format!(
                "{} (rows from {}): {e}",
                a.input.display(),
                i * CHUNK
            ))
        })?;
        pb.inc(ks.len() as u64);
    }
    pb.finish_and_clear();
    if a.hnsw {
        b.hnsw(HnswParams {
            m: a.m,
            ef_construction: a.ef_construction,
            seed: a.seed,
            algorithm: a.hnsw_algorithm,
            construction: a.construction,
        })
        .map_err(|e| CliError::usage(e.to_string()))?;
        let pb = progress::bar(n as u64, "graph");
        let tick = pb.clone();
        b.progress(Progress::new(move |done, _| tick.set_position(done as u64)));
        let bytes = b.write(&a.output)?;
        pb.finish_and_clear();
        eprintln!(
            "wrote {}: {n} vectors, {} dims, {}, {}{}, HNSW ({}) M={} ef_construction={}, {bytes} bytes",
            a.output.display(),
            m.dims,
            a.metric,
            a.dtype,
            if a.keep_f32_rows { " + f32 rows" } else { "" },
            a.hnsw_algorithm.name(),
            a.m,
            a.ef_construction
        );
        return Ok(());
    }
    let bytes = b.write(&a.output)?;
    eprintln!(
        "wrote {}: {n} vectors, {} dims, {}, {}{}, {bytes} bytes",
        a.output.display(),
        m.dims,
        a.metric,
        a.dtype,
        if a.keep_f32_rows { " + f32 rows" } else { "" },
    );
    Ok(())
}
