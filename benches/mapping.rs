//! Order transform and mapping: orders as the Shopware twin's Admin API returns
//! them to the engine's export (`POST /api/search/order` with line items and the
//! order customer), mapped by the careful engine's rules into ERP-neutral drafts
//! (`engine::mapping::map_order`), and on into the Business Central `salesOrders`
//! body the ERP adapter posts (`sales_order_body`, serialised).
//!
//! The orders are the seeded shop's (every line-item kind: products, variants,
//! promotions, custom and credit lines, customized products with options; guests
//! and accounts). Parsing the search answer is the same-run baseline: the JSON an
//! engine must read anyway before it can map anything.
//!
//! Run: `cargo bench --bench mapping`.

mod common;

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use synctwin::clock::{ScaledClock, SharedClock, Speed};
use synctwin::engine::config::EngineConfig;
use synctwin::engine::http::erp::sales_order_body;
use synctwin::engine::mapping::map_order;
use synctwin::observe::ObservationLog;
use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::{Credentials, ShopwareTwin};
use synctwin::twin::{Twin, TwinRequest};

const ORDERS: usize = 200;

fn request(path: &str, token: Option<&str>, body: &Value) -> TwinRequest {
    TwinRequest::local(hyper::Method::POST, path, serde_json::to_vec(body).unwrap())
        .with_bearer(token)
        .with_header("content-type", "application/json")
        .with_header("accept", "application/json")
}

/// The export's search answer for the seeded shop's orders, as bytes.
fn search_answer() -> Vec<u8> {
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 300,
            orders: ORDERS,
            seed: 42,
        },
    );
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(1.0).unwrap()));
    let twin = ShopwareTwin::new(
        common::raw_profile(),
        store,
        Credentials::new("SWIABENCH", "bench-secret"),
        1,
        clock,
        ObservationLog::new(),
    );
    let body = json!({"grant_type": "client_credentials", "client_id": "SWIABENCH", "client_secret": "bench-secret"});
    let token: Value = serde_json::from_slice(&twin.handle(request("/api/oauth/token", None, &body)).body).unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let criteria = json!({
        "limit": ORDERS,
        "sort": [{"field": "orderNumber"}],
        "associations": {"lineItems": {}, "orderCustomer": {"associations": {"customer": {}}}}
    });
    let answer = twin.handle(request("/api/search/order", Some(&token), &criteria));
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    answer.body.to_vec()
}

fn bench_mapping(c: &mut Criterion) {
    let bytes = search_answer();
    let orders: Vec<Value> = serde_json::from_slice::<Value>(&bytes).unwrap()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(orders.len(), ORDERS);
    let careful = EngineConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/engine/careful.toml"))
        .expect("the careful engine loads");
    let mapping = careful.mapping;
    let mapped = orders.iter().filter(|o| map_order(o, &mapping).is_ok()).count();
    assert!(mapped * 2 > ORDERS, "most seeded orders map: {mapped}");
    let lines: usize = orders
        .iter()
        .filter_map(|o| o["lineItems"].as_array().map(Vec::len))
        .sum();
    eprintln!(
        "mapping: {ORDERS} orders, {lines} line items, {mapped} mappable, {} bytes of JSON",
        bytes.len()
    );

    let mut group = c.benchmark_group("mapping");
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.bench_function("parse_search_answer", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&bytes).unwrap())
    });
    group.bench_function("map_order", |b| {
        b.iter(|| orders.iter().filter(|o| map_order(o, &mapping).is_ok()).count())
    });
    group.bench_function("map_order_to_sales_order_json", |b| {
        b.iter(|| {
            let mut out = 0usize;
            for o in &orders {
                if let Ok(d) = map_order(o, &mapping) {
                    out += serde_json::to_vec(&sales_order_body(&d, "C00001")).unwrap().len();
                }
            }
            out
        })
    });
    group.finish();
}

criterion_group!(benches, bench_mapping);
criterion_main!(benches);
