//! The `synctwin` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a replay allocates and frees millions
/// of small JSON values across threads (see BENCHMARKS.md, peak-day replay).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = synctwin::cli::Cli::parse();
    match synctwin::cli::run(cli) {
        Ok(code) => code,
        // Output piped into `head` and closed early: not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(2)
        }
    }
}
