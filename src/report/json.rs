//! The JSON report: the [`RunReport`] itself, pretty-printed with a trailing newline.
//! Stable: struct fields keep their declaration order and maps are BTreeMaps, so the
//! same report gives the same bytes (and diffs well when committed as a baseline).

use anyhow::{bail, Context};
use serde_json::Value;

use super::{Exporter, RunReport};

pub struct JsonExporter;

/// The fields that may be `null`: a threshold's `actual` when it had no value, and
/// the instants of `latency.stock_consistency` when there were none.
const NULLABLE: &[&str] = &[
    "actual",
    "last_erp_stock_change_ms",
    "consistent_at_ms",
    "time_to_consistency_ms",
];

/// The first number that serialised as `null` (serde_json writes NaN and infinity
/// so), as a JSON pointer; such a report would not match its own schema.
fn first_non_finite(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Null => Some(path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_non_finite(v, &format!("{path}/{i}"))),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, v)| !(NULLABLE.contains(&k.as_str()) && v.is_null()))
            .find_map(|(k, v)| first_non_finite(v, &format!("{path}/{k}"))),
        _ => None,
    }
}

impl Exporter for JsonExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
        let value = serde_json::to_value(r).context("Failed to serialise the run report as JSON")?;
        if let Some(pointer) = first_non_finite(&value, "") {
            bail!(
                "the run report has a number that is not finite (NaN or infinity) at {pointer}; \
                 it would not match reports/schema/run-report.v1.json"
            );
        }
        let mut bytes = serde_json::to_vec_pretty(r).context("Failed to serialise the run report as JSON")?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::sample_report;

    #[test]
    fn json_round_trips_and_is_stable() {
        let r = sample_report();
        let bytes = JsonExporter.render(&r).unwrap();
        assert_eq!(JsonExporter.render(&r).unwrap(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("{\n  \"version\": 1,\n  \"scenario\": {\n    \"name\": \"f3-429-storm\","));
        assert!(text.ends_with("}\n"));
        // Maps are sorted: erp before shopware, statuses in text order.
        assert!(text.find("\"erp\"").unwrap() < text.find("\"shopware\"").unwrap());
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_place() {
        let mut r = sample_report();
        r.latency.stock_sync.mean_ms = f64::NAN;
        let err = JsonExporter.render(&r).unwrap_err().to_string();
        assert!(
            err.contains("not finite (NaN or infinity) at /latency/stock_sync/mean_ms"),
            "{err}"
        );
        let mut r = sample_report();
        r.timeline[3].stock_lag_ms = f64::INFINITY;
        let err = JsonExporter.render(&r).unwrap_err().to_string();
        assert!(err.contains("at /timeline/3/stock_lag_ms"), "{err}");
        // A threshold without a value is fine.
        let mut r = sample_report();
        r.verdict.thresholds[0].actual = None;
        assert!(JsonExporter.render(&r).is_ok());
        // Nor a run that never became consistent.
        r.latency.stock_consistency = Default::default();
        assert!(JsonExporter.render(&r).is_ok());
    }
}
