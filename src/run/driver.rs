//! The traffic driver: replays a trace's events on the scenario clock against
//! the twins' storefront and ERP entry points (never through the APIs the
//! integration uses), and keeps the ledger of true sellable stock.
//!
//! The ledger is what the warehouse really has for sale: the ERP's available
//! stock at the start, minus every unit sold in Shopware, plus receipts and
//! cancellations. A sale of more than the ledger holds is an oversell (the
//! storefront showed stock the ERP did not have), counted with its units.
//! Lateness of each event against its scenario time is the harness's
//! scheduler lag.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{SharedClock, SimTime};
use crate::measure::Recorder;
use crate::scenario::trace::TraceEvent;
use crate::twin::erp::ErpTwin;
use crate::twin::shopware::checkout::Cart;
use crate::twin::shopware::packed::Key;
use crate::twin::shopware::ShopwareTwin;

/// One traffic event at its scenario time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Traffic {
    PlaceOrder {
        at: SimTime,
        cart: Box<Cart>,
    },
    /// Cancels the n-th order placed by this trace (from the storefront).
    CancelOrder {
        at: SimTime,
        order_index: usize,
    },
    ErpReceipt {
        at: SimTime,
        sku: String,
        qty: i64,
    },
    ErpAdjustment {
        at: SimTime,
        sku: String,
        delta: i64,
        reason: String,
    },
}

impl Traffic {
    /// The traffic a trace event stands for; none for a catalogue event (the
    /// run builds the twins from those before the traffic starts).
    pub fn from_event(ev: TraceEvent) -> Option<Traffic> {
        let at = |ms: u64| SimTime(ms * 1000);
        Some(match ev {
            TraceEvent::PlaceOrder { at_ms, cart } => Traffic::PlaceOrder { at: at(at_ms), cart },
            TraceEvent::CancelOrder { at_ms, order_index } => Traffic::CancelOrder {
                at: at(at_ms),
                order_index: order_index as usize,
            },
            TraceEvent::ErpReceipt { at_ms, sku, qty } => Traffic::ErpReceipt {
                at: at(at_ms),
                sku,
                qty,
            },
            TraceEvent::ErpAdjustment {
                at_ms,
                sku,
                delta,
                reason,
            } => Traffic::ErpAdjustment {
                at: at(at_ms),
                sku,
                delta,
                reason,
            },
            TraceEvent::Product { .. } | TraceEvent::Currency { .. } => return None,
        })
    }

    pub fn at(&self) -> SimTime {
        match self {
            Traffic::PlaceOrder { at, .. }
            | Traffic::CancelOrder { at, .. }
            | Traffic::ErpReceipt { at, .. }
            | Traffic::ErpAdjustment { at, .. } => *at,
        }
    }
}

/// What the driver did and saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DriverStats {
    pub events: u64,
    pub orders_placed: u64,
    /// Carts the storefront refused (sold-out closeouts, unknown products).
    pub orders_refused: u64,
    /// Carts the customer did not buy because Shopware showed too little stock.
    pub not_bought_out_of_stock: u64,
    pub cancellations: u64,
    pub receipts: u64,
    pub oversell_events: u64,
    pub oversold_units: i64,
    /// Trace events that named something that does not exist (skipped, counted).
    pub skipped: u64,
}

/// Replays traffic against the twins.
pub struct Driver {
    shop: Arc<ShopwareTwin>,
    erp: Arc<ErpTwin>,
    clock: SharedClock,
    ledger: BTreeMap<String, i64>,
    /// Orders placed by this trace, by their ids (None if refused): a
    /// cancellation reads the units it gives back from the order itself.
    placed: Vec<Option<Key>>,
    lag: Recorder,
    max_lag: Duration,
    /// The ERP's available stock when the run started (the ledger's start).
    pub initial_sellable: BTreeMap<String, i64>,
    pub stats: DriverStats,
}

impl Driver {
    pub fn new(shop: Arc<ShopwareTwin>, erp: Arc<ErpTwin>, clock: SharedClock) -> Self {
        let ledger = erp.available_stock();
        Driver {
            shop,
            erp,
            clock,
            initial_sellable: ledger.clone(),
            ledger,
            placed: Vec::new(),
            lag: Recorder::default(),
            max_lag: Duration::ZERO,
            stats: DriverStats::default(),
        }
    }

    /// Scheduler lag: how late events ran (scenario time).
    pub fn lag(&self) -> (crate::report::model::Distribution, Duration) {
        (self.lag.distribution(), self.max_lag)
    }

    /// An order's units per SKU, as Shopware holds its line items.
    fn units(&self, order_id: &str) -> Vec<(String, i64)> {
        let store = self.shop.read();
        crate::twin::shopware::routes::sku_quantities(&store, order_id)
            .into_iter()
            .map(|l| (l.sku, l.qty))
            .collect()
    }

    /// Does Shopware show enough stock for every product in the cart?
    fn shown_in_stock(&self, cart: &Cart) -> bool {
        use crate::twin::shopware::checkout::CartLine;
        let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
        for line in &cart.lines {
            if let CartLine::Product {
                product_number,
                quantity,
            }
            | CartLine::CustomizedProducts {
                product_number,
                quantity,
                ..
            } = line
            {
                *wanted.entry(product_number.as_str()).or_default() += quantity;
            }
        }
        wanted
            .iter()
            .all(|(sku, qty)| self.shop.stock_of(sku).is_none_or(|(stock, _)| stock >= *qty))
    }

    /// Waits for the event's scenario time, then applies it.
    pub async fn step(&mut self, ev: Traffic) {
        let now = self.clock.now();
        let at = ev.at();
        if at > now {
            tokio::time::sleep(self.clock.speed().to_wall(at.saturating_sub(now))).await;
        }
        let late = self.clock.now().saturating_sub(at);
        self.lag.record(late);
        self.max_lag = self.max_lag.max(late);
        self.apply(ev);
    }

    /// Applies an event now (no waiting); pure bookkeeping plus twin calls.
    pub fn apply(&mut self, ev: Traffic) {
        self.stats.events += 1;
        // Shipments due by now are posted before anything else happens.
        self.erp.tick();
        match ev {
            // Customers buy from the stock Shopware shows: a basket asking for more
            // than is shown is not bought (Shopware itself would sell a non-closeout
            // product below zero).
            Traffic::PlaceOrder { cart, .. } if !self.shown_in_stock(&cart) => {
                self.stats.not_bought_out_of_stock += 1;
                self.placed.push(None);
            }
            Traffic::PlaceOrder { cart, .. } => match self.shop.place_order(&cart) {
                Ok(placed) => {
                    self.stats.orders_placed += 1;
                    for (sku, qty) in self.units(&placed.order_id) {
                        // SKUs the ERP does not carry cannot be judged (they fail as unmapped).
                        if let Some(left) = self.ledger.get_mut(&sku) {
                            if *left < qty {
                                self.stats.oversell_events += 1;
                                self.stats.oversold_units += qty - (*left).max(0);
                            }
                            *left -= qty;
                        }
                    }
                    self.placed.push(Some(Key::new(&placed.order_id)));
                }
                Err(_) => {
                    self.stats.orders_refused += 1;
                    self.placed.push(None);
                }
            },
            Traffic::CancelOrder { order_index, .. } => match self.placed.get(order_index).cloned().flatten() {
                Some(key) => {
                    let id = key.as_string();
                    let units = self.units(&id);
                    if self.shop.storefront_transition("order", &id, "cancel").is_ok() {
                        self.stats.cancellations += 1;
                        for (sku, qty) in units {
                            if let Some(left) = self.ledger.get_mut(&sku) {
                                *left += qty;
                            }
                        }
                    }
                }
                None => self.stats.skipped += 1,
            },
            Traffic::ErpReceipt { sku, qty, .. } => match self.erp.receive_stock(&sku, qty) {
                Ok(_) => {
                    self.stats.receipts += 1;
                    *self.ledger.entry(sku).or_insert(0) += qty;
                }
                Err(_) => self.stats.skipped += 1,
            },
            Traffic::ErpAdjustment { sku, delta, reason, .. } => match self.erp.adjust_stock(&sku, delta, &reason) {
                Ok(_) => *self.ledger.entry(sku).or_insert(0) += delta,
                Err(_) => self.stats.skipped += 1,
            },
        }
    }
}
