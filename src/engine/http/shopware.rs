//! The engine's Shopware Admin API client: one cached token renewed before it
//! expires (or, to show F10, a token per request), JSON in and out, and every
//! failure classified. Works against the twin and a real shop alike.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{CallError, TokenStrategy};
use crate::clock::{SharedClock, SimTime};
use crate::engine::ports::Shown;

/// Renew this long before the token's expiry (scenario time).
const RENEW_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Token {
    value: String,
    expires: SimTime,
}

/// A Shopware Admin API client.
#[derive(Debug, Clone)]
pub struct ShopwareClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    clock: SharedClock,
    token: Arc<Mutex<Option<Token>>>,
    tokens_fetched: Arc<std::sync::atomic::AtomicU64>,
    /// productNumber -> product id, for the per-SKU PATCH strategy.
    ids: Arc<Mutex<std::collections::HashMap<String, String>>>,
    /// Client-side pacing (requests per scenario second), if configured.
    pacer: Option<Arc<crate::engine::pacing::Pacer>>,
    tokens: TokenStrategy,
}

impl ShopwareClient {
    /// `base` is the shop's root URL (`http://127.0.0.1:8000`); a trailing
    /// `/api` is accepted too.
    pub fn new(base: &str, client_id: &str, client_secret: &str, clock: SharedClock, timeout: Duration) -> Self {
        let base = base.trim_end_matches('/').trim_end_matches("/api").to_string();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("a TLS-free reqwest client always builds");
        ShopwareClient {
            http,
            base,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            clock,
            token: Arc::new(Mutex::new(None)),
            tokens_fetched: Arc::new(Default::default()),
            ids: Arc::new(Mutex::new(Default::default())),
            pacer: None,
            tokens: TokenStrategy::Cached,
        }
    }

    /// Reuses one token (the default) or fetches one per request (F10, naive).
    pub fn with_token_strategy(mut self, tokens: TokenStrategy) -> Self {
        self.tokens = tokens;
        self
    }

    /// Paces requests to at most `per_second` (scenario time).
    pub fn with_rate_limit(mut self, per_second: Option<f64>) -> Self {
        self.pacer = per_second.map(|r| Arc::new(crate::engine::pacing::Pacer::new(r)));
        self
    }

    /// Tokens fetched so far (a careful client fetches one per TTL).
    pub fn tokens_fetched(&self) -> u64 {
        self.tokens_fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn bearer(&self) -> Result<String, CallError> {
        let mut guard = self.token.lock().await;
        let now = self.clock.now();
        if let Some(t) = guard.as_ref().filter(|_| self.tokens == TokenStrategy::Cached) {
            if now.plus(RENEW_MARGIN) < t.expires {
                return Ok(t.value.clone());
            }
        }
        let endpoint = "POST /api/oauth/token";
        let body = json!({"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret});
        let resp = self
            .http
            .post(format!("{}/api/oauth/token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| super::no_answer(endpoint, &e))?;
        let v = super::read(endpoint, resp, super::Dialect::Shopware).await?;
        let value = v["access_token"]
            .as_str()
            .ok_or_else(|| super::protocol(endpoint, "no access_token in the token response"))?;
        let ttl = v["expires_in"].as_u64().unwrap_or(600);
        self.tokens_fetched.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *guard = Some(Token {
            value: value.to_string(),
            expires: now.plus(Duration::from_secs(ttl)),
        });
        Ok(value.to_string())
    }

    /// Sends a JSON request with the cached token; a 401 (token revoked or
    /// expired early) drops the token and tries once more with a new one.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, CallError> {
        let endpoint = format!("{method} {path}");
        for attempt in 0..2 {
            let token = self.bearer().await?;
            super::pace(&self.pacer, &self.clock).await;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{}", self.base, path))
                .bearer_auth(&token)
                .header("accept", "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| super::no_answer(&endpoint, &e))?;
            match super::read(&endpoint, resp, super::Dialect::Shopware).await {
                Err(CallError::Status { status: 401, .. }) if attempt == 0 => {
                    *self.token.lock().await = None;
                }
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    /// `POST /api/search/{entity}` with criteria.
    pub async fn search(&self, entity_url: &str, criteria: &Value) -> Result<Value, CallError> {
        self.call(
            reqwest::Method::POST,
            &format!("/api/search/{entity_url}"),
            Some(criteria),
            &[],
        )
        .await
    }

    /// `POST /api/_action/sync`. `indexing` sets `indexing-behavior` when given.
    pub async fn sync(&self, ops: &Value, indexing: Option<&str>) -> Result<Value, CallError> {
        let headers: Vec<(&str, &str)> = indexing.map(|i| ("indexing-behavior", i)).into_iter().collect();
        self.call(reqwest::Method::POST, "/api/_action/sync", Some(ops), &headers)
            .await
    }

    /// `PATCH /api/{entity}/{id}`.
    pub async fn patch(&self, entity_url: &str, id: &str, fields: &Value) -> Result<(), CallError> {
        self.call(
            reqwest::Method::PATCH,
            &format!("/api/{entity_url}/{id}"),
            Some(fields),
            &[],
        )
        .await
        .map(|_| ())
    }

    /// `POST /api/_action/{entity}/{id}/state/{action}`; returns the new state's technical name.
    pub async fn transition_with_mail(
        &self,
        entity: &str,
        id: &str,
        action: &str,
        send_mail: bool,
    ) -> Result<String, CallError> {
        let path = format!("/api/_action/{entity}/{id}/state/{action}");
        let v = self
            .call(reqwest::Method::POST, &path, Some(&json!({"sendMail": send_mail})), &[])
            .await?;
        Ok(v.get("technicalName")
            .or_else(|| v.pointer("/data/technicalName"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }
}

impl crate::engine::ports::ShopApi for ShopwareClient {
    async fn search_orders(&self, criteria: &Value) -> Result<Vec<Value>, CallError> {
        match self.search("order", criteria).await? {
            Value::Object(mut doc) => match doc.remove("data") {
                Some(Value::Array(orders)) => Ok(orders),
                _ => Ok(Vec::new()),
            },
            _ => Ok(Vec::new()),
        }
    }

    async fn push_stock(&self, op_key: &str, batch: &[(String, i64)], indexing: Option<&str>) -> Result<(), CallError> {
        let payload: Vec<Value> = batch
            .iter()
            .map(|(sku, stock)| json!({"id": {"resolver": "product.number", "value": sku}, "stock": stock}))
            .collect();
        let ops = json!({ op_key: {"entity": "product", "action": "upsert", "payload": payload} });
        self.sync(&ops, indexing).await.map(|_| ())
    }

    async fn delivery_of(&self, order_number: &str) -> Result<Option<crate::engine::ports::DeliveryRef>, CallError> {
        let criteria = json!({
            "filter": [{"type": "equals", "field": "order.orderNumber", "value": order_number}],
            "associations": {"stateMachineState": {}, "order": {"associations": {"stateMachineState": {}}}},
            "limit": 1
        });
        let v = self.search("order-delivery", &criteria).await?;
        let Some(d) = v.pointer("/data/0") else { return Ok(None) };
        let text = |p: &str| d.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Some(crate::engine::ports::DeliveryRef {
            order_id: text("/orderId"),
            order_state: text("/order/stateMachineState/technicalName"),
            delivery_id: text("/id"),
            delivery_state: text("/stateMachineState/technicalName"),
            tracking_codes: d
                .get("trackingCodes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        }))
    }

    async fn stale_closeouts(&self) -> Result<Vec<(String, i64)>, CallError> {
        let criteria = json!({
            "filter": [
                {"type": "equals", "field": "available", "value": false},
                {"type": "range", "field": "stock", "parameters": {"gt": 0}}
            ],
            "includes": {"product": ["productNumber", "stock", "available"]},
            "limit": 500
        });
        let rows = shown_products(&self.search("product", &criteria).await?);
        Ok(rows.into_iter().map(|(number, shown)| (number, shown.stock)).collect())
    }

    async fn stock_of(&self, skus: &[String]) -> Result<Vec<(String, Shown)>, CallError> {
        let criteria = json!({
            "filter": [{"type": "equalsAny", "field": "productNumber", "value": skus}],
            "includes": {"product": ["productNumber", "stock", "available"]},
            "limit": skus.len().max(1)
        });
        Ok(shown_products(&self.search("product", &criteria).await?))
    }

    async fn set_tracking(&self, delivery_id: &str, codes: &[String]) -> Result<(), CallError> {
        self.patch("order-delivery", delivery_id, &json!({"trackingCodes": codes}))
            .await
    }

    async fn transition(&self, entity: &str, id: &str, action: &str) -> Result<String, CallError> {
        self.transition_with_mail(entity, id, action, false).await
    }

    async fn patch_stock(&self, sku: &str, stock: i64) -> Result<(), CallError> {
        let cached = self.ids.lock().await.get(sku).cloned();
        let id = match cached {
            Some(id) => id,
            None => {
                let criteria =
                    json!({"filter": [{"type": "equals", "field": "productNumber", "value": sku}], "limit": 1});
                let v = self
                    .call(reqwest::Method::POST, "/api/search-ids/product", Some(&criteria), &[])
                    .await?;
                let Some(id) = v.pointer("/data/0").and_then(Value::as_str).map(str::to_string) else {
                    return Err(CallError::Status {
                        endpoint: "POST /api/search-ids/product".into(),
                        status: 404,
                        retry_after: None,
                        body: json!({"errors": [{"code": "FRAMEWORK__RESOURCE_NOT_FOUND", "detail": format!("no product with number {sku}")}]}),
                        summary: format!("no product with number {sku}"),
                    });
                };
                self.ids.lock().await.insert(sku.to_string(), id.clone());
                id
            }
        };
        self.patch("product", &id, &json!({"stock": stock})).await
    }
}

/// `(productNumber, stock and availability)` of a product search answer's rows.
fn shown_products(answer: &Value) -> Vec<(String, Shown)> {
    let rows = answer
        .get("data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    rows.iter()
        .filter_map(|r| {
            let shown = Shown {
                stock: r["stock"].as_i64().unwrap_or(0),
                available: r["available"].as_bool().unwrap_or(false),
            };
            Some((r["productNumber"].as_str()?.to_string(), shown))
        })
        .collect()
}
