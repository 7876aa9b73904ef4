//! The `clan-migrate` command line: parses arguments, runs the library,
//! draws on the terminal. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

/// The scan parses thousands of small trees; mimalloc makes their many
/// short-lived allocations markedly cheaper than the system allocator.
/// It also serves libgit2's `malloc` (the `override` feature), so that
/// the memory the plan frees is there for the commits' objects.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
