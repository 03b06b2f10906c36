//! Measurement at the twins (DESIGN.md principle 1): latencies, backlog and
//! throttling over time, computed only from what the twins observed, never from
//! an engine's log, so the same numbers judge the reference engine and any
//! external integration.
//!
//! - order export: `OrderPlaced` in Shopware → `ErpOrderCreated` with that
//!   order number as external document number (the first one, if duplicated);
//! - stock sync: an ERP receipt or adjustment (`ErpStockMoved`, not a shipment)
//!   → the next stock write of that SKU in Shopware, or no wait at all if
//!   Shopware already shows the SKU's true sellable stock then (a receipt that
//!   leaves an oversold SKU at or below zero needs no write);
//! - shipment sync: `ErpShipmentPosted` → the tracking number appearing on the
//!   order's delivery in Shopware (`TrackingSet`).
//!
//! Distributions are HDR histograms with 3 significant figures, in scenario ms.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::clock::SimTime;
use crate::observe::{EventRef, ObservationRef, Observations, System};
use crate::report::model::{Distribution, Latency, StockConsistency, TimelinePoint};

/// A latency recorder in scenario milliseconds: percentiles from an HDR
/// histogram (3 significant figures), max and mean exact.
#[derive(Debug)]
pub struct Recorder {
    hist: Histogram<u64>,
    max_ms: u64,
    sum_ms: u128,
}

impl Default for Recorder {
    fn default() -> Self {
        // Up to 30 scenario days in ms; 3 significant figures.
        let hist = Histogram::new_with_bounds(1, 30 * 86_400_000, 3).expect("valid histogram bounds");
        Recorder {
            hist,
            max_ms: 0,
            sum_ms: 0,
        }
    }
}

impl Recorder {
    pub fn record(&mut self, d: Duration) {
        let ms = d.as_millis() as u64;
        self.max_ms = self.max_ms.max(ms);
        self.sum_ms += u128::from(ms);
        // Values beyond the bound are clamped rather than lost.
        let _ = self.hist.record(ms.clamp(1, self.hist.high()));
    }

    pub fn distribution(&self) -> Distribution {
        if self.hist.is_empty() {
            return Distribution::default();
        }
        let q = |p: f64| (self.hist.value_at_quantile(p) as f64).min(self.max_ms as f64);
        let count = self.hist.len();
        Distribution {
            count,
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            max_ms: self.max_ms as f64,
            mean_ms: self.sum_ms as f64 / count as f64,
        }
    }
}

/// Everything measured from one run's observations.
#[derive(Debug, Default)]
pub struct Measured {
    pub latency: Latency,
    pub timeline: Vec<TimelinePoint>,
    /// Units put back by stock pushes (see [`resurrected_units`]), counted
    /// in the same pass over the log.
    pub resurrected_units: i64,
}

/// Measures a run: `obs` in any order, `end` the scenario end, one timeline
/// point per `interval`; `initial_sellable` is the ERP's available stock per
/// SKU at the start (see [`Sellable`]).
pub fn measure(
    obs: &Observations,
    end: SimTime,
    interval: Duration,
    initial_sellable: &BTreeMap<String, i64>,
) -> Measured {
    // Orders that reach the ERP at some point in the run. The others (parked as
    // exceptions, cancelled before export, or lost) never leave the backlog; they
    // are counted apart so they do not hide the in-flight backlog's drain.
    let exported_ever: HashSet<&str> = obs
        .iter()
        .filter_map(|o| match o.event {
            EventRef::ErpOrderCreated {
                external_document_number,
                ..
            } => Some(external_document_number),
            _ => None,
        })
        .collect();
    let mut never_exported = 0u64;
    let (mut export, mut stock, mut ship) = (Recorder::default(), Recorder::default(), Recorder::default());
    // order number -> placed at; removed once exported.
    let mut unexported: HashMap<&str, SimTime> = HashMap::new();
    // sku -> earliest ERP change not yet reflected in Shopware.
    let mut stock_pending: HashMap<&str, SimTime> = HashMap::new();
    let mut sellable = Sellable::new(initial_sellable);
    // sku -> the stock Shopware shows (known once it has been written).
    let mut shown: HashMap<&str, i64> = HashMap::new();
    // (order number, tracking) -> posted at.
    let mut ship_pending: HashMap<(&str, &str), SimTime> = HashMap::new();
    let step = interval.max(Duration::from_millis(1));
    let mut timeline: Vec<TimelinePoint> = Vec::new();
    let mut oldest_max = 0f64;
    let mut point = TimelinePoint::default();
    let mut next_edge = SimTime::ZERO.plus(step);
    let flush = |point: &mut TimelinePoint,
                 at: SimTime,
                 unexported: &HashMap<&str, SimTime>,
                 never_exported: u64,
                 timeline: &mut Vec<TimelinePoint>,
                 oldest_max: &mut f64| {
        point.t_ms = at.as_millis();
        point.backlog = unexported.len() as u64;
        point.never_exported = never_exported;
        if let Some(oldest) = unexported.values().min() {
            *oldest_max = oldest_max.max(at.saturating_sub(*oldest).as_millis() as f64);
        }
        timeline.push(std::mem::take(point));
    };
    let mut resurrection = Resurrection::default();
    for o in obs.by_time() {
        sellable.apply(&o.event);
        resurrection.see(&sellable, &o.event);
        if let (EventRef::StockWritten { sku, after, .. }, System::Shopware) = (o.event, o.system) {
            shown.insert(sku, after);
        }
        while o.at >= next_edge {
            flush(
                &mut point,
                next_edge,
                &unexported,
                never_exported,
                &mut timeline,
                &mut oldest_max,
            );
            next_edge = next_edge.plus(step);
        }
        match (o.event, o.system) {
            (EventRef::OrderPlaced { order_number, .. }, _) => {
                point.orders_placed += 1;
                if exported_ever.contains(order_number) {
                    unexported.entry(order_number).or_insert(o.at);
                } else {
                    never_exported += 1;
                }
            }
            (
                EventRef::ErpOrderCreated {
                    external_document_number,
                    ..
                },
                _,
            ) => {
                if let Some(placed) = unexported.remove(external_document_number) {
                    export.record(o.at.saturating_sub(placed));
                    point.orders_exported += 1;
                }
            }
            (EventRef::ErpStockMoved { sku, reason, .. }, _) if !reason.starts_with("shipment") => {
                let truth = sellable.get(sku).map(|t| t.max(0));
                if truth.is_some() && shown.get(sku).copied() == truth {
                    // Shopware already shows what the change leaves to sell.
                    let since = stock_pending.remove(sku).unwrap_or(o.at);
                    stock.record(o.at.saturating_sub(since));
                } else {
                    stock_pending.entry(sku).or_insert(o.at);
                }
            }
            (EventRef::StockWritten { sku, via, .. }, System::Shopware) if via == "sync" || via == "patch" => {
                if let Some(changed) = stock_pending.remove(sku) {
                    let lag = o.at.saturating_sub(changed);
                    stock.record(lag);
                    point.stock_lag_ms = point.stock_lag_ms.max(lag.as_millis() as f64);
                }
            }
            (
                EventRef::ErpShipmentPosted {
                    external_document_number,
                    tracking_number: Some(t),
                    ..
                },
                _,
            ) => {
                ship_pending.entry((external_document_number, t)).or_insert(o.at);
            }
            (
                EventRef::TrackingSet {
                    order_number: Some(n),
                    codes,
                    ..
                },
                _,
            ) => {
                for c in codes.iter() {
                    if let Some(posted) = ship_pending.remove(&(n, c)) {
                        ship.record(o.at.saturating_sub(posted));
                    }
                }
            }
            (EventRef::Throttled { .. }, _) => point.throttled += 1,
            _ => {}
        }
    }
    while next_edge <= end.plus(step) {
        flush(
            &mut point,
            next_edge.min(end),
            &unexported,
            never_exported,
            &mut timeline,
            &mut oldest_max,
        );
        if next_edge >= end {
            break;
        }
        next_edge = next_edge.plus(step);
    }
    Measured {
        latency: Latency {
            order_export: export.distribution(),
            stock_sync: stock.distribution(),
            shipment_sync: ship.distribution(),
            oldest_unexported_max_ms: oldest_max,
            stock_consistency: StockConsistency::default(),
        },
        timeline,
        resurrected_units: resurrection.units,
    }
}

/// Time to consistency (see [`StockConsistency`]): `compared` says which SKUs are
/// compared between the twins, `consistent_at_end` whether they all agree at the
/// end of the run (reconciliation found no stock mismatch). Observations may come
/// in any order. Per SKU, stock settles at the later of its last ERP receipt or
/// adjustment and its last integration write (`sync`, `patch`) in Shopware that
/// changed the figure: after that instant neither side moves without the other
/// (orders take stock on both sides once exported, shipments move on hand and
/// reserved alike), so agreement at the end means agreement since then.
pub fn stock_consistency(
    obs: &Observations,
    compared: impl Fn(&str) -> bool,
    consistent_at_end: bool,
) -> StockConsistency {
    StockSettling::of(obs).consistency(compared, consistent_at_end)
}

/// [`StockSettling`] being read off the log, an observation at a time, so a
/// caller that passes over the log anyway can read it in the same pass.
#[derive(Debug, Default)]
pub struct SettlingPass<'a> {
    last_change: Option<SimTime>,
    settled: HashMap<&'a str, SimTime>,
}

impl<'a> SettlingPass<'a> {
    pub fn see(&mut self, o: &ObservationRef<'a>) {
        let sku = match (o.event, o.system) {
            (EventRef::ErpStockMoved { sku, reason, .. }, _) if !reason.starts_with("shipment") => {
                self.last_change = self.last_change.max(Some(o.at));
                sku
            }
            (
                EventRef::StockWritten {
                    sku,
                    before,
                    after,
                    via,
                    ..
                },
                System::Shopware,
            ) if before != after && (via == "sync" || via == "patch") => sku,
            _ => return,
        };
        let at = self.settled.entry(sku).or_insert(o.at);
        *at = (*at).max(o.at);
    }

    pub fn finish(self) -> StockSettling {
        StockSettling {
            last_change: self.last_change,
            settled: self
                .settled
                .into_iter()
                .map(|(sku, at)| (sku.to_string(), at))
                .collect(),
        }
    }
}

/// What [`stock_consistency`] reads off the log: the last ERP stock change,
/// and per SKU the instant its stock settled. Owned, so a run can free the
/// log before it knows which SKUs are compared.
#[derive(Debug, Default)]
pub struct StockSettling {
    last_change: Option<SimTime>,
    settled: HashMap<String, SimTime>,
}

impl StockSettling {
    pub fn of(obs: &Observations) -> StockSettling {
        let mut pass = SettlingPass::default();
        for o in obs.iter() {
            pass.see(&o);
        }
        pass.finish()
    }

    /// Time to consistency over the SKUs `compared` says are compared.
    pub fn consistency(&self, compared: impl Fn(&str) -> bool, consistent_at_end: bool) -> StockConsistency {
        let consistent_at = self
            .settled
            .iter()
            .filter(|(sku, _)| compared(sku))
            .map(|(_, at)| *at)
            .max()
            .unwrap_or(SimTime::ZERO);
        let from = self.last_change.unwrap_or(SimTime::ZERO);
        StockConsistency {
            last_erp_stock_change_ms: self.last_change.map(SimTime::as_millis),
            consistent_at_ms: consistent_at_end.then(|| consistent_at.as_millis()),
            time_to_consistency_ms: consistent_at_end.then(|| consistent_at.saturating_sub(from).as_millis() as f64),
        }
    }
}

/// Units put back by stock pushes (F4, stock resurrection): the true sellable
/// stock per SKU is replayed from the observations (the ERP's available stock
/// at the start, minus units sold in Shopware, plus receipts, adjustments and
/// cancellations); every stock write by an integration that sets Shopware
/// above it counts the difference. Returns (units, pushes that resurrected).
pub fn resurrected_units(obs: &Observations, initial_sellable: &BTreeMap<String, i64>) -> (i64, u64) {
    let mut sellable = Sellable::new(initial_sellable);
    let mut resurrection = Resurrection::default();
    for o in obs.by_time() {
        sellable.apply(&o.event);
        resurrection.see(&sellable, &o.event);
    }
    (resurrection.units, resurrection.events)
}

/// The count of [`resurrected_units`], one observation at a time.
#[derive(Debug, Default)]
struct Resurrection {
    units: i64,
    events: u64,
}

impl Resurrection {
    /// Counts a stock write by an integration above the true sellable stock
    /// (`sellable` has already applied the observation).
    fn see(&mut self, sellable: &Sellable, event: &EventRef) {
        if let EventRef::StockWritten { sku, after, via, .. } = *event {
            if via == "sync" || via == "patch" {
                if let Some(truth) = sellable.get(sku) {
                    let excess = after - truth.max(0);
                    if excess > 0 {
                        self.units += excess;
                        self.events += 1;
                    }
                }
            }
        }
    }
}

/// The true sellable stock per SKU, replayed from the observations in time
/// order: the ERP's available stock at the start, minus units sold in
/// Shopware, plus receipts, adjustments and cancellations. SKUs the ERP does
/// not carry are not followed.
pub struct Sellable {
    /// Looked up once per order line of the day: a hash map, not a B-tree of
    /// string keys (only lookups, so its order never shows).
    ledger: HashMap<String, i64>,
}

impl Sellable {
    pub fn new(initial: &BTreeMap<String, i64>) -> Self {
        Sellable {
            ledger: initial.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    pub fn get(&self, sku: &str) -> Option<i64> {
        self.ledger.get(sku).copied()
    }

    /// Applies one observation (the next in time order).
    pub fn apply(&mut self, event: &EventRef) {
        let mut add = |sku: &str, delta: i64| {
            if let Some(v) = self.ledger.get_mut(sku) {
                *v += delta;
            }
        };
        match *event {
            EventRef::OrderPlaced { lines, .. } => {
                for (sku, qty) in lines.iter() {
                    add(sku, -qty);
                }
            }
            EventRef::StockWritten {
                sku,
                before,
                after,
                via,
                ..
            } if via == "cancel" || via == "reopen" => add(sku, after - before),
            EventRef::ErpStockMoved {
                sku,
                before,
                after,
                reason,
            } if !reason.starts_with("shipment") => add(sku, after - before),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Event, Observation, SkuQty};

    /// Packs observations as a run's log holds them.
    fn pack(obs: &[Observation]) -> Observations {
        obs.iter().cloned().collect()
    }

    fn at(s: f64, system: System, event: Event) -> Observation {
        Observation {
            at: SimTime::from_secs_f64(s),
            system,
            event,
        }
    }

    fn placed(s: f64, n: &str) -> Observation {
        at(
            s,
            System::Shopware,
            Event::OrderPlaced {
                order_id: n.into(),
                order_number: n.into(),
                guest: false,
                lines: vec![],
                gross: 1.0,
            },
        )
    }

    fn created(s: f64, n: &str) -> Observation {
        at(
            s,
            System::Erp,
            Event::ErpOrderCreated {
                number: format!("S-{n}"),
                external_document_number: n.into(),
                customer_number: "C".into(),
                lines: vec![SkuQty {
                    sku: "SW1".into(),
                    qty: 1,
                }],
                total_including_tax: 1.0,
            },
        )
    }

    #[test]
    fn known_latencies_come_out_within_hdr_precision() {
        // 100 orders exported after exactly 30 s, and one after 300 s.
        let mut obs = Vec::new();
        for i in 0..100 {
            obs.push(placed(i as f64, &i.to_string()));
            obs.push(created(i as f64 + 30.0, &i.to_string()));
        }
        obs.push(placed(500.0, "slow"));
        obs.push(created(800.0, "slow"));
        // A duplicate creation is not a second export.
        obs.push(created(900.0, "slow"));
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(1000.0),
            Duration::from_secs(60),
            &BTreeMap::new(),
        );
        let d = &m.latency.order_export;
        assert_eq!(d.count, 101);
        assert!((d.p50_ms - 30_000.0).abs() / 30_000.0 < 0.001, "{d:?}");
        assert!((d.max_ms - 300_000.0).abs() / 300_000.0 < 0.001, "{d:?}");
        assert!((m.latency.oldest_unexported_max_ms - 300_000.0).abs() <= 60_000.0);
    }

    #[test]
    fn stock_and_shipment_lags_pair_the_right_events() {
        let obs = vec![
            at(
                10.0,
                System::Erp,
                Event::ErpStockMoved {
                    sku: "SW1".into(),
                    before: 0,
                    after: 5,
                    reason: "receipt".into(),
                },
            ),
            at(
                12.0,
                System::Erp,
                Event::ErpStockMoved {
                    sku: "SW1".into(),
                    before: 5,
                    after: 4,
                    reason: "shipment S-1".into(),
                },
            ),
            at(
                70.0,
                System::Shopware,
                Event::StockWritten {
                    sku: "SW1".into(),
                    before: 0,
                    after: 5,
                    via: "sync".into(),
                    available: true,
                },
            ),
            at(
                80.0,
                System::Shopware,
                Event::StockWritten {
                    sku: "SW1".into(),
                    before: 5,
                    after: 4,
                    via: "order".into(),
                    available: true,
                },
            ),
            at(
                100.0,
                System::Erp,
                Event::ErpShipmentPosted {
                    number: "S".into(),
                    external_document_number: "10001".into(),
                    tracking_number: Some("1Z".into()),
                    lines: vec![],
                },
            ),
            at(
                160.0,
                System::Shopware,
                Event::TrackingSet {
                    delivery_id: "d".into(),
                    order_number: Some("10001".into()),
                    codes: vec!["1Z".into()],
                },
            ),
        ];
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(200.0),
            Duration::from_secs(60),
            &BTreeMap::new(),
        );
        assert_eq!(m.latency.stock_sync.count, 1);
        assert_eq!(m.latency.stock_sync.max_ms, 60_000.0);
        assert_eq!(m.latency.shipment_sync.max_ms, 60_000.0);
    }

    #[test]
    fn a_receipt_that_leaves_an_oversold_sku_at_zero_needs_no_write() {
        // SW1 is oversold by 5 and Shopware shows 0; a receipt of 2 leaves -3:
        // Shopware already shows what there is to sell. SW2 (4 to sell) takes a
        // receipt of 2 and waits 60 s for the write of 6.
        let initial: BTreeMap<String, i64> = [("SW1".to_string(), -5), ("SW2".to_string(), 4)].into();
        let obs = vec![
            written(1.0, "SW1", 2, 0, "sync"),
            written(1.0, "SW2", 0, 4, "sync"),
            moved(10.0, "SW1", "receipt"),
            moved(10.0, "SW2", "receipt"),
            written(70.0, "SW2", 4, 6, "sync"),
        ];
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(100.0),
            Duration::from_secs(60),
            &initial,
        );
        assert_eq!(m.latency.stock_sync.count, 2);
        // The histogram's lowest bucket is 1 ms.
        assert_eq!(
            (m.latency.stock_sync.p50_ms, m.latency.stock_sync.max_ms),
            (1.0, 60_000.0)
        );
        // Without the starting figures nothing is known to agree: both wait for a write.
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(100.0),
            Duration::from_secs(60),
            &BTreeMap::new(),
        );
        assert_eq!(m.latency.stock_sync.count, 1);
    }

    #[test]
    fn pushing_on_hand_before_the_order_reached_the_erp_resurrects_its_units() {
        let sold = |s: f64, qty: i64| {
            at(
                s,
                System::Shopware,
                Event::OrderPlaced {
                    order_id: "o".into(),
                    order_number: "1".into(),
                    guest: false,
                    lines: vec![SkuQty { sku: "SW1".into(), qty }],
                    gross: 1.0,
                },
            )
        };
        let push = |s: f64, after: i64| {
            at(
                s,
                System::Shopware,
                Event::StockWritten {
                    sku: "SW1".into(),
                    before: 0,
                    after,
                    via: "sync".into(),
                    available: true,
                },
            )
        };
        let initial: BTreeMap<String, i64> = [("SW1".to_string(), 10)].into();
        // 3 sold, then the naive push writes on hand (10): 3 units resurrected.
        let naive = pack(&[sold(1.0, 3), push(2.0, 10)]);
        let (units, events) = resurrected_units(&naive, &initial);
        assert_eq!((units, events), (3, 1));
        // The run counts them in its measuring pass, with the same figure.
        let m = measure(&naive, SimTime::from_secs_f64(5.0), Duration::from_secs(1), &initial);
        assert_eq!(m.resurrected_units, 3);
        // The careful push (10 - 3) resurrects nothing; a receipt raises the truth.
        let receipt = at(
            3.0,
            System::Erp,
            Event::ErpStockMoved {
                sku: "SW1".into(),
                before: 10,
                after: 15,
                reason: "receipt".into(),
            },
        );
        let (units, _) = resurrected_units(&pack(&[sold(1.0, 3), push(2.0, 7), receipt, push(4.0, 12)]), &initial);
        assert_eq!(units, 0);
    }

    fn moved(s: f64, sku: &str, reason: &str) -> Observation {
        at(
            s,
            System::Erp,
            Event::ErpStockMoved {
                sku: sku.into(),
                before: 10,
                after: 12,
                reason: reason.into(),
            },
        )
    }

    fn written(s: f64, sku: &str, before: i64, after: i64, via: &str) -> Observation {
        at(
            s,
            System::Shopware,
            Event::StockWritten {
                sku: sku.into(),
                before,
                after,
                via: via.into(),
                available: true,
            },
        )
    }

    #[test]
    fn stock_is_consistent_from_the_last_push_that_changed_a_figure() {
        let obs = vec![
            moved(100.0, "A", "receipt"),
            moved(400.0, "B", "adjustment: cycle count"),
            // A shipment moves on hand and reserved alike: not a change to wait for.
            moved(900.0, "A", "shipment S-1"),
            written(130.0, "A", 10, 12, "sync"),
            written(460.0, "B", 10, 12, "patch"),
            // A push of the figure Shopware already shows changes nothing.
            written(700.0, "A", 12, 12, "sync"),
            // Orders and cancellations move both sides.
            written(800.0, "B", 12, 11, "order"),
            // A SKU outside the comparison does not count.
            written(950.0, "X", 1, 2, "sync"),
        ];
        let c = stock_consistency(&pack(&obs), |s| s != "X", true);
        assert_eq!(c.last_erp_stock_change_ms, Some(400_000));
        assert_eq!(c.consistent_at_ms, Some(460_000));
        assert_eq!(c.time_to_consistency_ms, Some(60_000.0));
        // Order does not matter.
        let mut reversed = obs.clone();
        reversed.reverse();
        assert_eq!(stock_consistency(&pack(&reversed), |s| s != "X", true), c);
        // Still different at the end: never consistent, but the last change is known.
        let never = stock_consistency(&pack(&obs), |s| s != "X", false);
        assert_eq!((never.consistent_at_ms, never.time_to_consistency_ms), (None, None));
        assert_eq!(never.last_erp_stock_change_ms, Some(400_000));
        // No ERP change and no push: consistent from the start.
        let quiet = stock_consistency(&pack(&[]), |_| true, true);
        assert_eq!(
            (quiet.consistent_at_ms, quiet.time_to_consistency_ms),
            (Some(0), Some(0.0))
        );
    }

    #[test]
    fn the_timeline_counts_per_interval_and_tracks_the_backlog() {
        let obs = vec![
            placed(5.0, "a"),
            placed(65.0, "b"),
            created(70.0, "a"),
            placed(130.0, "c"),
            created(175.0, "b"),
        ];
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(180.0),
            Duration::from_secs(60),
            &BTreeMap::new(),
        );
        let placed: Vec<u64> = m.timeline.iter().map(|p| p.orders_placed).collect();
        let backlog: Vec<u64> = m.timeline.iter().map(|p| p.backlog).collect();
        let never: Vec<u64> = m.timeline.iter().map(|p| p.never_exported).collect();
        assert_eq!(placed, vec![1, 1, 1]);
        // "c" never reaches the ERP (parked): it is counted apart, not as backlog.
        assert_eq!(backlog, vec![1, 1, 0]);
        assert_eq!(never, vec![0, 0, 1]);
        assert_eq!(m.timeline[1].orders_exported, 1);
    }

    #[test]
    fn a_parked_order_does_not_set_the_oldest_unexported_age() {
        // "parked" waits the whole hour and never exports; "slow" takes 10 minutes.
        let obs = vec![placed(0.0, "parked"), placed(60.0, "slow"), created(660.0, "slow")];
        let m = measure(
            &pack(&obs),
            SimTime::from_secs_f64(3_600.0),
            Duration::from_secs(60),
            &BTreeMap::new(),
        );
        let oldest = m.latency.oldest_unexported_max_ms;
        assert!((540_000.0..=600_000.0).contains(&oldest), "oldest {oldest}");
        assert_eq!(m.timeline.last().unwrap().never_exported, 1);
    }
}
