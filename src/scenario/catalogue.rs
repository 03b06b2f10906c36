//! The scenario's catalogue: the Shopware twin's products and the ERP item master,
//! built deterministically from the plan's `[catalogue]` shape.
//!
//! The shop side uses the default shop's helpers ([`seed::seed_base`] for taxes,
//! currencies and states, [`seed::product_row`] for rows), so products satisfy
//! what [`checkout::build_order`](crate::twin::shopware::checkout::build_order)
//! needs. Numbers follow the shared convention: `SW10000`, `SW10001`, … for
//! products and parents, `SW10000.1`, … for variants. Each draw is one of: a
//! parent with 2–4 variants (Size S/M/L/XL), a customizable product
//! (`swagCustomizedProductsTemplateId`), or a simple product; closeout flag, tax
//! rate and initial stock are drawn per product (per family for variants'
//! closeout flag and tax, which they inherit).
//!
//! The ERP side holds every sellable SKU except the `missing_in_erp` ones (F1),
//! with the same on-hand figure the shop starts with, the shop's gross price and
//! the tax code of its rate. Parents are not items: they cannot be sold.

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::plan::{Plan, TaxRate};
use crate::clock::{default_epoch, rfc3339_ms};
use crate::twin::erp::state::ItemType;
use crate::twin::erp::{Catalogue, ItemRow};
use crate::twin::shopware::checkout::{self, LIVE_VERSION};
use crate::twin::shopware::seed::{self, SeedSummary};
use crate::twin::shopware::stock;
use crate::twin::shopware::store::Store;

/// Stream ids (one sub-stream per concern, see STYLE.md §7).
const CATALOGUE_STREAM: u64 = 1;
const MISSING_STREAM: u64 = 2;

const SIZES: [&str; 4] = ["S", "M", "L", "XL"];

/// Both sides of a scenario's catalogue, plus the lists traffic draws from.
#[derive(Debug)]
pub struct BuiltCatalogue {
    /// The Shopware twin's store: taxes, currencies, states and products.
    pub shop: Store,
    /// The ERP item master (`Catalogue::Rows`), without the missing SKUs.
    pub erp: Catalogue,
    /// Product numbers a customer can buy (simple products and variants), in number order.
    pub sellable: Vec<String>,
    /// Sellable products that take configurator options.
    pub customizable: Vec<String>,
    /// Sellable SKUs that are (or inherit) closeout.
    pub closeouts: Vec<String>,
    /// Sellable SKUs that start with stock 0.
    pub sold_out: Vec<String>,
    /// Sellable SKUs the ERP does not know (F1), in number order.
    pub missing_in_erp: Vec<String>,
    /// SKUs the ERP holds, in number order (`sellable` minus `missing_in_erp`).
    pub erp_skus: Vec<String>,
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// One sellable SKU as both sides see it.
struct Sku {
    number: String,
    name: String,
    gross: f64,
    rate: TaxRate,
    stock: i64,
    closeout: bool,
    customizable: bool,
}

fn draw_rate(rng: &mut ChaCha8Rng, rates: &[(TaxRate, f64)]) -> TaxRate {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    for (rate, share) in rates {
        acc += share;
        if u < acc {
            return *rate;
        }
    }
    rates.last().map_or(TaxRate::Standard19, |(r, _)| *r)
}

fn gross_of(row: &serde_json::Map<String, Value>) -> f64 {
    row.get("price")
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("gross"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// Builds the shop and the ERP item master for a plan. Same plan, same result.
/// Stores a product with `available` derived as the indexer would (a variant's
/// parent is stored before it), so no second pass rewrites every product.
fn put_product(shop: &mut Store, mut row: crate::twin::shopware::store::Row) {
    let available = stock::compute_available(shop, &row);
    row.insert("available".into(), json!(available));
    shop.put("product", row);
}

pub fn build(plan: &Plan) -> BuiltCatalogue {
    let c = &plan.catalogue;
    let created = rfc3339_ms(default_epoch() - time::Duration::days(30));
    let mut shop = Store::new();
    seed::seed_base(&mut shop, &created, &mut SeedSummary::default());

    // Per draw: a family makes ~3 SKUs, so these probabilities give the SKU shares.
    let v = c.variant_share;
    let p_family = v / (3.0 - 2.0 * v);
    let p_custom = (c.configurator_share * (1.0 + 2.0 * p_family)).min(1.0 - p_family);
    let (lo, hi) = c.initial_stock;

    let mut rng = rng_for(plan.seed, CATALOGUE_STREAM);
    let mut skus: Vec<Sku> = Vec::with_capacity(c.skus);
    let mut number = seed::FIRST_NUMBER;
    while skus.len() < c.skus {
        let remaining = c.skus - skus.len();
        let n = format!("SW{number}");
        number += 1;
        let u: f64 = rng.gen();
        let closeout = rng.gen_bool(c.closeout_share);
        let rate = draw_rate(&mut rng, &c.tax_rates);
        let name = seed::product_name(&mut rng);
        let stock_draw = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(c.sold_out_share) {
                0
            } else {
                rng.gen_range(lo..=hi)
            }
        };
        if u < p_family && remaining >= 2 {
            let k = rng.gen_range(2..=4).min(remaining);
            let mut parent = seed::product_row(
                &mut rng,
                &n,
                Some(name.clone()),
                Some(rate.shop_tax()),
                rate.percent(),
                0,
                Some(closeout),
                &created,
            );
            parent.insert("childCount".into(), json!(k));
            let parent_id = parent["id"].as_str().unwrap_or_default().to_string();
            let gross = gross_of(&parent);
            put_product(&mut shop, parent);
            for (i, size) in SIZES.iter().take(k).enumerate() {
                let vn = format!("{n}.{}", i + 1);
                let s = stock_draw(&mut rng);
                let mut row = seed::product_row(&mut rng, &vn, None, None, rate.percent(), s, None, &created);
                row.insert("parentId".into(), json!(parent_id));
                row.insert("parentVersionId".into(), json!(LIVE_VERSION));
                row.insert("optionIds".into(), json!([checkout::option_id("Size", size)]));
                put_product(&mut shop, row);
                skus.push(Sku {
                    number: vn,
                    name: format!("{name} {size}"),
                    gross,
                    rate,
                    stock: s,
                    closeout,
                    customizable: false,
                });
            }
        } else {
            let customizable = u >= p_family && u < p_family + p_custom;
            let closeout = closeout && !customizable;
            let name = if customizable { format!("Custom {name}") } else { name };
            let s = stock_draw(&mut rng);
            let mut row = seed::product_row(
                &mut rng,
                &n,
                Some(name.clone()),
                Some(rate.shop_tax()),
                rate.percent(),
                s,
                Some(closeout),
                &created,
            );
            if customizable {
                row.insert(
                    "swagCustomizedProductsTemplateId".into(),
                    json!(checkout::fixed_id(&format!("customized-template:{n}"))),
                );
            }
            let gross = gross_of(&row);
            put_product(&mut shop, row);
            skus.push(Sku {
                number: n,
                name,
                gross,
                rate,
                stock: s,
                closeout,
                customizable,
            });
        }
    }

    let mut missing_rng = rng_for(plan.seed, MISSING_STREAM);
    let mut missing = vec![false; skus.len()];
    for i in index::sample(&mut missing_rng, skus.len(), c.missing_in_erp.min(skus.len())) {
        missing[i] = true;
    }
    let mut built = BuiltCatalogue {
        shop,
        erp: Catalogue::Rows(Vec::new()),
        sellable: Vec::with_capacity(skus.len()),
        customizable: Vec::new(),
        closeouts: Vec::new(),
        sold_out: Vec::new(),
        missing_in_erp: Vec::new(),
        erp_skus: Vec::with_capacity(skus.len()),
    };
    let mut rows = Vec::with_capacity(skus.len());
    for (sku, missing) in skus.into_iter().zip(missing) {
        built.sellable.push(sku.number.clone());
        if sku.customizable {
            built.customizable.push(sku.number.clone());
        }
        if sku.closeout {
            built.closeouts.push(sku.number.clone());
        }
        if sku.stock == 0 {
            built.sold_out.push(sku.number.clone());
        }
        if missing {
            built.missing_in_erp.push(sku.number);
            continue;
        }
        built.erp_skus.push(sku.number.clone());
        rows.push(ItemRow {
            number: sku.number,
            item_type: ItemType::Inventory,
            description: sku.name,
            unit_price_e5: (sku.gross * 100_000.0).round() as i64,
            tax_code: sku.rate.erp_code().to_string(),
            on_hand: sku.stock,
        });
    }
    // Configurator surcharges the generator sells (gift wrapping) are items the
    // merchant's ERP carries; without them every such order would fail as an
    // unmapped SKU and hide what F7 is about (option texts and field lengths).
    rows.push(ItemRow {
        number: "OPT-GIFTWRAP".into(),
        item_type: ItemType::NonInventory,
        description: "Gift wrapping".into(),
        unit_price_e5: 350_000,
        tax_code: TaxRate::Standard19.erp_code().to_string(),
        on_hand: 0,
    });
    built.erp = Catalogue::Rows(rows);
    built
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::plan::{self, CataloguePlan};
    use crate::twin::shopware::checkout::{BuildContext, Cart, CartCustomer, CartLine, CartOption};
    use std::path::Path;

    pub(crate) fn plan_with(c: CataloguePlan, seed: u64) -> Plan {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
        let mut p = plan::load(&path).unwrap();
        p.catalogue = c;
        p.seed = seed;
        p
    }

    fn shape() -> CataloguePlan {
        CataloguePlan {
            skus: 400,
            variant_share: 0.3,
            closeout_share: 0.1,
            configurator_share: 0.1,
            sold_out_share: 0.05,
            missing_in_erp: 12,
            tax_rates: vec![(TaxRate::Standard19, 0.8), (TaxRate::Reduced7, 0.2)],
            initial_stock: (5, 50),
        }
    }

    fn rows(b: &BuiltCatalogue) -> &[ItemRow] {
        match &b.erp {
            Catalogue::Rows(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn stock_of(store: &Store, number: &str) -> i64 {
        let id = store.product_by_number(number).unwrap();
        store.get("product", &id).unwrap()["stock"].as_i64().unwrap()
    }

    #[test]
    fn shapes_match_the_plan_and_both_sides_agree() {
        let b = build(&plan_with(shape(), 3));
        assert_eq!(b.sellable.len(), 400);
        assert_eq!(b.missing_in_erp.len(), 12);
        // The 388 sellable SKUs the ERP holds, plus the gift-wrapping surcharge item.
        assert_eq!(rows(&b).len(), 389);
        assert_eq!(b.erp_skus.len(), 388);
        let variants = b.sellable.iter().filter(|n| n.contains('.')).count();
        assert!((80..=160).contains(&variants), "variants {variants}");
        assert!(
            (20..=70).contains(&b.customizable.len()),
            "customizable {}",
            b.customizable.len()
        );
        assert!(!b.closeouts.is_empty() && !b.sold_out.is_empty());
        for r in rows(&b).iter().filter(|r| r.item_type == ItemType::Inventory) {
            assert_eq!(r.on_hand, stock_of(&b.shop, &r.number), "{}", r.number);
            assert!(["VAT19", "VAT7"].contains(&r.tax_code.as_str()));
            assert!(r.unit_price_e5 > 0);
        }
        for m in &b.missing_in_erp {
            assert!(rows(&b).iter().all(|r| &r.number != m));
            assert!(b.shop.product_by_number(m).is_some(), "the shop still sells {m}");
        }
        assert!(b.sellable.contains(&"SW10000".to_string()) || b.sellable.contains(&"SW10000.1".to_string()));
        // `available` is what the indexer derives, variants from their parents.
        let mut sold_out_closeouts = 0;
        for p in b.shop.rows("product") {
            assert_eq!(
                p["available"],
                json!(stock::compute_available(&b.shop, &p)),
                "{}",
                p["productNumber"]
            );
            let number = p["productNumber"].as_str().unwrap().to_string();
            if b.closeouts.contains(&number) && b.sold_out.contains(&number) {
                sold_out_closeouts += 1;
                assert_eq!(p["available"], json!(false), "{number} is a closeout without stock");
            }
        }
        assert!(sold_out_closeouts > 0 || b.closeouts.iter().all(|c| !b.sold_out.contains(c)));
    }

    #[test]
    fn the_erp_twin_accepts_the_item_master() {
        use crate::clock::ManualClock;
        use crate::observe::ObservationLog;
        use crate::twin::erp::{ErpConfig, ErpProfile, ErpTwin};
        let p = plan_with(shape(), 4);
        let b = build(&p);
        let profile = ErpProfile::load(&p.twins.erp_path).unwrap();
        let cfg = ErpConfig {
            catalogue: b.erp.clone(),
            ..ErpConfig::new(profile, p.seed)
        };
        let twin = ErpTwin::new(cfg, std::sync::Arc::new(ManualClock::new()), ObservationLog::new()).unwrap();
        let items = twin.snapshot().items;
        for r in rows(&b) {
            assert_eq!(items[&r.number].inventory, r.on_hand, "{}", r.number);
        }
        assert!(b.missing_in_erp.iter().all(|m| !items.contains_key(m)));
        let sku = &b.erp_skus[0];
        assert_eq!(twin.receive_stock(sku, 5).unwrap(), items[sku].inventory + 5);
    }

    #[test]
    fn same_seed_same_catalogue() {
        let a = build(&plan_with(shape(), 5));
        let b = build(&plan_with(shape(), 5));
        let c = build(&plan_with(shape(), 6));
        assert_eq!(a.erp, b.erp);
        assert_eq!(a.sellable, b.sellable);
        assert_eq!(a.missing_in_erp, b.missing_in_erp);
        assert_ne!(a.erp, c.erp);
    }

    #[test]
    fn every_sellable_sku_can_be_ordered_through_the_checkout() {
        let b = build(&plan_with(shape(), 9));
        let customer = CartCustomer {
            email: "a.b@example.com".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            guest: true,
            customer_number: None,
            company: None,
            street: "Street 1".into(),
            zipcode: "20095".into(),
            city: "Hamburg".into(),
            country_iso: None,
            vat_ids: vec![],
            phone_number: None,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut refused_sold_out_closeouts = 0;
        for n in &b.sellable {
            let line = if b.customizable.contains(n) {
                CartLine::CustomizedProducts {
                    product_number: n.clone(),
                    quantity: 1,
                    options: vec![CartOption {
                        label: "Engraving".into(),
                        value: "Hi".into(),
                        surcharge_gross: 2.0,
                        one_time: false,
                        item_number: None,
                    }],
                }
            } else {
                CartLine::Product {
                    product_number: n.clone(),
                    quantity: 1,
                }
            };
            let cart = Cart {
                customer: customer.clone(),
                lines: vec![line],
                promotion: None,
                shipping_gross: Some(4.95),
                tax_status: None,
                currency: None,
            };
            let ctx = BuildContext {
                rng: &mut rng,
                now: "2026-11-27T00:00:00.000+00:00".into(),
                order_number: "1".into(),
            };
            match checkout::build_order(&b.shop, &cart, ctx) {
                Ok(_) => {}
                Err(_) if b.closeouts.contains(n) && b.sold_out.contains(n) => refused_sold_out_closeouts += 1,
                Err(e) => panic!("{n}: {e}"),
            }
        }
        let expected = b.closeouts.iter().filter(|n| b.sold_out.contains(n)).count();
        assert_eq!(refused_sold_out_closeouts, expected);
    }
}
