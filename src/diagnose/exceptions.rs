//! The engine's exception queue grouped by root cause. Each exception names a
//! subject (an order number or a SKU), a category and the system's message;
//! [`causes`] reads the cause out of them (the unknown item behind an ERP
//! rejection, the tax rate without a code, the field that was too long), and
//! [`findings`] makes one finding per cause: the same unmapped SKU behind 40
//! parked orders is one finding with 40 orders blocked.
//!
//! An order the ERP rejected for an unknown item is attributed to every SKU of
//! the order that the ERP lacks (from the order's lines and the ERP's item
//! master), not only the first one the ERP named: fixing one of two missing
//! items does not release the order.

use std::collections::{BTreeMap, BTreeSet};

use super::finding::{examples, money, Finding, Impact, Owner, Severity};
use super::run::RunFacts;
use crate::engine::config::EngineConfig;
use crate::engine::state::ExceptionEntry;
use crate::reconcile::ShopOrder;

/// A root cause read from an exception.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The ERP has no item for this SKU (`erp` is the mapped item number).
    UnknownItem {
        sku: String,
        erp: String,
    },
    /// The ERP has the item but it is blocked.
    BlockedItem {
        sku: String,
        erp: String,
    },
    /// Another reference the ERP does not know (a customer, a tax group).
    UnknownReference {
        related: String,
        value: String,
    },
    PromotionWithoutItem,
    UnmappedTaxRate(String),
    UnsupportedLine(String),
    ProductWithoutNumber,
    MissingCustomer,
    FieldTooLong {
        field: String,
        max: Option<usize>,
    },
    /// The ERP did not answer within the retry budget.
    ErpUnavailable,
    /// Another ERP rejection, by exception category and error code.
    Rejected {
        category: String,
        code: String,
    },
    StockRejected,
    StockPushFailed,
    CloseoutUnavailable,
    /// Anything else, by category.
    Other(String),
}

/// Categories whose subject is an order that did not reach the ERP.
const ORDER_CATEGORIES: &[&str] = &[
    "unmapped_sku",
    "promotion_without_item",
    "unmapped_tax_rate",
    "unsupported_line",
    "product_without_number",
    "missing_customer",
    "field_too_long",
    "unmapped_tax_code",
    "customer",
    "erp_rejected",
    "erp_unavailable",
];

/// True when exceptions of this category park an order (it does not reach the ERP).
pub fn blocks_orders(category: &str) -> bool {
    ORDER_CATEGORIES.contains(&category)
}

/// What the subject of an exception of this category is.
pub fn subject_kind(category: &str) -> &'static str {
    match category {
        "stock_rejected" | "closeout_unavailable" => "SKUs",
        "stock_push_failed" => "stock pushes",
        _ => "orders",
    }
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// `(value, related table)` of a Business Central table-relation error.
fn table_relation(detail: &str) -> Option<(String, String)> {
    let value = between(detail, "contains a value (", ") that cannot be found")?;
    let related = between(detail, "in the related table (", ")")?;
    Some((value.to_string(), related.to_string()))
}

/// The system's message without its correlation id and without the rejected
/// value (which may be personal data, e.g. a customer name), at most 240 characters.
pub fn excerpt(detail: &str) -> String {
    let cut = ["CorrelationId", " Value: "]
        .iter()
        .filter_map(|m| detail.find(m))
        .min()
        .map_or(detail, |i| &detail[..i]);
    let cut = cut.trim().trim_end_matches('.').trim();
    let mut out: String = cut.chars().take(240).collect();
    if cut.chars().count() > 240 {
        out.push('…');
    }
    out
}

/// Order numbers and SKUs in natural order (`9999` before `10000`).
pub fn natural(mut v: Vec<String>) -> Vec<String> {
    v.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    v
}

fn mapped<'a>(config: Option<&'a EngineConfig>, sku: &'a str) -> &'a str {
    config
        .and_then(|c| c.mapping.products.get(sku))
        .map_or(sku, String::as_str)
}

/// Shopware orders by number (see [`RunFacts::shop_orders`]).
type ShopIndex<'a> = BTreeMap<&'a str, &'a ShopOrder>;

/// The causes behind one exception (`orders`: the run's Shopware orders by
/// number, built once for all exceptions).
pub fn causes(e: &ExceptionEntry, facts: &RunFacts, orders: &ShopIndex) -> Vec<Cause> {
    let detail = e.detail.as_str();
    match e.category.as_str() {
        "unmapped_sku" => unknown_items(e, facts, orders),
        "promotion_without_item" => vec![Cause::PromotionWithoutItem],
        "unmapped_tax_rate" => vec![Cause::UnmappedTaxRate(
            between(detail, "tax rate ", "%").unwrap_or("?").to_string(),
        )],
        "unsupported_line" => vec![Cause::UnsupportedLine(
            between(detail, " of type ", " has").unwrap_or("unknown").to_string(),
        )],
        "product_without_number" => vec![Cause::ProductWithoutNumber],
        "missing_customer" => vec![Cause::MissingCustomer],
        "field_too_long" => vec![Cause::FieldTooLong {
            field: between(detail, "string for ", " is ")
                .unwrap_or("a text field")
                .to_string(),
            max: between(detail, "less than or equal to ", " characters").and_then(|m| m.trim().parse().ok()),
        }],
        "erp_unavailable" => vec![Cause::ErpUnavailable],
        c @ ("unmapped_tax_code" | "customer" | "erp_rejected") => {
            let code = detail
                .split_whitespace()
                .next()
                .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && w.contains('_'))
                .unwrap_or("")
                .to_string();
            vec![Cause::Rejected {
                category: c.to_string(),
                code,
            }]
        }
        "stock_rejected" => vec![Cause::StockRejected],
        "stock_push_failed" => vec![Cause::StockPushFailed],
        "closeout_unavailable" => vec![Cause::CloseoutUnavailable],
        other => vec![Cause::Other(other.to_string())],
    }
}

/// The items an order rejected as `unmapped_sku` lacks: every SKU of the order
/// whose (mapped) ERP item is missing or blocked, plus the one the ERP named.
fn unknown_items(e: &ExceptionEntry, facts: &RunFacts, orders: &ShopIndex) -> Vec<Cause> {
    let mut out = BTreeSet::new();
    let order = orders.get(e.subject.as_str()).copied();
    if let (Some(order), Some(items)) = (order, facts.erp_items) {
        for (sku, _) in &order.units {
            let erp = mapped(facts.engine, sku).to_string();
            match items.get(&erp) {
                None => out.insert(Cause::UnknownItem { sku: sku.clone(), erp }),
                Some(true) => out.insert(Cause::BlockedItem { sku: sku.clone(), erp }),
                Some(false) => false,
            };
        }
    }
    if let Some((value, related)) = table_relation(&e.detail) {
        let sku = order
            .and_then(|o| o.units.iter().find(|(s, _)| mapped(facts.engine, s) == value))
            .map_or_else(|| value.clone(), |(s, _)| s.clone());
        let blocked = e.detail.contains("Blocked must be equal to 'No'");
        match (related.as_str(), blocked) {
            ("Item", true) => out.insert(Cause::BlockedItem { sku, erp: value }),
            ("Item", false) => out.insert(Cause::UnknownItem { sku, erp: value }),
            _ => out.insert(Cause::UnknownReference { related, value }),
        };
    }
    if out.is_empty() {
        out.insert(Cause::Other(e.category.clone()));
    }
    out.into_iter().collect()
}

/// Exceptions sharing a cause.
#[derive(Debug, Default)]
struct Group {
    owner: Option<Owner>,
    categories: BTreeSet<String>,
    subjects: BTreeSet<String>,
    /// The first exception's subject and message.
    first: Option<(String, String)>,
    /// Labels read from the messages (promotion names, product labels).
    labels: BTreeSet<String>,
}

/// One finding per cause, and the orders the exceptions park (so the gap
/// findings do not count them again as "missing without an exception").
pub fn findings(facts: &RunFacts) -> (Vec<Finding>, BTreeSet<String>) {
    let mut groups: BTreeMap<Cause, Group> = BTreeMap::new();
    let mut parked = BTreeSet::new();
    let orders = facts.shop_orders();
    for e in facts.exceptions.iter().filter(|e| !e.resolved) {
        if blocks_orders(&e.category) {
            parked.insert(e.subject.clone());
        }
        for cause in causes(e, facts, &orders) {
            let g = groups.entry(cause).or_default();
            g.owner.get_or_insert(e.owner);
            g.categories.insert(e.category.clone());
            g.subjects.insert(e.subject.clone());
            g.first.get_or_insert_with(|| (e.subject.clone(), e.detail.clone()));
            for (start, end) in [
                ("promotion line '", "' has"),
                ("product line '", "' has"),
                ("line '", "' of type"),
            ] {
                if let Some(l) = between(&e.detail, start, end) {
                    g.labels.insert(l.to_string());
                    break;
                }
            }
        }
    }
    let out = groups
        .into_iter()
        .map(|(cause, g)| {
            let subjects = natural(g.subjects.into_iter().collect());
            let n = subjects.len() as u64;
            let blocking = g.categories.iter().any(|c| blocks_orders(c));
            let gross: f64 = subjects
                .iter()
                .filter_map(|s| orders.get(s.as_str()))
                .map(|o| o.gross)
                .sum();
            let impact = if blocking {
                Impact {
                    orders_blocked: n,
                    units_oversold: 0,
                    money_unreconciled: gross,
                }
            } else {
                Impact::default()
            };
            let (first_subject, first_detail) = g.first.unwrap_or_default();
            let owner = g.owner.unwrap_or(Owner::Integration);
            let mut metrics = vec![
                "reconciliation.exceptions".to_string(),
                format!("reconciliation.exceptions.{owner}"),
            ];
            if blocking {
                metrics.push("reconciliation.missing_orders".into());
            }
            let labels: Vec<String> = g.labels.into_iter().collect();
            let kind = g.categories.iter().next().map_or("orders", |c| subject_kind(c));
            let text = Text {
                facts,
                n,
                subject_kind: crate::diagnose::render::singular(kind),
                first_subject: &first_subject,
                first_detail: &first_detail,
                gross,
                labels: &labels,
            };
            let (key, title, fix) = text.describe(&cause);
            Finding {
                category: key.split(':').next().unwrap_or_default().to_string(),
                key,
                title,
                severity: if blocking {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                owner,
                impact,
                count: n,
                count_of: g
                    .categories
                    .iter()
                    .next()
                    .map_or("orders", |c| subject_kind(c))
                    .to_string(),
                examples: examples(subjects),
                evidence: text.evidence(blocking),
                fix,
                metrics,
            }
        })
        .collect();
    (out, parked)
}

/// The words of one finding.
struct Text<'a> {
    facts: &'a RunFacts<'a>,
    n: u64,
    /// `order`, `SKU`, … (what a subject is).
    subject_kind: &'a str,
    first_subject: &'a str,
    first_detail: &'a str,
    gross: f64,
    labels: &'a [String],
}

impl Text<'_> {
    fn orders(&self) -> String {
        format!("{} order{}", self.n, if self.n == 1 { "" } else { "s" })
    }

    fn evidence(&self, blocking: bool) -> String {
        let mut s = if blocking {
            format!(
                "{} parked in the exception queue ({} gross not in the ERP). ",
                self.orders(),
                money(self.gross)
            )
        } else {
            format!(
                "{} exception{} in the queue. ",
                self.n,
                if self.n == 1 { "" } else { "s" }
            )
        };
        if !self.labels.is_empty() {
            s.push_str(&format!("Lines: {}. ", self.labels.join(", ")));
        }
        s.push_str(&format!(
            "For {} {}: {}",
            self.subject_kind,
            self.first_subject,
            excerpt(self.first_detail)
        ));
        s
    }

    fn retry(&self) -> String {
        format!(
            "then send the {} back with `synctwin exceptions retry`",
            if self.n == 1 {
                "parked order".to_string()
            } else {
                format!("{} parked orders", self.n)
            }
        )
    }

    fn engine(&self) -> &str {
        self.facts.engine_name()
    }

    /// Key, title and fix of a cause.
    fn describe(&self, cause: &Cause) -> (String, String, String) {
        let cfg = self.facts.engine;
        match cause {
            Cause::UnknownItem { sku, erp } => {
                let map_file = cfg.and_then(|c| c.mapping.product_map_csv.as_ref()).map_or_else(
                    || "a product map CSV (mapping.product_map_csv)".to_string(),
                    |p| p.display().to_string(),
                );
                let title = if sku == erp {
                    format!("{sku} has no ERP item")
                } else {
                    format!("{sku} maps to ERP item {erp}, which does not exist")
                };
                (
                    format!("unmapped_sku:{sku}"),
                    title,
                    format!(
                        "Add item {erp} to the ERP item master, or map {sku} to an existing ERP item in {map_file}; {}.",
                        self.retry()
                    ),
                )
            }
            Cause::BlockedItem { sku, erp } => (
                format!("blocked_item:{sku}"),
                format!("ERP item {erp} (for {sku}) is blocked"),
                format!(
                    "Unblock item {erp} in the ERP, or take {sku} off sale in Shopware while it is blocked; {}.",
                    self.retry()
                ),
            ),
            Cause::UnknownReference { related, value } => (
                format!("unknown_reference:{related}:{value}"),
                format!("the ERP has no {related} {value}"),
                format!(
                    "Create {related} {value} in the ERP or change the mapping that sends it; {}.",
                    self.retry()
                ),
            ),
            Cause::PromotionWithoutItem => {
                let now = cfg
                    .and_then(|c| c.mapping.discount_item.clone())
                    .map_or_else(|| "unset".to_string(), |d| format!("\"{d}\""));
                (
                    "promotion_without_item".into(),
                    format!("promotion lines have no ERP discount item ({})", self.orders()),
                    format!(
                        "Set mapping.discount_item in {} (now {now}) to a non-inventory discount item the ERP has, \
                         e.g. mapping.discount_item = \"DISCOUNT\"; {}.",
                        self.engine(),
                        self.retry()
                    ),
                )
            }
            Cause::UnmappedTaxRate(rate) => {
                let known = cfg
                    .map(|c| {
                        c.mapping
                            .tax_codes
                            .iter()
                            .map(|(r, code)| format!("{r} → {code}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                (
                    format!("unmapped_tax_rate:{rate}"),
                    format!("tax rate {rate} % has no ERP tax code"),
                    format!(
                        "Add \"{rate}\" = \"<the ERP's tax code for {rate} %>\" to mapping.tax_codes in {}{}; {}.",
                        self.engine(),
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!(" (mapped now: {known})")
                        },
                        self.retry()
                    ),
                )
            }
            Cause::UnsupportedLine(kind) => {
                let key = match kind.as_str() {
                    "custom" => "mapping.custom_item",
                    "shipping" => "mapping.shipping_item",
                    "customized-products-option" | "option-values" => "mapping.surcharge_item",
                    _ => "a mapping rule",
                };
                (
                    format!("unsupported_line:{kind}"),
                    format!("{kind} lines have no ERP mapping"),
                    format!(
                        "Configure {key} in {} with an item the ERP has; {}.",
                        self.engine(),
                        self.retry()
                    ),
                )
            }
            Cause::ProductWithoutNumber => (
                "product_without_number".into(),
                format!("product lines without a productNumber ({})", self.orders()),
                format!(
                    "Give every product a productNumber in Shopware (the ERP item number it maps to); {}.",
                    self.retry()
                ),
            ),
            Cause::MissingCustomer => (
                "missing_customer".into(),
                format!("orders without a customer e-mail ({})", self.orders()),
                "Require an e-mail at checkout (Shopware does for guests by default: check custom checkout \
                 plugins or imports that create orders without one), then retry the parked orders."
                    .into(),
            ),
            Cause::FieldTooLong { field, max } => {
                let current = cfg.map(|c| c.mapping.description_max);
                let fix = match (max, current) {
                    (Some(max), Some(cur)) if field.to_lowercase().contains("description") && cur > *max => format!(
                        "Set mapping.description_max = {max} in {} (now {cur}) so texts are cut to what the ERP \
                         accepts; {}.",
                        self.engine(),
                        self.retry()
                    ),
                    (Some(max), _) => format!(
                        "Shorten {field} to at most {max} characters before it is sent (limit the shop's input, or \
                         cut it in the mapping); {}.",
                        self.retry()
                    ),
                    _ => format!("Shorten {field} to the ERP's field length; {}.", self.retry()),
                };
                (
                    format!("field_too_long:{field}"),
                    format!("{field} is longer than the ERP accepts"),
                    fix,
                )
            }
            Cause::ErpUnavailable => {
                let fix = match cfg {
                    Some(c) => format!(
                        "The engine gave up after retry.max_attempts = {} (backoff up to {} s) and leaves the orders \
                         pending; they are retried on the next pass. If the ERP was throttling, lower \
                         rate_limits.erp_per_second (now {}); if it was down, raise retry.max_attempts to {}.",
                        c.retry.max_attempts,
                        c.retry.cap.as_secs(),
                        c.rate_limits
                            .erp_per_second
                            .map_or_else(|| "unpaced".to_string(), |r| crate::report::units::trim(r, 2)),
                        c.retry.max_attempts * 2
                    ),
                    None => "Make the export retry until the ERP confirms, with backoff, instead of dropping the \
                             order."
                        .into(),
                };
                (
                    "erp_unavailable".into(),
                    format!("the ERP did not answer for {}", self.orders()),
                    fix,
                )
            }
            Cause::Rejected { category, code } => (
                format!("{category}:{code}"),
                format!(
                    "the ERP rejected {} ({})",
                    self.orders(),
                    if code.is_empty() {
                        category.as_str()
                    } else {
                        code.as_str()
                    }
                ),
                format!(
                    "Read the ERP's message below, correct the data or mapping it names; {}.",
                    self.retry()
                ),
            ),
            Cause::StockRejected => (
                "stock_rejected".into(),
                format!(
                    "Shopware refused stock for {} SKU{}",
                    self.n,
                    if self.n == 1 { "" } else { "s" }
                ),
                "Check that each SKU exists in Shopware with the ERP item's number (productNumber) and is not a \
                 parent product; fix the number on either side."
                    .into(),
            ),
            Cause::StockPushFailed => {
                let steps = cfg.map(super::gaps::lighter_stock_pushes).unwrap_or_default();
                let fix = match (cfg, steps.is_empty()) {
                    (Some(c), false) => format!(
                        "Stock pushes gave up after retry.max_attempts = {}: in {}, {}, so requests stay under \
                         Shopware's limits (and pace them, see the rate-limit finding).",
                        c.retry.max_attempts,
                        self.engine(),
                        steps.join("; ")
                    ),
                    (Some(c), true) => format!(
                        "Stock pushes gave up after retry.max_attempts = {}: pace them with \
                         rate_limits.shopware_per_second in {} (see the rate-limit finding) or raise the attempts.",
                        c.retry.max_attempts,
                        self.engine()
                    ),
                    (None, _) => "Push stock in smaller batches and fewer at a time.".into(),
                };
                (
                    "stock_push_failed".into(),
                    "stock pushes to Shopware failed".into(),
                    fix,
                )
            }
            Cause::CloseoutUnavailable => {
                let fix = match cfg.and_then(|c| c.inventory.indexing.clone()) {
                    Some(i) => format!(
                        "Remove inventory.indexing (now \"{i}\") from {}: Shopware then recomputes availability when \
                         stock is written. Re-index these products once (bin/console dal:refresh:index).",
                        self.engine()
                    ),
                    None => "Re-index these products (bin/console dal:refresh:index) and check that nothing writes \
                             their stock with indexing disabled."
                        .into(),
                };
                (
                    "closeout_unavailable".into(),
                    format!(
                        "{} restocked closeout product{} still sold out",
                        self.n,
                        if self.n == 1 { "" } else { "s" }
                    ),
                    fix,
                )
            }
            Cause::Other(category) => (
                category.clone(),
                format!("{} {category} exception{}", self.n, if self.n == 1 { "" } else { "s" }),
                "Review them with `synctwin exceptions list`, fix the cause the message names, then \
                 `synctwin exceptions retry`."
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::ShopOrder;
    use crate::report::model::RunReport;

    fn exception(id: i64, subject: &str, category: &str, owner: Owner, detail: &str) -> ExceptionEntry {
        ExceptionEntry {
            id,
            subject: subject.into(),
            category: category.into(),
            owner,
            detail: detail.into(),
            resolved: false,
        }
    }

    fn order(number: &str, gross: f64, skus: &[&str]) -> ShopOrder {
        ShopOrder {
            number: number.into(),
            gross,
            net: gross,
            taxes: Default::default(),
            lines: skus.len(),
            cancelled: false,
            guest: false,
            email: String::new(),
            units: skus.iter().map(|s| (s.to_string(), 1)).collect(),
        }
    }

    fn rejection(sku: &str) -> String {
        format!(
            "Internal_InvalidTableRelation The field No. of table Sales Line contains a value ({sku}) that cannot be \
             found in the related table (Item).  CorrelationId:  3f2a. (400 from POST /api/v2.0/companies({{id}})/salesOrders)"
        )
    }

    #[test]
    fn one_finding_per_unmapped_sku_with_every_order_it_blocks() {
        // 40 orders carry SW1 (unknown), 3 of them also SW2 (unknown; the ERP
        // names only the first), and 2 orders are stuck on SW3 alone.
        let mut exceptions = Vec::new();
        let mut shop = Vec::new();
        for i in 0..40 {
            let n = format!("{}", 10_000 + i);
            let skus: &[&str] = if i < 3 { &["SW1", "SW2", "SW9"] } else { &["SW9", "SW1"] };
            shop.push(order(&n, 10.0, skus));
            exceptions.push(exception(i, &n, "unmapped_sku", Owner::Operations, &rejection("SW1")));
        }
        for i in 40..42 {
            let n = format!("{}", 10_000 + i);
            shop.push(order(&n, 5.5, &["SW3"]));
            exceptions.push(exception(i, &n, "unmapped_sku", Owner::Operations, &rejection("SW3")));
        }
        exceptions.push(exception(
            99,
            "SW7",
            "closeout_unavailable",
            Owner::Ecommerce,
            "restocked to 5",
        ));
        let items: BTreeMap<String, bool> = [("SW9".to_string(), false)].into();
        let report = RunReport::default();
        let facts = RunFacts {
            report: &report,
            engine: None,
            exceptions: &exceptions,
            orders: Some(super::super::run::OrderLists { shop: &shop, erp: &[] }),
            erp_items: Some(&items),
            stale_closeouts: None,
        };
        let (mut f, parked) = findings(&facts);
        super::super::finding::rank(&mut f);
        assert_eq!(parked.len(), 42);
        let summary: Vec<(&str, u64, f64)> = f
            .iter()
            .map(|f| (f.key.as_str(), f.impact.orders_blocked, f.impact.money_unreconciled))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("unmapped_sku:SW1", 40, 400.0),
                ("unmapped_sku:SW2", 3, 30.0),
                ("unmapped_sku:SW3", 2, 11.0),
                ("closeout_unavailable", 0, 0.0),
            ]
        );
        let sw1 = &f[0];
        assert_eq!(sw1.title, "SW1 has no ERP item");
        assert_eq!(sw1.examples, vec!["10000", "10001", "10002", "10003", "10004"]);
        assert_eq!(
            (sw1.severity, sw1.owner, sw1.count),
            (Severity::Critical, Owner::Operations, 40)
        );
        assert!(
            sw1.fix.starts_with("Add item SW1 to the ERP item master"),
            "{}",
            sw1.fix
        );
        assert!(sw1.fix.contains("40 parked orders"), "{}", sw1.fix);
        assert!(
            sw1.evidence.contains("(SW1) that cannot be found") && !sw1.evidence.contains("CorrelationId"),
            "{}",
            sw1.evidence
        );
        assert!(sw1.metrics.contains(&"reconciliation.missing_orders".to_string()));
        assert_eq!(f[3].severity, Severity::Warning);
        assert_eq!(f[3].count_of, "SKUs");
    }

    #[test]
    fn fixes_name_the_engine_settings() {
        let mut cfg = EngineConfig::default();
        cfg.mapping.discount_item = None;
        cfg.mapping.products.insert("SW5".into(), "ITEM-5".into());
        cfg.inventory.indexing = Some("disable-indexing".into());
        let exceptions = vec![
            exception(
                1,
                "10001",
                "promotion_without_item",
                Owner::Integration,
                "promotion line 'Black Friday' has no ERP item: set mapping.discount_item to a non-inventory discount item",
            ),
            exception(
                2,
                "10002",
                "unmapped_tax_rate",
                Owner::Finance,
                "tax rate 5.5% has no ERP tax code: add \"5.5\" to mapping.tax_codes",
            ),
            exception(
                3,
                "10003",
                "field_too_long",
                Owner::Integration,
                "Application_StringExceededLength The length of the string for Description is 120, but it must be less than or equal to 50 characters. Value: x",
            ),
            exception(4, "10004", "unmapped_sku", Owner::Operations, &rejection("ITEM-5")),
            exception(5, "SW8", "closeout_unavailable", Owner::Ecommerce, "restocked"),
            exception(6, "inventory", "stock_push_failed", Owner::Integration, "429"),
        ];
        let shop = vec![order("10004", 1.0, &["SW5"])];
        let items = BTreeMap::new();
        let mut report = RunReport::default();
        report.scenario.engine = "scenarios/engine/x.toml".into();
        let facts = RunFacts {
            report: &report,
            engine: Some(&cfg),
            exceptions: &exceptions,
            orders: Some(super::super::run::OrderLists { shop: &shop, erp: &[] }),
            erp_items: Some(&items),
            stale_closeouts: None,
        };
        let (f, _) = findings(&facts);
        let by_key: BTreeMap<&str, &Finding> = f.iter().map(|f| (f.key.as_str(), f)).collect();
        let promo = by_key["promotion_without_item"];
        assert!(
            promo
                .fix
                .contains("mapping.discount_item in scenarios/engine/x.toml (now unset)"),
            "{}",
            promo.fix
        );
        assert!(promo.evidence.contains("Lines: Black Friday."), "{}", promo.evidence);
        let tax = by_key["unmapped_tax_rate:5.5"];
        assert_eq!(tax.owner, Owner::Finance);
        assert!(
            tax.fix.contains("\"5.5\" = ") && tax.fix.contains("19 → VAT19"),
            "{}",
            tax.fix
        );
        let long = by_key["field_too_long:Description"];
        assert!(
            long.fix.contains("mapping.description_max = 50") && long.fix.contains("(now 100)"),
            "{}",
            long.fix
        );
        let sku = by_key["unmapped_sku:SW5"];
        assert_eq!(sku.title, "SW5 maps to ERP item ITEM-5, which does not exist");
        let push = by_key["stock_push_failed"];
        assert!(
            push.fix
                .contains("lower inventory.batch_size from 100 to 50; inventory.concurrency from 2 to 1"),
            "{}",
            push.fix
        );
        let closeout = by_key["closeout_unavailable"];
        assert!(
            closeout.fix.contains("inventory.indexing (now \"disable-indexing\")"),
            "{}",
            closeout.fix
        );
    }

    #[test]
    fn messages_are_read_defensively() {
        assert_eq!(
            table_relation(&rejection("SW10000.1")),
            Some(("SW10000.1".into(), "Item".into()))
        );
        assert_eq!(table_relation("no relation here"), None);
        assert_eq!(natural(vec!["10000".into(), "9999".into()]), vec!["9999", "10000"]);
        assert_eq!(excerpt("x. CorrelationId: 1"), "x");
        assert_eq!(
            excerpt("The length of the string for Name is 120, but it must be less than or equal to 100 characters. Value: Erika Muster"),
            "The length of the string for Name is 120, but it must be less than or equal to 100 characters"
        );
        assert!(excerpt(&"y".repeat(500)).ends_with('…'));
    }
}
