//! Thresholds: k6-style conditions on the run report's metrics.
//!
//! A scenario's `[thresholds]` table maps a metric path to a condition:
//! `"latency.order_export.p95" = "< 5m"`, `"reconciliation.missing_orders" = "== 0"`,
//! `"rate_limits.ratio_429" = "< 5%"`. A condition is an operator (`<`, `<=`, `>`,
//! `>=`, `==`, `!=`) and a number: with a unit (`ms`, `s`, `m`, `h`) for latencies,
//! with `%` or as a plain fraction for ratios, plain for counts. Metric paths are the
//! fields of [`crate::report::model::RunReport`], listed once in [`METRICS`].

use std::fmt;

use serde::Serialize;

/// Every metric a threshold may name (paths into the run report).
pub const METRICS: &[&str] = &[
    "latency.order_export.p50",
    "latency.order_export.p95",
    "latency.order_export.p99",
    "latency.order_export.max",
    "latency.stock_sync.p50",
    "latency.stock_sync.p95",
    "latency.stock_sync.p99",
    "latency.stock_sync.max",
    "latency.shipment_sync.p50",
    "latency.shipment_sync.p95",
    "latency.shipment_sync.p99",
    "latency.shipment_sync.max",
    "latency.oldest_unexported",
    "rate_limits.throttled_429",
    "rate_limits.ratio_429",
    "rate_limits.server_errors_5xx",
    "rate_limits.retry_after_violations",
    "reconciliation.missing_orders",
    "reconciliation.duplicated_orders",
    "reconciliation.orphaned_orders",
    "reconciliation.orders_outside_tolerance",
    "reconciliation.oversold_units",
    "reconciliation.oversell_events",
    "reconciliation.resurrected_units",
    "reconciliation.guests_merged",
    "reconciliation.stock_mismatches",
    "reconciliation.exceptions",
];

/// What a metric measures, which decides the units its condition may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Scenario milliseconds; conditions need a unit (`ms`, `s`, `m`, `h`).
    Duration,
    /// A fraction 0..1; conditions use `%` or a plain fraction.
    Ratio,
    /// A count; conditions use a plain number.
    Count,
}

/// The kind of a known metric.
pub fn metric_kind(metric: &str) -> MetricKind {
    if metric.starts_with("latency.") {
        MetricKind::Duration
    } else if metric.ends_with("ratio_429") {
        MetricKind::Ratio
    } else {
        MetricKind::Count
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    /// Whether `actual op limit` holds.
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => actual == limit,
            Op::Ne => actual != limit,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated threshold: `metric op value`, with `value` in the metric's unit
/// (milliseconds for latencies, a fraction for ratios, a count otherwise).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    pub metric: &'static str,
    pub op: Op,
    pub value: f64,
    /// The condition as written (`< 5m`), for reports.
    pub condition: String,
}

impl Threshold {
    /// Parses `condition` for `metric`; the error says what is allowed.
    pub fn parse(metric: &str, condition: &str) -> Result<Threshold, String> {
        let Some(known) = METRICS.iter().copied().find(|m| *m == metric) else {
            return Err(format!(
                "unknown metric '{metric}'; known metrics: {}",
                METRICS.join(", ")
            ));
        };
        let kind = metric_kind(known);
        let c = condition.trim();
        let (op, rest) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(s, op)| c.strip_prefix(s).map(|r| (*op, r.trim())))
        .ok_or_else(|| {
            format!("condition '{condition}' must start with <, <=, >, >=, == or != followed by a number, e.g. '< 5m'")
        })?;
        let split = rest
            .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '-' || ch == '+'))
            .unwrap_or(rest.len());
        let (num, unit) = (rest[..split].trim(), rest[split..].trim());
        let n: f64 = num
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("condition '{condition}': '{num}' is not a number"))?;
        let value = match (kind, unit) {
            (MetricKind::Duration, "ms") => n,
            (MetricKind::Duration, "s") => n * 1e3,
            (MetricKind::Duration, "m") => n * 60e3,
            (MetricKind::Duration, "h") => n * 3600e3,
            (MetricKind::Duration, _) => {
                return Err(format!(
                    "condition '{condition}': {metric} is a duration; give a unit ms, s, m or h, e.g. '< 5m'"
                ))
            }
            (MetricKind::Ratio, "%") => n / 100.0,
            (MetricKind::Ratio, "") => n,
            (MetricKind::Ratio, _) => {
                return Err(format!(
                    "condition '{condition}': {metric} is a ratio; give a percent ('< 5%') or a fraction ('< 0.05')"
                ))
            }
            (MetricKind::Count, "") => n,
            (MetricKind::Count, _) => {
                return Err(format!(
                    "condition '{condition}': {metric} is a count; give a plain number, e.g. '== 0'"
                ))
            }
        };
        if value < 0.0 {
            return Err(format!("condition '{condition}': {metric} is never negative"));
        }
        Ok(Threshold {
            metric: known,
            op,
            value,
            condition: c.to_string(),
        })
    }

    /// Whether an actual value passes.
    pub fn passes(&self, actual: f64) -> bool {
        self.op.holds(actual, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_ratios_and_counts() {
        let t = Threshold::parse("latency.order_export.p95", "< 5m").unwrap();
        assert_eq!((t.op, t.value), (Op::Lt, 300_000.0));
        assert!(t.passes(299_999.0) && !t.passes(300_000.0));
        assert_eq!(
            Threshold::parse("latency.stock_sync.max", "<=250ms").unwrap().value,
            250.0
        );
        assert_eq!(
            Threshold::parse("latency.stock_sync.p99", ">= 1.5h").unwrap().value,
            5_400_000.0
        );
        assert_eq!(Threshold::parse("rate_limits.ratio_429", "< 5%").unwrap().value, 0.05);
        assert_eq!(Threshold::parse("rate_limits.ratio_429", "< 0.1").unwrap().value, 0.1);
        let t = Threshold::parse("reconciliation.missing_orders", "== 0").unwrap();
        assert_eq!((t.op, t.value), (Op::Eq, 0.0));
        assert_eq!(
            Threshold::parse("reconciliation.exceptions", "!= 3").unwrap().op,
            Op::Ne
        );
        assert_eq!(Threshold::parse("reconciliation.exceptions", "> 3").unwrap().op, Op::Gt);
    }

    #[test]
    fn rejects_bad_conditions_saying_what_is_allowed() {
        let e = Threshold::parse("latency.order_export.p95", "5m").unwrap_err();
        assert!(e.contains("<, <=, >, >=, == or !="), "{e}");
        let e = Threshold::parse("latency.order_export.p95", "< 5").unwrap_err();
        assert!(e.contains("ms, s, m or h"), "{e}");
        let e = Threshold::parse("reconciliation.missing_orders", "< 5%").unwrap_err();
        assert!(e.contains("plain number"), "{e}");
        let e = Threshold::parse("reconciliation.missing_orders", "< lots").unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = Threshold::parse("latency.order_export.p42", "< 5m").unwrap_err();
        assert!(
            e.contains("unknown metric") && e.contains("latency.order_export.p95"),
            "{e}"
        );
    }

    #[test]
    fn every_metric_names_a_report_section() {
        for m in METRICS {
            let section = m.split('.').next().unwrap();
            assert!(["latency", "rate_limits", "reconciliation"].contains(&section), "{m}");
        }
    }
}
