//! Shipments back (F11): at the end of a run, does Shopware show what the ERP
//! shipped? For every shop order the ERP has shipped (some or all of), its
//! delivery must be `shipped` (everything shipped) or `shipped_partially`
//! (some of it), and carry every tracking number of the ERP's shipments.
//! Orders cancelled in Shopware are left out: their delivery cannot follow a
//! shipment, whatever the integration does.
//!
//! Shipments the ERP posts after an integration's last pass cannot be in
//! Shopware yet, so a scenario that thresholds this lets its fulfilment settle
//! well before the run ends.
//!
//! [`compare`] is pure; [`shop_deliveries`] and [`erp_fulfilments`] read the
//! records out of the twins' states.

use std::collections::{BTreeMap, BTreeSet};

use super::OrderFigures;
use crate::clock::SimTime;
use crate::report::model::ShipmentGap;
use crate::twin::erp::state::ErpState;

/// A Shopware order's delivery at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopDelivery {
    pub order_number: String,
    /// The delivery's state (`open`, `shipped_partially`, `shipped`, …).
    pub state: String,
    pub tracking_codes: Vec<String>,
    /// The order is cancelled in Shopware.
    pub cancelled: bool,
}

/// What the ERP shipped of one shop order (by external document number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpFulfilment {
    pub external_document_number: String,
    /// Everything on the (first) ERP order has shipped.
    pub fully_shipped: bool,
    /// Tracking numbers of every shipment for this shop order.
    pub tracking_numbers: Vec<String>,
}

/// At most this many gaps are listed in a report.
pub const MAX_LISTED: usize = 100;

/// Orders whose Shopware delivery does not show what the ERP shipped: the count
/// and the first [`MAX_LISTED`] gaps (in order-number order).
pub fn compare(shop: &[ShopDelivery], erp: &[ErpFulfilment]) -> (u64, Vec<ShipmentGap>) {
    let by_number: BTreeMap<&str, &ShopDelivery> = shop.iter().map(|d| (d.order_number.as_str(), d)).collect();
    let mut count = 0u64;
    let mut gaps = Vec::new();
    for f in erp {
        let Some(d) = by_number.get(f.external_document_number.as_str()) else {
            continue; // an orphan in the ERP: counted by the order reconciliation
        };
        if d.cancelled {
            continue;
        }
        let expected = if f.fully_shipped {
            "shipped"
        } else {
            "shipped_partially"
        };
        let have: BTreeSet<&str> = d.tracking_codes.iter().map(String::as_str).collect();
        let missing: Vec<String> = f
            .tracking_numbers
            .iter()
            .filter(|t| !have.contains(t.as_str()))
            .cloned()
            .collect();
        if d.state != expected || !missing.is_empty() {
            count += 1;
            if gaps.len() < MAX_LISTED {
                gaps.push(ShipmentGap {
                    order_number: d.order_number.clone(),
                    erp_state: expected.to_string(),
                    shopware_state: d.state.clone(),
                    missing_tracking: missing,
                });
            }
        }
    }
    (count, gaps)
}

pub use super::shop_end::shop_deliveries;

/// What one ERP sales order says about its fulfilment (see [`erp_fulfilments`]).
#[derive(Debug, Clone)]
pub struct OrderShipped {
    external_document_number: String,
    created: SimTime,
    number: String,
    anything_shipped: bool,
    fully_shipped: bool,
}

impl OrderShipped {
    pub fn of(o: &OrderFigures) -> OrderShipped {
        OrderShipped {
            external_document_number: o.external_document_number.clone(),
            created: o.created,
            number: o.number.clone(),
            anything_shipped: o.anything_shipped(),
            fully_shipped: o.fully_shipped(),
        }
    }
}

/// What the ERP twin shipped, per external document number. The state comes
/// from the first order with that number (as the order reconciliation pairs
/// them); tracking numbers from every shipment carrying it.
pub fn erp_fulfilments(state: &ErpState) -> Vec<ErpFulfilment> {
    fulfilments(state, state.orders.scan::<OrderFigures>().map(|o| OrderShipped::of(&o)))
}

/// [`erp_fulfilments`] from orders already read (the end of a run reads each
/// ERP order once for both reconciliations).
pub fn fulfilments(state: &ErpState, orders: impl Iterator<Item = OrderShipped>) -> Vec<ErpFulfilment> {
    #[derive(serde::Deserialize)]
    struct Tracking {
        external_document_number: String,
        tracking_number: String,
    }
    let mut tracking: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in state.shipments.scan::<Tracking>() {
        if !s.tracking_number.is_empty() {
            tracking
                .entry(s.external_document_number)
                .or_default()
                .push(s.tracking_number);
        }
    }
    let mut first: BTreeMap<String, OrderShipped> = BTreeMap::new();
    for o in orders {
        match first.get_mut(&o.external_document_number) {
            Some(f) => {
                if (o.created, &o.number) < (f.created, &f.number) {
                    *f = o;
                }
            }
            None => {
                first.insert(o.external_document_number.clone(), o);
            }
        }
    }
    first
        .into_iter()
        .filter(|(_, o)| o.anything_shipped)
        .map(|(ext, o)| ErpFulfilment {
            tracking_numbers: tracking.remove(&ext).unwrap_or_default(),
            external_document_number: ext,
            fully_shipped: o.fully_shipped,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(n: &str, state: &str, codes: &[&str], cancelled: bool) -> ShopDelivery {
        ShopDelivery {
            order_number: n.into(),
            state: state.into(),
            tracking_codes: codes.iter().map(|c| c.to_string()).collect(),
            cancelled,
        }
    }

    fn erp(n: &str, fully: bool, codes: &[&str]) -> ErpFulfilment {
        ErpFulfilment {
            external_document_number: n.into(),
            fully_shipped: fully,
            tracking_numbers: codes.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_delivery_must_show_the_erp_state_and_every_tracking_number() {
        let s = vec![
            shop("1", "shipped", &["A"], false),
            shop("2", "shipped_partially", &["B"], false),
            // Shipped on a partial shipment: the customer is told everything is on its way.
            shop("3", "shipped", &["C"], false),
            // The second tracking code replaced the first.
            shop("4", "shipped", &["E"], false),
            // Not synced at all.
            shop("5", "open", &[], false),
            // Cancelled in the shop: not the fulfilment sync's gap.
            shop("6", "cancelled", &[], true),
            shop("7", "open", &[], false),
        ];
        let e = vec![
            erp("1", true, &["A"]),
            erp("2", false, &["B"]),
            erp("3", false, &["C"]),
            erp("4", true, &["D", "E"]),
            erp("5", true, &["F"]),
            erp("6", true, &["G"]),
            erp("9", true, &["H"]),
        ];
        let (n, gaps) = compare(&s, &e);
        assert_eq!(n, 3);
        let listed: Vec<(&str, &str, &str, Vec<String>)> = gaps
            .iter()
            .map(|g| {
                (
                    g.order_number.as_str(),
                    g.erp_state.as_str(),
                    g.shopware_state.as_str(),
                    g.missing_tracking.clone(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                ("3", "shipped_partially", "shipped", vec![]),
                ("4", "shipped", "shipped", vec!["D".to_string()]),
                ("5", "shipped", "open", vec!["F".to_string()]),
            ]
        );
    }
}
