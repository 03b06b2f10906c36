//! Failed thresholds as findings: who owns a metric and the generic next step
//! when it fails (STYLE.md §3.12: findings give advice). [`explain_thresholds`]
//! turns every failed threshold that no other finding explains into a finding of
//! its own, so a report has one advice mechanism: the diagnosis.

use std::collections::BTreeSet;

use super::finding::{rank, Finding, Impact, Owner, Severity};
use crate::report::model::RunReport;
use crate::report::table::actual_text;
use crate::report::threshold::failed;

/// The category of findings made from failed thresholds.
pub const THRESHOLD: &str = "threshold";

/// The team that owns a metric when it fails: `ecommerce`, `operations` or `finance`
/// (the owners exceptions are counted under), or `harness` for the harness's own health.
pub fn owner(metric: &str) -> &'static str {
    match metric {
        m if m.starts_with("harness.") => "harness",
        m if m.starts_with("reconciliation.exceptions.") => match &m["reconciliation.exceptions.".len()..] {
            "ecommerce" => "ecommerce",
            "finance" => "finance",
            _ => "operations",
        },
        m if m.contains("stock") || m.contains("overs") || m.contains("resurrected") => "ecommerce",
        m if m.contains("money") || m.contains("gross") || m.contains("tolerance") => "finance",
        _ => "operations",
    }
}

/// A next step for a failed metric, in the words a client's team would act on.
pub fn advice(metric: &str) -> &'static str {
    match metric {
        m if m.starts_with("latency.order_export") || m == "latency.oldest_unexported_max" => {
            "Orders reach the ERP too late: check the export batch size and interval, and whether 429s \
             or retries hold the queue back (see rate limits)."
        }
        m if m.starts_with("latency.stock_sync") => {
            "Shopware shows stale stock for too long: push stock deltas more often, or in smaller batches \
             that stay under the sync endpoint's rate limit."
        }
        m if m.starts_with("latency.shipment_sync") => {
            "Customers wait for tracking: poll ERP shipments more often, or react to shipment events."
        }
        m if m.starts_with("latency.") => "Latency breached its limit: see the timeline for when it grew.",
        "rate_limits.retry_after_violations" => {
            "The integration retries before Retry-After has passed: honour the header, otherwise every \
             retry earns another 429."
        }
        m if m.starts_with("rate_limits.") => {
            "The integration hits rate limits: pace requests client-side below the profile's ceiling, \
             batch writes, and back off on 429 as Retry-After says."
        }
        "reconciliation.missing_orders" => {
            "Orders never reached the ERP: find where exports are dropped after errors (timeouts, 5xx) \
             and make the export retry until the ERP confirms."
        }
        "reconciliation.duplicated_orders" => {
            "Orders were created twice: send an idempotency key (the Shopware order number) and look \
             the order up before re-sending after a timeout."
        }
        "reconciliation.orphaned_orders" => "ERP orders without a Shopware order: check manual or test entries.",
        m if m.contains("money") || m.contains("gross") || m.contains("tolerance") || m.ends_with(".finance") => {
            "Order totals differ between shop and ERP: compare tax rates, rounding per line vs per order, \
             and how discounts and shipping are mapped."
        }
        m if m.contains("overs") || m.contains("stock") || m.contains("resurrected") || m.ends_with(".ecommerce") => {
            "Stock in Shopware and the ERP disagree: sync stock faster, reserve open orders in the figure \
             pushed, and never let a full push overwrite newer deltas."
        }
        "reconciliation.guests_merged" => {
            "Guest orders were booked on one ERP customer: match guests by e-mail and order, not by name."
        }
        m if m.starts_with("harness.") => {
            "The harness itself could not keep up: lower --speed so the reported latencies can be trusted."
        }
        _ => "See the reconciliation section for the affected orders and SKUs.",
    }
}

/// The owner of a metric as a finding owner (the harness's own metrics go to
/// integration: whoever runs the harness).
pub fn finding_owner(metric: &str) -> Owner {
    match owner(metric) {
        "ecommerce" => Owner::Ecommerce,
        "finance" => Owner::Finance,
        "operations" => Owner::Operations,
        _ => Owner::Integration,
    }
}

/// Replaces the threshold findings of a report: one for each failed threshold
/// that no other finding lists in its `metrics`, then ranks the diagnosis again.
/// Called by [`crate::report::threshold::evaluate`], so every evaluated report
/// explains each failed threshold.
pub fn explain_thresholds(r: &mut RunReport) {
    r.diagnosis.retain(|f| f.category != THRESHOLD);
    let explained: BTreeSet<String> = r.diagnosis.iter().flat_map(|f| f.metrics.iter().cloned()).collect();
    let new: Vec<Finding> = failed(r)
        .filter(|t| !explained.contains(&t.metric))
        .map(|t| {
            let actual = actual_text(&t.metric, t.actual);
            Finding {
                key: format!("{THRESHOLD}:{}", t.metric),
                title: format!("{} failed: {actual}, allowed {}", t.metric, t.condition),
                category: THRESHOLD.into(),
                severity: Severity::Warning,
                owner: finding_owner(&t.metric),
                impact: Impact::default(),
                count: 1,
                count_of: "threshold".into(),
                examples: Vec::new(),
                evidence: format!(
                    "{} measured {actual} against the scenario's threshold {}; no other finding explains it.",
                    t.metric, t.condition
                ),
                fix: advice(&t.metric).to_string(),
                metrics: vec![t.metric.clone()],
            }
        })
        .collect();
    r.diagnosis.extend(new);
    rank(&mut r.diagnosis);
}

/// The highest-ranked finding that explains a metric, if any.
pub fn explaining<'a>(r: &'a RunReport, metric: &str) -> Option<(usize, &'a Finding)> {
    r.diagnosis
        .iter()
        .enumerate()
        .find(|(_, f)| f.metrics.iter().any(|m| m == metric))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ThresholdResult;
    use crate::report::threshold::METRICS;

    #[test]
    fn failed_thresholds_without_a_cause_become_findings_once() {
        let mut r = RunReport::default();
        r.verdict.thresholds = vec![
            ThresholdResult {
                metric: "latency.stock_sync.p95".into(),
                condition: "< 1m".into(),
                actual: Some(95_000.0),
                passed: false,
            },
            ThresholdResult {
                metric: "reconciliation.missing_orders".into(),
                condition: "== 0".into(),
                actual: Some(3.0),
                passed: false,
            },
            ThresholdResult {
                metric: "latency.order_export.p95".into(),
                condition: "< 5m".into(),
                actual: Some(1_000.0),
                passed: true,
            },
        ];
        let mut cause = super::super::finding::tests::finding("missing", Severity::Critical, Impact::default(), 3);
        cause.metrics = vec!["reconciliation.missing_orders".into()];
        r.diagnosis.push(cause);
        explain_thresholds(&mut r);
        explain_thresholds(&mut r);
        let keys: Vec<&str> = r.diagnosis.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, vec!["missing", "threshold:latency.stock_sync.p95"]);
        let t = &r.diagnosis[1];
        assert_eq!(t.owner, Owner::Ecommerce);
        assert!(t.title.contains("1 m 35 s") && t.fix.contains("stale stock"), "{t:?}");
        assert_eq!(explaining(&r, "reconciliation.missing_orders").map(|f| f.0), Some(0));
        assert_eq!(explaining(&r, "latency.order_export.p95"), None);
    }

    #[test]
    fn every_metric_has_an_owner_and_advice() {
        for m in METRICS {
            assert!(
                ["ecommerce", "operations", "finance", "harness"].contains(&owner(m)),
                "{m}"
            );
            assert!(advice(m).ends_with('.'), "{m}");
        }
        assert_eq!(owner("reconciliation.stock_mismatches"), "ecommerce");
        assert_eq!(owner("reconciliation.total_delta_gross"), "finance");
        assert_eq!(owner("reconciliation.missing_orders"), "operations");
        assert_eq!(owner("reconciliation.exceptions.finance"), "finance");
        assert!(advice("reconciliation.duplicated_orders").contains("idempotency"));
    }
}
