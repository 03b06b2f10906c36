//! The [`Finding`]: one root cause, what it costs the business, who owns it and
//! the change that fixes it. Findings are grouped by root cause (the same
//! unmapped SKU behind 40 failed orders is one finding with 40 orders blocked)
//! and ranked by [`rank`]: severity first, then the business impact.

use std::cmp::Ordering;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::engine::mapping::Owner;

/// How much a finding matters. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing is lost yet.
    Info,
    /// Something degrades (money, latency, data quality) but orders still flow.
    Warning,
    /// Orders are blocked or lost, stock is oversold, customers are affected.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown severity name; the message lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`; allowed: info, warning, critical")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// What a finding costs, in the three figures a merchant ranks by. Numeric so
/// findings can be sorted; zero where a figure does not apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Impact {
    /// Orders that did not (run) or would not (audit) reach the ERP because of this.
    pub orders_blocked: u64,
    /// Units sold that were not in stock.
    pub units_oversold: u64,
    /// Money in the shop that the ERP does not show the same way: the gross of
    /// blocked orders, the extra gross of duplicates, the sum of absolute deltas
    /// (shop currency).
    pub money_unreconciled: f64,
}

impl Impact {
    /// Orders blocked plus units oversold: each is a customer let down.
    pub fn customers_affected(&self) -> u64 {
        self.orders_blocked + self.units_oversold
    }

    pub fn is_zero(&self) -> bool {
        self.orders_blocked == 0 && self.units_oversold == 0 && self.money_unreconciled.abs() < 0.005
    }
}

/// One root cause with its evidence and its fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable root-cause key, e.g. `unmapped_sku:SW10042`: the same key across
    /// runs means the same cause.
    pub key: String,
    /// One line a person reads first, e.g. `SW10042 has no ERP item`.
    pub title: String,
    /// The kind of cause (`unmapped_sku`, `rate_limited`, `threshold`, …), as
    /// explained in docs/operations.md.
    pub category: String,
    pub severity: Severity,
    /// Who acts on it: ecommerce, operations, finance or integration.
    pub owner: Owner,
    pub impact: Impact,
    /// How many things are affected, counted in `count_of`.
    pub count: u64,
    /// What `count` counts (plural): `orders`, `SKUs`, `throttled requests`, …
    pub count_of: String,
    /// A few of the affected order numbers, SKUs or routes (the first few, sorted).
    pub examples: Vec<String>,
    /// What was observed, with figures, in a sentence or two.
    pub evidence: String,
    /// The change that fixes it, with this run's or shop's settings.
    pub fix: String,
    /// Metric paths (threshold names) this finding explains, so a failed
    /// threshold can point at its cause.
    #[serde(default)]
    pub metrics: Vec<String>,
}

/// How many examples a finding keeps.
pub const MAX_EXAMPLES: usize = 5;

/// The first [`MAX_EXAMPLES`] of a list (as given; sort it first for stability).
pub fn examples<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().take(MAX_EXAMPLES).map(Into::into).collect()
}

/// The ranking order: severity (critical first), then customers affected
/// (orders blocked + units oversold), then money unreconciled, then count,
/// then the key so equal findings keep a stable order.
pub fn by_rank(a: &Finding, b: &Finding) -> Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| b.impact.customers_affected().cmp(&a.impact.customers_affected()))
        .then_with(|| {
            b.impact
                .money_unreconciled
                .abs()
                .partial_cmp(&a.impact.money_unreconciled.abs())
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| b.count.cmp(&a.count))
        .then_with(|| a.key.cmp(&b.key))
}

/// Sorts findings by [`by_rank`], most important first.
pub fn rank(findings: &mut [Finding]) {
    findings.sort_by(by_rank);
}

/// Findings at or above a severity.
pub fn at_least(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity >= severity).count()
}

/// A short impact text: `40 orders blocked, 1,234.50 unreconciled`, or `none`.
pub fn impact_text(i: &Impact) -> String {
    let mut parts = Vec::new();
    if i.orders_blocked > 0 {
        parts.push(format!(
            "{} order{} blocked",
            crate::report::units::count(i.orders_blocked as f64),
            if i.orders_blocked == 1 { "" } else { "s" }
        ));
    }
    if i.units_oversold > 0 {
        parts.push(format!(
            "{} unit{} oversold",
            crate::report::units::count(i.units_oversold as f64),
            if i.units_oversold == 1 { "" } else { "s" }
        ));
    }
    if i.money_unreconciled.abs() >= 0.005 {
        parts.push(format!("{} unreconciled", money(i.money_unreconciled.abs())));
    }
    if parts.is_empty() {
        "none measured".into()
    } else {
        parts.join(", ")
    }
}

/// Money with two decimals and thousands separators: `1,234.50`.
pub fn money(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}{}.{:02}",
        crate::report::units::count((cents / 100) as f64),
        cents % 100
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn finding(key: &str, severity: Severity, impact: Impact, count: u64) -> Finding {
        Finding {
            key: key.into(),
            title: key.into(),
            category: "test".into(),
            severity,
            owner: Owner::Operations,
            impact,
            count,
            count_of: "orders".into(),
            examples: vec![],
            evidence: String::new(),
            fix: String::new(),
            metrics: vec![],
        }
    }

    fn blocked(n: u64) -> Impact {
        Impact {
            orders_blocked: n,
            ..Default::default()
        }
    }

    #[test]
    fn ranking_puts_severity_then_customers_then_money_first() {
        let mut f = vec![
            finding("info-big", Severity::Info, blocked(1000), 1),
            finding("few", Severity::Critical, blocked(2), 2),
            finding(
                "oversold",
                Severity::Critical,
                Impact {
                    units_oversold: 7,
                    ..Default::default()
                },
                5,
            ),
            finding(
                "money",
                Severity::Warning,
                Impact {
                    money_unreconciled: -80.0,
                    ..Default::default()
                },
                1,
            ),
            finding(
                "cents",
                Severity::Warning,
                Impact {
                    money_unreconciled: 0.3,
                    ..Default::default()
                },
                9,
            ),
            finding("many", Severity::Critical, blocked(40), 40),
            finding("b-tie", Severity::Warning, Impact::default(), 3),
            finding("a-tie", Severity::Warning, Impact::default(), 3),
        ];
        rank(&mut f);
        let keys: Vec<&str> = f.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["many", "oversold", "few", "money", "cents", "a-tie", "b-tie", "info-big"]
        );
        assert_eq!(at_least(&f, Severity::Warning), 7);
        assert_eq!(at_least(&f, Severity::Critical), 3);
    }

    #[test]
    fn impact_and_money_read_well() {
        assert_eq!(impact_text(&Impact::default()), "none measured");
        assert_eq!(
            impact_text(&Impact {
                orders_blocked: 40,
                units_oversold: 1,
                money_unreconciled: -1234.5
            }),
            "40 orders blocked, 1 unit oversold, 1,234.50 unreconciled"
        );
        assert_eq!(money(0.005), "0.01");
        assert_eq!(money(-2.0), "-2.00");
        assert_eq!("WARN".parse::<Severity>().unwrap(), Severity::Warning);
        assert!("fatal"
            .parse::<Severity>()
            .unwrap_err()
            .to_string()
            .contains("info, warning, critical"));
        assert_eq!(examples(["a", "b", "c", "d", "e", "f"]).len(), MAX_EXAMPLES);
    }
}
