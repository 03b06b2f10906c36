//! The audit report as a terminal table, JSON or Markdown. The findings come
//! first after one line naming what was audited; the rendering of findings is
//! shared with the run report ([`crate::diagnose::render`]).

use std::fmt::Write as _;

use super::AuditReport;
use crate::diagnose::render;
use crate::report::markdown::escape;

/// Output formats of `synctwin audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Markdown,
}

fn scope(r: &AuditReport) -> String {
    let s = &r.scanned;
    format!(
        "{} products ({} variants), {} tax rates, {} orders of the last {} days ({} to {}), {} ERP items",
        s.products, s.variants, s.taxes, s.orders, r.days, r.since, r.until, s.erp_items
    )
}

/// Renders the report.
pub fn render(r: &AuditReport, format: AuditFormat) -> anyhow::Result<String> {
    Ok(match format {
        AuditFormat::Json => {
            let mut s = serde_json::to_string_pretty(r)?;
            s.push('\n');
            s
        }
        AuditFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "AUDIT  {} against {}: {}",
                r.shopware_url,
                r.erp_source,
                render::headline(&r.findings)
            );
            let _ = writeln!(out, "       {}; mapping from {}\n", scope(r), r.engine_config);
            out.push_str(&render::text_titled("Findings", &r.findings));
            out
        }
        AuditFormat::Markdown => {
            let mut out = String::new();
            let _ = writeln!(out, "# Data audit: {}\n", escape(&r.shopware_url));
            let _ = writeln!(
                out,
                "Shop {} against the ERP item master {}: {}. Mapping rules from {}.\n",
                escape(&r.shopware_url),
                escape(&r.erp_source),
                escape(&scope(r)),
                escape(&r.engine_config)
            );
            let _ = writeln!(out, "## Findings\n");
            out.push_str(&render::markdown(&r.findings));
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Scanned, AUDIT_VERSION};

    #[test]
    fn every_format_names_what_was_audited() {
        let r = AuditReport {
            version: AUDIT_VERSION,
            shopware_url: "http://shop".into(),
            erp_source: "items.csv".into(),
            engine_config: "built-in".into(),
            since: "a".into(),
            until: "b".into(),
            days: 30,
            scanned: Scanned {
                products: 3,
                ..Default::default()
            },
            findings: Vec::new(),
        };
        let t = render(&r, AuditFormat::Table).unwrap();
        assert!(
            t.starts_with("AUDIT  http://shop against items.csv: no findings\n"),
            "{t}"
        );
        assert!(t.contains("Findings: no findings."));
        let m = render(&r, AuditFormat::Markdown).unwrap();
        assert!(m.contains("## Findings") && m.contains("No findings"), "{m}");
        let j: serde_json::Value = serde_json::from_str(&render(&r, AuditFormat::Json).unwrap()).unwrap();
        assert_eq!(j["scanned"]["products"], 3);
        assert_eq!(j["findings"], serde_json::json!([]));
    }
}
