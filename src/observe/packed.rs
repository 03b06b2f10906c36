//! [`Observations`]: a run's observations packed for a long replay. Every
//! string (SKU, order number, route, reason) is interned once across both
//! twins, order lines and tracking codes live in shared arenas, and one packed
//! observation takes 40 bytes where the owned [`Observation`] takes 160 plus a
//! heap string per field; all but the newest few thousand are sealed in
//! compressed chunks ([`super::sealed`]), a few bytes each. Readers get
//! borrowed views ([`ObservationRef`], [`EventRef`]) of a chunk decoded at a
//! time.

use crate::clock::SimTime;

use super::event::{Convert, Event, EventOf, EventRef, SkuQty};
use super::intern::{Chunked, Interner, Sym};
use super::sealed::Sealed;
use super::{Observation, System};

/// A run of entries in one of the arenas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(super) start: u32,
    pub(super) len: u32,
}

impl Span {
    fn indices(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

pub(super) type PackedEvent = EventOf<Sym, Span, Span>;

/// One observation: its instant and twin in one word (the twin in the top
/// bit), so it takes 40 bytes, not 48.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packed {
    stamp: u64,
    pub(super) event: PackedEvent,
}

const ERP_BIT: u64 = 1 << 63;

impl Packed {
    pub(super) fn new(at: SimTime, system: System, event: PackedEvent) -> Self {
        assert!(at.0 < ERP_BIT, "a scenario instant below 2^63 ms");
        let bit = match system {
            System::Shopware => 0,
            System::Erp => ERP_BIT,
        };
        Packed {
            stamp: at.0 | bit,
            event,
        }
    }

    pub(super) fn at(&self) -> SimTime {
        SimTime(self.stamp & !ERP_BIT)
    }

    pub(super) fn system(&self) -> System {
        if self.stamp & ERP_BIT == 0 {
            System::Shopware
        } else {
            System::Erp
        }
    }
}

/// Observations in record order, packed. Build one with
/// [`super::ObservationLog::take`] or collect owned [`Observation`]s into it.
#[derive(Debug, Default)]
pub struct Observations {
    strs: Interner,
    items: Sealed,
    line_skus: Chunked<Sym>,
    line_qty: Chunked<i64>,
    codes: Chunked<Sym>,
}

/// One observation borrowed from [`Observations`].
#[derive(Debug, Clone, Copy)]
pub struct ObservationRef<'a> {
    pub at: SimTime,
    pub system: System,
    pub event: EventRef<'a>,
}

impl ObservationRef<'_> {
    /// The owned observation (allocates its strings).
    pub fn to_owned(&self) -> Observation {
        Observation {
            at: self.at,
            system: self.system,
            event: self.event.convert(&mut Own),
        }
    }
}

/// An event's order lines, borrowed: `(sku, qty)` pairs.
#[derive(Clone, Copy)]
pub struct Lines<'a> {
    obs: &'a Observations,
    span: Span,
}

impl<'a> Lines<'a> {
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, i64)> + 'a {
        let obs = self.obs;
        self.span
            .indices()
            .map(move |i| (obs.strs.get(*obs.line_skus.get(i)), *obs.line_qty.get(i)))
    }

    pub fn len(&self) -> usize {
        self.span.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.span.len == 0
    }
}

impl std::fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Lines<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// An event's tracking codes, borrowed.
#[derive(Clone, Copy)]
pub struct Codes<'a> {
    obs: &'a Observations,
    span: Span,
}

impl<'a> Codes<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let obs = self.obs;
        self.span.indices().map(move |i| obs.strs.get(*obs.codes.get(i)))
    }

    pub fn len(&self) -> usize {
        self.span.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.span.len == 0
    }
}

impl std::fmt::Debug for Codes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Codes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// Owned → packed: interns text, appends lines and codes to the arenas.
struct Pack<'a> {
    strs: &'a mut Interner,
    line_skus: &'a mut Chunked<Sym>,
    line_qty: &'a mut Chunked<i64>,
    codes: &'a mut Chunked<Sym>,
}

fn span(start: usize, end: usize) -> Span {
    let start = u32::try_from(start).expect("fewer than 2^32 lines in one log");
    Span {
        start,
        len: (end as u32) - start,
    }
}

impl Convert<String, Vec<SkuQty>, Vec<String>> for Pack<'_> {
    type S2 = Sym;
    type L2 = Span;
    type C2 = Span;
    fn text(&mut self, s: String) -> Sym {
        self.strs.intern(&s)
    }
    fn lines(&mut self, l: Vec<SkuQty>) -> Span {
        let start = self.line_skus.len();
        for SkuQty { sku, qty } in l {
            self.line_skus.push(self.strs.intern(&sku));
            self.line_qty.push(qty);
        }
        span(start, self.line_skus.len())
    }
    fn codes(&mut self, c: Vec<String>) -> Span {
        let start = self.codes.len();
        for code in c {
            self.codes.push(self.strs.intern(&code));
        }
        span(start, self.codes.len())
    }
}

/// Packed → borrowed.
struct View<'a>(&'a Observations);

impl<'a> Convert<Sym, Span, Span> for View<'a> {
    type S2 = &'a str;
    type L2 = Lines<'a>;
    type C2 = Codes<'a>;
    fn text(&mut self, s: Sym) -> &'a str {
        self.0.strs.get(s)
    }
    fn lines(&mut self, span: Span) -> Lines<'a> {
        Lines { obs: self.0, span }
    }
    fn codes(&mut self, span: Span) -> Codes<'a> {
        Codes { obs: self.0, span }
    }
}

/// Borrowed → owned.
struct Own;

impl<'a> Convert<&'a str, Lines<'a>, Codes<'a>> for Own {
    type S2 = String;
    type L2 = Vec<SkuQty>;
    type C2 = Vec<String>;
    fn text(&mut self, s: &'a str) -> String {
        s.to_string()
    }
    fn lines(&mut self, l: Lines<'a>) -> Vec<SkuQty> {
        l.iter()
            .map(|(sku, qty)| SkuQty {
                sku: sku.to_string(),
                qty,
            })
            .collect()
    }
    fn codes(&mut self, c: Codes<'a>) -> Vec<String> {
        c.iter().map(str::to_string).collect()
    }
}

impl Observations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one observation (its strings are interned, the event dropped).
    pub fn record(&mut self, at: SimTime, system: System, event: Event) {
        let mut pack = Pack {
            strs: &mut self.strs,
            line_skus: &mut self.line_skus,
            line_qty: &mut self.line_qty,
            codes: &mut self.codes,
        };
        let event = event.convert(&mut pack);
        self.items.push(Packed::new(at, system, event));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    fn view(&self, p: &Packed) -> ObservationRef<'_> {
        ObservationRef {
            at: p.at(),
            system: p.system(),
            event: p.event.convert(&mut View(self)),
        }
    }

    /// Observation `i` in record order (decodes the chunk it is in: for single
    /// look-ups, not passes).
    pub fn get(&self, i: usize) -> ObservationRef<'_> {
        self.view(&self.items.reader().get(i))
    }

    /// All observations in record order.
    pub fn iter(&self) -> impl Iterator<Item = ObservationRef<'_>> + '_ {
        self.items.iter().map(|p| self.view(&p))
    }

    /// All observations by time; at the same instant Shopware's come before the
    /// ERP's, each twin's in record order (as if each twin's log were
    /// concatenated, Shopware first, and sorted stably by time). Holds 4 bytes
    /// per observation while iterating (12 while it sorts).
    pub fn by_time(&self) -> impl Iterator<Item = ObservationRef<'_>> + '_ {
        // (instant, twin) in one word: the twin's bit moves from the top to
        // the bottom (instants are below 2^63), Shopware's 0 first.
        let keys: Vec<u64> = self.items.iter().map(|p| p.stamp.rotate_left(1)).collect();
        let mut order: Vec<u32> = (0..self.items.len() as u32).collect();
        order.sort_by_key(|&i| keys[i as usize]);
        drop(keys);
        let mut reader = self.items.reader();
        order.into_iter().map(move |i| self.view(&reader.get(i as usize)))
    }

    /// Owned copies of all observations, in record order.
    pub fn to_vec(&self) -> Vec<Observation> {
        self.iter().map(|o| o.to_owned()).collect()
    }

    /// Distinct strings interned.
    pub fn distinct_strings(&self) -> usize {
        self.strs.len()
    }

    /// Bytes held on the heap (capacities, not lengths).
    pub fn heap_bytes(&self) -> usize {
        self.strs.heap_bytes()
            + self.items.heap_bytes()
            + self.line_skus.heap_bytes()
            + self.line_qty.heap_bytes()
            + self.codes.heap_bytes()
    }
}

impl FromIterator<Observation> for Observations {
    fn from_iter<I: IntoIterator<Item = Observation>>(iter: I) -> Self {
        let mut obs = Observations::new();
        for o in iter {
            obs.record(o.at, o.system, o.event);
        }
        obs
    }
}

impl From<Vec<Observation>> for Observations {
    fn from(v: Vec<Observation>) -> Self {
        v.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Observation> {
        let lines = |n: i64| {
            (0..n)
                .map(|i| SkuQty {
                    sku: format!("SW1000{i}"),
                    qty: i + 1,
                })
                .collect::<Vec<_>>()
        };
        let ev = |s: f64, system, event| Observation {
            at: SimTime::from_secs_f64(s),
            system,
            event,
        };
        vec![
            ev(
                3.0,
                System::Shopware,
                Event::OrderPlaced {
                    order_id: "0a1b".into(),
                    order_number: "10001".into(),
                    guest: true,
                    lines: lines(3),
                    gross: 12.5,
                },
            ),
            ev(
                1.0,
                System::Erp,
                Event::ErpShipmentPosted {
                    number: "S-SHPT1".into(),
                    external_document_number: "10001".into(),
                    tracking_number: None,
                    lines: lines(0),
                },
            ),
            ev(
                1.0,
                System::Shopware,
                Event::TrackingSet {
                    delivery_id: "d".into(),
                    order_number: Some("10001".into()),
                    codes: vec!["1Z".into(), "".into(), "1Z".into()],
                },
            ),
            ev(
                2.0,
                System::Shopware,
                Event::StateChanged {
                    entity: "order".into(),
                    id: "0a1b".into(),
                    order_number: None,
                    transition: "cancel".into(),
                    from: "open".into(),
                    to: "cancelled".into(),
                },
            ),
            ev(
                1.0,
                System::Erp,
                Event::Throttled {
                    route: "/api/v2.0/salesOrders".into(),
                    status: 429,
                    retry_after_secs: Some(3),
                },
            ),
        ]
    }

    #[test]
    fn packing_round_trips_every_field() {
        let owned = sample();
        let packed: Observations = owned.clone().into();
        assert_eq!(packed.len(), owned.len());
        assert_eq!(packed.to_vec(), owned);
        // Shared strings are stored once: "10001" and "0a1b" appear twice each.
        assert!(packed.distinct_strings() < 20, "{}", packed.distinct_strings());
        match packed.get(0).event {
            EventRef::OrderPlaced {
                lines, order_number, ..
            } => {
                assert_eq!(order_number, "10001");
                assert_eq!(lines.len(), 3);
                assert_eq!(lines.iter().nth(2), Some(("SW10002", 3)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_packed_observation_is_40_bytes_and_keeps_its_twin_and_instant() {
        assert_eq!(size_of::<Packed>(), 40);
        let far = SimTime((1 << 62) + 5);
        let p = Packed::new(
            far,
            System::Erp,
            EventOf::OrderRefused {
                sku: Sym::default(),
                reason: Sym::default(),
            },
        );
        assert_eq!((p.at(), p.system()), (far, System::Erp));
        let p = Packed::new(far, System::Shopware, p.event);
        assert_eq!((p.at(), p.system()), (far, System::Shopware));
    }

    #[test]
    fn by_time_orders_shopware_first_at_the_same_instant() {
        let packed: Observations = sample().into();
        let order: Vec<(u64, System)> = packed.by_time().map(|o| (o.at.as_millis(), o.system)).collect();
        assert_eq!(
            order,
            vec![
                (1_000, System::Shopware),
                (1_000, System::Erp),
                (1_000, System::Erp),
                (2_000, System::Shopware),
                (3_000, System::Shopware),
            ]
        );
        // Erp ties keep record order: the shipment was recorded before the 429.
        let erp: Vec<bool> = packed
            .by_time()
            .filter(|o| o.system == System::Erp)
            .map(|o| matches!(o.event, EventRef::ErpShipmentPosted { .. }))
            .collect();
        assert_eq!(erp, vec![true, false]);
    }
}
