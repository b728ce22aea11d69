//! `vecmatch info` and `vecmatch verify`.

use std::path::PathBuf;

use vecmatch::Gallery;

use std::fmt::Write as _;

use crate::CliError;
use crate::output::print;

#[derive(clap::Args)]
pub struct InfoArgs {
    /// Gallery file.
    gallery: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Gallery file.
    gallery: PathBuf,
}

pub fn run_info(a: InfoArgs) -> Result<(), CliError> {
    let g = Gallery::open(&a.gallery)?;
    let i = g.info();
    if a.json {
        let sections: Vec<_> = i
            .sections
            .iter()
            .map(|s| serde_json::json!({"kind": s.name, "code": s.kind_code, "offset": s.offset, "bytes": s.length, "crc32c": format!("{:08x}", s.crc32c)}))
            .collect();
        let v = serde_json::json!({
            "path": a.gallery.display().to_string(),
            "format_version": format!("{}.{}", i.version.0, i.version.1),
            "count": i.count, "dims": i.dims, "metric": i.metric.name(),
            "element_type": i.element_type.name(), "file_bytes": i.file_bytes,
            "created_unix_s": i.created_unix_s, "sections": sections,
            "meta": i.meta.as_deref().and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()),
        });
        return print(&format!("{v}\n"));
    }
    let mut t = String::new();
    let _ = writeln!(t, "file:           {}", a.gallery.display());
    let _ = writeln!(t, "format version: {}.{}", i.version.0, i.version.1);
    let _ = writeln!(t, "count:          {}", i.count);
    let _ = writeln!(t, "dims:           {}", i.dims);
    let _ = writeln!(t, "metric:         {}", i.metric);
    let _ = writeln!(t, "element type:   {}", i.element_type);
    let _ = writeln!(t, "file size:      {} bytes", i.file_bytes);
    let _ = writeln!(
        t,
        "created:        {} (unix {})",
        crate::utc::format(i.created_unix_s),
        i.created_unix_s
    );
    if let Some(m) = &i.meta {
        let _ = writeln!(t, "meta:           {m}");
    }
    let _ = writeln!(t, "sections:");
    let _ = writeln!(
        t,
        "  {:<12} {:>12} {:>14}  crc32c",
        "kind", "offset", "bytes"
    );
    for s in &i.sections {
        let _ = writeln!(
            t,
            "  {:<12} {:>12} {:>14}  {:08x}",
            s.name, s.offset, s.length, s.crc32c
        );
    }
    print(&t)
}

pub fn run_verify(a: VerifyArgs) -> Result<(), CliError> {
    let g = Gallery::open(&a.gallery)
        .map_err(|e| CliError::runtime(format!("{}: FAILED: {e}", a.gallery.display())))?;
    g.verify()
        .map_err(|e| CliError::runtime(format!("{}: FAILED: {e}", a.gallery.display())))?;
    print(&format!(
        "{}: OK ({} vectors, {} sections verified)\n",
        a.gallery.display(),
        g.len(),
        g.info().sections.len()
    ))
}
