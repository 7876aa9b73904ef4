//! A progress bar over files parsed, drawn only on a terminal.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} parsing {pos}/{len} files {wide_bar}")
            {
                b.set_style(style);
            }
            b
        };
        Bar(bar)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl clan_migrate::Progress for Bar {
    fn files_found(&self, total: usize) {
        self.0.set_length(total as u64);
    }

    fn file_done(&self, _path: &Path) {
        self.0.inc(1);
    }
}
