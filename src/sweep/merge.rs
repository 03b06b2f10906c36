//! `synctwin report merge`: point reports (`run.json` of sweep points) and shard
//! sweep reports (`sweep.json` of `--shard I/N` runs) combined into one sweep
//! report, judged and ranked the same way as a sweep run in one go.
//!
//! Sweep reports carry their grid, so shards of one grid merge into exactly the
//! points of the unsharded sweep, numbered the same way; they must agree on the
//! grid, and no point may come from two of them. Bare run reports carry their
//! settings (`scenario.overrides`); merged without a sweep report, their grid is
//! built from those settings, keys in alphabetical order and values sorted
//! (numerically when all are numbers). Every input must be of the same scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::evaluate::summarize;
use super::grid::{Axis, Grid};
use super::model::{RunSummary, SweepReport, SWEEP_VERSION};
use super::recommend::{build, point};
use crate::report::model::{RunReport, REPORT_VERSION};

/// One file given to `report merge`.
#[derive(Debug, Clone)]
pub enum Input {
    Sweep(PathBuf, Box<SweepReport>),
    Run(PathBuf, Box<RunReport>),
}

/// Reads a sweep report or a run report (told apart by the sweep's `axes`).
pub fn load(path: &Path) -> anyhow::Result<Input> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if value.get("axes").is_some() {
        if version != Some(u64::from(SWEEP_VERSION)) {
            bail!(
                "{} is a sweep report of version {}, this synctwin reads version {SWEEP_VERSION}",
                path.display(),
                version.map_or("?".to_string(), |v| v.to_string())
            );
        }
        let r: SweepReport =
            serde_json::from_value(value).with_context(|| format!("{} is not a valid sweep report", path.display()))?;
        return Ok(Input::Sweep(path.to_path_buf(), Box::new(r)));
    }
    if version != Some(u64::from(REPORT_VERSION)) {
        bail!(
            "{} is neither a sweep report (sweep.json) nor a run report of version {REPORT_VERSION} (run.json)",
            path.display()
        );
    }
    let r: RunReport =
        serde_json::from_value(value).with_context(|| format!("{} is not a valid run report", path.display()))?;
    Ok(Input::Run(path.to_path_buf(), Box::new(r)))
}

fn scenario_of(input: &Input) -> &str {
    match input {
        Input::Sweep(_, s) => &s.scenario,
        Input::Run(_, r) => &r.scenario.name,
    }
}

fn path_of(input: &Input) -> &Path {
    match input {
        Input::Sweep(p, _) | Input::Run(p, _) => p,
    }
}

/// The grid of bare run reports: keys alphabetical, values sorted.
fn grid_from_runs(runs: &[(&Path, &RunReport)]) -> anyhow::Result<Grid> {
    let Some((first_path, first)) = runs.first() else {
        return Grid::new(Vec::new()).map_err(Into::into);
    };
    let keys: BTreeSet<&String> = first.scenario.overrides.keys().collect();
    let mut values: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
    for (path, r) in runs {
        let these: BTreeSet<&String> = r.scenario.overrides.keys().collect();
        if these != keys {
            bail!(
                "{} sets {:?} but {} sets {:?}: run reports of one sweep set the same keys",
                path.display(),
                these,
                first_path.display(),
                keys
            );
        }
        for (k, v) in &r.scenario.overrides {
            values.entry(k).or_default().insert(v);
        }
    }
    let axes = values
        .into_iter()
        .map(|(key, vals)| {
            let mut vals: Vec<String> = vals.into_iter().cloned().collect();
            let numbers: Option<Vec<f64>> = vals.iter().map(|v| v.trim().parse::<f64>().ok()).collect();
            if let Some(n) = numbers {
                let mut pairs: Vec<(f64, String)> = n.into_iter().zip(vals).collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                vals = pairs.into_iter().map(|p| p.1).collect();
            }
            Axis {
                key: key.clone(),
                values: vals,
            }
        })
        .collect();
    Grid::new(axes).map_err(Into::into)
}

/// Merges the inputs into one sweep report.
pub fn merge(inputs: &[Input]) -> anyhow::Result<SweepReport> {
    let Some(first) = inputs.first() else {
        bail!("nothing to merge: name sweep.json or run.json files");
    };
    let scenario = scenario_of(first).to_string();
    for i in inputs {
        if scenario_of(i) != scenario {
            bail!(
                "{} is of scenario '{}', {} of '{}': merge reports of one scenario",
                path_of(i).display(),
                scenario_of(i),
                path_of(first).display(),
                scenario
            );
        }
    }
    let sweeps: Vec<(&Path, &SweepReport)> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Sweep(p, s) => Some((p.as_path(), s.as_ref())),
            Input::Run(..) => None,
        })
        .collect();
    let runs: Vec<(&Path, &RunReport)> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Run(p, r) => Some((p.as_path(), r.as_ref())),
            Input::Sweep(..) => None,
        })
        .collect();
    let grid = match sweeps.first() {
        Some((path, s)) => {
            for (other_path, other) in &sweeps[1..] {
                if other.axes != s.axes {
                    bail!(
                        "{} and {} sweep different grids: merge shards of one sweep (same --set flags)",
                        path.display(),
                        other_path.display()
                    );
                }
            }
            Grid::new(s.axes.clone())?
        }
        None => grid_from_runs(&runs)?,
    };
    let mut by_point: BTreeMap<u64, (PathBuf, Vec<RunSummary>)> = BTreeMap::new();
    let mut shards: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut repeat = 1;
    for (path, s) in &sweeps {
        repeat = repeat.max(s.repeat);
        for shard in &s.shards {
            if let Ok(sh) = shard.parse::<super::grid::Shard>() {
                shards.insert((sh.count, sh.index));
            }
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in &s.points {
            if let Some((earlier, _)) = by_point.get(&p.index) {
                bail!(
                    "point {} is in both {} and {}: shards never overlap; give each shard once",
                    p.index,
                    earlier.display(),
                    path.display()
                );
            }
            let runs = p
                .runs
                .iter()
                .cloned()
                .map(|mut r| {
                    r.report = r.report.map(|rel| dir.join(rel).display().to_string());
                    r
                })
                .collect();
            by_point.insert(p.index, (path.to_path_buf(), runs));
        }
    }
    for (path, r) in &runs {
        let Some(index) = grid.find(&r.scenario.overrides) else {
            bail!(
                "{} has settings {:?} that are not a point of the grid",
                path.display(),
                r.scenario.overrides
            );
        };
        let entry = by_point
            .entry(index)
            .or_insert_with(|| (path.to_path_buf(), Vec::new()));
        let n = entry.1.len() as u32 + 1;
        repeat = repeat.max(n);
        entry.1.push(summarize(r, n, Some(path.display().to_string())));
    }
    let points = by_point
        .into_iter()
        .map(|(index, (_, runs))| point(index, grid.settings(index).into_iter().collect(), runs))
        .collect();
    let shards = shards.into_iter().map(|(n, i)| format!("{i}/{n}")).collect();
    Ok(build(&scenario, &grid, repeat, shards, points))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::Shard;

    fn run_report(batch: &str, concurrency: &str, ttc_s: f64) -> RunReport {
        let mut r = RunReport {
            version: REPORT_VERSION,
            ..RunReport::default()
        };
        r.scenario.name = "s".into();
        r.scenario.overrides = [
            ("engine.inventory.batch_size".to_string(), batch.to_string()),
            ("engine.inventory.concurrency".to_string(), concurrency.to_string()),
        ]
        .into();
        r.latency.stock_consistency.time_to_consistency_ms = Some(ttc_s * 1000.0);
        r
    }

    fn runs() -> Vec<Input> {
        let mut out = Vec::new();
        for (i, b) in ["50", "250", "1000"].iter().enumerate() {
            for (j, c) in ["1", "2"].iter().enumerate() {
                let path = PathBuf::from(format!("p{i}{j}/run.json"));
                out.push(Input::Run(path, Box::new(run_report(b, c, 100.0 - (i * 2 + j) as f64))));
            }
        }
        out
    }

    #[test]
    fn run_reports_build_their_grid_and_merge_with_repeats() {
        let mut inputs = runs();
        inputs.push(Input::Run(
            "again/run.json".into(),
            Box::new(run_report("50", "1", 120.0)),
        ));
        let r = merge(&inputs).unwrap();
        assert_eq!(r.axes[0].values, ["50", "250", "1000"], "numeric order, not text order");
        assert_eq!(r.grid_points, 6);
        assert_eq!(r.points.len(), 6);
        assert_eq!(r.repeat, 2);
        assert_eq!(r.points[0].runs.len(), 2);
        assert_eq!(
            r.points[0].time_to_consistency_ms,
            Some(110_000.0),
            "median of 100 s and 120 s"
        );
        assert_eq!(r.recommendation.unwrap().index, 5, "1000 × 2: 95 s");
    }

    #[test]
    fn shards_merge_into_the_whole_grid_and_must_not_overlap() {
        let whole = merge(&runs()).unwrap();
        let grid = Grid {
            axes: whole.axes.clone(),
        };
        let shard_reports: Vec<Input> = (1..=4)
            .map(|i| {
                let shard = Shard { index: i, count: 4 };
                let points = whole
                    .points
                    .iter()
                    .filter(|p| shard.contains(p.index))
                    .cloned()
                    .collect();
                let s = build("s", &grid, 1, vec![shard.to_string()], points);
                Input::Sweep(PathBuf::from(format!("shard{i}/sweep.json")), Box::new(s))
            })
            .collect();
        let merged = merge(&shard_reports).unwrap();
        let set = |r: &SweepReport| {
            r.points
                .iter()
                .map(|p| (p.index, p.settings.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(set(&merged), set(&whole));
        assert!(merged.missing_points.is_empty());
        assert_eq!(merged.shards, ["1/4", "2/4", "3/4", "4/4"]);
        assert_eq!(merged.recommendation.as_ref().map(|r| r.index), Some(5));
        assert_eq!(
            merged.points[1].runs[0].report.as_deref(),
            Some("shard2/p01/run.json"),
            "report paths are kept relative to where the merge reads them"
        );
        // Three of four shards: the fourth's points are missing.
        let partial = merge(&shard_reports[..3]).unwrap();
        assert_eq!(partial.missing_points, [3]);
        // The same shard twice is refused.
        let twice = vec![shard_reports[0].clone(), shard_reports[0].clone()];
        assert!(merge(&twice).unwrap_err().to_string().contains("shards never overlap"));
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        let mut other = runs();
        if let Input::Run(_, r) = &mut other[1] {
            r.scenario.name = "t".into();
        }
        assert!(merge(&other).unwrap_err().to_string().contains("of one scenario"));
        let mut other = runs();
        if let Input::Run(_, r) = &mut other[1] {
            r.scenario.overrides.remove("engine.inventory.concurrency");
        }
        assert!(merge(&other).unwrap_err().to_string().contains("set the same keys"));
        assert!(merge(&[]).is_err());
    }
}
