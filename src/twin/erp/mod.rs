//! The ERP twin: a stateful ERP in the shape of Business Central API v2.0.
//!
//! The ERP is the authority for stock and financial truth, so this twin does
//! what a real one does to the data it is sent: it validates every line
//! against its item master, tax codes and customers, computes amounts, tax and
//! totals itself with the profile's rounding, reserves stock on open orders,
//! ships orders after a seeded delay (partial shipments included), throttles,
//! queues and times out, and can commit an order and then fail the answer.
//!
//! # Request flow
//!
//! Every request first posts the shipments that fell due (stamped with their
//! due time), then: routing → bearer auth (401 `Authentication_InvalidCredentials`)
//! → rate limits (Business Central: 6,000 requests per 5-minute sliding window
//! per client) → worker pool admission (5 in process + 95 queued, 429 beyond)
//! → operation timeout (408 over `operation_timeout`, 504 over `gateway_timeout`)
//! → fault draw (writes: commit-then-504, commit-then-drop) → handler. The
//! answer is held back for the request's queueing plus service time on the
//! scenario clock, divided by the speed. Every request is counted in
//! [`RequestStats`] under `METHOD /route-pattern`; every change is an
//! [`Observation`](crate::observe::Observation) on the scenario clock.
//!
//! Times on the wire: `Retry-After` (when a profile sends it) counts scenario
//! seconds, like every figure in a profile; at 1x that is wall seconds.
//! Observations carry the instant a change became visible (the end of its
//! service time, or a shipment's due time), so the log is not strictly sorted:
//! readers sort by `at`.
//!
//! Realism notes: `inventory` is on hand; `available` is on hand minus open
//! order quantity. An item's `lastModifiedDateTime` moves with stock receipts,
//! adjustments and shipments, but not when an order reserves stock, so a delta
//! sync on `lastModifiedDateTime` misses availability changes from new orders,
//! as it would against the real system's item record.
//!
//! # Layout
//!
//! - [`profile`]: the profile file model and validation;
//! - [`state`]: items, customers, G/L accounts, orders, shipments, ids;
//!   [`shelf`]: documents at rest; [`index`]: lookups by id, e-mail and
//!   external document number;
//! - [`seed`] and [`csv`]: the default item master and the CSV loader;
//! - [`totals`]: money maths and rounding;
//! - [`odata`]: `$filter`, `$top`, `$skip`, `$orderby`, paging;
//! - [`errors`]: the OData error envelope;
//! - [`routes`]: routing and reads; `orders`, `customers`: the writes;
//!   [`batch`]: `$batch` with optional all-or-nothing isolation;
//! - [`fulfilment`]: the shipment schedule; `shipments`: posting them;
//! - `pipeline`: the request flow behind [`Twin::handle`](crate::twin::Twin::handle); [`cli`]: `synctwin mock erp`.

pub mod batch;
pub mod cli;
pub mod csv;
mod customers;
pub mod errors;
pub mod fields;
pub mod fulfilment;
pub mod guid;
pub mod index;
pub mod odata;
mod orders;
mod payload;
mod pipeline;
pub mod profile;
pub mod routes;
pub mod seed;
pub mod shelf;
mod shipments;
pub mod state;
pub mod totals;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use time::OffsetDateTime;

pub use csv::ItemRow;
pub use errors::ODataError;
pub use profile::{ErpProfile, ExternalRefMode};
pub use routes::Resource;
pub use state::{Customer, ErpState, Item, ItemType, SalesOrder, SalesOrderLine, Shipment, ShipmentLine};

use crate::clock::{SharedClock, SimTime};
use crate::observe::{Event, ObservationLog, RequestStats, System};
use crate::twin::capacity::WorkerPool;
use crate::twin::faults::FaultInjector;
use crate::twin::ratelimit::RateLimiter;
use crate::twin::tokens::TokenStore;
use fulfilment::Fulfilment;
use state::Ids;

/// Where the item master comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Catalogue {
    /// `items` generated items `SW10000…` from the seed.
    Generated { items: usize },
    /// Generated items with these numbers (shared with the Shopware twin).
    Skus(Vec<String>),
    /// Rows of an item-master CSV.
    Rows(Vec<ItemRow>),
}

/// Everything needed to build an ERP twin.
#[derive(Debug, Clone)]
pub struct ErpConfig {
    pub profile: ErpProfile,
    pub seed: u64,
    pub catalogue: Catalogue,
    /// OAuth client id (default: a GUID from the seed).
    pub client_id: Option<String>,
    /// OAuth client secret (default: generated from the seed).
    pub client_secret: Option<String>,
}

impl ErpConfig {
    /// The Business Central profile with 300 generated items.
    pub fn new(profile: ErpProfile, seed: u64) -> Self {
        ErpConfig {
            profile,
            seed,
            catalogue: Catalogue::Generated { items: 300 },
            client_id: None,
            client_secret: None,
        }
    }
}

/// The twin could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ErpSetupError {
    #[error("item '{item}' uses tax code '{code}', which the profile does not define (defined: {defined})")]
    UnknownTaxCode {
        item: String,
        code: String,
        defined: String,
    },
}

/// A traffic-driver call the twin refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpOpError {
    #[error("the ERP has no item '{0}'")]
    UnknownItem(String),
    #[error("item '{0}' is not an Inventory item and carries no stock")]
    NotInventory(String),
}

/// Mutable state behind the twin's one lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) state: ErpState,
    pub(crate) ids: Ids,
    tokens: TokenStore,
    limiter: RateLimiter,
    pool: WorkerPool,
    faults: FaultInjector,
    pub(crate) fulfilment: Fulfilment,
    requests: u64,
}

/// What handlers need besides the state.
pub(crate) struct Ctx<'a> {
    pub(crate) profile: &'a ErpProfile,
    pub(crate) tax_rates: &'a BTreeMap<String, i64>,
    pub(crate) log: &'a ObservationLog,
    /// When the change becomes visible: the end of the request's service time.
    pub(crate) at: SimTime,
}

/// The ERP twin. Cheap to share behind an `Arc`; all state sits behind one mutex.
#[derive(Debug)]
pub struct ErpTwin {
    inner: Mutex<Inner>,
    profile: ErpProfile,
    tax_rates: BTreeMap<String, i64>,
    clock: SharedClock,
    log: ObservationLog,
    stats: RequestStats,
    company_id: String,
    client_id: String,
    client_secret: String,
}

impl ErpTwin {
    /// Builds a twin: seeds the item master, G/L accounts and the default customer.
    pub fn new(cfg: ErpConfig, clock: SharedClock, log: ObservationLog) -> Result<Self, ErpSetupError> {
        let profile = cfg.profile;
        let tax_rates = profile.tax_rates();
        let codes: Vec<String> = profile.tax_codes.iter().map(|t| t.code.clone()).collect();
        let mut ids = Ids::new(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x1d5));
        let mut cred_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xc1e7);
        let company_id = ids.guid().to_string();
        let client_id = cfg.client_id.unwrap_or_else(|| {
            let mut b = [0u8; 16];
            cred_rng.fill(&mut b);
            uuid::Builder::from_random_bytes(b).into_uuid().to_string()
        });
        let client_secret = cfg.client_secret.unwrap_or_else(|| {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
            (0..40)
                .map(|_| ALPHABET[cred_rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        });

        let mut st = ErpState::at_rest();
        let items = match &cfg.catalogue {
            Catalogue::Generated { items } => {
                let skus: Vec<String> = (0..*items).map(seed::sku).collect();
                seed::sellable_items(cfg.seed, &skus, &codes, &mut ids)
            }
            Catalogue::Skus(skus) => seed::sellable_items(cfg.seed, skus, &codes, &mut ids),
            Catalogue::Rows(rows) => rows
                .iter()
                .map(|r| Item {
                    id: ids.guid(),
                    number: r.number.clone(),
                    display_name: r.description.clone(),
                    item_type: r.item_type,
                    blocked: false,
                    inventory: if r.item_type == ItemType::Inventory {
                        r.on_hand
                    } else {
                        0
                    },
                    reserved: 0,
                    unit_price_e5: r.unit_price_e5,
                    tax_code: r.tax_code.clone(),
                    last_modified: SimTime::ZERO,
                })
                .collect(),
        };
        for item in items {
            if !tax_rates.contains_key(&item.tax_code) {
                return Err(ErpSetupError::UnknownTaxCode {
                    item: item.number,
                    code: item.tax_code,
                    defined: codes.join(", "),
                });
            }
            st.insert_item(item);
        }
        for item in seed::service_items(&codes, &mut ids) {
            if !st.items.contains_key(&item.number) {
                st.insert_item(item);
            }
        }
        for a in seed::gl_accounts(&codes) {
            st.accounts.insert(a.number.clone(), a);
        }
        st.insert_customer(seed::default_customer(&mut ids, profile.orders.prices_include_tax));

        let inner = Inner {
            state: st,
            ids,
            tokens: TokenStore::new(profile.auth.token_ttl, cfg.seed),
            limiter: RateLimiter::new(profile.rate_limits.clone()),
            pool: WorkerPool::new(profile.pool.clone()),
            faults: FaultInjector::new(profile.faults.clone(), cfg.seed),
            fulfilment: Fulfilment::new(profile.fulfilment.clone(), cfg.seed),
            requests: 0,
        };
        Ok(ErpTwin {
            inner: Mutex::new(inner),
            profile,
            tax_rates,
            clock,
            log,
            stats: RequestStats::new(),
            company_id,
            client_id,
            client_secret,
        })
    }

    /// The OAuth client id and secret the token endpoint accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    /// The one company's id.
    pub fn company_id(&self) -> &str {
        &self.company_id
    }

    /// `/api/v2.0/companies({id})`: prefix of every resource path.
    pub fn api_base(&self) -> String {
        format!("/api/v2.0/companies({})", self.company_id)
    }

    pub fn profile(&self) -> &ErpProfile {
        &self.profile
    }

    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    pub fn log(&self) -> &ObservationLog {
        &self.log
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A handler never leaves the state half-written on purpose; keep serving after a panic elsewhere.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Traffic driver: a stock receipt (purchase delivery) of `qty` units.
    pub fn receive_stock(&self, sku: &str, qty: i64) -> Result<i64, ErpOpError> {
        self.move_stock(sku, qty, "receipt")
    }

    /// Traffic driver: an inventory adjustment (count, damage, …) by `delta`.
    pub fn adjust_stock(&self, sku: &str, delta: i64, reason: &str) -> Result<i64, ErpOpError> {
        self.move_stock(sku, delta, &format!("adjustment: {reason}"))
    }

    fn move_stock(&self, sku: &str, delta: i64, reason: &str) -> Result<i64, ErpOpError> {
        let now = self.clock.now();
        let mut g = self.lock();
        self.post_due(&mut g, now);
        let item = g
            .state
            .items
            .get_mut(sku)
            .ok_or_else(|| ErpOpError::UnknownItem(sku.to_string()))?;
        if item.item_type != ItemType::Inventory {
            return Err(ErpOpError::NotInventory(sku.to_string()));
        }
        let before = item.inventory;
        item.inventory += delta;
        item.last_modified = now;
        let after = item.inventory;
        self.log.record(
            now,
            System::Erp,
            Event::ErpStockMoved {
                sku: sku.to_string(),
                before,
                after,
                reason: reason.to_string(),
            },
        );
        Ok(after)
    }

    /// Traffic driver: blocks or unblocks an item (orders for blocked items are rejected).
    pub fn set_item_blocked(&self, sku: &str, blocked: bool) -> Result<(), ErpOpError> {
        let now = self.clock.now();
        let mut g = self.lock();
        let item = g
            .state
            .items
            .get_mut(sku)
            .ok_or_else(|| ErpOpError::UnknownItem(sku.to_string()))?;
        item.blocked = blocked;
        item.last_modified = now;
        Ok(())
    }

    /// Posts every shipment due by now; returns how many were posted.
    pub fn tick(&self) -> usize {
        let now = self.clock.now();
        let mut g = self.lock();
        self.post_due(&mut g, now)
    }

    /// When the next scheduled shipment falls due, if any.
    pub fn next_shipment_due(&self) -> Option<SimTime> {
        self.lock().fulfilment.next_due()
    }

    /// A copy of every record (after posting shipments due by now), for reconciliation.
    /// Sales orders held (for progress displays; no state is cloned).
    pub fn order_count(&self) -> usize {
        self.lock().state.orders.len()
    }

    /// Requests that came back before the `Retry-After` they were given had passed.
    pub fn retry_after_violations(&self) -> u64 {
        self.lock().limiter.retry_after_violations()
    }

    /// Available stock (on hand minus open order quantity) of every inventory
    /// item, without cloning the whole state (the traffic driver's ledger).
    pub fn available_stock(&self) -> std::collections::BTreeMap<String, i64> {
        let now = self.clock.now();
        let mut g = self.lock();
        self.post_due(&mut g, now);
        g.state
            .items
            .iter()
            .filter(|(_, i)| i.item_type == ItemType::Inventory)
            .map(|(sku, i)| (sku.clone(), i.available()))
            .collect()
    }

    /// Bytes written to the twin's row file of packed documents (0 without one).
    pub fn filed_bytes(&self) -> u64 {
        self.lock().state.filed_bytes()
    }

    /// The locked twin with every shipment due by now posted: what the
    /// state reads below see.
    fn settled(&self) -> MutexGuard<'_, Inner> {
        let now = self.clock.now();
        let mut g = self.lock();
        self.post_due(&mut g, now);
        g
    }

    /// Takes the twin's records out, leaving it empty: the end of a run
    /// reads them once and frees them.
    pub fn take_state(&self) -> ErpState {
        std::mem::take(&mut self.settled().state)
    }

    /// Runs `f` on the state as [`ErpTwin::snapshot`] would return it, without
    /// cloning it (the twin is locked meanwhile).
    pub fn with_state<R>(&self, f: impl FnOnce(&ErpState) -> R) -> R {
        f(&self.settled().state)
    }

    /// A copy of the state (tests; documents at rest are decoded into it).
    pub fn snapshot(&self) -> ErpState {
        self.settled().state.clone()
    }

    fn company_json(&self) -> Value {
        json!({
            "id": self.company_id,
            "systemVersion": "25.0.0.0",
            "timestamp": 0,
            "name": self.profile.api.company_name,
            "displayName": self.profile.api.company_name,
            "businessProfileId": "",
            "systemCreatedAt": "2026-01-01T00:00:00Z",
        })
    }

    fn epoch(&self) -> OffsetDateTime {
        self.clock.epoch()
    }
}

#[cfg(test)]
mod tests;
