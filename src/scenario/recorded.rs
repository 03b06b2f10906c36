//! The catalogue a recorded trace carries, and both twins' catalogues built from it.
//!
//! `synctwin record` writes the recorded shop at the head of the trace (see
//! [`super::trace`]): one [`ProductSnapshot`] per product and one
//! [`CurrencySnapshot`] per currency. [`build`] turns that header into the
//! Shopware twin's store and the ERP item master, so the replay sells the same
//! SKUs at the same prices, tax rates and stock as the recorded shop:
//!
//! - products keep Shopware's inheritance: a variant names its parent by
//!   `parentNumber` and leaves null what it inherits (name, price, tax, closeout);
//!   customizable products get a `swagCustomizedProductsTemplateId`;
//! - tax rows exist for every recorded rate; currencies are updated or added,
//!   and the recorded system currency takes the twin's default currency id;
//! - the ERP holds every sellable product (a product without variants) as an
//!   inventory item with the same stock, and every configurator option item
//!   number the trace's orders use as a non-inventory item: a recording only
//!   sees Shopware, so the replay assumes an ERP that knows everything the shop
//!   sells. Each item's tax code is the ERP profile's code for its rate.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::catalogue::BuiltCatalogue;
use super::trace::{self, TraceError, TraceEvent};
use crate::clock::{default_epoch, rfc3339_ms};
use crate::twin::erp::state::ItemType;
use crate::twin::erp::{Catalogue, ErpProfile, ItemRow};
use crate::twin::shopware::checkout::{fixed_id, CartLine, CURRENCY_EUR, LIVE_VERSION};
use crate::twin::shopware::pricing::{self, CashRounding};
use crate::twin::shopware::seed::{self, SeedSummary};
use crate::twin::shopware::stock;
use crate::twin::shopware::store::{Row, Store};

/// One product of the recorded shop, as its own row holds it (null = inherited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProductSnapshot {
    pub product_number: String,
    /// A variant's parent (by productNumber); the variant inherits what it leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<f64>,
    /// The price in the shop's system currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceSnapshot>,
    /// The stock the replay starts with (`record` says how it is derived).
    pub stock: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_closeout: Option<bool>,
    /// Takes configurator options (SwagCustomizedProducts).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub customizable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_purchase: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_purchase: Option<i64>,
}

/// A price in the system currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSnapshot {
    pub gross: f64,
    pub net: f64,
}

/// One currency of the recorded shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CurrencySnapshot {
    pub iso_code: String,
    /// Against the system currency.
    pub factor: f64,
    /// The shop's system currency (product prices are in it).
    #[serde(default)]
    pub system_default: bool,
    pub item_rounding: CashRounding,
    pub total_rounding: CashRounding,
}

/// A recorded catalogue that cannot become the twins' catalogues.
#[derive(Debug, thiserror::Error)]
pub enum RecordedError {
    #[error("cannot read the trace {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("trace {path}: {error}")]
    Trace { path: String, error: TraceError },
    #[error("trace {path}: product {product} is listed twice in the catalogue")]
    Duplicate { path: String, product: String },
    #[error("trace {path}: variant {product} names the parent {parent}, which the catalogue does not list")]
    UnknownParent {
        path: String,
        product: String,
        parent: String,
    },
    #[error("trace {path}: {what} is taxed at {rate} %, but the ERP profile '{profile}' has no tax code with that rate (it has {codes}); add one to the profile")]
    NoTaxCode {
        path: String,
        what: String,
        rate: f64,
        profile: String,
        codes: String,
    },
}

/// Does the trace start with a catalogue (a recorded trace)? Reads one event.
pub fn has_catalogue(path: &Path) -> Result<bool, RecordedError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| RecordedError::Read {
        path: name.clone(),
        error,
    })?;
    match trace::read(BufReader::new(file)).next() {
        None => Ok(false),
        Some(Ok(ev)) => Ok(ev.is_catalogue()),
        Some(Err(error)) => Err(RecordedError::Trace { path: name, error }),
    }
}

/// An option item an order line names, with what the ERP item needs.
struct OptionItem {
    label: String,
    surcharge: f64,
    product: String,
}

/// Builds both twins' catalogues from the trace's header; `None` when the trace
/// carries none (a generated trace). Reads the whole trace once: the option
/// item numbers its orders use become ERP items too.
pub fn build(path: &Path, erp: &ErpProfile) -> Result<Option<BuiltCatalogue>, RecordedError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| RecordedError::Read {
        path: name.clone(),
        error,
    })?;
    let mut products: Vec<ProductSnapshot> = Vec::new();
    let mut currencies: Vec<CurrencySnapshot> = Vec::new();
    let mut options: BTreeMap<String, OptionItem> = BTreeMap::new();
    for ev in trace::read(BufReader::new(file)) {
        let ev = ev.map_err(|error| RecordedError::Trace {
            path: name.clone(),
            error,
        })?;
        match ev {
            TraceEvent::Product { product, .. } => products.push(*product),
            TraceEvent::Currency { currency, .. } => currencies.push(*currency),
            TraceEvent::PlaceOrder { .. } if products.is_empty() && currencies.is_empty() => return Ok(None),
            TraceEvent::PlaceOrder { cart, .. } => {
                for line in &cart.lines {
                    let CartLine::CustomizedProducts {
                        product_number,
                        options: opts,
                        ..
                    } = line
                    else {
                        continue;
                    };
                    for o in opts {
                        if let Some(n) = o.item_number.as_deref().filter(|n| *n != "*" && !n.is_empty()) {
                            options.entry(n.to_string()).or_insert_with(|| OptionItem {
                                label: o.label.clone(),
                                surcharge: o.surcharge_gross,
                                product: product_number.clone(),
                            });
                        }
                    }
                }
            }
            _ if products.is_empty() && currencies.is_empty() => return Ok(None),
            _ => {}
        }
    }
    if products.is_empty() && currencies.is_empty() {
        return Ok(None);
    }
    from_snapshots(&name, &products, &currencies, &options, erp).map(Some)
}

/// The twin's tax id for a rate: the seeded taxes for 19, 7 and 0 %, a recorded one otherwise.
fn tax_id_for(rate_bp: i64) -> String {
    match rate_bp {
        1900 => seed::tax_id("standard"),
        700 => seed::tax_id("reduced"),
        0 => seed::tax_id("free"),
        other => seed::tax_id(&format!("rate-{other}")),
    }
}

fn product_id(number: &str) -> String {
    fixed_id(&format!("recorded-product:{number}"))
}

fn obj(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => Row::new(),
    }
}

fn from_snapshots(
    path: &str,
    products: &[ProductSnapshot],
    currencies: &[CurrencySnapshot],
    options: &BTreeMap<String, OptionItem>,
    erp: &ErpProfile,
) -> Result<BuiltCatalogue, RecordedError> {
    let created = rfc3339_ms(default_epoch() - time::Duration::days(30));
    let mut shop = Store::new();
    seed::seed_base(&mut shop, &created, &mut SeedSummary::default());
    for c in currencies {
        put_currency(&mut shop, c, &created);
    }

    let by_number: BTreeMap<&str, &ProductSnapshot> = products.iter().map(|p| (p.product_number.as_str(), p)).collect();
    if by_number.len() != products.len() {
        let mut seen = BTreeSet::new();
        let dup = products
            .iter()
            .find(|p| !seen.insert(p.product_number.as_str()))
            .map(|p| p.product_number.clone())
            .unwrap_or_default();
        return Err(RecordedError::Duplicate {
            path: path.into(),
            product: dup,
        });
    }
    let mut children: BTreeMap<&str, usize> = BTreeMap::new();
    for p in products {
        if let Some(parent) = &p.parent_number {
            if !by_number.contains_key(parent.as_str()) {
                return Err(RecordedError::UnknownParent {
                    path: path.into(),
                    product: p.product_number.clone(),
                    parent: parent.clone(),
                });
            }
            *children.entry(parent.as_str()).or_default() += 1;
        }
    }
    let parent_of = |p: &ProductSnapshot| p.parent_number.as_deref().and_then(|n| by_number.get(n)).copied();

    let mut rates: BTreeSet<i64> = BTreeSet::new();
    for p in products {
        if let Some(r) = p.tax_rate {
            rates.insert(pricing::rate_bp(r));
        }
    }
    for (pos, bp) in rates.iter().enumerate() {
        let id = tax_id_for(*bp);
        if shop.get("tax", &id).is_none() {
            shop.put(
                "tax",
                obj(json!({
                    "id": id, "taxRate": pricing::rate_f64(*bp), "name": format!("{} %", pricing::rate_f64(*bp)),
                    "position": 10 + pos, "customFields": null, "createdAt": created, "updatedAt": null, "apiAlias": "tax",
                })),
            );
        }
    }

    for p in products {
        let variant = p.parent_number.is_some();
        let price = p.price.map_or(
            Value::Null,
            |pr| json!([{"currencyId": CURRENCY_EUR, "gross": pr.gross, "net": pr.net, "linked": true}]),
        );
        let mut row = obj(json!({
            "id": product_id(&p.product_number),
            "versionId": LIVE_VERSION,
            "parentId": p.parent_number.as_deref().map(product_id),
            "parentVersionId": if variant { json!(LIVE_VERSION) } else { Value::Null },
            "productNumber": p.product_number,
            "name": p.name,
            "taxId": p.tax_rate.map(|r| tax_id_for(pricing::rate_bp(r))),
            "price": price,
            "purchasePrices": null,
            "stock": p.stock,
            "availableStock": p.stock,
            "available": true,
            "sales": 0,
            "active": if variant { Value::Null } else { json!(true) },
            "isCloseout": p.is_closeout,
            "minPurchase": p.min_purchase,
            "maxPurchase": p.max_purchase,
            "purchaseSteps": if variant { Value::Null } else { json!(1) },
            "shippingFree": false,
            "markAsTopseller": false,
            "manufacturerId": null,
            "ean": null,
            "weight": null,
            "childCount": children.get(p.product_number.as_str()).copied().unwrap_or(0),
            "optionIds": null,
            "customFields": if variant { Value::Null } else { json!({}) },
            "createdAt": created,
            "updatedAt": null,
            "apiAlias": "product",
        }));
        if p.customizable {
            row.insert(
                "swagCustomizedProductsTemplateId".into(),
                json!(fixed_id(&format!("customized-template:{}", p.product_number))),
            );
        }
        shop.put("product", row);
    }
    for p in products {
        stock::reindex_available(&mut shop, &product_id(&p.product_number));
    }

    let codes = erp.tax_rates();
    let code_for = |what: String, rate: f64| -> Result<String, RecordedError> {
        let bp = pricing::rate_bp(rate);
        codes
            .iter()
            .find(|(_, b)| **b == bp)
            .map(|(c, _)| c.clone())
            .ok_or_else(|| RecordedError::NoTaxCode {
                path: path.into(),
                what,
                rate,
                profile: erp.name.clone(),
                codes: codes
                    .iter()
                    .map(|(c, b)| format!("{c} = {} %", pricing::rate_f64(*b)))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    };
    let rate_of = |p: &ProductSnapshot| p.tax_rate.or_else(|| parent_of(p).and_then(|q| q.tax_rate));
    let mut built = BuiltCatalogue {
        shop,
        erp: Catalogue::Rows(Vec::new()),
        sellable: Vec::new(),
        customizable: Vec::new(),
        closeouts: Vec::new(),
        sold_out: Vec::new(),
        missing_in_erp: Vec::new(),
        erp_skus: Vec::new(),
    };
    let mut rows = Vec::new();
    for p in products {
        if children.contains_key(p.product_number.as_str()) {
            continue;
        }
        let number = p.product_number.clone();
        built.sellable.push(number.clone());
        // Own values win; absent ones come from the parent (Shopware's inheritance).
        if p.customizable || parent_of(p).is_some_and(|q| q.customizable) {
            built.customizable.push(number.clone());
        }
        if p.is_closeout.or_else(|| parent_of(p).and_then(|q| q.is_closeout)) == Some(true) {
            built.closeouts.push(number.clone());
        }
        if p.stock <= 0 {
            built.sold_out.push(number.clone());
        }
        // A product with no tax rate cannot be sold (the checkout refuses it): no ERP item.
        let Some(rate) = rate_of(p) else { continue };
        let gross = p
            .price
            .or_else(|| parent_of(p).and_then(|q| q.price))
            .map_or(0.0, |pr| pr.gross);
        let description = p
            .name
            .clone()
            .or_else(|| parent_of(p).and_then(|q| q.name.clone()))
            .unwrap_or_else(|| number.clone());
        rows.push(ItemRow {
            tax_code: code_for(format!("product {number}"), rate)?,
            number: number.clone(),
            item_type: ItemType::Inventory,
            description,
            unit_price_e5: (gross * 100_000.0).round() as i64,
            on_hand: p.stock,
        });
        built.erp_skus.push(number);
    }
    for (number, o) in options {
        if rows.iter().any(|r| &r.number == number) {
            continue;
        }
        let rate = by_number.get(o.product.as_str()).and_then(|p| rate_of(p));
        let tax_code = match rate {
            Some(r) => code_for(format!("option item {number}"), r)?,
            None => erp.tax_codes.first().map(|t| t.code.clone()).unwrap_or_default(),
        };
        rows.push(ItemRow {
            number: number.clone(),
            item_type: ItemType::NonInventory,
            description: o.label.clone(),
            unit_price_e5: (o.surcharge * 100_000.0).round() as i64,
            tax_code,
            on_hand: 0,
        });
    }
    built.erp = Catalogue::Rows(rows);
    Ok(built)
}

/// Updates or adds a currency; the recorded system currency takes the default id.
fn put_currency(shop: &mut Store, c: &CurrencySnapshot, created: &str) {
    let same_iso: Vec<String> = shop
        .rows("currency")
        .filter(|r| r.get("isoCode").and_then(Value::as_str) == Some(c.iso_code.as_str()))
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let id = if c.system_default {
        // Another row with this code would make the code ambiguous.
        for other in same_iso.iter().filter(|id| id.as_str() != CURRENCY_EUR) {
            shop.delete("currency", other);
        }
        CURRENCY_EUR.to_string()
    } else {
        same_iso
            .first()
            .cloned()
            .unwrap_or_else(|| fixed_id(&format!("currency:{}", c.iso_code)))
    };
    let position = shop.len("currency") + 1;
    let existing = shop.get("currency", &id).map(std::sync::Arc::unwrap_or_clone);
    let mut row = existing.unwrap_or_else(|| {
        obj(json!({
            "id": id, "name": c.iso_code, "shortName": c.iso_code, "symbol": c.iso_code, "position": position,
            "taxFreeFrom": 0.0, "customFields": null, "createdAt": created, "updatedAt": null, "apiAlias": "currency",
        }))
    });
    row.insert("isoCode".into(), json!(c.iso_code));
    row.insert("shortName".into(), json!(c.iso_code));
    row.insert("factor".into(), json!(if c.system_default { 1.0 } else { c.factor }));
    row.insert("isSystemDefault".into(), json!(c.system_default));
    row.insert("itemRounding".into(), json!(c.item_rounding));
    row.insert("totalRounding".into(), json!(c.total_rounding));
    shop.put("currency", row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::trace::TraceWriter;
    use crate::twin::shopware::checkout::{self, BuildContext, Cart, CartCustomer, CartOption};
    use rand::SeedableRng;

    fn product(number: &str, parent: Option<&str>, stock: i64) -> ProductSnapshot {
        ProductSnapshot {
            product_number: number.into(),
            parent_number: parent.map(str::to_string),
            name: parent.is_none().then(|| format!("Name {number}")),
            tax_rate: parent.is_none().then_some(19.0),
            price: parent.is_none().then_some(PriceSnapshot { gross: 11.9, net: 10.0 }),
            stock,
            is_closeout: parent.is_none().then_some(false),
            customizable: false,
            min_purchase: None,
            max_purchase: None,
        }
    }

    fn cart(lines: Vec<CartLine>) -> Cart {
        Cart {
            customer: CartCustomer {
                email: "a@example.com".into(),
                first_name: "A".into(),
                last_name: "B".into(),
                guest: true,
                customer_number: None,
                company: None,
                street: "S 1".into(),
                zipcode: "1".into(),
                city: "C".into(),
                country_iso: None,
                vat_ids: vec![],
                phone_number: None,
            },
            lines,
            promotion: None,
            shipping_gross: None,
            tax_status: None,
            currency: Some("GBP".into()),
        }
    }

    fn write(path: &Path, events: &[TraceEvent]) {
        let mut w = TraceWriter::new(std::fs::File::create(path).unwrap());
        for e in events {
            w.write(e).unwrap();
        }
        w.finish().unwrap();
    }

    fn p(ev: ProductSnapshot) -> TraceEvent {
        TraceEvent::Product {
            at_ms: 0,
            product: Box::new(ev),
        }
    }

    fn rows(b: &BuiltCatalogue) -> &[ItemRow] {
        match &b.erp {
            Catalogue::Rows(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_recorded_catalogue_becomes_both_twins_and_the_checkout_sells_it() {
        let dir = std::env::temp_dir().join(format!("synctwin-recorded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let mut closeout_parent = product("P-1", None, 0);
        closeout_parent.is_closeout = Some(true);
        let mut custom = product("C-1", None, 5);
        custom.customizable = true;
        let mut reduced = product("R-1", None, 3);
        reduced.tax_rate = Some(20.0);
        let events = vec![
            TraceEvent::Currency {
                at_ms: 0,
                currency: Box::new(CurrencySnapshot {
                    iso_code: "GBP".into(),
                    factor: 0.86,
                    system_default: false,
                    item_rounding: CashRounding::CENT,
                    total_rounding: CashRounding::CENT,
                }),
            },
            p(closeout_parent),
            p(product("P-1.1", Some("P-1"), 4)),
            p(product("P-1.2", Some("P-1"), 0)),
            p(custom),
            p(reduced),
            TraceEvent::PlaceOrder {
                at_ms: 10,
                cart: Box::new(cart(vec![CartLine::CustomizedProducts {
                    product_number: "C-1".into(),
                    quantity: 1,
                    options: vec![CartOption {
                        label: "Gift wrap".into(),
                        value: "Red".into(),
                        surcharge_gross: 2.5,
                        one_time: true,
                        item_number: Some("OPT-WRAP".into()),
                    }],
                }])),
            },
        ];
        write(&path, &events);
        assert!(has_catalogue(&path).unwrap());

        // The default ERP profile has no 20 % code: the error says so and what to do.
        let e = build(&path, &ErpProfile::business_central()).unwrap_err().to_string();
        assert!(
            e.contains("product R-1") && e.contains("20 %") && e.contains("add one to the profile"),
            "{e}"
        );
        let mut profile = ErpProfile::business_central();
        profile.tax_codes.push(crate::twin::erp::profile::TaxCode {
            code: "VAT20".into(),
            rate: 20.0,
        });
        let b = build(&path, &profile).unwrap().unwrap();
        assert_eq!(b.sellable, ["P-1.1", "P-1.2", "C-1", "R-1"]);
        assert_eq!(b.closeouts, ["P-1.1", "P-1.2"], "variants inherit the closeout flag");
        assert_eq!(b.sold_out, ["P-1.2"]);
        assert_eq!(b.customizable, ["C-1"]);
        let erp: BTreeMap<&str, &ItemRow> = rows(&b).iter().map(|r| (r.number.as_str(), r)).collect();
        assert_eq!(erp["P-1.1"].on_hand, 4);
        assert_eq!(erp["P-1.1"].description, "Name P-1", "inherited name");
        assert_eq!(erp["R-1"].tax_code, "VAT20");
        assert_eq!(erp["OPT-WRAP"].item_type, ItemType::NonInventory);
        assert!(!erp.contains_key("P-1"), "a parent is not an item");

        // The shop: inheritance resolved by the checkout, closeout availability derived.
        let stock_row = |n: &str| b.shop.get("product", &b.shop.product_by_number(n).unwrap()).unwrap();
        assert_eq!(stock_row("P-1.2")["available"], json!(false));
        assert_eq!(stock_row("P-1.1")["available"], json!(true));
        let TraceEvent::PlaceOrder { cart: c, .. } = &events[6] else {
            unreachable!()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let rows = checkout::build_order(
            &b.shop,
            c,
            BuildContext {
                rng: &mut rng,
                now: "2026-11-27T00:00:00.000+00:00".into(),
                order_number: "1".into(),
            },
        )
        .unwrap();
        // In GBP: the product at the recorded factor (11.90 × 0.86, item-rounded to
        // 10.23) plus the surcharge, which the cart states in GBP already.
        assert_eq!(rows.order["amountTotal"], json!(12.73));
        let gbp = b.shop.rows("currency").find(|r| r["isoCode"] == json!("GBP")).unwrap();
        assert_eq!(rows.order["currencyId"], gbp["id"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_generated_trace_has_no_catalogue() {
        let dir = std::env::temp_dir().join(format!("synctwin-recorded-gen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        write(
            &path,
            &[TraceEvent::ErpReceipt {
                at_ms: 1,
                sku: "A".into(),
                qty: 1,
            }],
        );
        assert!(!has_catalogue(&path).unwrap());
        assert!(build(&path, &ErpProfile::business_central()).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_recorded_system_currency_takes_the_default_id() {
        let mut shop = Store::new();
        seed::seed_base(&mut shop, "2026-01-01T00:00:00.000+00:00", &mut SeedSummary::default());
        put_currency(
            &mut shop,
            &CurrencySnapshot {
                iso_code: "CHF".into(),
                factor: 1.0,
                system_default: true,
                item_rounding: CashRounding::CHF,
                total_rounding: CashRounding::CHF,
            },
            "2026-01-01T00:00:00.000+00:00",
        );
        let chf: Vec<_> = shop.rows("currency").filter(|r| r["isoCode"] == json!("CHF")).collect();
        assert_eq!(chf.len(), 1, "one CHF row");
        assert_eq!(chf[0]["id"], json!(CURRENCY_EUR));
        assert_eq!(chf[0]["totalRounding"]["interval"], json!(0.05));
    }
}
