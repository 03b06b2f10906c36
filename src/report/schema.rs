//! The JSON schema of [`RunReport`], generated from the model with `schemars` and
//! committed as `reports/schema/run-report.v1.json` (a contract, STYLE.md §3.11).
//!
//! A unit test regenerates the schema and compares it byte for byte with the committed
//! file, so a change to the model cannot slip past review: run
//! `SYNCTWIN_UPDATE_SCHEMA=1 cargo test --lib report::schema` to rewrite the file, then
//! read the diff. A second test validates the sample report's JSON against the
//! committed file. How versions move is in `reports/README.md`.

use super::model::{RunReport, REPORT_VERSION};

/// Where the schema of the current [`REPORT_VERSION`] is committed, relative to the
/// repository root.
pub const SCHEMA_PATH: &str = "reports/schema/run-report.v1.json";

/// The schema of [`RunReport`] as a JSON value (draft 2020-12).
pub fn schema() -> serde_json::Value {
    described_schema::<RunReport>(format!(
        "synctwin run report, version {REPORT_VERSION}. Every other report format is rendered from it. \
         Times are scenario milliseconds unless a field says otherwise."
    ))
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn schema_text() -> String {
    committed_text(&schema())
}

/// `T`'s schema (draft 2020-12) with a top-level description; every committed
/// report schema (run, sweep) is made this way.
pub fn described_schema<T: schemars::JsonSchema>(description: String) -> serde_json::Value {
    let mut value = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("description".into(), serde_json::Value::String(description));
    }
    value
}

/// A schema as it is committed: pretty JSON with a trailing newline.
pub fn committed_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::report::sample::sample_report;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH)
    }

    fn committed() -> serde_json::Value {
        let text = std::fs::read_to_string(committed_path()).expect("the committed schema is readable");
        serde_json::from_str(&text).expect("the committed schema is JSON")
    }

    fn validator() -> jsonschema::Validator {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&committed())
            .expect("the committed schema compiles")
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
            "{SCHEMA_PATH} is out of date with src/report/model.rs.\n\
             If the change is intended, run `SYNCTWIN_UPDATE_SCHEMA=1 cargo test --lib report::schema`, \
             review the diff, and bump REPORT_VERSION (and the file name) if the change is incompatible \
             (see reports/README.md)."
        );
    }

    #[test]
    fn sample_report_validates_against_the_committed_schema() {
        let instance = serde_json::to_value(sample_report()).unwrap();
        let errors: Vec<String> = validator()
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "sample report does not validate: {errors:#?}");
    }

    #[test]
    fn reports_written_before_the_diagnosis_still_read_and_validate() {
        let mut old = serde_json::to_value(sample_report()).unwrap();
        old.as_object_mut().unwrap().remove("diagnosis");
        assert!(validator().is_valid(&old));
        let read: crate::report::RunReport = serde_json::from_value(old).unwrap();
        assert!(read.diagnosis.is_empty());
        let mut finding = serde_json::to_value(&sample_report().diagnosis[0]).unwrap();
        finding.as_object_mut().unwrap().remove("metrics");
        let f: crate::diagnose::Finding = serde_json::from_value(finding).unwrap();
        assert!(f.metrics.is_empty());
    }

    #[test]
    fn the_schema_rejects_broken_reports() {
        let validator = validator();
        let good = serde_json::to_value(sample_report()).unwrap();
        type Break = fn(&mut serde_json::Value);
        let breaks: [(&str, Break); 4] = [
            ("version missing", |v| {
                v.as_object_mut().unwrap().remove("version");
            }),
            ("a count as text", |v| {
                v["reconciliation"]["missing_orders"] = "3".into()
            }),
            ("a negative count", |v| v["rate_limits"]["throttled_429"] = (-1).into()),
            ("a latency that is not a number (NaN serialises as null)", |v| {
                v["latency"]["order_export"]["p95_ms"] = serde_json::Value::Null
            }),
        ];
        for (what, break_it) in breaks {
            let mut bad = good.clone();
            break_it(&mut bad);
            assert!(!validator.is_valid(&bad), "the schema accepted a report with {what}");
        }
    }

    #[test]
    fn the_committed_schema_is_the_current_version() {
        assert!(SCHEMA_PATH.ends_with(&format!(".v{REPORT_VERSION}.json")));
        assert_eq!(committed()["$schema"], "https://json-schema.org/draft/2020-12/schema");
    }
}
