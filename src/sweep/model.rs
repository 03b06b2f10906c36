//! `SweepReport`: the versioned result of a sweep (or of merged shards). Its JSON
//! schema is committed as `reports/schema/sweep-report.v1.json` and checked by a
//! test ([`super::schema`]). The table and the HTML page are rendered from it.
//! Times are scenario milliseconds; maps are BTreeMaps.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::grid::Axis;

/// Bumped on any incompatible change.
pub const SWEEP_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepReport {
    pub version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The swept keys and their values, in `--set` order; points are numbered
    /// row-major over them (the first key varies slowest).
    pub axes: Vec<Axis>,
    /// Points in the whole grid (the product of the axes' lengths).
    pub grid_points: u64,
    /// Runs per point.
    pub repeat: u32,
    /// The shards (`I/N`, I from 1) whose points this report holds; `["1/1"]` for a whole grid.
    pub shards: Vec<String>,
    /// What a point must meet to be recommended.
    pub criteria: Criteria,
    /// The points run, by number.
    pub points: Vec<PointResult>,
    /// Grid points without a result (shards not merged yet).
    pub missing_points: Vec<u64>,
    /// The fastest passing point; none when no point passed.
    pub recommendation: Option<Recommendation>,
}

/// The rules a point is judged by (details per run in [`RunSummary::failures`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Criteria {
    /// Reconciliation metrics that must be 0, or meet the scenario's threshold on them.
    pub gap_metrics: Vec<String>,
    /// The 429 ratio condition, e.g. `< 5%`.
    pub ratio_429: String,
    /// `scenario` (its `rate_limits.ratio_429` threshold) or `default` (none in the scenario).
    pub ratio_429_source: String,
    /// How points are ranked.
    pub ranking: String,
}

/// One grid point: its settings, its runs and their summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PointResult {
    /// Number in the grid, from 0.
    pub index: u64,
    /// Swept key → value as written.
    pub settings: BTreeMap<String, String>,
    pub runs: Vec<RunSummary>,
    /// Median over the runs; none if any run never became consistent or failed to run.
    pub time_to_consistency_ms: Option<f64>,
    /// Medians over the runs that completed.
    pub throttled_429: f64,
    pub ratio_429: f64,
    pub server_errors_5xx: f64,
    pub oversell_events: f64,
    pub stock_sync_p95_ms: f64,
    /// Every run met the criteria.
    pub passed: bool,
    /// Why not, each reason with the runs it applies to.
    pub failures: Vec<String>,
}

/// One run of a point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunSummary {
    /// 1..=repeat.
    pub repeat: u32,
    /// The run's `RunReport` JSON, relative to the sweep directory.
    pub report: Option<String>,
    /// Set when the run could not be done.
    pub error: Option<String>,
    pub time_to_consistency_ms: Option<f64>,
    pub throttled_429: u64,
    pub ratio_429: f64,
    /// The 429 condition this run was judged by, and `scenario` or `default`.
    pub ratio_429_limit: Option<String>,
    pub ratio_429_source: Option<String>,
    pub server_errors_5xx: u64,
    pub oversell_events: u64,
    pub stock_sync_p95_ms: f64,
    pub wall_seconds: f64,
    /// The run's harness warnings (e.g. the speed too high for its latencies to be trusted).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The scenario's thresholds this run failed (`metric condition: actual`), for information.
    pub thresholds_failed: Vec<String>,
    /// Why the run does not meet the criteria (empty: it does).
    pub failures: Vec<String>,
}

/// The recommended point and how it compares with its neighbours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    pub index: u64,
    pub settings: BTreeMap<String, String>,
    pub time_to_consistency_ms: f64,
    /// Other passing points with the same time to consistency (ranked lower by the tie-break).
    pub tied_with: Vec<u64>,
    /// Points one step away on one axis.
    pub neighbours: Vec<Neighbour>,
    /// One paragraph for people.
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Neighbour {
    pub index: u64,
    /// The axis on which it differs, and its value there.
    pub key: String,
    pub value: String,
    pub time_to_consistency_ms: Option<f64>,
    /// Its time to consistency minus the recommendation's (positive: slower); none if it has none.
    pub margin_ms: Option<f64>,
    pub passed: bool,
    pub failures: Vec<String>,
}
