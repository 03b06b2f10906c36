//! The terminal report (tabled), verdict first: PASS/FAIL, then the diagnosis
//! (findings ranked by impact, each with its fix), the thresholds, then latency
//! in human units of scenario time, rate limits, reconciliation,
//! exceptions by owner, the harness's own health and warnings, and the baseline
//! deltas when there is a baseline. Plain text, no colour, so it is also `report.txt`.

use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::baseline::Comparison;
use super::model::Distribution;
use super::threshold::{failed, metric_kind};
use super::units::{self, Kind};
use super::{Exporter, RunReport};

/// How many stock mismatches and money deltas are listed (the JSON has them all).
pub const LIST_LIMIT: usize = 10;

pub struct TableExporter {
    pub baseline: Option<Comparison>,
}

impl Exporter for TableExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
        Ok(render(r, self.baseline.as_ref()).into_bytes())
    }
}

fn table<const N: usize>(header: [&str; N], rows: Vec<[String; N]>, right_from: usize) -> String {
    let mut b = Builder::default();
    let headed = header.iter().any(|h| !h.is_empty());
    if headed {
        b.push_record(header);
    }
    for row in rows {
        b.push_record(row);
    }
    let mut t = b.build();
    if headed {
        t.with(Style::sharp());
    } else {
        t.with(Style::sharp().remove_horizontals());
    }
    if right_from < N {
        t.modify(Columns::new(right_from..), Alignment::right());
    }
    if N == 5 && header[4] == "statuses" {
        t.modify(Columns::single(4), Alignment::left());
    }
    t.to_string()
}

/// A threshold's actual value in the metric's unit (`n/a` when it had none).
pub fn actual_text(metric: &str, actual: Option<f64>) -> String {
    match actual {
        Some(v) => units::value(metric_kind(metric).unwrap_or(Kind::Number), v),
        None => "n/a".into(),
    }
}

fn distribution_row(flow: &str, d: &Distribution) -> [String; 6] {
    [
        flow.to_string(),
        units::count(d.count as f64),
        units::duration(d.p50_ms),
        units::duration(d.p95_ms),
        units::duration(d.p99_ms),
        units::duration(d.max_ms),
    ]
}

fn kv(rows: &[(&str, String)]) -> String {
    table(
        ["", ""],
        rows.iter().map(|(k, v)| [k.to_string(), v.clone()]).collect(),
        1,
    )
}

/// The whole terminal report as text.
pub fn render(r: &RunReport, baseline: Option<&Comparison>) -> String {
    let mut out = String::new();
    let s = &r.scenario;
    let total = r.verdict.thresholds.len();
    let failures: Vec<_> = failed(r).collect();
    let verdict = if r.verdict.passed { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "{verdict}  {}: {} of {total} thresholds failed",
        s.name,
        failures.len()
    );
    let _ = writeln!(
        out,
        "      seed {}, {} of scenario time at {}x, engine {}, started {}\n",
        s.seed,
        units::duration(s.duration_ms as f64),
        units::trim(s.speed, 2),
        s.engine,
        s.started_at
    );
    out.push_str(&crate::diagnose::render::text(&r.diagnosis));
    if total > 0 {
        let rows = r
            .verdict
            .thresholds
            .iter()
            .map(|t| {
                [
                    if t.passed { "pass" } else { "FAIL" }.to_string(),
                    t.metric.clone(),
                    t.condition.clone(),
                    actual_text(&t.metric, t.actual),
                ]
            })
            .collect();
        let _ = writeln!(out, "{}\n", table(["", "threshold", "condition", "actual"], rows, 3));
    } else {
        let _ = writeln!(out, "No thresholds: the verdict is PASS by default.\n");
    }

    let l = &r.latency;
    let _ = writeln!(out, "Latency (scenario time)");
    let rows = vec![
        distribution_row("order placed -> ERP order", &l.order_export),
        distribution_row("ERP stock -> Shopware stock", &l.stock_sync),
        distribution_row("ERP shipment -> Shopware shipped", &l.shipment_sync),
    ];
    let _ = writeln!(out, "{}", table(["flow", "count", "p50", "p95", "p99", "max"], rows, 1));
    let _ = writeln!(
        out,
        "Oldest unexported order reached {}.\n",
        units::duration(l.oldest_unexported_max_ms)
    );

    let rl = &r.rate_limits;
    let _ = writeln!(out, "Rate limits");
    let _ = writeln!(
        out,
        "{}",
        kv(&[
            (
                "429 responses",
                format!(
                    "{} ({} of requests)",
                    units::count(rl.throttled_429 as f64),
                    units::percent(rl.ratio_429)
                )
            ),
            (
                "429s with Retry-After",
                units::count(rl.throttled_with_retry_after as f64)
            ),
            (
                "sent before Retry-After passed",
                units::count(rl.retry_after_violations as f64)
            ),
            ("5xx responses", units::count(rl.server_errors_5xx as f64)),
            (
                "peak request rate",
                format!("{}/s", units::trim(rl.peak_requests_per_second, 2))
            ),
            (
                "stock updates",
                format!(
                    "{}/s of {}/s ceiling",
                    units::trim(rl.stock_updates_per_second, 2),
                    units::trim(rl.stock_updates_ceiling_per_second, 2)
                )
            ),
        ])
    );
    let rows: Vec<[String; 5]> = rl
        .endpoints
        .iter()
        .flat_map(|(system, routes)| {
            routes.iter().map(move |(route, e)| {
                let statuses: Vec<String> = e.by_status.iter().map(|(code, n)| format!("{code}: {n}")).collect();
                [
                    system.clone(),
                    route.clone(),
                    units::count(e.requests as f64),
                    units::count(e.records as f64),
                    statuses.join(", "),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            table(["system", "route", "requests", "records", "statuses"], rows, 2)
        );
    }
    out.push('\n');

    let rc = &r.reconciliation;
    let _ = writeln!(out, "Reconciliation");
    let _ = writeln!(
        out,
        "{}\n",
        kv(&[
            (
                "orders in Shopware / ERP",
                format!(
                    "{} / {}",
                    units::count(rc.shop_orders as f64),
                    units::count(rc.erp_orders as f64)
                )
            ),
            ("missing in the ERP", units::count(rc.missing_orders as f64)),
            ("duplicated in the ERP", units::count(rc.duplicated_orders as f64)),
            ("orphaned in the ERP", units::count(rc.orphaned_orders as f64)),
            (
                "orders outside money tolerance",
                format!(
                    "{} (total gross delta {:.2})",
                    units::count(rc.orders_outside_tolerance as f64),
                    rc.total_delta_gross
                )
            ),
            (
                "SKUs with stock mismatch",
                units::count(rc.stock_mismatches.len() as f64)
            ),
            (
                "oversells",
                format!(
                    "{} events, {} units",
                    units::count(rc.oversell_events as f64),
                    units::count(rc.oversold_units as f64)
                )
            ),
            ("resurrected units", units::count(rc.resurrected_units as f64)),
            ("guests merged into one customer", units::count(rc.guests_merged as f64)),
            (
                "orders with tax per rate outside tolerance",
                units::count(rc.tax_outside_tolerance as f64)
            ),
            (
                "closeouts with stock shown sold out",
                units::count(rc.stale_closeouts.len() as f64)
            ),
            (
                "shipments not shown in Shopware",
                units::count(rc.shipments_out_of_sync as f64)
            ),
        ])
    );
    if !rc.stock_mismatches.is_empty() {
        let _ = writeln!(out, "Stock mismatches at the end");
        let rows = rc
            .stock_mismatches
            .iter()
            .take(LIST_LIMIT)
            .map(|m| [m.sku.clone(), m.shopware.to_string(), m.erp_available.to_string()])
            .collect();
        let _ = writeln!(out, "{}", table(["SKU", "Shopware", "ERP available"], rows, 1));
        more(&mut out, rc.stock_mismatches.len());
    }
    let outside: Vec<_> = rc.money_deltas.iter().filter(|d| !d.within_tolerance).collect();
    if !outside.is_empty() {
        let _ = writeln!(out, "Orders outside the money tolerance");
        let rows = outside
            .iter()
            .take(LIST_LIMIT)
            .map(|d| {
                [
                    d.order_number.clone(),
                    format!("{:.2}", d.shop_gross),
                    format!("{:.2}", d.erp_gross),
                    format!("{:+.2}", d.delta_gross),
                ]
            })
            .collect();
        let _ = writeln!(out, "{}", table(["order", "shop gross", "ERP gross", "delta"], rows, 1));
        more(&mut out, outside.len());
    }

    if !rc.shipment_gaps.is_empty() {
        let _ = writeln!(out, "Shipments not shown in Shopware");
        let rows = rc
            .shipment_gaps
            .iter()
            .take(LIST_LIMIT)
            .map(|g| {
                [
                    g.order_number.clone(),
                    g.erp_state.clone(),
                    g.shopware_state.clone(),
                    g.missing_tracking.join(", "),
                ]
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            table(["order", "ERP", "Shopware delivery", "missing tracking"], rows, 4)
        );
        more(&mut out, rc.shipments_out_of_sync as usize);
    }

    let _ = writeln!(out, "Exceptions by owner");
    if rc.exceptions.is_empty() {
        let _ = writeln!(out, "none\n");
    } else {
        let mut exceptions = rc.exceptions.clone();
        exceptions.sort_by(|a, b| a.owner.cmp(&b.owner).then(b.count.cmp(&a.count)));
        let rows = exceptions
            .iter()
            .map(|e| [e.owner.clone(), e.category.clone(), units::count(e.count as f64)])
            .collect();
        let _ = writeln!(out, "{}\n", table(["owner", "category", "count"], rows, 2));
    }

    let h = &r.harness;
    let _ = writeln!(
        out,
        "Harness: {} wall time, {}x achieved, scheduler lag p99 {} / max {} (scenario time), engine work per tick p95 {} \
         wall = {} scenario, peak RSS {} MiB (+ {} MiB of rows on disk)",
        units::duration(h.wall_seconds * 1_000.0),
        units::trim(h.achieved_speed, 1),
        units::duration(h.scheduler_lag_p99_ms),
        units::duration(h.scheduler_lag_max_ms),
        units::duration(h.engine_tick_busy_p95_ms),
        units::duration(h.engine_tick_busy_p95_ms * h.achieved_speed),
        units::trim(h.peak_rss_mib, 1),
        units::trim(h.rows_on_disk_mib, 1)
    );
    for w in &h.warnings {
        let _ = writeln!(out, "warning: {w}");
    }

    if let Some(c) = baseline {
        out.push('\n');
        out.push_str(&baseline_section(c));
    }
    out
}

fn more(out: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = writeln!(out, "... and {} more (see run.json)", total - LIST_LIMIT);
    }
    out.push('\n');
}

/// The baseline deltas: only the metrics that changed.
pub fn baseline_section(c: &Comparison) -> String {
    let mut out = format!(
        "Against baseline {} (started {})\n",
        c.baseline_scenario, c.baseline_started_at
    );
    let rows: Vec<[String; 5]> = c
        .changed()
        .map(|d| {
            [
                d.metric.to_string(),
                units::value(d.kind, d.baseline),
                units::value(d.kind, d.current),
                d.absolute_text(),
                d.relative_text(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("No metric changed.\n");
    } else {
        let _ = writeln!(
            out,
            "{}",
            table(["metric", "baseline", "now", "delta", "relative"], rows, 1)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::baseline::compare;
    use crate::report::sample::{assert_snapshot, sample_report};

    #[test]
    fn verdict_comes_first() {
        let text = render(&sample_report(), None);
        let first = text.lines().next().unwrap();
        assert_eq!(first, "FAIL  f3-429-storm: 2 of 3 thresholds failed");
        assert!(text.find("threshold").unwrap() < text.find("Latency").unwrap());
        let mut passing = sample_report();
        passing.verdict.passed = true;
        passing.verdict.thresholds.retain(|t| t.passed);
        assert!(render(&passing, None).starts_with("PASS  f3-429-storm: 0 of 1 thresholds failed"));
    }

    #[test]
    fn sample_table_snapshot() {
        let text = render(&sample_report(), None);
        assert_snapshot("sample.txt", &text);
        for expected in [
            "│ FAIL │ rate_limits.ratio_429         │ <= 2%     │   3.46 % │",
            "│ order placed -> ERP order        │ 4,097 │   2.3 s │ 4 m 10 s │ 6 m 52 s │ 10 m 55 s │",
            "Oldest unexported order reached 10 m 55 s.",
            "warning: scheduler lag reached 2.9 s",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn baseline_section_lists_changed_metrics() {
        let baseline = sample_report();
        let mut current = sample_report();
        current.reconciliation.missing_orders = 0;
        let c = compare(&baseline, &current).unwrap();
        let text = render(&current, Some(&c));
        assert!(text.contains("Against baseline f3-429-storm (started 2026-11-27T03:00:00Z)"));
        assert!(
            text.contains("│ reconciliation.missing_orders │        3 │   0 │    -3 │   -100 % │"),
            "{text}"
        );
        assert!(compare(&baseline, &baseline)
            .map(|c| baseline_section(&c))
            .unwrap()
            .contains("No metric changed."));
    }
}
