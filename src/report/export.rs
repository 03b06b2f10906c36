//! [`ExportManager`]: writes the chosen formats of one report to files or stdout
//! (`-`), after hyperfine's `ExportManager`. Rendering stays in the pure exporters;
//! this is the only part of `report` that touches the file system. Errors carry
//! anyhow context naming the file and format.
//!
//! By default a run's reports go to `reports/<scenario>/<timestamp>/` ([`run_dir`]):
//! `run.json`, `report.md`, `report.html` and `junit.xml` ([`DIRECTORY_FORMATS`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::baseline::Comparison;
use super::{Format, RunReport};

/// The formats written into a run's report directory; the table goes to the terminal.
pub const DIRECTORY_FORMATS: [Format; 4] = [Format::Json, Format::Markdown, Format::Html, Format::Junit];

/// Where one format goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    /// `-` is stdout, anything else a file path.
    pub fn parse(text: &str) -> Target {
        if text == "-" {
            Target::Stdout
        } else {
            Target::File(PathBuf::from(text))
        }
    }
}

/// The formats to write and where, plus an optional baseline comparison that the
/// table and Markdown show.
#[derive(Debug, Clone, Default)]
pub struct ExportManager {
    exports: Vec<(Format, Target)>,
    baseline: Option<Comparison>,
}

impl ExportManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every format of [`DIRECTORY_FORMATS`] as its file in `dir`.
    pub fn to_dir(dir: &Path) -> Self {
        let mut manager = Self::new();
        for format in DIRECTORY_FORMATS {
            manager
                .exports
                .push((format, Target::File(dir.join(format.file_name()))));
        }
        manager
    }

    /// Adds a format and its target (`-` for stdout). Only one format can go to stdout.
    pub fn add(&mut self, format: Format, target: &str) -> anyhow::Result<&mut Self> {
        let target = Target::parse(target);
        if target == Target::Stdout {
            if let Some((other, _)) = self.exports.iter().find(|(_, t)| *t == Target::Stdout) {
                bail!("both the {other} and the {format} report are set to go to stdout ('-'); only one can");
            }
        }
        self.exports.push((format, target));
        Ok(self)
    }

    /// Shows this comparison in the formats that render a baseline section.
    pub fn with_baseline(mut self, baseline: Comparison) -> Self {
        self.baseline = Some(baseline);
        self
    }

    pub fn exports(&self) -> &[(Format, Target)] {
        &self.exports
    }

    /// Renders and writes every export, creating directories as needed; returns the
    /// files written. `stdout` receives the export whose target is `-`.
    pub fn write_all(&self, r: &RunReport, stdout: &mut dyn Write) -> anyhow::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (format, target) in &self.exports {
            let bytes = format
                .exporter(self.baseline.as_ref())
                .render(r)
                .with_context(|| format!("Could not render the {format} report"))?;
            match target {
                Target::Stdout => stdout
                    .write_all(&bytes)
                    .and_then(|()| stdout.flush())
                    .with_context(|| format!("Could not write the {format} report to stdout"))?,
                Target::File(path) => {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("Could not create report directory '{}'", dir.display()))?;
                    }
                    std::fs::write(path, &bytes)
                        .with_context(|| format!("Could not write the {format} report to '{}'", path.display()))?;
                    written.push(path.clone());
                }
            }
        }
        Ok(written)
    }
}

/// `root/<scenario>/<timestamp>`, both made safe as one path component each.
pub fn run_dir(root: &Path, r: &RunReport) -> PathBuf {
    root.join(path_component(&r.scenario.name, "unnamed"))
        .join(path_component(
            &r.scenario.started_at.replace(':', "-"),
            "unknown-start",
        ))
}

/// Keeps ASCII letters, digits, `.`, `-` and `_`; anything else becomes `_`. Leading
/// dots are dropped, so the result is never `..` or hidden; empty gives `fallback`.
pub fn path_component(text: &str, fallback: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        fallback.into()
    } else {
        cleaned.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::sample_report;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("synctwin-export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn run_dir_is_scenario_then_timestamp() {
        let r = sample_report();
        assert_eq!(
            run_dir(Path::new("reports"), &r),
            Path::new("reports/f3-429-storm/2026-11-27T03-00-00Z")
        );
        assert_eq!(path_component("../../etc/passwd", "x"), "_.._etc_passwd");
        assert_eq!(path_component("..", "x"), "x");
        assert_eq!(path_component("peak day/ü", "x"), "peak_day__");
        assert_eq!(path_component("", "unnamed"), "unnamed");
    }

    #[test]
    fn writes_every_directory_format() {
        let r = sample_report();
        let root = temp_dir("dir");
        let dir = run_dir(&root, &r);
        let mut stdout = Vec::new();
        let written = ExportManager::to_dir(&dir).write_all(&r, &mut stdout).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["run.json", "report.md", "report.html", "junit.xml"]);
        assert!(stdout.is_empty());
        let json = std::fs::read_to_string(dir.join("run.json")).unwrap();
        assert_eq!(serde_json::from_str::<RunReport>(&json).unwrap(), r);
        assert!(std::fs::read_to_string(dir.join("report.html"))
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dash_is_stdout_for_one_format() {
        let r = sample_report();
        let mut manager = ExportManager::new();
        manager.add(Format::Table, "-").unwrap();
        let err = manager.add(Format::Json, "-").unwrap_err().to_string();
        assert_eq!(
            err,
            "both the table and the json report are set to go to stdout ('-'); only one can"
        );
        let mut stdout = Vec::new();
        assert!(manager.write_all(&r, &mut stdout).unwrap().is_empty());
        assert!(String::from_utf8(stdout).unwrap().starts_with("FAIL  f3-429-storm"));
    }

    #[test]
    fn errors_name_the_file() {
        let r = sample_report();
        let root = temp_dir("err");
        std::fs::create_dir_all(&root).unwrap();
        let blocker = root.join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let mut manager = ExportManager::new();
        manager
            .add(Format::Junit, &blocker.join("junit.xml").to_string_lossy())
            .unwrap();
        let err = format!("{:#}", manager.write_all(&r, &mut Vec::new()).unwrap_err());
        assert!(
            err.starts_with(&format!("Could not create report directory '{}'", blocker.display())),
            "{err}"
        );
        let mut manager = ExportManager::new();
        manager.add(Format::Markdown, &blocker.to_string_lossy()).unwrap();
        std::fs::create_dir_all(root.join("dir.md")).unwrap();
        manager
            .add(Format::Markdown, &root.join("dir.md").to_string_lossy())
            .unwrap();
        let err = format!("{:#}", manager.write_all(&r, &mut Vec::new()).unwrap_err());
        assert!(
            err.starts_with(&format!(
                "Could not write the markdown report to '{}'",
                root.join("dir.md").display()
            )),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn formats_parse_by_name_and_alias() {
        for (text, format) in [
            ("json", Format::Json),
            ("md", Format::Markdown),
            ("XML", Format::Junit),
            ("text", Format::Table),
        ] {
            assert_eq!(text.parse::<Format>().unwrap(), format);
        }
        let err = "pdf".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("unknown report format `pdf`; allowed: json, table"));
    }
}
