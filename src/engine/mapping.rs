//! Mapping rules: a Shopware order (as the Admin API returns it, with
//! `lineItems` and `orderCustomer`) into an ERP-neutral [`OrderDraft`], or the
//! reasons it cannot be mapped, each with a category and an owner.
//!
//! Rules (ERP.md §3, DESIGN.md F1, F2, F5, F7, F8):
//! - product lines, including products nested under customized-products
//!   containers, become item lines through the product map (identity by default);
//! - promotion lines (no productNumber) become lines of a configured
//!   non-inventory discount item, one per tax rate so the tax split is kept;
//! - shipping becomes lines of a configured shipping item, per tax rate;
//! - configurator options become comment lines (text cut to the ERP's field
//!   length, the cut counted) or surcharge item lines when priced;
//! - custom and credit lines map to configured items;
//! - tax rates map to ERP tax codes; an unknown rate is an exception;
//! - guests get their own ERP customer (find or create by e-mail), unless the
//!   naive "one customer for all guests" strategy is chosen;
//! - prices go to the ERP as Shopware shows them (gross, with `pricesIncludeTax`
//!   on the customer), unless the naive "rounded net unit prices" basis is
//!   chosen ([`PriceBasis`], F8); discounts keep their tax split unless the
//!   naive "one rate" booking is chosen ([`DiscountTax`], F2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who fixes an exception (and a diagnosis finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Ecommerce,
    Operations,
    Finance,
    Integration,
}

impl Owner {
    /// The owner's name as serialised (`ecommerce`, `operations`, `finance`, `integration`).
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Ecommerce => "ecommerce",
            Owner::Operations => "operations",
            Owner::Finance => "finance",
            Owner::Integration => "integration",
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an order (or part of it) could not be mapped. The message says what
/// to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "category", rename_all = "snake_case")]
pub enum MappingIssue {
    /// A promotion line and no discount item configured.
    #[error("promotion line '{label}' has no ERP item: set mapping.discount_item to a non-inventory discount item")]
    PromotionWithoutItem { label: String },
    /// A tax rate with no ERP tax code.
    #[error("tax rate {rate}% has no ERP tax code: add \"{rate}\" to mapping.tax_codes")]
    UnmappedTaxRate { rate: String },
    /// A line type the rules do not cover.
    #[error("line '{label}' of type {line_type} has no mapping rule: configure an item for it (mapping.custom_item, shipping_item or surcharge_item)")]
    UnsupportedLine { line_type: String, label: String },
    /// A product line without a productNumber.
    #[error("product line '{label}' has no productNumber in Shopware: give the product a number")]
    ProductWithoutNumber { label: String },
    /// The order has no customer e-mail (guest mapping impossible).
    #[error("the order has no customer e-mail, so no ERP customer can be found or created")]
    MissingCustomer,
}

impl MappingIssue {
    pub fn owner(&self) -> Owner {
        match self {
            MappingIssue::PromotionWithoutItem { .. } | MappingIssue::UnsupportedLine { .. } => Owner::Integration,
            MappingIssue::UnmappedTaxRate { .. } => Owner::Finance,
            MappingIssue::ProductWithoutNumber { .. } | MappingIssue::MissingCustomer => Owner::Ecommerce,
        }
    }
}

/// How guests become ERP customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuestStrategy {
    /// Find the ERP customer by e-mail, create one if absent (each guest its own).
    FindOrCreate,
    /// Book every guest on one customer (naive: merges guests, F5).
    SingleCustomer { number: String },
}

/// The price basis of the lines sent to the ERP (F8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// Shopware's prices as shown (gross for a gross order), and new ERP
    /// customers with `pricesIncludeTax`: the ERP extracts the tax, so its gross
    /// totals are Shopware's to the cent.
    #[default]
    AsShown,
    /// Net unit prices rounded to the cent, the ERP adding tax on top (naive:
    /// each unit price is off by up to half a cent, times the quantity, plus the
    /// ERP's own tax rounding, so gross totals differ by cents).
    NetRounded,
}

/// How a promotion's discount is booked (F2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountTax {
    /// One discount line per tax rate, split as Shopware splits the discount's tax.
    #[default]
    SplitByRate,
    /// The whole discount at the highest rate of the line (naive: the ERP's tax
    /// per rate no longer matches Shopware's).
    SingleRate,
}

/// Mapping configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Shopware productNumber → ERP item number; unlisted numbers map to themselves.
    #[serde(default)]
    pub products: BTreeMap<String, String>,
    /// A CSV of `shopware_number,erp_number` rows merged into `products`
    /// (relative to the config file).
    #[serde(default)]
    pub product_map_csv: Option<std::path::PathBuf>,
    /// Non-inventory item for promotion discounts (None: promotions are exceptions).
    pub discount_item: Option<String>,
    /// Item for shipping charges.
    pub shipping_item: Option<String>,
    /// Item for priced configurator options without their own number.
    pub surcharge_item: Option<String>,
    /// Item for `custom` lines.
    pub custom_item: Option<String>,
    /// Tax rate (as written by Shopware, e.g. "19" or "7") → ERP tax code.
    pub tax_codes: BTreeMap<String, String>,
    /// Longest text the ERP accepts in a line description.
    pub description_max: usize,
    pub guests: GuestStrategy,
    #[serde(default)]
    pub price_basis: PriceBasis,
    #[serde(default)]
    pub discount_tax: DiscountTax,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            products: BTreeMap::new(),
            product_map_csv: None,
            discount_item: Some("DISCOUNT".into()),
            shipping_item: Some("SHIPPING".into()),
            surcharge_item: Some("SURCHARGE".into()),
            custom_item: Some("SERVICE".into()),
            tax_codes: [("19", "VAT19"), ("7", "VAT7"), ("0", "VAT0")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .into(),
            description_max: 100,
            guests: GuestStrategy::FindOrCreate,
            price_basis: PriceBasis::AsShown,
            discount_tax: DiscountTax::SplitByRate,
        }
    }
}

/// How the ERP should find the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerRef {
    /// An existing ERP customer number.
    Number(String),
    /// Find by e-mail, else create with these details.
    FindOrCreate { email: String, name: String, guest: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineKind {
    Item,
    Comment,
}

/// One ERP order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftLine {
    pub kind: LineKind,
    /// ERP item number (None for comments).
    pub number: Option<String>,
    pub description: String,
    pub quantity: f64,
    /// Unit price in the draft's basis: gross when `prices_include_tax`, else net.
    pub unit_price: f64,
    pub tax_code: Option<String>,
}

/// An order ready for an ERP adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDraft {
    /// The idempotency key: Shopware's order number.
    pub external_document_number: String,
    pub customer: CustomerRef,
    pub prices_include_tax: bool,
    pub lines: Vec<DraftLine>,
    /// Descriptions cut to the ERP's field length (configurator texts).
    pub truncated_texts: usize,
    /// Shopware's own gross total, kept for reconciliation.
    pub shop_total: f64,
}

/// Reads a product map CSV (`shopware_number,erp_number`, an optional header
/// row, `#` comments). Errors name the file, the line and what is wrong.
pub fn load_product_map(path: &std::path::Path) -> Result<BTreeMap<String, String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the product map {}: {e}", path.display()))?;
    parse_product_map(&path.display().to_string(), &text)
}

pub fn parse_product_map(origin: &str, text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"')).collect();
        if i == 0 && cols.first().is_some_and(|c| c.eq_ignore_ascii_case("shopware_number")) {
            continue;
        }
        match cols.as_slice() {
            [shop, erp] if !shop.is_empty() && !erp.is_empty() => {
                if let Some(prev) = map.insert(shop.to_string(), erp.to_string()) {
                    return Err(format!(
                        "{origin}, line {}: {shop} is mapped twice ({prev} and {erp})",
                        i + 1
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "{origin}, line {}: expected two columns `shopware_number,erp_number`, got `{line}`",
                    i + 1
                ))
            }
        }
    }
    Ok(map)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn f(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

/// The ERP line text of a configurator option line (`customized-products-option`
/// or `option-values`) before it is cut to `description_max`: the customer's
/// value for a priced option (it becomes an item line), `label: value` for a free
/// one (a comment line). `synctwin audit` measures the same text.
pub fn option_description(li: &Value) -> String {
    let label = s(li, "label");
    let text = li.pointer("/payload/value").and_then(Value::as_str).unwrap_or(label);
    // An `option-values` line is labelled with its value: "value: value" would
    // say it twice and spend the ERP's field length on the copy.
    if f(li, "totalPrice").abs() > 0.0 || label == text {
        text.to_string()
    } else {
        format!("{label}: {text}")
    }
}

/// Shopware writes tax rates as numbers (19.0); the config keys are their shortest text.
pub fn rate_key(rate: f64) -> String {
    let r = (rate * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Splits `total` over tax rates in proportion to each rate's tax, in cents,
/// with the last part taking the rounding remainder so the parts sum exactly.
fn split_by_tax(total: f64, taxes: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let tax_sum: f64 = taxes.iter().map(|t| t.1).sum();
    let total_cents = (total * 100.0).round() as i64;
    let mut parts = Vec::with_capacity(taxes.len());
    let mut given = 0i64;
    for (i, (rate, tax)) in taxes.iter().enumerate() {
        let cents = if i + 1 == taxes.len() {
            total_cents - given
        } else if tax_sum != 0.0 {
            ((total_cents as f64) * tax / tax_sum).round() as i64
        } else {
            total_cents / taxes.len() as i64
        };
        given += cents;
        parts.push((*rate, cents as f64 / 100.0));
    }
    parts
}

/// Maps one order. Issues are all collected, so one run shows every problem.
pub fn map_order(order: &Value, cfg: &MappingConfig) -> Result<OrderDraft, Vec<MappingIssue>> {
    let gross = order.get("taxStatus").and_then(Value::as_str).unwrap_or("gross") == "gross";
    let net_rounded = gross && cfg.price_basis == PriceBasis::NetRounded;
    // A price as Shopware shows it, in the draft's basis.
    let basis = |price: f64, rate: f64| -> f64 {
        if net_rounded {
            round_cents(price / (1.0 + rate / 100.0))
        } else {
            price
        }
    };
    let mut issues = Vec::new();
    let mut lines = Vec::new();
    let mut truncated = 0usize;
    let tax_code = |rate: f64, issues: &mut Vec<MappingIssue>| -> Option<String> {
        let key = rate_key(rate);
        let code = cfg.tax_codes.get(&key).cloned();
        if code.is_none() && !issues.contains(&MappingIssue::UnmappedTaxRate { rate: key.clone() }) {
            issues.push(MappingIssue::UnmappedTaxRate { rate: key });
        }
        code
    };
    let cut = |text: &str, truncated: &mut usize| -> String {
        if text.chars().count() > cfg.description_max {
            *truncated += 1;
            text.chars().take(cfg.description_max).collect()
        } else {
            text.to_string()
        }
    };
    let items: Vec<&Value> = order
        .get("lineItems")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut sorted = items.clone();
    sorted.sort_by_key(|li| {
        (
            li.get("parentId").is_some_and(|p| !p.is_null()),
            li.get("position").and_then(Value::as_i64).unwrap_or(0),
        )
    });
    for li in sorted {
        let label = s(li, "label").to_string();
        let taxes: Vec<(f64, f64)> = li
            .pointer("/price/calculatedTaxes")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|t| (f(t, "taxRate"), f(t, "price"))).collect())
            .unwrap_or_default();
        let first_rate = li
            .pointer("/price/taxRules/0/taxRate")
            .and_then(Value::as_f64)
            .or(taxes.first().map(|t| t.0))
            .unwrap_or(0.0);
        match s(li, "type") {
            "product" => {
                let number = li
                    .pointer("/payload/productNumber")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if number.is_empty() {
                    issues.push(MappingIssue::ProductWithoutNumber { label });
                    continue;
                }
                let item = cfg.products.get(number).cloned().unwrap_or_else(|| number.to_string());
                let code = tax_code(first_rate, &mut issues);
                lines.push(DraftLine {
                    kind: LineKind::Item,
                    number: Some(item),
                    description: cut(&label, &mut truncated),
                    quantity: f(li, "quantity"),
                    unit_price: basis(f(li, "unitPrice"), first_rate),
                    tax_code: code,
                });
            }
            "promotion" | "credit" => {
                let Some(item) = cfg.discount_item.clone() else {
                    issues.push(MappingIssue::PromotionWithoutItem { label });
                    continue;
                };
                // One line per tax rate keeps the discount's tax split (Shopware
                // splits it across the rates of the discounted items).
                let parts: Vec<(f64, f64)> = if taxes.len() > 1 && cfg.discount_tax == DiscountTax::SplitByRate {
                    split_by_tax(f(li, "totalPrice"), &taxes)
                } else if taxes.len() > 1 {
                    let top = taxes.iter().map(|t| t.0).fold(f64::MIN, f64::max);
                    vec![(top, f(li, "totalPrice"))]
                } else {
                    vec![(first_rate, f(li, "totalPrice"))]
                };
                for (rate, amount) in parts {
                    let code = tax_code(rate, &mut issues);
                    lines.push(DraftLine {
                        kind: LineKind::Item,
                        number: Some(item.clone()),
                        description: cut(&format!("{label} ({}%)", rate_key(rate)), &mut truncated),
                        quantity: 1.0,
                        unit_price: basis(round_cents(amount), rate),
                        tax_code: code,
                    });
                }
            }
            "customized-products" => {}
            "customized-products-option" | "option-values" => {
                let price = f(li, "totalPrice");
                // A free value line under an option that already carries the
                // same value adds nothing to the ERP order but a second copy.
                if s(li, "type") == "option-values" && price.abs() == 0.0 {
                    let value = li.pointer("/payload/value");
                    let parent = li.get("parentId").and_then(|p| {
                        items
                            .iter()
                            .find(|o| o.get("id") == Some(p) && s(o, "type") == "customized-products-option")
                    });
                    if value.is_some() && parent.and_then(|p| p.pointer("/payload/value")) == value {
                        continue;
                    }
                }
                let own = li
                    .pointer("/payload/productNumber")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty() && *n != "*");
                let description = option_description(li);
                if price.abs() > 0.0 {
                    let Some(item) = own.map(str::to_string).or_else(|| cfg.surcharge_item.clone()) else {
                        issues.push(MappingIssue::UnsupportedLine {
                            line_type: s(li, "type").into(),
                            label,
                        });
                        continue;
                    };
                    let code = tax_code(first_rate, &mut issues);
                    lines.push(DraftLine {
                        kind: LineKind::Item,
                        number: Some(item),
                        description: cut(&description, &mut truncated),
                        quantity: f(li, "quantity").max(1.0),
                        unit_price: basis(f(li, "unitPrice"), first_rate),
                        tax_code: code,
                    });
                } else {
                    lines.push(DraftLine {
                        kind: LineKind::Comment,
                        number: None,
                        description: cut(&description, &mut truncated),
                        quantity: 0.0,
                        unit_price: 0.0,
                        tax_code: None,
                    });
                }
            }
            "custom" => match cfg.custom_item.clone() {
                Some(item) => {
                    let code = tax_code(first_rate, &mut issues);
                    lines.push(DraftLine {
                        kind: LineKind::Item,
                        number: Some(item),
                        description: cut(&label, &mut truncated),
                        quantity: f(li, "quantity"),
                        unit_price: basis(f(li, "unitPrice"), first_rate),
                        tax_code: code,
                    });
                }
                None => issues.push(MappingIssue::UnsupportedLine {
                    line_type: "custom".into(),
                    label,
                }),
            },
            other => issues.push(MappingIssue::UnsupportedLine {
                line_type: other.into(),
                label,
            }),
        }
    }
    // Shipping, per tax rate of the shipping costs.
    if let Some(costs) = order.get("shippingCosts") {
        let total = f(costs, "totalPrice");
        if total.abs() > 0.0 {
            match cfg.shipping_item.clone() {
                Some(item) => {
                    let taxes: Vec<(f64, f64)> = costs
                        .get("calculatedTaxes")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|t| (f(t, "taxRate"), f(t, "price"))).collect())
                        .unwrap_or_default();
                    let parts: Vec<(f64, f64)> = match taxes.len() {
                        0 => vec![(0.0, total)],
                        1 => vec![(taxes[0].0, total)],
                        _ => split_by_tax(total, &taxes),
                    };
                    for (rate, amount) in parts {
                        let code = tax_code(rate, &mut issues);
                        lines.push(DraftLine {
                            kind: LineKind::Item,
                            number: Some(item.clone()),
                            description: format!("Shipping ({}%)", rate_key(rate)),
                            quantity: 1.0,
                            unit_price: basis(round_cents(amount), rate),
                            tax_code: code,
                        });
                    }
                }
                None => issues.push(MappingIssue::UnsupportedLine {
                    line_type: "shipping".into(),
                    label: "Shipping".into(),
                }),
            }
        }
    }
    let oc = order.get("orderCustomer").cloned().unwrap_or(Value::Null);
    let email = s(&oc, "email").to_string();
    let guest = oc.pointer("/customer/guest").and_then(Value::as_bool).unwrap_or(false)
        || oc.get("guest").and_then(Value::as_bool).unwrap_or(false);
    let customer = if email.is_empty() {
        issues.push(MappingIssue::MissingCustomer);
        CustomerRef::Number(String::new())
    } else {
        match (&cfg.guests, guest) {
            (GuestStrategy::SingleCustomer { number }, true) => CustomerRef::Number(number.clone()),
            _ => CustomerRef::FindOrCreate {
                email,
                name: format!("{} {}", s(&oc, "firstName"), s(&oc, "lastName"))
                    .trim()
                    .to_string(),
                guest,
            },
        }
    };
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(OrderDraft {
        external_document_number: s(order, "orderNumber").to_string(),
        customer,
        prices_include_tax: gross && !net_rounded,
        lines,
        truncated_texts: truncated,
        shop_total: f(order, "amountTotal"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Value {
        json!({
            "orderNumber": "10042", "taxStatus": "gross", "amountTotal": 121.4,
            "orderCustomer": {"email": "guest@example.com", "firstName": "Ada", "lastName": "L", "customer": {"guest": true}},
            "shippingCosts": {"totalPrice": 4.9, "calculatedTaxes": [{"taxRate": 19.0, "price": 0.78}]},
            "lineItems": [
                {"id": "a", "type": "product", "label": "Shirt", "quantity": 2, "unitPrice": 30.0, "totalPrice": 60.0, "position": 1,
                 "payload": {"productNumber": "SW10000"}, "price": {"taxRules": [{"taxRate": 19.0}], "calculatedTaxes": [{"taxRate": 19.0, "price": 9.58}]}},
                {"id": "b", "type": "product", "label": "Book", "quantity": 1, "unitPrice": 20.0, "totalPrice": 20.0, "position": 2,
                 "payload": {"productNumber": "SW10001"}, "price": {"taxRules": [{"taxRate": 7.0}], "calculatedTaxes": [{"taxRate": 7.0, "price": 1.31}]}},
                {"id": "p", "type": "promotion", "label": "10% off", "quantity": 1, "unitPrice": -8.0, "totalPrice": -8.0, "position": 3,
                 "payload": {"code": "TEN"}, "price": {"calculatedTaxes": [{"taxRate": 19.0, "price": -0.96}, {"taxRate": 7.0, "price": -0.13}]}},
                {"id": "c", "type": "customized-products", "label": "Mug", "quantity": 1, "position": 4, "payload": {"productNumber": "*"}},
                {"id": "c1", "parentId": "c", "type": "product", "label": "Mug", "quantity": 1, "unitPrice": 12.0, "totalPrice": 12.0, "position": 1,
                 "payload": {"productNumber": "SW10002"}, "price": {"taxRules": [{"taxRate": 19.0}]}},
                {"id": "c2", "parentId": "c", "type": "customized-products-option", "label": "Engraving", "quantity": 1, "unitPrice": 0.0, "totalPrice": 0.0, "position": 2,
                 "payload": {"value": "For the best grandmother in the whole wide world, with love from all of us, 2026"}},
                {"id": "c3", "parentId": "c", "type": "customized-products-option", "label": "Gift box", "quantity": 1, "unitPrice": 2.5, "totalPrice": 2.5, "position": 3,
                 "payload": {"productNumber": "*"}, "price": {"taxRules": [{"taxRate": 19.0}]}}
            ]
        })
    }

    #[test]
    fn a_mixed_order_maps_every_line_kind() {
        let mut cfg = MappingConfig {
            description_max: 50,
            ..Default::default()
        };
        cfg.products.insert("SW10000".into(), "ITEM-SHIRT".into());
        let d = map_order(&order(), &cfg).unwrap();
        let numbers: Vec<_> = d
            .lines
            .iter()
            .map(|l| l.number.clone().unwrap_or_else(|| "comment".into()))
            .collect();
        assert_eq!(
            numbers,
            vec![
                "ITEM-SHIRT",
                "SW10001",
                "DISCOUNT",
                "DISCOUNT",
                "SW10002",
                "comment",
                "SURCHARGE",
                "SHIPPING"
            ]
        );
        // The discount keeps its tax split: 8.00 split by tax 0.96 : 0.13.
        let discounts: Vec<_> = d
            .lines
            .iter()
            .filter(|l| l.number.as_deref() == Some("DISCOUNT"))
            .map(|l| (l.tax_code.clone().unwrap(), l.unit_price))
            .collect();
        assert_eq!(discounts, vec![("VAT19".into(), -7.05), ("VAT7".into(), -0.95)]);
        assert_eq!(d.truncated_texts, 1, "the engraving text is cut to 50 characters");
        assert!(d.lines.iter().all(|l| l.description.chars().count() <= 50));
        assert_eq!(
            d.customer,
            CustomerRef::FindOrCreate {
                email: "guest@example.com".into(),
                name: "Ada L".into(),
                guest: true
            }
        );
        assert_eq!(d.external_document_number, "10042");
        assert!(d.prices_include_tax);
    }

    #[test]
    fn a_value_line_under_an_option_with_the_same_value_is_not_written_twice() {
        // As the twin's checkout writes a text option: the option carries the
        // value, its `option-values` child is labelled with it.
        let mut o = order();
        let value = "For Anna";
        o["lineItems"][5]["payload"]["value"] = json!(value);
        o["lineItems"].as_array_mut().unwrap().push(json!(
            {"id": "c2v", "parentId": "c2", "type": "option-values", "label": value, "quantity": 1,
             "unitPrice": 0.0, "totalPrice": 0.0, "position": 1, "payload": {"value": value, "productNumber": "*"}}
        ));
        let d = map_order(&o, &MappingConfig::default()).unwrap();
        let mentions: Vec<&str> = d
            .lines
            .iter()
            .filter(|l| l.description.contains(value))
            .map(|l| l.description.as_str())
            .collect();
        assert_eq!(mentions, vec!["Engraving: For Anna"]);
        // A value line on its own says its value once.
        let alone = json!({"type": "option-values", "label": value, "totalPrice": 0.0, "payload": {"value": value}});
        assert_eq!(option_description(&alone), value);
    }

    #[test]
    fn product_maps_parse_and_errors_name_the_line() {
        let m = parse_product_map(
            "map.csv",
            "shopware_number,erp_number\nSW1,ITEM-1\n# note\n\"SW2\", ITEM-2\n",
        )
        .unwrap();
        assert_eq!(m.get("SW2").map(String::as_str), Some("ITEM-2"));
        let e = parse_product_map("map.csv", "SW1,ITEM-1\nSW3\n").unwrap_err();
        assert!(e.contains("map.csv, line 2") && e.contains("two columns"), "{e}");
        let e = parse_product_map("map.csv", "SW1,A\nSW1,B\n").unwrap_err();
        assert!(e.contains("mapped twice"), "{e}");
    }

    #[test]
    fn tax_splits_sum_to_the_cent() {
        let parts = split_by_tax(-10.0, &[(19.0, -1.0), (7.0, -1.0), (0.0, -1.0)]);
        assert_eq!(parts.iter().map(|p| (p.1 * 100.0).round() as i64).sum::<i64>(), -1000);
        assert_eq!(parts, vec![(19.0, -3.33), (7.0, -3.33), (0.0, -3.34)]);
    }

    #[test]
    fn net_rounded_prices_are_each_cut_to_the_cent_and_the_customer_is_net() {
        let cfg = MappingConfig {
            price_basis: PriceBasis::NetRounded,
            ..Default::default()
        };
        let d = map_order(&order(), &cfg).unwrap();
        assert!(!d.prices_include_tax);
        let prices: Vec<f64> = d
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Item)
            .map(|l| l.unit_price)
            .collect();
        // 30.00/1.19, 20.00/1.07, -7.05/1.19, -0.95/1.07, 12.00/1.19, 2.50/1.19, 4.90/1.19.
        assert_eq!(prices, vec![25.21, 18.69, -5.92, -0.89, 10.08, 2.1, 4.12]);
        // As shown, the same order keeps Shopware's gross prices.
        let shown = map_order(&order(), &MappingConfig::default()).unwrap();
        assert!(shown.prices_include_tax);
        assert_eq!(shown.lines[0].unit_price, 30.0);
    }

    #[test]
    fn a_single_rate_discount_loses_the_tax_split() {
        let cfg = MappingConfig {
            discount_tax: DiscountTax::SingleRate,
            ..Default::default()
        };
        let d = map_order(&order(), &cfg).unwrap();
        let discounts: Vec<_> = d
            .lines
            .iter()
            .filter(|l| l.number.as_deref() == Some("DISCOUNT"))
            .map(|l| (l.tax_code.clone().unwrap(), l.unit_price))
            .collect();
        assert_eq!(discounts, vec![("VAT19".into(), -8.0)]);
    }

    #[test]
    fn naive_guest_strategy_merges_guests() {
        let cfg = MappingConfig {
            guests: GuestStrategy::SingleCustomer { number: "GUEST".into() },
            ..Default::default()
        };
        assert_eq!(
            map_order(&order(), &cfg).unwrap().customer,
            CustomerRef::Number("GUEST".into())
        );
    }

    #[test]
    fn every_issue_is_reported_with_its_owner() {
        let mut cfg = MappingConfig {
            discount_item: None,
            ..Default::default()
        };
        cfg.tax_codes.remove("7");
        let issues = map_order(&order(), &cfg).unwrap_err();
        assert!(issues.contains(&MappingIssue::PromotionWithoutItem {
            label: "10% off".into()
        }));
        assert!(issues.contains(&MappingIssue::UnmappedTaxRate { rate: "7".into() }));
        assert_eq!(
            issues
                .iter()
                .filter(|i| matches!(i, MappingIssue::UnmappedTaxRate { .. }))
                .count(),
            1,
            "one issue per rate"
        );
        assert_eq!(
            MappingIssue::UnmappedTaxRate { rate: "7".into() }.owner(),
            Owner::Finance
        );
        assert_eq!(
            MappingIssue::PromotionWithoutItem { label: String::new() }.owner(),
            Owner::Integration
        );
    }
}
