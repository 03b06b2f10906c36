//! The reference engine on a thread of its own during a run, as it would run
//! in a process of its own: it ticks its flows on the scenario clock, then
//! drains (all orders handed to the ERP or parked, a full inventory push that
//! leaves nothing unpushed, or the drain limit), and hands back what the run
//! report needs: its exception queue and its own work per tick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;

use super::busy::BusyMeter;
use super::orchestrate::Endpoints;
use crate::clock::{SharedClock, SimTime};
use crate::engine::config::EngineConfig;
use crate::engine::driver::{Engine, EngineError};
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::state::{EngineState, ExceptionEntry, OutboxStatus};
use crate::twin::shopware::ShopwareTwin;

/// What the engine thread needs.
pub struct EngineRun {
    pub config: EngineConfig,
    pub endpoints: Endpoints,
    pub clock: SharedClock,
    pub seed: u64,
    /// The Shopware twin, to know when every placed order is in the outbox.
    pub shop: Arc<ShopwareTwin>,
    pub drain_limit: Duration,
    /// Set by the traffic driver when the scenario's traffic is over.
    pub traffic_done: Arc<AtomicBool>,
    /// Set here when the engine has drained.
    pub all_done: Arc<AtomicBool>,
}

/// What the engine thread hands back.
#[derive(Debug, Default)]
pub struct EngineOutcome {
    /// Open exceptions at the end of the run.
    pub exceptions: Vec<ExceptionEntry>,
    /// Wall time of the engine's own work per tick (see [`super::busy`]).
    pub tick_busy: Vec<Duration>,
    /// The engine's state failed (the run could not be completed).
    pub error: Option<EngineError>,
}

/// Starts the engine thread. `all_done` is set when it finishes, whatever the outcome.
pub fn spawn_engine(run: EngineRun) -> anyhow::Result<JoinHandle<anyhow::Result<EngineOutcome>>> {
    std::thread::Builder::new()
        .name("reference-engine".into())
        .spawn(move || {
            let all_done = run.all_done.clone();
            let out = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the engine's runtime")
                .and_then(|rt| rt.block_on(engine_loop(run)));
            all_done.store(true, Ordering::SeqCst);
            out
        })
        .context("cannot start the engine thread")
}

async fn engine_loop(run: EngineRun) -> anyhow::Result<EngineOutcome> {
    let cfg = &run.config;
    let ep = &run.endpoints;
    let shop_client = ShopwareClient::new(
        &ep.shopware_url,
        &ep.shopware_client_id,
        &ep.shopware_client_secret,
        run.clock.clone(),
        cfg.request_timeout,
    )
    .with_rate_limit(cfg.rate_limits.shopware_per_second);
    let erp_client = ErpClient::new(
        &ep.erp_url,
        &ep.erp_client_id,
        &ep.erp_client_secret,
        run.clock.clone(),
        cfg.request_timeout,
    )
    .with_rate_limit(cfg.rate_limits.erp_per_second);
    let state = EngineState::in_memory().context("cannot create the engine state")?;
    let mut engine = Engine::new(shop_client, erp_client, state, cfg.clone(), run.clock.clone(), run.seed);
    let clock = &run.clock;
    let meter = BusyMeter::default();
    let mut out = EngineOutcome::default();
    let mut drain_deadline: Option<SimTime> = None;
    let mut forced_full = false;
    loop {
        let before = meter.total();
        let tick = meter.wrap(engine.tick()).await;
        out.tick_busy.push(meter.total().saturating_sub(before));
        match tick {
            Ok(r) => {
                if let Some(deadline) = drain_deadline {
                    let settled = engine
                        .state()
                        .outbox_with(OutboxStatus::Pending)
                        .map(|p| p.is_empty())
                        .unwrap_or(false)
                        && engine.state().outbox_count().unwrap_or(0) >= run.shop.read().len("order");
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
                out.error = Some(e);
                break;
            }
        }
        if run.traffic_done.load(Ordering::SeqCst) && drain_deadline.is_none() {
            drain_deadline = Some(clock.now().plus(run.drain_limit));
        }
        let wait = engine
            .next_due()
            .saturating_sub(clock.now())
            .min(Duration::from_secs(30));
        tokio::time::sleep(clock.speed().to_wall(wait).max(Duration::from_millis(1))).await;
    }
    out.exceptions = engine
        .state()
        .exceptions(false)
        .context("cannot read the engine's exceptions")?;
    Ok(out)
}
