//! Observations: what the twins saw, timestamped on the scenario clock.
//!
//! Principle 1 of DESIGN.md: every latency and gap is computed from what the
//! twins observed, never from the engine's log. Each twin appends an
//! [`Observation`] for every state change it makes (order placed, stock written,
//! state transition, tracking code set, ERP order created or rejected, 429
//! answered) to a shared [`ObservationLog`], and counts every request it answers
//! in [`RequestStats`]. The measurement layer drains the log; nothing here
//! interprets it.
//!
//! Memory: requests are *counted*, not logged, so a long replay's memory grows
//! with state changes only, and the run pipeline drains the log as it goes.

mod stats;

pub use stats::{RequestStats, RouteStats};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::clock::SimTime;

/// Which twin made an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Shopware,
    Erp,
}

/// One state change (or refusal) seen by a twin, at a scenario instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// When the change became visible to clients (the end of its service time).
    pub at: SimTime,
    pub system: System,
    #[serde(flatten)]
    pub event: Event,
}

/// A quantity of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuQty {
    pub sku: String,
    pub qty: i64,
}

/// What changed. Shopware and ERP events share one enum so that one log and one
/// JSONL format serve both twins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    // ---- Shopware ----
    /// An order was placed in the storefront (stock taken in 6.6+).
    OrderPlaced {
        order_id: String,
        order_number: String,
        guest: bool,
        lines: Vec<SkuQty>,
        gross: f64,
    },
    /// A sale the storefront refused (not enough stock shown, closeout sold out).
    OrderRefused {
        sku: String,
        reason: String,
    },
    /// `product.stock` changed, and why (`sync`, `patch`, `order`, `cancel`, `reopen`).
    StockWritten {
        sku: String,
        before: i64,
        after: i64,
        via: String,
        /// The `available` flag after the write (stale when indexing was disabled).
        available: bool,
    },
    /// A state machine moved.
    StateChanged {
        entity: String,
        id: String,
        order_number: Option<String>,
        transition: String,
        from: String,
        to: String,
    },
    /// Tracking codes were written on a delivery.
    TrackingSet {
        delivery_id: String,
        order_number: Option<String>,
        codes: Vec<String>,
    },
    // ---- ERP ----
    /// The ERP accepted a sales order.
    ErpOrderCreated {
        number: String,
        external_document_number: String,
        customer_number: String,
        lines: Vec<SkuQty>,
        total_including_tax: f64,
    },
    /// The ERP rejected a sales order, with its error code.
    ErpOrderRejected {
        external_document_number: String,
        code: String,
        message: String,
    },
    /// An existing order was replaced by a POST with the same external
    /// document number (profiles in upsert mode).
    ErpOrderUpdated {
        number: String,
        external_document_number: String,
        lines: Vec<SkuQty>,
        total_including_tax: f64,
    },
    ErpCustomerCreated {
        number: String,
        email: Option<String>,
    },
    /// A shipment was posted (on hand dropped).
    ErpShipmentPosted {
        number: String,
        external_document_number: String,
        tracking_number: Option<String>,
        lines: Vec<SkuQty>,
    },
    /// ERP stock moved (receipt, adjustment, shipment).
    ErpStockMoved {
        sku: String,
        before: i64,
        after: i64,
        reason: String,
    },
    // ---- both ----
    /// A request answered 429 (or the ERP's throttling status).
    Throttled {
        route: String,
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// A fault was injected (deadlock 500, timeout, overload 503, dropped connection).
    Fault {
        route: String,
        kind: String,
        status: u16,
    },
}

/// Shared log of observations; cheap to clone.
///
/// Unbounded by default: a run drains it as it goes. A standalone server, which
/// nobody drains, uses [`ObservationLog::bounded`]: the oldest observations are
/// dropped (and counted) so memory stays flat however long it serves.
#[derive(Debug, Clone, Default)]
pub struct ObservationLog {
    inner: Arc<Mutex<Ring>>,
}

#[derive(Debug, Default)]
struct Ring {
    items: VecDeque<Observation>,
    /// `None`: unbounded.
    capacity: Option<usize>,
    dropped: u64,
}

impl ObservationLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that keeps at most `capacity` observations, dropping the oldest.
    pub fn bounded(capacity: usize) -> Self {
        let ring = Ring {
            items: VecDeque::new(),
            capacity: Some(capacity.max(1)),
            dropped: 0,
        };
        ObservationLog {
            inner: Arc::new(Mutex::new(ring)),
        }
    }

    pub fn record(&self, at: SimTime, system: System, event: Event) {
        let mut ring = self.lock();
        if let Some(cap) = ring.capacity {
            while ring.items.len() >= cap {
                ring.items.pop_front();
                ring.dropped += 1;
            }
        }
        ring.items.push_back(Observation { at, system, event });
    }

    /// A copy of everything held.
    pub fn snapshot(&self) -> Vec<Observation> {
        self.lock().items.iter().cloned().collect()
    }

    /// Takes everything held, leaving the log empty.
    pub fn drain(&self) -> Vec<Observation> {
        self.lock().items.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Observations dropped by a bounded log.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A poisoned log still holds valid observations: keep serving them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_drains_and_serialises_flat() {
        let log = ObservationLog::new();
        log.record(
            SimTime(5),
            System::Shopware,
            Event::Throttled {
                route: "/api/oauth/token".into(),
                status: 429,
                retry_after_secs: Some(6),
            },
        );
        assert_eq!(log.len(), 1);
        let json = serde_json::to_value(&log.snapshot()[0]).unwrap();
        assert_eq!(json["event"], "throttled");
        assert_eq!(json["system"], "shopware");
        assert_eq!(json["retry_after_secs"], 6);
        let back: Observation = serde_json::from_value(json).unwrap();
        assert_eq!(back.at, SimTime(5));
        assert_eq!(log.drain().len(), 1);
        assert!(log.is_empty());
    }

    #[test]
    fn a_bounded_log_keeps_the_newest_and_counts_the_dropped() {
        let log = ObservationLog::bounded(3);
        for i in 0..10 {
            log.record(
                SimTime(i),
                System::Erp,
                Event::ErpCustomerCreated {
                    number: i.to_string(),
                    email: None,
                },
            );
        }
        let kept: Vec<u64> = log.snapshot().iter().map(|o| o.at.0).collect();
        assert_eq!(kept, vec![7, 8, 9]);
        assert_eq!(log.dropped(), 7);
    }
}
