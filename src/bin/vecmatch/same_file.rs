//! Refusing an output that is one of the command's inputs: writing it would destroy what
//! is being read (`search g.vmg --output g.vmg`, `build --input b.fvecs --output b.fvecs`).

use std::path::Path;

use crate::CliError;

/// Fails (usage error, exit 2) if `output` names the same file as one of `inputs`
/// (`(what, path)` pairs, e.g. `("--query", q)`): same device and inode where the
/// platform has them, so any spelling (relative, `..`, a symbolic or hard link) is
/// caught. An output that does not exist yet cannot be an input.
pub fn refuse_output_over_inputs(output: &Path, inputs: &[(&str, &Path)]) -> Result<(), CliError> {
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    for (what, input) in inputs {
        let Ok(inp) = std::fs::metadata(input) else {
            continue;
        };
        if same_file(&out, &inp, output, input) {
            return Err(CliError::usage(format!(
                "--output {} is the same file as {what} {}: refusing to overwrite an input",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata, _: &Path, _: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata, a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}
