//! One run judged for a recommendation: a [`RunReport`] becomes a [`RunSummary`]
//! with the figures the sweep compares and the reasons it fails, if any.
//!
//! A run passes when
//! - it has **no reconciliation gap**: each of [`GAP_METRICS`] meets the scenario's
//!   threshold on it, or is 0 when the scenario sets none (a scenario that expects
//!   gaps, such as orders with SKUs the ERP lacks, says so in a threshold);
//! - its **429 ratio** meets the scenario's `rate_limits.ratio_429` threshold, or
//!   [`DEFAULT_RATIO_429`] when the scenario has none (the output says which);
//! - its stock **became consistent** (it has a time to consistency).
//!
//! Everything is read from the report itself (its verdict carries the scenario's
//! thresholds), so point reports merged on another machine are judged the same.

use crate::report::model::RunReport;
use crate::report::table::actual_text;
use crate::report::threshold::{metric_value, Condition};
use crate::report::units;

use super::model::RunSummary;

/// Reconciliation metrics that count as a gap.
pub const GAP_METRICS: [&str; 8] = [
    "reconciliation.missing_orders",
    "reconciliation.duplicated_orders",
    "reconciliation.orphaned_orders",
    "reconciliation.orders_outside_tolerance",
    "reconciliation.stock_mismatches",
    "reconciliation.oversell_events",
    "reconciliation.resurrected_units",
    "reconciliation.guests_merged",
];

/// The 429 ratio a point must stay under when the scenario sets no
/// `rate_limits.ratio_429` threshold: 1 % of all requests. Shopware and Business
/// Central both answer 429 as back-pressure, so some are normal; a setting that
/// gets more than one in a hundred is leaning on the limit rather than pacing itself.
pub const DEFAULT_RATIO_429: &str = "< 1%";

/// The metric of the 429 criterion.
pub const RATIO_429: &str = "rate_limits.ratio_429";

/// The 429 condition a report is judged by, and where it came from (`scenario` or `default`).
pub fn ratio_429_rule(r: &RunReport) -> (String, &'static str) {
    match r.verdict.thresholds.iter().find(|t| t.metric == RATIO_429) {
        Some(t) => (t.condition.clone(), "scenario"),
        None => (DEFAULT_RATIO_429.to_string(), "default"),
    }
}

fn short(metric: &str) -> &str {
    metric.strip_prefix("reconciliation.").unwrap_or(metric)
}

/// Judges one run. `report` is where its JSON was written (relative to the sweep directory).
pub fn summarize(r: &RunReport, repeat: u32, report: Option<String>) -> RunSummary {
    let mut failures = Vec::new();
    for metric in GAP_METRICS {
        let value = metric_value(r, metric).unwrap_or(0.0);
        match r.verdict.thresholds.iter().find(|t| t.metric == metric) {
            Some(t) if !t.passed => failures.push(format!(
                "reconciliation gap: {} {} fails the scenario's threshold {}",
                short(metric),
                units::count(value),
                t.condition
            )),
            Some(_) => {}
            None if value != 0.0 => failures.push(format!(
                "reconciliation gap: {} {} (must be 0: the scenario sets no threshold on it)",
                short(metric),
                units::count(value)
            )),
            None => {}
        }
    }
    let ratio = r.rate_limits.ratio_429;
    match r.verdict.thresholds.iter().find(|t| t.metric == RATIO_429) {
        Some(t) if !t.passed => failures.push(format!(
            "429 ratio {} fails the scenario's threshold {}",
            units::percent(ratio),
            t.condition
        )),
        Some(_) => {}
        None => {
            let default = Condition::parse(DEFAULT_RATIO_429).expect("the default 429 condition parses");
            if !default.holds(ratio) {
                failures.push(format!(
                    "429 ratio {} is not {DEFAULT_RATIO_429} (the default limit: the scenario has no {RATIO_429} threshold)",
                    units::percent(ratio)
                ));
            }
        }
    }
    let (limit, source) = ratio_429_rule(r);
    let consistency = &r.latency.stock_consistency;
    if consistency.time_to_consistency_ms.is_none() {
        failures.push(format!(
            "stock never consistent: {} SKUs differ between Shopware and the ERP at the end of the run",
            units::count(r.reconciliation.stock_mismatches.len() as f64)
        ));
    }
    RunSummary {
        repeat,
        report,
        error: None,
        time_to_consistency_ms: consistency.time_to_consistency_ms,
        throttled_429: r.rate_limits.throttled_429,
        ratio_429: ratio,
        ratio_429_limit: Some(limit),
        ratio_429_source: Some(source.to_string()),
        server_errors_5xx: r.rate_limits.server_errors_5xx,
        oversell_events: r.reconciliation.oversell_events,
        stock_sync_p95_ms: r.latency.stock_sync.p95_ms,
        wall_seconds: r.harness.wall_seconds,
        warnings: r.harness.warnings.clone(),
        thresholds_failed: r
            .verdict
            .thresholds
            .iter()
            .filter(|t| !t.passed)
            .map(|t| format!("{} {}: {}", t.metric, t.condition, actual_text(&t.metric, t.actual)))
            .collect(),
        failures,
    }
}

/// A run that could not be done.
pub fn failed_run(repeat: u32, error: &anyhow::Error) -> RunSummary {
    RunSummary {
        repeat,
        error: Some(format!("{error:#}")),
        failures: vec![format!("the run could not be done: {error:#}")],
        ..RunSummary::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{StockMismatch, ThresholdResult};

    /// A clean run: consistent after a minute, no 429, no gap, no thresholds.
    fn clean() -> RunReport {
        let mut r = RunReport::default();
        r.latency.stock_consistency.time_to_consistency_ms = Some(60_000.0);
        r
    }

    fn threshold(metric: &str, condition: &str, actual: f64, passed: bool) -> ThresholdResult {
        ThresholdResult {
            metric: metric.into(),
            condition: condition.into(),
            actual: Some(actual),
            passed,
        }
    }

    #[test]
    fn a_clean_run_passes_and_carries_its_figures() {
        let mut r = clean();
        r.rate_limits.throttled_429 = 3;
        r.rate_limits.ratio_429 = 0.003;
        r.rate_limits.server_errors_5xx = 2;
        let s = summarize(&r, 2, Some("points/p0001-r2/run.json".into()));
        assert!(s.failures.is_empty(), "{:?}", s.failures);
        assert_eq!((s.repeat, s.throttled_429, s.server_errors_5xx), (2, 3, 2));
        assert_eq!(s.time_to_consistency_ms, Some(60_000.0));
        assert_eq!(ratio_429_rule(&r), ("< 1%".to_string(), "default"));
    }

    #[test]
    fn gaps_fail_unless_the_scenario_allows_them() {
        let mut r = clean();
        r.reconciliation.missing_orders = 18;
        r.reconciliation.duplicated_orders = 2;
        // The scenario expects up to 18 missing orders (SKUs the ERP lacks).
        r.verdict.thresholds = vec![threshold("reconciliation.missing_orders", "<= 18", 18.0, true)];
        let s = summarize(&r, 1, None);
        assert_eq!(
            s.failures,
            ["reconciliation gap: duplicated_orders 2 (must be 0: the scenario sets no threshold on it)"]
        );
        r.verdict.thresholds[0] = threshold("reconciliation.missing_orders", "== 0", 18.0, false);
        let s = summarize(&r, 1, None);
        assert!(s.failures[0].contains("missing_orders 18 fails the scenario's threshold == 0"));
        assert_eq!(s.thresholds_failed, ["reconciliation.missing_orders == 0: 18"]);
    }

    #[test]
    fn the_429_ratio_uses_the_scenario_threshold_or_the_default() {
        let mut r = clean();
        r.rate_limits.ratio_429 = 0.03;
        let s = summarize(&r, 1, None);
        assert_eq!(s.failures.len(), 1);
        assert!(
            s.failures[0].contains("3 %") && s.failures[0].contains("default limit"),
            "{s:?}"
        );
        // The scenario allows 5 %: passes.
        r.verdict.thresholds = vec![threshold(RATIO_429, "< 5%", 0.03, true)];
        assert!(summarize(&r, 1, None).failures.is_empty());
        assert_eq!(ratio_429_rule(&r), ("< 5%".to_string(), "scenario"));
        // The scenario allows 2 %: fails, naming it.
        r.verdict.thresholds = vec![threshold(RATIO_429, "< 2%", 0.03, false)];
        let s = summarize(&r, 1, None);
        assert!(s.failures[0].contains("fails the scenario's threshold < 2%"), "{s:?}");
    }

    #[test]
    fn stock_that_never_settles_fails() {
        let mut r = clean();
        r.latency.stock_consistency.time_to_consistency_ms = None;
        r.reconciliation.stock_mismatches = vec![StockMismatch::default(); 3];
        let s = summarize(&r, 1, None);
        assert!(
            s.failures.iter().any(|f| f.contains("never consistent: 3 SKUs")),
            "{s:?}"
        );
        assert!(s.failures.iter().any(|f| f.contains("stock_mismatches 3")), "{s:?}");
        let e = failed_run(1, &anyhow::anyhow!("twins did not start"));
        assert_eq!(e.failures, ["the run could not be done: twins did not start"]);
    }
}
