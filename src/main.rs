//! The `clan-migrate` command line: parses arguments, runs the library,
//! draws on the terminal. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
