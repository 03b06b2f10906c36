//! The traffic trace: JSON Lines, one event a line, in scenario-time order.
//!
//! Every event carries `at_ms`, its scenario time in milliseconds, and a `type`:
//!
//! ```text
//! {"type":"place_order","at_ms":1234,"cart":{"customer":{…},"lines":[…],…}}
//! {"type":"cancel_order","at_ms":90000,"order_index":0}
//! {"type":"erp_receipt","at_ms":600000,"sku":"SW10017","qty":25}
//! {"type":"erp_adjustment","at_ms":1800000,"sku":"SW10003.2","delta":-2,"reason":"damaged"}
//! ```
//!
//! `cart` is the storefront [`Cart`] (the Shopware twin's checkout input).
//! `order_index` counts `place_order` events from 0 in file order: the customer
//! cancels the order the n-th placement created (if the storefront refused that
//! cart, there is nothing to cancel). Times never go backwards; [`read`] checks
//! that, and that a cancel refers to an earlier placement, and names the line of
//! anything wrong. Reading and writing stream: a trace of millions of orders is
//! never held in memory.
//!
//! # The catalogue header (recorded traces)
//!
//! A trace written by `synctwin record` starts with the shop it was recorded
//! from, so a replay sells the same products: one `product` event per product
//! and one `currency` event per currency, all at `at_ms` 0 and before any
//! traffic (see [`super::recorded`] for the fields and how a run builds both
//! twins from them):
//!
//! ```text
//! {"type":"currency","at_ms":0,"currency":{"isoCode":"EUR","factor":1.0,"systemDefault":true,…}}
//! {"type":"product","at_ms":0,"product":{"productNumber":"SW10000.1","parentNumber":"SW10000","stock":12,…}}
//! ```
//!
//! Generated traces have no header: their catalogue comes from the scenario.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

use super::recorded::{CurrencySnapshot, ProductSnapshot};
use crate::twin::shopware::checkout::Cart;

/// One line of a trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TraceEvent {
    /// A customer checks out this cart in the storefront.
    /// (The cart is boxed: it is far larger than the other events.)
    PlaceOrder { at_ms: u64, cart: Box<Cart> },
    /// The customer cancels the order of the `order_index`-th `place_order`.
    CancelOrder { at_ms: u64, order_index: u64 },
    /// The ERP books a stock receipt.
    ErpReceipt { at_ms: u64, sku: String, qty: i64 },
    /// The ERP books a stock adjustment (positive or negative).
    ErpAdjustment {
        at_ms: u64,
        sku: String,
        delta: i64,
        reason: String,
    },
    /// Catalogue header: a product of the recorded shop (boxed like the cart).
    Product { at_ms: u64, product: Box<ProductSnapshot> },
    /// Catalogue header: a currency of the recorded shop.
    Currency {
        at_ms: u64,
        currency: Box<CurrencySnapshot>,
    },
}

impl TraceEvent {
    /// Scenario time in milliseconds.
    pub fn at_ms(&self) -> u64 {
        match self {
            TraceEvent::PlaceOrder { at_ms, .. }
            | TraceEvent::CancelOrder { at_ms, .. }
            | TraceEvent::ErpReceipt { at_ms, .. }
            | TraceEvent::ErpAdjustment { at_ms, .. }
            | TraceEvent::Product { at_ms, .. }
            | TraceEvent::Currency { at_ms, .. } => *at_ms,
        }
    }

    /// Is this a catalogue header event (`product`, `currency`) rather than traffic?
    pub fn is_catalogue(&self) -> bool {
        matches!(self, TraceEvent::Product { .. } | TraceEvent::Currency { .. })
    }
}

/// A trace line that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("trace line {line}: cannot read: {error}")]
    Io { line: usize, error: io::Error },
    #[error("trace line {line}: {message}")]
    Invalid { line: usize, message: String },
}

/// Writes events as JSON lines; checks the order it is given.
pub struct TraceWriter<W: Write> {
    out: W,
    last_at_ms: u64,
    placed: u64,
    events: u64,
    traffic_seen: bool,
}

impl<W: Write> TraceWriter<W> {
    pub fn new(out: W) -> Self {
        TraceWriter {
            out,
            last_at_ms: 0,
            placed: 0,
            events: 0,
            traffic_seen: false,
        }
    }

    /// Appends one event. Events must come in time order, catalogue events
    /// first at time 0 (a bug otherwise).
    pub fn write(&mut self, event: &TraceEvent) -> io::Result<()> {
        debug_assert!(event.at_ms() >= self.last_at_ms, "trace events out of order");
        debug_assert!(
            !event.is_catalogue() || (!self.traffic_seen && event.at_ms() == 0),
            "catalogue events come first, at time 0"
        );
        self.traffic_seen |= !event.is_catalogue();
        self.last_at_ms = event.at_ms();
        if matches!(event, TraceEvent::PlaceOrder { .. }) {
            self.placed += 1;
        }
        self.events += 1;
        serde_json::to_writer(&mut self.out, event).map_err(io::Error::from)?;
        self.out.write_all(b"\n")
    }

    /// `place_order` events written so far (the next one's `order_index`).
    pub fn placed(&self) -> u64 {
        self.placed
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a trace line by line; each item names its line number on error. Blank
/// lines are skipped. After the first error the iterator ends.
pub fn read(reader: impl BufRead) -> impl Iterator<Item = Result<TraceEvent, TraceError>> {
    TraceReader {
        reader,
        buf: String::new(),
        line: 0,
        last_at_ms: 0,
        placed: 0,
        traffic_seen: false,
        failed: false,
    }
}

struct TraceReader<R> {
    reader: R,
    buf: String,
    line: usize,
    last_at_ms: u64,
    placed: u64,
    traffic_seen: bool,
    failed: bool,
}

impl<R: BufRead> TraceReader<R> {
    fn check(&mut self, line: usize, event: TraceEvent) -> Result<TraceEvent, TraceError> {
        let invalid = |message: String| TraceError::Invalid { line, message };
        if event.is_catalogue() && (self.traffic_seen || event.at_ms() != 0) {
            return Err(invalid(
                "a catalogue event (product, currency) must come before the traffic, at at_ms 0".into(),
            ));
        }
        if event.at_ms() < self.last_at_ms {
            return Err(invalid(format!(
                "at_ms {} is before the previous event's {}: a trace is in time order",
                event.at_ms(),
                self.last_at_ms
            )));
        }
        self.traffic_seen |= !event.is_catalogue();
        match &event {
            TraceEvent::PlaceOrder { .. } => self.placed += 1,
            TraceEvent::CancelOrder { order_index, .. } if *order_index >= self.placed => {
                return Err(invalid(format!(
                    "order_index {order_index} refers to no earlier place_order ({} so far)",
                    self.placed
                )))
            }
            _ => {}
        }
        self.last_at_ms = event.at_ms();
        Ok(event)
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<TraceEvent, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) if self.buf.trim().is_empty() => continue,
                Ok(_) => {
                    let parsed = serde_json::from_str::<TraceEvent>(self.buf.trim_end())
                        .map_err(|e| TraceError::Invalid {
                            line,
                            message: e.to_string(),
                        })
                        .and_then(|ev| self.check(line, ev));
                    self.failed = parsed.is_err();
                    return Some(parsed);
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(TraceError::Io { line, error }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::shopware::checkout::{CartCustomer, CartLine};

    fn cart() -> Cart {
        Cart {
            customer: CartCustomer {
                email: "a@example.com".into(),
                first_name: "A".into(),
                last_name: "B".into(),
                guest: false,
                customer_number: None,
                company: None,
                street: "S 1".into(),
                zipcode: "1".into(),
                city: "C".into(),
                country_iso: None,
                vat_ids: vec![],
                phone_number: None,
            },
            lines: vec![CartLine::Product {
                product_number: "SW10000".into(),
                quantity: 1,
            }],
            promotion: None,
            shipping_gross: None,
            tax_status: None,
            currency: None,
        }
    }

    fn events() -> Vec<TraceEvent> {
        vec![
            TraceEvent::PlaceOrder {
                at_ms: 5,
                cart: Box::new(cart()),
            },
            TraceEvent::ErpReceipt {
                at_ms: 5,
                sku: "SW10001".into(),
                qty: 3,
            },
            TraceEvent::CancelOrder {
                at_ms: 9,
                order_index: 0,
            },
            TraceEvent::ErpAdjustment {
                at_ms: 10,
                sku: "SW10002.1".into(),
                delta: -2,
                reason: "damaged".into(),
            },
        ]
    }

    fn written(evs: &[TraceEvent]) -> String {
        let mut w = TraceWriter::new(Vec::new());
        for e in evs {
            w.write(e).unwrap();
        }
        assert_eq!(w.placed(), 1);
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn round_trips_one_event_a_line() {
        let text = written(&events());
        assert_eq!(text.lines().count(), 4);
        assert!(
            text.starts_with("{\"type\":\"place_order\",\"at_ms\":5,\"cart\":{"),
            "{text}"
        );
        assert!(text.contains("{\"type\":\"cancel_order\",\"at_ms\":9,\"order_index\":0}"));
        assert!(text.contains("{\"type\":\"erp_receipt\",\"at_ms\":5,\"sku\":\"SW10001\",\"qty\":3}"));
        let back: Vec<TraceEvent> = read(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(written(&back), text);
    }

    #[test]
    fn errors_name_the_line() {
        let text = written(&events());
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(2, "");
        lines.insert(3, "{\"type\":\"erp_receipt\",\"at_ms\":6,\"sku\":\"X\"}");
        let bad = lines.join("\n");
        let out: Vec<_> = read(bad.as_bytes()).collect();
        assert_eq!(out.len(), 3, "stops after the first error");
        let e = out[2].as_ref().unwrap_err().to_string();
        assert!(e.starts_with("trace line 4:") && e.contains("qty"), "{e}");

        let unknown = "{\"type\":\"teleport\",\"at_ms\":1}\n";
        let e = read(unknown.as_bytes()).next().unwrap().unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("teleport"), "{e}");
    }

    #[test]
    fn a_catalogue_header_round_trips_and_must_come_first() {
        let header = "{\"type\":\"currency\",\"at_ms\":0,\"currency\":{\"isoCode\":\"EUR\",\"factor\":1.0,\"systemDefault\":true,\"itemRounding\":{\"decimals\":2,\"interval\":0.01,\"roundForNet\":true},\"totalRounding\":{\"decimals\":2,\"interval\":0.01,\"roundForNet\":true}}}\n{\"type\":\"product\",\"at_ms\":0,\"product\":{\"productNumber\":\"SW1.1\",\"parentNumber\":\"SW1\",\"stock\":4}}\n";
        let traffic = written(&events());
        let text = format!("{header}{traffic}");
        let back: Vec<TraceEvent> = read(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert!(back[0].is_catalogue() && back[1].is_catalogue() && !back[2].is_catalogue());
        let mut w = TraceWriter::new(Vec::new());
        for e in &back {
            w.write(e).unwrap();
        }
        assert_eq!(
            String::from_utf8(w.finish().unwrap()).unwrap(),
            text,
            "optional fields stay out"
        );

        let late = format!("{traffic}{header}");
        let e = read(late.as_bytes()).find_map(Result::err).unwrap().to_string();
        assert!(e.contains("line 5") && e.contains("before the traffic"), "{e}");
        let unknown =
            "{\"type\":\"product\",\"at_ms\":0,\"product\":{\"productNumber\":\"A\",\"stock\":1,\"colour\":\"red\"}}\n";
        let e = read(unknown.as_bytes()).next().unwrap().unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn time_order_and_cancel_references_are_checked() {
        let back = "{\"type\":\"erp_receipt\",\"at_ms\":9,\"sku\":\"A\",\"qty\":1}\n{\"type\":\"erp_receipt\",\"at_ms\":3,\"sku\":\"A\",\"qty\":1}\n";
        let e = read(back.as_bytes()).nth(1).unwrap().unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("time order"), "{e}");
        let cancel = "{\"type\":\"cancel_order\",\"at_ms\":1,\"order_index\":0}\n";
        let e = read(cancel.as_bytes()).next().unwrap().unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("no earlier place_order"), "{e}");
    }
}
