//! Known-answer tests of the measurement (issue 5): both twins with injected
//! service times on a manual scenario clock, a known sequence of orders, ERP
//! receipts and shipments, and the reference engine ticked at known instants.
//! The latencies `measure` reports from the twins' observations must match the
//! answers computed here from the schedule alone, within 2 %.
//!
//! The schedule, in scenario seconds: order `i` is placed at `t_i = 60 + 600 i`
//! and the engine ticks at `T_i = t_i + w_i` (a scrambled 15-125 s), so
//! - the order reaches the ERP at `T_i + ERP_BASE` (the POST's service time);
//! - a receipt booked at `t_i + 10` (every other order, on SKUs nobody buys) is
//!   pushed at `T_i` and visible in Shopware at `T_i + SHOP_BASE`;
//! - the warehouse ships every order `SHIP_DELAY` after the ERP created it; the
//!   engine reads the shipment at the first tick after that and its tracking code
//!   is on the delivery at that tick plus `SHOP_BASE`.

use std::time::Duration;

use synctwin::clock::{Clock, SimTime};
use synctwin::engine::config::EngineConfig;
use synctwin::measure::measure;
use synctwin::observe::Observations;
use synctwin::report::model::Distribution;
use synctwin::twin::erp::ErpProfile;
use synctwin::twin::shopware::ShopwareProfile;

use crate::helpers::ManualWorld;

/// Every Shopware request's service time (no per-row or per-record cost).
const SHOP_BASE: f64 = 0.5;
/// Every ERP request's service time (no per-line cost).
const ERP_BASE: f64 = 2.0;
/// The warehouse ships each order this long after the ERP created it.
const SHIP_DELAY: f64 = 400.0;
const ORDERS: usize = 20;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn shop_profile() -> ShopwareProfile {
    let mut p = ShopwareProfile::default_profile();
    p.service.base = secs(SHOP_BASE);
    p.service.per_row_read = Duration::ZERO;
    p.service.per_record_write = Duration::ZERO;
    p.service.per_record_indexing = Duration::ZERO;
    p.service.transition = Duration::ZERO;
    // Enough workers that requests made at one instant never queue.
    p.pool.workers = 64;
    p
}

fn erp_profile() -> ErpProfile {
    let mut p = ErpProfile::business_central();
    p.service_time.base = secs(ERP_BASE);
    p.service_time.per_line = Duration::ZERO;
    p.service_time.per_entity_read = Duration::ZERO;
    p.pool.workers = 64;
    p.fulfilment.delay_min = secs(SHIP_DELAY);
    p.fulfilment.delay_max = secs(SHIP_DELAY);
    p.fulfilment.partial_share = 0.0;
    p
}

/// The engine's delay before each order's tick: 15-125 s, in no order.
fn wait(i: usize) -> f64 {
    15.0 + ((i * i * 7 + 3 * i) % 23) as f64 * 5.0
}

fn placed_at(i: usize) -> f64 {
    60.0 + 600.0 * i as f64
}

fn tick_at(i: usize) -> f64 {
    placed_at(i) + wait(i)
}

/// p50, p95 and max of known values (ms) by nearest rank, as HDR histograms report them.
fn known(mut ms: Vec<f64>) -> (usize, f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let rank = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    (ms.len(), rank(0.50), rank(0.95), ms[ms.len() - 1])
}

fn assert_matches(what: &str, d: &Distribution, expected: (usize, f64, f64, f64)) {
    let (count, p50, p95, max) = expected;
    assert_eq!(d.count as usize, count, "{what}: {d:?}");
    for (stat, got, want) in [("p50", d.p50_ms, p50), ("p95", d.p95_ms, p95), ("max", d.max_ms, max)] {
        assert!(
            (got - want).abs() <= 0.02 * want,
            "{what} {stat}: measured {got} ms, known answer {want} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latencies_measured_at_the_twins_match_the_known_schedule() {
    let w = ManualWorld::start(shop_profile(), erp_profile(), 80).await;
    // 8 plain products to sell, 8 to receive.
    assert!(w.plain.len() >= 16, "{:?}", w.plain);
    let (sold, received) = (w.plain[..8].to_vec(), w.plain[8..16].to_vec());
    let mut engine_cfg = EngineConfig::default();
    // Every tick runs every flow; the one full pull is the first tick's.
    engine_cfg.intervals.orders = Duration::from_secs(1);
    engine_cfg.intervals.shipments = Duration::from_secs(1);
    engine_cfg.intervals.inventory = Duration::from_secs(1);
    engine_cfg.intervals.full_inventory = Duration::from_secs(1_000_000);
    let mut engine = w.engine(engine_cfg);

    // The schedule in time order: place, receive, tick.
    enum Step {
        Place(usize),
        Receive(usize),
        Tick,
    }
    let mut steps: Vec<(f64, Step)> = Vec::new();
    for i in 0..ORDERS {
        steps.push((placed_at(i), Step::Place(i)));
        if i % 2 == 0 {
            steps.push((placed_at(i) + 10.0, Step::Receive(i)));
        }
        steps.push((tick_at(i), Step::Tick));
    }
    // One more tick, after the last order's shipment is due.
    let last_tick = placed_at(ORDERS) + 60.0;
    steps.push((last_tick, Step::Tick));
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (at, step) in steps {
        w.clock.set(SimTime::from_secs_f64(at));
        match step {
            Step::Place(i) => {
                w.place(i, &[(sold[i % sold.len()].as_str(), 1)]);
            }
            Step::Receive(i) => {
                w.erp.receive_stock(&received[(i / 2) % received.len()], 10).unwrap();
            }
            Step::Tick => {
                let r = engine.tick().await.unwrap();
                assert!(engine.last_errors.is_empty(), "{:?}", engine.last_errors);
                assert!(r.export.is_some() && r.fulfilment.is_some() && r.inventory.is_some());
            }
        }
    }

    // The known answers, from the schedule alone.
    let ticks: Vec<f64> = (0..ORDERS).map(tick_at).chain([last_tick]).collect();
    let first_tick_from = |t: f64| *ticks.iter().find(|x| **x >= t).expect("a tick after every event");
    let export: Vec<f64> = (0..ORDERS)
        .map(|i| (tick_at(i) + ERP_BASE - placed_at(i)) * 1e3)
        .collect();
    let stock: Vec<f64> = (0..ORDERS)
        .step_by(2)
        .map(|i| {
            let booked = placed_at(i) + 10.0;
            (first_tick_from(booked) + SHOP_BASE - booked) * 1e3
        })
        .collect();
    let shipped: Vec<f64> = (0..ORDERS)
        .map(|i| {
            let due = tick_at(i) + ERP_BASE + SHIP_DELAY;
            (first_tick_from(due) + SHOP_BASE - due) * 1e3
        })
        .collect();

    let mut obs = w.shop_log.snapshot();
    obs.extend(w.erp_log.snapshot());
    let m = measure(
        &Observations::from(obs),
        w.clock.now(),
        Duration::from_secs(60),
        &Default::default(),
    );
    assert_matches("order export", &m.latency.order_export, known(export));
    assert_matches("stock sync", &m.latency.stock_sync, known(stock));
    assert_matches("shipment sync", &m.latency.shipment_sync, known(shipped));
}
