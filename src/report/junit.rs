//! JUnit XML for CI: one `<testsuite>` per run, one `<testcase>` per threshold,
//! named after the metric; a failed threshold is a `<failure>` whose message gives
//! the actual value against the condition and whose body gives the owner and the
//! finding that explains it (its fix). The diagnosis (every finding, ranked) and the
//! harness warnings go to `<system-out>`, the diagnosis first; the number of findings
//! per severity are properties. Every string is XML-escaped with [`escape`]. A run
//! with no thresholds gives an empty suite (CI shows 0 tests).

use std::fmt::Write as _;

use super::table::actual_text;
use super::units;
use super::{Exporter, RunReport};
use crate::diagnose::{metric, Severity};

pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>> {
        Ok(render(r).into_bytes())
    }
}

/// Escapes text for XML attributes and text: `& < > " '`, and replaces characters
/// XML 1.0 does not allow (control characters other than tab and newlines) with U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document.
pub fn render(r: &RunReport) -> String {
    let s = &r.scenario;
    let tests = r.verdict.thresholds.len();
    let failures = r.verdict.thresholds.iter().filter(|t| !t.passed).count();
    let time = units::trim(r.harness.wall_seconds, 3);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"synctwin\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" \
         timestamp=\"{}\" time=\"{time}\">",
        escape(&s.name),
        escape(&s.started_at)
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("seed", s.seed.to_string()),
        ("duration_ms", s.duration_ms.to_string()),
        ("speed", units::trim(s.speed, 3)),
        ("engine", s.engine.clone()),
        ("shopware_profile", s.shopware_profile.clone()),
        ("erp_profile", s.erp_profile.clone()),
        ("report_version", r.version.to_string()),
        ("diagnosis.findings", r.diagnosis.len().to_string()),
        (
            "diagnosis.critical",
            r.diagnosis
                .iter()
                .filter(|f| f.severity == Severity::Critical)
                .count()
                .to_string(),
        ),
    ] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", escape(&value));
    }
    let _ = writeln!(out, "    </properties>");
    let classname = format!("synctwin.{}", escape(&s.name));
    for t in &r.verdict.thresholds {
        let name = format!("{} {}", escape(&t.metric), escape(&t.condition));
        if t.passed {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"0\"/>"
            );
            continue;
        }
        let actual = actual_text(&t.metric, t.actual);
        let raw = t.actual.map_or_else(|| "none".to_string(), |v| v.to_string());
        let _ = writeln!(
            out,
            "    <testcase classname=\"{classname}\" name=\"{name}\" time=\"0\">"
        );
        let next = match metric::explaining(r, &t.metric) {
            Some((i, f)) => format!("finding #{}: {}\nfix: {}", i + 1, f.title, f.fix),
            None => metric::advice(&t.metric).to_string(),
        };
        let _ = writeln!(
            out,
            "      <failure type=\"threshold\" message=\"{}\">actual: {} ({})\ncondition: {}\nowner: {}\n{}</failure>",
            escape(&format!("{} was {actual}, wanted {}", t.metric, t.condition)),
            escape(&raw),
            escape(&actual),
            escape(&t.condition),
            metric::owner(&t.metric),
            escape(&next)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    let mut system_out: Vec<String> = r
        .diagnosis
        .iter()
        .enumerate()
        .map(|(i, f)| {
            escape(&format!(
                "finding {}: [{}] {} ({}): {}\n  evidence: {}\n  fix: {}",
                i + 1,
                f.severity,
                f.title,
                f.owner,
                crate::diagnose::render::affected(f),
                f.evidence,
                f.fix
            ))
        })
        .collect();
    system_out.extend(r.harness.warnings.iter().map(|w| format!("warning: {}", escape(w))));
    if !system_out.is_empty() {
        let _ = writeln!(out, "    <system-out>{}</system-out>", system_out.join("\n"));
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{assert_snapshot, sample_report};

    #[test]
    fn sample_junit_snapshot() {
        let xml = render(&sample_report());
        assert_snapshot("sample.junit.xml", &xml);
        assert!(xml.contains("<testsuites name=\"synctwin\" tests=\"3\" failures=\"2\""));
        assert!(xml.contains(
            "<testcase classname=\"synctwin.f3-429-storm\" name=\"latency.order_export.p95 &lt; 5m\" time=\"0\"/>"
        ));
        assert!(xml.contains(
            "<failure type=\"threshold\" message=\"reconciliation.missing_orders was 3, wanted == 0\">actual: 3 (3)"
        ));
        assert!(xml.contains(
            "message=\"rate_limits.ratio_429 was 3.46 %, wanted &lt;= 2%\">actual: 0.0346 (3.46 %)\ncondition: &lt;= 2%"
        ));
    }

    #[test]
    fn strings_are_xml_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}tab\t"), "bell\u{FFFD}tab\t");
        let mut r = sample_report();
        r.scenario.name = "</testsuite><script>\"".into();
        r.harness.warnings.push("]]> & <b>".into());
        r.diagnosis[0].fix = "</system-out><b>".into();
        let xml = render(&r);
        assert!(!xml.contains("<script>") && !xml.contains("<b>") && !xml.contains("]]> &"));
        assert!(xml.contains("name=\"&lt;/testsuite&gt;&lt;script&gt;&quot;\""));
        assert_eq!(xml.matches("<testsuite ").count(), 1);
        assert_eq!(xml.matches("</testsuite>").count(), 1);
    }

    #[test]
    fn no_thresholds_is_an_empty_suite() {
        let mut r = sample_report();
        r.verdict.thresholds.clear();
        r.verdict.passed = true;
        let xml = render(&r);
        assert!(xml.contains("tests=\"0\" failures=\"0\""));
        assert!(!xml.contains("<testcase"));
    }
}
