//! The `synctwin` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc instead of the system's malloc. A replay allocates and frees
/// millions of small JSON values across threads among records it keeps for
/// the whole run. A peak day's peak RSS at 300x was 485 MiB with mimalloc
/// and 365 MiB with jemalloc, at the same CPU time (BENCHMARKS.md); glibc's
/// malloc kept as much as mimalloc. jemalloc's slabs are a few 4 KiB pages
/// where mimalloc's are 64 KiB, so a kept record likely pins less memory.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's run-time options (read at its start; `_RJEM_MALLOC_CONF` in the
/// environment still overrides them): free pages go back to the system after
/// a second, not ten.
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: &[u8; 20] = b"dirty_decay_ms:1000\0";

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
