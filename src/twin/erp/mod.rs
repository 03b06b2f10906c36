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
//! - [`seed`] and [`csv`]: the default item master and the CSV loader;
//! - [`totals`]: money maths and rounding;
//! - [`odata`]: `$filter`, `$top`, `$skip`, `$orderby`, paging;
//! - [`errors`]: the OData error envelope;
//! - [`routes`]: routing and reads; `orders`, `customers`: the writes;
//!   [`batch`]: `$batch` with optional all-or-nothing isolation;
//! - [`fulfilment`]: the shipment schedule; [`cli`]: `synctwin mock erp`.

pub mod batch;
pub mod cli;
pub mod csv;
mod customers;
pub mod errors;
pub mod fulfilment;
pub mod odata;
mod orders;
mod payload;
pub mod profile;
pub mod routes;
pub mod seed;
pub mod state;
pub mod totals;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

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
use crate::observe::{Event, ObservationLog, RequestStats, SkuQty, System};
use crate::twin::capacity::WorkerPool;
use crate::twin::faults::{Fault, FaultInjector};
use crate::twin::ratelimit::RateLimiter;
use crate::twin::tokens::{TokenError, TokenStore};
use crate::twin::{Delivery, Twin, TwinRequest, TwinResponse};
use fulfilment::{Fulfilment, Part, Scheduled};
use odata::QueryOptions;
use state::{Ids, LineType};

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
        let company_id = ids.guid();
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

        let mut st = ErpState::default();
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
    pub fn snapshot(&self) -> ErpState {
        let now = self.clock.now();
        let mut g = self.lock();
        self.post_due(&mut g, now);
        g.state.clone()
    }

    fn post_due(&self, g: &mut Inner, now: SimTime) -> usize {
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
            let Some(order) = state.orders.get_mut(&order_number) else {
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
                order_id: order.id.clone(),
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

    fn error(&self, g: &mut Inner, label: &str, e: ODataError, delay: Duration) -> TwinResponse {
        let corr = g.ids.correlation();
        self.stats.count(label, e.status, 0);
        e.into_response(&corr).with_delay(delay)
    }

    fn wall(&self, d: Duration) -> Duration {
        self.clock.speed().to_wall(d)
    }

    /// `POST /oauth/token`: client credentials, form or JSON body (Entra ID's answer shape).
    fn token(&self, g: &mut Inner, req: &TwinRequest, now: SimTime, label: &str) -> TwinResponse {
        let delay = self.wall(self.profile.service_time.token);
        let is_json = req.header("content-type").is_some_and(|c| c.contains("json"));
        let pairs: Result<Vec<(String, String)>, ()> = if is_json {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(m)) => Ok(m
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                    .collect()),
                _ => Err(()),
            }
        } else {
            std::str::from_utf8(&req.body)
                .map_err(|_| ())
                .and_then(|s| payload::form_pairs(s).map_err(|_| ()))
        };
        let entra = |status: u16, error: &str, desc: &str| {
            self.stats.count(label, status, 0);
            TwinResponse::json(
                status,
                &json!({ "error": error, "error_description": desc, "error_codes": [], "timestamp": "", "trace_id": "", "correlation_id": "" }),
            )
            .with_delay(delay)
        };
        let Ok(pairs) = pairs else {
            return entra(
                400,
                "invalid_request",
                "AADSTS900144: The request body must contain the parameter 'grant_type'.",
            );
        };
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let client = get("client_id").unwrap_or_default();
        if let Err(refusal) = g
            .limiter
            .check(now, req.method.as_str(), &req.path, &req.peer.to_string(), client)
        {
            return self.throttled(g, label, refusal, now);
        }
        match get("grant_type") {
            Some("client_credentials") => {}
            Some(other) => {
                return entra(
                    400,
                    "unsupported_grant_type",
                    &format!("AADSTS70003: The app requested an unsupported grant type '{other}'."),
                )
            }
            None => {
                return entra(
                    400,
                    "invalid_request",
                    "AADSTS900144: The request body must contain the parameter 'grant_type'.",
                )
            }
        }
        if client != self.client_id {
            return entra(
                400,
                "unauthorized_client",
                &format!("AADSTS700016: Application with identifier '{client}' was not found in the directory."),
            );
        }
        if get("client_secret") != Some(self.client_secret.as_str()) {
            return entra(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.",
            );
        }
        let token = g.tokens.issue(client, now);
        let ttl = self.profile.auth.token_ttl.as_secs();
        self.stats.count(label, 200, 0);
        TwinResponse::json(
            200,
            &json!({ "token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token }),
        )
        .with_delay(delay)
    }

    fn throttled(
        &self,
        g: &mut Inner,
        label: &str,
        refusal: crate::twin::ratelimit::Refusal,
        now: SimTime,
    ) -> TwinResponse {
        let retry = refusal.retry_after.then(|| refusal.wait_secs());
        self.log.record(
            now,
            System::Erp,
            Event::Throttled {
                route: label.to_string(),
                status: refusal.status,
                retry_after_secs: retry,
            },
        );
        let code = refusal
            .code
            .clone()
            .unwrap_or_else(|| "Application_TooManyRequests".into());
        let e = ODataError::with_status(
            refusal.status,
            &code,
            format!(
                "Too many requests: the limit '{}' was exceeded. Retry after a cool-off period.",
                refusal.rule
            ),
        )
        .with_retry_after(retry);
        self.error(g, label, e, Duration::ZERO)
    }

    fn overloaded(&self, g: &mut Inner, label: &str, now: SimTime) -> TwinResponse {
        let o = &self.profile.overload;
        let retry = o.retry_after.then_some(1);
        self.log.record(
            now,
            System::Erp,
            Event::Throttled {
                route: label.to_string(),
                status: o.status,
                retry_after_secs: retry,
            },
        );
        let e = ODataError::with_status(
            o.status,
            &o.code,
            "The server is busy: too many requests are in process or queued. Retry after a cool-off period.",
        )
        .with_retry_after(retry);
        self.error(g, label, e, Duration::ZERO)
    }

    /// Admits a request to the pool and applies the operation timeouts.
    /// `Ok(finish)` or the refusal/timeout answer.
    fn admit(&self, g: &mut Inner, label: &str, now: SimTime, service: Duration) -> Result<SimTime, TwinResponse> {
        let slot = match g.pool.admit(now, service) {
            Ok(s) => s,
            Err(_) => return Err(self.overloaded(g, label, now)),
        };
        let latency = slot.latency(now);
        let api = &self.profile.api;
        if latency > api.gateway_timeout {
            return Err(self.timeout(g, label, now, 504, api.gateway_timeout, "gateway_timeout"));
        }
        if latency > api.operation_timeout {
            return Err(self.timeout(g, label, now, 408, api.operation_timeout, "operation_timeout"));
        }
        Ok(slot.finish)
    }

    fn timeout(
        &self,
        g: &mut Inner,
        label: &str,
        now: SimTime,
        status: u16,
        after: Duration,
        kind: &str,
    ) -> TwinResponse {
        self.log.record(
            now.plus(after),
            System::Erp,
            Event::Fault {
                route: label.to_string(),
                kind: kind.to_string(),
                status,
            },
        );
        let (code, msg) = if status == 408 {
            (
                "RequestTimeout",
                "The operation exceeded the operation timeout and was cancelled.",
            )
        } else {
            ("GatewayTimeout", "The gateway did not receive a response in time.")
        };
        let e = ODataError::with_status(status, code, msg);
        let delay = self.wall(after);
        self.error(g, label, e, delay)
    }

    fn get(
        &self,
        g: &mut Inner,
        req: &TwinRequest,
        r: &Resource,
        opts: &QueryOptions,
        label: &str,
        now: SimTime,
    ) -> TwinResponse {
        let ctx = routes::ReadCtx {
            epoch: self.epoch(),
            max_page: self.profile.api.max_page_size,
            host: req.header("host"),
            path: &req.path,
            company_id: &self.company_id,
            company: self.company_json(),
        };
        let answer = match routes::read(&g.state, r, opts, &ctx) {
            Ok(a) => a,
            Err(e) => {
                let delay = self.wall(self.profile.service_time.base);
                return self.error(g, label, e, delay);
            }
        };
        let st = &self.profile.service_time;
        let service = st.base + st.per_entity_read * answer.entities as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        if g.faults.draw_read() == Some(Fault::Timeout) {
            let after = g.faults.config().timeout_after;
            return self.timeout(g, label, now, 504, after, "timeout");
        }
        self.stats.count(label, 200, 0);
        TwinResponse::json_typed(
            200,
            &answer.body,
            "application/json; odata.metadata=minimal; odata.streaming=true",
        )
        .with_delay(self.wall(finish.saturating_sub(now)))
    }

    /// `POST $batch`: one admission for the whole batch, then the operations in order.
    fn batch(&self, g: &mut Inner, req: &TwinRequest, label: &str, now: SimTime) -> TwinResponse {
        let base_delay = self.wall(self.profile.service_time.base);
        let ops = match payload::parse_json(&req.body).and_then(|b| batch::parse(&b)) {
            Ok(ops) => ops,
            Err(e) => return self.error(g, label, e, base_delay),
        };
        let st = &self.profile.service_time;
        let lines: usize = ops.iter().map(batch::Op::lines).sum();
        let service = st.base * ops.len().max(1) as u32 + st.per_line * lines as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        let isolated = req
            .header("isolation")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("snapshot"));
        let ctx = Ctx {
            profile: &self.profile,
            tax_rates: &self.tax_rates,
            log: &self.log,
            at: finish,
        };
        let env = batch::Env {
            company_id: &self.company_id,
            host: req.header("host"),
            company: self.company_json(),
            max_page: self.profile.api.max_page_size,
            epoch: self.epoch(),
        };
        let (responses, records) = batch::execute(g, &ctx, &env, &ops, isolated);
        self.stats.count(label, 200, records);
        TwinResponse::json(200, &json!({ "responses": responses })).with_delay(self.wall(finish.saturating_sub(now)))
    }

    fn post(
        &self,
        g: &mut Inner,
        req: &TwinRequest,
        r: &Resource,
        opts: &QueryOptions,
        label: &str,
        now: SimTime,
    ) -> TwinResponse {
        let base_delay = self.wall(self.profile.service_time.base);
        let body = match payload::parse_json(&req.body) {
            Ok(b) => b,
            Err(e) => {
                if *r == Resource::SalesOrders {
                    self.log.record(
                        now,
                        System::Erp,
                        Event::ErpOrderRejected {
                            external_document_number: String::new(),
                            code: e.code.clone(),
                            message: e.message.clone(),
                        },
                    );
                }
                return self.error(g, label, e, base_delay);
            }
        };
        let lines = body
            .get("salesOrderLines")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let st = &self.profile.service_time;
        let service = st.base + st.per_line * lines as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        let delay = self.wall(finish.saturating_sub(now));
        let ctx = Ctx {
            profile: &self.profile,
            tax_rates: &self.tax_rates,
            log: &self.log,
            at: finish,
        };
        match r {
            Resource::SalesOrders => {
                let fault = g.faults.draw_write(lines);
                let after = g.faults.config().timeout_after;
                match fault {
                    Some(Fault::Timeout) => return self.timeout(g, label, now, 504, after, "timeout"),
                    Some(Fault::Deadlock) => {
                        self.log.record(
                            finish,
                            System::Erp,
                            Event::Fault {
                                route: label.to_string(),
                                kind: "deadlock".into(),
                                status: 500,
                            },
                        );
                        let e = ODataError::new(
                            "Internal_ServerError",
                            "The operation could not complete because a record in the Sales Header table was locked by another user.",
                        );
                        return self.error(g, label, e, delay);
                    }
                    _ => {}
                }
                let posted = match orders::post(g, &ctx, &body) {
                    Ok(p) => p,
                    Err(e) => return self.error(g, label, e, delay),
                };
                match fault {
                    Some(Fault::CommitThenTimeout) => {
                        return self.timeout(
                            g,
                            label,
                            now,
                            504,
                            after.max(finish.saturating_sub(now)),
                            "commit_then_timeout",
                        )
                    }
                    Some(Fault::CommitThenDrop) => {
                        self.log.record(
                            finish,
                            System::Erp,
                            Event::Fault {
                                route: label.to_string(),
                                kind: "commit_then_drop".into(),
                                status: 0,
                            },
                        );
                        self.stats.count(label, 0, posted.lines);
                        let mut resp = TwinResponse::new(504).with_delay(delay);
                        resp.delivery = Delivery::Drop;
                        return resp;
                    }
                    _ => {}
                }
                let order = &g.state.orders[&posted.number];
                let v = order.to_json(self.epoch(), opts.expands("salesOrderLines"));
                self.stats.count(label, posted.status, posted.lines);
                TwinResponse::json_typed(
                    posted.status,
                    &v,
                    "application/json; odata.metadata=minimal; odata.streaming=true",
                )
                .with_header("location", format!("{}/salesOrders({})", self.api_base(), order.id))
                .with_delay(delay)
            }
            Resource::Customers => match customers::post(g, &ctx, &body) {
                Ok(number) => {
                    let v = g.state.customers[&number].to_json(self.epoch());
                    self.stats.count(label, 201, 1);
                    TwinResponse::json_typed(
                        201,
                        &v,
                        "application/json; odata.metadata=minimal; odata.streaming=true",
                    )
                    .with_delay(delay)
                }
                Err(e) => self.error(g, label, e, delay),
            },
            _ => self.error(
                g,
                label,
                ODataError::new("BadRequest_MethodNotAllowed", "The resource does not support POST."),
                base_delay,
            ),
        }
    }
}

impl Twin for ErpTwin {
    fn name(&self) -> &'static str {
        "erp"
    }

    fn handle(&self, req: TwinRequest) -> TwinResponse {
        let now = self.clock.now();
        let mut guard = self.lock();
        let g = &mut *guard;
        self.post_due(g, now);
        g.requests += 1;
        if g.requests % 4096 == 0 {
            g.limiter.prune(now);
        }
        let method = req.method.as_str().to_string();
        let resource = match routes::classify(&req.path, &self.company_id) {
            Ok(r) => r,
            Err(e) => return self.error(g, &format!("{method} (unrouted)"), e, Duration::ZERO),
        };
        let label = format!("{method} {}", resource.pattern());
        if !resource.allows(&method) {
            let e = ODataError::new(
                "BadRequest_MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            );
            return self.error(g, &label, e, Duration::ZERO);
        }
        if resource == Resource::Token {
            return self.token(g, &req, now, &label);
        }
        let client = match g.tokens.validate(req.bearer(), now) {
            Ok(c) => c.to_string(),
            Err(why) => {
                let msg = match why {
                    TokenError::Missing => "The server has rejected the client credentials: no bearer token was sent.",
                    TokenError::Unknown => "The server has rejected the client credentials.",
                    TokenError::Expired => "The server has rejected the client credentials: the token is expired.",
                };
                return self.error(
                    g,
                    &label,
                    ODataError::new("Authentication_InvalidCredentials", msg),
                    Duration::ZERO,
                );
            }
        };
        if let Err(refusal) = g.limiter.check(now, &method, &req.path, &req.peer.to_string(), &client) {
            return self.throttled(g, &label, refusal, now);
        }
        let opts = match QueryOptions::parse(req.query.as_deref()) {
            Ok(o) => o,
            Err(e) => return self.error(g, &label, e, Duration::ZERO),
        };
        if resource == Resource::Batch {
            self.batch(g, &req, &label, now)
        } else if method == "GET" {
            self.get(g, &req, &resource, &opts, &label, now)
        } else {
            self.post(g, &req, &resource, &opts, &label, now)
        }
    }

    fn max_body_bytes(&self) -> usize {
        self.profile.api.max_body_bytes
    }

    fn body_too_large(&self, req: &TwinRequest, limit: usize) -> TwinResponse {
        let mut g = self.lock();
        let label = match routes::classify(&req.path, &self.company_id) {
            Ok(r) => format!("{} {}", req.method.as_str(), r.pattern()),
            Err(_) => format!("{} (unrouted)", req.method.as_str()),
        };
        let e = ODataError::new(
            "BadRequest_RequestEntityTooLarge",
            format!("The request body is larger than the limit of {limit} bytes."),
        );
        self.error(&mut g, &label, e, Duration::ZERO)
    }
}

#[cfg(test)]
mod tests;
