//! `synctwin report merge REPORT.json... -o DIR`: sweep point reports (`run.json`)
//! and shard sweep reports (`sweep.json`) combined into one sweep report, with
//! the same table, HTML page and recommendation as a sweep run in one go.
//! Exit code: 0 a point is recommended, 1 no point passed, 2 the reports could
//! not be merged.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::sweep::merge::{load, merge};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine sweep point reports (run.json) or shard sweep reports (sweep.json) into one sweep report.
    Merge(MergeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Reports to merge: sweep.json of `synctwin sweep --shard I/N`, or run.json of sweep points.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Directory for the merged sweep.json, sweep.txt and sweep.html.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(c: ReportCommand) -> anyhow::Result<ExitCode> {
    match c {
        ReportCommand::Merge(a) => {
            let inputs = a.reports.iter().map(|p| load(p)).collect::<anyhow::Result<Vec<_>>>()?;
            let report = merge(&inputs)?;
            super::sweep::finish(&report, &a.out)
        }
    }
}
