//! Reading a live shop through the Admin API the way a careful integration
//! does: one OAuth token (client credentials) reused until it nears expiry
//! ([`ShopwareClient`]), `POST /api/search/{entity}` with criteria, 1-based
//! pages of at most 500 rows, and throttled or failed reads retried with
//! backoff, honouring `Retry-After` ([`RetryPolicy`]). A refused connection or
//! refused credentials end the recording at once; errors name the endpoint.

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::clock::{rfc3339_ms, ScaledClock, Speed};
use crate::engine::backoff::{Decision, RetryPolicy};
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::http::CallError;

/// The Admin API's largest page.
pub const MAX_PAGE: usize = 500;

/// The associations an order is read with (also the criteria of a single read).
pub fn order_associations() -> Value {
    json!({"associations": {
        "lineItems": {},
        "deliveries": {"associations": {"shippingMethod": {}, "stateMachineState": {}}},
        "transactions": {"associations": {"stateMachineState": {}}},
        "orderCustomer": {"associations": {"customer": {}}},
        "billingAddress": {"associations": {"country": {}}},
        "stateMachineState": {},
        "currency": {},
    }})
}

/// Orders placed in `[from, to)`, oldest first (id breaks ties, so pages never overlap).
pub fn orders_criteria(from: OffsetDateTime, to: OffsetDateTime, page: usize, limit: usize) -> Value {
    let mut c = order_associations();
    c["filter"] = json!([{"type": "range", "field": "orderDateTime",
                          "parameters": {"gte": rfc3339_ms(from), "lt": rfc3339_ms(to)}}]);
    c["sort"] = json!([{"field": "orderDateTime", "order": "ASC"}, {"field": "id", "order": "ASC"}]);
    c["page"] = json!(page);
    c["limit"] = json!(limit);
    c["total-count-mode"] = json!(0);
    c
}

/// Orders placed at or after `to`, lightly: only what their stock takes need.
pub fn later_orders_criteria(to: OffsetDateTime, page: usize, limit: usize) -> Value {
    json!({
        "filter": [{"type": "range", "field": "orderDateTime", "parameters": {"gte": rfc3339_ms(to)}}],
        "associations": {"lineItems": {}, "stateMachineState": {}},
        "includes": {
            "order": ["id", "orderNumber", "lineItems", "stateMachineState"],
            "order_line_item": ["id", "type", "quantity", "payload"],
            "state_machine_state": ["technicalName"]
        },
        "sort": [{"field": "orderDateTime", "order": "ASC"}, {"field": "id", "order": "ASC"}],
        "page": page,
        "limit": limit,
        "total-count-mode": 0,
    })
}

/// Products with what stock, pricing and inheritance need.
pub fn products_criteria(page: usize, limit: usize) -> Value {
    json!({
        "associations": {"tax": {}},
        "includes": {
            "product": ["id", "parentId", "productNumber", "name", "taxId", "tax", "price", "stock",
                        "availableStock", "isCloseout", "minPurchase", "maxPurchase", "childCount",
                        "swagCustomizedProductsTemplateId", "extensions"],
            "tax": ["taxRate"]
        },
        "sort": [{"field": "id", "order": "ASC"}],
        "page": page,
        "limit": limit,
        "total-count-mode": 0,
    })
}

/// Every currency (a shop has a handful).
pub fn currencies_criteria(page: usize, limit: usize) -> Value {
    json!({"sort": [{"field": "id", "order": "ASC"}], "page": page, "limit": limit, "total-count-mode": 0})
}

/// What reading cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FetchStats {
    pub requests: u64,
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Time spent waiting before retries (the shop's time).
    pub waited: Duration,
}

/// A paging, retrying reader of one shop.
pub struct Fetcher {
    client: ShopwareClient,
    speed: Speed,
    policy: RetryPolicy,
    rng: ChaCha8Rng,
    pub stats: FetchStats,
}

impl Fetcher {
    /// `speed` is the shop's clock speed: 1 for a real shop, a twin's `--speed`
    /// for a twin (token lifetimes and `Retry-After` are in its time).
    pub fn new(base: &str, client_id: &str, client_secret: &str, timeout: Duration, speed: Speed) -> Self {
        let clock = std::sync::Arc::new(ScaledClock::start(speed));
        Fetcher {
            client: ShopwareClient::new(base, client_id, client_secret, clock, timeout),
            speed,
            policy: RetryPolicy::default(),
            rng: ChaCha8Rng::seed_from_u64(0x5ec0),
            stats: FetchStats::default(),
        }
    }

    /// One search, retried while the answer is transient (429, 5xx, timeouts).
    pub async fn search(&mut self, entity: &str, criteria: &Value) -> Result<Value, CallError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.stats.requests += 1;
            let e = match self.client.search(entity, criteria).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if e.status() == Some(429) {
                self.stats.throttled += 1;
            }
            // Nobody listening: no point in waiting for it.
            if matches!(&e, CallError::NoAnswer { reason, .. } if reason.starts_with("cannot connect")) {
                return Err(e);
            }
            match self.policy.decide(attempt, e.outcome(), e.retry_after(), &mut self.rng) {
                Decision::GiveUp => return Err(e),
                Decision::RetryAfter { wait, .. } => {
                    self.stats.retries += 1;
                    self.stats.waited += wait;
                    tokio::time::sleep(self.speed.to_wall(wait)).await;
                }
            }
        }
    }

    /// Reads every page of `criteria(page, limit)` and hands each page's rows to `each`.
    pub async fn pages(
        &mut self,
        entity: &str,
        limit: usize,
        criteria: impl Fn(usize, usize) -> Value,
        mut each: impl FnMut(Vec<Value>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut previous_first: Option<Value> = None;
        for page in 1.. {
            let v = self.search(entity, &criteria(page, limit)).await?;
            let rows = v.get("data").and_then(Value::as_array).cloned().ok_or_else(|| {
                anyhow::anyhow!("POST /api/search/{entity} answered without a data array (page {page})")
            })?;
            let first = rows.first().and_then(|r| r.get("id")).cloned();
            if first.is_some() && first == previous_first {
                anyhow::bail!("POST /api/search/{entity} returned page {page} twice: the shop ignores `page`, so it cannot be read in pages");
            }
            previous_first = first;
            let n = rows.len();
            each(rows)?;
            if n < limit {
                break;
            }
        }
        Ok(())
    }
}
