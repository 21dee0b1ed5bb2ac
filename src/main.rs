#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use shopbip::cli::{self, Cli};

// glibc's malloc spent ~17 % of ingestion CPU in a profile (BENCHMARKS.md); mimalloc is the
// usual cure for many small short-lived allocations across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
