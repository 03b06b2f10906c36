//! The sweep in the terminal (tabled): one row per point with its settings and
//! figures, the recommendation first, then why each failing point failed.

use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::grid::Grid;
use super::model::{PointResult, SweepReport};
use super::recommend::settings_text;
use crate::report::units;

/// Column names for the axes: the last part of each key when that is unique.
pub fn axis_labels(grid: &Grid) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).trim_matches('"').to_string();
    grid.axes
        .iter()
        .map(|a| {
            let short = last(&a.key);
            if grid.axes.iter().filter(|b| last(&b.key) == short).count() == 1 {
                short
            } else {
                a.key.clone()
            }
        })
        .collect()
}

/// A point's time to consistency, or why there is none.
pub fn consistency_text(p: &PointResult) -> String {
    match p.time_to_consistency_ms {
        Some(ms) => units::duration(ms),
        None if p.runs.iter().any(|r| r.error.is_some()) => "not run".into(),
        None => "never".into(),
    }
}

/// The figures of a point as table cells (after the settings).
pub fn figures(p: &PointResult) -> [String; 6] {
    [
        consistency_text(p),
        units::count(p.throttled_429),
        units::percent(p.ratio_429),
        units::count(p.server_errors_5xx),
        units::count(p.oversell_events),
        units::duration(p.stock_sync_p95_ms),
    ]
}

/// Header cells of [`figures`].
pub const FIGURE_HEADERS: [&str; 6] = [
    "consistent after",
    "429s",
    "429 ratio",
    "5xx",
    "oversells",
    "p95 stock lag",
];

pub fn render(r: &SweepReport) -> String {
    let grid = Grid { axes: r.axes.clone() };
    let mut out = String::new();
    let head = match &r.recommendation {
        Some(rec) => format!("RECOMMENDED  {}", settings_text(&grid, &rec.settings)),
        None => "NO RECOMMENDATION  no point met the criteria".to_string(),
    };
    let _ = writeln!(out, "{head}");
    let _ = writeln!(
        out,
        "      {}: {} of {} grid points run ({} per point), shards {}",
        r.scenario,
        r.points.len(),
        r.grid_points,
        if r.repeat == 1 {
            "1 run".to_string()
        } else {
            format!("{} runs, medians shown", r.repeat)
        },
        if r.shards.is_empty() {
            "-".to_string()
        } else {
            r.shards.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "      criteria: no reconciliation gap, 429 ratio {} ({}), stock consistent\n",
        r.criteria.ratio_429,
        if r.criteria.ratio_429_source == "default" {
            "default: the scenario sets no rate_limits.ratio_429 threshold"
        } else {
            "the scenario's threshold"
        }
    );
    let mut b = Builder::default();
    let labels = axis_labels(&grid);
    let mut header: Vec<String> = vec!["#".into()];
    header.extend(labels.iter().cloned());
    header.extend(FIGURE_HEADERS.iter().map(|h| h.to_string()));
    header.push("result".into());
    b.push_record(header);
    let rec = r.recommendation.as_ref().map(|x| x.index);
    for p in &r.points {
        let mut row: Vec<String> = vec![p.index.to_string()];
        row.extend(
            grid.axes
                .iter()
                .map(|a| p.settings.get(&a.key).cloned().unwrap_or_default()),
        );
        row.extend(figures(p));
        row.push(
            if rec == Some(p.index) {
                "RECOMMENDED"
            } else if p.passed {
                "pass"
            } else {
                "FAIL"
            }
            .into(),
        );
        b.push_record(row);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    let first_figure = 1 + grid.axes.len();
    t.modify(
        Columns::new(first_figure..first_figure + FIGURE_HEADERS.len()),
        Alignment::right(),
    );
    let _ = writeln!(out, "{t}");
    if let Some(rec) = &r.recommendation {
        let _ = writeln!(out, "\n{}", rec.summary);
    }
    let failing: Vec<&PointResult> = r.points.iter().filter(|p| !p.passed).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nFailed points");
        for p in failing {
            let _ = writeln!(out, "  {} ({}):", p.index, settings_text(&grid, &p.settings));
            for f in &p.failures {
                let _ = writeln!(out, "    - {f}");
            }
        }
    }
    if let Some(w) = warning(r) {
        let _ = writeln!(out, "\n{w}");
    }
    if !r.missing_points.is_empty() {
        let _ = writeln!(
            out,
            "\n{} grid points have no result here (other shards; merge them with `synctwin report merge`): {}",
            r.missing_points.len(),
            compact(&r.missing_points)
        );
    }
    out
}

/// A note when runs carry harness warnings (the speed too high for their
/// latencies to be trusted): the comparison between points is then noisy.
pub fn warning(r: &SweepReport) -> Option<String> {
    let runs: Vec<&super::model::RunSummary> = r.points.iter().flat_map(|p| p.runs.iter()).collect();
    let warned: Vec<&&super::model::RunSummary> = runs.iter().filter(|s| !s.warnings.is_empty()).collect();
    let first = warned.first()?;
    Some(format!(
        "Warning: {} of {} runs report harness warnings, so their times may not be comparable; the first: {}",
        warned.len(),
        runs.len(),
        first.warnings[0]
    ))
}

/// `0-3, 7, 9-10`.
pub fn compact(v: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sweep::grid::Axis;
    use crate::sweep::model::RunSummary;
    use crate::sweep::recommend::{build, point};

    pub(crate) fn sample() -> SweepReport {
        let grid = Grid::new(vec![
            Axis::parse("engine.inventory.batch_size=50,250").unwrap(),
            Axis::parse("engine.inventory.concurrency=1,2").unwrap(),
        ])
        .unwrap();
        let runs = [
            (Some(300_000.0), 0, vec![]),
            (Some(125_000.0), 0, vec![]),
            (Some(90_000.0), 12, vec![]),
            (
                Some(40_000.0),
                900,
                vec!["429 ratio 4.5 % is not < 1% (the default limit: the scenario has no rate_limits.ratio_429 threshold)".to_string()],
            ),
        ];
        let points = runs
            .into_iter()
            .enumerate()
            .map(|(i, (ttc, throttled, failures))| {
                let run = RunSummary {
                    repeat: 1,
                    time_to_consistency_ms: ttc,
                    throttled_429: throttled,
                    ratio_429: throttled as f64 / 20_000.0,
                    ratio_429_limit: Some("< 1%".into()),
                    ratio_429_source: Some("default".into()),
                    stock_sync_p95_ms: 61_000.0,
                    warnings: if i == 3 {
                        vec!["traffic ran late by up to 9 s of scenario time: lower --speed".into()]
                    } else {
                        Vec::new()
                    },
                    failures,
                    ..RunSummary::default()
                };
                point(i as u64, grid.settings(i as u64).into_iter().collect(), vec![run])
            })
            .collect();
        build("f3-inventory-burst", &grid, 1, vec!["1/1".into()], points)
    }

    #[test]
    fn the_table_leads_with_the_recommendation_and_explains_failures() {
        let text = render(&sample());
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "RECOMMENDED  engine.inventory.batch_size=250 engine.inventory.concurrency=1"
        );
        assert!(text.contains("batch_size") && text.contains("concurrency"), "{text}");
        assert!(text.contains("1 m 30 s") && text.contains("RECOMMENDED"), "{text}");
        assert!(
            text.contains("3 (engine.inventory.batch_size=250 engine.inventory.concurrency=2):\n    - 429 ratio 4.5 %"),
            "{text}"
        );
        assert!(text.contains("default: the scenario sets no rate_limits.ratio_429 threshold"));
        assert!(
            text.contains("Warning: 1 of 4 runs report harness warnings") && text.contains("lower --speed"),
            "{text}"
        );
    }

    #[test]
    fn labels_are_short_when_unique_and_ranges_compact() {
        let g = Grid::new(vec![
            Axis::parse("engine.intervals.inventory=1m").unwrap(),
            Axis::parse("engine.inventory.batch_size=1").unwrap(),
            Axis::parse("phases[0].end=1h").unwrap(),
            Axis::parse("phases[1].end=2h").unwrap(),
        ])
        .unwrap();
        assert_eq!(
            axis_labels(&g),
            ["inventory", "batch_size", "phases[0].end", "phases[1].end"]
        );
        assert_eq!(compact(&[0, 1, 2, 3, 7, 9, 10]), "0-3, 7, 9-10");
    }
}
