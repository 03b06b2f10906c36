//! The JSON report: the [`RunReport`] itself, pretty-printed with a trailing newline.
//! Stable: struct fields keep their declaration order and maps are BTreeMaps, so the
//! same report gives the same bytes (and diffs well when committed as a baseline).

use anyhow::Context;

use super::{Exporter, RunReport};

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
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
}
