//! `run` end to end: twins, traffic driver and the reference engine on one
//! clock, then measurement and reconciliation at the twins.

use std::time::Duration;

use serde_json::json;
use synctwin::clock::{SimTime, Speed};
use synctwin::engine::config::EngineConfig;
use synctwin::run::driver::Traffic;
use synctwin::run::orchestrate::{execute, EngineMode, RunOutcome, RunSetup};
use synctwin::twin::erp::{Catalogue, ErpProfile};
use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::ShopwareProfile;

/// 40 orders of plain products over one scenario hour, and two receipts.
fn traffic(skus: &[String]) -> Vec<Traffic> {
    let mut t = Vec::new();
    for i in 0..40u64 {
        let cart = serde_json::from_value(json!({
            "customer": {"email": format!("c{i}@example.com"), "firstName": "C", "lastName": "D", "guest": i % 4 == 0,
                         "street": "S 1", "zipcode": "1", "city": "C"},
            "lines": [{"type": "product", "productNumber": skus[i as usize % skus.len()], "quantity": 1 + i % 2}],
            "shippingGross": 4.9
        }))
        .unwrap();
        t.push(Traffic::PlaceOrder {
            at: SimTime::from_secs_f64(i as f64 * 85.0 + 10.0),
            cart: Box::new(cart),
        });
        if i == 20 {
            t.push(Traffic::ErpReceipt {
                at: SimTime::from_secs_f64(i as f64 * 85.0 + 20.0),
                sku: skus[0].clone(),
                qty: 50,
            });
        }
    }
    t
}

/// Orders polled every minute, stock every two minutes.
fn default_config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.intervals.orders = Duration::from_secs(60);
    config.intervals.inventory = Duration::from_secs(120);
    config
}

async fn run_at(speed: f64) -> RunOutcome {
    run_with(speed, default_config()).await
}

async fn run_with(speed: f64, config: EngineConfig) -> RunOutcome {
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 40,
            orders: 0,
            seed: 3,
        },
    );
    let all: Vec<String> = store
        .rows("product")
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .collect();
    let plain: Vec<String> = all
        .iter()
        .filter(|n| !n.contains('.') && n[2..].parse::<u32>().is_ok_and(|x| x % 10 >= 6))
        .cloned()
        .collect();
    let setup = RunSetup {
        name: "run-test".into(),
        seed: 3,
        duration: Duration::from_secs(3600),
        speed: Speed::new(speed).unwrap(),
        shop_profile: ShopwareProfile::default_profile(),
        erp_profile: ErpProfile::business_central(),
        shop_store: store,
        erp_catalogue: Catalogue::Skus(all),
        engine: EngineMode::Reference {
            config: Box::new(config),
            name: "careful".into(),
        },
        interval: Duration::from_secs(300),
        drain_limit: Duration::from_secs(1800),
    };
    execute(setup, traffic(&plain).into_iter().map(Ok), |_| {}, |_| {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_exports_every_order_once_and_measures_at_the_twins() {
    let out = run_at(600.0).await;
    let r = &out.report;
    // Customers only buy what Shopware shows in stock: every basket is placed or
    // counted as not bought, and every placed order reaches the ERP once.
    let placed = out.driver.orders_placed;
    assert_eq!(placed + out.driver.not_bought_out_of_stock, 40);
    assert!(placed >= 30, "most baskets are in stock: {placed}");
    assert_eq!(
        out.driver.oversell_events, 0,
        "honest customers on a careful engine never oversell"
    );
    assert_eq!(
        (r.reconciliation.shop_orders, r.reconciliation.erp_orders),
        (placed, placed)
    );
    assert_eq!(
        (r.reconciliation.missing_orders, r.reconciliation.duplicated_orders),
        (0, 0)
    );
    assert!(
        r.reconciliation.stock_mismatches.is_empty(),
        "{:?}",
        r.reconciliation.stock_mismatches
    );
    assert_eq!(
        r.latency.order_export.count, placed,
        "every export measured at the twins"
    );
    // Orders are polled every scenario minute: no export takes much longer.
    assert!(
        r.latency.order_export.p95_ms <= 120_000.0,
        "{:?}",
        r.latency.order_export
    );
    assert_eq!(r.latency.stock_sync.count, 1, "the receipt reached Shopware");
    assert!(r.rate_limits.endpoints["shopware"].contains_key("POST /api/search/order"));
    assert_eq!(r.timeline.iter().map(|p| p.orders_placed).sum::<u64>(), placed);
    assert!(r.harness.achieved_speed > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_on_hand_resurrects_sold_units_and_the_careful_policy_does_not() {
    let mut naive = default_config();
    naive.inventory.policy = synctwin::engine::stock_policy::StockPolicy::OnHand;
    // Export rarely, push stock often: orders sit in Shopware while stock is pushed.
    naive.intervals.inventory = Duration::from_secs(60);
    let mut slow_export = naive.clone();
    slow_export.intervals.orders = Duration::from_secs(900);
    let naive_run = run_with(600.0, slow_export.clone()).await;
    let mut careful = slow_export;
    careful.inventory.policy = synctwin::engine::stock_policy::StockPolicy::AvailableMinusUnacknowledged { buffer: 0 };
    let careful_run = run_with(600.0, careful).await;
    let (n, c) = (
        naive_run.report.reconciliation.resurrected_units,
        careful_run.report.reconciliation.resurrected_units,
    );
    assert!(n > 0, "the naive push puts sold units back");
    assert!(c < n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_at_two_speeds_agrees_on_every_count() {
    let (a, b) = (run_at(300.0).await, run_at(1200.0).await);
    let (ra, rb) = (&a.report.reconciliation, &b.report.reconciliation);
    assert_eq!(a.driver, b.driver);
    assert_eq!(
        (ra.shop_orders, ra.erp_orders, ra.missing_orders, ra.duplicated_orders),
        (rb.shop_orders, rb.erp_orders, rb.missing_orders, rb.duplicated_orders)
    );
    assert_eq!(ra.stock_mismatches, rb.stock_mismatches);
    assert_eq!(ra.oversold_units, rb.oversold_units);
    assert_eq!(a.report.latency.order_export.count, b.report.latency.order_export.count);
    assert_eq!(ra.total_delta_gross, rb.total_delta_gross);
}
