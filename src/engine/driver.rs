//! The engine's loop: each flow (order export, fulfilment, inventory deltas
//! with the full inventory pull) runs in a lane of its own when its interval
//! on the scenario clock is due, so a long full push of a large catalogue or a
//! peak of shipments never holds the orders back. [`Engine::tick`] runs what
//! is due now in every lane and reports; [`Engine::lanes`] hands the lanes out
//! to run on their own schedules; [`Engine::run`] ticks until told to stop.

use std::future::Future;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::config::EngineConfig;
use super::export::{export_once, ExportError, ExportReport};
use super::fulfilment::{fulfil_once, FulfilmentError, FulfilmentReport};
use super::inventory::{inventory_once, InventoryError, InventoryReport};
use super::ports::{ErpApi, ScaledPause, ShopApi};
use super::state::{EngineState, StateError};
use crate::clock::{SharedClock, SimTime};

/// What one tick did (flows that did not run are None).
#[derive(Debug, Default, Serialize)]
pub struct TickReport {
    pub at: SimTime,
    pub export: Option<ExportReport>,
    pub fulfilment: Option<FulfilmentReport>,
    pub inventory: Option<InventoryReport>,
    pub full_inventory: bool,
}

impl TickReport {
    /// Takes the flows another lane ran.
    fn absorb(&mut self, other: TickReport) {
        self.export = self.export.take().or(other.export);
        self.fulfilment = self.fulfilment.take().or(other.fulfilment);
        self.inventory = self.inventory.take().or(other.inventory);
        self.full_inventory |= other.full_inventory;
    }
}

/// A flow failed in a way the engine cannot work around (its state file).
/// Errors talking to Shopware or the ERP are not fatal: the flow is retried on
/// its next tick, and the error is reported here.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
}

/// The engine's flows, each in a lane of its own (in [`FLOWS`] order, which
/// is also the order of the engine's schedules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Order export.
    Orders,
    /// ERP shipments into Shopware.
    Shipments,
    /// Stock deltas, and the full pull when it is due.
    Inventory,
}

const FLOWS: [Flow; 3] = [Flow::Orders, Flow::Shipments, Flow::Inventory];

/// One lane's schedule and random stream.
#[derive(Debug)]
struct Schedule {
    rng: ChaCha8Rng,
    last: Option<SimTime>,
    /// The last full inventory pull (the inventory lane only).
    last_full: Option<SimTime>,
}

/// The reference engine over any shop and ERP adapters.
pub struct Engine<S, E> {
    shop: S,
    erp: E,
    state: EngineState,
    cfg: EngineConfig,
    clock: SharedClock,
    schedules: [Schedule; 3],
    /// Errors of the last tick (unreachable systems), for the caller to show.
    pub last_errors: Vec<String>,
}

impl<S: ShopApi, E: ErpApi> Engine<S, E> {
    /// Each lane draws its own random stream from `seed`, in a fixed order,
    /// so runs stay deterministic whatever order the lanes' requests
    /// interleave in.
    pub fn new(shop: S, erp: E, state: EngineState, cfg: EngineConfig, clock: SharedClock, seed: u64) -> Self {
        let mut master = ChaCha8Rng::seed_from_u64(seed);
        let schedules = FLOWS.map(|_| Schedule {
            rng: ChaCha8Rng::seed_from_u64(master.gen()),
            last: None,
            last_full: None,
        });
        Engine {
            shop,
            erp,
            state,
            cfg,
            clock,
            schedules,
            last_errors: Vec::new(),
        }
    }

    pub fn state(&self) -> &EngineState {
        &self.state
    }

    /// Makes the next tick run a full inventory pull (after a drain, an outage).
    pub fn force_full_inventory(&mut self) {
        force_full(&mut self.schedules[Flow::Inventory as usize]);
    }

    /// When the next flow is due.
    pub fn next_due(&self) -> SimTime {
        FLOWS
            .iter()
            .zip(&self.schedules)
            .map(|(f, s)| next_due(&self.cfg, *f, s))
            .min()
            .unwrap_or(SimTime::ZERO)
    }

    /// The three lanes, to run side by side, each on its own schedule.
    pub fn lanes(&mut self) -> [Lane<'_, S, E>; 3] {
        let ctx = Ctx {
            shop: &self.shop,
            erp: &self.erp,
            state: &self.state,
            cfg: &self.cfg,
            clock: &self.clock,
        };
        let [a, b, c] = &mut self.schedules;
        [
            Lane {
                flow: Flow::Orders,
                ctx,
                schedule: a,
            },
            Lane {
                flow: Flow::Shipments,
                ctx,
                schedule: b,
            },
            Lane {
                flow: Flow::Inventory,
                ctx,
                schedule: c,
            },
        ]
    }

    /// Runs every flow that is due now, side by side, and waits for all.
    pub async fn tick(&mut self) -> Result<TickReport, EngineError> {
        let now = self.clock.now();
        let [mut a, mut b, mut c] = self.lanes();
        let (a, b, c) = tokio::join!(a.tick(), b.tick(), c.tick());
        let mut report = TickReport {
            at: now,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for (part, errs) in [a?, b?, c?] {
            report.absorb(part);
            errors.extend(errs);
        }
        self.last_errors = errors;
        Ok(report)
    }

    /// Ticks until `stop` completes, calling `on_tick` after each tick.
    pub async fn run(
        &mut self,
        stop: impl Future<Output = ()>,
        mut on_tick: impl FnMut(&TickReport, &[String]),
    ) -> Result<(), EngineError> {
        tokio::pin!(stop);
        loop {
            let report = self.tick().await?;
            on_tick(&report, &self.last_errors);
            let wait = self.next_due().saturating_sub(self.clock.now());
            let wall = self.clock.speed().to_wall(wait).max(Duration::from_millis(1));
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(wall) => {}
            }
        }
    }
}

/// What every lane shares.
struct Ctx<'a, S, E> {
    shop: &'a S,
    erp: &'a E,
    state: &'a EngineState,
    cfg: &'a EngineConfig,
    clock: &'a SharedClock,
}

impl<S, E> Clone for Ctx<'_, S, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, E> Copy for Ctx<'_, S, E> {}

/// One flow of the engine, run on its own schedule (see [`Engine::lanes`]).
pub struct Lane<'a, S, E> {
    flow: Flow,
    ctx: Ctx<'a, S, E>,
    schedule: &'a mut Schedule,
}

fn interval(cfg: &EngineConfig, flow: Flow) -> Duration {
    match flow {
        Flow::Orders => cfg.intervals.orders,
        Flow::Shipments => cfg.intervals.shipments,
        Flow::Inventory => cfg.intervals.inventory,
    }
}

fn due(last: Option<SimTime>, every: Duration, now: SimTime) -> bool {
    last.is_none_or(|t| now.saturating_sub(t) >= every)
}

fn next_due(cfg: &EngineConfig, flow: Flow, s: &Schedule) -> SimTime {
    let at = |last: Option<SimTime>, every| last.map_or(SimTime::ZERO, |t: SimTime| t.plus(every));
    let next = at(s.last, interval(cfg, flow));
    match flow {
        Flow::Inventory => next.min(at(s.last_full, cfg.intervals.full_inventory)),
        _ => next,
    }
}

fn force_full(s: &mut Schedule) {
    s.last = None;
    s.last_full = None;
}

impl<S: ShopApi, E: ErpApi> Lane<'_, S, E> {
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// The engine's state (to check progress while the lanes run).
    pub fn state(&self) -> &EngineState {
        self.ctx.state
    }

    /// When this lane's flow is next due.
    pub fn next_due(&self) -> SimTime {
        next_due(self.ctx.cfg, self.flow, self.schedule)
    }

    /// Makes this lane's next tick a full inventory pull (the inventory lane
    /// only: other lanes are left as they are).
    pub fn force_full_inventory(&mut self) {
        if self.flow == Flow::Inventory {
            force_full(self.schedule);
        }
    }

    /// Runs the lane's flow if it is due now. Errors talking to the systems
    /// come back beside the report; only the engine's own state fails it.
    pub async fn tick(&mut self) -> Result<(TickReport, Vec<String>), EngineError> {
        let Ctx {
            shop,
            erp,
            state,
            cfg,
            clock,
        } = self.ctx;
        let now = clock.now();
        let mut report = TickReport {
            at: now,
            ..Default::default()
        };
        let mut errors = Vec::new();
        let s = &mut *self.schedule;
        let pause = ScaledPause(clock.clone());
        match self.flow {
            Flow::Orders if due(s.last, cfg.intervals.orders, now) => {
                s.last = Some(now);
                match export_once(
                    shop,
                    erp,
                    &pause,
                    state,
                    &cfg.export,
                    &cfg.mapping,
                    &cfg.retry,
                    &mut s.rng,
                )
                .await
                {
                    Ok(r) => report.export = Some(r),
                    Err(ExportError::State(e)) => return Err(e.into()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Flow::Shipments if due(s.last, cfg.intervals.shipments, now) => {
                s.last = Some(now);
                match fulfil_once(shop, erp, &pause, state, &cfg.fulfilment, &cfg.retry, &mut s.rng).await {
                    Ok(r) => report.fulfilment = Some(r),
                    Err(FulfilmentError::State(e)) => return Err(e.into()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Flow::Inventory => {
                let full = due(s.last_full, cfg.intervals.full_inventory, now);
                if !full && !due(s.last, cfg.intervals.inventory, now) {
                    return Ok((report, errors));
                }
                s.last = Some(now);
                if full {
                    s.last_full = Some(now);
                }
                report.full_inventory = full;
                match inventory_once(shop, erp, &pause, state, &cfg.inventory, &cfg.retry, &mut s.rng, full).await {
                    Ok(r) => report.inventory = Some(r),
                    Err(InventoryError::State(e)) => return Err(e.into()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            _ => {}
        }
        Ok((report, errors))
    }
}
