//! [`RowMap`]: one table's rows by id, in id order.
//!
//! A peak day's store holds about 1.2M rows. Shopware ids are 32 hex
//! digits, so nearly every row is keyed by 16 bytes: those rows sit in a
//! [`SortedMap`] keyed by the bytes (a 40-byte entry in a sorted vector,
//! where a [`Key`] and its row took 48 and B-tree nodes of the allocator's
//! next size class), anything else (a client's own text id) in a map of its
//! own. Iteration merges the two in id order (the text order of the ids, as
//! [`Key`] orders them).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::iter::Peekable;

use super::packed::{Key, Packed};
use super::sorted::SortedMap;

#[derive(Debug, Default)]
pub struct RowMap {
    hex: SortedMap<[u8; 16], Packed>,
    text: BTreeMap<Box<str>, Packed>,
}

impl RowMap {
    pub fn get(&self, k: &Key) -> Option<&Packed> {
        match k {
            Key::Hex(b) => self.hex.get(b),
            Key::Text(t) => self.text.get(t),
        }
    }

    pub fn get_mut(&mut self, k: &Key) -> Option<&mut Packed> {
        match k {
            Key::Hex(b) => self.hex.get_mut(b),
            Key::Text(t) => self.text.get_mut(t),
        }
    }

    pub fn insert(&mut self, k: Key, v: Packed) -> Option<Packed> {
        match k {
            Key::Hex(b) => self.hex.insert(b, v),
            Key::Text(t) => self.text.insert(t, v),
        }
    }

    pub fn remove(&mut self, k: &Key) -> Option<Packed> {
        match k {
            Key::Hex(b) => self.hex.remove(b),
            Key::Text(t) => self.text.remove(t),
        }
    }

    pub fn contains_key(&self, k: &Key) -> bool {
        self.get(k).is_some()
    }

    pub fn len(&self) -> usize {
        self.hex.len() + self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every row in id order.
    pub fn values(&self) -> impl Iterator<Item = &Packed> {
        Merge {
            hex: self.hex.iter().peekable(),
            text: self.text.iter().peekable(),
        }
    }
}

/// The two maps' rows merged in id order.
struct Merge<H: Iterator, T: Iterator> {
    hex: Peekable<H>,
    text: Peekable<T>,
}

impl<'a, H, T> Iterator for Merge<H, T>
where
    H: Iterator<Item = (&'a [u8; 16], &'a Packed)>,
    T: Iterator<Item = (&'a Box<str>, &'a Packed)>,
{
    type Item = &'a Packed;

    fn next(&mut self) -> Option<&'a Packed> {
        let hex_first = match (self.hex.peek(), self.text.peek()) {
            (Some((h, _)), Some((t, _))) => hex_text(h).as_slice().cmp(t.as_bytes()) == Ordering::Less,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if hex_first {
            self.hex.next().map(|(_, p)| p)
        } else {
            self.text.next().map(|(_, p)| p)
        }
    }
}

/// 16 bytes as their 32 lowercase hex digits, on the stack.
fn hex_text(b: &[u8; 16]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::encode_to_slice(b, &mut out).expect("32 bytes hold 16 bytes' hex digits");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn rows_of_both_kinds_come_back_in_id_order() {
        let ids = [
            format!("{:032x}", 5),
            "A-upper".to_string(),
            "ffff-text".to_string(),
            format!("{:032x}", u128::MAX),
            format!("{:032x}", 1),
            "0-text".to_string(),
            "o1".to_string(),
        ];
        let mut m = RowMap::default();
        for (i, id) in ids.iter().enumerate() {
            let mut row = serde_json::Map::new();
            row.insert("n".into(), i.into());
            assert!(m.insert(Key::new(id), Packed::Plain(Arc::new(row))).is_none());
        }
        let order: Vec<usize> = m
            .values()
            .map(|p| match p {
                Packed::Plain(r) => r["n"].as_u64().unwrap() as usize,
                Packed::Blob(_) => unreachable!(),
            })
            .collect();
        let mut want: Vec<(&str, usize)> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        want.sort();
        assert_eq!(order, want.iter().map(|(_, i)| *i).collect::<Vec<_>>());
        assert_eq!(m.len(), ids.len());
        assert!(m.contains_key(&Key::new("o1")) && m.contains_key(&Key::new(&ids[0])));
        assert!(m.remove(&Key::new("o1")).is_some() && m.remove(&Key::new(&ids[0])).is_some());
        assert_eq!(m.len(), ids.len() - 2);
        assert!(m.get(&Key::new("o1")).is_none());
    }
}
