//! Traffic generation: a plan and its catalogue become a trace, streamed in time order.
//!
//! One seed governs everything, with one ChaCha8 sub-stream per concern so that
//! changing one concern's settings leaves the others' draws alone: arrivals
//! (Poisson: exponential inter-arrival times `-ln(U)/λ` from each phase's
//! `orders_per_hour`), baskets (lines, quantities, configurator options,
//! promotions), customers (new or returning, guest or registered), cancellations,
//! and one stream per `[[erp_events]]` entry. A customer's identity (name,
//! address, e-mail) is drawn from its own stream keyed by its number, so a
//! returning buyer is regenerated instead of stored and memory stays flat: e-mails
//! are unique per customer (`first.last.c17@example.com`, guests `…g17…`), and a
//! returning guest checks out again with the same e-mail as a new guest row.
//!
//! Events are merged by time (ties: ERP events, then cancellations, then orders)
//! and written as they are made; the same plan and seed give a byte-identical trace.
//!
//! Baskets draw from every sellable SKU, sold-out closeouts included: whether a line
//! can be bought is decided at replay, against the stock Shopware shows then (a
//! restocked closeout sells again; one the engine left unavailable does not).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::io::{self, Write};

use fake::faker::address::en::{BuildingNumber, CityName, StreetName, ZipCode};
use fake::faker::name::en::{FirstName, LastName};
use fake::Fake;
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::catalogue::BuiltCatalogue;
use super::plan::{ErpEvent, ErpEventKind, Phase, Plan, Select};
use super::trace::{TraceEvent, TraceWriter};
use crate::twin::shopware::checkout::{Cart, CartCustomer, CartLine, CartOption, CartPromotion, DiscountKind};

const ARRIVALS: u64 = 10;
const BASKETS: u64 = 11;
const CUSTOMERS: u64 = 12;
const CANCELS: u64 = 13;
const REGISTERED_IDENTITY: u64 = 14;
const GUEST_IDENTITY: u64 = 15;
const ERP_EVENTS: u64 = 100;

/// Mean time from placing an order to cancelling it (scenario seconds), after a minute.
const CANCEL_MEAN_SECS: f64 = 20.0 * 60.0;

/// Engraving texts: short ones and ones longer than typical ERP description fields (F7).
const ENGRAVINGS: &[&str] = &[
    "Happy Birthday!",
    "J + M",
    "For Anna - thank you for twenty wonderful years together, with all my love",
    "Team Nordlicht - Winner of the Hamburg City Relay 2026, 4 x 10 km category",
    "Merry Christmas",
];

/// What a generated trace holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GenerateSummary {
    pub events: u64,
    pub orders: u64,
    pub guest_orders: u64,
    /// Orders by a buyer seen before (registered or guest).
    pub returning_orders: u64,
    pub promotion_orders: u64,
    pub configurator_orders: u64,
    pub lines: u64,
    pub cancels: u64,
    pub erp_receipts: u64,
    pub erp_adjustments: u64,
    /// Distinct registered customers and distinct guest identities.
    pub customers: u64,
    pub guests: u64,
    /// Order lines for SKUs the ERP does not know (F1).
    pub lines_missing_in_erp: u64,
    /// Orders with at least one such line: the ERP rejects them until mapped.
    pub orders_missing_in_erp: u64,
    pub last_at_ms: u64,
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Writes the plan's traffic to `out` as a JSONL trace (see [`super::trace`]).
pub fn generate(plan: &Plan, catalogue: &BuiltCatalogue, out: &mut impl Write) -> io::Result<GenerateSummary> {
    let mut gen = Generator::new(plan, catalogue);
    let mut w = TraceWriter::new(out);
    let mut sum = GenerateSummary::default();
    loop {
        let erp = gen
            .erp
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.peek().map(|t| (t, i)))
            .min();
        let cancel = gen.cancels.peek().map(|Reverse((t, _))| *t);
        let order = gen.orders.next_at;
        let times = [erp.map(|(t, _)| t), cancel, order];
        let Some(now) = times.iter().flatten().min().copied() else {
            break;
        };
        let event = if erp.is_some_and(|(t, _)| t == now) {
            let i = erp.map_or(0, |(_, i)| i);
            match gen.erp[i].pop() {
                Some(e) => e,
                None => continue,
            }
        } else if cancel == Some(now) {
            let Some(Reverse((at_ms, order_index))) = gen.cancels.pop() else {
                continue;
            };
            sum.cancels += 1;
            TraceEvent::CancelOrder { at_ms, order_index }
        } else {
            // An arrival always lies inside the phase `Arrivals` is in.
            let Some(phase) = gen.orders.phase().cloned() else {
                break;
            };
            let e = gen.place_order(&phase, now, w.placed(), &mut sum);
            gen.orders.advance();
            e
        };
        match &event {
            TraceEvent::ErpReceipt { .. } => sum.erp_receipts += 1,
            TraceEvent::ErpAdjustment { .. } => sum.erp_adjustments += 1,
            _ => {}
        }
        sum.last_at_ms = now;
        w.write(&event)?;
    }
    sum.events = w.events();
    sum.customers = gen.registered;
    sum.guests = gen.guests;
    w.finish()?;
    Ok(sum)
}

struct Generator<'a> {
    plan: &'a Plan,
    cat: &'a BuiltCatalogue,
    missing: BTreeSet<&'a str>,
    orders: Arrivals<'a>,
    erp: Vec<ErpStream<'a>>,
    cancels: BinaryHeap<Reverse<(u64, u64)>>,
    baskets: ChaCha8Rng,
    customers: ChaCha8Rng,
    cancel_rng: ChaCha8Rng,
    registered: u64,
    guests: u64,
}

impl<'a> Generator<'a> {
    fn new(plan: &'a Plan, cat: &'a BuiltCatalogue) -> Self {
        let missing: BTreeSet<&str> = cat.missing_in_erp.iter().map(String::as_str).collect();
        let in_erp = |list: &'a [String]| -> Vec<&'a str> {
            list.iter()
                .map(String::as_str)
                .filter(|s| !missing.contains(s))
                .collect()
        };
        let erp = plan
            .erp_events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let pool = match e.select {
                    Select::Any => in_erp(&cat.erp_skus),
                    Select::Closeouts => in_erp(&cat.closeouts),
                    Select::SoldOut => in_erp(&cat.sold_out),
                };
                ErpStream::new(e, pool, rng_for(plan.seed, ERP_EVENTS + i as u64))
            })
            .collect();
        let mut orders = Arrivals {
            phases: &plan.phases,
            idx: 0,
            t: plan.phases.first().map_or(0.0, |p| p.start.as_secs_f64()),
            rng: rng_for(plan.seed, ARRIVALS),
            next_at: None,
        };
        orders.advance();
        Generator {
            plan,
            cat,
            missing,
            orders,
            erp,
            cancels: BinaryHeap::new(),
            baskets: rng_for(plan.seed, BASKETS),
            customers: rng_for(plan.seed, CUSTOMERS),
            cancel_rng: rng_for(plan.seed, CANCELS),
            registered: 0,
            guests: 0,
        }
    }

    fn place_order(&mut self, phase: &Phase, at_ms: u64, order_index: u64, sum: &mut GenerateSummary) -> TraceEvent {
        sum.orders += 1;

        // Who buys.
        let guest = self.customers.gen_bool(phase.guest_share);
        let returning = self.customers.gen_bool(phase.returning_share);
        let (count, stream) = if guest {
            (&mut self.guests, GUEST_IDENTITY)
        } else {
            (&mut self.registered, REGISTERED_IDENTITY)
        };
        let number = if returning && *count > 0 {
            sum.returning_orders += 1;
            self.customers.gen_range(0..*count)
        } else {
            *count += 1;
            *count - 1
        };
        let customer = identity(self.plan.seed, stream, number, guest);
        if guest {
            sum.guest_orders += 1;
        }

        // What they buy.
        let rng = &mut self.baskets;
        let (lo, hi) = phase.basket_size;
        let size = (rng.gen_range(lo..=hi) as usize).min(self.cat.sellable.len());
        let mut lines = Vec::with_capacity(size);
        let mut used: Vec<&str> = Vec::with_capacity(size);
        if phase.configurator_share > 0.0 && !self.cat.customizable.is_empty() && rng.gen_bool(phase.configurator_share)
        {
            let n = &self.cat.customizable[rng.gen_range(0..self.cat.customizable.len())];
            let mut options = vec![CartOption {
                label: "Engraving".into(),
                value: ENGRAVINGS[rng.gen_range(0..ENGRAVINGS.len())].into(),
                surcharge_gross: 4.9,
                one_time: false,
                item_number: None,
            }];
            if rng.gen_bool(0.5) {
                options.push(CartOption {
                    label: "Gift wrapping".into(),
                    value: "Red paper, gold ribbon".into(),
                    surcharge_gross: 2.5,
                    one_time: true,
                    item_number: Some("OPT-GIFTWRAP".into()),
                });
            }
            lines.push(CartLine::CustomizedProducts {
                product_number: n.clone(),
                quantity: quantity(rng),
                options,
            });
            used.push(n);
            sum.configurator_orders += 1;
        }
        let mut attempts = 0;
        while lines.len() < size.max(1) && attempts < 4 * size + 4 {
            attempts += 1;
            let n = &self.cat.sellable[rng.gen_range(0..self.cat.sellable.len())];
            if used.contains(&n.as_str()) {
                continue;
            }
            used.push(n);
            lines.push(CartLine::Product {
                product_number: n.clone(),
                quantity: quantity(rng),
            });
        }
        sum.lines += lines.len() as u64;
        let unmapped = used.iter().filter(|n| self.missing.contains(*n)).count() as u64;
        sum.lines_missing_in_erp += unmapped;
        sum.orders_missing_in_erp += u64::from(unmapped > 0);
        let promotion = rng.gen_bool(phase.promotion_share).then(|| {
            sum.promotion_orders += 1;
            if rng.gen_bool(0.5) {
                CartPromotion {
                    name: "Black Friday 10 %".into(),
                    code: Some("BLACKFRIDAY10".into()),
                    discount: DiscountKind::Percentage(10.0),
                }
            } else {
                CartPromotion {
                    name: "Weekend deal".into(),
                    code: None,
                    discount: DiscountKind::Absolute(5.0),
                }
            }
        });

        // Whether they change their mind.
        if self.cancel_rng.gen_bool(phase.cancel_share) {
            let u: f64 = 1.0 - self.cancel_rng.gen::<f64>();
            let delay_ms = ((60.0 - u.ln() * CANCEL_MEAN_SECS) * 1000.0) as u64;
            let at = at_ms.saturating_add(delay_ms);
            if u128::from(at) <= self.plan.duration.as_millis() {
                self.cancels.push(Reverse((at, order_index)));
            }
        }
        TraceEvent::PlaceOrder {
            at_ms,
            cart: Box::new(Cart {
                customer,
                lines,
                promotion,
                shipping_gross: Some(4.95),
                tax_status: None,
                currency: None,
            }),
        }
    }
}

/// 1 most of the time, sometimes 2 or 3.
fn quantity(rng: &mut ChaCha8Rng) -> i64 {
    match rng.gen_range(0..100) {
        0..=74 => 1,
        75..=92 => 2,
        _ => 3,
    }
}

/// The `number`-th registered customer or guest, regenerated from its own stream.
fn identity(seed: u64, stream: u64, number: u64, guest: bool) -> CartCustomer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ number.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    rng.set_stream(stream);
    let first: String = FirstName().fake_with_rng(&mut rng);
    let last: String = LastName().fake_with_rng(&mut rng);
    let street: String = StreetName().fake_with_rng(&mut rng);
    let building: String = BuildingNumber().fake_with_rng(&mut rng);
    let zipcode: String = ZipCode().fake_with_rng(&mut rng);
    let city: String = CityName().fake_with_rng(&mut rng);
    let tag = if guest { 'g' } else { 'c' };
    let local: String = format!("{first}.{last}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect::<String>()
        .to_lowercase();
    CartCustomer {
        email: format!("{local}.{tag}{number}@example.com"),
        first_name: first,
        last_name: last,
        guest,
        customer_number: None,
        company: None,
        street: format!("{street} {building}"),
        zipcode,
        city,
        country_iso: Some("DE".into()),
        vat_ids: vec![],
        phone_number: None,
    }
}

/// Poisson order arrivals across the phases.
struct Arrivals<'a> {
    phases: &'a [Phase],
    idx: usize,
    /// Scenario seconds.
    t: f64,
    rng: ChaCha8Rng,
    /// The next arrival (ms), none when the phases are over.
    next_at: Option<u64>,
}

impl Arrivals<'_> {
    fn phase(&self) -> Option<&Phase> {
        self.phases.get(self.idx)
    }

    fn next_phase(&mut self) {
        self.idx += 1;
        if let Some(p) = self.phases.get(self.idx) {
            self.t = p.start.as_secs_f64();
        }
    }

    fn advance(&mut self) {
        self.next_at = loop {
            let Some(p) = self.phases.get(self.idx) else { break None };
            if p.orders_per_hour <= 0.0 {
                self.next_phase();
                continue;
            }
            let u: f64 = 1.0 - self.rng.gen::<f64>(); // (0, 1]: ln is finite
            self.t += -u.ln() * 3600.0 / p.orders_per_hour;
            if self.t >= p.end.as_secs_f64() {
                // Exponential gaps are memoryless: restart at the next phase's start.
                self.next_phase();
                continue;
            }
            break Some((self.t * 1000.0) as u64);
        };
    }
}

/// One `[[erp_events]]` entry as a time-ordered stream.
struct ErpStream<'a> {
    event: &'a ErpEvent,
    pool: Vec<&'a str>,
    rng: ChaCha8Rng,
    tick: u64,
    buffer: VecDeque<TraceEvent>,
}

impl<'a> ErpStream<'a> {
    fn new(event: &'a ErpEvent, pool: Vec<&'a str>, rng: ChaCha8Rng) -> Self {
        ErpStream {
            event,
            pool,
            rng,
            tick: 0,
            buffer: VecDeque::new(),
        }
    }

    /// The next tick's instant (ms), or none when the stream is over.
    fn tick_at(&self) -> Option<u64> {
        match &self.event.kind {
            ErpEventKind::Receipt { every, start, end, .. } | ErpEventKind::Adjustment { every, start, end, .. } => {
                let t = start.as_millis() as u64 + self.tick * every.as_millis() as u64;
                (u128::from(t) < end.as_millis()).then_some(t)
            }
            ErpEventKind::Burst { at, .. } => at.get(self.tick as usize).map(|d| d.as_millis() as u64),
        }
    }

    fn refill(&mut self) {
        while self.buffer.is_empty() && !self.pool.is_empty() {
            let Some(t) = self.tick_at() else { return };
            self.tick += 1;
            let n = ((self.event.share * self.pool.len() as f64).ceil() as usize).clamp(1, self.pool.len());
            let spread_ms = match &self.event.kind {
                ErpEventKind::Burst { spread, .. } => spread.as_millis() as u64,
                _ => 0,
            };
            let picks = index::sample(&mut self.rng, self.pool.len(), n);
            for (k, i) in picks.into_iter().enumerate() {
                let at_ms = t + spread_ms * k as u64 / n as u64;
                let sku = self.pool[i].to_string();
                let ev = match &self.event.kind {
                    ErpEventKind::Receipt { qty: (lo, hi), .. } | ErpEventKind::Burst { qty: (lo, hi), .. } => {
                        TraceEvent::ErpReceipt {
                            at_ms,
                            sku,
                            qty: self.rng.gen_range(*lo..=*hi),
                        }
                    }
                    ErpEventKind::Adjustment {
                        delta: (lo, hi),
                        reason,
                        ..
                    } => {
                        let mut delta = 0;
                        while delta == 0 {
                            delta = self.rng.gen_range(*lo..=*hi);
                        }
                        TraceEvent::ErpAdjustment {
                            at_ms,
                            sku,
                            delta,
                            reason: reason.clone(),
                        }
                    }
                };
                self.buffer.push_back(ev);
            }
        }
    }

    fn peek(&mut self) -> Option<u64> {
        self.refill();
        self.buffer.front().map(TraceEvent::at_ms)
    }

    fn pop(&mut self) -> Option<TraceEvent> {
        self.refill();
        self.buffer.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{catalogue, plan, trace};
    use std::path::Path;

    fn default_plan() -> Plan {
        plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml")).unwrap()
    }

    fn run(plan: &Plan) -> (Vec<u8>, GenerateSummary) {
        let cat = catalogue::build(plan);
        let mut out = Vec::new();
        let sum = generate(plan, &cat, &mut out).unwrap();
        (out, sum)
    }

    #[test]
    fn same_plan_same_bytes_other_seed_other_trace() {
        let p = default_plan();
        let (a, sa) = run(&p);
        let (b, sb) = run(&p);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        let mut q = p.clone();
        q.seed += 1;
        assert_ne!(run(&q).0, a);
    }

    #[test]
    fn the_default_trace_reads_back_in_time_order_with_every_kind() {
        let p = default_plan();
        let (bytes, sum) = run(&p);
        let events: Vec<TraceEvent> = trace::read(bytes.as_slice()).collect::<Result<_, _>>().unwrap();
        assert_eq!(events.len() as u64, sum.events);
        assert!(events.windows(2).all(|w| w[0].at_ms() <= w[1].at_ms()));
        assert!(sum.last_at_ms as u128 <= p.duration.as_millis());
        assert!(sum.orders > 100, "{sum:?}");
        for (what, n) in [
            ("guest", sum.guest_orders),
            ("returning", sum.returning_orders),
            ("promotion", sum.promotion_orders),
            ("configurator", sum.configurator_orders),
            ("cancel", sum.cancels),
            ("receipt", sum.erp_receipts),
            ("adjustment", sum.erp_adjustments),
            ("unmapped line", sum.lines_missing_in_erp),
            ("unmapped order", sum.orders_missing_in_erp),
        ] {
            assert!(n > 0, "no {what} in {sum:?}");
        }
        // E-mails: one per identity, guests and customers never share one.
        let mut by_email = std::collections::BTreeMap::new();
        for e in &events {
            if let TraceEvent::PlaceOrder { cart, .. } = e {
                let c = &cart.customer;
                let who = (c.first_name.clone(), c.last_name.clone(), c.guest, c.street.clone());
                assert_eq!(by_email.entry(c.email.clone()).or_insert_with(|| who.clone()), &who);
            }
        }
        assert_eq!(by_email.len() as u64, sum.customers + sum.guests);
    }

    /// The committed trace pins the format and every draw (rand, fake and serde_json
    /// versions included). If a change is intended, regenerate it with
    /// `synctwin generate scenarios/default.toml -o scenarios/traces/default.jsonl`.
    #[test]
    fn the_default_trace_is_the_committed_one() {
        let committed = include_bytes!("../../scenarios/traces/default.jsonl");
        let (now, _) = run(&default_plan());
        if now.as_slice() != committed.as_slice() {
            let first = String::from_utf8_lossy(&now)
                .lines()
                .zip(String::from_utf8_lossy(committed).lines())
                .position(|(a, b)| a != b);
            panic!("the default trace changed (first differing line: {first:?}); regenerate it if intended");
        }
    }

    #[test]
    fn arrivals_follow_the_phase_rate() {
        let mut p = default_plan();
        p.phases.truncate(1);
        p.phases[0].start = std::time::Duration::ZERO;
        p.phases[0].end = std::time::Duration::from_secs(10 * 3600);
        p.phases[0].orders_per_hour = 600.0;
        p.phases[0].cancel_share = 0.0;
        p.erp_events.clear();
        let (_, sum) = run(&p);
        // 6,000 expected; Poisson sd ~77.
        assert!((5700..=6300).contains(&sum.orders), "{}", sum.orders);
        assert_eq!(sum.events, sum.orders);
    }

    #[test]
    fn bursts_touch_their_share_within_the_spread() {
        let mut p = default_plan();
        p.phases.clear();
        p.erp_events.retain(|e| matches!(e.kind, ErpEventKind::Burst { .. }));
        assert!(!p.erp_events.is_empty());
        p.erp_events.truncate(1);
        p.erp_events[0].share = 1.0;
        p.erp_events[0].select = Select::Any;
        let ErpEventKind::Burst { at, spread, .. } = &p.erp_events[0].kind else {
            unreachable!()
        };
        let (first, spread) = (at[0].as_millis() as u64, spread.as_millis() as u64);
        let cat = catalogue::build(&p);
        let mut out = Vec::new();
        let sum = generate(&p, &cat, &mut out).unwrap();
        let events: Vec<TraceEvent> = trace::read(out.as_slice()).collect::<Result<_, _>>().unwrap();
        let per_burst = cat.erp_skus.len();
        assert_eq!(sum.erp_receipts as usize, per_burst * at.len());
        let burst: Vec<&TraceEvent> = events.iter().take(per_burst).collect();
        assert!(burst.iter().all(|e| (first..=first + spread).contains(&e.at_ms())));
        let skus: BTreeSet<String> = burst
            .iter()
            .map(|e| match e {
                TraceEvent::ErpReceipt { sku, .. } => sku.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(skus.len(), per_burst, "each SKU once per burst");
        assert!(cat.missing_in_erp.iter().all(|m| !skus.contains(m)));
    }
}
