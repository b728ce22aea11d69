//! `vecmatch bench`: build, save, load, open and search a gallery built from `--base`,
//! and measure QPS and recall@k against `--gt`. Prints a table, or with `--json` the
//! JSON-lines protocol of `../shared/bench/README.md` (meta, build, save, load, view,
//! exact, done).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use vecmatch::{
    ElementType, Gallery, GalleryBuilder, Hit, HnswAlgorithm, HnswConstruction, HnswParams, Metric,
    SearchParams,
};

use crate::input::{Matrix, read_ivecs, read_vectors};
use crate::output::print;
use crate::{
    CliError, parse_construction, parse_element_type, parse_hnsw_algorithm, parse_metric,
    parse_pos, parse_threads, progress,
};

#[derive(clap::Args)]
pub struct Args {
    /// Directory holding base.fvecs, query.fvecs and gt.ivecs (instead of the three flags).
    #[arg(long, conflicts_with_all = ["base", "query", "gt"])]
    data: Option<PathBuf>,
    /// Base vectors (.fvecs or .npy); keys are row numbers.
    #[arg(long, required_unless_present = "data")]
    base: Option<PathBuf>,
    /// Query vectors.
    #[arg(long, required_unless_present = "data")]
    query: Option<PathBuf>,
    /// Ground truth: .ivecs of base row numbers, best first.
    #[arg(long, required_unless_present = "data")]
    gt: Option<PathBuf>,
    /// Hits per query (recall@k).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    k: u64,
    /// Metric: cosine, dot (alias ip) or l2 (default cosine, as `build`).
    #[arg(long, default_value = "cosine", value_parser = parse_metric)]
    metric: Metric,
    /// Thread counts to measure batch search and build with, e.g. 1,2 (each at most 4 ×
    /// the available cores).
    #[arg(long, default_value = "1,2", value_delimiter = ',', value_parser = parse_threads)]
    threads: Vec<usize>,
    /// Repeats of every timed operation (the median is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    repeats: u64,
    /// Where to save the gallery (default: a file in the system temp directory, removed after).
    #[arg(long)]
    index_path: Option<PathBuf>,
    /// Element type of the stored vectors: f32, f16, i8 or i4.
    #[arg(long, default_value = "f32", value_parser = parse_element_type)]
    dtype: ElementType,
    /// With a compact --dtype: keep the f32 rows and re-rank the best k × this many
    /// candidates of an exact scan or of a graph beam's ef rows exactly; 0 = no f32 rows,
    /// compact distances only. Default: 4 for i8 and i4, 0 for f16 (whose recall equals
    /// f32's without re-ranking). Was --rescore.
    #[arg(long, alias = "rescore")]
    rerank_factor: Option<usize>,
    /// HNSW M (neighbours per node on upper layers; layer 0 keeps 2·M).
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW ef_construction.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// HNSW construction algorithm: native (default) or hnsw_rs (was --builder).
    #[arg(long, alias = "builder", default_value = "native", value_parser = parse_hnsw_algorithm)]
    hnsw_algorithm: HnswAlgorithm,
    /// HNSW, native builder: distances while building, on f32 rows or i8 codes of them
    /// (auto: i8 from 64 dims on the avx2+fma, avx512 and avx512+vnni backends, else f32).
    #[arg(long, default_value = "auto", value_parser = parse_construction)]
    construction: HnswConstruction,
    /// HNSW ef values to sweep.
    #[arg(long, default_value = "10,16,32,64,128,256,512", value_delimiter = ',', value_parser = parse_pos)]
    ef_search: Vec<usize>,
    /// Measure exact search only (no HNSW graph).
    #[arg(long)]
    exact_only: bool,
    /// Print JSON lines (the ../shared/bench protocol) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Collects events: JSON lines on stdout, or rows of a human table.
struct Report {
    json: bool,
    table: Vec<String>,
}

impl Report {
    fn emit(&mut self, ev: serde_json::Value, human: Option<String>) -> Result<(), CliError> {
        if self.json {
            print(&format!("{ev}\n"))
        } else {
            if let Some(h) = human {
                self.table.push(h);
            }
            Ok(())
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() { 0.0 } else { s[s.len() / 2] }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A `/proc/self/status` field in bytes (Linux; 0 elsewhere).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The CPU model: the first "model name" of /proc/cpuinfo (Linux), "unknown" where there
/// is none (other systems; Linux on most aarch64 machines).
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim() == "model name")
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// Peak resident set size since the last [`reset_peak_rss`] (Linux; 0 elsewhere).
fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0; a no-op elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Mean recall@k of `results` against ground-truth rows (`gt_k` ids per query).
fn recall(results: &[Vec<Hit>], gt: &[i32], gt_k: usize, k: usize) -> f64 {
    if results.is_empty() {
        return 0.0;
    }
    let mut hit = 0usize;
    for (q, hits) in results.iter().enumerate() {
        let truth = &gt[q * gt_k..q * gt_k + k.min(gt_k)];
        hit += hits
            .iter()
            .take(k)
            .filter(|h| truth.iter().any(|&t| t >= 0 && t as u64 == h.key))
            .count();
    }
    hit as f64 / (results.len() * k.min(gt_k)) as f64
}

/// Writes returned keys as .ivecs (k per row, -1 for none) for the harness to re-score.
fn write_ids(path: &Path, results: &[Vec<Hit>], k: usize) -> Result<(), CliError> {
    let mut buf = Vec::with_capacity(results.len() * (k + 1) * 4);
    for hits in results {
        buf.extend_from_slice(&(k as i32).to_le_bytes());
        for i in 0..k {
            let v = hits.get(i).map_or(-1, |h| h.key as i32);
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, buf)
        .map_err(|e| CliError::runtime(format!("cannot write {}: {e}", path.display())))
}

/// Writes the ids of `results` to `BASE.LABEL.ivecs` when a base path is given; returns the
/// path for the `ids_path` field (JSON null otherwise).
fn ids_file(
    base: Option<&Path>,
    label: &str,
    results: &[Vec<Hit>],
    k: usize,
) -> Result<Option<String>, CliError> {
    let Some(base) = base else { return Ok(None) };
    let path = PathBuf::from(format!("{}.{label}.ivecs", base.display()));
    write_ids(&path, results, k)?;
    Ok(Some(path.display().to_string()))
}

/// Deletes the default temporary gallery when the bench ends.
struct TempFile(Option<PathBuf>);
impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Builds the gallery in memory: validation, normalisation, key index and, unless
/// `hnsw` is `None`, the HNSW graph.
fn build(
    base: &Matrix,
    metric: Metric,
    storage: (ElementType, bool),
    hnsw: Option<HnswParams>,
) -> Result<Gallery, CliError> {
    let mut b = GalleryBuilder::new(base.dims, metric)?;
    b.element_type(storage.0).keep_f32_rows(storage.1);
    let keys: Vec<u64> = (0..base.rows() as u64).collect();
    b.add_batch(&keys, &base.data)?;
    if let Some(p) = hnsw {
        b.hnsw(p).map_err(|e| CliError::usage(e.to_string()))?;
    }
    Ok(b.build_in_memory()?)
}

pub fn run(a: Args) -> Result<(), CliError> {
    let (base_p, query_p, gt_p) = match &a.data {
        Some(d) => (
            d.join("base.fvecs"),
            d.join("query.fvecs"),
            d.join("gt.ivecs"),
        ),
        None => match (&a.base, &a.query, &a.gt) {
            (Some(b), Some(q), Some(g)) => (b.clone(), q.clone(), g.clone()),
            _ => {
                return Err(CliError::usage(
                    "give --data DIR or all of --base, --query, --gt",
                ));
            }
        },
    };
    let base = read_vectors(&base_p, None)?;
    let queries = read_vectors(&query_p, Some(base.dims))?;
    let (gt_k, gt) = read_ivecs(&gt_p)?;
    let k = a.k as usize;
    let nq = queries.rows();
    if gt.len() / gt_k < nq {
        return Err(CliError::runtime(format!(
            "{} has {} rows for {nq} queries",
            gt_p.display(),
            gt.len() / gt_k
        )));
    }
    if gt_k < k {
        return Err(CliError::usage(format!(
            "ground truth has {gt_k} ids per query, fewer than --k {k}"
        )));
    }
    let repeats = a.repeats as usize;
    let (index_path, _cleanup) = match &a.index_path {
        Some(p) => (p.clone(), TempFile(None)),
        None => {
            let p = std::env::temp_dir().join(format!("vecmatch-bench-{}.vmg", std::process::id()));
            (p.clone(), TempFile(Some(p)))
        }
    };
    let hnsw = (!a.exact_only).then_some(HnswParams {
        m: a.m,
        ef_construction: a.ef_construction,
        algorithm: a.hnsw_algorithm,
        construction: a.construction,
        ..HnswParams::default()
    });
    if let Some(p) = &hnsw {
        p.validate().map_err(|e| CliError::usage(e.to_string()))?;
    }
    let rerank_factor = a.rerank_factor.unwrap_or(match a.dtype {
        ElementType::I8 | ElementType::I4 => vecmatch::DEFAULT_RERANK_FACTOR,
        _ => 0,
    });
    let storage = (a.dtype, a.dtype != ElementType::F32 && rerank_factor > 0);
    let mut rep = Report {
        json: a.json,
        table: Vec::new(),
    };
    rep.emit(
        json!({"event": "meta", "library": "vecmatch", "version": env!("CARGO_PKG_VERSION"), "variant": a.dtype.name(), "rerank_factor": rerank_factor, "f32_rows": storage.1,
               "kind": if hnsw.is_some() { "hnsw" } else { "flat" },
               "params": {"M": a.m, "ef_construction": a.ef_construction, "hnsw_algorithm": a.hnsw_algorithm.name(),
                          "construction": if a.hnsw_algorithm == HnswAlgorithm::Native { a.construction.resolve(a.metric, base.dims) } else { HnswConstruction::F32 }.name(),
                          "metric": if a.metric == Metric::Dot { "ip" } else { a.metric.name() }},
               "hardware_acceleration": vecmatch::hardware_acceleration(),
               "backend": vecmatch::hardware_acceleration(), "cpu": cpu_model()}),
        None,
    )?;

    // Build in memory (validation, normalisation, key index, graph), then save.
    let mut built = None;
    let pb = progress::bar((a.threads.len() * repeats) as u64, "building");
    for &t in &a.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| CliError::runtime(format!("cannot start {t} threads: {e}")))?;
        let mut runs = Vec::new();
        let (mut rss, mut peak) = (0, 0);
        for _ in 0..repeats {
            drop(built.take());
            let rss0 = rss_bytes();
            reset_peak_rss();
            let t0 = Instant::now();
            let g = pool.install(|| build(&base, a.metric, storage, hnsw))?;
            runs.push(t0.elapsed().as_secs_f64());
            rss = rss_bytes().saturating_sub(rss0);
            peak = peak_rss_bytes().saturating_sub(rss0);
            built = Some(g);
            pb.inc(1);
        }
        rep.emit(
            json!({"event": "build", "threads": t, "build_s": runs, "rss_delta_bytes": rss,
                   "peak_rss_delta_bytes": peak}),
            Some(format!(
                "build ({t} thr)        {:>10.1} vec/s",
                base.rows() as f64 / median(&runs)
            )),
        )?;
    }
    pb.finish_and_clear();
    let built = match built {
        Some(g) => g,
        None => build(&base, a.metric, storage, hnsw)?,
    };
    let mut runs = Vec::new();
    let mut file_bytes = 0;
    for _ in 0..repeats {
        let t0 = Instant::now();
        file_bytes = built.write_to(&index_path)?;
        runs.push(t0.elapsed().as_secs_f64());
    }
    drop(built);
    rep.emit(
        json!({"event": "save", "save_s": runs, "file_bytes": file_bytes}),
        Some(format!(
            "save                  {:>10.3} ms  ({file_bytes} bytes)",
            median(&runs) * 1e3
        )),
    )?;

    // Load into memory (read + validate) and view (mmap open). RSS deltas across the first
    // open, like the harness records for the peers' load and view.
    let mut runs = Vec::new();
    let mut load_rss = None;
    for _ in 0..repeats {
        let rss0 = rss_bytes();
        let t0 = Instant::now();
        let bytes = std::fs::read(&index_path)
            .map_err(|e| CliError::runtime(format!("{}: {e}", index_path.display())))?;
        let g = Gallery::from_bytes(&bytes)?;
        runs.push(t0.elapsed().as_secs_f64());
        drop(bytes);
        load_rss.get_or_insert(rss_bytes().saturating_sub(rss0));
        drop(g);
    }
    rep.emit(
        json!({"event": "load", "load_s": runs, "cold": false, "rss_delta_bytes": load_rss}),
        Some(format!(
            "load (read to memory) {:>10.3} ms  RSS +{:.1} MiB",
            median(&runs) * 1e3,
            load_rss.unwrap_or(0) as f64 / 1048576.0
        )),
    )?;
    let mut runs = Vec::new();
    let mut gallery = None;
    let mut view_rss = None;
    for _ in 0..repeats {
        drop(gallery.take());
        let rss0 = rss_bytes();
        let t0 = Instant::now();
        let g = Gallery::open(&index_path)?;
        runs.push(t0.elapsed().as_secs_f64());
        view_rss.get_or_insert(rss_bytes().saturating_sub(rss0));
        gallery = Some(g);
    }
    rep.emit(
        json!({"event": "view", "view_s": runs, "cold": false, "rss_delta_bytes": view_rss}),
        Some(format!(
            "open (mmap)           {:>10.1} us  RSS +{:.1} MiB",
            median(&runs) * 1e6,
            view_rss.unwrap_or(0) as f64 / 1048576.0
        )),
    )?;
    let g = match gallery {
        Some(g) => g,
        None => Gallery::open(&index_path)?,
    };

    // Ids files go next to an explicit --index-path (the harness re-scores them); a run on
    // the default temporary path leaves nothing behind.
    let ids_base = a.index_path.as_ref().map(|_| index_path.as_path());
    let run = Run {
        g: &g,
        queries: &queries,
        gt: &gt,
        gt_k,
        k,
        threads: &a.threads,
        repeats,
        ids_base,
        rerank_factor,
    };
    if hnsw.is_some() {
        for &ef in &a.ef_search {
            run.measure(Some(ef), &mut rep)?;
        }
    }
    run.measure(None, &mut rep)?;

    rep.emit(json!({"event": "done"}), None)?;
    if !a.json {
        let mut out = format!(
            "vecmatch {} bench: {} base x {} dims, {nq} queries, k={k}, metric {}, kernels {} ({}){}\n",
            env!("CARGO_PKG_VERSION"),
            base.rows(),
            base.dims,
            a.metric,
            vecmatch::hardware_acceleration(),
            cpu_model(),
            hnsw.map_or(String::new(), |p| format!(
                ", HNSW M={} ef_construction={}",
                p.m, p.ef_construction
            ))
        );
        for line in &rep.table {
            out.push_str(line);
            out.push('\n');
        }
        print(&out)?;
    }
    Ok(())
}

/// What every search measurement needs.
struct Run<'a> {
    g: &'a Gallery,
    queries: &'a Matrix,
    gt: &'a [i32],
    gt_k: usize,
    k: usize,
    threads: &'a [usize],
    repeats: usize,
    ids_base: Option<&'a Path>,
    rerank_factor: usize,
}

impl Run<'_> {
    /// HNSW search at `ef` (or exact search with `None`): single queries on one thread,
    /// then one batch per thread count.
    fn measure(&self, ef: Option<usize>, rep: &mut Report) -> Result<(), CliError> {
        let (g, k) = (self.g, self.k);
        let d = self.queries.dims;
        let nq = self.queries.rows();
        let (event, label, tag) = match ef {
            Some(ef) => ("search", format!("hnsw ef={ef:<4}"), format!("ef{ef}")),
            None => ("exact", "exact       ".to_string(), "exact".to_string()),
        };
        let params = |t: usize| SearchParams {
            k,
            ef: ef.unwrap_or(64),
            exact: ef.is_none(),
            threads: Some(t),
            rerank_factor: self.rerank_factor,
            ..SearchParams::default()
        };
        let single = params(1);
        let mut qps = Vec::new();
        let mut lat = Vec::with_capacity(nq * self.repeats);
        let mut results = Vec::new();
        for _ in 0..self.repeats {
            results.clear();
            let t0 = Instant::now();
            for q in self.queries.data.chunks_exact(d) {
                let t = Instant::now();
                results.push(g.search(q, &single)?);
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            qps.push(nq as f64 / t0.elapsed().as_secs_f64());
        }
        lat.sort_by(f64::total_cmp);
        let r = recall(&results, self.gt, self.gt_k, k);
        let ids = ids_file(self.ids_base, &format!("{tag}-single"), &results, k)?;
        let mut ev = json!({"event": event, "mode": "single", "threads": 1, "qps": qps, "recall": r,
                            "lat_us_p50": percentile(&lat, 0.5), "lat_us_p99": percentile(&lat, 0.99), "ids_path": ids});
        if let Some(ef) = ef {
            ev["ef"] = json!(ef);
        }
        let gbs = if ef.is_none() {
            format!(
                "  {:.2} GB/s scanned",
                median(&qps) * (g.len() * g.element_type().row_bytes(d).unwrap_or(0)) as f64 / 1e9
            )
        } else {
            String::new()
        };
        rep.emit(
            ev,
            Some(format!(
                "{label} single (1 thr) {:>10.1} QPS  recall@{k} {r:.4}  p50 {:.0} us  p99 {:.0} us{gbs}",
                median(&qps),
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            )),
        )?;
        for &t in self.threads {
            let p = params(t);
            let mut qps = Vec::new();
            let mut results = Vec::new();
            for _ in 0..self.repeats {
                let t0 = Instant::now();
                results = g.search_batch(&self.queries.data, &p)?;
                qps.push(nq as f64 / t0.elapsed().as_secs_f64());
            }
            let r = recall(&results, self.gt, self.gt_k, k);
            let ids = ids_file(self.ids_base, &format!("{tag}-batch-{t}"), &results, k)?;
            let mut ev = json!({"event": event, "mode": "batch", "threads": t, "qps": qps, "recall": r, "ids_path": ids});
            if let Some(ef) = ef {
                ev["ef"] = json!(ef);
            }
            rep.emit(
                ev,
                Some(format!(
                    "{label} batch ({t} thr)  {:>10.1} QPS  recall@{k} {r:.4}",
                    median(&qps)
                )),
            )?;
        }
        Ok(())
    }
}
