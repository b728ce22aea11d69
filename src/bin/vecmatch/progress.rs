//! Progress bars on stderr, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{HumanCount, ProgressBar, ProgressState, ProgressStyle};

/// A bar of `len` steps labelled `msg`; hidden when stderr is not a terminal.
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    // `{rate}`, not indicatif's `{per_sec}` (which prints four decimals: 661,503.1354/s).
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {rate} eta {eta}")
    {
        let rate = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", HumanCount(state.per_sec().max(0.0) as u64));
        };
        pb.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}
