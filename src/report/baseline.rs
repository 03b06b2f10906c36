//! Baseline comparison (`--baseline REPORT.json`): every metric of [`METRICS`] in a
//! committed report against the current one, with absolute and relative deltas. The
//! table and Markdown exporters render it as a section. Pure apart from [`load`].
//!
//! Reports of different versions are not compared: a metric's meaning may have
//! changed, and a silent wrong delta is worse than an error.

use std::path::{Path, PathBuf};

use super::model::{RunReport, REPORT_VERSION};
use super::threshold::{metric_kind, metric_value, METRICS};
use super::units::{self, Kind};

/// Why a baseline cannot be used. Callers branch: all of these are usage errors (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline report '{}': {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("baseline '{}' is not a synctwin run report: {reason}", path.display())]
    NotAReport { path: PathBuf, reason: String },
    #[error(
        "baseline report is version {baseline} and this run is version {current}; reports of different \
         versions are not compared. Re-run the baseline scenario with this build and commit its run.json"
    )]
    VersionMismatch { baseline: u32, current: u32 },
}

/// One metric in both reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub metric: &'static str,
    pub kind: Kind,
    pub baseline: f64,
    pub current: f64,
    /// `current - baseline`, in the metric's unit.
    pub absolute: f64,
    /// `absolute / |baseline|`; `None` when the baseline is 0.
    pub relative: Option<f64>,
}

impl Delta {
    pub fn changed(&self) -> bool {
        self.absolute != 0.0
    }

    /// The absolute delta with a sign, in human units (`+2.3 s`, `-12`, `+1.2 %`).
    pub fn absolute_text(&self) -> String {
        let sign = if self.absolute > 0.0 { "+" } else { "" };
        format!("{sign}{}", units::value(self.kind, self.absolute))
    }

    /// The relative delta with a sign (`+15.2 %`), or `new` when the baseline was 0.
    pub fn relative_text(&self) -> String {
        match self.relative {
            Some(r) => format!("{}{}", if r > 0.0 { "+" } else { "" }, units::percent(r)),
            None if self.changed() => "new".into(),
            None => "0 %".into(),
        }
    }
}

/// The current report against a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The baseline's scenario name and start, to say what was compared.
    pub baseline_scenario: String,
    pub baseline_started_at: String,
    /// One per metric of [`METRICS`], in that order.
    pub deltas: Vec<Delta>,
}

impl Comparison {
    /// The metrics whose value changed.
    pub fn changed(&self) -> impl Iterator<Item = &Delta> {
        self.deltas.iter().filter(|d| d.changed())
    }
}

/// Compares `current` against `baseline`; an error when their versions differ.
pub fn compare(baseline: &RunReport, current: &RunReport) -> Result<Comparison, BaselineError> {
    if baseline.version != current.version {
        return Err(BaselineError::VersionMismatch {
            baseline: baseline.version,
            current: current.version,
        });
    }
    let deltas = METRICS
        .iter()
        .filter_map(|&metric| {
            let (b, c) = (metric_value(baseline, metric)?, metric_value(current, metric)?);
            let absolute = c - b;
            Some(Delta {
                metric,
                kind: metric_kind(metric)?,
                baseline: b,
                current: c,
                absolute,
                relative: (b != 0.0).then(|| absolute / b.abs()),
            })
        })
        .collect();
    Ok(Comparison {
        baseline_scenario: baseline.scenario.name.clone(),
        baseline_started_at: baseline.scenario.started_at.clone(),
        deltas,
    })
}

/// Reads a baseline report. The version is checked before the rest is parsed, so a
/// report of another version gives [`BaselineError::VersionMismatch`], not a parse error.
pub fn load(path: &Path) -> Result<RunReport, BaselineError> {
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Unreadable {
        path: path.into(),
        source,
    })?;
    let not_a_report = |reason: String| BaselineError::NotAReport {
        path: path.into(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| not_a_report(e.to_string()))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| not_a_report("it has no numeric \"version\"".into()))?;
    if version != u64::from(REPORT_VERSION) {
        return Err(BaselineError::VersionMismatch {
            baseline: u32::try_from(version).unwrap_or(u32::MAX),
            current: REPORT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| not_a_report(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::sample_report;

    fn delta<'a>(c: &'a Comparison, metric: &str) -> &'a Delta {
        c.deltas.iter().find(|d| d.metric == metric).unwrap()
    }

    #[test]
    fn deltas_are_absolute_and_relative() {
        let baseline = sample_report();
        let mut current = sample_report();
        current.latency.order_export.p95_ms = 300_000.0;
        current.reconciliation.missing_orders = 0;
        current.reconciliation.orphaned_orders = 2;
        let c = compare(&baseline, &current).unwrap();
        assert_eq!(c.deltas.len(), METRICS.len());
        let p95 = delta(&c, "latency.order_export.p95");
        assert_eq!((p95.absolute, p95.relative), (50_000.0, Some(0.2)));
        assert_eq!(
            (p95.absolute_text(), p95.relative_text()),
            ("+50 s".into(), "+20 %".into())
        );
        let missing = delta(&c, "reconciliation.missing_orders");
        assert_eq!((missing.absolute, missing.relative), (-3.0, Some(-1.0)));
        assert_eq!(
            (missing.absolute_text(), missing.relative_text()),
            ("-3".into(), "-100 %".into())
        );
        let orphaned = delta(&c, "reconciliation.orphaned_orders");
        assert_eq!((orphaned.relative, orphaned.relative_text()), (None, "new".into()));
        let changed: Vec<_> = c.changed().map(|d| d.metric).collect();
        assert_eq!(
            changed,
            [
                "latency.order_export.p95",
                "reconciliation.missing_orders",
                "reconciliation.orphaned_orders"
            ]
        );
        assert_eq!(compare(&baseline, &baseline).unwrap().changed().count(), 0);
    }

    #[test]
    fn another_version_is_a_clear_error() {
        let mut old = sample_report();
        old.version = REPORT_VERSION + 1;
        let err = compare(&old, &sample_report()).unwrap_err();
        assert!(matches!(err, BaselineError::VersionMismatch { .. }));
        assert!(err.to_string().contains(&format!(
            "baseline report is version {} and this run is version {REPORT_VERSION}",
            REPORT_VERSION + 1
        )));

        let dir = std::env::temp_dir().join(format!("synctwin-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.json");
        // Another version may have other fields: the version is what the error names.
        std::fs::write(&path, r#"{"version": 99, "something": "else"}"#).unwrap();
        assert!(matches!(
            load(&path),
            Err(BaselineError::VersionMismatch { baseline: 99, .. })
        ));
        std::fs::write(&path, r#"{"scenario": {}}"#).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("is not a synctwin run report: it has no numeric \"version\""),
            "{err}"
        );
        std::fs::write(&path, serde_json::to_string(&sample_report()).unwrap()).unwrap();
        assert_eq!(load(&path).unwrap(), sample_report());
        let missing = dir.join("missing.json");
        assert!(load(&missing)
            .unwrap_err()
            .to_string()
            .starts_with("cannot read baseline report"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
