//! End-of-run reconciliation: the twins' final states compared, the way a
//! finance or operations lead would (ERP.md §4): orders missing in the ERP,
//! duplicated, orphaned; per-order deltas of gross, net and tax per rate
//! against a tolerance of 0.005 × (lines + 1) (gross and each rate's tax
//! counted apart); Shopware stock against the ERP's available stock less the
//! units of orders that never reached it (a parked order still took its stock
//! in Shopware 6.6); guests merged into one ERP customer; closeouts left
//! unavailable with stock ([`stale_closeouts`]); shipments not shown in
//! Shopware ([`shipments`]).
//!
//! The comparison ([`reconcile`]) is pure, over plain records; [`shop_orders`]
//! and [`erp_orders`] read them out of the twins' states.

mod rates;
pub mod shipments;
mod shop_end;

pub use rates::Rates;

pub use shop_end::{orders_and_deliveries, shop_orders, shop_stock, take_orders_and_deliveries};

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::report::model::{MoneyDelta, Reconciliation, StockMismatch};
#[cfg(doc)]
use crate::twin::erp::state::SalesOrder;
use crate::twin::erp::state::{ErpState, LineType};
use crate::twin::shopware::store::Store;

/// A Shopware order as reconciliation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopOrder {
    pub number: String,
    pub gross: f64,
    pub net: f64,
    /// Tax rate ("19", "7") → amount.
    pub taxes: Rates<f64>,
    pub lines: usize,
    pub cancelled: bool,
    pub guest: bool,
    pub email: String,
    /// Units per SKU of its product lines.
    pub units: Vec<(String, i64)>,
}

/// An ERP order as reconciliation sees it (cents).
#[derive(Debug, Clone, PartialEq)]
pub struct ErpOrder {
    pub external_document_number: String,
    pub number: String,
    pub customer_number: String,
    pub gross_cents: i64,
    pub net_cents: i64,
    pub taxes_cents: Rates<i64>,
}

pub(crate) fn rate_key(rate: f64) -> String {
    let r = (rate * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// Orders out of the ERP twin's state.
pub fn erp_orders(state: &ErpState) -> Vec<ErpOrder> {
    state.orders.scan::<OrderFigures>().map(|o| erp_order(&o)).collect()
}

/// The fields of an ERP sales order the reconciliations read (a
/// [`SalesOrder`] without its texts and ids), read straight from the
/// twin's packed documents with [`crate::twin::erp::shelf::Shelf::scan`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OrderFigures {
    pub number: String,
    pub external_document_number: String,
    pub customer_number: String,
    pub total_excluding_tax: i64,
    pub total_including_tax: i64,
    pub created: crate::clock::SimTime,
    pub lines: Vec<LineFigures>,
}

/// The fields of a sales order line the reconciliations read.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LineFigures {
    pub line_type: LineType,
    pub quantity: i64,
    pub shipped_quantity: i64,
    pub tax_bp: i64,
    pub amount_excluding_tax: i64,
    pub tax: i64,
}

impl OrderFigures {
    /// As [`SalesOrder::fully_shipped`]: every Item line shipped in full.
    pub fn fully_shipped(&self) -> bool {
        self.lines
            .iter()
            .all(|l| l.line_type != LineType::Item || l.quantity - l.shipped_quantity == 0)
    }

    /// As [`SalesOrder::anything_shipped`].
    pub fn anything_shipped(&self) -> bool {
        self.lines.iter().any(|l| l.shipped_quantity > 0)
    }
}

/// What reconciliation compares of one ERP sales order.
pub fn erp_order(o: &OrderFigures) -> ErpOrder {
    let mut taxes = Rates::default();
    for l in &o.lines {
        if l.tax != 0 || l.amount_excluding_tax != 0 {
            taxes.add(rate_key(l.tax_bp as f64 / 100.0), l.tax);
        }
    }
    ErpOrder {
        external_document_number: o.external_document_number.clone(),
        number: o.number.clone(),
        customer_number: o.customer_number.clone(),
        gross_cents: o.total_including_tax,
        net_cents: o.total_excluding_tax,
        taxes_cents: taxes,
    }
}

/// At most this many per-order money deltas are listed in a report.
pub const MAX_LISTED: usize = 100;

/// Compares the two sides. `shop_stock` and `erp_available` are per SKU.
pub fn reconcile(
    shop: &[ShopOrder],
    erp: &[ErpOrder],
    shop_stock: &BTreeMap<String, i64>,
    erp_available: &BTreeMap<String, i64>,
) -> Reconciliation {
    // One pass over each side, hash maps rather than B-trees: at a million orders
    // the diff is bound by memory latency, and every lookup of an order number
    // in a B-tree is a chain of cache misses (issue 6's bench). Only counts and
    // sums come out of the maps, so their order never reaches the report.
    struct Ext<'a> {
        first: &'a ErpOrder,
        copies: u64,
        /// A Shopware order carries this number.
        matched: bool,
    }
    let mut by_ext: HashMap<&str, Ext> = HashMap::with_capacity(erp.len());
    for o in erp {
        by_ext
            .entry(o.external_document_number.as_str())
            .and_modify(|e| e.copies += 1)
            .or_insert(Ext {
                first: o,
                copies: 1,
                matched: false,
            });
    }
    let mut r = Reconciliation {
        shop_orders: shop.len() as u64,
        erp_orders: erp.len() as u64,
        ..Default::default()
    };
    // Guests merged: guest orders of different e-mails booked on one ERP customer.
    struct GuestCustomer<'a> {
        first_email: &'a str,
        mixed: bool,
        orders: u64,
    }
    let mut guest_customers: HashMap<&str, GuestCustomer> = HashMap::new();
    // Orders that never reached the ERP took their stock in Shopware but not in
    // the ERP: the right Shopware figure is available minus their units.
    let mut unexported: HashMap<&str, i64> = HashMap::new();
    for o in shop {
        let Some(ext) = by_ext.get_mut(o.number.as_str()) else {
            if !o.cancelled {
                r.missing_orders += 1;
                for (sku, qty) in &o.units {
                    *unexported.entry(sku.as_str()).or_default() += qty;
                }
            }
            continue;
        };
        ext.matched = true;
        let first = ext.first;
        if o.guest {
            let c = guest_customers
                .entry(first.customer_number.as_str())
                .or_insert(GuestCustomer {
                    first_email: o.email.as_str(),
                    mixed: false,
                    orders: 0,
                });
            c.mixed |= c.first_email != o.email;
            c.orders += 1;
        }
        let erp_gross = first.gross_cents as f64 / 100.0;
        let erp_net = first.net_cents as f64 / 100.0;
        let delta_gross = round2(erp_gross - o.gross);
        let delta_tax = tax_deltas(&o.taxes, &first.taxes_cents);
        let tolerance = 0.005 * (o.lines as f64 + 1.0);
        let within = delta_gross.abs() <= tolerance + 1e-9;
        r.total_delta_gross = round2(r.total_delta_gross + delta_gross);
        if !within {
            r.orders_outside_tolerance += 1;
        }
        if delta_tax.values().any(|d| d.abs() > tolerance + 1e-9) {
            r.tax_outside_tolerance += 1;
        }
        if (delta_gross.abs() >= 0.005 || !delta_tax.is_empty()) && r.money_deltas.len() < MAX_LISTED {
            r.money_deltas.push(MoneyDelta {
                order_number: o.number.clone(),
                shop_gross: o.gross,
                erp_gross,
                delta_gross,
                delta_net: round2(erp_net - o.net),
                delta_tax,
                within_tolerance: within,
            });
        }
    }
    r.duplicated_orders = by_ext.values().map(|e| e.copies - 1).sum();
    r.orphaned_orders = by_ext.values().filter(|e| !e.matched).count() as u64;
    r.guests_merged = guest_customers.values().filter(|c| c.mixed).map(|c| c.orders).sum();
    for (sku, avail) in erp_available {
        if let Some(stock) = shop_stock.get(sku) {
            let expected = (avail - unexported.get(sku.as_str()).copied().unwrap_or(0)).max(0);
            if *stock != expected {
                r.stock_mismatches.push(StockMismatch {
                    sku: sku.clone(),
                    shopware: *stock,
                    erp_available: *avail,
                });
            }
        }
    }
    r
}

/// Products Shopware shows as not available although their stock, closeout
/// flag and minimum purchase say they are: a closeout restocked with indexing
/// disabled stays sold out (F6). (productNumber, stock), in store order.
pub fn stale_closeouts(store: &Store) -> Vec<(String, i64)> {
    store
        .unavailable_products()
        .iter()
        .filter_map(|id| store.get("product", id))
        .filter(|p| p.get("available").and_then(Value::as_bool) == Some(false))
        .filter(|p| crate::twin::shopware::stock::compute_available(store, p))
        .filter_map(|p| {
            Some((
                p.get("productNumber")?.as_str()?.to_string(),
                p.get("stock").and_then(Value::as_i64).unwrap_or(0),
            ))
        })
        .collect()
}

/// Per tax rate (in either order), the ERP's tax minus the shop's, where it is a
/// cent or more. Allocates only when there is a delta.
fn tax_deltas(shop: &Rates<f64>, erp_cents: &Rates<i64>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut add = |rate: &String, delta: f64| {
        if delta.abs() >= 0.005 {
            out.insert(rate.clone(), delta);
        }
    };
    for (rate, tax) in shop.iter() {
        let erp = erp_cents.get(rate).copied().unwrap_or(0) as f64 / 100.0;
        add(rate, round2(erp - tax));
    }
    for (rate, cents) in erp_cents.iter().filter(|(rate, _)| !shop.contains_key(rate)) {
        add(rate, round2(*cents as f64 / 100.0));
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(n: &str, gross: f64, lines: usize, guest: bool, email: &str) -> ShopOrder {
        ShopOrder {
            number: n.into(),
            gross,
            net: gross / 1.19,
            taxes: [("19".to_string(), gross - gross / 1.19)].into(),
            lines,
            cancelled: false,
            guest,
            email: email.into(),
            units: vec![],
        }
    }

    fn erp(ext: &str, cents: i64, customer: &str) -> ErpOrder {
        ErpOrder {
            external_document_number: ext.into(),
            number: format!("S-{ext}"),
            customer_number: customer.into(),
            gross_cents: cents,
            net_cents: (cents as f64 / 1.19).round() as i64,
            taxes_cents: [("19".to_string(), cents - (cents as f64 / 1.19).round() as i64)].into(),
        }
    }

    #[test]
    fn counts_missing_duplicated_orphaned_and_money_outside_tolerance() {
        let s = vec![
            shop("1", 119.0, 1, false, "a"),
            shop("2", 10.0, 1, false, "b"),
            shop("3", 50.0, 3, false, "c"),
        ];
        let e = vec![
            erp("1", 11900, "C1"),
            erp("1", 11900, "C1"),
            erp("9", 100, "C9"),
            erp("3", 5003, "C3"),
        ];
        let r = reconcile(&s, &e, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!((r.missing_orders, r.duplicated_orders, r.orphaned_orders), (1, 1, 1));
        // Order 3: 3 cents off with 3 lines: tolerance 0.02, so outside.
        assert_eq!(r.orders_outside_tolerance, 1);
        assert_eq!(r.money_deltas[0].order_number, "3");
        assert_eq!(r.money_deltas[0].delta_gross, 0.03);
        assert_eq!(r.total_delta_gross, 0.03);
    }

    #[test]
    fn a_cent_per_line_is_within_tolerance_and_guests_merged_are_counted() {
        let s = vec![
            shop("1", 20.0, 3, true, "x@a"),
            shop("2", 20.0, 1, true, "y@b"),
            shop("3", 20.0, 1, true, "z@c"),
        ];
        let e = vec![erp("1", 2002, "GUEST"), erp("2", 2000, "GUEST"), erp("3", 2000, "C3")];
        let r = reconcile(&s, &e, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(r.orders_outside_tolerance, 0);
        assert_eq!(r.money_deltas.len(), 1, "listed, but within tolerance");
        assert!(r.money_deltas[0].within_tolerance);
        assert_eq!(r.guests_merged, 2, "two guests with different e-mails on one customer");
    }

    #[test]
    fn units_of_orders_that_never_reached_the_erp_are_expected_off_the_shop_figure() {
        let mut parked = shop("7", 10.0, 1, false, "p");
        parked.units = vec![("A".into(), 2)];
        let shop_stock: BTreeMap<String, i64> = [("A".into(), 3)].into();
        let avail: BTreeMap<String, i64> = [("A".into(), 5)].into();
        let r = reconcile(&[parked], &[], &shop_stock, &avail);
        assert!(r.stock_mismatches.is_empty(), "3 = 5 available - 2 in the parked order");
        assert_eq!(r.missing_orders, 1);
    }

    #[test]
    fn tax_per_rate_is_judged_apart_from_the_gross() {
        // Same gross, but the discount's tax booked at 19 % only: 0.30 more 19 % tax, 0.30 less 7 %.
        let mut s = shop("1", 100.0, 3, false, "a");
        s.taxes = [("19".to_string(), 10.0), ("7".to_string(), 2.0)].into();
        let e = ErpOrder {
            external_document_number: "1".into(),
            number: "S-1".into(),
            customer_number: "C".into(),
            gross_cents: 10000,
            net_cents: 8800,
            taxes_cents: [("19".to_string(), 1030), ("7".to_string(), 170)].into(),
        };
        let r = reconcile(
            std::slice::from_ref(&s),
            std::slice::from_ref(&e),
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert_eq!((r.orders_outside_tolerance, r.tax_outside_tolerance), (0, 1));
        // A cent per rate is within the tolerance of 0.02 (3 lines).
        let mut close = e;
        close.taxes_cents = [("19".to_string(), 1001), ("7".to_string(), 199)].into();
        let r = reconcile(&[s], &[close], &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(r.tax_outside_tolerance, 0);
    }

    #[test]
    fn tax_deltas_cover_rates_on_either_side_and_copies_count_once_each() {
        let mut o = shop("1", 119.0, 2, false, "a");
        o.taxes = [("19".to_string(), 19.0), ("7".to_string(), 0.7)].into();
        let mut e = erp("1", 11900, "C1");
        e.taxes_cents = [("19".to_string(), 1900), ("0".to_string(), 3)].into();
        let three = vec![e.clone(), e.clone(), e];
        let r = reconcile(&[o], &three, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(r.duplicated_orders, 2, "three copies are two duplicates");
        let d = &r.money_deltas[0].delta_tax;
        assert_eq!(d.get("7"), Some(&-0.7), "only in the shop");
        assert_eq!(d.get("0"), Some(&0.03), "only in the ERP");
        assert_eq!(d.get("19"), None, "equal");
        // Three guests with three e-mails on one customer: all three merged.
        let s = vec![
            shop("1", 10.0, 1, true, "x"),
            shop("2", 10.0, 1, true, "y"),
            shop("3", 10.0, 1, true, "x"),
        ];
        let e = vec![erp("1", 1000, "G"), erp("2", 1000, "G"), erp("3", 1000, "G")];
        assert_eq!(reconcile(&s, &e, &BTreeMap::new(), &BTreeMap::new()).guests_merged, 3);
        // One guest e-mail only: none merged.
        let e = vec![erp("1", 1000, "G"), erp("2", 1000, "H"), erp("3", 1000, "G")];
        assert_eq!(reconcile(&s, &e, &BTreeMap::new(), &BTreeMap::new()).guests_merged, 0);
    }

    #[test]
    fn stock_is_compared_with_available_floored_at_zero() {
        let shop_stock: BTreeMap<String, i64> = [("A".into(), 5), ("B".into(), 0), ("C".into(), 3)].into();
        let avail: BTreeMap<String, i64> = [("A".into(), 5), ("B".into(), -2), ("C".into(), 1), ("D".into(), 9)].into();
        let r = reconcile(&[], &[], &shop_stock, &avail);
        assert_eq!(
            r.stock_mismatches,
            vec![StockMismatch {
                sku: "C".into(),
                shopware: 3,
                erp_available: 1
            }]
        );
    }
}
