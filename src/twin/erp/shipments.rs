//! Posting shipments: what happens when a scheduled shipment falls due.
//!
//! [`super::fulfilment`] decides *when* each order ships; this file posts the
//! shipment at its due time: quantities per line (clamped to on hand when the
//! profile forbids negative inventory, the rest backordered), the posted
//! `salesShipment` with tracking number and the order's external document
//! number, on hand and reservations reduced, and `ErpShipmentPosted` and
//! `ErpStockMoved` observations stamped with the due time.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::fulfilment::{Part, Scheduled};
use super::state::{ItemType, LineType, Shipment, ShipmentLine};
use super::{ErpTwin, Inner};
use crate::clock::SimTime;
use crate::observe::{Event, SkuQty, System};

impl ErpTwin {
    /// Posts every shipment due by `now`; returns how many were posted.
    pub(super) fn post_due(&self, g: &mut Inner, now: SimTime) -> usize {
        let mut n = 0;
        while let Some((due, s)) = g.fulfilment.pop_due(now) {
            if self.post_shipment(g, due, s) {
                n += 1;
            }
        }
        n
    }

    /// Posts one scheduled shipment at its due time; false when nothing shipped.
    fn post_shipment(&self, g: &mut Inner, due: SimTime, s: Scheduled) -> bool {
        let Some(order) = g.state.orders.get(&s.order_number) else {
            return false;
        };
        let wanted: Vec<(usize, i64)> = match &s.part {
            Part::Lines(v) => v
                .iter()
                .filter_map(|(i, q)| order.lines.get(*i).map(|l| (*i, (*q).min(l.outstanding()))))
                .collect(),
            Part::Rest => order
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.outstanding()))
                .collect(),
        };
        // Without negative inventory, ship only what is on hand; the rest is backordered.
        let mut planned: BTreeMap<&str, i64> = BTreeMap::new();
        let mut ship: Vec<(usize, i64)> = Vec::new();
        let mut short = false;
        for (i, q) in wanted {
            if q <= 0 {
                continue;
            }
            let line = &order.lines[i];
            let mut q = q;
            if let Some(item) = g.state.items.get(&line.line_object_number) {
                if item.item_type == ItemType::Inventory && !self.profile.orders.allow_negative_inventory {
                    let used = planned.entry(line.line_object_number.as_str()).or_insert(0);
                    let free = (item.inventory - *used).max(0);
                    if q > free {
                        short = true;
                        q = free;
                    }
                    *used += q;
                }
            }
            if q > 0 {
                ship.push((i, q));
            }
        }
        let order_number = s.order_number.clone();
        if short {
            g.fulfilment.reschedule_rest(&order_number, due);
        }
        if ship.is_empty() {
            return false;
        }
        let number = g.ids.shipment_number();
        let id = g.ids.guid();
        let tracking = g.fulfilment.tracking_number();
        let agent = g.fulfilment.shipping_agent().to_string();
        let mut lines = Vec::with_capacity(ship.len());
        let mut moves = Vec::new();
        {
            let Inner { state, ids, .. } = &mut *g;
            let Some(mut order) = state.orders.get(&order_number).map(Cow::into_owned) else {
                return false;
            };
            for (seq, (i, q)) in ship.iter().enumerate() {
                let line = &mut order.lines[*i];
                line.shipped_quantity += q;
                lines.push(ShipmentLine {
                    id: ids.guid(),
                    sequence: 10_000 * (seq as u32 + 1),
                    line_object_number: line.line_object_number.clone(),
                    description: line.description.clone(),
                    quantity: *q,
                });
                if let Some(item) = state.items.get_mut(&line.line_object_number) {
                    if item.item_type == ItemType::Inventory && line.line_type == LineType::Item {
                        let before = item.inventory;
                        item.inventory -= q;
                        item.reserved -= q;
                        item.last_modified = due;
                        moves.push((item.number.clone(), before, item.inventory));
                    }
                }
            }
            order.last_modified = due;
            let shipment = Shipment {
                id,
                number: number.clone(),
                order_id: order.id,
                order_number: order.number.clone(),
                external_document_number: order.external_document_number.clone(),
                customer_number: order.customer_number.clone(),
                shipping_agent: agent,
                tracking_number: tracking.clone(),
                posted: due,
                lines,
            };
            self.log.record(
                due,
                System::Erp,
                Event::ErpShipmentPosted {
                    number: number.clone(),
                    external_document_number: shipment.external_document_number.clone(),
                    tracking_number: Some(tracking),
                    lines: shipment
                        .lines
                        .iter()
                        .map(|l| SkuQty {
                            sku: l.line_object_number.clone(),
                            qty: l.quantity,
                        })
                        .collect(),
                },
            );
            state.insert_shipment(shipment);
            state.orders.insert(order_number, order);
        }
        for (sku, before, after) in moves {
            self.log.record(
                due,
                System::Erp,
                Event::ErpStockMoved {
                    sku,
                    before,
                    after,
                    reason: format!("shipment {number}"),
                },
            );
        }
        true
    }
}
