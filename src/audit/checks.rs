//! The audit's data-integrity checks, pure over the snapshots of the shop and
//! the ERP and the engine's mapping rules. Each check gives at most a few
//! findings, grouped by root cause, with the count, examples, owner and fix:
//!
//! | key | what |
//! |---|---|
//! | `unmapped_products` | sellable productNumbers (and option item numbers in recent orders) with no ERP item |
//! | `blocked_items` | productNumbers whose ERP item is blocked |
//! | `duplicate_numbers` | productNumbers equal once trimmed and upper-cased (how ERP item numbers are stored) |
//! | `blank_numbers` | products without a productNumber |
//! | `closeout_inherited` | variants whose closeout setting comes from their parent |
//! | `closeout_sold_out_with_erp_stock` | closeouts at stock 0, unavailable, while the ERP has stock |
//! | `closeout_unavailable_in_stock` | closeouts with stock that Shopware still shows sold out |
//! | `promotion_without_item` | promotion lines in recent orders and no discount item configured |
//! | `configured_item_missing:<N>` | a configured discount/shipping/surcharge/custom item the ERP lacks |
//! | `unsupported_line:<type>` | recent order lines no mapping rule covers |
//! | `tax_rate_without_code:<rate>` | a shop tax rate with no ERP tax code in the mapping |
//! | `option_text_too_long` | configurator texts longer than the ERP's line description |
//! | `guest_orders` | guest checkouts in recent orders (each becomes an ERP customer) |
//! | `missing_customer` | recent orders without a customer e-mail |
//!
//! Recent orders are mapped with the engine's own rules ([`map_order`]), so an
//! order the audit says is blocked is one the engine would park. Item numbers
//! are looked up in the ERP trimmed and upper-cased, as Business Central stores
//! its Code fields (`sw10000` finds item `SW10000`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::source::{ErpItemInfo, ErpSnapshot, ShopProduct, ShopSnapshot};
use crate::diagnose::exceptions::natural;
use crate::diagnose::finding::{examples, money, Finding, Impact, Owner, Severity};
use crate::engine::export::order_lines;
use crate::engine::mapping::{map_order, option_description, rate_key, GuestStrategy, MappingConfig, MappingIssue};

/// How many SKUs a fix text lists by name.
pub const FIX_LIST: usize = 10;

/// How Business Central stores an item number (a Code field): trimmed, upper case.
fn code(number: &str) -> String {
    number.trim().to_uppercase()
}

/// The item master keyed by [`code`] (the first of colliding numbers wins).
fn by_code(erp: &ErpSnapshot) -> ErpSnapshot {
    let mut items = BTreeMap::new();
    for (n, i) in &erp.items {
        items.entry(code(n)).or_insert_with(|| i.clone());
    }
    ErpSnapshot { items }
}

/// An ERP item by number, in a snapshot keyed by [`code`].
fn erp_item<'a>(erp: &'a ErpSnapshot, number: &str) -> Option<&'a ErpItemInfo> {
    erp.items.get(&code(number))
}

/// What the checks need besides the snapshots.
#[derive(Debug, Clone)]
pub struct CheckSettings<'a> {
    pub mapping: &'a MappingConfig,
    /// How the engine configuration is named in fix texts.
    pub engine_name: &'a str,
    /// The order window in days (for texts).
    pub days: u64,
}

/// Products indexed for inheritance.
struct Catalogue<'a> {
    by_id: BTreeMap<&'a str, &'a ShopProduct>,
    parents: BTreeSet<&'a str>,
}

impl<'a> Catalogue<'a> {
    fn new(products: &'a [ShopProduct]) -> Self {
        Catalogue {
            by_id: products.iter().map(|p| (p.id.as_str(), p)).collect(),
            parents: products.iter().filter_map(|p| p.parent_id.as_deref()).collect(),
        }
    }

    fn parent(&self, p: &ShopProduct) -> Option<&'a ShopProduct> {
        p.parent_id.as_deref().and_then(|id| self.by_id.get(id).copied())
    }

    fn closeout(&self, p: &ShopProduct) -> bool {
        p.is_closeout
            .or_else(|| self.parent(p).and_then(|q| q.is_closeout))
            .unwrap_or(false)
    }

    fn active(&self, p: &ShopProduct) -> bool {
        p.active
            .or_else(|| self.parent(p).and_then(|q| q.active))
            .unwrap_or(true)
    }

    fn tax_id(&self, p: &ShopProduct) -> Option<String> {
        p.tax_id
            .clone()
            .or_else(|| self.parent(p).and_then(|q| q.tax_id.clone()))
    }

    /// Can be bought: active and not a parent of variants.
    fn sellable(&self, p: &ShopProduct) -> bool {
        !self.parents.contains(p.id.as_str()) && self.active(p)
    }
}

fn number(p: &ShopProduct) -> Option<&str> {
    p.number.as_deref().filter(|n| !n.trim().is_empty())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        crate::report::units::count(n as f64),
        if n == 1 { one } else { many }
    )
}

/// A recent order as the checks read it.
struct OrderView {
    number: String,
    gross: f64,
    /// Product lines: productNumber → ERP item number it maps to.
    skus: Vec<(String, String)>,
    /// The engine's mapping: item numbers of the lines, or the issues.
    mapped: Result<Vec<(String, String)>, Vec<MappingIssue>>,
    /// Option texts and their length, as the engine would write them.
    option_texts: Vec<String>,
    guest: bool,
    email: String,
}

fn view(order: &Value, mapping: &MappingConfig) -> OrderView {
    let unbounded = MappingConfig {
        description_max: usize::MAX,
        ..mapping.clone()
    };
    let skus = order_lines(order)
        .into_iter()
        .map(|(sku, _)| {
            let erp = mapping.products.get(&sku).cloned().unwrap_or_else(|| sku.clone());
            (sku, erp)
        })
        .collect::<Vec<_>>();
    let mapped = map_order(order, &unbounded).map(|d| {
        d.lines
            .iter()
            .filter_map(|l| l.number.clone())
            .map(|n| {
                let sku = skus
                    .iter()
                    .find(|(_, e)| *e == n)
                    .map_or_else(|| n.clone(), |(s, _)| s.clone());
                (sku, n)
            })
            .collect()
    });
    let option_texts = order
        .get("lineItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|li| {
            matches!(
                li.get("type").and_then(Value::as_str),
                Some("customized-products-option" | "option-values")
            )
        })
        .map(option_description)
        .collect();
    let oc = order.get("orderCustomer").cloned().unwrap_or(Value::Null);
    OrderView {
        number: order
            .get("orderNumber")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        gross: order.get("amountTotal").and_then(Value::as_f64).unwrap_or(0.0),
        skus,
        mapped,
        option_texts,
        guest: oc.pointer("/customer/guest").and_then(Value::as_bool).unwrap_or(false)
            || oc.get("guest").and_then(Value::as_bool).unwrap_or(false),
        email: oc
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
    }
}

/// Orders grouped under one cause.
#[derive(Debug, Default)]
struct Orders {
    numbers: BTreeSet<String>,
    gross: f64,
}

impl Orders {
    fn add(&mut self, o: &OrderView) {
        if self.numbers.insert(o.number.clone()) {
            self.gross += o.gross;
        }
    }

    fn impact(&self) -> Impact {
        Impact {
            orders_blocked: self.numbers.len() as u64,
            units_oversold: 0,
            money_unreconciled: self.gross,
        }
    }

    fn list(&self) -> Vec<String> {
        natural(self.numbers.iter().cloned().collect())
    }
}

/// Runs every check; the findings are unranked.
pub fn check(shop: &ShopSnapshot, erp: &ErpSnapshot, s: &CheckSettings) -> Vec<Finding> {
    let erp = &by_code(erp);
    let cat = Catalogue::new(&shop.products);
    let orders: Vec<OrderView> = shop.orders.iter().map(|o| view(o, s.mapping)).collect();
    let mut out = Vec::new();
    out.extend(item_master(shop, erp, &cat, &orders, s));
    out.extend(numbers(shop, &orders));
    out.extend(closeouts(shop, erp, &cat, s));
    out.extend(line_mapping(erp, &orders, s));
    out.extend(taxes(shop, &cat, &orders, s));
    out.extend(option_texts(&orders, s));
    out.extend(customers(&orders, s));
    out
}

fn configured_items(m: &MappingConfig) -> Vec<(&'static str, &'static str, String)> {
    [
        ("discount_item", "discount", &m.discount_item),
        ("shipping_item", "shipping", &m.shipping_item),
        ("surcharge_item", "surcharge", &m.surcharge_item),
        ("custom_item", "custom line", &m.custom_item),
    ]
    .into_iter()
    .filter_map(|(k, what, v)| v.clone().map(|v| (k, what, v)))
    .collect()
}

/// Sellable productNumbers (and numbers in recent orders) the ERP lacks or has blocked.
fn item_master(
    shop: &ShopSnapshot,
    erp: &ErpSnapshot,
    cat: &Catalogue,
    orders: &[OrderView],
    s: &CheckSettings,
) -> Vec<Finding> {
    let configured: BTreeSet<String> = configured_items(s.mapping).into_iter().map(|c| c.2).collect();
    // shop SKU → ERP number, for the unknown and the blocked ones.
    let mut unknown: BTreeMap<String, String> = BTreeMap::new();
    let mut blocked: BTreeMap<String, String> = BTreeMap::new();
    let classify = |unknown: &mut BTreeMap<String, String>,
                    blocked: &mut BTreeMap<String, String>,
                    sku: &str,
                    erp_no: &str| match erp_item(erp, erp_no) {
        None => {
            unknown.insert(sku.to_string(), erp_no.to_string());
        }
        Some(i) if i.blocked => {
            blocked.insert(sku.to_string(), erp_no.to_string());
        }
        Some(_) => {}
    };
    let sellable: Vec<&ShopProduct> = shop.products.iter().filter(|p| cat.sellable(p)).collect();
    for p in &sellable {
        if let Some(n) = number(p) {
            let erp_no = s.mapping.products.get(n).map_or(n, String::as_str);
            classify(&mut unknown, &mut blocked, n, erp_no);
        }
    }
    let in_catalogue: BTreeSet<String> = unknown.keys().chain(blocked.keys()).cloned().collect();
    // Numbers recent orders carry that the catalogue check did not see
    // (deleted products, option items with their own number).
    for o in orders {
        let lines: Vec<(String, String)> = match &o.mapped {
            Ok(lines) => lines.clone(),
            Err(_) => o.skus.clone(),
        };
        for (sku, erp_no) in lines.iter().filter(|(_, e)| !configured.contains(e)) {
            classify(&mut unknown, &mut blocked, sku, erp_no);
        }
    }
    let mut out = Vec::new();
    for (key, set, severity_text) in [
        ("unmapped_products", &unknown, "have no ERP item"),
        ("blocked_items", &blocked, "map to a blocked ERP item"),
    ] {
        if set.is_empty() {
            continue;
        }
        let mut by_sku: BTreeMap<&str, Orders> = BTreeMap::new();
        let mut all = Orders::default();
        for o in orders {
            let lines: Vec<&String> = match &o.mapped {
                Ok(lines) => lines.iter().map(|l| &l.0).collect(),
                Err(_) => o.skus.iter().map(|l| &l.0).collect(),
            };
            for sku in lines.into_iter().filter(|sku| set.contains_key(*sku)) {
                by_sku.entry(sku.as_str()).or_default().add(o);
                all.add(o);
            }
        }
        // Most-ordered first, then in number order.
        let mut skus: Vec<&String> = set.keys().collect();
        skus.sort_by(|a, b| {
            let n = |k: &str| by_sku.get(k).map_or(0, |o| o.numbers.len());
            n(b).cmp(&n(a)).then_with(|| (a.len(), *a).cmp(&(b.len(), *b)))
        });
        let label = |sku: &String| {
            let erp_no = &set[sku];
            let orders = by_sku.get(sku.as_str()).map_or(0, |o| o.numbers.len());
            let mut t = sku.clone();
            if erp_no != sku {
                t.push_str(&format!(" → {erp_no}"));
            }
            if orders > 0 {
                t.push_str(&format!(" ({})", plural(orders, "order", "orders")));
            }
            t
        };
        let listed: Vec<String> = skus.iter().take(FIX_LIST).map(|s| set[*s].clone()).collect();
        let more = skus.len().saturating_sub(FIX_LIST);
        let map_file = s.mapping.product_map_csv.as_ref().map_or_else(
            || "a product map CSV (mapping.product_map_csv)".into(),
            |p| p.display().to_string(),
        );
        let list_text = format!(
            "{}{}",
            listed.join(", "),
            if more > 0 {
                format!(" and {more} more (see the JSON report)")
            } else {
                String::new()
            }
        );
        let (title, fix) = if key == "unmapped_products" {
            (
                format!(
                    "{} {severity_text}",
                    plural(set.len(), "productNumber", "productNumbers")
                ),
                format!(
                    "Add items {list_text} to the ERP item master, or map each productNumber to an existing ERP item \
                     in {map_file}."
                ),
            )
        } else {
            (
                format!(
                    "{} {severity_text}",
                    plural(set.len(), "productNumber", "productNumbers")
                ),
                format!("Unblock items {list_text} in the ERP, or take the products off sale while they are blocked."),
            )
        };
        out.push(Finding {
            key: key.into(),
            title,
            category: key.into(),
            severity: Severity::Critical,
            owner: Owner::Operations,
            impact: all.impact(),
            count: set.len() as u64,
            count_of: "SKUs".into(),
            examples: examples(skus.iter().map(|s| label(s))),
            evidence: format!(
                "{} of the {} sellable products (active, not parents){} {severity_text}; {} of the last {} days \
                 contain them ({} gross), and the ERP would reject each.",
                set.keys().filter(|k| in_catalogue.contains(*k)).count(),
                sellable.len(),
                match set.keys().filter(|k| !in_catalogue.contains(*k)).count() {
                    0 => String::new(),
                    n => format!(" and {} only seen in order lines", plural(n, "number", "numbers")),
                },
                plural(all.numbers.len(), "order", "orders"),
                s.days,
                money(all.gross)
            ),
            fix,
            metrics: Vec::new(),
        });
    }
    out
}

/// Duplicate (after trimming and upper-casing) and blank productNumbers.
fn numbers(shop: &ShopSnapshot, orders: &[OrderView]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in &shop.products {
        if let Some(n) = number(p) {
            groups.entry(code(n)).or_default().push(n);
        }
    }
    let dups: Vec<(&String, &Vec<&str>)> = groups.iter().filter(|(_, v)| v.len() > 1).collect();
    if !dups.is_empty() {
        let products: usize = dups.iter().map(|(_, v)| v.len()).sum();
        out.push(Finding {
            key: "duplicate_numbers".into(),
            title: format!(
                "{} collide into {} ERP item number{}",
                plural(products, "productNumber", "productNumbers"),
                dups.len(),
                if dups.len() == 1 { "" } else { "s" }
            ),
            category: "duplicate_numbers".into(),
            severity: Severity::Critical,
            owner: Owner::Ecommerce,
            impact: Impact::default(),
            count: products as u64,
            count_of: "products".into(),
            examples: examples(
                dups.iter()
                    .map(|(_, v)| v.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" / ")),
            ),
            evidence: format!(
                "ERP item numbers are stored upper-case without surrounding spaces (Business Central Code fields), so \
                 {} differ only in case or spaces and meet as {} item{}: stock pushed for one overwrites the other, and \
                 orders of both book on one item.",
                plural(products, "productNumber", "productNumbers"),
                dups.len(),
                if dups.len() == 1 { "" } else { "s" }
            ),
            fix: "Give each product a productNumber that stays unique once upper-cased and trimmed (rename in the \
                  Shopware admin or by import), then map the renamed numbers."
                .into(),
            metrics: Vec::new(),
        });
    }
    let blank: Vec<&ShopProduct> = shop.products.iter().filter(|p| number(p).is_none()).collect();
    let blocked = {
        let mut o = Orders::default();
        for v in orders {
            if let Err(issues) = &v.mapped {
                if issues
                    .iter()
                    .any(|i| matches!(i, MappingIssue::ProductWithoutNumber { .. }))
                {
                    o.add(v);
                }
            }
        }
        o
    };
    if !blank.is_empty() || !blocked.numbers.is_empty() {
        out.push(Finding {
            key: "blank_numbers".into(),
            title: format!("{} without a productNumber", plural(blank.len(), "product", "products")),
            category: "blank_numbers".into(),
            severity: Severity::Critical,
            owner: Owner::Ecommerce,
            impact: blocked.impact(),
            count: blank.len() as u64,
            count_of: "products".into(),
            examples: examples(
                blank
                    .iter()
                    .map(|p| format!("{} (id {})", p.name.clone().unwrap_or_else(|| "unnamed".into()), p.id)),
            ),
            evidence: format!(
                "{} have an empty productNumber, so no ERP item can be found for them; {} carry such lines.",
                plural(blank.len(), "product", "products"),
                plural(blocked.numbers.len(), "recent order", "recent orders")
            ),
            fix: "Give every product the productNumber of its ERP item in the Shopware admin (or by import).".into(),
            metrics: Vec::new(),
        });
    }
    out
}

/// Variants inheriting closeout, closeouts hidden while the ERP has stock,
/// closeouts with stock still shown sold out.
fn closeouts(shop: &ShopSnapshot, erp: &ErpSnapshot, cat: &Catalogue, s: &CheckSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    let inherited: Vec<(&ShopProduct, bool)> = shop
        .products
        .iter()
        .filter(|p| p.parent_id.is_some() && p.is_closeout.is_none() && cat.active(p))
        .map(|p| (p, cat.closeout(p)))
        .collect();
    if !inherited.is_empty() {
        let on = inherited.iter().filter(|(_, c)| *c).count();
        let mut sorted = inherited.clone();
        sorted.sort_by_key(|(p, c)| (!*c, number(p).map(str::to_string)));
        out.push(Finding {
            key: "closeout_inherited".into(),
            title: format!(
                "{} take their closeout setting from the parent",
                plural(inherited.len(), "variant", "variants")
            ),
            category: "closeout_inherited".into(),
            severity: Severity::Warning,
            owner: Owner::Ecommerce,
            impact: Impact::default(),
            count: inherited.len() as u64,
            count_of: "variants".into(),
            examples: examples(sorted.iter().map(|(p, c)| {
                format!(
                    "{} (closeout {} from {})",
                    number(p).unwrap_or("?"),
                    if *c { "on" } else { "off" },
                    cat.parent(p).and_then(number).unwrap_or("its parent")
                )
            })),
            evidence: format!(
                "{} have no own closeout setting ({on} inherit closeout on, {} off): changing the parent switches all \
                 of them, and an integration reading a variant without inheritance sees no closeout and may sell \
                 stock it does not have.",
                plural(inherited.len(), "variant", "variants"),
                inherited.len() - on
            ),
            fix: "Set the closeout flag (isCloseout) on each variant explicitly in the Shopware admin or by import, \
                  so each variant's behaviour at stock 0 is deliberate."
                .into(),
            metrics: Vec::new(),
        });
    }
    let erp_stock = |p: &ShopProduct| {
        number(p)
            .map(|n| s.mapping.products.get(n).map_or(n, String::as_str))
            .and_then(|n| erp_item(erp, n))
            .filter(|i| i.inventory && !i.blocked)
            .map_or(0, |i| i.on_hand)
    };
    let closeouts: Vec<&ShopProduct> = shop
        .products
        .iter()
        .filter(|p| cat.sellable(p) && cat.closeout(p) && p.available == Some(false))
        .collect();
    let hidden: Vec<(&ShopProduct, i64)> = closeouts
        .iter()
        .filter(|p| p.stock <= 0)
        .map(|p| (*p, erp_stock(p)))
        .filter(|(_, e)| *e > 0)
        .collect();
    if !hidden.is_empty() {
        let units: i64 = hidden.iter().map(|(_, e)| e).sum();
        out.push(Finding {
            key: "closeout_sold_out_with_erp_stock".into(),
            title: format!(
                "{} sold out in Shopware while the ERP has stock",
                plural(hidden.len(), "closeout product", "closeout products")
            ),
            category: "closeout_sold_out_with_erp_stock".into(),
            severity: Severity::Warning,
            owner: Owner::Ecommerce,
            impact: Impact::default(),
            count: hidden.len() as u64,
            count_of: "SKUs".into(),
            examples: examples(
                hidden
                    .iter()
                    .map(|(p, e)| format!("{} (ERP on hand {e})", number(p).unwrap_or("?"))),
            ),
            evidence: format!(
                "{} are closeouts at stock 0 and unavailable, though the ERP holds {} of them: nobody can buy them \
                 until their stock is written with indexing on.",
                plural(hidden.len(), "product", "products"),
                plural(units as usize, "unit", "units")
            ),
            fix: format!(
                "Push the ERP stock to these products with indexing on (no indexing-behavior header; in {} leave \
                 inventory.indexing unset), or re-index them after the update: a closeout at 0 stays unavailable until \
                 Shopware recomputes `available`.",
                s.engine_name
            ),
            metrics: Vec::new(),
        });
    }
    let stale: Vec<&&ShopProduct> = closeouts.iter().filter(|p| p.stock > 0).collect();
    if !stale.is_empty() {
        out.push(Finding {
            key: "closeout_unavailable_in_stock".into(),
            title: format!(
                "{} with stock still shown sold out",
                plural(stale.len(), "closeout product", "closeout products")
            ),
            category: "closeout_unavailable_in_stock".into(),
            severity: Severity::Warning,
            owner: Owner::Ecommerce,
            impact: Impact::default(),
            count: stale.len() as u64,
            count_of: "SKUs".into(),
            examples: examples(
                stale
                    .iter()
                    .map(|p| format!("{} (stock {})", number(p).unwrap_or("?"), p.stock)),
            ),
            evidence: format!(
                "{} have stock but `available` is false: their stock was written with indexing disabled, so Shopware \
                 never recomputed availability.",
                plural(stale.len(), "closeout", "closeouts")
            ),
            fix: "Re-index these products (bin/console dal:refresh:index, or save each once in the admin) and stop \
                  writing stock with `indexing-behavior: disable-indexing`."
                .into(),
            metrics: Vec::new(),
        });
    }
    out
}

/// Promotions without a discount item, configured items the ERP lacks, line
/// types without a rule.
fn line_mapping(erp: &ErpSnapshot, orders: &[OrderView], s: &CheckSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut promo = Orders::default();
    let mut promo_labels: BTreeSet<String> = BTreeSet::new();
    let mut unsupported: BTreeMap<String, (Orders, BTreeSet<String>)> = BTreeMap::new();
    let mut using: BTreeMap<String, Orders> = BTreeMap::new();
    for o in orders {
        match &o.mapped {
            Err(issues) => {
                for i in issues {
                    match i {
                        MappingIssue::PromotionWithoutItem { label } => {
                            promo.add(o);
                            promo_labels.insert(label.clone());
                        }
                        MappingIssue::UnsupportedLine { line_type, label } => {
                            let e = unsupported.entry(line_type.clone()).or_default();
                            e.0.add(o);
                            e.1.insert(label.clone());
                        }
                        _ => {}
                    }
                }
            }
            Ok(lines) => {
                for (_, n) in lines {
                    using.entry(n.clone()).or_default().add(o);
                }
            }
        }
    }
    if !promo.numbers.is_empty() {
        let has_discount = erp_item(erp, "DISCOUNT").is_some();
        out.push(Finding {
            key: "promotion_without_item".into(),
            title: format!(
                "promotions in {} have no ERP discount item",
                plural(promo.numbers.len(), "order", "orders")
            ),
            category: "promotion_without_item".into(),
            severity: Severity::Critical,
            owner: Owner::Integration,
            impact: promo.impact(),
            count: promo.numbers.len() as u64,
            count_of: "orders".into(),
            examples: examples(promo.list()),
            evidence: format!(
                "Recent orders carry promotion or credit lines ({}) and mapping.discount_item is not set, so the \
                 engine cannot map them and parks the orders.",
                promo_labels.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
            fix: format!(
                "Set mapping.discount_item in {} to a non-inventory discount item{}.",
                s.engine_name,
                if has_discount {
                    " (the ERP has DISCOUNT)"
                } else {
                    " and create it in the ERP"
                }
            ),
            metrics: Vec::new(),
        });
    }
    for (line_type, (o, labels)) in &unsupported {
        out.push(Finding {
            key: format!("unsupported_line:{line_type}"),
            title: format!(
                "{line_type} lines in {} have no mapping rule",
                plural(o.numbers.len(), "order", "orders")
            ),
            category: "unsupported_line".into(),
            severity: Severity::Critical,
            owner: Owner::Integration,
            impact: o.impact(),
            count: o.numbers.len() as u64,
            count_of: "orders".into(),
            examples: examples(o.list()),
            evidence: format!(
                "Lines of type {line_type} ({}) map to no ERP item.",
                labels.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
            fix: format!(
                "Configure {} in {} with an item the ERP has.",
                match line_type.as_str() {
                    "custom" => "mapping.custom_item",
                    "shipping" => "mapping.shipping_item",
                    _ => "mapping.surcharge_item",
                },
                s.engine_name
            ),
            metrics: Vec::new(),
        });
    }
    for (key, what, item) in configured_items(s.mapping) {
        let state = erp_item(erp, &item);
        if state.is_some_and(|i| !i.blocked) {
            continue;
        }
        let o = using.remove(&item).unwrap_or_default();
        let blocked = state.is_some();
        out.push(Finding {
            key: format!("configured_item_missing:{item}"),
            title: format!(
                "the {what} item {item} is {} the ERP",
                if blocked { "blocked in" } else { "missing in" }
            ),
            category: "configured_item_missing".into(),
            severity: if o.numbers.is_empty() {
                Severity::Warning
            } else {
                Severity::Critical
            },
            owner: Owner::Operations,
            impact: o.impact(),
            count: o.numbers.len() as u64,
            count_of: "orders".into(),
            examples: examples(o.list()),
            evidence: format!(
                "mapping.{key} = \"{item}\", but the ERP's item master {} it; {} of the last {} days use it.",
                if blocked { "blocks" } else { "does not have" },
                plural(o.numbers.len(), "order", "orders"),
                s.days
            ),
            fix: format!(
                "{} item {item} in the ERP (non-inventory), or point mapping.{key} in {} at an item the ERP has.",
                if blocked { "Unblock" } else { "Create" },
                s.engine_name
            ),
            metrics: Vec::new(),
        });
    }
    out
}

/// Shop tax rates without an ERP tax code in the mapping.
fn taxes(shop: &ShopSnapshot, cat: &Catalogue, orders: &[OrderView], s: &CheckSettings) -> Vec<Finding> {
    let mut rates: BTreeMap<String, (Vec<&str>, Vec<String>, Orders)> = BTreeMap::new();
    for t in &shop.taxes {
        let key = rate_key(t.rate);
        if s.mapping.tax_codes.contains_key(&key) {
            continue;
        }
        let e = rates.entry(key).or_default();
        e.0.push(t.name.as_str());
        let mut skus: Vec<String> = shop
            .products
            .iter()
            .filter(|p| cat.sellable(p) && cat.tax_id(p).as_deref() == Some(t.id.as_str()))
            .filter_map(|p| number(p).map(str::to_string))
            .collect();
        e.1.append(&mut skus);
    }
    for o in orders {
        if let Err(issues) = &o.mapped {
            for i in issues {
                if let MappingIssue::UnmappedTaxRate { rate } = i {
                    rates.entry(rate.clone()).or_default().2.add(o);
                }
            }
        }
    }
    let known = s
        .mapping
        .tax_codes
        .iter()
        .map(|(r, c)| format!("{r} → {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    rates
        .into_iter()
        .map(|(rate, (names, skus, o))| {
            let skus = natural(skus);
            let used = !skus.is_empty() || !o.numbers.is_empty();
            Finding {
                key: format!("tax_rate_without_code:{rate}"),
                title: format!("tax rate {rate} % has no ERP tax code"),
                category: "tax_rate_without_code".into(),
                severity: if used { Severity::Critical } else { Severity::Warning },
                owner: Owner::Finance,
                impact: o.impact(),
                count: skus.len() as u64,
                count_of: "products".into(),
                examples: examples(skus.iter().cloned()),
                evidence: format!(
                    "Shopware's tax {} ({rate} %) is used by {} and {} of the last {} days, but mapping.tax_codes maps \
                     only {}.",
                    if names.is_empty() {
                        "rate".to_string()
                    } else {
                        names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
                    },
                    plural(skus.len(), "product", "products"),
                    plural(o.numbers.len(), "order", "orders"),
                    s.days,
                    if known.is_empty() { "nothing".into() } else { known.clone() }
                ),
                fix: format!(
                    "Add \"{rate}\" = \"<the ERP's tax code for {rate} %>\" to mapping.tax_codes in {}, after finance \
                     names the code.",
                    s.engine_name
                ),
                metrics: Vec::new(),
            }
        })
        .collect()
}

/// Configurator texts the ERP's line description cannot hold.
fn option_texts(orders: &[OrderView], s: &CheckSettings) -> Option<Finding> {
    let max = s.mapping.description_max;
    let long: Vec<(&OrderView, &String)> = orders
        .iter()
        .flat_map(|o| o.option_texts.iter().map(move |t| (o, t)))
        .filter(|(_, t)| t.chars().count() > max)
        .collect();
    if long.is_empty() {
        return None;
    }
    let longest = long.iter().map(|(_, t)| t.chars().count()).max().unwrap_or(0);
    let mut affected = Orders::default();
    for (o, _) in &long {
        affected.add(o);
    }
    Some(Finding {
        key: "option_text_too_long".into(),
        title: format!(
            "{} longer than the ERP's {max} characters",
            plural(long.len(), "configurator text", "configurator texts")
        ),
        category: "option_text_too_long".into(),
        severity: Severity::Warning,
        owner: Owner::Ecommerce,
        impact: Impact::default(),
        count: long.len() as u64,
        count_of: "texts".into(),
        examples: examples(
            long.iter()
                .map(|(o, t)| format!("{} ({} characters)", o.number, t.chars().count())),
        ),
        evidence: format!(
            "{} in {} exceed the ERP's line description (mapping.description_max = {max}); the longest has {longest} \
             characters. The engine cuts them, so the warehouse sees a truncated engraving or print text.",
            plural(long.len(), "option text", "option texts"),
            plural(affected.numbers.len(), "order", "orders")
        ),
        fix: format!(
            "Limit the option's text field in the Custom Products template so the text the ERP gets (label, ': ' and \
             the value) stays within {max} characters, or carry long texts in a note the ERP keeps whole."
        ),
        metrics: Vec::new(),
    })
}

/// Guest checkouts and orders without an e-mail.
fn customers(orders: &[OrderView], s: &CheckSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    let guests: Vec<&OrderView> = orders.iter().filter(|o| o.guest).collect();
    if !guests.is_empty() {
        let people: BTreeSet<&str> = guests.iter().map(|o| o.email.as_str()).collect();
        let mut g = Orders::default();
        for o in &guests {
            g.add(o);
        }
        let (severity, owner, fix) = match &s.mapping.guests {
            GuestStrategy::SingleCustomer { number } => (
                Severity::Critical,
                Owner::Integration,
                format!(
                    "Set mapping.guests = {{ strategy = \"find_or_create\" }} in {} (now every guest is booked on ERP \
                     customer {number}, mixing invoices and addresses of different people).",
                    s.engine_name
                ),
            ),
            GuestStrategy::FindOrCreate => (
                Severity::Info,
                Owner::Operations,
                format!(
                    "Nothing blocks: each guest becomes their own ERP customer, found again by e-mail. Expect about {} \
                     new ERP customers per {} days, and agree how guest customers are archived.",
                    people.len(),
                    s.days
                ),
            ),
        };
        out.push(Finding {
            key: "guest_orders".into(),
            title: format!(
                "{} by {} guest{}",
                plural(guests.len(), "order", "orders"),
                people.len(),
                if people.len() == 1 { "" } else { "s" }
            ),
            category: "guest_orders".into(),
            severity,
            owner,
            impact: Impact::default(),
            count: guests.len() as u64,
            count_of: "orders".into(),
            examples: examples(g.list()),
            evidence: format!(
                "{} of the {} orders of the last {} days were guest checkouts, by {} distinct e-mail addresses.",
                guests.len(),
                orders.len(),
                s.days,
                people.len()
            ),
            fix,
            metrics: Vec::new(),
        });
    }
    let mut missing = Orders::default();
    for o in orders {
        if let Err(issues) = &o.mapped {
            if issues.iter().any(|i| matches!(i, MappingIssue::MissingCustomer)) {
                missing.add(o);
            }
        }
    }
    if !missing.numbers.is_empty() {
        out.push(Finding {
            key: "missing_customer".into(),
            title: format!(
                "{} without a customer e-mail",
                plural(missing.numbers.len(), "order", "orders")
            ),
            category: "missing_customer".into(),
            severity: Severity::Critical,
            owner: Owner::Ecommerce,
            impact: missing.impact(),
            count: missing.numbers.len() as u64,
            count_of: "orders".into(),
            examples: examples(missing.list()),
            evidence: "No ERP customer can be found or created for an order without an e-mail.".into(),
            fix: "Find what creates orders without an e-mail (imports, marketplace or POS plugins) and make it \
                  require one."
                .into(),
            metrics: Vec::new(),
        });
    }
    out
}
