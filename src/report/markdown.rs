//! The Markdown report, for a consultant to hand to a client: the verdict, the
//! diagnosis (findings ranked by impact, each with owner, evidence and fix), what
//! broke (each failed threshold with its measured value, owner and the finding
//! that explains it), how often (the counts behind it), who owns it (exceptions by
//! owner), then latency,
//! rate limits, the affected SKUs and orders, the harness's caveats, and the baseline
//! deltas when there is a baseline. Every string from the report is escaped with
//! [`escape`], so a scenario name or SKU cannot break a table or inject HTML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::baseline::Comparison;
use super::model::Distribution;
use super::table::actual_text;
use super::threshold::failed;
use super::units;
use super::{Exporter, RunReport};
use crate::diagnose::metric;

/// How many stock mismatches and money deltas are listed (the JSON has them all).
pub const LIST_LIMIT: usize = 20;

pub struct MarkdownExporter {
    pub baseline: Option<Comparison>,
}

impl Exporter for MarkdownExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
        Ok(render(r, self.baseline.as_ref()).into_bytes())
    }
}

/// Escapes text for Markdown (CommonMark and GitHub tables): backslash-escapes the
/// punctuation that starts markup, `|` included, and turns `<`, `>`, `&` into
/// entities so raw HTML cannot pass through. Newlines become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A GitHub table; the columns in `right` are right-aligned (numbers).
fn table(out: &mut String, header: &[&str], right: &[usize], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let align: Vec<&str> = (0..header.len())
        .map(|i| if right.contains(&i) { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn distribution_row(flow: &str, d: &Distribution) -> Vec<String> {
    vec![
        flow.into(),
        units::count(d.count as f64),
        units::duration(d.p50_ms),
        units::duration(d.p95_ms),
        units::duration(d.p99_ms),
        units::duration(d.max_ms),
    ]
}

/// The whole Markdown report.
pub fn render(r: &RunReport, baseline: Option<&Comparison>) -> String {
    let mut out = String::new();
    let s = &r.scenario;
    let failures: Vec<_> = failed(r).collect();
    let verdict = if r.verdict.passed { "PASS" } else { "FAIL" };
    let _ = writeln!(out, "# Integration audit: {} — {verdict}\n", escape(&s.name));
    let _ = writeln!(
        out,
        "**Verdict: {verdict}.** {} of {} thresholds failed. Scenario {}, seed {}, {} of scenario time \
         replayed at {}x against engine {}, started {}. All times in this report are scenario time.\n",
        failures.len(),
        r.verdict.thresholds.len(),
        escape(&s.name),
        s.seed,
        units::duration(s.duration_ms as f64),
        units::trim(s.speed, 2),
        escape(&s.engine),
        escape(&s.started_at)
    );

    let _ = writeln!(out, "## Diagnosis\n");
    out.push_str(&crate::diagnose::render::markdown(&r.diagnosis));

    let _ = writeln!(out, "## What broke\n");
    if failures.is_empty() {
        let _ = writeln!(out, "Nothing: every threshold held.\n");
    } else {
        let rows: Vec<Vec<String>> = failures
            .iter()
            .map(|t| {
                vec![
                    format!("`{}`", t.metric.replace('`', "'")),
                    escape(&t.condition),
                    actual_text(&t.metric, t.actual),
                    metric::owner(&t.metric).into(),
                    metric::explaining(r, &t.metric).map_or_else(
                        || escape(metric::advice(&t.metric)),
                        |(i, f)| format!("#{} {}", i + 1, escape(&f.title)),
                    ),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Threshold", "Limit", "Measured", "Owner", "Diagnosis"],
            &[2],
            &rows,
        );
    }
    let passed: Vec<String> = r
        .verdict
        .thresholds
        .iter()
        .filter(|t| t.passed)
        .map(|t| {
            format!(
                "`{}` {} ({})",
                t.metric.replace('`', "'"),
                escape(&t.condition),
                actual_text(&t.metric, t.actual)
            )
        })
        .collect();
    if !passed.is_empty() {
        let _ = writeln!(out, "Held: {}.\n", passed.join(", "));
    }

    let rc = &r.reconciliation;
    let rl = &r.rate_limits;
    let _ = writeln!(out, "## How often\n");
    let c = |v: u64| units::count(v as f64);
    let rows = vec![
        vec!["Orders placed in Shopware".into(), c(rc.shop_orders)],
        vec!["Orders in the ERP".into(), c(rc.erp_orders)],
        vec!["Orders missing in the ERP".into(), c(rc.missing_orders)],
        vec!["Orders duplicated in the ERP".into(), c(rc.duplicated_orders)],
        vec!["ERP orders without a Shopware order".into(), c(rc.orphaned_orders)],
        vec![
            "Orders outside the money tolerance".into(),
            c(rc.orders_outside_tolerance),
        ],
        vec![
            "SKUs whose stock disagrees at the end".into(),
            units::count(rc.stock_mismatches.len() as f64),
        ],
        vec![
            "Oversells (events / units)".into(),
            format!("{} / {}", c(rc.oversell_events), units::count(rc.oversold_units as f64)),
        ],
        vec![
            "Sold-out units that came back".into(),
            units::count(rc.resurrected_units as f64),
        ],
        vec!["Guest orders merged into one customer".into(), c(rc.guests_merged)],
        vec![
            "Orders whose tax per rate is outside the tolerance".into(),
            c(rc.tax_outside_tolerance),
        ],
        vec![
            "Closeouts with stock that Shopware shows sold out".into(),
            units::count(rc.stale_closeouts.len() as f64),
        ],
        vec![
            "Shipped orders not shown as shipped (with tracking) in Shopware".into(),
            c(rc.shipments_out_of_sync),
        ],
        vec![
            "Requests refused with 429".into(),
            format!("{} ({} of requests)", c(rl.throttled_429), units::percent(rl.ratio_429)),
        ],
        vec!["Server errors (5xx)".into(), c(rl.server_errors_5xx)],
    ];
    table(&mut out, &["What", "How many"], &[1], &rows);

    let _ = writeln!(out, "## Who owns it\n");
    if rc.exceptions.is_empty() {
        let _ = writeln!(out, "No exceptions.\n");
    } else {
        let mut by_owner: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
        for e in &rc.exceptions {
            by_owner.entry(&e.owner).or_default().push((&e.category, e.count));
        }
        let mut rows = Vec::new();
        for (owner, mut items) in by_owner {
            items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let total: u64 = items.iter().map(|(_, n)| n).sum();
            let list: Vec<String> = items
                .iter()
                .map(|(cat, n)| format!("{} ({})", escape(cat), c(*n)))
                .collect();
            rows.push(vec![format!("**{}**", escape(owner)), c(total), list.join(", ")]);
        }
        table(&mut out, &["Owner", "Exceptions", "Categories"], &[1], &rows);
    }

    let l = &r.latency;
    let _ = writeln!(out, "## Latency (scenario time)\n");
    let rows = vec![
        distribution_row("Order placed → ERP order created", &l.order_export),
        distribution_row("ERP stock change → Shopware shows it", &l.stock_sync),
        distribution_row("ERP shipment → Shopware shipped with tracking", &l.shipment_sync),
    ];
    table(
        &mut out,
        &["Flow", "Count", "p50", "p95", "p99", "max"],
        &[1, 2, 3, 4, 5],
        &rows,
    );
    let _ = writeln!(
        out,
        "The oldest order still waiting for export reached {}.\n",
        units::duration(l.oldest_unexported_max_ms)
    );

    let _ = writeln!(out, "## Rate limits\n");
    let _ = writeln!(
        out,
        "{} of {} 429s carried a Retry-After; {} requests were sent before it had passed. Peak request rate \
         {}/s; stock updates {}/s against a ceiling of {}/s.\n",
        c(rl.throttled_with_retry_after),
        c(rl.throttled_429),
        c(rl.retry_after_violations),
        units::trim(rl.peak_requests_per_second, 2),
        units::trim(rl.stock_updates_per_second, 2),
        units::trim(rl.stock_updates_ceiling_per_second, 2)
    );
    let rows: Vec<Vec<String>> = rl
        .endpoints
        .iter()
        .flat_map(|(system, routes)| {
            routes.iter().map(move |(route, e)| {
                let statuses: Vec<String> = e
                    .by_status
                    .iter()
                    .map(|(code, n)| format!("{}: {n}", escape(code)))
                    .collect();
                vec![
                    escape(system),
                    escape(route),
                    units::count(e.requests as f64),
                    units::count(e.records as f64),
                    statuses.join(", "),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        table(
            &mut out,
            &["System", "Route", "Requests", "Records", "Statuses"],
            &[2, 3],
            &rows,
        );
    }

    if !rc.stock_mismatches.is_empty() {
        let _ = writeln!(out, "## Stock mismatches at the end\n");
        let rows: Vec<Vec<String>> = rc
            .stock_mismatches
            .iter()
            .take(LIST_LIMIT)
            .map(|m| vec![escape(&m.sku), m.shopware.to_string(), m.erp_available.to_string()])
            .collect();
        table(&mut out, &["SKU", "Shopware", "ERP available"], &[1, 2], &rows);
        more(&mut out, rc.stock_mismatches.len());
    }
    let outside: Vec<_> = rc.money_deltas.iter().filter(|d| !d.within_tolerance).collect();
    if !outside.is_empty() {
        let _ = writeln!(out, "## Orders outside the money tolerance\n");
        let rows: Vec<Vec<String>> = outside
            .iter()
            .take(LIST_LIMIT)
            .map(|d| {
                let tax: Vec<String> = d
                    .delta_tax
                    .iter()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(rate, v)| format!("{} %: {v:+.2}", escape(rate)))
                    .collect();
                vec![
                    escape(&d.order_number),
                    format!("{:.2}", d.shop_gross),
                    format!("{:.2}", d.erp_gross),
                    format!("{:+.2}", d.delta_gross),
                    format!("{:+.2}", d.delta_net),
                    tax.join(", "),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Order", "Shop gross", "ERP gross", "Δ gross", "Δ net", "Δ tax by rate"],
            &[1, 2, 3, 4],
            &rows,
        );
        more(&mut out, outside.len());
    }

    let h = &r.harness;
    let _ = writeln!(out, "## How far to trust these numbers\n");
    let _ = writeln!(
        out,
        "The run took {} of wall time at {}x (asked: {}x). Traffic events ran up to {} late in scenario time \
         (p99 {}); the engine's own work per tick took {} of wall time (p95), {} of scenario time at this speed; \
         peak memory {} MiB, and {} MiB of the Shopware twin's rows on disk.\n",
        units::duration(h.wall_seconds * 1_000.0),
        units::trim(h.achieved_speed, 1),
        units::trim(s.speed, 2),
        units::duration(h.scheduler_lag_max_ms),
        units::duration(h.scheduler_lag_p99_ms),
        units::duration(h.engine_tick_busy_p95_ms),
        units::duration(h.engine_tick_busy_p95_ms * h.achieved_speed),
        units::trim(h.peak_rss_mib, 1),
        units::trim(h.rows_on_disk_mib, 1)
    );
    for w in &h.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", escape(w));
    }

    if let Some(c) = baseline {
        out.push_str(&baseline_section(c));
    }
    out
}

fn more(out: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = writeln!(out, "… and {} more in `run.json`.\n", total - LIST_LIMIT);
    }
}

/// The baseline deltas as a Markdown section: only the metrics that changed.
pub fn baseline_section(c: &Comparison) -> String {
    let mut out = format!(
        "## Against the baseline\n\nBaseline: {}, started {}.\n\n",
        escape(&c.baseline_scenario),
        escape(&c.baseline_started_at)
    );
    let rows: Vec<Vec<String>> = c
        .changed()
        .map(|d| {
            vec![
                format!("`{}`", d.metric),
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
        table(
            &mut out,
            &["Metric", "Baseline", "Now", "Delta", "Relative"],
            &[1, 2, 3, 4],
            &rows,
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
    fn sample_markdown_snapshot() {
        let text = render(&sample_report(), None);
        assert_snapshot("sample.md", &text);
        assert!(text.starts_with("# Integration audit: f3-429-storm — FAIL\n\n**Verdict: FAIL.** 2 of 3"));
        assert!(text.contains("| `reconciliation.missing_orders` | == 0 | 3 | operations |"));
        assert!(text.contains("| **operations** | 65 | duplicate ERP order (62), order missing in ERP (3) |"));
        assert!(text.find("## What broke").unwrap() < text.find("## Latency").unwrap());
    }

    #[test]
    fn strings_cannot_break_tables_or_inject_html() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("**bold** [x](y)"), "\\*\\*bold\\*\\* \\[x\\](y)");
        let mut r = sample_report();
        r.scenario.name = "<img src=x onerror=alert(1)>`|".into();
        r.reconciliation.stock_mismatches[0].sku = "SKU|<b>".into();
        r.diagnosis[0].title = "<img src=x>|".into();
        r.diagnosis[0].fix = "<b>fix</b>".into();
        let text = render(&r, None);
        assert!(!text.contains("<img") && !text.contains("<b>"));
        assert!(
            text.contains("| 1 | critical | ecommerce | &lt;img src=x&gt;\\| |"),
            "{text}"
        );
        assert!(text.contains("| SKU\\|&lt;b&gt; | 4 | 0 |"));
    }

    #[test]
    fn baseline_section_in_markdown() {
        let baseline = sample_report();
        let mut current = sample_report();
        current.latency.stock_sync.p95_ms = 48_000.0;
        let c = compare(&baseline, &current).unwrap();
        let text = render(&current, Some(&c));
        assert!(text.contains("## Against the baseline\n\nBaseline: f3-429-storm, started"));
        assert!(
            text.contains("| `latency.stock_sync.p95` | 1 m 36 s | 48 s | -48 s | -50 % |"),
            "{text}"
        );
    }
}
