//! The reference engine under faults, across both twins over HTTP: 429 storms,
//! deadlock 500s, commit-then-timeout, short-lived tokens, and the engine
//! killed and restarted mid-run. For each: after a drain, every Shopware order
//! is in the ERP exactly once (or parked with a reason) and the final stock in
//! Shopware matches the ERP's available stock.
//!
//! Time flows for real at a high speed factor (the engine's backoff sleeps and
//! the rate-limit windows must pass); loops are bounded, nothing sleeps to wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use synctwin::clock::{ScaledClock, SharedClock, Speed};
use synctwin::engine::config::EngineConfig;
use synctwin::engine::driver::Engine;
use synctwin::engine::http::erp::ErpClient;
use synctwin::engine::http::shopware::ShopwareClient;
use synctwin::engine::state::{EngineState, OutboxStatus};
use synctwin::engine::stock_policy::StockPolicy;
use synctwin::observe::{Event, ObservationLog};
use synctwin::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin};
use synctwin::twin::shopware::checkout::Cart;
use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::{Credentials, ShopwareProfile, ShopwareTwin};

use crate::helpers::{serve, Served, Transport};

const SPEED: f64 = 200.0;

struct World {
    shop: Arc<ShopwareTwin>,
    erp: Arc<ErpTwin>,
    clock: SharedClock,
    _servers: (Served, Served),
    shop_url: String,
    erp_url: String,
}

fn erp_profile(edit: impl Fn(String) -> String) -> ErpProfile {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mocks/erp/business-central.toml")).unwrap();
    ErpProfile::parse("test business-central", &edit(text)).unwrap()
}

async fn world(shop_profile: ShopwareProfile, erp: ErpProfile) -> World {
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(SPEED).unwrap()));
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 40,
            orders: 0,
            seed: 11,
        },
    );
    let skus: Vec<String> = store
        .rows("product")
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .collect();
    let creds = Credentials::new("SWIATEST", "shop-secret");
    let shop = ShopwareTwin::new(shop_profile, store, creds, 11, clock.clone(), ObservationLog::new());
    let mut cfg = ErpConfig::new(erp, 11);
    cfg.catalogue = Catalogue::Skus(skus);
    cfg.client_id = Some("erp-client".into());
    cfg.client_secret = Some("erp-secret".into());
    let erp = Arc::new(ErpTwin::new(cfg, clock.clone(), ObservationLog::new()).unwrap());
    let s1 = serve(shop.clone(), Transport::Hyper).await;
    let s2 = serve(erp.clone(), Transport::Hyper).await;
    let (shop_url, erp_url) = (s1.base.clone(), s2.base.clone());
    World {
        shop,
        erp,
        clock,
        _servers: (s1, s2),
        shop_url,
        erp_url,
    }
}

/// Plain products of the seeded catalogue (positions 6-9 of each block of ten).
fn sellable(w: &World) -> Vec<String> {
    let store = w.shop.read();
    let mut v: Vec<String> = store
        .rows("product")
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .filter(|n| !n.contains('.') && n[2..].parse::<u32>().is_ok_and(|x| x % 10 >= 6))
        .collect();
    v.sort();
    v
}

fn place(w: &World, n: usize) -> Vec<String> {
    let skus = sellable(w);
    (0..n)
        .map(|i| {
            let cart: Cart = serde_json::from_value(json!({
                "customer": {"email": format!("buyer{}@example.com", i % 7), "firstName": "B", "lastName": format!("{i}"), "guest": i % 3 == 0,
                             "street": "S 1", "zipcode": "10115", "city": "Berlin"},
                "lines": [{"type": "product", "productNumber": skus[i % skus.len()], "quantity": 1 + i % 3},
                          {"type": "product", "productNumber": skus[(i * 7 + 3) % skus.len()], "quantity": 1}],
                "shippingGross": 4.9
            }))
            .unwrap();
            w.shop.place_order(&cart).unwrap().order_number
        })
        .collect()
}

fn engine(w: &World, state: EngineState, cfg: EngineConfig) -> Engine<ShopwareClient, ErpClient> {
    let shop = ShopwareClient::new(
        &w.shop_url,
        "SWIATEST",
        "shop-secret",
        w.clock.clone(),
        Duration::from_secs(20),
    );
    let erp = ErpClient::new(
        &w.erp_url,
        "erp-client",
        "erp-secret",
        w.clock.clone(),
        Duration::from_secs(20),
    );
    Engine::new(shop, erp, state, cfg, w.clock.clone(), 7)
}

fn careful() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.export.page_size = 25;
    c.inventory.batch_size = 50;
    c.inventory.policy = StockPolicy::AvailableMinusUnacknowledged { buffer: 0 };
    c.retry.base = Duration::from_secs(2);
    c.retry.max_attempts = 12;
    c
}

/// Ticks until no order is pending and a full inventory pass has run after
/// the last export, at most `max_ticks` times.
async fn drain(e: &mut Engine<ShopwareClient, ErpClient>, w: &World, max_ticks: usize) {
    for _ in 0..max_ticks {
        e.tick().await.unwrap();
        let pending = e.state().outbox_with(OutboxStatus::Pending).unwrap().len();
        let read_all = w.shop.read().len("order") == e.state().outbox_count().unwrap();
        if pending == 0 && read_all {
            // One more full pass so the pushed figures see every acknowledgement;
            // done once it pushed everything.
            e.force_full_inventory();
            let r = e.tick().await.unwrap();
            if r.inventory.as_ref().is_some_and(|i| i.unpushed == 0) {
                return;
            }
        }
        // Let scenario time pass so throttling windows and intervals move on.
        let wall = w.clock.speed().to_wall(Duration::from_secs(60));
        tokio::time::sleep(wall).await;
    }
    panic!("the engine did not drain within {max_ticks} ticks");
}

/// Checks the end state with the reconciliation the reports use: nothing
/// duplicated or orphaned, every order in the ERP or parked with a reason, and
/// Shopware's stock equal to the ERP's available stock.
fn assert_exactly_once_and_stock_matches(w: &World, state: &EngineState, orders: &[String]) {
    use synctwin::reconcile::{erp_orders, reconcile, shop_orders};
    let erp = w.erp.snapshot();
    let shop = shop_orders(&w.shop.read());
    let shop_stock: BTreeMap<String, i64> = erp
        .items
        .keys()
        .filter_map(|sku| w.shop.stock_of(sku).map(|(s, _)| (sku.clone(), s)))
        .collect();
    let available: BTreeMap<String, i64> = erp
        .items
        .iter()
        .filter(|(_, i)| i.item_type.as_str() == "Inventory")
        .map(|(sku, i)| (sku.clone(), i.available()))
        .collect();
    let r = reconcile(&shop, &erp_orders(&erp), &shop_stock, &available);
    assert_eq!((r.duplicated_orders, r.orphaned_orders), (0, 0), "{r:?}");
    let parked: Vec<String> = state
        .exceptions(false)
        .unwrap()
        .iter()
        .map(|e| e.subject.clone())
        .collect();
    let in_erp: std::collections::BTreeSet<String> = erp
        .orders
        .values()
        .map(|o| o.external_document_number.clone())
        .collect();
    for n in orders {
        assert!(
            in_erp.contains(n.as_str()) || parked.contains(n),
            "order {n} is neither in the ERP nor parked"
        );
    }
    assert_eq!(
        r.missing_orders as usize,
        orders.iter().filter(|n| !in_erp.contains(n.as_str())).count()
    );
    assert!(
        r.stock_mismatches.is_empty(),
        "Shopware stock vs ERP available: {:?}",
        r.stock_mismatches
    );
    assert_eq!(
        r.orders_outside_tolerance,
        0,
        "the ERP's own totals agree with Shopware's: {:?}",
        r.money_deltas.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erp_429_storm_and_commit_then_timeout_still_give_exactly_once() {
    // A tiny sliding window (30 requests a minute) and one order post in five
    // committed and then answered with a gateway timeout.
    let erp = erp_profile(|t| {
        t.replace("limit = 6000", "limit = 30")
            .replace("commit_then_timeout = 0.0", "commit_then_timeout = 0.2")
            .replace("timeout_after = \"10m\"", "timeout_after = \"20s\"")
    });
    let w = world(ShopwareProfile::default_profile(), erp).await;
    let orders = place(&w, 30);
    let mut e = engine(&w, EngineState::in_memory().unwrap(), careful());
    drain(&mut e, &w, 80).await;
    assert_exactly_once_and_stock_matches(&w, e.state(), &orders);
    let stats = w.erp.stats().snapshot();
    let throttled: u64 = stats
        .values()
        .map(|r| r.by_status.get(&429).copied().unwrap_or(0))
        .sum();
    let timeouts: u64 = stats
        .values()
        .map(|r| r.by_status.get(&504).copied().unwrap_or(0))
        .sum();
    assert!(throttled > 0, "the storm happened");
    assert!(timeouts > 0, "commit-then-timeout happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_naive_engine_duplicates_orders_under_commit_then_timeout() {
    let erp = erp_profile(|t| {
        t.replace("commit_then_timeout = 0.0", "commit_then_timeout = 0.3")
            .replace("timeout_after = \"10m\"", "timeout_after = \"20s\"")
    });
    let w = world(ShopwareProfile::default_profile(), erp).await;
    place(&w, 20);
    let mut cfg = careful();
    cfg.export.lookup_before_create = false;
    let mut e = engine(&w, EngineState::in_memory().unwrap(), cfg);
    drain(&mut e, &w, 40).await;
    let mut per_ext: BTreeMap<String, usize> = BTreeMap::new();
    for o in w.erp.snapshot().orders.values() {
        *per_ext.entry(o.external_document_number.clone()).or_default() += 1;
    }
    assert!(
        per_ext.values().any(|c| *c > 1),
        "without a lookup, a lost answer duplicates the order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopware_deadlocks_and_short_tokens_still_converge() {
    let mut sp = ShopwareProfile::default_profile();
    sp.faults.deadlock_base = 0.3;
    sp.faults.deadlock_max = 0.5;
    sp.auth.token_ttl = Duration::from_secs(120);
    let erp = erp_profile(|t| t.replace("token_ttl = \"3599s\"", "token_ttl = \"150s\""));
    let w = world(sp, erp).await;
    let orders = place(&w, 25);
    // Small batches: many sync writes, each with a 30% deadlock chance.
    let mut cfg = careful();
    cfg.inventory.batch_size = 5;
    let mut e = engine(&w, EngineState::in_memory().unwrap(), cfg);
    drain(&mut e, &w, 80).await;
    assert_exactly_once_and_stock_matches(&w, e.state(), &orders);
    let deadlocks = w
        .shop
        .observations()
        .snapshot()
        .iter()
        .filter(|o| matches!(&o.event, Event::Fault { kind, .. } if kind == "deadlock"))
        .count();
    assert!(deadlocks > 0, "deadlocks happened and were retried");
    let sync = &w.shop.stats().snapshot()["POST /api/_action/sync"];
    assert!(sync.by_status.get(&500).copied().unwrap_or(0) > 0);
    let shop_401: u64 = w
        .shop
        .stats()
        .snapshot()
        .values()
        .map(|r| r.by_status.get(&401).copied().unwrap_or(0))
        .sum();
    assert_eq!(shop_401, 0, "tokens are renewed before they expire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_killed_mid_run_restarts_from_its_state_file_without_losing_or_duplicating() {
    let w = world(ShopwareProfile::default_profile(), erp_profile(|t| t)).await;
    let orders = place(&w, 40);
    let dir = std::env::temp_dir().join(format!("synctwin-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("engine.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        // First run: one tick exports the first page of 25, then the engine dies.
        let mut e = engine(&w, EngineState::open(&path).unwrap(), careful());
        e.tick().await.unwrap();
        assert_eq!(w.erp.snapshot().orders.len(), 25);
        // A post the engine made but never saw answered: pending in its outbox.
        e.state().begin(&orders[30], "unknown-id-gone", &[]).unwrap();
    }
    // More orders arrive while it is down.
    let later = place(&w, 5);
    let mut e = engine(&w, EngineState::open(&path).unwrap(), careful());
    drain(&mut e, &w, 40).await;
    let all: Vec<String> = orders.iter().chain(later.iter()).cloned().collect();
    assert_exactly_once_and_stock_matches(&w, e.state(), &all);
    assert_eq!(w.erp.snapshot().orders.len(), 45);
    std::fs::remove_dir_all(&dir).unwrap();
}
