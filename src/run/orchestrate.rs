//! Runs one scenario end to end: both twins on the hyper transport, the
//! traffic driver and the engine concurrently on one scenario clock, a sampler
//! of request counts, a bounded drain, then measurement, reconciliation and the
//! diagnosis (the engine's exceptions and the measured gaps as ranked findings)
//! into a [`RunReport`] (thresholds and formats are applied by the caller).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::driver::{Driver, DriverStats, Traffic};
use super::end_state::{ErpEnd, ShopEnd};
use super::engine_thread::{spawn_engine, EngineOutcome, EngineRun};
use crate::clock::{ScaledClock, SharedClock, SimTime, Speed};
use crate::engine::config::EngineConfig;
use crate::measure::{measure, SettlingPass, StockSettling};
use crate::observe::{EventRef, ObservationLog, Observations, RequestStats};
use crate::reconcile::reconcile;
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
    /// Orders placed and not (yet) in the ERP, parked ones included: live, the
    /// run cannot tell which will still arrive (the report splits them).
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

/// Engine work per tick, in scenario time, above which the run warns: a real
/// engine's work between reading orders and pushing stock is milliseconds; a
/// second of scenario time is a race window a real deployment would not have.
const ENGINE_WORK_WARN: Duration = Duration::from_secs(1);

/// The p95 and max of the engine's busy time per tick (zero without ticks).
fn busy_p95_max(ticks: &mut [Duration]) -> (Duration, Duration) {
    if ticks.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    ticks.sort_unstable();
    let idx = ((ticks.len() as f64 * 0.95).ceil() as usize).clamp(1, ticks.len()) - 1;
    (ticks[idx], ticks[ticks.len() - 1])
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
    // One log for both twins: strings they share (SKUs, order numbers) are
    // stored once, and measurement takes it whole, without a copy.
    let log = ObservationLog::new();
    let shop_creds = Credentials::generated(setup.seed);
    let shop = ShopwareTwin::new(
        setup.shop_profile.clone(),
        setup.shop_store,
        shop_creds.clone(),
        setup.seed,
        clock.clone(),
        log.clone(),
    );
    let mut erp_cfg = ErpConfig::new(setup.erp_profile.clone(), setup.seed);
    erp_cfg.catalogue = setup.erp_catalogue;
    let erp = Arc::new(ErpTwin::new(erp_cfg, clock.clone(), log.clone()).context("cannot build the ERP twin")?);
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
    let mut driver = Driver::new(shop.clone(), erp.clone(), clock.clone());
    let traffic_done = Arc::new(AtomicBool::new(false));
    let all_done = Arc::new(AtomicBool::new(false));
    // The reference engine runs on its own thread, as it would run in its own
    // process: its work does not stall the traffic driver, and the driver's
    // does not stretch the engine's latencies.
    let engine_thread = match &setup.engine {
        EngineMode::Reference { config, .. } => Some(spawn_engine(EngineRun {
            config: (**config).clone(),
            endpoints: endpoints.clone(),
            clock: clock.clone(),
            seed: setup.seed,
            shop: shop.clone(),
            drain_limit: setup.drain_limit,
            traffic_done: traffic_done.clone(),
            all_done: all_done.clone(),
        })?),
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
        traffic_done.store(true, Ordering::SeqCst);
    };
    let external_wait = async {
        if engine_thread.is_some() {
            return;
        }
        // External: wait out the scenario and the drain window.
        while !traffic_done.load(Ordering::SeqCst) {
            tokio::time::sleep(clock.speed().to_wall(Duration::from_secs(1))).await;
        }
        tokio::time::sleep(clock.speed().to_wall(setup.drain_limit)).await;
        all_done.store(true, Ordering::SeqCst);
    };
    let mut samples: Vec<(SimTime, u64)> = Vec::new();
    let sample = async {
        // One sample per interval; the end of the run is looked for more often,
        // so a run does not wait out most of an interval after its engine is done.
        let every = clock.speed().to_wall(setup.interval);
        let mut next = tokio::time::Instant::now() + every;
        loop {
            let last = all_done.load(Ordering::SeqCst);
            if !last {
                tokio::time::sleep(every.min(Duration::from_millis(20))).await;
                if tokio::time::Instant::now() < next {
                    continue;
                }
                next += every;
            }
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
                draining: traffic_done.load(Ordering::SeqCst),
            });
            if last {
                break;
            }
        }
    };
    tokio::join!(drive, external_wait, sample);
    let engine_outcome = match engine_thread {
        Some(handle) => Some(
            tokio::task::spawn_blocking(move || handle.join())
                .await
                .context("cannot join the engine thread")?
                .map_err(|_| anyhow::anyhow!("the reference engine's thread panicked"))??,
        ),
        None => None,
    };
    if let Some(e) = traffic_error {
        return Err(e.context("the traffic trace could not be read"));
    }
    if let Some(EngineOutcome { error: Some(e), .. }) = &engine_outcome {
        anyhow::bail!("the reference engine's state failed: {e}");
    }
    let run_end = clock.now();
    let wall = wall_start.elapsed();

    // The run is over: no new connections to the twins.
    shop_server.shutdown().await;
    erp_server.shutdown().await;
    let rows_on_disk = shop.read().filed_bytes() + erp.filed_bytes();

    // Measure at the twins while the ERP twin's end state is read, then read
    // the Shopware twin's. Each twin's records are taken out of it, read, and
    // freed as soon as they are read, so what comes next reuses their memory.
    // The Shopware read (the longest, on threads of its own) comes last, when
    // the log and the ERP records are freed: all three side by side added
    // about 80 MiB to a peak day's peak and were no faster on 2 cores; all
    // three in sequence took 1.3 s more (BENCHMARKS.md, seventh round).
    let obs = log.take();
    let interval = setup.interval;
    let ((measured, log_figures), erp_end) = std::thread::scope(|s| {
        let measuring = s.spawn(|| {
            let measured = measure(&obs, run_end, interval, &driver.initial_sellable);
            let figures = LogFigures::of(&obs, interval);
            drop(obs);
            (measured, figures)
        });
        let erp_state = erp.take_state();
        let erp_end = ErpEnd::read(&erp_state);
        drop(erp_state);
        (measuring.join().expect("measuring does not panic"), erp_end)
    });
    let mut store = shop.take_store();
    let shop_end = ShopEnd::read(&mut store);
    drop(store);
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
    let LogFigures {
        stock_writes_per_interval,
        throttled_with_retry_after,
        settling,
    } = log_figures;
    let svc = &setup.shop_profile.service;
    let per_record = (svc.per_record_write + svc.per_record_indexing).as_secs_f64().max(1e-9);
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
        throttled_with_retry_after,
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
    let ErpEnd {
        orders: erp_side,
        available,
        items: erp_items,
        fulfilments: erp_fulfilments,
    } = erp_end;
    let ShopEnd {
        orders: shop_side,
        deliveries,
        stale_closeouts,
        stock: all_stock,
    } = shop_end;
    let shop_stock: BTreeMap<String, i64> = erp_items
        .keys()
        .filter_map(|sku| all_stock.get(sku).map(|s| (sku.clone(), *s)))
        .collect();
    drop(all_stock);
    let mut reconciliation = reconcile(&shop_side, &erp_side, &shop_stock, &available);
    reconciliation.oversell_events = driver.stats.oversell_events;
    reconciliation.oversold_units = driver.stats.oversold_units;
    reconciliation.resurrected_units = measured.resurrected_units;
    reconciliation.stale_closeouts = stale_closeouts.iter().map(|(sku, _)| sku.clone()).collect();
    reconciliation.stale_closeouts.sort();
    let (out_of_sync, gaps) = crate::reconcile::shipments::compare(&deliveries, &erp_fulfilments);
    reconciliation.shipments_out_of_sync = out_of_sync;
    reconciliation.shipment_gaps = gaps;
    drop((deliveries, erp_fulfilments));
    let mut latency = measured.latency;
    latency.stock_consistency = settling.consistency(
        |sku| available.contains_key(sku) && shop_stock.contains_key(sku),
        reconciliation.stock_mismatches.is_empty(),
    );
    let exceptions = engine_outcome
        .as_ref()
        .map(|o| o.exceptions.clone())
        .unwrap_or_default();
    if engine_outcome.is_some() {
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for e in &exceptions {
            *counts.entry((e.category.clone(), e.owner.to_string())).or_default() += 1;
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
    let mut tick_busy = engine_outcome.as_ref().map(|o| o.tick_busy.clone()).unwrap_or_default();
    let (busy_p95, busy_max) = busy_p95_max(&mut tick_busy);
    let stretched = busy_p95.mul_f64(setup.speed.factor());
    if stretched > ENGINE_WORK_WARN {
        warnings.push(format!(
            "the reference engine's own work took {:.1} ms of wall time per tick (p95; max {:.1} ms), which is {:.1} s of scenario time at {}x: \
             orders placed in that window race its stock pushes (F4) and its latencies are inflated by it; lower --speed or use a release build",
            busy_p95.as_secs_f64() * 1e3,
            busy_max.as_secs_f64() * 1e3,
            stretched.as_secs_f64(),
            setup.speed.factor()
        ));
    }
    let achieved = run_end.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let mut report = RunReport {
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
        diagnosis: Vec::new(),
        latency,
        rate_limits,
        reconciliation,
        harness: Harness {
            wall_seconds: wall.as_secs_f64(),
            achieved_speed: achieved,
            scheduler_lag_p99_ms: lag.p99_ms,
            scheduler_lag_max_ms: max_lag.as_millis() as f64,
            peak_rss_mib: peak_rss_mib(),
            rows_on_disk_mib: rows_on_disk as f64 / (1024.0 * 1024.0),
            engine_tick_busy_p95_ms: busy_p95.as_secs_f64() * 1e3,
            engine_tick_busy_max_ms: busy_max.as_secs_f64() * 1e3,
            warnings,
        },
        timeline,
    };
    report.diagnosis = crate::diagnose::diagnose(&crate::diagnose::RunFacts {
        report: &report,
        engine: match &setup.engine {
            EngineMode::Reference { config, .. } => Some(config),
            EngineMode::External => None,
        },
        exceptions: &exceptions,
        orders: Some(crate::diagnose::OrderLists {
            shop: &shop_side,
            erp: &erp_side,
        }),
        erp_items: Some(&erp_items),
        stale_closeouts: Some(&stale_closeouts),
    });
    let stats = std::mem::take(&mut driver.stats);
    free_later((shop, erp, driver));
    Ok(RunOutcome { report, driver: stats })
}

/// What a run reads off the observation log besides [`measure`], in one
/// pass over it (each pass decodes every sealed chunk of the log again).
struct LogFigures {
    /// The most stock writes by an integration (`sync`, `patch`) in one interval.
    stock_writes_per_interval: u64,
    /// 429s answered with a `Retry-After`.
    throttled_with_retry_after: u64,
    settling: StockSettling,
}

impl LogFigures {
    fn of(obs: &Observations, interval: Duration) -> LogFigures {
        let mut per: BTreeMap<u64, u64> = BTreeMap::new();
        let mut throttled_with_retry_after = 0;
        let mut settling = SettlingPass::default();
        for o in obs.iter() {
            settling.see(&o);
            match o.event {
                EventRef::StockWritten { via, .. } if via == "sync" || via == "patch" => {
                    *per.entry(o.at.as_millis() / interval.as_millis().max(1) as u64)
                        .or_default() += 1;
                }
                EventRef::Throttled {
                    retry_after_secs: Some(_),
                    ..
                } => throttled_with_retry_after += 1,
                _ => {}
            }
        }
        LogFigures {
            stock_writes_per_interval: per.values().copied().max().unwrap_or(0),
            throttled_with_retry_after,
            settling: settling.finish(),
        }
    }
}

/// Drops `t` on a thread of its own: freeing a peak day's records takes
/// a noticeable part of a second, and the report does not wait for it.
fn free_later<T: Send + 'static>(t: T) {
    let _ = std::thread::Builder::new().name("free".into()).spawn(move || drop(t));
}
