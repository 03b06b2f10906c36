//! The sweep as ONE self-contained HTML page: the recommendation, the table of
//! points, and inline SVG bar charts (one bar per point) of time to consistency,
//! 429s, 5xx, oversells and p95 stock lag. No script and no external asset; a
//! Content-Security-Policy allows inline styles only, and every string shown goes
//! through [`escape`].

use std::fmt::Write as _;

use super::grid::Grid;
use super::model::{PointResult, SweepReport};
use super::recommend::{neighbour_text, settings_text};
use super::table::{axis_labels, compact, figures, FIGURE_HEADERS};
use crate::report::html::{escape, nice_max};
use crate::report::units;

const CSS: &str = "
:root { --fail: #b91c1c; --pass: #15803d; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header.verdict { padding: 20px 24px; border-radius: 10px; color: #fff; margin-bottom: 24px; }
header.verdict.pass { background: var(--pass); } header.verdict.fail { background: var(--fail); }
header.verdict h1 { margin: 0 0 4px; font-size: 26px; } header.verdict p { margin: 4px 0 0; opacity: .95; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin-bottom: 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: #374151; background: #f3f4f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.fail td { background: #fef2f2; } tr.best td { background: #f0fdf4; font-weight: 600; }
.muted { color: var(--muted); } ul { margin: 4px 0; padding-left: 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg { width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .grid-line { stroke: var(--line); } svg .axis { fill: var(--muted); }
svg .bar { fill: #60a5fa; } svg .bar.best { fill: #15803d; } svg .bar.fail { fill: #fca5a5; }
footer { color: var(--muted); font-size: 13px; text-align: center; padding: 8px 0 24px; }
";

/// Short settings for chart labels: `50 · 2`.
fn label(grid: &Grid, p: &PointResult) -> String {
    let values: Vec<&str> = grid
        .axes
        .iter()
        .map(|a| p.settings.get(&a.key).map_or("?", String::as_str))
        .collect();
    if values.is_empty() {
        format!("#{}", p.index)
    } else {
        format!("#{} {}", p.index, values.join(" · "))
    }
}

/// Horizontal bars, one per point; `None` values are written out, not drawn.
fn bars(
    title: &str,
    grid: &Grid,
    r: &SweepReport,
    value: &dyn Fn(&PointResult) -> Option<f64>,
    text: &dyn Fn(&PointResult) -> String,
) -> String {
    let best = r.recommendation.as_ref().map(|x| x.index);
    let max = nice_max(r.points.iter().filter_map(value).fold(0.0, f64::max));
    let (left, width, right, row_h) = (170.0, 330.0, 110.0, 20.0);
    let height = row_h * r.points.len() as f64 + 8.0;
    let total = left + width + right;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {total} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(title),
        escape(title)
    );
    for (i, p) in r.points.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let class = if best == Some(p.index) {
            "bar best"
        } else if !p.passed {
            "bar fail"
        } else {
            "bar"
        };
        let w = value(p).map_or(0.0, |v| (v / max * width).max(if v > 0.0 { 1.0 } else { 0.0 }));
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"{class}\" x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left - 6.0,
            y + 13.0,
            escape(&label(grid, p)),
            row_h - 6.0,
            left + w + 6.0,
            y + 13.0,
            escape(&text(p))
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

pub fn render(r: &SweepReport) -> String {
    let grid = Grid { axes: r.axes.clone() };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>synctwin sweep: {}</title><style>{CSS}</style></head><body><main>",
        escape(&r.scenario)
    );
    match &r.recommendation {
        Some(rec) => {
            let _ = writeln!(
                out,
                "<header class=\"verdict pass\"><h1>Recommended: {}</h1><p>{}</p></header>",
                escape(&settings_text(&grid, &rec.settings)),
                escape(&rec.summary)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "<header class=\"verdict fail\"><h1>No recommendation</h1><p>No point of {} met the criteria; \
                 the table says why each failed.</p></header>",
                escape(&r.scenario)
            );
        }
    }
    let _ = writeln!(
        out,
        "<section><h2>Sweep</h2><p>Scenario <b>{}</b>: {} of {} grid points, {} per point{}; shards {}.</p>\
         <p class=\"muted\">A point passes with no reconciliation gap ({}), a 429 ratio {} ({}) and stock that became \
         consistent. Ranking: {}.</p></section>",
        escape(&r.scenario),
        r.points.len(),
        r.grid_points,
        if r.repeat == 1 {
            "1 run".to_string()
        } else {
            format!("{} runs", r.repeat)
        },
        if r.repeat > 1 { ", medians shown" } else { "" },
        escape(&if r.shards.is_empty() {
            "-".to_string()
        } else {
            r.shards.join(", ")
        }),
        escape(
            &r.criteria
                .gap_metrics
                .iter()
                .map(|m| m.trim_start_matches("reconciliation."))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        escape(&r.criteria.ratio_429),
        if r.criteria.ratio_429_source == "default" {
            "the default: the scenario sets no rate_limits.ratio_429 threshold"
        } else {
            "the scenario's threshold"
        },
        escape(&r.criteria.ranking)
    );
    if let Some(w) = super::table::warning(r) {
        let _ = writeln!(out, "<section><p>{}</p></section>", escape(&w));
    }
    if let Some(rec) = &r.recommendation {
        if !rec.neighbours.is_empty() {
            out.push_str("<section><h2>Neighbours of the recommendation</h2><ul>");
            for n in &rec.neighbours {
                let _ = write!(out, "<li>{}</li>", escape(&neighbour_text(n)));
            }
            out.push_str("</ul></section>\n");
        }
    }
    // The table.
    out.push_str("<section><h2>Points</h2><table><thead><tr><th class=\"num\">#</th>");
    for l in axis_labels(&grid) {
        let _ = write!(out, "<th>{}</th>", escape(&l));
    }
    for h in FIGURE_HEADERS {
        let _ = write!(out, "<th class=\"num\">{}</th>", escape(h));
    }
    out.push_str("<th>result</th></tr></thead><tbody>");
    let best = r.recommendation.as_ref().map(|x| x.index);
    for p in &r.points {
        let class = if best == Some(p.index) {
            " class=\"best\""
        } else if !p.passed {
            " class=\"fail\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{class}><td class=\"num\">{}</td>", p.index);
        for a in &grid.axes {
            let _ = write!(
                out,
                "<td>{}</td>",
                escape(p.settings.get(&a.key).map_or("", String::as_str))
            );
        }
        for f in figures(p) {
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(&f));
        }
        let result = if best == Some(p.index) {
            "recommended".to_string()
        } else if p.passed {
            "pass".to_string()
        } else {
            let items: Vec<String> = p.failures.iter().map(|f| format!("<li>{}</li>", escape(f))).collect();
            format!("FAIL<ul>{}</ul>", items.join(""))
        };
        let _ = write!(out, "<td>{result}</td></tr>");
    }
    out.push_str("</tbody></table>");
    if !r.missing_points.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">{} grid points have no result here (other shards): {}.</p>",
            r.missing_points.len(),
            escape(&compact(&r.missing_points))
        );
    }
    out.push_str("</section>\n");
    // The charts.
    out.push_str(
        "<section><h2>Per point</h2><p class=\"muted\">Green: recommended; red: failed.</p><div class=\"grid\">",
    );
    out.push_str(&bars(
        "Time to consistency (after the last ERP stock change)",
        &grid,
        r,
        &|p| p.time_to_consistency_ms,
        &super::table::consistency_text,
    ));
    out.push_str(&bars("429 responses", &grid, r, &|p| Some(p.throttled_429), &|p| {
        units::count(p.throttled_429)
    }));
    out.push_str(&bars("5xx responses", &grid, r, &|p| Some(p.server_errors_5xx), &|p| {
        units::count(p.server_errors_5xx)
    }));
    out.push_str(&bars("Oversell events", &grid, r, &|p| Some(p.oversell_events), &|p| {
        units::count(p.oversell_events)
    }));
    out.push_str(&bars(
        "p95 stock lag (ERP change → Shopware)",
        &grid,
        r,
        &|p| Some(p.stock_sync_p95_ms),
        &|p| units::duration(p.stock_sync_p95_ms),
    ));
    out.push_str("</div></section>\n");
    let _ = writeln!(
        out,
        "<footer>synctwin sweep report v{} · {}</footer></main></body></html>",
        r.version,
        escape(&r.scenario)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::table::tests::sample;

    #[test]
    fn the_page_is_self_contained_with_five_charts() {
        let html = render(&sample());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.contains("default-src 'none'"));
        assert_eq!(html.matches("<svg ").count(), 5);
        assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("src=\""));
        assert!(html.contains("Recommended: engine.inventory.batch_size=250 engine.inventory.concurrency=1"));
        assert_eq!(
            html.matches("class=\"bar best\"").count(),
            5,
            "the recommended bar in every chart"
        );
        assert_eq!(html.matches("class=\"bar fail\"").count(), 5);
    }

    #[test]
    fn every_string_is_escaped() {
        let mut r = sample();
        r.scenario = "<script>alert(1)</script>".into();
        r.axes[0].values[0] = "\"><img src=x>".into();
        for p in &mut r.points {
            if let Some(v) = p.settings.get_mut("engine.inventory.batch_size") {
                if v == "50" {
                    *v = "\"><img src=x>".into();
                }
            }
            p.failures.push("<b>bold</b> & 'quoted'".into());
            p.passed = false;
        }
        r.recommendation = None;
        let html = render(&r);
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>bold"));
        assert!(html.contains("&lt;script&gt;") && html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;"));
        assert!(html.contains("No recommendation"));
    }
}
