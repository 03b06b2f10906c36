//! The default item master, customers and chart of accounts, generated from a seed.
//!
//! Sellable items are numbered by the shared convention `SW10000`, `SW10001`, …
//! (the Shopware twin uses the same sequence for its productNumbers), or take
//! an explicit SKU list so a scenario can give both twins the same catalogue.
//! Names, prices and stock come from a named RNG (ChaCha8) with `fake_with_rng`,
//! so the same seed gives the same catalogue.
//!
//! Besides the sellable items, the item master always holds non-inventory items
//! for the lines a shop order carries that are not products, so mapping rules
//! have real targets:
//!
//! | number | type | use |
//! |---|---|---|
//! | `DISCOUNT` | Non-Inventory | promotion / voucher lines at the standard rate (negative price) |
//! | `DISCOUNT-<TAX>` | Non-Inventory | the same at each other rate (`DISCOUNT-VAT7`), for discount tax split by rate |
//! | `SHIPPING` | Non-Inventory | shipping costs |
//! | `SURCHARGE` | Non-Inventory | configurator (custom product) option surcharges |
//! | `SERVICE` | Service | shop lines of type `custom` (services, fees without an item) |
//!
//! G/L accounts for Account lines: `4400` revenue, `4730` shipping charges,
//! `4880` sales discounts, `3720` gift card liabilities (tax-free). One default
//! customer `C00010` ("Webshop guests") exists for the default-customer mode.

use fake::faker::company::en::{BsAdj, BsNoun};
use fake::Fake;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::state::{Customer, GlAccount, Ids, Item, ItemType};
use super::totals::UNIT_PRICE_SCALE;
use crate::clock::SimTime;

/// The first sellable item number.
pub const FIRST_SKU: u64 = 10_000;

/// The `i`-th sellable SKU: `SW10000`, `SW10001`, …
pub fn sku(i: usize) -> String {
    format!("SW{}", FIRST_SKU + i as u64)
}

/// Stream id of the catalogue RNG (one sub-stream per concern).
const CATALOG_STREAM: u64 = 0xca7a_106e;

/// Sellable items for `skus` (default: `count` items `SW10000…`), with seeded
/// names, prices, tax codes and stock. `tax_codes[0]` is the standard rate,
/// `tax_codes[1]` (if any) the reduced rate given to about 15 % of items.
pub fn sellable_items(seed: u64, skus: &[String], tax_codes: &[String], ids: &mut Ids) -> Vec<Item> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ CATALOG_STREAM);
    skus.iter()
        .map(|number| {
            let adj: String = BsAdj().fake_with_rng(&mut rng);
            let noun: String = BsNoun().fake_with_rng(&mut rng);
            let euros: i64 = rng.gen_range(4..250);
            let reduced = tax_codes.len() > 1 && rng.gen_bool(0.15);
            let inventory = if rng.gen_bool(0.1) { 0 } else { rng.gen_range(1..=200) };
            Item {
                id: ids.guid(),
                number: number.clone(),
                display_name: capitalise(&format!("{adj} {noun}")),
                item_type: ItemType::Inventory,
                blocked: false,
                inventory,
                reserved: 0,
                unit_price_e5: euros * UNIT_PRICE_SCALE + 99_000,
                tax_code: tax_codes[usize::from(reduced)].clone(),
                last_modified: SimTime::ZERO,
            }
        })
        .collect()
}

/// The non-inventory and service items for discounts, shipping, surcharges and custom lines.
pub fn service_items(tax_codes: &[String], ids: &mut Ids) -> Vec<Item> {
    let standard = &tax_codes[0];
    let mut out = vec![
        non_inventory(ids, "DISCOUNT", "Discount", standard),
        non_inventory(ids, "SHIPPING", "Shipping costs", standard),
        non_inventory(ids, "SURCHARGE", "Configurator surcharge", standard),
        Item {
            item_type: ItemType::Service,
            ..non_inventory(ids, "SERVICE", "Service", standard)
        },
    ];
    for code in &tax_codes[1..] {
        out.push(non_inventory(
            ids,
            &format!("DISCOUNT-{code}"),
            &format!("Discount {code}"),
            code,
        ));
    }
    out
}

fn non_inventory(ids: &mut Ids, number: &str, name: &str, tax: &str) -> Item {
    Item {
        id: ids.guid(),
        number: number.into(),
        display_name: name.into(),
        item_type: ItemType::NonInventory,
        blocked: false,
        inventory: 0,
        reserved: 0,
        unit_price_e5: 0,
        tax_code: tax.into(),
        last_modified: SimTime::ZERO,
    }
}

/// The chart of accounts Account lines may use.
pub fn gl_accounts(tax_codes: &[String]) -> Vec<GlAccount> {
    let standard = tax_codes[0].clone();
    let zero = tax_codes
        .iter()
        .find(|c| c.ends_with('0'))
        .cloned()
        .unwrap_or(standard.clone());
    vec![
        acct("3720", "Gift card liabilities", &zero),
        acct("4400", "Revenue, domestic", &standard),
        acct("4730", "Shipping charges", &standard),
        acct("4880", "Sales discounts", &standard),
    ]
}

fn acct(n: &str, name: &str, tax: &str) -> GlAccount {
    GlAccount {
        number: n.into(),
        name: name.into(),
        tax_code: tax.into(),
    }
}

/// The default customer for guest orders (default-customer mode).
pub fn default_customer(ids: &mut Ids, prices_include_tax: bool) -> Customer {
    Customer {
        id: ids.guid(),
        number: ids.customer_number(),
        display_name: "Webshop guests".into(),
        email: None,
        phone: None,
        fields: Default::default(),
        prices_include_tax,
        last_modified: SimTime::ZERO,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Vec<String> {
        vec!["VAT19".into(), "VAT7".into(), "VAT0".into()]
    }

    #[test]
    fn same_seed_same_catalogue_and_shared_sku_convention() {
        let skus: Vec<String> = (0..50).map(sku).collect();
        let a = sellable_items(7, &skus, &codes(), &mut Ids::new(ChaCha8Rng::seed_from_u64(1)));
        let b = sellable_items(7, &skus, &codes(), &mut Ids::new(ChaCha8Rng::seed_from_u64(1)));
        assert_eq!(a, b);
        assert_eq!(a[0].number, "SW10000");
        assert_eq!(a[49].number, "SW10049");
        assert!(a.iter().any(|i| i.tax_code == "VAT7"));
        assert!(a.iter().all(|i| i.unit_price_e5 % 100_000 == 99_000));
        let c = sellable_items(8, &skus, &codes(), &mut Ids::new(ChaCha8Rng::seed_from_u64(1)));
        assert_ne!(a, c);
    }

    #[test]
    fn service_items_cover_discounts_per_rate_shipping_and_surcharges() {
        let items = service_items(&codes(), &mut Ids::new(ChaCha8Rng::seed_from_u64(1)));
        let numbers: Vec<&str> = items.iter().map(|i| i.number.as_str()).collect();
        assert_eq!(
            numbers,
            [
                "DISCOUNT",
                "SHIPPING",
                "SURCHARGE",
                "SERVICE",
                "DISCOUNT-VAT7",
                "DISCOUNT-VAT0"
            ]
        );
        assert!(items.iter().all(|i| i.item_type != ItemType::Inventory));
    }
}
