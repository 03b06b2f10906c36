//! Fulfilment: when the warehouse ships each open order.
//!
//! Every accepted order gets a due time, `created + delay`, with the delay
//! drawn uniformly from the profile's range on a seeded ChaCha8 stream. A share
//! of orders (`partial_share`) ships in two parts: the first part at the due
//! time, the rest after a second delay (split locations, backorders). The
//! schedule is a `BTreeMap` on `(due, sequence)`; the twin posts everything due
//! at the start of each request and on [`super::ErpTwin::tick`], stamping each
//! shipment with its due time, not the time it was noticed.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::profile::FulfilmentConfig;
use super::state::SalesOrder;
use crate::clock::SimTime;

/// What a scheduled shipment ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// These quantities per line index (the first part of a split order).
    Lines(Vec<(usize, i64)>),
    /// Everything still outstanding.
    Rest,
}

/// One scheduled shipment of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub order_number: String,
    pub part: Part,
}

/// The shipment schedule.
#[derive(Debug)]
pub struct Fulfilment {
    cfg: FulfilmentConfig,
    rng: ChaCha8Rng,
    queue: BTreeMap<(SimTime, u64), Scheduled>,
    seq: u64,
}

impl Fulfilment {
    pub fn new(cfg: FulfilmentConfig, seed: u64) -> Self {
        Fulfilment {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5_41_9e),
            queue: BTreeMap::new(),
            seq: 0,
        }
    }

    fn draw(&mut self, min: Duration, max: Duration) -> Duration {
        if max <= min {
            return min;
        }
        let span = (max - min).as_micros() as u64;
        min + Duration::from_micros(self.rng.gen_range(0..=span))
    }

    fn push(&mut self, due: SimTime, s: Scheduled) {
        self.seq += 1;
        self.queue.insert((due, self.seq), s);
    }

    /// Schedules the shipments of a newly accepted order.
    pub fn schedule(&mut self, order: &SalesOrder, created: SimTime) {
        let first = created.plus(self.draw(self.cfg.delay_min, self.cfg.delay_max));
        let split = self.rng.gen_bool(self.cfg.partial_share);
        let part = if split { split_lines(order) } else { None };
        match part {
            Some(lines) => {
                let second = first.plus(self.draw(self.cfg.second_delay_min, self.cfg.second_delay_max));
                self.push(
                    first,
                    Scheduled {
                        order_number: order.number.clone(),
                        part: Part::Lines(lines),
                    },
                );
                self.push(
                    second,
                    Scheduled {
                        order_number: order.number.clone(),
                        part: Part::Rest,
                    },
                );
            }
            None => self.push(
                first,
                Scheduled {
                    order_number: order.number.clone(),
                    part: Part::Rest,
                },
            ),
        }
    }

    /// Ships the rest of an order later (backorder: stock was short).
    pub fn reschedule_rest(&mut self, order_number: &str, after: SimTime) {
        let due = after.plus(self.draw(self.cfg.second_delay_min, self.cfg.second_delay_max));
        self.push(
            due,
            Scheduled {
                order_number: order_number.to_string(),
                part: Part::Rest,
            },
        );
    }

    /// The earliest scheduled shipment.
    pub fn next_due(&self) -> Option<SimTime> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    /// Takes the earliest shipment due at or before `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, Scheduled)> {
        let (&(due, seq), _) = self.queue.iter().next()?;
        if due > now {
            return None;
        }
        self.queue.remove(&(due, seq)).map(|s| (due, s))
    }

    /// A parcel tracking number (DHL-style, 20 digits).
    pub fn tracking_number(&mut self) -> String {
        format!("00340434{:012}", self.rng.gen_range(0..1_000_000_000_000u64))
    }

    pub fn shipping_agent(&self) -> &str {
        &self.cfg.shipping_agent
    }

    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// The first part of a split order: half (rounded up) of each multi-unit item
/// line, or the first half of the item lines. `None` when the order cannot be
/// split (a single unit).
fn split_lines(order: &SalesOrder) -> Option<Vec<(usize, i64)>> {
    let items: Vec<(usize, i64)> = order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.outstanding() > 0)
        .map(|(i, l)| (i, l.outstanding()))
        .collect();
    let units: i64 = items.iter().map(|(_, q)| q).sum();
    if units < 2 {
        return None;
    }
    if items.len() >= 2 {
        let half = items.len().div_ceil(2);
        Some(items[..half].to_vec())
    } else {
        Some(items.iter().map(|(i, q)| (*i, (q + 1) / 2)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::erp::guid::Guid;
    use crate::twin::erp::state::{LineType, SalesOrderLine};

    fn cfg(share: f64) -> FulfilmentConfig {
        FulfilmentConfig {
            delay_min: Duration::from_secs(60),
            delay_max: Duration::from_secs(120),
            partial_share: share,
            second_delay_min: Duration::from_secs(600),
            second_delay_max: Duration::from_secs(600),
            shipping_agent: "DHL".into(),
        }
    }

    fn order(qtys: &[i64]) -> SalesOrder {
        SalesOrder {
            id: Guid::default(),
            number: "S-ORD101001".into(),
            external_document_number: String::new(),
            customer_id: Guid::default(),
            customer_number: String::new(),
            customer_name: String::new(),
            fields: Default::default(),
            currency_code: "EUR".into(),
            prices_include_tax: false,
            discount_amount: 0,
            lines: qtys
                .iter()
                .map(|q| SalesOrderLine {
                    id: Guid::default(),
                    sequence: 10000,
                    line_type: LineType::Item,
                    line_object_number: "SW10000".into(),
                    item_id: None,
                    description: String::new(),
                    description2: String::new(),
                    quantity: *q,
                    shipped_quantity: 0,
                    unit_price_e5: 0,
                    discount_amount: 0,
                    tax_code: "VAT19".into(),
                    tax_bp: 1900,
                    amount_excluding_tax: 0,
                    invoice_discount_allocation: 0,
                    net_amount: 0,
                    tax: 0,
                    amount_including_tax: 0,
                })
                .collect(),
            total_excluding_tax: 0,
            total_tax: 0,
            total_including_tax: 0,
            created: SimTime::ZERO,
            last_modified: SimTime::ZERO,
        }
    }

    #[test]
    fn due_times_fall_in_the_profile_range_and_pop_in_order() {
        let mut f = Fulfilment::new(cfg(0.0), 1);
        for _ in 0..100 {
            f.schedule(&order(&[1]), SimTime::ZERO);
        }
        let first = f.next_due().unwrap();
        assert!(first >= SimTime::from_secs_f64(60.0) && first <= SimTime::from_secs_f64(120.0));
        assert!(f.pop_due(SimTime::from_secs_f64(59.0)).is_none());
        let mut last = SimTime::ZERO;
        let mut n = 0;
        while let Some((due, s)) = f.pop_due(SimTime::from_secs_f64(120.0)) {
            assert!(due >= last);
            assert_eq!(s.part, Part::Rest);
            last = due;
            n += 1;
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn split_orders_ship_a_part_then_the_rest() {
        let mut f = Fulfilment::new(cfg(1.0), 1);
        f.schedule(&order(&[3]), SimTime::ZERO);
        let (_, a) = f.pop_due(SimTime::from_secs_f64(1e6)).unwrap();
        assert_eq!(a.part, Part::Lines(vec![(0, 2)]));
        let (_, b) = f.pop_due(SimTime::from_secs_f64(1e6)).unwrap();
        assert_eq!(b.part, Part::Rest);
        // A single unit cannot be split.
        f.schedule(&order(&[1]), SimTime::ZERO);
        assert_eq!(f.pending(), 1);
        assert_eq!(split_lines(&order(&[1, 1, 1])), Some(vec![(0, 1), (1, 1)]));
    }
}
