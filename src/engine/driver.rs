//! The engine's loop: each flow (order export, fulfilment, inventory deltas,
//! full inventory pulls) runs when its interval on the scenario clock is due.
//! [`Engine::tick`] runs what is due now and reports; [`Engine::run`] ticks
//! until told to stop, sleeping until the next flow is due.

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

/// A flow failed in a way the engine cannot work around (its state file).
/// Errors talking to Shopware or the ERP are not fatal: the flow is retried on
/// its next tick, and the error is reported here.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
}

/// The reference engine over any shop and ERP adapters.
pub struct Engine<S, E> {
    shop: S,
    erp: E,
    state: EngineState,
    cfg: EngineConfig,
    clock: SharedClock,
    rng: ChaCha8Rng,
    last: [Option<SimTime>; 4],
    /// Errors of the last tick (unreachable systems), for the caller to show.
    pub last_errors: Vec<String>,
}

const ORDERS: usize = 0;
const SHIPMENTS: usize = 1;
const INVENTORY: usize = 2;
const FULL: usize = 3;

impl<S: ShopApi, E: ErpApi> Engine<S, E> {
    pub fn new(shop: S, erp: E, state: EngineState, cfg: EngineConfig, clock: SharedClock, seed: u64) -> Self {
        Engine {
            shop,
            erp,
            state,
            cfg,
            clock,
            rng: ChaCha8Rng::seed_from_u64(seed),
            last: [None; 4],
            last_errors: Vec::new(),
        }
    }

    pub fn state(&self) -> &EngineState {
        &self.state
    }

    fn intervals(&self) -> [Duration; 4] {
        let i = &self.cfg.intervals;
        [i.orders, i.shipments, i.inventory, i.full_inventory]
    }

    fn due(&self, flow: usize, now: SimTime) -> bool {
        self.last[flow].is_none_or(|t| now.saturating_sub(t) >= self.intervals()[flow])
    }

    /// Makes the next tick run a full inventory pull (after a drain, an outage).
    pub fn force_full_inventory(&mut self) {
        self.last[FULL] = None;
        self.last[INVENTORY] = None;
    }

    /// When the next flow is due.
    pub fn next_due(&self) -> SimTime {
        (0..4)
            .map(|f| self.last[f].map_or(SimTime::ZERO, |t| t.plus(self.intervals()[f])))
            .min()
            .unwrap_or(SimTime::ZERO)
    }

    /// Runs every flow that is due now. Orders go first, so the stock push
    /// subtracts as few unacknowledged orders as possible.
    pub async fn tick(&mut self) -> Result<TickReport, EngineError> {
        let now = self.clock.now();
        let mut report = TickReport {
            at: now,
            ..Default::default()
        };
        self.last_errors.clear();
        let pause = ScaledPause(self.clock.clone());
        // Order export and fulfilment run side by side: on a peak day thousands
        // of shipments must not hold the orders back (each flow has its own
        // random stream, drawn in a fixed order, so runs stay deterministic).
        let (do_export, do_ship) = (self.due(ORDERS, now), self.due(SHIPMENTS, now));
        if do_export {
            self.last[ORDERS] = Some(now);
        }
        if do_ship {
            self.last[SHIPMENTS] = Some(now);
        }
        let mut ship_rng = ChaCha8Rng::seed_from_u64(self.rng.gen());
        let export = async {
            if !do_export {
                return None;
            }
            Some(
                export_once(
                    &self.shop,
                    &self.erp,
                    &pause,
                    &self.state,
                    &self.cfg.export,
                    &self.cfg.mapping,
                    &self.cfg.retry,
                    &mut self.rng,
                )
                .await,
            )
        };
        let ship = async {
            if !do_ship {
                return None;
            }
            Some(
                fulfil_once(
                    &self.shop,
                    &self.erp,
                    &pause,
                    &self.state,
                    &self.cfg.fulfilment,
                    &self.cfg.retry,
                    &mut ship_rng,
                )
                .await,
            )
        };
        let (exported, shipped) = tokio::join!(export, ship);
        match exported {
            Some(Ok(r)) => report.export = Some(r),
            Some(Err(ExportError::State(e))) => return Err(e.into()),
            Some(Err(e)) => self.last_errors.push(e.to_string()),
            None => {}
        }
        match shipped {
            Some(Ok(r)) => report.fulfilment = Some(r),
            Some(Err(FulfilmentError::State(e))) => return Err(e.into()),
            Some(Err(e)) => self.last_errors.push(e.to_string()),
            None => {}
        }
        let full = self.due(FULL, now);
        if full || self.due(INVENTORY, now) {
            self.last[INVENTORY] = Some(now);
            if full {
                self.last[FULL] = Some(now);
            }
            report.full_inventory = full;
            match inventory_once(
                &self.shop,
                &self.erp,
                &pause,
                &self.state,
                &self.cfg.inventory,
                &self.cfg.retry,
                &mut self.rng,
                full,
            )
            .await
            {
                Ok(r) => report.inventory = Some(r),
                Err(InventoryError::State(e)) => return Err(e.into()),
                Err(e) => self.last_errors.push(e.to_string()),
            }
        }
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
