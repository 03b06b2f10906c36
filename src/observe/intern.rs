//! Compact storage for a long run's observations: a string interner (each
//! distinct SKU, order number, route or reason stored once, referred to by a
//! 4-byte [`Sym`]) and [`Chunked`], an append-only vector that grows in fixed
//! chunks, so a million-entry log never reallocates (and briefly doubles) as a
//! `Vec` would.

use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasher, BuildHasherDefault};

use hashbrown::HashTable;

/// Entries per chunk of a [`Chunked`] once the first chunk has grown to it.
const CHUNK: usize = 1 << 15;

/// An append-only vector in chunks of [`CHUNK`] entries. The first chunk grows
/// like a `Vec` (small logs stay small); later chunks are allocated whole.
#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(crate) fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(v),
            _ => {
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() { 4 } else { CHUNK });
                chunk.push(v);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }

    /// Bytes held on the heap (capacity, not length).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.capacity() * size_of::<T>()).sum::<usize>()
            + self.chunks.capacity() * size_of::<Vec<T>>()
    }
}

/// An interned string: an index into its [`Interner`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Sym(u32);

impl Sym {
    /// The symbol's index (for an encoding of the log).
    pub(crate) fn raw(self) -> u32 {
        self.0
    }

    /// The symbol with index `n` (as [`Sym::raw`] gave it).
    pub(crate) fn from_raw(n: u32) -> Sym {
        Sym(n)
    }
}

/// Largest block of string bytes; a longer string gets a block of its own.
const BLOCK: usize = 64 * 1024;

/// Where an interned string's bytes are.
#[derive(Debug, Clone, Copy)]
struct Loc {
    block: u32,
    start: u32,
    len: u32,
}

/// Distinct strings stored once, in blocks that are never reallocated.
#[derive(Default)]
pub(crate) struct Interner {
    blocks: Vec<String>,
    locs: Chunked<Loc>,
    table: HashTable<u32>,
    hasher: BuildHasherDefault<DefaultHasher>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("strings", &self.locs.len()).finish()
    }
}

fn text<'a>(blocks: &'a [String], locs: &Chunked<Loc>, i: u32) -> &'a str {
    let l = locs.get(i as usize);
    &blocks[l.block as usize][l.start as usize..(l.start + l.len) as usize]
}

impl Interner {
    /// The symbol of `s`, storing it on first sight.
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        let hash = self.hasher.hash_one(s);
        let Interner {
            blocks,
            locs,
            table,
            hasher,
        } = self;
        if let Some(&i) = table.find(hash, |&i| text(blocks, locs, i) == s) {
            return Sym(i);
        }
        let fits = blocks.last().is_some_and(|b| b.capacity() - b.len() >= s.len());
        if !fits {
            let grown = blocks.last().map_or(256, |b| b.capacity() * 2).min(BLOCK);
            blocks.push(String::with_capacity(grown.max(s.len())));
        }
        let block = blocks.len() - 1;
        let b = &mut blocks[block];
        let start = b.len();
        b.push_str(s);
        let i = u32::try_from(locs.len()).expect("fewer than 2^32 distinct strings in one log");
        locs.push(Loc {
            block: block as u32,
            start: start as u32,
            len: s.len() as u32,
        });
        table.insert_unique(hash, i, |&j| hasher.hash_one(text(blocks, locs, j)));
        Sym(i)
    }

    pub(crate) fn get(&self, s: Sym) -> &str {
        text(&self.blocks, &self.locs, s.0)
    }

    /// Distinct strings held.
    pub(crate) fn len(&self) -> usize {
        self.locs.len()
    }

    /// Bytes held on the heap (capacity, not length; the table's control bytes included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks.iter().map(String::capacity).sum::<usize>()
            + self.blocks.capacity() * size_of::<String>()
            + self.locs.heap_bytes()
            + self.table.capacity() * (size_of::<u32>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_a_symbol_and_read_back() {
        let mut i = Interner::default();
        let words: Vec<String> = (0..5_000).map(|n| format!("SW{}", n % 1_000)).collect();
        let syms: Vec<Sym> = words.iter().map(|w| i.intern(w)).collect();
        assert_eq!(i.len(), 1_000);
        for (w, s) in words.iter().zip(&syms) {
            assert_eq!(i.get(*s), w);
        }
        assert_eq!(i.intern(""), i.intern(""));
        let empty = i.intern("");
        assert_eq!(i.get(empty), "");
        // A string longer than a block gets its own.
        let long = "x".repeat(BLOCK + 1);
        let s = i.intern(&long);
        assert_eq!(i.get(s), long);
        assert_eq!(i.get(syms[7]), "SW7");
    }

    #[test]
    fn chunked_indexes_across_chunks() {
        let mut c = Chunked::default();
        for n in 0..(CHUNK * 2 + 5) {
            c.push(n);
        }
        assert_eq!(c.len(), CHUNK * 2 + 5);
        assert_eq!(*c.get(CHUNK + 3), CHUNK + 3);
        assert!((0..c.len()).all(|i| *c.get(i) == i));
    }
}
