//! [`Sealed`]: the packed observations of a log, the newest [`SEAL`] as they
//! are and the older ones sealed in compressed chunks. A peak day records
//! nearly two million observations; at 40 bytes each they were the largest
//! thing a run held. Sealed, one takes a few bytes: each field is written as a
//! varint (symbols are small numbers, instants deltas of milliseconds) and the
//! chunk is compressed with zstd. Readers decode a chunk at a time: a pass
//! over the log decodes each chunk once, and a [`Reader`] keeps the chunks it
//! read last for lookups in nearly sequential order (the log by time).

use super::event::EventOf;
use super::intern::Sym;
use super::packed::{Packed, PackedEvent, Span};
use super::System;
use crate::clock::SimTime;

/// Observations per sealed chunk: sealing one takes well under a
/// millisecond (the log's lock is held meanwhile).
pub(super) const SEAL: usize = 8192;

/// zstd level: the fastest; the varints already did most of the work.
const LEVEL: i32 = 1;

/// One sealed chunk: its encoding's length, and the encoding compressed.
#[derive(Debug)]
struct Chunk {
    len: u32,
    bytes: Box<[u8]>,
}

/// Packed observations in record order; see the module doc.
#[derive(Debug, Default)]
pub(super) struct Sealed {
    chunks: Vec<Chunk>,
    tail: Vec<Packed>,
}

impl Sealed {
    /// Appends one observation; the tail grows like a `Vec` (a small log
    /// stays small) and keeps its capacity once a chunk is sealed.
    pub(super) fn push(&mut self, p: Packed) {
        self.tail.push(p);
        if self.tail.len() == SEAL {
            let mut raw = Vec::with_capacity(SEAL * 16);
            encode(&self.tail, &mut raw);
            let bytes = zstd::bulk::compress(&raw, LEVEL).expect("zstd compresses into a grown buffer");
            self.chunks.push(Chunk {
                len: raw.len() as u32,
                bytes: bytes.into_boxed_slice(),
            });
            self.tail.clear();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.chunks.len() * SEAL + self.tail.len()
    }

    /// Chunk `c`'s observations (the last chunk is the unsealed tail).
    fn chunk(&self, c: usize) -> Vec<Packed> {
        match self.chunks.get(c) {
            Some(chunk) => {
                let raw =
                    zstd::bulk::decompress(&chunk.bytes, chunk.len as usize).expect("a log's own chunks decompress");
                let mut out = Vec::with_capacity(SEAL);
                decode(&raw, &mut out);
                out
            }
            None => self.tail.clone(),
        }
    }

    /// All observations in record order, a chunk decoded at a time.
    pub(super) fn iter(&self) -> impl Iterator<Item = Packed> + '_ {
        (0..=self.chunks.len()).flat_map(move |c| self.chunk(c))
    }

    /// A reader for lookups by index.
    pub(super) fn reader(&self) -> Reader<'_> {
        Reader {
            sealed: self,
            recent: Vec::new(),
        }
    }

    /// Bytes held on the heap (capacities, not lengths).
    pub(super) fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes.len()).sum::<usize>()
            + self.chunks.capacity() * size_of::<Chunk>()
            + self.tail.capacity() * size_of::<Packed>()
    }
}

/// Decoded chunks a [`Reader`] keeps: the log by time moves back and forth
/// across a chunk boundary where the two twins' clocks interleave.
const RECENT: usize = 4;

/// Looks observations up by index, keeping the last [`RECENT`] chunks it
/// decoded.
pub(super) struct Reader<'a> {
    sealed: &'a Sealed,
    /// (chunk, its observations), most recently used last.
    recent: Vec<(usize, Vec<Packed>)>,
}

impl Reader<'_> {
    pub(super) fn get(&mut self, i: usize) -> Packed {
        let (c, at) = (i / SEAL, i % SEAL);
        match self.recent.iter().position(|(k, _)| *k == c) {
            Some(pos) if pos + 1 == self.recent.len() => {}
            Some(pos) => {
                let hit = self.recent.remove(pos);
                self.recent.push(hit);
            }
            None => {
                if self.recent.len() == RECENT {
                    self.recent.remove(0);
                }
                self.recent.push((c, self.sealed.chunk(c)));
            }
        }
        self.recent.last().expect("the chunk was just put last").1[at]
    }
}

/// Writes varints: unsigned LEB128, signed as zigzag.
struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }
    fn f(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    fn b(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn s(&mut self, s: Sym) {
        self.u(u64::from(s.raw()));
    }
    fn os(&mut self, s: Option<Sym>) {
        self.u(s.map_or(0, |s| u64::from(s.raw()) + 1));
    }
    fn span(&mut self, s: Span) {
        self.u(u64::from(s.start));
        self.u(u64::from(s.len));
    }
}

/// Reads what [`Writer`] wrote (the log's own bytes: a short read is a bug).
struct Reading<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reading<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.at];
        self.at += 1;
        b
    }
    fn u(&mut self) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }
    fn i(&mut self) -> i64 {
        let z = self.u();
        ((z >> 1) as i64) ^ -((z & 1) as i64)
    }
    fn f(&mut self) -> f64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[self.at..self.at + 8]);
        self.at += 8;
        f64::from_bits(u64::from_le_bytes(b))
    }
    fn b(&mut self) -> bool {
        self.byte() != 0
    }
    fn s(&mut self) -> Sym {
        Sym::from_raw(self.u() as u32)
    }
    fn os(&mut self) -> Option<Sym> {
        match self.u() {
            0 => None,
            n => Some(Sym::from_raw((n - 1) as u32)),
        }
    }
    fn span(&mut self) -> Span {
        Span {
            start: self.u() as u32,
            len: self.u() as u32,
        }
    }
}

/// The ERP flag in an observation's first byte (the rest is its event's tag).
const ERP: u8 = 0x80;

fn encode(items: &[Packed], out: &mut Vec<u8>) {
    let mut w = Writer(out);
    let mut prev = 0u64;
    for p in items {
        let at = p.at().0;
        let twin = match p.system() {
            System::Shopware => 0,
            System::Erp => ERP,
        };
        let tag = match p.event {
            EventOf::OrderPlaced { .. } => 0,
            EventOf::OrderRefused { .. } => 1,
            EventOf::StockWritten { .. } => 2,
            EventOf::StateChanged { .. } => 3,
            EventOf::TrackingSet { .. } => 4,
            EventOf::ErpOrderCreated { .. } => 5,
            EventOf::ErpOrderRejected { .. } => 6,
            EventOf::ErpOrderUpdated { .. } => 7,
            EventOf::ErpCustomerCreated { .. } => 8,
            EventOf::ErpShipmentPosted { .. } => 9,
            EventOf::ErpStockMoved { .. } => 10,
            EventOf::Throttled { .. } => 11,
            EventOf::Fault { .. } => 12,
        };
        w.0.push(twin | tag);
        w.i(at.wrapping_sub(prev) as i64);
        prev = at;
        match p.event {
            EventOf::OrderPlaced {
                order_id,
                order_number,
                guest,
                lines,
                gross,
            } => {
                w.s(order_id);
                w.s(order_number);
                w.b(guest);
                w.span(lines);
                w.f(gross);
            }
            EventOf::OrderRefused { sku, reason } => {
                w.s(sku);
                w.s(reason);
            }
            EventOf::StockWritten {
                sku,
                before,
                after,
                via,
                available,
            } => {
                w.s(sku);
                w.i(before);
                w.i(after);
                w.s(via);
                w.b(available);
            }
            EventOf::StateChanged {
                entity,
                id,
                order_number,
                transition,
                from,
                to,
            } => {
                w.s(entity);
                w.s(id);
                w.os(order_number);
                w.s(transition);
                w.s(from);
                w.s(to);
            }
            EventOf::TrackingSet {
                delivery_id,
                order_number,
                codes,
            } => {
                w.s(delivery_id);
                w.os(order_number);
                w.span(codes);
            }
            EventOf::ErpOrderCreated {
                number,
                external_document_number,
                customer_number,
                lines,
                total_including_tax,
            } => {
                w.s(number);
                w.s(external_document_number);
                w.s(customer_number);
                w.span(lines);
                w.f(total_including_tax);
            }
            EventOf::ErpOrderRejected {
                external_document_number,
                code,
                message,
            } => {
                w.s(external_document_number);
                w.s(code);
                w.s(message);
            }
            EventOf::ErpOrderUpdated {
                number,
                external_document_number,
                lines,
                total_including_tax,
            } => {
                w.s(number);
                w.s(external_document_number);
                w.span(lines);
                w.f(total_including_tax);
            }
            EventOf::ErpCustomerCreated { number, email } => {
                w.s(number);
                w.os(email);
            }
            EventOf::ErpShipmentPosted {
                number,
                external_document_number,
                tracking_number,
                lines,
            } => {
                w.s(number);
                w.s(external_document_number);
                w.os(tracking_number);
                w.span(lines);
            }
            EventOf::ErpStockMoved {
                sku,
                before,
                after,
                reason,
            } => {
                w.s(sku);
                w.i(before);
                w.i(after);
                w.s(reason);
            }
            EventOf::Throttled {
                route,
                status,
                retry_after_secs,
            } => {
                w.s(route);
                w.u(u64::from(status));
                match retry_after_secs {
                    None => w.b(false),
                    Some(secs) => {
                        w.b(true);
                        w.u(secs);
                    }
                }
            }
            EventOf::Fault { route, kind, status } => {
                w.s(route);
                w.s(kind);
                w.u(u64::from(status));
            }
        }
    }
}

fn decode(bytes: &[u8], out: &mut Vec<Packed>) {
    let mut r = Reading { bytes, at: 0 };
    let mut prev = 0u64;
    while r.at < bytes.len() {
        let first = r.byte();
        let system = if first & ERP == 0 {
            System::Shopware
        } else {
            System::Erp
        };
        let at = prev.wrapping_add(r.i() as u64);
        prev = at;
        let event: PackedEvent = match first & !ERP {
            0 => EventOf::OrderPlaced {
                order_id: r.s(),
                order_number: r.s(),
                guest: r.b(),
                lines: r.span(),
                gross: r.f(),
            },
            1 => EventOf::OrderRefused {
                sku: r.s(),
                reason: r.s(),
            },
            2 => EventOf::StockWritten {
                sku: r.s(),
                before: r.i(),
                after: r.i(),
                via: r.s(),
                available: r.b(),
            },
            3 => EventOf::StateChanged {
                entity: r.s(),
                id: r.s(),
                order_number: r.os(),
                transition: r.s(),
                from: r.s(),
                to: r.s(),
            },
            4 => EventOf::TrackingSet {
                delivery_id: r.s(),
                order_number: r.os(),
                codes: r.span(),
            },
            5 => EventOf::ErpOrderCreated {
                number: r.s(),
                external_document_number: r.s(),
                customer_number: r.s(),
                lines: r.span(),
                total_including_tax: r.f(),
            },
            6 => EventOf::ErpOrderRejected {
                external_document_number: r.s(),
                code: r.s(),
                message: r.s(),
            },
            7 => EventOf::ErpOrderUpdated {
                number: r.s(),
                external_document_number: r.s(),
                lines: r.span(),
                total_including_tax: r.f(),
            },
            8 => EventOf::ErpCustomerCreated {
                number: r.s(),
                email: r.os(),
            },
            9 => EventOf::ErpShipmentPosted {
                number: r.s(),
                external_document_number: r.s(),
                tracking_number: r.os(),
                lines: r.span(),
            },
            10 => EventOf::ErpStockMoved {
                sku: r.s(),
                before: r.i(),
                after: r.i(),
                reason: r.s(),
            },
            11 => EventOf::Throttled {
                route: r.s(),
                status: r.u() as u16,
                retry_after_secs: if r.b() { Some(r.u()) } else { None },
            },
            12 => EventOf::Fault {
                route: r.s(),
                kind: r.s(),
                status: r.u() as u16,
            },
            tag => unreachable!("the log wrote no event tag {tag}"),
        };
        out.push(Packed::new(SimTime(at), system, event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(n: u32) -> Sym {
        Sym::from_raw(n)
    }

    /// One of every event, with extreme numbers, alternating twins and
    /// instants that go back as well as forward.
    fn every_event() -> Vec<Packed> {
        let span = |start, len| Span { start, len };
        let events: Vec<PackedEvent> = vec![
            EventOf::OrderPlaced {
                order_id: sym(1),
                order_number: sym(u32::MAX),
                guest: true,
                lines: span(u32::MAX - 3, 3),
                gross: -0.1,
            },
            EventOf::OrderRefused {
                sku: sym(0),
                reason: sym(300),
            },
            EventOf::StockWritten {
                sku: sym(2),
                before: i64::MIN,
                after: i64::MAX,
                via: sym(3),
                available: false,
            },
            EventOf::StateChanged {
                entity: sym(4),
                id: sym(5),
                order_number: None,
                transition: sym(6),
                from: sym(7),
                to: sym(8),
            },
            EventOf::TrackingSet {
                delivery_id: sym(9),
                order_number: Some(sym(u32::MAX - 1)),
                codes: span(0, 0),
            },
            EventOf::ErpOrderCreated {
                number: sym(10),
                external_document_number: sym(11),
                customer_number: sym(12),
                lines: span(7, 2),
                total_including_tax: f64::MAX,
            },
            EventOf::ErpOrderRejected {
                external_document_number: sym(11),
                code: sym(13),
                message: sym(14),
            },
            EventOf::ErpOrderUpdated {
                number: sym(10),
                external_document_number: sym(11),
                lines: span(9, 1),
                total_including_tax: 12.34,
            },
            EventOf::ErpCustomerCreated {
                number: sym(15),
                email: Some(sym(0)),
            },
            EventOf::ErpShipmentPosted {
                number: sym(16),
                external_document_number: sym(11),
                tracking_number: None,
                lines: span(10, 0),
            },
            EventOf::ErpStockMoved {
                sku: sym(2),
                before: -5,
                after: 0,
                reason: sym(17),
            },
            EventOf::Throttled {
                route: sym(18),
                status: u16::MAX,
                retry_after_secs: Some(u64::MAX),
            },
            EventOf::Throttled {
                route: sym(18),
                status: 429,
                retry_after_secs: None,
            },
            EventOf::Fault {
                route: sym(19),
                kind: sym(20),
                status: 503,
            },
        ];
        let instants = [0, 5, 3, (1 << 62) + 9, 1, 1];
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let twin = if i % 2 == 0 { System::Erp } else { System::Shopware };
                Packed::new(SimTime(instants[i % instants.len()]), twin, e)
            })
            .collect()
    }

    fn same(a: &[Packed], b: &[Packed]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!((x.at(), x.system()), (y.at(), y.system()));
            assert_eq!(format!("{:?}", x.event), format!("{:?}", y.event));
        }
    }

    #[test]
    fn every_event_round_trips_through_its_encoding() {
        let items = every_event();
        let mut raw = Vec::new();
        encode(&items, &mut raw);
        let mut back = Vec::new();
        decode(&raw, &mut back);
        same(&items, &back);
    }

    #[test]
    fn sealed_chunks_read_back_in_order_and_by_index() {
        let base = every_event();
        let n = SEAL * 2 + 7;
        let items: Vec<Packed> = (0..n).map(|i| base[i % base.len()]).collect();
        let mut sealed = Sealed::default();
        for p in &items {
            sealed.push(*p);
        }
        assert_eq!((sealed.len(), sealed.chunks.len()), (n, 2));
        same(&sealed.iter().collect::<Vec<_>>(), &items);
        // Lookups across chunks, back and forth, the tail included.
        let mut reader = sealed.reader();
        for i in [0, SEAL + 1, 3, n - 1, SEAL - 1, SEAL, 2 * SEAL, 5] {
            same(&[reader.get(i)], &[items[i]]);
        }
        // Sealed, the repeated sample takes a few bytes an observation.
        let sealed_bytes: usize = sealed.chunks.iter().map(|c| c.bytes.len()).sum();
        assert!(sealed_bytes < SEAL * 2 * 4, "{sealed_bytes} bytes");
    }
}
