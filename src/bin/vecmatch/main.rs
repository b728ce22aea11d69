//! `vecmatch`: build, inspect, verify, search, benchmark and change gallery files.
//!
//! Errors are one line on stderr with exit code 1 (bad input, failed verification) or 2
//! (bad command line); never a panic trace.

mod bench;
mod build;
mod info;
mod input;
mod labels;
mod mutate;
mod output;
mod progress;
mod same_file;
mod search;
mod utc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vecmatch::Metric;

/// An error the CLI reports as one line.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// A failure of the work itself (exit code 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// A bad combination of arguments (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }
}

impl CliError {
    /// Whether this error is a closed output pipe.
    pub fn is_broken_pipe(&self) -> bool {
        self.message.contains("Broken pipe")
    }
}

impl From<vecmatch::Error> for CliError {
    fn from(e: vecmatch::Error) -> Self {
        CliError::runtime(e.to_string())
    }
}

/// Parses `cosine`, `dot` / `ip`, `l2`.
fn parse_metric(s: &str) -> Result<Metric, String> {
    s.parse::<Metric>().map_err(|e| e.to_string())
}

/// Parses an HNSW builder name (`native` or `hnsw_rs`).
fn parse_hnsw_algorithm(s: &str) -> Result<vecmatch::HnswAlgorithm, String> {
    vecmatch::HnswAlgorithm::from_name(s).map_err(|e| e.to_string())
}

/// Parses an HNSW construction name (`auto`, `f32` or `i8`).
fn parse_construction(s: &str) -> Result<vecmatch::HnswConstruction, String> {
    vecmatch::HnswConstruction::from_name(s).map_err(|e| e.to_string())
}

fn parse_element_type(s: &str) -> Result<vecmatch::ElementType, String> {
    s.parse().map_err(|e: vecmatch::Error| e.to_string())
}

/// Parses one positive integer (items of comma-separated lists such as `--threads 1,2`).
fn parse_pos(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("{s:?} is not a positive integer")),
        Ok(v) => Ok(v),
    }
}

/// Parses a thread count: a positive integer, clamped to [`vecmatch::thread_limit`]
/// (4 × the available parallelism) like every thread count of the library.
fn parse_threads(s: &str) -> Result<usize, String> {
    parse_pos(s).map(|n| n.min(vecmatch::thread_limit()))
}

#[derive(Parser)]
#[command(
    name = "vecmatch",
    version,
    about = "Build, inspect, verify, search, benchmark and change vecmatch gallery files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a gallery file from vectors (.fvecs, .npy float32 2-D, or raw float32 with --dims).
    Build(build::Args),
    /// Search a gallery with query vectors.
    Search(search::Args),
    /// Print what a gallery holds: count, dims, metric, element type, sections, version.
    Info(info::InfoArgs),
    /// Check every checksum and structure of a gallery (exit 0 if all pass, 1 otherwise).
    Verify(info::VerifyArgs),
    /// Measure build, open and search speed and recall against ground truth.
    Bench(bench::Args),
    /// Add vectors to a gallery (an existing key has its vector replaced); commits atomically.
    Add(mutate::AddArgs),
    /// Delete vectors by key from a gallery; commits atomically (the vectors are gone from the file).
    Delete(mutate::DeleteArgs),
    /// Rewrite a gallery (rebuilding its HNSW graph, if any) atomically.
    Compact(mutate::CompactArgs),
}

fn main() -> ExitCode {
    // Last line of defence: a bug must still give one line, not a trace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("vecmatch: internal error (please report): {info}");
    }));
    let cli = Cli::parse();
    // A bad VECMATCH_BACKEND fails every command up front, before any output.
    if let Err(e) = vecmatch::unstable::check_backend() {
        eprintln!("vecmatch: {e}");
        return ExitCode::from(1);
    }
    let result = match cli.command {
        Command::Build(a) => build::run(a),
        Command::Search(a) => search::run(a),
        Command::Info(a) => info::run_info(a),
        Command::Verify(a) => info::run_verify(a),
        Command::Bench(a) => bench::run(a),
        Command::Add(a) => mutate::run_add(a),
        Command::Delete(a) => mutate::run_delete(a),
        Command::Compact(a) => mutate::run_compact(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vecmatch: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
