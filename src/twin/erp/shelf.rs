//! [`Shelf`]: one collection of the ERP twin's documents (sales orders,
//! posted shipments, customers) keyed by number, kept small at rest.
//!
//! A peak day leaves about 100k sales orders, as many shipments and tens of
//! thousands of customers in the twin; decoded, with their lines, strings and
//! tree nodes, they took about 2.5 KB per order. A shelf keeps the documents
//! written most recently decoded (`FRESH`: an order is read back right after
//! it is created, and shipped while it is recent) and every other one as its
//! JSON compressed against a dictionary, in a row file on disk (see
//! [`crate::twin::at_rest`]). Reads of a packed document decode it
//! ([`Cow::Owned`]); a change to one decodes it, applies the change and keeps
//! it decoded as the newest.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::twin::at_rest::{Blob, Packer, RowFile, DICT_RECORDS};

/// Documents a shelf keeps decoded after they were written.
const FRESH: usize = 256;

enum Slot<T> {
    Plain(Box<T>),
    Blob(Blob),
}

/// Documents of one kind by number, in number order.
pub struct Shelf<T> {
    slots: BTreeMap<Box<str>, Slot<T>>,
    /// Numbers written most recently, oldest first (a number may appear twice).
    fresh: VecDeque<Box<str>>,
    packer: Packer,
}

impl<T> Default for Shelf<T> {
    /// A shelf whose packed documents stay on the heap.
    fn default() -> Self {
        Shelf::new(None)
    }
}

impl<T> Shelf<T> {
    /// An empty shelf; packed documents go to `file` (the heap without one).
    pub fn new(file: Option<Arc<RowFile>>) -> Self {
        Shelf {
            slots: BTreeMap::new(),
            fresh: VecDeque::new(),
            packer: Packer::new(file),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn contains_key(&self, number: &str) -> bool {
        self.slots.contains_key(number)
    }

    /// Numbers in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(|k| &**k)
    }
}

impl<T: Serialize + DeserializeOwned + Clone> Shelf<T> {
    /// The document with this number, decoded if it was packed.
    pub fn get(&self, number: &str) -> Option<Cow<'_, T>> {
        Some(match self.slots.get(number)? {
            Slot::Plain(v) => Cow::Borrowed(&**v),
            Slot::Blob(b) => Cow::Owned(decode(&self.packer.unpack(b))),
        })
    }

    /// Inserts or replaces a document; it stays decoded as the newest.
    pub fn insert(&mut self, number: String, value: T) {
        let number: Box<str> = number.into();
        self.slots.insert(number.clone(), Slot::Plain(Box::new(value)));
        self.settle(number);
    }

    /// Changes the document with this number in place (decoding it first if
    /// it was packed); `None` when there is none.
    pub fn update<R>(&mut self, number: &str, change: impl FnOnce(&mut T) -> R) -> Option<R> {
        let slot = self.slots.get_mut(number)?;
        if let Slot::Plain(v) = slot {
            return Some(change(v));
        }
        let Slot::Blob(b) = slot else {
            unreachable!("matched above")
        };
        let mut value: T = decode(&self.packer.unpack(b));
        let out = change(&mut value);
        *slot = Slot::Plain(Box::new(value));
        self.settle(number.into());
        Some(out)
    }

    pub fn remove(&mut self, number: &str) -> Option<T> {
        Some(match self.slots.remove(number)? {
            Slot::Plain(v) => *v,
            Slot::Blob(b) => decode(&self.packer.unpack(&b)),
        })
    }

    /// Every document in number order, packed ones decoded one at a time
    /// with a decompressor of the iterator's own.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Cow<'_, T>)> {
        let mut reader = self.packer.reader();
        self.slots.iter().map(move |(k, slot)| {
            let v = match slot {
                Slot::Plain(v) => Cow::Borrowed(&**v),
                Slot::Blob(b) => Cow::Owned(decode(reader.json(b))),
            };
            (&**k, v)
        })
    }

    /// Every document in number order read as `P`, a type with some of
    /// `T`'s fields: a packed document goes from its JSON text straight to
    /// `P` (serde skips the rest), so an end-of-run read of every order
    /// builds no lines' descriptions, ids or address fields.
    pub fn scan<P: DeserializeOwned>(&self) -> impl Iterator<Item = P> + '_ {
        let mut reader = self.packer.reader();
        self.slots.values().map(move |slot| match slot {
            Slot::Plain(v) => decode(&encode(&**v)),
            Slot::Blob(b) => decode(reader.json(b)),
        })
    }

    pub fn values(&self) -> impl Iterator<Item = Cow<'_, T>> {
        self.iter().map(|(_, v)| v)
    }

    /// Records `number` as the newest write, builds the dictionary once there
    /// are enough documents, and packs what falls out of the fresh window.
    fn settle(&mut self, number: Box<str>) {
        self.fresh.push_back(number);
        if !self.packer.packing() && self.slots.len() >= DICT_RECORDS {
            let samples: Vec<Vec<u8>> = self
                .slots
                .values()
                .filter_map(|s| match s {
                    Slot::Plain(v) => Some(encode(&**v)),
                    Slot::Blob(_) => None,
                })
                .collect();
            self.packer.train(samples.into_iter());
        }
        while self.fresh.len() > FRESH {
            let Some(old) = self.fresh.pop_front() else { break };
            if self.fresh.contains(&old) {
                continue; // written again since: still fresh
            }
            if let Some(slot @ Slot::Plain(_)) = self.slots.get_mut(&old) {
                let Slot::Plain(v) = slot else {
                    unreachable!("matched as plain")
                };
                if let Some(blob) = self.packer.pack(&encode(&**v)) {
                    *slot = Slot::Blob(blob);
                }
            }
        }
    }
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("the ERP's documents serialise")
}

fn decode<T: DeserializeOwned>(json: &[u8]) -> T {
    serde_json::from_slice(json).expect("the ERP twin's own packed documents decode")
}

impl<T: Serialize + DeserializeOwned + Clone> Clone for Shelf<T> {
    /// A copy with its packed documents on the heap.
    fn clone(&self) -> Self {
        let mut copy = Shelf::new(None);
        for (k, v) in self.iter() {
            copy.insert(k.to_string(), v.into_owned());
        }
        copy
    }
}

impl<T: Serialize + DeserializeOwned + Clone + PartialEq> PartialEq for Shelf<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.0 == b.0 && *a.1 == *b.1)
    }
}

impl<T> fmt::Debug for Shelf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.slots.values().filter(|s| matches!(s, Slot::Plain(_))).count();
        write!(f, "Shelf({} documents, {plain} decoded)", self.len())
    }
}

/// Serialises as a map from number to document, as the `BTreeMap` it replaces.
impl<T: Serialize + DeserializeOwned + Clone> Serialize for Shelf<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Doc {
        number: String,
        lines: Vec<(String, i64)>,
        shipped: i64,
    }

    fn doc(i: usize) -> Doc {
        Doc {
            number: format!("S-ORD{}", 101_000 + i),
            lines: (0..3).map(|l| (format!("SW{:05}", i * 7 + l), l as i64 + 1)).collect(),
            shipped: 0,
        }
    }

    #[test]
    fn documents_pack_once_out_of_the_fresh_window_and_read_back_the_same() {
        for file in [None, RowFile::create().ok().map(Arc::new)] {
            let mut shelf: Shelf<Doc> = Shelf::new(file.clone());
            let n = FRESH * 3;
            for i in 0..n {
                shelf.insert(doc(i).number.clone(), doc(i));
            }
            assert_eq!(shelf.len(), n);
            let old = &doc(0).number;
            assert!(
                matches!(shelf.get(old), Some(Cow::Owned(_))),
                "an old document is packed"
            );
            let newest = &doc(n - 1).number;
            assert!(
                matches!(shelf.get(newest), Some(Cow::Borrowed(_))),
                "a fresh one is not"
            );
            assert_eq!(format!("{shelf:?}"), format!("Shelf({n} documents, {FRESH} decoded)"));
            if let Some(f) = &file {
                assert!(!f.is_empty(), "packed documents went to the file");
            }
            // Every document reads back as written, by number and in order.
            let all: Vec<Doc> = shelf.values().map(Cow::into_owned).collect();
            assert_eq!(all, (0..n).map(doc).collect::<Vec<_>>());
            assert_eq!(*shelf.get(&doc(5).number).unwrap(), doc(5));

            // A change to a packed document decodes it and keeps it fresh.
            assert_eq!(shelf.update(old, |d| std::mem::replace(&mut d.shipped, 2)), Some(0));
            assert!(matches!(shelf.get(old), Some(Cow::Borrowed(d)) if d.shipped == 2));
            assert_eq!(shelf.update("S-ORD0", |_| ()), None);

            #[derive(Deserialize)]
            struct Shipped {
                number: String,
                shipped: i64,
            }
            let scanned: Vec<(String, i64)> = shelf.scan::<Shipped>().map(|d| (d.number, d.shipped)).collect();
            let full: Vec<(String, i64)> = shelf.values().map(|d| (d.number.clone(), d.shipped)).collect();
            assert_eq!(scanned, full, "a scan reads the same fields, packed or not");

            let copy = shelf.clone();
            assert_eq!(copy, shelf);
            assert_eq!(
                serde_json::to_value(&copy).unwrap(),
                serde_json::to_value(&shelf).unwrap()
            );
            assert_eq!(shelf.remove(&doc(1).number), Some(doc(1)));
            assert_eq!(shelf.remove(&doc(1).number), None);
            assert_ne!(copy, shelf);
        }
    }
}
