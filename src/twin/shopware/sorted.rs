//! [`SortedMap`]: an ordered map for entries that are mostly written once
//! and then looked up, as a store's rows and foreign keys are.
//!
//! Most entries sit in a sorted vector at their own size; only the newest
//! sit in a B-tree, whose nodes cost about half as much again as their
//! entries (partly filled, and rounded up to the allocator's size classes).
//! The two merge when the B-tree holds more than a sixteenth of the vector,
//! so each entry is copied a few times over a peak day, in large sequential
//! moves. A removal from the vector leaves a hole that the next merge closes.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};

/// Merges happen once the B-tree (or the holes) pass this share of the vector…
const SHARE: usize = 16;
/// …and hold at least this many entries.
const MIN_DELTA: usize = 1024;

#[derive(Debug)]
pub struct SortedMap<K, V> {
    /// Sorted by key, unique; `None` is a removed entry.
    base: Vec<(K, Option<V>)>,
    /// Keys not in `base`.
    delta: BTreeMap<K, V>,
    /// Removed entries still in `base`.
    holes: usize,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            base: Vec::new(),
            delta: BTreeMap::new(),
            holes: 0,
        }
    }
}

impl<K: Ord + Clone, V> SortedMap<K, V> {
    fn at<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.base.binary_search_by(|(b, _)| b.borrow().cmp(k))
    }

    pub fn get<Q: Ord + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        match self.at(k) {
            Ok(i) => self.base[i].1.as_ref(),
            Err(_) => self.delta.get(k),
        }
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.at(k) {
            Ok(i) => self.base[i].1.as_mut(),
            Err(_) => self.delta.get_mut(k),
        }
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.at(&k) {
            Ok(i) => {
                let old = self.base[i].1.replace(v);
                if old.is_none() {
                    self.holes -= 1;
                }
                old
            }
            Err(_) => {
                let old = self.delta.insert(k, v);
                self.maybe_merge();
                old
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        match self.at(k) {
            Ok(i) => {
                let old = self.base[i].1.take();
                if old.is_some() {
                    self.holes += 1;
                    self.maybe_merge();
                }
                old
            }
            Err(_) => self.delta.remove(k),
        }
    }

    pub fn len(&self) -> usize {
        self.base.len() - self.holes + self.delta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        merged(&self.base, self.delta.iter())
    }

    /// The entries with keys in `r`, in key order (a range whose start is
    /// past its end is a bug, as in [`BTreeMap::range`]).
    pub fn range<R: RangeBounds<K>>(&self, r: R) -> impl Iterator<Item = (&K, &V)> + '_ {
        let point = |bound: Bound<&K>, start: bool| match bound {
            Bound::Included(b) if start => self.base.partition_point(|(k, _)| k < b),
            Bound::Excluded(b) if start => self.base.partition_point(|(k, _)| k <= b),
            Bound::Included(b) => self.base.partition_point(|(k, _)| k <= b),
            Bound::Excluded(b) => self.base.partition_point(|(k, _)| k < b),
            Bound::Unbounded if start => 0,
            Bound::Unbounded => self.base.len(),
        };
        let (lo, hi) = (point(r.start_bound(), true), point(r.end_bound(), false));
        merged(&self.base[lo..hi.max(lo)], self.delta.range(r))
    }

    fn maybe_merge(&mut self) {
        let limit = (self.base.len() / SHARE).max(MIN_DELTA);
        if self.delta.len() > limit || self.holes > limit {
            self.merge();
        }
    }

    /// Moves the B-tree's entries into the vector and closes its holes.
    fn merge(&mut self) {
        let mut out = Vec::with_capacity(self.len());
        let mut delta = std::mem::take(&mut self.delta).into_iter().peekable();
        for (k, v) in std::mem::take(&mut self.base) {
            while let Some((dk, _)) = delta.peek() {
                if *dk >= k {
                    break;
                }
                let (dk, dv) = delta.next().expect("peeked");
                out.push((dk, Some(dv)));
            }
            if v.is_some() {
                out.push((k, v));
            }
        }
        out.extend(delta.map(|(k, v)| (k, Some(v))));
        self.base = out;
        self.holes = 0;
    }
}

/// A slice of the vector and a B-tree iterator, merged in key order (no key
/// is in both), holes skipped.
fn merged<'a, K: Ord + 'a, V: 'a>(
    base: &'a [(K, Option<V>)],
    delta: impl Iterator<Item = (&'a K, &'a V)>,
) -> impl Iterator<Item = (&'a K, &'a V)> {
    let mut base = base.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k, v))).peekable();
    let mut delta = delta.peekable();
    std::iter::from_fn(move || match (base.peek(), delta.peek()) {
        (Some((bk, _)), Some((dk, _))) if dk < bk => delta.next(),
        (Some(_), _) => base.next(),
        (None, _) => delta.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Random inserts, overwrites and removals, checked against a B-tree
    /// after every step's batch (merges included).
    #[test]
    fn behaves_as_a_btree_map_through_merges_and_holes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut m: SortedMap<u32, u64> = SortedMap::default();
        let mut want: BTreeMap<u32, u64> = BTreeMap::new();
        let mut merges = 0;
        for step in 0..40_000u64 {
            let k = rng.gen_range(0..6_000u32);
            let had = m.base.len();
            if rng.gen_bool(0.25) {
                assert_eq!(m.remove(&k), want.remove(&k), "remove {k} at {step}");
            } else {
                assert_eq!(m.insert(k, step), want.insert(k, step), "insert {k} at {step}");
            }
            if m.base.len() != had {
                merges += 1;
            }
            if step % 997 == 0 {
                assert_eq!(m.len(), want.len());
                assert!(m.iter().map(|(k, v)| (*k, *v)).eq(want.iter().map(|(k, v)| (*k, *v))));
                let (lo, hi) = (k.saturating_sub(300), k + 300);
                assert!(m
                    .range(lo..=hi)
                    .map(|(k, v)| (*k, *v))
                    .eq(want.range(lo..=hi).map(|(k, v)| (*k, *v))));
                assert!(m.range(lo..hi).map(|(k, _)| *k).eq(want.range(lo..hi).map(|(k, _)| *k)));
                assert!(m.range(hi..).map(|(k, _)| *k).eq(want.range(hi..).map(|(k, _)| *k)));
                assert!(m.range(..lo).map(|(k, _)| *k).eq(want.range(..lo).map(|(k, _)| *k)));
                for probe in [k, k + 1, 0, 5_999] {
                    assert_eq!(m.get(&probe), want.get(&probe));
                }
            }
        }
        assert!(merges > 3, "{merges} merges");
        if let Some(v) = m.get_mut(&want.keys().next().copied().unwrap()) {
            *v = 1;
        }
        assert_eq!(m.iter().next().map(|(_, v)| *v), Some(1));
        // A range past the end.
        assert_eq!(m.range(7_000..=8_000).count(), 0);
    }
}
