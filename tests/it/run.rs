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

/// 40 orders over one scenario hour, each of its own plain product, and a receipt.
///
/// One order per SKU, from minute 5 on: no order can race a stock push of its own
/// SKU (that push follows its export), so the careful engine's stock figures do
/// not depend on how long its own ticks take, which the speed stretches.
fn traffic(skus: &[String]) -> Vec<Traffic> {
    assert!(skus.len() >= 40, "one SKU per order: {}", skus.len());
    let mut t = Vec::new();
    for i in 0..40u64 {
        let cart = serde_json::from_value(json!({
            "customer": {"email": format!("c{i}@example.com"), "firstName": "C", "lastName": "D", "guest": i % 4 == 0,
                         "street": "S 1", "zipcode": "1", "city": "C"},
            "lines": [{"type": "product", "productNumber": skus[i as usize], "quantity": 1 + i % 2}],
            "shippingGross": 4.9
        }))
        .unwrap();
        t.push(Traffic::PlaceOrder {
            at: SimTime::from_secs_f64(300.0 + i as f64 * 80.0),
            cart: Box::new(cart),
        });
        if i == 20 {
            t.push(Traffic::ErpReceipt {
                at: SimTime::from_secs_f64(300.0 + i as f64 * 80.0 + 10.0),
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
            products: 200,
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

/// The reconciliation with its lists in a stable order, so two runs compare field by field.
fn normalised(r: &synctwin::report::model::Reconciliation) -> synctwin::report::model::Reconciliation {
    let mut r = r.clone();
    r.money_deltas.sort_by(|a, b| a.order_number.cmp(&b.order_number));
    r.stock_mismatches.sort_by(|a, b| a.sku.cmp(&b.sku));
    r.exceptions
        .sort_by(|a, b| (&a.owner, &a.category).cmp(&(&b.owner, &b.category)));
    r.stale_closeouts.sort();
    r.shipment_gaps.sort_by(|a, b| a.order_number.cmp(&b.order_number));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_at_two_speeds_agrees_on_every_count_and_gap() {
    let (a, b) = (run_at(300.0).await, run_at(1200.0).await);
    assert_eq!(a.driver, b.driver, "the same traffic was placed, refused and oversold");
    // Every count and every gap: orders missing, duplicated, orphaned; money and
    // tax outside tolerance, with the deltas; stock mismatches, oversells,
    // resurrected units; guests merged; stale closeouts; shipments not shown;
    // exceptions by category and owner.
    let (ra, rb) = (
        normalised(&a.report.reconciliation),
        normalised(&b.report.reconciliation),
    );
    assert_eq!(ra, rb);
    let (la, lb) = (&a.report.latency, &b.report.latency);
    assert_eq!(
        (la.order_export.count, la.stock_sync.count, la.shipment_sync.count),
        (lb.order_export.count, lb.stock_sync.count, lb.shipment_sync.count)
    );
    // The counts are the run's, not zeros that agree trivially.
    assert!(ra.erp_orders >= 30 && la.order_export.count == ra.erp_orders, "{ra:?}");
    assert_eq!(la.stock_sync.count, 1, "the receipt reached Shopware in both runs");
}
