//! The JSON schema of [`SweepReport`], generated with `schemars` and committed as
//! `reports/schema/sweep-report.v1.json`, kept honest like the run report's
//! ([`crate::report::schema`]): `SYNCTWIN_UPDATE_SCHEMA=1 cargo test --lib sweep::schema`
//! rewrites it after an intended change; review the diff.

use super::model::{SweepReport, SWEEP_VERSION};

/// Where the schema of the current [`SWEEP_VERSION`] is committed, relative to the repository root.
pub const SCHEMA_PATH: &str = "reports/schema/sweep-report.v1.json";

/// The schema of [`SweepReport`] as a JSON value (draft 2020-12).
pub fn schema() -> serde_json::Value {
    crate::report::schema::described_schema::<SweepReport>(format!(
        "synctwin sweep report, version {SWEEP_VERSION}: one scenario over a grid of settings, \
         a summary per point and the recommended point. Times are scenario milliseconds."
    ))
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn schema_text() -> String {
    crate::report::schema::committed_text(&schema())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::sweep::grid::{Axis, Grid};
    use crate::sweep::model::RunSummary;
    use crate::sweep::recommend::{build, point};

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH)
    }

    #[test]
    fn committed_schema_matches_the_model() {
        let generated = schema_text();
        if std::env::var_os("SYNCTWIN_UPDATE_SCHEMA").is_some() {
            std::fs::write(committed_path(), &generated).expect("write the schema");
        }
        let on_disk = std::fs::read_to_string(committed_path()).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{SCHEMA_PATH} is out of date with src/sweep/model.rs: if intended, run \
             `SYNCTWIN_UPDATE_SCHEMA=1 cargo test --lib sweep::schema` and review the diff \
             (bump SWEEP_VERSION and the file name for an incompatible change)."
        );
        assert!(SCHEMA_PATH.ends_with(&format!(".v{SWEEP_VERSION}.json")));
    }

    #[test]
    fn a_sweep_report_validates_and_a_broken_one_does_not() {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap();
        let grid = Grid::new(vec![Axis::parse("engine.inventory.batch_size=50,250").unwrap()]).unwrap();
        let points = (0..2)
            .map(|i| {
                let run = RunSummary {
                    repeat: 1,
                    time_to_consistency_ms: Some(1000.0 * (i + 1) as f64),
                    ratio_429_limit: Some("< 1%".into()),
                    ratio_429_source: Some("default".into()),
                    ..RunSummary::default()
                };
                point(i, grid.settings(i).into_iter().collect(), vec![run])
            })
            .collect();
        let report = build("s", &grid, 1, vec!["1/1".into()], points);
        assert!(report.recommendation.is_some());
        let good = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator.iter_errors(&good).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let mut bad = good.clone();
        bad["points"][0]["index"] = "0".into();
        assert!(!validator.is_valid(&bad));
        let mut bad = good;
        bad.as_object_mut().unwrap().remove("axes");
        assert!(!validator.is_valid(&bad));
    }
}
