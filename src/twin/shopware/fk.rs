//! [`FkSet`]: one foreign-key index of a table, the (foreign key, row id)
//! pairs behind to-many associations (`order.lineItems` → line items by
//! `orderId`).
//!
//! A peak day puts about 700k pairs in these indexes. Shopware ids are 32
//! hex digits, so nearly every pair is two 16-byte ids: those are kept as
//! 32-byte pairs in a [`SortedMap`] (a sorted vector, not B-tree nodes that
//! land in the allocator's next size class), not as pairs of [`Key`]s (48
//! bytes); anything else (a client's own text id) in a set of its own.

use std::collections::BTreeSet;

use super::packed::Key;
use super::sorted::SortedMap;

#[derive(Debug, Default)]
pub struct FkSet {
    hex: SortedMap<([u8; 16], [u8; 16]), ()>,
    other: BTreeSet<(Key, Key)>,
}

impl FkSet {
    pub fn insert(&mut self, fk: Key, id: Key) {
        match (fk, id) {
            (Key::Hex(f), Key::Hex(i)) => {
                self.hex.insert((f, i), ());
            }
            (f, i) => {
                self.other.insert((f, i));
            }
        }
    }

    pub fn remove(&mut self, fk: &Key, id: &Key) {
        match (fk, id) {
            (Key::Hex(f), Key::Hex(i)) => {
                self.hex.remove(&(*f, *i));
            }
            (f, i) => {
                self.other.remove(&(f.clone(), i.clone()));
            }
        }
    }

    /// Ids of the rows whose foreign key is `fk`, in id order.
    pub fn ids(&self, fk: &Key) -> Vec<Key> {
        let mut out: Vec<Key> = match fk {
            Key::Hex(f) => self
                .hex
                .range((*f, [0u8; 16])..=(*f, [0xffu8; 16]))
                .map(|((_, i), _)| Key::Hex(*i))
                .collect(),
            Key::Text(_) => Vec::new(),
        };
        let hex_hits = out.len();
        out.extend(
            self.other
                .range((fk.clone(), Key::min())..)
                .take_while(|(f, _)| f == fk)
                .map(|(_, i)| i.clone()),
        );
        if hex_hits > 0 && out.len() > hex_hits {
            out.sort();
        }
        out
    }

    pub fn len(&self) -> usize {
        self.hex.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_back_in_id_order_whatever_their_kind() {
        let order = format!("{:032x}", 7);
        let other_order = format!("{:032x}", 8);
        let ids = [
            format!("{:032x}", 3),
            "l-custom".to_string(),
            format!("{:032x}", 1),
            "A-first".into(),
        ];
        let mut s = FkSet::default();
        for id in &ids {
            s.insert(Key::new(&order), Key::new(id));
        }
        s.insert(Key::new(&other_order), Key::new(&format!("{:032x}", 2)));
        s.insert(Key::new("o-text"), Key::new(&format!("{:032x}", 4)));
        let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
        want.sort();
        let got: Vec<String> = s.ids(&Key::new(&order)).iter().map(Key::as_string).collect();
        assert_eq!(got, want);
        assert_eq!(s.ids(&Key::new("o-text")).len(), 1);
        assert_eq!(s.len(), 6);
        s.remove(&Key::new(&order), &Key::new("l-custom"));
        s.remove(&Key::new(&order), &Key::new(&format!("{:032x}", 3)));
        assert_eq!(s.ids(&Key::new(&order)).len(), 2);
        assert!(s.ids(&Key::new("nothing")).is_empty());
    }
}
