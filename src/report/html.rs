//! The HTML report: ONE self-contained file, no external assets, no script. Inline
//! CSS, and inline SVG charts drawn from the report's `timeline` (requests and 429s
//! over time, the export backlog, stock lag) plus bars for the latency percentiles.
//! A Content-Security-Policy forbids everything but inline styles, so even a string
//! that escaped [`escape`] could not load or run anything. Every string shown comes
//! through [`escape`].

use std::fmt::Write as _;

use super::model::{Distribution, TimelinePoint};
use super::table::actual_text;
use super::threshold::failed;
use super::units;
use super::{Exporter, RunReport};
use crate::diagnose::metric;

/// How many stock mismatches and money deltas are listed (the JSON has them all).
pub const LIST_LIMIT: usize = 50;

pub struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
        Ok(render(r).into_bytes())
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
:root { --fail: #b91c1c; --pass: #15803d; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header.verdict { padding: 20px 24px; border-radius: 10px; color: #fff; margin-bottom: 24px; }
header.verdict.pass { background: var(--pass); } header.verdict.fail { background: var(--fail); }
header.verdict h1 { margin: 0 0 4px; font-size: 28px; } header.verdict p { margin: 0; opacity: .92; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin-bottom: 20px; }
h2 { font-size: 18px; margin: 0 0 12px; } h3 { font-size: 15px; margin: 16px 0 8px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: #374151; background: #f3f4f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.fail td { background: #fef2f2; } .badge { font-weight: 700; font-size: 12px; padding: 2px 8px; border-radius: 99px; color: #fff; }
.badge.fail { background: var(--fail); } .badge.pass { background: var(--pass); }
.muted { color: var(--muted); } .advice { margin: 4px 0 0; padding-left: 20px; } .advice li { margin: 4px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg { width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .grid-line { stroke: var(--line); } svg .axis { fill: var(--muted); }
svg .s-requests { stroke: #2563eb; fill: none; stroke-width: 2; } svg .s-throttled { stroke: #dc2626; fill: none; stroke-width: 2; }
svg .s-backlog { stroke: #7c3aed; fill: none; stroke-width: 2; } svg .s-never { stroke: #6b7280; fill: none; stroke-width: 2; stroke-dasharray: 4 3; } svg .s-lag { stroke: #d97706; fill: none; stroke-width: 2; }
svg .k-requests { fill: #2563eb; } svg .k-throttled { fill: #dc2626; } svg .k-backlog { fill: #7c3aed; } svg .k-never { fill: #6b7280; } svg .k-lag { fill: #d97706; }
svg .bar { fill: #93c5fd; } svg .bar.p95 { fill: #60a5fa; } svg .bar.p99 { fill: #2563eb; } svg .bar.max { fill: #1e3a8a; }
.warning { background: #fffbeb; border-left: 4px solid #d97706; padding: 8px 12px; margin: 8px 0; }
footer { color: var(--muted); font-size: 13px; text-align: center; padding: 8px 0 24px; }
";

/// One line of a chart.
struct Series<'a> {
    name: &'a str,
    class: &'a str,
    points: Vec<(f64, f64)>,
}

/// Rounds up to 1, 2 or 5 times a power of ten, so the axis reads well.
pub(crate) fn nice_max(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 30.0;

/// A line chart over scenario time; `y_text` labels the y axis.
fn line_chart(title: &str, series: &[Series], y_text: &dyn Fn(f64) -> String) -> String {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0, f64::max)
        .max(1.0);
    let y_max = nice_max(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |v: f64| LEFT + v / x_max * pw;
    let y = |v: f64| TOP + ph - v / y_max * ph;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        escape(title),
        escape(title)
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid-line\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            y(v),
            y(v),
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&y_text(v))
        );
    }
    for i in 0..=4 {
        let v = x_max * f64::from(i) / 4.0;
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            x(v),
            H - 10.0,
            escape(&units::duration(v))
        );
    }
    for (i, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"s-{}\" points=\"{}\"/>",
            escape(s.class),
            points.join(" ")
        );
        let kx = LEFT + 8.0 + 130.0 * i as f64;
        let _ = write!(
            svg,
            "<rect class=\"k-{}\" x=\"{kx:.1}\" y=\"6\" width=\"10\" height=\"10\"/>\
             <text x=\"{:.1}\" y=\"15\">{}</text>",
            escape(s.class),
            kx + 14.0,
            escape(s.name)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn points(timeline: &[TimelinePoint], f: impl Fn(&TimelinePoint) -> f64) -> Vec<(f64, f64)> {
    timeline.iter().map(|p| (p.t_ms as f64, f(p))).collect()
}

/// Horizontal bars for p50, p95, p99 and max of one flow, scaled to its max.
fn latency_bars(title: &str, d: &Distribution) -> String {
    let rows = [
        ("p50", d.p50_ms),
        ("p95", d.p95_ms),
        ("p99", d.p99_ms),
        ("max", d.max_ms),
    ];
    let scale = nice_max(d.max_ms);
    let (left, width, row_h) = (48.0, 440.0, 24.0);
    let height = row_h * rows.len() as f64 + 8.0;
    let mut svg = format!(
        "<figure><figcaption>{} <span class=\"muted\">({} samples)</span></figcaption>\
         <svg viewBox=\"0 0 {} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(title),
        units::count(d.count as f64),
        left + width + 110.0,
        escape(title)
    );
    for (i, (name, v)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = if v.is_finite() && *v > 0.0 {
            (v / scale * width).max(1.0)
        } else {
            0.0
        };
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"0\" y=\"{:.1}\">{name}</text>\
             <rect class=\"bar {name}\" x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 15.0,
            row_h - 6.0,
            left + w + 6.0,
            y + 15.0,
            escape(&units::duration(*v))
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn table(out: &mut String, header: &[&str], numeric: &[usize], rows: &[(bool, Vec<String>)]) {
    out.push_str("<table>");
    if header.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for (i, h) in header.iter().enumerate() {
            let class = if numeric.contains(&i) { " class=\"num\"" } else { "" };
            let _ = write!(out, "<th{class}>{}</th>", escape(h));
        }
        out.push_str("</tr></thead>");
    }
    out.push_str("<tbody>");
    for (failed, row) in rows {
        out.push_str(if *failed { "<tr class=\"fail\">" } else { "<tr>" });
        for (i, cell) in row.iter().enumerate() {
            let class = if numeric.contains(&i) { " class=\"num\"" } else { "" };
            // Cells are escaped here; callers pass plain text.
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

/// The whole HTML document.
pub fn render(r: &RunReport) -> String {
    let s = &r.scenario;
    let verdict = if r.verdict.passed { "PASS" } else { "FAIL" };
    let class = verdict.to_ascii_lowercase();
    let failures: Vec<_> = failed(r).collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{verdict}: {} — synctwin report</title><style>{CSS}</style></head><body><main>\n",
        escape(&s.name)
    );
    let _ = writeln!(
        out,
        "<header class=\"verdict {class}\"><h1>{verdict}: {}</h1><p>{} of {} thresholds failed · seed {} · {} of \
         scenario time at {}x · engine {} · started {}</p></header>",
        escape(&s.name),
        failures.len(),
        r.verdict.thresholds.len(),
        s.seed,
        escape(&units::duration(s.duration_ms as f64)),
        escape(&units::trim(s.speed, 2)),
        escape(&s.engine),
        escape(&s.started_at)
    );

    out.push_str(&crate::diagnose::render::html(&r.diagnosis));

    out.push_str("<section><h2>Thresholds</h2>");
    if r.verdict.thresholds.is_empty() {
        out.push_str("<p class=\"muted\">No thresholds: the verdict is PASS by default.</p>");
    } else {
        out.push_str("<table><thead><tr><th>Result</th><th>Metric</th><th>Condition</th><th class=\"num\">Actual</th><th>Owner</th><th>Diagnosis</th></tr></thead><tbody>");
        for t in &r.verdict.thresholds {
            let (row, badge) = if t.passed {
                ("", "pass")
            } else {
                (" class=\"fail\"", "fail")
            };
            let explained = if t.passed {
                String::new()
            } else {
                metric::explaining(r, &t.metric).map_or_else(
                    || escape(metric::advice(&t.metric)),
                    |(i, f)| format!("#{} {}", i + 1, escape(&f.title)),
                )
            };
            let _ = write!(
                out,
                "<tr{row}><td><span class=\"badge {badge}\">{}</span></td><td><code>{}</code></td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td>{explained}</td></tr>",
                badge.to_ascii_uppercase(),
                escape(&t.metric),
                escape(&t.condition),
                escape(&actual_text(&t.metric, t.actual)),
                escape(metric::owner(&t.metric))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");

    out.push_str("<section><h2>Over time <span class=\"muted\">(scenario time)</span></h2>");
    if r.timeline.is_empty() {
        out.push_str("<p class=\"muted\">The report has no timeline.</p>");
    } else {
        let tl = &r.timeline;
        out.push_str("<div class=\"grid\">");
        let count = |v: f64| units::count(v.round());
        out.push_str(&line_chart(
            "Requests and 429s per interval",
            &[
                Series {
                    name: "requests",
                    class: "requests",
                    points: points(tl, |p| p.requests as f64),
                },
                Series {
                    name: "429s",
                    class: "throttled",
                    points: points(tl, |p| p.throttled as f64),
                },
            ],
            &count,
        ));
        out.push_str(&line_chart(
            "Orders waiting for export (backlog) and orders that never reached the ERP",
            &[
                Series {
                    name: "backlog",
                    class: "backlog",
                    points: points(tl, |p| p.backlog as f64),
                },
                Series {
                    name: "never exported",
                    class: "never",
                    points: points(tl, |p| p.never_exported as f64),
                },
            ],
            &count,
        ));
        out.push_str(&line_chart(
            "Worst stock lag per interval",
            &[Series {
                name: "stock lag",
                class: "lag",
                points: points(tl, |p| p.stock_lag_ms),
            }],
            &units::duration,
        ));
        out.push_str("</div>");
    }
    out.push_str("</section>\n");

    let l = &r.latency;
    out.push_str("<section><h2>Latency <span class=\"muted\">(scenario time)</span></h2><div class=\"grid\">");
    out.push_str(&latency_bars("Order placed → ERP order created", &l.order_export));
    out.push_str(&latency_bars("ERP stock change → Shopware shows it", &l.stock_sync));
    out.push_str(&latency_bars(
        "ERP shipment → Shopware shipped with tracking",
        &l.shipment_sync,
    ));
    let _ = writeln!(
        out,
        "</div><p>The oldest order still waiting for export reached <strong>{}</strong>.</p></section>",
        escape(&units::duration(l.oldest_unexported_max_ms))
    );

    let rl = &r.rate_limits;
    let c = |v: u64| units::count(v as f64);
    out.push_str("<section><h2>Rate limits</h2>");
    table(
        &mut out,
        &["", ""],
        &[1],
        &[
            (
                false,
                vec![
                    "429 responses".into(),
                    format!("{} ({} of requests)", c(rl.throttled_429), units::percent(rl.ratio_429)),
                ],
            ),
            (
                false,
                vec!["429s with Retry-After".into(), c(rl.throttled_with_retry_after)],
            ),
            (
                rl.retry_after_violations > 0,
                vec!["Sent before Retry-After passed".into(), c(rl.retry_after_violations)],
            ),
            (false, vec!["5xx responses".into(), c(rl.server_errors_5xx)]),
            (
                false,
                vec![
                    "Peak request rate".into(),
                    format!("{}/s", units::trim(rl.peak_requests_per_second, 2)),
                ],
            ),
            (
                false,
                vec![
                    "Stock updates".into(),
                    format!(
                        "{}/s of {}/s ceiling",
                        units::trim(rl.stock_updates_per_second, 2),
                        units::trim(rl.stock_updates_ceiling_per_second, 2)
                    ),
                ],
            ),
        ],
    );
    let rows: Vec<(bool, Vec<String>)> = rl
        .endpoints
        .iter()
        .flat_map(|(system, routes)| {
            routes.iter().map(move |(route, e)| {
                let statuses: Vec<String> = e.by_status.iter().map(|(code, n)| format!("{code}: {n}")).collect();
                (
                    e.by_status.contains_key("429"),
                    vec![
                        system.clone(),
                        route.clone(),
                        units::count(e.requests as f64),
                        units::count(e.records as f64),
                        statuses.join(", "),
                    ],
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        out.push_str("<h3>Requests per endpoint</h3>");
        table(
            &mut out,
            &["System", "Route", "Requests", "Records", "Statuses"],
            &[2, 3],
            &rows,
        );
    }
    out.push_str("</section>\n");

    let rc = &r.reconciliation;
    out.push_str("<section><h2>Reconciliation</h2>");
    let row = |label: &str, v: u64| (v > 0, vec![label.to_string(), c(v)]);
    table(
        &mut out,
        &["", ""],
        &[1],
        &[
            (
                false,
                vec![
                    "Orders in Shopware / ERP".into(),
                    format!("{} / {}", c(rc.shop_orders), c(rc.erp_orders)),
                ],
            ),
            row("Missing in the ERP", rc.missing_orders),
            row("Duplicated in the ERP", rc.duplicated_orders),
            row("ERP orders without a Shopware order", rc.orphaned_orders),
            (
                rc.orders_outside_tolerance > 0,
                vec![
                    "Orders outside the money tolerance".into(),
                    format!(
                        "{} (total gross delta {:.2})",
                        c(rc.orders_outside_tolerance),
                        rc.total_delta_gross
                    ),
                ],
            ),
            row(
                "SKUs whose stock disagrees at the end",
                rc.stock_mismatches.len() as u64,
            ),
            (
                rc.oversell_events > 0,
                vec![
                    "Oversells (events / units)".into(),
                    format!("{} / {}", c(rc.oversell_events), units::count(rc.oversold_units as f64)),
                ],
            ),
            (
                rc.resurrected_units > 0,
                vec![
                    "Sold-out units that came back".into(),
                    units::count(rc.resurrected_units as f64),
                ],
            ),
            row("Guest orders merged into one customer", rc.guests_merged),
            row(
                "Orders whose tax per rate is outside the tolerance",
                rc.tax_outside_tolerance,
            ),
            row(
                "Closeouts with stock that Shopware shows sold out",
                rc.stale_closeouts.len() as u64,
            ),
            row(
                "Shipped orders not shown as shipped (with tracking) in Shopware",
                rc.shipments_out_of_sync,
            ),
        ],
    );
    out.push_str("<h3>Exceptions by owner</h3>");
    if rc.exceptions.is_empty() {
        out.push_str("<p class=\"muted\">No exceptions.</p>");
    } else {
        let mut exceptions = rc.exceptions.clone();
        exceptions.sort_by(|a, b| a.owner.cmp(&b.owner).then(b.count.cmp(&a.count)));
        let rows: Vec<_> = exceptions
            .iter()
            .map(|e| (false, vec![e.owner.clone(), e.category.clone(), c(e.count)]))
            .collect();
        table(&mut out, &["Owner", "Category", "Count"], &[2], &rows);
    }
    if !rc.stock_mismatches.is_empty() {
        out.push_str("<h3>Stock mismatches at the end</h3>");
        let rows: Vec<_> = rc
            .stock_mismatches
            .iter()
            .take(LIST_LIMIT)
            .map(|m| {
                (
                    false,
                    vec![m.sku.clone(), m.shopware.to_string(), m.erp_available.to_string()],
                )
            })
            .collect();
        table(&mut out, &["SKU", "Shopware", "ERP available"], &[1, 2], &rows);
        more(&mut out, rc.stock_mismatches.len());
    }
    let outside: Vec<_> = rc.money_deltas.iter().filter(|d| !d.within_tolerance).collect();
    if !outside.is_empty() {
        out.push_str("<h3>Orders outside the money tolerance</h3>");
        let rows: Vec<_> = outside
            .iter()
            .take(LIST_LIMIT)
            .map(|d| {
                let tax: Vec<String> = d
                    .delta_tax
                    .iter()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(rate, v)| format!("{rate} %: {v:+.2}"))
                    .collect();
                (
                    false,
                    vec![
                        d.order_number.clone(),
                        format!("{:.2}", d.shop_gross),
                        format!("{:.2}", d.erp_gross),
                        format!("{:+.2}", d.delta_gross),
                        format!("{:+.2}", d.delta_net),
                        tax.join(", "),
                    ],
                )
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
    out.push_str("</section>\n");

    let h = &r.harness;
    let _ = write!(
        out,
        "<section><h2>How far to trust these numbers</h2><p>{} of wall time at {}x (asked: {}x); traffic events ran \
         up to {} late in scenario time (p99 {}); the engine's own work per tick took {} of wall time (p95), {} of \
         scenario time at this speed; peak memory {} MiB, and {} MiB of the Shopware twin's rows on disk.</p>",
        escape(&units::duration(h.wall_seconds * 1_000.0)),
        escape(&units::trim(h.achieved_speed, 1)),
        escape(&units::trim(s.speed, 2)),
        escape(&units::duration(h.scheduler_lag_max_ms)),
        escape(&units::duration(h.scheduler_lag_p99_ms)),
        escape(&units::duration(h.engine_tick_busy_p95_ms)),
        escape(&units::duration(h.engine_tick_busy_p95_ms * h.achieved_speed)),
        escape(&units::trim(h.peak_rss_mib, 1)),
        escape(&units::trim(h.rows_on_disk_mib, 1))
    );
    for w in &h.warnings {
        let _ = write!(
            out,
            "<div class=\"warning\"><strong>Warning:</strong> {}</div>",
            escape(w)
        );
    }
    let _ = write!(
        out,
        "</section>\n<footer>synctwin run report v{} · rendered from run.json · shopware profile {} · ERP profile {}</footer>\n\
         </main></body></html>\n",
        r.version,
        escape(&s.shopware_profile),
        escape(&s.erp_profile)
    );
    out
}

fn more(out: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = write!(
            out,
            "<p class=\"muted\">… and {} more in run.json.</p>",
            total - LIST_LIMIT
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{assert_snapshot, sample_report};

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("a & \"b\""), "a &amp; &quot;b&quot;");
    }

    #[test]
    fn a_script_in_any_string_comes_out_escaped() {
        let mut r = sample_report();
        let evil = "<script>alert(1)</script>\"'&";
        r.scenario.name = evil.into();
        r.scenario.engine = evil.into();
        r.scenario.started_at = evil.into();
        r.scenario.shopware_profile = evil.into();
        r.verdict.thresholds[1].metric = evil.into();
        r.verdict.thresholds[1].condition = evil.into();
        r.reconciliation.stock_mismatches[0].sku = evil.into();
        r.reconciliation.money_deltas[1].order_number = evil.into();
        r.reconciliation.money_deltas[1].delta_tax.insert(evil.into(), 1.0);
        r.reconciliation.exceptions[0].category = evil.into();
        r.reconciliation.exceptions[0].owner = evil.into();
        r.rate_limits
            .endpoints
            .get_mut("erp")
            .unwrap()
            .insert(evil.into(), Default::default());
        r.harness.warnings.push(evil.into());
        let f = &mut r.diagnosis[0];
        (f.title, f.evidence, f.fix, f.count_of) = (evil.into(), evil.into(), evil.into(), evil.into());
        f.examples = vec![evil.into()];
        let html = render(&r);
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("alert(1)</"), "unescaped closing tag");
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
        assert!(html.contains(&format!("<h1>FAIL: {escaped}</h1>")));
        // Every string above shows up escaped: the scenario name three times (title, h1
        // are two), the rest once or more.
        assert!(html.matches(escaped).count() >= 17, "{}", html.matches(escaped).count());
    }

    #[test]
    fn the_file_is_self_contained() {
        let html = render(&sample_report());
        for external in ["<script", "src=", "href=", "http:", "https:", "@import", "url("] {
            assert!(!html.contains(external), "found {external:?}");
        }
        assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'"));
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.ends_with("</main></body></html>\n"));
    }

    #[test]
    fn sample_html_has_verdict_charts_and_bars() {
        let html = render(&sample_report());
        assert_snapshot("sample.html", &html);
        assert!(html.contains("<header class=\"verdict fail\"><h1>FAIL: f3-429-storm</h1>"));
        assert_eq!(
            html.matches("<polyline").count(),
            5,
            "requests, 429s, backlog, never exported, stock lag"
        );
        assert_eq!(
            html.matches("<rect class=\"bar ").count(),
            12,
            "4 bars for each of 3 flows"
        );
        assert!(html.contains("Requests and 429s per interval"));
        assert!(html.contains("<td class=\"num\">3.46 %</td>"));
        let mut empty = sample_report();
        empty.timeline.clear();
        assert!(render(&empty).contains("The report has no timeline."));
    }

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(610.0), 1_000.0);
        assert_eq!(nice_max(150_000.0), 200_000.0);
        assert_eq!(nice_max(4.0), 5.0);
        assert_eq!(nice_max(720.0), 1_000.0);
    }
}
