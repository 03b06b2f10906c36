//! The reference engine on a thread of its own during a run, as it would run
//! in a process of its own: each of its lanes (orders, shipments, inventory)
//! ticks on the scenario clock on its own schedule, then they drain together
//! (all orders handed to the ERP or parked, a full inventory push that leaves
//! nothing unpushed, or the drain limit), and it hands back what the run
//! report needs: its exception queue and its own work per tick.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;

use super::busy::BusyMeter;
use super::orchestrate::Endpoints;
use crate::clock::{SharedClock, SimTime};
use crate::engine::config::EngineConfig;
use crate::engine::driver::{Engine, EngineError, Flow, Lane};
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::ports::{ErpApi, ShopApi};
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
    .with_rate_limit(cfg.rate_limits.shopware_per_second)
    .with_token_strategy(cfg.auth.token);
    let erp_client = ErpClient::new(
        &ep.erp_url,
        &ep.erp_client_id,
        &ep.erp_client_secret,
        run.clock.clone(),
        cfg.request_timeout,
    )
    .with_rate_limit(cfg.rate_limits.erp_per_second)
    .with_token_strategy(cfg.auth.token);
    let state = EngineState::scratch().context("cannot create the engine's temporary state file")?;
    let mut engine = Engine::new(shop_client, erp_client, state, cfg.clone(), run.clock.clone(), run.seed);
    let ctl = Control::default();
    let [orders, shipments, inventory] = engine.lanes();
    let (a, b, c, ()) = tokio::join!(
        lane_loop(orders, &run, &ctl),
        lane_loop(shipments, &run, &ctl),
        lane_loop(inventory, &run, &ctl),
        drain_deadline(&run, &ctl)
    );
    let mut out = EngineOutcome {
        tick_busy: ctl.tick_busy.take(),
        error: [a, b, c].into_iter().find_map(Result::err),
        ..Default::default()
    };
    out.exceptions = engine
        .state()
        .exceptions(false)
        .context("cannot read the engine's exceptions")?;
    Ok(out)
}

/// What the lanes share while they run.
#[derive(Default)]
struct Control {
    /// Set by [`drain_deadline`] when the traffic is over: the lanes drain from
    /// then on, and the timer stops them here at the latest.
    drain_deadline: Cell<Option<SimTime>>,
    /// Every order is in the outbox and none pending: a full push was asked for.
    full_asked: Cell<bool>,
    /// That full push has started.
    full_started: Cell<bool>,
    stop: Cell<bool>,
    wake: tokio::sync::Notify,
    /// Notified once, when the lanes stop: a tick in progress is dropped.
    stopped: tokio::sync::Notify,
    tick_busy: RefCell<Vec<Duration>>,
}

impl Control {
    fn stop(&self) {
        self.stop.set(true);
        self.wake.notify_waiters();
        self.stopped.notify_waiters();
    }
}

/// Stops the lanes at the drain limit, even in the middle of a tick: a lane's
/// tick (a full push at the ERP's pace) can outlast the limit by many
/// scenario minutes, and the drain is the limit the run reports, not more.
async fn drain_deadline(run: &EngineRun, ctl: &Control) {
    let clock = &run.clock;
    // How often the traffic's end is looked for (wall time).
    let poll = Duration::from_millis(20);
    while !run.traffic_done.load(Ordering::SeqCst) {
        if ctl.stop.get() {
            return;
        }
        tokio::time::sleep(poll).await;
    }
    let deadline = clock.now().plus(run.drain_limit);
    ctl.drain_deadline.set(Some(deadline));
    while !ctl.stop.get() {
        let left = deadline.saturating_sub(clock.now());
        if left.is_zero() {
            ctl.stop();
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(clock.speed().to_wall(left).max(Duration::from_millis(1))) => {}
            _ = ctl.stopped.notified() => {}
        }
    }
}

/// Runs one lane until the drain is over (or the engine's state fails). The
/// drain: once the traffic is over, the orders lane waits until every placed
/// order is in the outbox and none is pending, then asks the inventory lane
/// for a full push; when that push leaves nothing unpushed, or at the drain
/// limit, every lane stops.
async fn lane_loop<S: ShopApi, E: ErpApi>(
    mut lane: Lane<'_, S, E>,
    run: &EngineRun,
    ctl: &Control,
) -> Result<(), EngineError> {
    let clock = &run.clock;
    let meter = BusyMeter::default();
    while !ctl.stop.get() {
        if lane.flow() == Flow::Inventory && ctl.full_asked.get() && !ctl.full_started.get() {
            lane.force_full_inventory();
            ctl.full_started.set(true);
        }
        let forced = ctl.full_started.get();
        let before = meter.total();
        let tick = tokio::select! {
            tick = meter.wrap(lane.tick()) => tick,
            _ = ctl.stopped.notified() => break,
        };
        let busy = meter.total().saturating_sub(before);
        let (report, _) = match tick {
            Ok(r) => r,
            Err(e) => {
                ctl.stop();
                return Err(e);
            }
        };
        if report.export.is_some() || report.fulfilment.is_some() || report.inventory.is_some() {
            ctl.tick_busy.borrow_mut().push(busy);
        }
        if ctl.drain_deadline.get().is_some() {
            let settled = || {
                lane.state()
                    .outbox_with(OutboxStatus::Pending)
                    .map(|p| p.is_empty())
                    .unwrap_or(false)
                    && lane.state().outbox_count().unwrap_or(0) >= run.shop.read().len("order")
            };
            match lane.flow() {
                Flow::Orders if !ctl.full_asked.get() && settled() => {
                    ctl.full_asked.set(true);
                    ctl.wake.notify_waiters();
                }
                Flow::Inventory
                    if forced && report.inventory.as_ref().is_some_and(|i| i.unpushed == 0) && settled() =>
                {
                    ctl.stop();
                }
                _ => {}
            }
        }
        if ctl.stop.get() {
            break;
        }
        let wait = lane.next_due().saturating_sub(clock.now()).min(Duration::from_secs(30));
        let wall = clock.speed().to_wall(wait).max(Duration::from_millis(1));
        tokio::select! {
            _ = tokio::time::sleep(wall) => {}
            _ = ctl.wake.notified() => {}
        }
    }
    Ok(())
}
