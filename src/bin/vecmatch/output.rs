//! Result writers for `vecmatch search`: text, JSON lines, ivecs.

use std::io::Write;

use vecmatch::Hit;

use crate::CliError;

/// Output formats of `vecmatch search`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// One line per hit: `query<TAB>rank<TAB>key<TAB>distance`.
    Text,
    /// One JSON object per query: `{"query": i, "hits": [{"key": .., "distance": ..}]}`.
    Json,
    /// TEXMEX .ivecs: one row of k keys per query as int32, -1 for missing hits.
    Ivecs,
}

/// Maps a write error to a CLI error; a closed pipe (`| head`) is not an error.
pub fn io_err(e: std::io::Error) -> CliError {
    CliError::runtime(format!("cannot write results: {e}"))
}

/// Writes all results in `format` to `out`.
pub fn write_results(
    out: &mut dyn Write,
    format: Format,
    results: &[Vec<Hit>],
    k: usize,
) -> Result<(), CliError> {
    match format {
        Format::Text => {
            for (q, hits) in results.iter().enumerate() {
                for (r, h) in hits.iter().enumerate() {
                    writeln!(out, "{q}\t{r}\t{}\t{}", h.key, h.distance).map_err(io_err)?;
                }
            }
        }
        Format::Json => {
            for (q, hits) in results.iter().enumerate() {
                // JSON has no infinity (serde_json would print `null`). Valid galleries and
                // queries never give one (values are bounded at ingest); a damaged file may.
                if let Some(h) = hits.iter().find(|h| !h.distance.is_finite()) {
                    return Err(CliError::runtime(format!(
                        "query {q}: the distance to key {} is {}, which JSON cannot hold; the \
                         gallery holds values out of range (run `vecmatch verify`)",
                        h.key, h.distance
                    )));
                }
                let hits: Vec<_> = hits
                    .iter()
                    .map(|h| serde_json::json!({"key": h.key, "distance": h.distance}))
                    .collect();
                writeln!(out, "{}", serde_json::json!({"query": q, "hits": hits}))
                    .map_err(io_err)?;
            }
        }
        Format::Ivecs => {
            let width = k.min(1 << 20); // the caller bounds k by the gallery size
            let dim =
                i32::try_from(width).map_err(|_| CliError::usage("--k too large for ivecs"))?;
            for hits in results {
                let mut row = Vec::with_capacity(4 * (width + 1));
                row.extend_from_slice(&dim.to_le_bytes());
                for i in 0..width {
                    let v = match hits.get(i) {
                        Some(h) => i32::try_from(h.key).map_err(|_| {
                            CliError::runtime(format!(
                                "key {} does not fit in ivecs (int32); use --format text or json",
                                h.key
                            ))
                        })?,
                        None => -1,
                    };
                    row.extend_from_slice(&v.to_le_bytes());
                }
                out.write_all(&row).map_err(io_err)?;
            }
        }
    }
    out.flush().map_err(io_err)
}

/// Writes `text` to stdout; a closed pipe is silently accepted.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(io_err),
    }
}
