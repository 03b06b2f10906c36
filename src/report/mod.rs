//! Run reports: the versioned [`model::RunReport`] and its renderings.
//!
//! The JSON report is the source; every other format is rendered from it by a pure
//! [`Exporter`] (one file per format, after hyperfine's `export/`), and
//! [`export::ExportManager`] writes the chosen formats to files or stdout.
//!
//! - [`model`]: the report itself; [`schema`]: its committed JSON schema;
//!   [`sample`]: a fixed report for tests, benches and demos.
//! - [`threshold`]: k6-style thresholds, metric paths, the verdict and exit code;
//!   [`baseline`]: deltas against a committed report; [`units`]: human units
//!   shared by the text formats. Owners and next steps live in the report's
//!   `diagnosis` ([`crate::diagnose`]), which every format shows right after the verdict.
//! - Formats: [`json`], [`table`] (terminal, verdict first), [`markdown`] (for a
//!   client), [`html`] (one self-contained file with inline SVG charts), [`junit`]
//!   (one testcase per threshold, for CI).

pub mod baseline;
pub mod export;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod sample;
pub mod schema;
pub mod table;
pub mod threshold;
pub mod units;

use std::fmt;
use std::str::FromStr;

pub use model::{RunReport, REPORT_VERSION};

pub use export::ExportManager;

use baseline::Comparison;

/// Renders a report in one format. Pure: no I/O, no clock; the same report gives
/// the same bytes.
pub trait Exporter {
    fn render(&self, r: &RunReport) -> anyhow::Result<Vec<u8>>;
}

/// A report format and its file name in a report directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Json,
    Table,
    Markdown,
    Html,
    Junit,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Table,
        Format::Markdown,
        Format::Html,
        Format::Junit,
    ];

    /// The file this format is written to in `reports/<scenario>/<timestamp>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "run.json",
            Format::Table => "report.txt",
            Format::Markdown => "report.md",
            Format::Html => "report.html",
            Format::Junit => "junit.xml",
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Table => "table",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Junit => "junit",
        }
    }

    /// The exporter for this format; the table and Markdown show the baseline
    /// comparison when there is one.
    pub fn exporter(self, baseline: Option<&Comparison>) -> Box<dyn Exporter> {
        let baseline = baseline.cloned();
        match self {
            Format::Json => Box::new(json::JsonExporter),
            Format::Table => Box::new(table::TableExporter { baseline }),
            Format::Markdown => Box::new(markdown::MarkdownExporter { baseline }),
            Format::Html => Box::new(html::HtmlExporter),
            Format::Junit => Box::new(junit::JunitExporter),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name; the message lists the known ones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown report format `{0}`; allowed: json, table, markdown (md), html, junit (xml)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "json" => Format::Json,
            "table" | "text" | "txt" => Format::Table,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "junit" | "xml" => Format::Junit,
            _ => return Err(UnknownFormat(s.into())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::sample_report;

    #[test]
    fn every_format_renders_an_empty_report() {
        let empty = RunReport {
            version: REPORT_VERSION,
            ..RunReport::default()
        };
        for format in Format::ALL {
            let bytes = format.exporter(None).render(&empty).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(!text.is_empty(), "{format}");
            assert!(!text.contains("NaN"), "{format}: {text}");
        }
    }

    #[test]
    fn every_format_is_deterministic() {
        let r = sample_report();
        for format in Format::ALL {
            let first = format.exporter(None).render(&r).unwrap();
            assert_eq!(format.exporter(None).render(&r).unwrap(), first, "{format}");
            assert_eq!(format.name().parse::<Format>().unwrap(), format);
        }
    }
}
