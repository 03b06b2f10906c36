//! Findings as text, Markdown and HTML, shared by the run report's formats and
//! by `synctwin audit`: a ranked summary table, then each finding's examples,
//! evidence and fix. Markdown and HTML escape every string with the report's
//! escapers.

use std::fmt::Write as _;

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use super::finding::{impact_text, Finding, Severity, MAX_EXAMPLES};
use crate::report::{html, markdown};

/// The operations handover page the reports point readers to.
pub const DOCS: &str = "docs/operations.md";

/// How many findings the text and Markdown list in detail (the JSON has all).
pub const DETAIL_LIMIT: usize = 10;

/// `3 findings (1 critical, 2 warning)`.
pub fn headline(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".into();
    }
    let parts: Vec<String> = [Severity::Critical, Severity::Warning, Severity::Info]
        .iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    format!(
        "{} finding{} ({})",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The singular of a plural `count_of` (`SKUs` → `SKU`, `stock pushes` → `stock push`).
pub fn singular(plural: &str) -> &str {
    if let Some(s) = plural.strip_suffix("shes") {
        &plural[..s.len() + 2]
    } else {
        plural.strip_suffix('s').unwrap_or(plural)
    }
}

/// `40 orders: 10000, 10001, …` (what is counted and the examples; `…` when
/// the examples were cut to [`MAX_EXAMPLES`]).
pub fn affected(f: &Finding) -> String {
    let what = if f.count == 1 {
        singular(&f.count_of)
    } else {
        &f.count_of
    };
    let mut s = format!("{} {what}", crate::report::units::count(f.count as f64));
    if !f.examples.is_empty() {
        s.push_str(": ");
        s.push_str(&f.examples.join(", "));
        if f.examples.len() == MAX_EXAMPLES && f.count > MAX_EXAMPLES as u64 {
            s.push_str(", …");
        }
    }
    s
}

/// The terminal text of a run's diagnosis: summary table and details.
pub fn text(findings: &[Finding]) -> String {
    text_titled("Diagnosis", findings)
}

/// The terminal text under a title (`Diagnosis`, `Findings`).
pub fn text_titled(title: &str, findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        let _ = writeln!(out, "{title}: no findings.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{title}: {}, most impact first ({DOCS} says what each means)",
        headline(findings)
    );
    let mut b = Builder::default();
    b.push_record(["#", "severity", "owner", "finding", "impact"]);
    for (i, f) in findings.iter().enumerate() {
        b.push_record([
            (i + 1).to_string(),
            f.severity.to_string(),
            f.owner.to_string(),
            f.title.clone(),
            impact_text(&f.impact),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.modify(Columns::single(0), Alignment::right());
    let _ = writeln!(out, "{t}");
    for (i, f) in findings.iter().take(DETAIL_LIMIT).enumerate() {
        let _ = writeln!(out, "{:>3}. {} ({})", i + 1, f.title, affected(f));
        let _ = writeln!(out, "     evidence: {}", f.evidence);
        let _ = writeln!(out, "     fix: {}", f.fix);
    }
    if findings.len() > DETAIL_LIMIT {
        let _ = writeln!(
            out,
            "... and {} more findings (see the JSON report)",
            findings.len() - DETAIL_LIMIT
        );
    }
    out.push('\n');
    out
}

/// A Markdown section body (the caller writes the heading).
pub fn markdown(findings: &[Finding]) -> String {
    let e = markdown::escape;
    let mut out = String::new();
    if findings.is_empty() {
        let _ = writeln!(out, "No findings: no exceptions, no gaps and no failed thresholds.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{}, most impact first. What each kind means and who acts on it: `{DOCS}` in the synctwin repository.\n",
        capitalised(&headline(findings))
    );
    let _ = writeln!(out, "| # | Severity | Owner | Finding | Impact |");
    let _ = writeln!(out, "|---:|---|---|---|---|");
    for (i, f) in findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            f.severity,
            f.owner,
            e(&f.title),
            e(&impact_text(&f.impact))
        );
    }
    out.push('\n');
    for (i, f) in findings.iter().take(DETAIL_LIMIT).enumerate() {
        let _ = writeln!(out, "{}. **{}** ({})  ", i + 1, e(&f.title), e(&affected(f)));
        let _ = writeln!(out, "   Evidence: {}  ", e(&f.evidence));
        let _ = writeln!(out, "   Fix: {}", e(&f.fix));
    }
    if findings.len() > DETAIL_LIMIT {
        let _ = writeln!(
            out,
            "\n… and {} more findings in the JSON report.",
            findings.len() - DETAIL_LIMIT
        );
    }
    out.push('\n');
    out
}

/// An HTML `<section>` with every finding.
pub fn html(findings: &[Finding]) -> String {
    let e = html::escape;
    let mut out = String::from("<section class=\"diagnosis\"><h2>Diagnosis</h2>");
    if findings.is_empty() {
        out.push_str(
            "<p class=\"muted\">No findings: no exceptions, no gaps and no failed thresholds.</p></section>\n",
        );
        return out;
    }
    let _ = write!(
        out,
        "<p>{}, most impact first. <span class=\"muted\">What each kind means and who acts on it: {DOCS}.</span></p>",
        e(&capitalised(&headline(findings)))
    );
    out.push_str(
        "<table><thead><tr><th class=\"num\">#</th><th>Severity</th><th>Owner</th><th>Finding</th><th>Impact</th>\
         </tr></thead><tbody>",
    );
    for (i, f) in findings.iter().enumerate() {
        let row = if f.severity == Severity::Critical {
            " class=\"fail\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{row}><td class=\"num\">{}</td><td>{}</td><td>{}</td><td><strong>{}</strong><br><span class=\"muted\">{}\
             </span><br>{}<br><em>Fix:</em> {}</td><td>{}</td></tr>",
            i + 1,
            e(f.severity.as_str()),
            e(f.owner.as_str()),
            e(&f.title),
            e(&affected(f)),
            e(&f.evidence),
            e(&f.fix),
            e(&impact_text(&f.impact))
        );
    }
    out.push_str("</tbody></table></section>\n");
    out
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::finding::tests::finding;
    use super::super::finding::Impact;
    use super::*;

    fn hostile() -> Finding {
        let mut f = finding(
            "x",
            Severity::Critical,
            Impact {
                orders_blocked: 2,
                ..Default::default()
            },
            2,
        );
        f.title = "<script>alert(1)</script> | *bold*".into();
        f.evidence = "a & b".into();
        f.fix = "</td><img src=x>".into();
        f.examples = ["10001", "10002", "10003", "10004", "10005"].map(String::from).to_vec();
        f.count = 9;
        f
    }

    #[test]
    fn every_format_escapes_and_counts() {
        let f = vec![hostile(), finding("y", Severity::Info, Impact::default(), 1)];
        assert_eq!(headline(&f), "2 findings (1 critical, 1 info)");
        assert_eq!(affected(&f[0]), "9 orders: 10001, 10002, 10003, 10004, 10005, …");
        assert_eq!(affected(&f[1]), "1 order");
        assert_eq!(
            (singular("stock pushes"), singular("SKUs"), singular("x")),
            ("stock push", "SKU", "x")
        );
        let h = html(&f);
        assert!(!h.contains("<script>") && !h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;") && h.contains("a &amp; b"));
        let m = markdown(&f);
        assert!(!m.contains("<script>") && m.contains("\\| \\*bold\\*"), "{m}");
        let t = text(&f);
        assert!(t.starts_with("Diagnosis: 2 findings (1 critical, 1 info)"), "{t}");
        assert!(
            t.contains("  1. <script>alert(1)</script> | *bold* (9 orders: 10001, 10002, 10003, 10004, 10005, …)"),
            "{t}"
        );
        assert_eq!(text(&[]), "Diagnosis: no findings.\n\n");
    }
}
