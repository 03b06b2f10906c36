//! The engine's careful and naive strategies end to end, one failure mode each,
//! on both twins over HTTP with a manual scenario clock: what the naive setting
//! breaks is measured at the twins, and the careful one does not break it.
//! - F11: shipments in two parcels (transitions planned or blind, tracking
//!   codes added or replaced);
//! - F8: prices as shown or as rounded net unit prices, against an ERP that
//!   rounds tax per document;
//! - F2: a discount split across tax rates or booked at one.

use std::collections::BTreeMap;
use std::time::Duration;

use synctwin::clock::SimTime;
use synctwin::engine::config::EngineConfig;
use synctwin::engine::fulfilment::{Tracking, Transitions};
use synctwin::engine::mapping::{DiscountTax, PriceBasis};
use synctwin::reconcile::{erp_orders, reconcile, shipments, shop_orders};
use synctwin::report::model::Reconciliation;
use synctwin::twin::erp::profile::STRICT;
use synctwin::twin::erp::ErpProfile;
use synctwin::twin::shopware::ShopwareProfile;

use crate::helpers::ManualWorld;

fn every_tick_runs_every_flow() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.intervals.orders = Duration::from_secs(1);
    c.intervals.shipments = Duration::from_secs(1);
    c.intervals.inventory = Duration::from_secs(1);
    c
}

/// Every order ships in two parcels: the first 100 s after the ERP created it,
/// the rest 200 s later.
fn split_shipping() -> ErpProfile {
    let mut p = ErpProfile::business_central();
    p.fulfilment.delay_min = Duration::from_secs(100);
    p.fulfilment.delay_max = Duration::from_secs(100);
    p.fulfilment.partial_share = 1.0;
    p.fulfilment.second_delay_min = Duration::from_secs(200);
    p.fulfilment.second_delay_max = Duration::from_secs(200);
    p
}

/// Three two-line orders, exported, then both parcels synced; returns the
/// shipments out of sync at the end and the 400s of Shopware's transition routes.
async fn ship_in_two_parcels(cfg: EngineConfig) -> (u64, u64, Vec<String>) {
    let w = ManualWorld::start(ShopwareProfile::default_profile(), split_shipping(), 40).await;
    let mut e = w.engine(cfg);
    w.clock.set(SimTime::from_secs_f64(10.0));
    let orders: Vec<String> = (0..3)
        .map(|i| w.place(i, &[(w.plain[i].as_str(), 1), (w.plain[i + 3].as_str(), 1)]))
        .collect();
    // Export, first parcels, second parcels.
    for at in [60.0, 300.0, 600.0] {
        w.clock.set(SimTime::from_secs_f64(at));
        e.tick().await.unwrap();
    }
    assert_eq!(w.erp.snapshot().shipments.len(), 6, "two parcels per order");
    let (out_of_sync, _) = shipments::compare(
        &shipments::shop_deliveries(&w.shop.read()),
        &shipments::erp_fulfilments(&w.erp.snapshot()),
    );
    let refused: u64 = w
        .shop
        .stats()
        .snapshot()
        .iter()
        .filter(|(route, _)| route.contains("/state/"))
        .map(|(_, r)| r.by_status.get(&400).copied().unwrap_or(0))
        .sum();
    let states: Vec<String> = shipments::shop_deliveries(&w.shop.read())
        .into_iter()
        .filter(|d| orders.contains(&d.order_number))
        .map(|d| format!("{} {}", d.state, d.tracking_codes.len()))
        .collect();
    (out_of_sync, refused, states)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_transitions_follow_two_parcels_and_blind_ones_are_refused() {
    let (out_of_sync, refused, states) = ship_in_two_parcels(every_tick_runs_every_flow()).await;
    assert_eq!((out_of_sync, refused), (0, 0));
    assert_eq!(states, vec!["shipped 2"; 3], "both parcels' codes, delivery shipped");

    let mut naive = every_tick_runs_every_flow();
    naive.fulfilment.transitions = Transitions::Blind;
    naive.fulfilment.tracking = Tracking::Replace;
    naive.fulfilment.complete_orders = false;
    let (out_of_sync, refused, states) = ship_in_two_parcels(naive).await;
    // The second parcel's `ship` from `shipped` is refused, and its code replaced the first.
    assert_eq!((out_of_sync, refused), (3, 3));
    assert_eq!(states, vec!["shipped 1"; 3]);
}

/// Orders of three units of each plain product, exported to an ERP that rounds
/// tax once per document (strict.toml); the reconciliation of the end states.
async fn three_units_each(cfg: EngineConfig) -> Reconciliation {
    let strict = ErpProfile::parse("strict.toml", STRICT).unwrap();
    let w = ManualWorld::start(ShopwareProfile::default_profile(), strict, 80).await;
    let mut e = w.engine(cfg);
    w.clock.set(SimTime::from_secs_f64(10.0));
    for (i, sku) in w.plain.iter().enumerate() {
        w.place(i, &[(sku.as_str(), 3)]);
    }
    w.clock.set(SimTime::from_secs_f64(60.0));
    e.tick().await.unwrap();
    let shop = shop_orders(&w.shop.read());
    reconcile(
        &shop,
        &erp_orders(&w.erp.snapshot()),
        &BTreeMap::new(),
        &BTreeMap::new(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gross_prices_keep_the_totals_and_rounded_net_prices_lose_cents() {
    let careful = three_units_each(every_tick_runs_every_flow()).await;
    assert_eq!(careful.erp_orders, careful.shop_orders);
    assert_eq!(
        (careful.orders_outside_tolerance, careful.total_delta_gross),
        (0, 0.0),
        "{:?}",
        careful.money_deltas
    );
    let mut naive = every_tick_runs_every_flow();
    naive.mapping.price_basis = PriceBasis::NetRounded;
    let naive = three_units_each(naive).await;
    assert_eq!(naive.erp_orders, naive.shop_orders);
    assert!(
        naive.orders_outside_tolerance > 0,
        "three units at a net price off by up to half a cent: {:?}",
        naive.money_deltas
    );
    assert!(
        naive.money_deltas.iter().all(|d| d.delta_gross.abs() < 0.05),
        "cents, not more"
    );
}

/// One order with a 10 % promotion over a 19 % and a 7 % product.
async fn promotion_over_two_rates(cfg: EngineConfig) -> Reconciliation {
    let w = ManualWorld::start(ShopwareProfile::default_profile(), ErpProfile::business_central(), 80).await;
    // A simple product in stock at each rate (position 4 of each block of ten is at 7 %, seed.rs).
    let in_stock_at = |rate: f64| -> String {
        let store = w.shop.read();
        let mut found: Vec<String> = store
            .rows("product")
            .filter(|p| p["parentId"].is_null() && p["stock"].as_i64().unwrap_or(0) >= 2)
            .filter(|p| p["isCloseout"] == false && p.get("swagCustomizedProductsTemplateId").is_none())
            .filter(|p| {
                p["taxId"]
                    .as_str()
                    .and_then(|t| store.get("tax", t))
                    .and_then(|t| t["taxRate"].as_f64())
                    == Some(rate)
            })
            .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
            .collect();
        found.sort();
        found.into_iter().next().expect("a product at the rate")
    };
    let (high, low) = (in_stock_at(19.0), in_stock_at(7.0));
    let mut e = w.engine(cfg);
    w.clock.set(SimTime::from_secs_f64(10.0));
    let cart: synctwin::twin::shopware::checkout::Cart = serde_json::from_value(serde_json::json!({
        "customer": {"email": "promo@example.com", "firstName": "P", "lastName": "Q", "guest": false,
                     "street": "S 1", "zipcode": "10115", "city": "Berlin"},
        "lines": [{"type": "product", "productNumber": high, "quantity": 2},
                  {"type": "product", "productNumber": low, "quantity": 2}],
        "promotion": {"name": "Ten off", "code": "TEN", "discount": {"percentage": 10}},
        "shippingGross": 4.9
    }))
    .unwrap();
    w.shop.place_order(&cart).unwrap();
    w.clock.set(SimTime::from_secs_f64(60.0));
    e.tick().await.unwrap();
    let shop = shop_orders(&w.shop.read());
    let r = reconcile(
        &shop,
        &erp_orders(&w.erp.snapshot()),
        &BTreeMap::new(),
        &BTreeMap::new(),
    );
    assert_eq!(r.erp_orders, 1, "{:?}", e.state().exceptions(false).unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discount_split_by_rate_keeps_each_rate_and_one_rate_does_not() {
    let careful = promotion_over_two_rates(every_tick_runs_every_flow()).await;
    assert_eq!(careful.tax_outside_tolerance, 0, "{:?}", careful.money_deltas);
    let mut naive = every_tick_runs_every_flow();
    naive.mapping.discount_tax = DiscountTax::SingleRate;
    let naive = promotion_over_two_rates(naive).await;
    assert_eq!(naive.tax_outside_tolerance, 1, "{:?}", naive.money_deltas);
    assert_eq!(
        naive.orders_outside_tolerance, 0,
        "the gross is the same, only the tax moves"
    );
    let delta: &BTreeMap<String, f64> = &naive.money_deltas[0].delta_tax;
    assert!(
        delta["19"] < 0.0 && delta["7"] > 0.0,
        "tax moved from 7 % to 19 %: {delta:?}"
    );
}
