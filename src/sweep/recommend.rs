//! From runs to a verdict: a point's runs summarised ([`point`]), the whole
//! sweep assembled ([`build`]) and the recommendation chosen ([`recommend`]).
//!
//! Ranking: among points whose every run passed (see [`super::evaluate`]), the
//! lowest median time to consistency wins; ties (equal times) go to fewer 429s,
//! then fewer 5xx, then the lower p95 stock lag, then the lower point number.
//! The recommendation lists its neighbours (one step away on one axis) with their
//! margin, so a reader sees whether the choice sits on a plateau or at a cliff.

use std::collections::BTreeMap;

use super::grid::Grid;
use super::model::{Criteria, Neighbour, PointResult, Recommendation, RunSummary, SweepReport, SWEEP_VERSION};
use crate::report::units;

/// How points are ranked, as the report states it.
pub const RANKING: &str = "lowest median time to consistency among points whose every run passed; \
ties go to fewer 429s, then fewer 5xx, then the lower p95 stock lag, then the lower point number";

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Summarises a point's runs (sorted by repeat).
pub fn point(index: u64, settings: BTreeMap<String, String>, mut runs: Vec<RunSummary>) -> PointResult {
    runs.sort_by_key(|r| r.repeat);
    let done: Vec<&RunSummary> = runs.iter().filter(|r| r.error.is_none()).collect();
    let med = |f: &dyn Fn(&RunSummary) -> f64| median(done.iter().map(|r| f(r)).collect());
    let time_to_consistency_ms = if !runs.is_empty() && runs.iter().all(|r| r.time_to_consistency_ms.is_some()) {
        Some(median(runs.iter().filter_map(|r| r.time_to_consistency_ms).collect()))
    } else {
        None
    };
    let many = runs.len() > 1;
    let failures = runs
        .iter()
        .flat_map(|r| {
            r.failures.iter().map(move |f| {
                if many {
                    format!("run {}: {f}", r.repeat)
                } else {
                    f.clone()
                }
            })
        })
        .collect::<Vec<_>>();
    PointResult {
        index,
        settings,
        time_to_consistency_ms,
        throttled_429: med(&|r| r.throttled_429 as f64),
        ratio_429: med(&|r| r.ratio_429),
        server_errors_5xx: med(&|r| r.server_errors_5xx as f64),
        oversell_events: med(&|r| r.oversell_events as f64),
        stock_sync_p95_ms: med(&|r| r.stock_sync_p95_ms),
        passed: !runs.is_empty() && failures.is_empty(),
        failures,
        runs,
    }
}

/// `key=value key=value` in axis order.
pub fn settings_text(grid: &Grid, settings: &BTreeMap<String, String>) -> String {
    if grid.axes.is_empty() {
        return "(the scenario as written)".into();
    }
    grid.axes
        .iter()
        .map(|a| format!("{}={}", a.key, settings.get(&a.key).map_or("?", String::as_str)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn rank_key(p: &PointResult) -> (f64, f64, f64, f64, u64) {
    (
        p.time_to_consistency_ms.unwrap_or(f64::INFINITY),
        p.throttled_429,
        p.server_errors_5xx,
        p.stock_sync_p95_ms,
        p.index,
    )
}

fn rank_cmp(a: &PointResult, b: &PointResult) -> std::cmp::Ordering {
    let (a, b) = (rank_key(a), rank_key(b));
    a.0.total_cmp(&b.0)
        .then(a.1.total_cmp(&b.1))
        .then(a.2.total_cmp(&b.2))
        .then(a.3.total_cmp(&b.3))
        .then(a.4.cmp(&b.4))
}

/// The recommended point among `points` (any order), with its neighbours in `grid`.
pub fn recommend(grid: &Grid, points: &[PointResult], criteria: &Criteria) -> Option<Recommendation> {
    let mut candidates: Vec<&PointResult> = points
        .iter()
        .filter(|p| p.passed && p.time_to_consistency_ms.is_some())
        .collect();
    candidates.sort_by(|a, b| rank_cmp(a, b));
    let best = *candidates.first()?;
    let best_ttc = best.time_to_consistency_ms?;
    let tied_with: Vec<u64> = candidates[1..]
        .iter()
        .filter(|p| p.time_to_consistency_ms == Some(best_ttc))
        .map(|p| p.index)
        .collect();
    let by_index: BTreeMap<u64, &PointResult> = points.iter().map(|p| (p.index, p)).collect();
    let neighbours: Vec<Neighbour> = grid
        .neighbours(best.index)
        .into_iter()
        .filter_map(|(index, axis)| {
            let p = by_index.get(&index)?;
            let key = grid.axes[axis].key.clone();
            Some(Neighbour {
                index,
                value: p.settings.get(&key).cloned().unwrap_or_default(),
                key,
                time_to_consistency_ms: p.time_to_consistency_ms,
                margin_ms: p.time_to_consistency_ms.map(|t| t - best_ttc),
                passed: p.passed,
                failures: p.failures.clone(),
            })
        })
        .collect();
    let mut summary = format!(
        "Recommended: {} (point {}). Stock consistent {} after the last ERP stock change, no reconciliation gap, \
         429 ratio {} (limit {}, {}).",
        settings_text(grid, &best.settings),
        best.index,
        units::duration(best_ttc),
        units::percent(best.ratio_429),
        criteria.ratio_429,
        if criteria.ratio_429_source == "scenario" {
            "the scenario's threshold"
        } else {
            "the default: the scenario sets none"
        }
    );
    if !tied_with.is_empty() {
        summary.push_str(&format!(
            " Tied on time to consistency with point{} {}; ranked first by fewer 429s, then 5xx, then p95 stock lag, then point number.",
            if tied_with.len() > 1 { "s" } else { "" },
            tied_with.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    if neighbours.is_empty() {
        summary.push_str(" No neighbouring point was run.");
    } else {
        let parts: Vec<String> = neighbours.iter().map(neighbour_text).collect();
        summary.push_str(&format!(" Neighbours: {}.", parts.join("; ")));
    }
    Some(Recommendation {
        index: best.index,
        settings: best.settings.clone(),
        time_to_consistency_ms: best_ttc,
        tied_with,
        neighbours,
        summary,
    })
}

/// `batch_size=500: 40 s slower` / `…: fails (429 ratio 3 % …)`.
pub fn neighbour_text(n: &Neighbour) -> String {
    let what = if !n.passed {
        format!("fails ({})", n.failures.first().map_or("no run", String::as_str))
    } else {
        match n.margin_ms {
            Some(m) if m > 0.0 => format!("{} slower", units::duration(m)),
            Some(m) if m < 0.0 => format!("{} faster", units::duration(-m)),
            Some(_) => "as fast".into(),
            None => "no time to consistency".into(),
        }
    };
    format!("{}={}: {what}", n.key, n.value)
}

/// The criteria as stated in the report: from the runs when they agree.
pub fn criteria(points: &[PointResult]) -> Criteria {
    let rules: std::collections::BTreeSet<(String, String)> = points
        .iter()
        .flat_map(|p| p.runs.iter())
        .filter_map(|r| Some((r.ratio_429_limit.clone()?, r.ratio_429_source.clone()?)))
        .collect();
    let (ratio_429, source) = match rules.len() {
        0 => (super::evaluate::DEFAULT_RATIO_429.to_string(), "default".to_string()),
        1 => rules.into_iter().next().unwrap_or_default(),
        _ => (
            rules.iter().map(|r| r.0.as_str()).collect::<Vec<_>>().join(" / "),
            "scenario (differs between points)".to_string(),
        ),
    };
    Criteria {
        gap_metrics: super::evaluate::GAP_METRICS.iter().map(|m| m.to_string()).collect(),
        ratio_429,
        ratio_429_source: source,
        ranking: RANKING.to_string(),
    }
}

/// The sweep report of these points (any order) over `grid`.
pub fn build(
    scenario: &str,
    grid: &Grid,
    repeat: u32,
    shards: Vec<String>,
    mut points: Vec<PointResult>,
) -> SweepReport {
    points.sort_by_key(|p| p.index);
    let have: std::collections::BTreeSet<u64> = points.iter().map(|p| p.index).collect();
    let criteria = criteria(&points);
    let recommendation = recommend(grid, &points, &criteria);
    SweepReport {
        version: SWEEP_VERSION,
        scenario: scenario.to_string(),
        axes: grid.axes.clone(),
        grid_points: grid.len(),
        repeat,
        shards,
        criteria,
        missing_points: (0..grid.len()).filter(|i| !have.contains(i)).collect(),
        points,
        recommendation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::Axis;

    fn grid() -> Grid {
        Grid::new(vec![
            Axis::parse("engine.inventory.batch_size=50,250,1000").unwrap(),
            Axis::parse("engine.inventory.concurrency=1,2").unwrap(),
        ])
        .unwrap()
    }

    /// A synthetic run: time to consistency (s), 429s, failures.
    fn run(ttc_s: Option<f64>, throttled: u64, failures: &[&str]) -> RunSummary {
        RunSummary {
            repeat: 1,
            time_to_consistency_ms: ttc_s.map(|s| s * 1000.0),
            throttled_429: throttled,
            failures: failures.iter().map(|f| f.to_string()).collect(),
            ..RunSummary::default()
        }
    }

    fn points(g: &Grid, runs: Vec<Vec<RunSummary>>) -> Vec<PointResult> {
        runs.into_iter()
            .enumerate()
            .map(|(i, r)| point(i as u64, g.settings(i as u64).into_iter().collect(), r))
            .collect()
    }

    #[test]
    fn the_fastest_passing_point_wins_and_its_neighbours_show_the_margin() {
        let g = grid();
        // Points: 0 (50,1) 1 (50,2) 2 (250,1) 3 (250,2) 4 (1000,1) 5 (1000,2).
        let ps = points(
            &g,
            vec![
                vec![run(Some(300.0), 0, &[])],
                vec![run(Some(200.0), 0, &[])],
                vec![run(Some(150.0), 0, &[])],
                vec![run(Some(90.0), 5, &[])],
                // Faster, but fails: must not be recommended.
                vec![run(Some(30.0), 0, &["reconciliation gap: oversell_events 2"])],
                vec![run(
                    Some(60.0),
                    80,
                    &["429 ratio 4 % fails the scenario's threshold < 2%"],
                )],
            ],
        );
        let r = build("s", &g, 1, vec!["1/1".into()], ps);
        let rec = r.recommendation.as_ref().expect("a point passed");
        assert_eq!(rec.index, 3);
        assert_eq!(rec.time_to_consistency_ms, 90_000.0);
        assert!(rec.tied_with.is_empty());
        // Neighbours of (250,2): (50,2) +110 s, (1000,2) fails, (250,1) +60 s.
        let n: BTreeMap<u64, &Neighbour> = rec.neighbours.iter().map(|n| (n.index, n)).collect();
        assert_eq!(n.len(), 3);
        assert_eq!(n[&1].margin_ms, Some(110_000.0));
        assert_eq!(n[&2].margin_ms, Some(60_000.0));
        assert_eq!(
            (n[&2].key.as_str(), n[&2].value.as_str()),
            ("engine.inventory.concurrency", "1")
        );
        assert!(!n[&5].passed && n[&5].failures[0].contains("429 ratio"));
        assert!(rec
            .summary
            .contains("engine.inventory.batch_size=250 engine.inventory.concurrency=2"));
        assert!(rec.summary.contains("1 m 30 s"), "{}", rec.summary);
        assert!(
            rec.summary.contains("engine.inventory.concurrency=1: 1 m slower"),
            "{}",
            rec.summary
        );
        assert!(rec.summary.contains("fails (429 ratio"), "{}", rec.summary);
        assert!(
            rec.summary.contains("the default: the scenario sets none"),
            "{}",
            rec.summary
        );
        assert!(r.missing_points.is_empty());
    }

    #[test]
    fn ties_go_to_fewer_429s_then_the_lower_point() {
        let g = grid();
        let ps = points(
            &g,
            vec![
                vec![run(Some(100.0), 7, &[])],
                vec![run(Some(100.0), 2, &[])],
                vec![run(Some(100.0), 2, &[])],
                vec![run(Some(400.0), 0, &[])],
                vec![run(Some(400.0), 0, &[])],
                vec![run(Some(400.0), 0, &[])],
            ],
        );
        let rec = recommend(&g, &ps, &criteria(&ps)).unwrap();
        assert_eq!(
            rec.index, 1,
            "100 s with 2 429s; point 2 ties fully and has the higher number"
        );
        assert_eq!(rec.tied_with, vec![2, 0]);
        assert!(
            rec.summary.contains("Tied on time to consistency with points 2, 0"),
            "{}",
            rec.summary
        );
    }

    #[test]
    fn no_passing_point_no_recommendation_and_failures_say_why() {
        let g = grid();
        let ps = points(
            &g,
            (0..6)
                .map(|i| {
                    vec![run(
                        if i % 2 == 0 { None } else { Some(10.0) },
                        0,
                        &["reconciliation gap: x"],
                    )]
                })
                .collect(),
        );
        let r = build("s", &g, 1, vec![], ps);
        assert!(r.recommendation.is_none());
        assert!(r
            .points
            .iter()
            .all(|p| !p.passed && p.failures == ["reconciliation gap: x"]));
    }

    #[test]
    fn repeats_take_the_median_and_a_point_passes_only_if_every_run_does() {
        let mut second = run(Some(50.0), 4, &[]);
        second.repeat = 2;
        let mut third = run(Some(70.0), 6, &[]);
        third.repeat = 3;
        let p = point(
            0,
            BTreeMap::new(),
            vec![third.clone(), run(Some(10.0), 0, &[]), second.clone()],
        );
        assert_eq!(p.runs.iter().map(|r| r.repeat).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(p.time_to_consistency_ms, Some(50_000.0));
        assert_eq!(p.throttled_429, 4.0);
        assert!(p.passed);
        let mut bad = second;
        bad.failures = vec!["429 ratio 2 % is not < 1%".into()];
        let p = point(0, BTreeMap::new(), vec![run(Some(10.0), 0, &[]), bad, third]);
        assert!(!p.passed);
        assert_eq!(p.failures, ["run 2: 429 ratio 2 % is not < 1%"]);
        // A run that never settled leaves the point without a time.
        let p = point(
            0,
            BTreeMap::new(),
            vec![run(Some(10.0), 0, &[]), run(None, 0, &["never"])],
        );
        assert_eq!(p.time_to_consistency_ms, None);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn points_not_run_are_listed_and_not_neighbours() {
        let g = grid();
        let ps: Vec<PointResult> = points(&g, (0..6).map(|i| vec![run(Some(100.0 + i as f64), 0, &[])]).collect())
            .into_iter()
            .filter(|p| p.index % 2 == 0)
            .collect();
        let r = build("s", &g, 1, vec!["1/2".into()], ps);
        assert_eq!(r.missing_points, vec![1, 3, 5]);
        let rec = r.recommendation.unwrap();
        assert_eq!(rec.index, 0);
        assert_eq!(
            rec.neighbours.iter().map(|n| n.index).collect::<Vec<_>>(),
            [2],
            "1 was not run"
        );
    }
}
