//! Time to consistency of a full inventory push of 20,000 SKUs into a Shopware
//! twin under `mocks/shopware/self-hosted-6.6.toml`: sync batches against one
//! PATCH per SKU, measured in the same run.
//!
//! Time to consistency is measured at the twin: from the start of the push to
//! the last stock write the twin observed, in scenario time; every SKU is then
//! checked to hold its target figure. The ERP side is an in-process item list
//! (the push strategy is what is compared).
//!
//! Run: `cargo bench --bench inventory_push` (SKUS=N, SPEED=X to change).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synctwin::clock::{ScaledClock, SharedClock, SimTime, Speed};
use synctwin::engine::backoff::RetryPolicy;
use synctwin::engine::http::shopware::ShopwareClient;
use synctwin::engine::http::CallError;
use synctwin::engine::inventory::{inventory_once, InventoryConfig, PushStrategy};
use synctwin::engine::mapping::OrderDraft;
use synctwin::engine::ports::{ErpApi, ErpItem, ScaledPause};
use synctwin::engine::state::EngineState;
use synctwin::engine::stock_policy::StockPolicy;
use synctwin::observe::{Event, ObservationLog};
use synctwin::twin::shopware::{Credentials, ShopwareProfile, ShopwareTwin};

struct Items(Vec<ErpItem>);

impl ErpApi for Items {
    async fn find_order(&self, _: &str) -> Result<Option<String>, CallError> {
        Ok(None)
    }
    async fn create_order(&self, _: &OrderDraft) -> Result<String, CallError> {
        Ok(String::new())
    }
    async fn items_since(&self, _: Option<&str>) -> Result<Vec<ErpItem>, CallError> {
        Ok(self.0.clone())
    }
    async fn shipments_since(&self, _: Option<&str>) -> Result<Vec<synctwin::engine::ports::Shipment>, CallError> {
        Ok(Vec::new())
    }
}

struct Outcome {
    scenario: Duration,
    wall: Duration,
    requests: u32,
    retries: u32,
    consistent: usize,
}

async fn run(skus: usize, speed: f64, cfg: InventoryConfig) -> Outcome {
    let profile = ShopwareProfile::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mocks/shopware/self-hosted-6.6.toml"
    )))
    .unwrap();
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(speed).unwrap()));
    let creds = Credentials::new("SWIABENCH", "bench-secret");
    let twin = ShopwareTwin::new(
        profile,
        common::shop(skus),
        creds,
        1,
        clock.clone(),
        ObservationLog::new(),
    );
    let served = synctwin::twin::http::spawn(twin.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = ShopwareClient::new(
        &served.base_url(),
        "SWIABENCH",
        "bench-secret",
        clock.clone(),
        Duration::from_secs(120),
    );
    let items = Items(
        (0..skus)
            .map(|i| ErpItem {
                number: format!("SW{}", 10000 + i),
                inventory: true,
                on_hand: 7 + (i % 13) as i64,
                available: 7 + (i % 13) as i64,
                modified: "2026-11-27T00:00:00Z".into(),
            })
            .collect(),
    );
    let state = EngineState::in_memory().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let start = clock.now();
    let wall = Instant::now();
    let report = inventory_once(
        &client,
        &items,
        &ScaledPause(clock.clone()),
        &state,
        &cfg,
        &RetryPolicy::default(),
        &mut rng,
        true,
    )
    .await
    .unwrap();
    let wall = wall.elapsed();
    let last = twin
        .observations()
        .snapshot()
        .iter()
        .filter(|o| matches!(o.event, Event::StockWritten { .. }))
        .map(|o| o.at)
        .max()
        .unwrap_or(SimTime::ZERO);
    let consistent = items
        .0
        .iter()
        .filter(|i| twin.stock_of(&i.number).map(|s| s.0) == Some(i.on_hand))
        .count();
    served.shutdown().await;
    Outcome {
        scenario: last.saturating_sub(start),
        wall,
        requests: report.requests,
        retries: report.retries,
        consistent,
    }
}

fn main() {
    let skus: usize = std::env::var("SKUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let speed: f64 = std::env::var("SPEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let careful = InventoryConfig {
        batch_size: 250,
        concurrency: 4,
        policy: StockPolicy::OnHand,
        strategy: PushStrategy::SyncBatches,
        indexing: None,
        flag_stale_closeouts: false,
        skip_unchanged: false,
    };
    let per_sku = InventoryConfig {
        strategy: PushStrategy::PerSkuPatch,
        ..careful.clone()
    };
    println!("full push of {skus} SKUs, profile self-hosted-6.6, speed {speed}x, 4 requests in flight");
    println!(
        "{:<28} {:>16} {:>10} {:>9} {:>8} {:>11}",
        "strategy", "consistent after", "wall", "requests", "retries", "consistent"
    );
    let mut results = Vec::new();
    for (name, cfg) in [("sync batches of 250", careful), ("one PATCH per SKU", per_sku)] {
        let o = rt.block_on(run(skus, speed, cfg));
        println!(
            "{:<28} {:>14.1} s {:>8.1} s {:>9} {:>8} {:>6}/{}",
            name,
            o.scenario.as_secs_f64(),
            o.wall.as_secs_f64(),
            o.requests,
            o.retries,
            o.consistent,
            skus
        );
        results.push(o);
    }
    println!(
        "per-SKU PATCH takes {:.1}x the scenario time of sync batches to reach consistency",
        results[1].scenario.as_secs_f64() / results[0].scenario.as_secs_f64()
    );
}
