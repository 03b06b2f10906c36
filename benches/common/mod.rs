//! Shared bench fixtures: a seeded-size shop built through the public API,
//! and a bare hyper handler as the same-run baseline.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use synctwin::clock::{ScaledClock, SharedClock, Speed};
use synctwin::observe::ObservationLog;
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::{states, Credentials, ShopwareProfile, ShopwareTwin};

pub const TAX: &str = "7a0b4e2c4c6f4a0e9b1f3c2d5e6f7a8b";

/// A store with `n` products SW10000.. and the state machines.
pub fn shop(n: usize) -> Store {
    let mut s = Store::new();
    states::seed(&mut s, "2026-11-27T00:00:00.000+00:00");
    s.put(
        "tax",
        json!({"id": TAX, "taxRate": 19.0, "name": "Standard", "apiAlias": "tax"})
            .as_object()
            .unwrap()
            .clone(),
    );
    for i in 0..n {
        let row = json!({
            "id": format!("{:032x}", 0x1000 + i), "productNumber": format!("SW{}", 10000 + i), "stock": 100,
            "availableStock": 100, "available": true, "isCloseout": false, "minPurchase": 1, "active": true, "sales": 0,
            "name": format!("Product {i}"), "taxId": TAX, "parentId": null, "customFields": {},
            "price": [{"currencyId": "b7d2554b0ce847cd82f3ac9bd1c0dfca", "gross": 11.9, "net": 10.0, "linked": true}],
            "createdAt": "2026-11-27T00:00:00.000+00:00", "updatedAt": null, "apiAlias": "product"
        });
        s.put("product", row.as_object().unwrap().clone());
    }
    s
}

/// A profile with no service time, rate limit or fault: measures the twin's own cost.
pub fn raw_profile() -> ShopwareProfile {
    let mut p = ShopwareProfile::default_profile();
    p.rate_limits.clear();
    p.faults = Default::default();
    p.pool.workers = 10_000;
    p.pool.queue = 10_000;
    let z = std::time::Duration::ZERO;
    p.service.base = z;
    p.service.per_row_read = z;
    p.service.per_record_write = z;
    p.service.per_record_indexing = z;
    p.service.token = z;
    p.service.transition = z;
    p
}

pub fn twin(n: usize) -> Arc<ShopwareTwin> {
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(1.0).unwrap()));
    let creds = Credentials::new("SWIABENCH", "bench-secret");
    ShopwareTwin::new(raw_profile(), shop(n), creds, 1, clock, ObservationLog::new())
}

/// The twin as `synctwin mock shopware` builds it for long runs: a bounded
/// observation log, since nobody drains a standalone server's observations.
pub fn standalone_twin(n: usize) -> Arc<ShopwareTwin> {
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(1.0).unwrap()));
    let creds = Credentials::new("SWIABENCH", "bench-secret");
    let log = ObservationLog::bounded(synctwin::twin::shopware::cli::STANDALONE_OBSERVATIONS);
    ShopwareTwin::new(raw_profile(), shop(n), creds, 1, clock, log)
}

pub fn sync_body(batch: usize, round: usize) -> Value {
    let payload: Vec<Value> = (0..batch)
        .map(|i| json!({"id": {"resolver": "product.number", "value": format!("SW{}", 10000 + (round * batch + i) % 1000)}, "stock": (round + i) % 50}))
        .collect();
    json!({"stock": {"entity": "product", "action": "upsert", "payload": payload}})
}

pub fn search_body() -> Value {
    json!({"limit": 25, "filter": [{"type": "range", "field": "stock", "parameters": {"gte": 10}}], "sort": [{"field": "productNumber"}]})
}

/// A bare hyper server with a stateful handler (mutex, map, JSON answer), as in
/// WIREMOCK.md's baseline: what any HTTP twin costs before its own logic.
pub async fn bare_hyper() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Mutex::new(std::collections::BTreeMap::<u64, u64>::new()));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let state = state.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let n = {
                            let mut m = state.lock().unwrap();
                            let e = m.entry(body.len() as u64).or_insert(0);
                            *e += 1;
                            *e
                        };
                        let out = serde_json::to_vec(&json!({"total": n, "data": []})).unwrap();
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(out)))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    addr
}

/// Resident memory of this process in KiB (Linux).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
