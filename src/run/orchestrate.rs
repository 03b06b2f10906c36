//! Runs one scenario end to end: both twins on the hyper transport, the
//! traffic driver and the engine concurrently on one scenario clock, a sampler
//! of request counts, a bounded drain, then measurement and reconciliation
//! into a [`RunReport`] (thresholds and formats are applied by the caller).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::driver::{Driver, DriverStats, Traffic};
use crate::clock::{ScaledClock, SharedClock, SimTime, Speed};
use crate::engine::config::EngineConfig;
use crate::engine::driver::Engine;
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::state::{EngineState, OutboxStatus};
use crate::measure::measure;
use crate::observe::{Event, ObservationLog, RequestStats};
use crate::reconcile::{erp_orders, reconcile, shop_orders};
use crate::report::model::{
    EndpointStats, ExceptionCount, Harness, RateLimits, RunReport, ScenarioInfo, REPORT_VERSION,
};
use crate::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin};
use crate::twin::shopware::store::Store;
use crate::twin::shopware::{Credentials, ShopwareProfile, ShopwareTwin};

/// Who syncs the twins.
#[derive(Debug, Clone)]
pub enum EngineMode {
    /// The reference engine with this configuration (`name` for the report).
    Reference { config: Box<EngineConfig>, name: String },
    /// Somebody else's integration, pointed at the twins' URLs; the run only
    /// drives traffic and measures.
    External,
}

/// Everything a run needs, already validated.
pub struct RunSetup {
    pub name: String,
    pub seed: u64,
    pub duration: Duration,
    pub speed: Speed,
    pub shop_profile: ShopwareProfile,
    pub erp_profile: ErpProfile,
    pub shop_store: Store,
    pub erp_catalogue: Catalogue,
    pub engine: EngineMode,
    /// Timeline resolution (scenario time).
    pub interval: Duration,
    /// How long after the traffic ends the run waits for the sync to settle.
    pub drain_limit: Duration,
}

/// The twins' addresses and credentials (for an external engine).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub shopware_url: String,
    pub shopware_client_id: String,
    pub shopware_client_secret: String,
    pub erp_url: String,
    pub erp_client_id: String,
    pub erp_client_secret: String,
}

/// Progress for a display: scenario time, orders, backlog, 429s.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub at: SimTime,
    pub end: SimTime,
    pub orders_placed: u64,
    pub backlog: u64,
    pub throttled: u64,
    pub draining: bool,
}

/// A finished run.
pub struct RunOutcome {
    pub report: RunReport,
    pub driver: DriverStats,
}

fn endpoint_stats(stats: &RequestStats) -> BTreeMap<String, EndpointStats> {
    stats
        .snapshot()
        .into_iter()
        .map(|(route, r)| {
            let by_status = r.by_status.iter().map(|(s, n)| (s.to_string(), *n)).collect();
            (
                route,
                EndpointStats {
                    requests: r.total(),
                    by_status,
                    records: r.records,
                },
            )
        })
        .collect()
}

fn total_requests(a: &RequestStats, b: &RequestStats) -> u64 {
    [a, b]
        .iter()
        .map(|s| s.snapshot().values().map(|r| r.total()).sum::<u64>())
        .sum()
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Runs a scenario. `on_ready` gets the endpoints once the twins listen;
/// `on_progress` is called about once per scenario interval.
pub async fn execute(
    setup: RunSetup,
    traffic: impl Iterator<Item = anyhow::Result<Traffic>>,
    on_ready: impl FnOnce(&Endpoints),
    mut on_progress: impl FnMut(&Progress),
) -> anyhow::Result<RunOutcome> {
    let wall_start = Instant::now();
    let started_at = crate::clock::rfc3339_ms(time::OffsetDateTime::now_utc());
    let clock: SharedClock = Arc::new(ScaledClock::start(setup.speed));
    let (shop_log, erp_log) = (ObservationLog::new(), ObservationLog::new());
    let shop_creds = Credentials::generated(setup.seed);
    let shop = ShopwareTwin::new(
        setup.shop_profile.clone(),
        setup.shop_store,
        shop_creds.clone(),
        setup.seed,
        clock.clone(),
        shop_log.clone(),
    );
    let mut erp_cfg = ErpConfig::new(setup.erp_profile.clone(), setup.seed);
    erp_cfg.catalogue = setup.erp_catalogue;
    let erp = Arc::new(ErpTwin::new(erp_cfg, clock.clone(), erp_log.clone()).context("cannot build the ERP twin")?);
    let loopback = "127.0.0.1:0".parse().expect("a valid address");
    let shop_server = crate::twin::http::spawn(shop.clone(), loopback)
        .await
        .context("cannot start the Shopware twin")?;
    let erp_server = crate::twin::http::spawn(erp.clone(), loopback)
        .await
        .context("cannot start the ERP twin")?;
    let (erp_id, erp_secret) = erp.credentials();
    let endpoints = Endpoints {
        shopware_url: shop_server.base_url(),
        shopware_client_id: shop_creds.client_id.clone(),
        shopware_client_secret: shop_creds.client_secret.clone(),
        erp_url: erp_server.base_url(),
        erp_client_id: erp_id.to_string(),
        erp_client_secret: erp_secret.to_string(),
    };
    on_ready(&endpoints);
    let end = SimTime::ZERO.plus(setup.duration);
    let traffic_done = Cell::new(false);
    let all_done = Cell::new(false);
    let mut driver = Driver::new(shop.clone(), erp.clone(), clock.clone());
    let mut engine = match &setup.engine {
        EngineMode::Reference { config, .. } => {
            let timeout = config.request_timeout;
            let shop_client = ShopwareClient::new(
                &endpoints.shopware_url,
                &endpoints.shopware_client_id,
                &endpoints.shopware_client_secret,
                clock.clone(),
                timeout,
            )
            .with_rate_limit(config.rate_limits.shopware_per_second);
            let erp_client = ErpClient::new(
                &endpoints.erp_url,
                &endpoints.erp_client_id,
                &endpoints.erp_client_secret,
                clock.clone(),
                timeout,
            )
            .with_rate_limit(config.rate_limits.erp_per_second);
            let state = EngineState::in_memory().context("cannot create the engine state")?;
            Some(Engine::new(
                shop_client,
                erp_client,
                state,
                (**config).clone(),
                clock.clone(),
                setup.seed,
            ))
        }
        EngineMode::External => None,
    };
    let mut traffic_error = None;
    let drive = async {
        for ev in traffic {
            match ev {
                Ok(ev) if ev.at() <= end => driver.step(ev).await,
                Ok(_) => break,
                Err(e) => {
                    traffic_error = Some(e);
                    break;
                }
            }
        }
        traffic_done.set(true);
    };
    let mut drain_error = None;
    let sync = async {
        let Some(engine) = engine.as_mut() else {
            // External: wait out the scenario and the drain window.
            while !traffic_done.get() {
                tokio::time::sleep(clock.speed().to_wall(Duration::from_secs(1))).await;
            }
            tokio::time::sleep(clock.speed().to_wall(setup.drain_limit)).await;
            all_done.set(true);
            return;
        };
        let mut drain_deadline: Option<SimTime> = None;
        let mut forced_full = false;
        loop {
            match engine.tick().await {
                Ok(r) => {
                    if let Some(deadline) = drain_deadline {
                        let settled = engine
                            .state()
                            .outbox_with(OutboxStatus::Pending)
                            .map(|p| p.is_empty())
                            .unwrap_or(false)
                            && engine.state().outbox_count().unwrap_or(0) >= shop.read().len("order");
                        if settled && forced_full && r.inventory.as_ref().is_some_and(|i| i.unpushed == 0) {
                            break;
                        }
                        if settled && !forced_full {
                            engine.force_full_inventory();
                            forced_full = true;
                            continue;
                        }
                        if clock.now() >= deadline {
                            break;
                        }
                    }
                }
                Err(e) => {
                    drain_error = Some(e);
                    break;
                }
            }
            if traffic_done.get() && drain_deadline.is_none() {
                drain_deadline = Some(clock.now().plus(setup.drain_limit));
            }
            let wait = engine
                .next_due()
                .saturating_sub(clock.now())
                .min(Duration::from_secs(30));
            tokio::time::sleep(clock.speed().to_wall(wait).max(Duration::from_millis(1))).await;
        }
        all_done.set(true);
    };
    let mut samples: Vec<(SimTime, u64)> = Vec::new();
    let sample = async {
        while !all_done.get() {
            tokio::time::sleep(clock.speed().to_wall(setup.interval)).await;
            let now = clock.now();
            samples.push((now, total_requests(&shop.stats, erp.stats())));
            let throttled = shop.stats.total_with_status(429) + erp.stats().total_with_status(429);
            let placed = shop.read().len("order") as u64;
            let exported = erp.order_count() as u64;
            on_progress(&Progress {
                at: now,
                end,
                orders_placed: placed,
                backlog: placed.saturating_sub(exported),
                throttled,
                draining: traffic_done.get(),
            });
        }
    };
    tokio::join!(drive, sync, sample);
    if let Some(e) = traffic_error {
        return Err(e.context("the traffic trace could not be read"));
    }
    if let Some(e) = drain_error {
        return Err(anyhow::Error::new(e).context("the reference engine's state failed"));
    }
    let run_end = clock.now();
    let wall = wall_start.elapsed();

    // Measure at the twins.
    let mut obs = shop_log.drain();
    obs.extend(erp_log.drain());
    let measured = measure(&obs, run_end, setup.interval);
    let mut timeline = measured.timeline;
    let mut prev = 0;
    for p in timeline.iter_mut() {
        let total = samples
            .iter()
            .rev()
            .find(|(t, _)| t.as_millis() <= p.t_ms)
            .map_or(prev, |s| s.1);
        p.requests = total.saturating_sub(prev);
        prev = total;
    }
    let interval_secs = setup.interval.as_secs_f64().max(1e-9);
    let peak_rps = timeline
        .iter()
        .map(|p| p.requests as f64 / interval_secs)
        .fold(0.0, f64::max);
    let stock_writes_per_interval = {
        let mut per: BTreeMap<u64, u64> = BTreeMap::new();
        for o in &obs {
            if matches!(&o.event, Event::StockWritten { via, .. } if via == "sync" || via == "patch") {
                *per.entry(o.at.as_millis() / setup.interval.as_millis().max(1) as u64)
                    .or_default() += 1;
            }
        }
        per.values().copied().max().unwrap_or(0)
    };
    let svc = &setup.shop_profile.service;
    let per_record = (svc.per_record_write + svc.per_record_indexing).as_secs_f64().max(1e-9);
    let throttled: Vec<&Event> = obs
        .iter()
        .map(|o| &o.event)
        .filter(|e| matches!(e, Event::Throttled { .. }))
        .collect();
    let all_requests = total_requests(&shop.stats, erp.stats());
    let throttled_429 = shop.stats.total_with_status(429) + erp.stats().total_with_status(429);
    let server_errors: u64 = [&shop.stats, erp.stats()]
        .iter()
        .flat_map(|s| s.snapshot().into_values())
        .flat_map(|r| r.by_status.into_iter())
        .filter(|(s, _)| *s >= 500)
        .map(|(_, n)| n)
        .sum();
    let rate_limits = RateLimits {
        endpoints: [
            ("shopware".to_string(), endpoint_stats(&shop.stats)),
            ("erp".to_string(), endpoint_stats(erp.stats())),
        ]
        .into(),
        throttled_429,
        throttled_with_retry_after: throttled
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Throttled {
                        retry_after_secs: Some(_),
                        ..
                    }
                )
            })
            .count() as u64,
        retry_after_violations: shop.retry_after_violations() + erp.retry_after_violations(),
        server_errors_5xx: server_errors,
        peak_requests_per_second: peak_rps,
        stock_updates_per_second: stock_writes_per_interval as f64 / interval_secs,
        stock_updates_ceiling_per_second: setup.shop_profile.pool.workers as f64 / per_record,
        ratio_429: if all_requests == 0 {
            0.0
        } else {
            throttled_429 as f64 / all_requests as f64
        },
    };

    // Reconcile the end states.
    let erp_state = erp.snapshot();
    let shop_side = shop_orders(&shop.read());
    let shop_stock: BTreeMap<String, i64> = erp_state
        .items
        .keys()
        .filter_map(|sku| shop.stock_of(sku).map(|(s, _)| (sku.clone(), s)))
        .collect();
    let available: BTreeMap<String, i64> = erp_state
        .items
        .iter()
        .filter(|(_, i)| i.item_type.as_str() == "Inventory")
        .map(|(sku, i)| (sku.clone(), i.available()))
        .collect();
    let mut reconciliation = reconcile(&shop_side, &erp_orders(&erp_state), &shop_stock, &available);
    reconciliation.oversell_events = driver.stats.oversell_events;
    reconciliation.oversold_units = driver.stats.oversold_units;
    reconciliation.resurrected_units = crate::measure::resurrected_units(&obs, &driver.initial_sellable).0;
    let mut latency = measured.latency;
    latency.stock_consistency = crate::measure::stock_consistency(
        &obs,
        |sku| available.contains_key(sku) && shop_stock.contains_key(sku),
        reconciliation.stock_mismatches.is_empty(),
    );
    if let Some(engine) = &engine {
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for e in engine
            .state()
            .exceptions(false)
            .context("cannot read the engine's exceptions")?
        {
            let owner = serde_json::to_value(e.owner)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *counts.entry((e.category, owner)).or_default() += 1;
        }
        reconciliation.exceptions = counts
            .into_iter()
            .map(|((category, owner), count)| ExceptionCount { category, owner, count })
            .collect();
    }

    let (lag, max_lag) = driver.lag();
    let mut warnings = Vec::new();
    let export_p50 = latency.order_export.p50_ms;
    if lag.p99_ms > 1000.0 && (export_p50 == 0.0 || lag.p99_ms > export_p50 * 0.05) {
        warnings.push(format!(
            "traffic ran late by up to {:.1} s of scenario time (p99 {:.1} s): the speed {}x is too high for latencies of this size to be trusted; lower --speed",
            max_lag.as_secs_f64(),
            lag.p99_ms / 1000.0,
            setup.speed.factor()
        ));
    }
    let achieved = run_end.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let report = RunReport {
        version: REPORT_VERSION,
        scenario: ScenarioInfo {
            name: setup.name,
            seed: setup.seed,
            duration_ms: setup.duration.as_millis() as u64,
            speed: setup.speed.factor(),
            engine: match &setup.engine {
                EngineMode::Reference { name, .. } => name.clone(),
                EngineMode::External => "external".into(),
            },
            shopware_profile: setup.shop_profile.name.clone(),
            erp_profile: setup.erp_profile.name.clone(),
            started_at,
            overrides: BTreeMap::new(),
        },
        verdict: Default::default(),
        latency,
        rate_limits,
        reconciliation,
        harness: Harness {
            wall_seconds: wall.as_secs_f64(),
            achieved_speed: achieved,
            scheduler_lag_p99_ms: lag.p99_ms,
            scheduler_lag_max_ms: max_lag.as_millis() as f64,
            peak_rss_mib: peak_rss_mib(),
            warnings,
        },
        timeline,
    };
    shop_server.shutdown().await;
    erp_server.shutdown().await;
    Ok(RunOutcome {
        report,
        driver: driver.stats,
    })
}
