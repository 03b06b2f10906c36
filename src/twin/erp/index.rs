//! The ERP twin's lookup indexes: record id → number ([`IdIndex`]) and a
//! value (external document number, e-mail) → the numbers carrying it
//! ([`Lookup`]). Both only answer lookups (listings go by number, off the
//! records themselves), so they are hash maps with compact keys: a peak day
//! puts about 100k orders, shipments and customers in each, and as B-trees
//! of strings they took over 60 MB.

use std::collections::HashMap;

use super::guid::Guid;

/// Record id → number. Ids are GUIDs, kept as their 128 bits; a looked-up id
/// that is not a GUID is not found (BC answers such ids the same way).
#[derive(Debug, Clone, Default)]
pub struct IdIndex {
    map: HashMap<u128, Box<str>>,
}

fn bits(id: &str) -> Option<u128> {
    uuid::Uuid::try_parse(id).ok().map(|u| u.as_u128())
}

impl IdIndex {
    pub fn insert(&mut self, id: Guid, number: &str) {
        if let Some(b) = bits(&id) {
            self.map.insert(b, number.into());
        }
    }

    /// The number of the record with this id.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.map.get(&bits(id)?).map(|n| &**n)
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(b) = bits(id) {
            self.map.remove(&b);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A value → the numbers of the records carrying it, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    map: HashMap<Box<str>, Vec<Box<str>>>,
}

impl Lookup {
    /// Adds `number` under `key` (once).
    pub fn add(&mut self, key: &str, number: &str) {
        let v = self.map.entry(key.into()).or_insert_with(|| Vec::with_capacity(1));
        if !v.iter().any(|n| &**n == number) {
            v.push(number.into());
        }
    }

    /// Numbers under `key`, oldest first (none: empty).
    pub fn get(&self, key: &str) -> &[Box<str>] {
        self.map.get(key).map_or(&[], Vec::as_slice)
    }

    /// The oldest number under `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.get(key).first().map(|n| &**n)
    }

    /// Takes `number` from under `key`, and `key` with its last number.
    pub fn remove(&mut self, key: &str, number: &str) {
        if let Some(v) = self.map.get_mut(key) {
            v.retain(|n| &**n != number);
            if v.is_empty() {
                self.map.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_find_numbers_by_any_spelling_of_the_guid() {
        let mut ix = IdIndex::default();
        let id = Guid::parse("0b8b6e0c-3f0a-4b7e-9a43-1d2f3c4b5a69").unwrap();
        ix.insert(id, "S-ORD101001");
        assert_eq!(ix.get("0b8b6e0c-3f0a-4b7e-9a43-1d2f3c4b5a69"), Some("S-ORD101001"));
        assert_eq!(ix.get("0B8B6E0C-3F0A-4B7E-9A43-1D2F3C4B5A69"), Some("S-ORD101001"));
        assert_eq!(ix.get("not-a-guid"), None);
        assert_eq!(ix.get("00000000-0000-0000-0000-000000000000"), None);
        ix.remove("0b8b6e0c-3f0a-4b7e-9a43-1d2f3c4b5a69");
        assert!(ix.is_empty());
    }

    #[test]
    fn a_lookup_keeps_numbers_once_and_oldest_first() {
        let mut l = Lookup::default();
        l.add("10001", "S-ORD101001");
        l.add("10001", "S-ORD101002");
        l.add("10001", "S-ORD101001");
        assert_eq!(l.get("10001").len(), 2);
        assert_eq!(l.first("10001"), Some("S-ORD101001"));
        l.remove("10001", "S-ORD101001");
        assert_eq!(l.first("10001"), Some("S-ORD101002"));
        l.remove("10001", "S-ORD101002");
        assert!(l.get("10001").is_empty() && l.map.is_empty());
    }
}
