//! k6-style thresholds: `"latency.order_export.p95" = "< 5m"`.
//!
//! A threshold names a metric path (one of [`METRICS`]) and a condition: an operator
//! (`<`, `<=`, `>`, `>=`, `==`, `!=`) and a number with an optional unit. Durations take
//! `ms`, `s`, `m` or `h` and are compared in milliseconds; ratios take `%` (`2%` is
//! 0.02); a bare number is in the metric's own unit (ms, count, ratio, per second).
//! [`evaluate`] checks every threshold against a report and fills its verdict;
//! [`exit_code`] turns the verdict into the process exit code (0 pass, 1 failed).
//!
//! Errors are a thiserror enum because callers branch on them: a bad threshold is a
//! scenario error (exit 2), not a failed run.

use std::collections::BTreeMap;
use std::fmt;

use super::model::{Distribution, RunReport, ThresholdResult, Verdict};
use super::units::Kind;

/// Every metric path a threshold (or a baseline comparison) can name.
pub const METRICS: &[&str] = &[
    "latency.order_export.count",
    "latency.order_export.p50",
    "latency.order_export.p95",
    "latency.order_export.p99",
    "latency.order_export.max",
    "latency.order_export.mean",
    "latency.stock_sync.count",
    "latency.stock_sync.p50",
    "latency.stock_sync.p95",
    "latency.stock_sync.p99",
    "latency.stock_sync.max",
    "latency.stock_sync.mean",
    "latency.shipment_sync.count",
    "latency.shipment_sync.p50",
    "latency.shipment_sync.p95",
    "latency.shipment_sync.p99",
    "latency.shipment_sync.max",
    "latency.shipment_sync.mean",
    "latency.oldest_unexported_max",
    "rate_limits.requests",
    "rate_limits.throttled_429",
    "rate_limits.throttled_with_retry_after",
    "rate_limits.retry_after_violations",
    "rate_limits.server_errors_5xx",
    "rate_limits.peak_requests_per_second",
    "rate_limits.stock_updates_per_second",
    "rate_limits.stock_updates_ceiling_per_second",
    "rate_limits.ratio_429",
    "rate_limits.token_requests",
    "rate_limits.token_throttled_429",
    "rate_limits.illegal_transitions",
    "reconciliation.shop_orders",
    "reconciliation.erp_orders",
    "reconciliation.missing_orders",
    "reconciliation.duplicated_orders",
    "reconciliation.orphaned_orders",
    "reconciliation.money_deltas",
    "reconciliation.orders_outside_tolerance",
    "reconciliation.total_delta_gross",
    "reconciliation.stock_mismatches",
    "reconciliation.oversell_events",
    "reconciliation.oversold_units",
    "reconciliation.resurrected_units",
    "reconciliation.guests_merged",
    "reconciliation.exceptions",
    "reconciliation.exceptions.ecommerce",
    "reconciliation.exceptions.operations",
    "reconciliation.exceptions.finance",
    "reconciliation.tax_outside_tolerance",
    "reconciliation.stale_closeouts",
    "reconciliation.shipments_out_of_sync",
    "harness.wall_time",
    "harness.achieved_speed",
    "harness.scheduler_lag_p99",
    "harness.scheduler_lag_max",
    "harness.peak_rss_mib",
    "harness.rows_on_disk_mib",
    "harness.engine_tick_busy_p95",
    "harness.warnings",
];

/// The kind (and so the unit) of a metric path, or `None` for an unknown path.
pub fn metric_kind(path: &str) -> Option<Kind> {
    if !METRICS.contains(&path) {
        return None;
    }
    Some(match path {
        p if p.starts_with("latency.") && p.ends_with(".count") => Kind::Count,
        p if p.starts_with("latency.") => Kind::Duration,
        "harness.wall_time"
        | "harness.scheduler_lag_p99"
        | "harness.scheduler_lag_max"
        | "harness.engine_tick_busy_p95" => Kind::Duration,
        "rate_limits.ratio_429" => Kind::Ratio,
        p if p.ends_with("_per_second") => Kind::Rate,
        "reconciliation.total_delta_gross" => Kind::Money,
        "harness.achieved_speed" | "harness.peak_rss_mib" | "harness.rows_on_disk_mib" => Kind::Number,
        _ => Kind::Count,
    })
}

fn distribution(d: &Distribution, stat: &str) -> Option<f64> {
    Some(match stat {
        "count" => d.count as f64,
        "p50" => d.p50_ms,
        "p95" => d.p95_ms,
        "p99" => d.p99_ms,
        "max" => d.max_ms,
        "mean" => d.mean_ms,
        _ => return None,
    })
}

/// The value of a metric path in a report, in the metric's unit (ms for durations,
/// ratios 0..1), or `None` when the path is not one of [`METRICS`]. Lists count their
/// entries (`reconciliation.stock_mismatches`); `reconciliation.exceptions` sums the
/// exception counts, `reconciliation.exceptions.<owner>` those of one owner;
/// `rate_limits.requests` sums every endpoint's requests. Three more are read
/// off the per-endpoint counts: `rate_limits.token_requests` (requests to
/// either twin's token endpoint, F10), `rate_limits.token_throttled_429` (those
/// answered 429) and `rate_limits.illegal_transitions` (400 answers of
/// Shopware's state-transition endpoints, `SYSTEM__ILLEGAL_STATE_TRANSITION`, F11).
pub fn metric_value(r: &RunReport, path: &str) -> Option<f64> {
    if !METRICS.contains(&path) {
        return None;
    }
    let (l, rl, rc, h) = (&r.latency, &r.rate_limits, &r.reconciliation, &r.harness);
    let (section, rest) = path.split_once('.')?;
    let value = match (section, rest) {
        ("latency", "oldest_unexported_max") => l.oldest_unexported_max_ms,
        ("latency", rest) => {
            let (flow, stat) = rest.split_once('.')?;
            let d = match flow {
                "order_export" => &l.order_export,
                "stock_sync" => &l.stock_sync,
                "shipment_sync" => &l.shipment_sync,
                _ => return None,
            };
            distribution(d, stat)?
        }
        ("rate_limits", "requests") => rl
            .endpoints
            .values()
            .flat_map(|m| m.values())
            .map(|e| e.requests)
            .sum::<u64>() as f64,
        ("rate_limits", "throttled_429") => rl.throttled_429 as f64,
        ("rate_limits", "throttled_with_retry_after") => rl.throttled_with_retry_after as f64,
        ("rate_limits", "retry_after_violations") => rl.retry_after_violations as f64,
        ("rate_limits", "server_errors_5xx") => rl.server_errors_5xx as f64,
        ("rate_limits", "peak_requests_per_second") => rl.peak_requests_per_second,
        ("rate_limits", "stock_updates_per_second") => rl.stock_updates_per_second,
        ("rate_limits", "stock_updates_ceiling_per_second") => rl.stock_updates_ceiling_per_second,
        ("rate_limits", "ratio_429") => rl.ratio_429,
        ("rate_limits", "token_requests") => routes_sum(r, |_, route| route.ends_with("/oauth/token"), None),
        ("rate_limits", "token_throttled_429") => {
            routes_sum(r, |_, route| route.ends_with("/oauth/token"), Some("429"))
        }
        ("rate_limits", "illegal_transitions") => routes_sum(
            r,
            |system, route| {
                system == "shopware" && route.starts_with("POST /api/_action/") && route.contains("/state/")
            },
            Some("400"),
        ),
        ("reconciliation", "shop_orders") => rc.shop_orders as f64,
        ("reconciliation", "erp_orders") => rc.erp_orders as f64,
        ("reconciliation", "missing_orders") => rc.missing_orders as f64,
        ("reconciliation", "duplicated_orders") => rc.duplicated_orders as f64,
        ("reconciliation", "orphaned_orders") => rc.orphaned_orders as f64,
        ("reconciliation", "money_deltas") => rc.money_deltas.len() as f64,
        ("reconciliation", "orders_outside_tolerance") => rc.orders_outside_tolerance as f64,
        ("reconciliation", "total_delta_gross") => rc.total_delta_gross,
        ("reconciliation", "stock_mismatches") => rc.stock_mismatches.len() as f64,
        ("reconciliation", "oversell_events") => rc.oversell_events as f64,
        ("reconciliation", "oversold_units") => rc.oversold_units as f64,
        ("reconciliation", "resurrected_units") => rc.resurrected_units as f64,
        ("reconciliation", "guests_merged") => rc.guests_merged as f64,
        ("reconciliation", "tax_outside_tolerance") => rc.tax_outside_tolerance as f64,
        ("reconciliation", "stale_closeouts") => rc.stale_closeouts.len() as f64,
        ("reconciliation", "shipments_out_of_sync") => rc.shipments_out_of_sync as f64,
        ("reconciliation", "exceptions") => rc.exceptions.iter().map(|e| e.count).sum::<u64>() as f64,
        ("reconciliation", rest) => {
            let owner = rest.strip_prefix("exceptions.")?;
            rc.exceptions
                .iter()
                .filter(|e| e.owner == owner)
                .map(|e| e.count)
                .sum::<u64>() as f64
        }
        ("harness", "wall_time") => h.wall_seconds * 1_000.0,
        ("harness", "achieved_speed") => h.achieved_speed,
        ("harness", "scheduler_lag_p99") => h.scheduler_lag_p99_ms,
        ("harness", "scheduler_lag_max") => h.scheduler_lag_max_ms,
        ("harness", "peak_rss_mib") => h.peak_rss_mib,
        ("harness", "rows_on_disk_mib") => h.rows_on_disk_mib,
        ("harness", "engine_tick_busy_p95") => h.engine_tick_busy_p95_ms,
        ("harness", "warnings") => h.warnings.len() as f64,
        _ => return None,
    };
    Some(value)
}

/// Requests (or those answered `status`) summed over the endpoints `pick` selects,
/// given the system (`shopware`, `erp`) and the route label.
fn routes_sum(r: &RunReport, pick: impl Fn(&str, &str) -> bool, status: Option<&str>) -> f64 {
    r.rate_limits
        .endpoints
        .iter()
        .flat_map(|(system, routes)| {
            routes
                .iter()
                .map(move |(route, e)| (system.as_str(), route.as_str(), e))
        })
        .filter(|(system, route, _)| pick(system, route))
        .map(|(_, _, e)| match status {
            Some(s) => e.by_status.get(s).copied().unwrap_or(0),
            None => e.requests,
        })
        .sum::<u64>() as f64
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// Operators as written, two-character ones first so `<=` is not read as `<`.
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    pub fn symbol(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(s, _)| *s)
            .unwrap_or("?")
    }

    /// Whether `actual <op> limit` holds. NaN never holds; `==` and `!=` allow a
    /// relative error of 1e-9 so `2.3s` equals 2300 ms.
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        if actual.is_nan() {
            return false;
        }
        let equal = (actual - limit).abs() <= 1e-9 * actual.abs().max(limit.abs()).max(1.0);
        match self {
            Op::Lt => actual < limit && !equal,
            Op::Le => actual <= limit || equal,
            Op::Gt => actual > limit && !equal,
            Op::Ge => actual >= limit || equal,
            Op::Eq => equal,
            Op::Ne => !equal,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// The unit written after a threshold's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// No unit: the metric's own.
    Bare,
    Ms,
    Seconds,
    Minutes,
    Hours,
    Percent,
}

impl Unit {
    const ALLOWED: &'static str = "ms, s, m, h (durations), % (ratios) or none";

    fn parse(text: &str) -> Option<Unit> {
        Some(match text {
            "" => Unit::Bare,
            "ms" => Unit::Ms,
            "s" => Unit::Seconds,
            "m" => Unit::Minutes,
            "h" => Unit::Hours,
            "%" => Unit::Percent,
            _ => return None,
        })
    }

    /// The factor to the metric's own unit (ms or a 0..1 ratio).
    fn factor(self) -> f64 {
        match self {
            Unit::Bare | Unit::Ms => 1.0,
            Unit::Seconds => 1_000.0,
            Unit::Minutes => 60_000.0,
            Unit::Hours => 3_600_000.0,
            Unit::Percent => 0.01,
        }
    }
}

/// A parsed condition: `actual <op> limit`, the limit already in the metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Condition {
    pub op: Op,
    pub limit: f64,
    pub unit: Unit,
}

impl Condition {
    /// Parses `"< 5m"`, `"== 0"`, `"<= 2%"`, `">10"`. The error says what was wrong.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let text = text.trim();
        let ops = Op::ALL.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(" ");
        let (op, rest) = Op::ALL
            .iter()
            .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest.trim())))
            .ok_or_else(|| format!("a condition starts with an operator ({ops}), e.g. \"< 5m\""))?;
        let split = rest.find(|c: char| c.is_alphabetic() || c == '%').unwrap_or(rest.len());
        let (number, unit_text) = (rest[..split].trim(), rest[split..].trim());
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("`{number}` is not a number; write e.g. \"{op} 5m\" or \"{op} 0\""))?;
        let unit =
            Unit::parse(unit_text).ok_or_else(|| format!("unknown unit `{unit_text}`; allowed: {}", Unit::ALLOWED))?;
        Ok(Condition {
            op,
            limit: value * unit.factor(),
            unit,
        })
    }

    pub fn holds(&self, actual: f64) -> bool {
        self.op.holds(actual, self.limit)
    }
}

/// Why a threshold could not be evaluated. The run itself is fine; the scenario is not.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error(
        "unknown threshold metric `{metric}`{}; allowed metrics: {}",
        closest(metric).map(|m| format!(" (did you mean `{m}`?)")).unwrap_or_default(),
        METRICS.join(", ")
    )]
    UnknownMetric { metric: String },
    #[error("threshold `{metric}` = \"{condition}\": {reason}")]
    BadCondition {
        metric: String,
        condition: String,
        reason: String,
    },
}

/// The known metric closest to a misspelt one (edit distance at most a third of its
/// length), for the error message.
pub fn closest(metric: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let substitution = diagonal + usize::from(ca != *cb);
                diagonal = row[j + 1];
                row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
            }
        }
        row[b.len()]
    }
    METRICS
        .iter()
        .map(|m| (distance(metric, m), *m))
        .min()
        .filter(|(d, _)| *d <= metric.len() / 3)
        .map(|(_, m)| m)
}

/// A threshold checked for sense: a known metric and a condition whose unit fits it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Threshold {
    pub metric: String,
    /// As written, kept for the report.
    pub text: String,
    pub condition: Condition,
}

impl Threshold {
    pub fn parse(metric: &str, condition: &str) -> Result<Threshold, ThresholdError> {
        let kind = metric_kind(metric).ok_or_else(|| ThresholdError::UnknownMetric { metric: metric.into() })?;
        let bad = |reason: String| ThresholdError::BadCondition {
            metric: metric.into(),
            condition: condition.into(),
            reason,
        };
        let parsed = Condition::parse(condition).map_err(bad)?;
        match (parsed.unit, kind) {
            (Unit::Bare, _) | (Unit::Percent, Kind::Ratio) => {}
            (Unit::Ms | Unit::Seconds | Unit::Minutes | Unit::Hours, Kind::Duration) => {}
            (Unit::Percent, _) => return Err(bad(format!("`%` is for ratios, and {metric} is a {kind:?}"))),
            (_, _) => {
                return Err(bad(format!(
                    "duration units are for latencies and lags, and {metric} is a {kind:?}; write a bare number"
                )))
            }
        }
        Ok(Threshold {
            metric: metric.into(),
            text: condition.trim().into(),
            condition: parsed,
        })
    }

    /// This threshold's outcome on a report.
    pub fn check(&self, r: &RunReport) -> ThresholdResult {
        let actual = metric_value(r, &self.metric);
        ThresholdResult {
            metric: self.metric.clone(),
            condition: self.text.clone(),
            actual,
            passed: actual.is_some_and(|v| self.condition.holds(v)),
        }
    }
}

/// Checks every threshold (metric path → condition) against the report and replaces
/// its verdict: passed when all hold (and when there are none). Every threshold is
/// parsed before the verdict is touched, so an error leaves the report as it was.
/// Failed thresholds that no finding explains join the diagnosis.
pub fn evaluate(r: &mut RunReport, thresholds: &BTreeMap<String, String>) -> Result<(), ThresholdError> {
    let parsed = thresholds
        .iter()
        .map(|(metric, condition)| Threshold::parse(metric, condition))
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<ThresholdResult> = parsed.iter().map(|t| t.check(r)).collect();
    r.verdict = Verdict {
        passed: results.iter().all(|t| t.passed),
        thresholds: results,
    };
    crate::diagnose::metric::explain_thresholds(r);
    Ok(())
}

/// The exit code when every threshold held.
pub const EXIT_PASSED: u8 = 0;
/// The exit code when a threshold failed.
pub const EXIT_THRESHOLD_FAILED: u8 = 1;

/// 0 when the verdict passed, 1 when a threshold failed.
pub fn exit_code(r: &RunReport) -> u8 {
    if r.verdict.passed {
        EXIT_PASSED
    } else {
        EXIT_THRESHOLD_FAILED
    }
}

/// The failed thresholds, in the verdict's order.
pub fn failed(r: &RunReport) -> impl Iterator<Item = &ThresholdResult> {
    r.verdict.thresholds.iter().filter(|t| !t.passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::EndpointStats;
    use crate::report::sample::sample_report;

    fn limit(text: &str) -> (Op, f64) {
        let c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (c.op, c.limit)
    }

    #[test]
    fn parses_every_operator() {
        assert_eq!(limit("< 10"), (Op::Lt, 10.0));
        assert_eq!(limit("<= 10"), (Op::Le, 10.0));
        assert_eq!(limit("> 10"), (Op::Gt, 10.0));
        assert_eq!(limit(">= 10"), (Op::Ge, 10.0));
        assert_eq!(limit("== 0"), (Op::Eq, 0.0));
        assert_eq!(limit("!= 0"), (Op::Ne, 0.0));
        assert_eq!(limit("  <=10  "), (Op::Le, 10.0));
        assert_eq!(limit(">-1.5"), (Op::Gt, -1.5));
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(limit("< 250ms").1, 250.0);
        assert_eq!(limit("< 2.5 s").1, 2_500.0);
        assert_eq!(limit("< 5m").1, 300_000.0);
        assert_eq!(limit("< 1h").1, 3_600_000.0);
        assert!((limit("<= 2%").1 - 0.02).abs() < 1e-12);
        assert_eq!(Condition::parse("< 5m").unwrap().unit, Unit::Minutes);
    }

    #[test]
    fn malformed_conditions_say_what_is_allowed() {
        for (text, needle) in [
            ("5m", "starts with an operator (<= >= == != < >)"),
            ("=< 5", "starts with an operator"),
            ("< ", "is not a number"),
            ("< five", "is not a number"),
            ("< 5 days", "unknown unit `days`; allowed: ms, s, m, h"),
            ("< inf", "is not a number"),
        ] {
            let err = Condition::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn operators_hold_as_written() {
        let cases = [
            ("< 5", 4.0, true),
            ("< 5", 5.0, false),
            ("<= 5", 5.0, true),
            ("<= 5", 5.1, false),
            ("> 5", 5.0, false),
            ("> 5", 6.0, true),
            (">= 5", 5.0, true),
            (">= 5", 4.9, false),
            ("== 0", 0.0, true),
            ("== 0", 1.0, false),
            ("!= 0", 1.0, true),
            ("!= 0", 0.0, false),
            ("== 2.3s", 2_300.0, true),
            ("< 1", f64::NAN, false),
            ("!= 1", f64::NAN, false),
        ];
        for (text, actual, expected) in cases {
            assert_eq!(
                Condition::parse(text).unwrap().holds(actual),
                expected,
                "{actual} {text}"
            );
        }
    }

    #[test]
    fn every_metric_has_a_kind_and_a_value() {
        let r = sample_report();
        for metric in METRICS {
            assert!(metric_kind(metric).is_some(), "{metric} has no kind");
            assert!(metric_value(&r, metric).is_some(), "{metric} has no value");
        }
        assert_eq!(metric_value(&r, "latency.order_export.p95"), Some(250_000.0));
        assert_eq!(metric_value(&r, "latency.stock_sync.max"), Some(150_000.0));
        assert_eq!(metric_value(&r, "rate_limits.throttled_429"), Some(242.0));
        assert_eq!(metric_value(&r, "rate_limits.ratio_429"), Some(0.0346));
        assert_eq!(metric_value(&r, "rate_limits.requests"), Some(7_042.0));
        assert_eq!(metric_value(&r, "reconciliation.missing_orders"), Some(3.0));
        assert_eq!(metric_value(&r, "reconciliation.stock_mismatches"), Some(2.0));
        assert_eq!(metric_value(&r, "reconciliation.exceptions"), Some(71.0));
        assert_eq!(metric_value(&r, "reconciliation.exceptions.operations"), Some(65.0));
        assert_eq!(metric_value(&r, "harness.wall_time"), Some(61_200.0));
        assert_eq!(metric_value(&r, "latency.order_export.p96"), None);
        assert_eq!(metric_value(&r, "reconciliation.exceptions.legal"), None);
        assert_eq!(metric_value(&r, "reconciliation.stale_closeouts"), Some(1.0));
        assert_eq!(metric_value(&r, "reconciliation.shipments_out_of_sync"), Some(1.0));
    }

    #[test]
    fn token_and_transition_metrics_are_read_off_the_endpoint_counts() {
        let mut r = sample_report();
        let shop = r.rate_limits.endpoints.get_mut("shopware").unwrap();
        shop.insert(
            "POST /api/oauth/token".into(),
            EndpointStats {
                requests: 40,
                by_status: BTreeMap::from([("200".to_string(), 31), ("429".to_string(), 9)]),
                records: 0,
            },
        );
        shop.insert(
            "POST /api/_action/order_delivery/{id}/state/ship".into(),
            EndpointStats {
                requests: 10,
                by_status: BTreeMap::from([("200".to_string(), 7), ("400".to_string(), 3)]),
                records: 0,
            },
        );
        shop.insert(
            "POST /api/_action/order/{id}/state/process".into(),
            EndpointStats {
                requests: 2,
                by_status: BTreeMap::from([("400".to_string(), 2)]),
                records: 0,
            },
        );
        r.rate_limits.endpoints.get_mut("erp").unwrap().insert(
            "POST /oauth/token".into(),
            EndpointStats {
                requests: 5,
                by_status: BTreeMap::from([("200".to_string(), 5)]),
                records: 0,
            },
        );
        assert_eq!(metric_value(&r, "rate_limits.token_requests"), Some(45.0));
        assert_eq!(metric_value(&r, "rate_limits.token_throttled_429"), Some(9.0));
        assert_eq!(metric_value(&r, "rate_limits.illegal_transitions"), Some(5.0));
    }

    #[test]
    fn evaluate_fills_the_verdict() {
        let mut r = sample_report();
        let thresholds = BTreeMap::from([
            ("latency.order_export.p95".to_string(), "< 5m".to_string()),
            ("latency.stock_sync.p50".to_string(), "<= 850ms".to_string()),
            ("rate_limits.ratio_429".to_string(), "<= 2%".to_string()),
            ("reconciliation.missing_orders".to_string(), "== 0".to_string()),
            ("rate_limits.throttled_429".to_string(), "> 10".to_string()),
            ("harness.warnings".to_string(), "!= 3".to_string()),
        ]);
        evaluate(&mut r, &thresholds).unwrap();
        assert!(!r.verdict.passed);
        assert_eq!(exit_code(&r), EXIT_THRESHOLD_FAILED);
        let outcome: Vec<(&str, bool)> = r
            .verdict
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.passed))
            .collect();
        assert_eq!(
            outcome,
            [
                ("harness.warnings", true),
                ("latency.order_export.p95", true),
                ("latency.stock_sync.p50", true),
                ("rate_limits.ratio_429", false),
                ("rate_limits.throttled_429", true),
                ("reconciliation.missing_orders", false),
            ]
        );
        let failed: Vec<_> = failed(&r).map(|t| (t.metric.as_str(), t.actual)).collect();
        assert_eq!(
            failed,
            [
                ("rate_limits.ratio_429", Some(0.0346)),
                ("reconciliation.missing_orders", Some(3.0))
            ]
        );

        let passing = BTreeMap::from([("reconciliation.orphaned_orders".to_string(), "== 0".to_string())]);
        evaluate(&mut r, &passing).unwrap();
        assert!(r.verdict.passed);
        assert_eq!(exit_code(&r), EXIT_PASSED);
        evaluate(&mut r, &BTreeMap::new()).unwrap();
        assert!(r.verdict.passed && r.verdict.thresholds.is_empty());
    }

    #[test]
    fn errors_name_the_metric_and_what_is_allowed() {
        let mut r = sample_report();
        let before = r.verdict.clone();
        let err = evaluate(
            &mut r,
            &BTreeMap::from([("latency.order_export.p96".into(), "< 5m".into())]),
        )
        .unwrap_err();
        assert!(matches!(&err, ThresholdError::UnknownMetric { metric } if metric == "latency.order_export.p96"));
        let text = err.to_string();
        assert!(text.starts_with(
            "unknown threshold metric `latency.order_export.p96` (did you mean `latency.order_export.p95`?); \
             allowed metrics: latency.order_export.count, latency.order_export.p50,"
        ));
        assert_eq!(closest("reconciliation.missing"), Some("reconciliation.missing_orders"));
        assert_eq!(closest("throughput"), None);
        assert_eq!(r.verdict, before, "a bad threshold leaves the verdict alone");

        for (metric, condition, needle) in [
            (
                "reconciliation.missing_orders",
                "< 5m",
                "duration units are for latencies",
            ),
            ("latency.order_export.p95", "< 2%", "`%` is for ratios"),
            ("rate_limits.ratio_429", "=> 1", "starts with an operator"),
        ] {
            let err = Threshold::parse(metric, condition).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("threshold `{metric}` = \"{condition}\"")),
                "{text}"
            );
            assert!(text.contains(needle), "{text}");
        }
        // A bare number is always in the metric's unit.
        assert!(Threshold::parse("latency.order_export.p95", "< 300000").is_ok());
        assert!(Threshold::parse("rate_limits.ratio_429", "< 0.02").is_ok());
    }
}
