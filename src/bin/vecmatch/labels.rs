//! Label input: `--labels FILE` (one line per input row) and label lists on the command
//! line (`--all-labels 3,7`).

use std::path::Path;

use crate::CliError;

/// Parses one line or argument: `u32` labels separated by spaces, tabs or commas (empty:
/// none). `Err` names the bad item.
pub fn parse_list(text: &str) -> Result<Vec<u32>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("{s:?} is not a label (an integer in 0..=4294967295)"))
        })
        .collect()
}

/// A label list given on the command line.
#[derive(Clone, Debug, Default)]
pub struct LabelList(pub Vec<u32>);

/// clap value parser of a label list.
pub fn parse_arg(text: &str) -> Result<LabelList, String> {
    parse_list(text).map(LabelList)
}

/// Reads a labels file: line `i` holds the labels of input row `i` (an empty line: none),
/// separated by spaces or commas. Errors name the file and the line.
pub fn read_labels(path: &Path) -> Result<Vec<Vec<u32>>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            parse_list(line)
                .map_err(|e| CliError::runtime(format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(parse_list("3, 7 9,,1").unwrap(), vec![3, 7, 9, 1]);
        assert_eq!(parse_list("").unwrap(), Vec::<u32>::new());
        assert!(parse_list("3,x").unwrap_err().contains("\"x\""));
        assert!(parse_list("-1").is_err());
        assert!(parse_list("4294967296").is_err());
    }
}
