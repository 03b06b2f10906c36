//! Rows at rest: how the Shopware twin keeps a peak day's rows small.
//!
//! A decoded row (`serde_json::Map`) costs about seven times its JSON text in
//! memory, and an order with its line items, addresses, delivery and
//! transaction is about 11 KiB of JSON, so a 100k-order day would not fit.
//! Rows are therefore kept as JSON compressed with zstd, against a dictionary
//! made per table from its first rows: field names, version ids, state ids and
//! currency ids repeat in every row, so a row shrinks to a few hundred bytes.
//! Tables smaller than [`DICT_ROWS`] (taxes, currencies, states) stay decoded,
//! and so do the rows a table wrote most recently (the store decides which).
//! The packed bytes live on the heap or, for tables the store says, in a
//! [`RowFile`] on disk (both from [`crate::twin::at_rest`]); [`RowReader`]
//! reads them back as JSON text for scans.
//!
//! Ids are kept as [`Key`]s: Shopware's 32-hex-digit ids as 16 bytes, anything
//! else as text, ordered as their text so id order does not change.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use crate::twin::at_rest::RowFile;
use crate::twin::at_rest::{Blob, BlobReader, Packer};

/// One row: a JSON object with at least an `id`.
pub type Row = Map<String, Value>;

/// Rows a table keeps decoded before it builds its dictionary and packs them.
pub const DICT_ROWS: usize = crate::twin::at_rest::DICT_RECORDS;

/// A row id: 32 lowercase hex digits as 16 bytes, anything else as text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Hex([u8; 16]),
    Text(Box<str>),
}

impl Key {
    pub fn new(id: &str) -> Key {
        let b = id.as_bytes();
        if b.len() == 32 && b.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)) {
            let mut out = [0u8; 16];
            for (i, pair) in b.chunks(2).enumerate() {
                out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
            }
            Key::Hex(out)
        } else {
            Key::Text(id.into())
        }
    }

    /// The smallest key (sorts before every id), for range scans.
    pub fn min() -> Key {
        Key::Text("".into())
    }

    pub fn as_string(&self) -> String {
        match self {
            Key::Hex(b) => hex::encode(b),
            Key::Text(t) => t.to_string(),
        }
    }
}

fn nibble(c: u8) -> u8 {
    if c.is_ascii_digit() {
        c - b'0'
    } else {
        c - b'a' + 10
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Big-endian bytes of lowercase hex order as the text does.
            (Key::Hex(a), Key::Hex(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            _ => self.as_string().cmp(&other.as_string()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_string())
    }
}

/// One stored row.
#[derive(Debug)]
pub enum Packed {
    /// Decoded (small tables, and rows written recently).
    Plain(Arc<Row>),
    /// zstd-compressed JSON, on the heap or in the store's [`RowFile`].
    Blob(Blob),
}

impl Packed {
    /// A stand-in while a row is being packed.
    pub fn empty() -> Packed {
        Packed::Blob(Blob::Heap {
            len: 0,
            bytes: Box::default(),
        })
    }
}

/// A table's dictionary and where its packed rows go (see [`Packer`]).
#[derive(Debug, Default)]
pub struct Codec {
    packer: Packer,
}

impl Codec {
    /// Keeps this table's packed rows in `file` from now on.
    pub fn file_rows_in(&mut self, file: Arc<RowFile>) {
        self.packer.file_in(file);
    }

    /// Whether rows are packed yet.
    pub fn packing(&self) -> bool {
        self.packer.packing()
    }

    /// Builds the dictionary from sample rows (their JSON, newest last).
    pub fn train<'a>(&mut self, samples: impl Iterator<Item = &'a Row>) {
        self.packer.train(samples.map(json_of));
    }

    /// Packs a row (kept decoded while there is no dictionary).
    pub fn pack(&mut self, row: Row) -> Packed {
        match self.packer.pack(&json_of(&row)) {
            Some(blob) => Packed::Blob(blob),
            None => Packed::Plain(Arc::new(row)),
        }
    }

    /// The decoded row.
    pub fn unpack(&self, p: &Packed) -> Arc<Row> {
        match p {
            Packed::Plain(row) => Arc::clone(row),
            Packed::Blob(blob) => Arc::new(
                serde_json::from_slice(&self.packer.unpack(blob)).expect("the twin's own packed rows are JSON objects"),
            ),
        }
    }

    /// A reader of this table's rows as JSON text that owns its decompressor,
    /// so a scan does not take the table's shared one for every row (and
    /// scans of several tables can run on several threads).
    pub fn reader(&self) -> RowReader {
        RowReader {
            blobs: self.packer.reader(),
            buf: Vec::new(),
        }
    }

    /// Bytes a packed row holds, in memory or in the row file (0 for a decoded row).
    pub fn packed_bytes(p: &Packed) -> usize {
        match p {
            Packed::Plain(_) => 0,
            Packed::Blob(blob) => blob.size(),
        }
    }
}

fn json_of(row: &Row) -> Vec<u8> {
    serde_json::to_vec(row).expect("a JSON map serialises")
}

/// Reads packed rows back as JSON text (see [`Codec::reader`]).
pub struct RowReader {
    blobs: BlobReader,
    buf: Vec<u8>,
}

impl RowReader {
    /// The row's JSON text (valid until the next call).
    pub fn json(&mut self, p: &Packed) -> &[u8] {
        match p {
            Packed::Plain(row) => {
                self.buf.clear();
                serde_json::to_writer(&mut self.buf, &**row).expect("a JSON map serialises");
                &self.buf
            }
            Packed::Blob(blob) => self.blobs.json(blob),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_order_as_their_text() {
        let ids = [
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdf0",
            "o1",
            "ffffffffffffffffffffffffffffffff",
            "A123456789abcdef0123456789abcdef",
            "",
        ];
        let mut by_key: Vec<Key> = ids.iter().map(|i| Key::new(i)).collect();
        by_key.sort();
        let mut by_text: Vec<&str> = ids.to_vec();
        by_text.sort();
        assert_eq!(by_key.iter().map(Key::as_string).collect::<Vec<_>>(), by_text);
        assert!(matches!(Key::new(ids[0]), Key::Hex(_)));
        assert!(matches!(Key::new(ids[4]), Key::Text(_)), "upper case stays text");
        assert_eq!(Key::new(ids[0]).as_string(), ids[0]);
        assert!(Key::min() <= Key::new(""));
    }

    #[test]
    fn rows_round_trip_and_shrink_once_a_dictionary_exists() {
        let row = |i: u32| -> Row {
            json!({"id": format!("{i:032x}"), "versionId": "0fa91ce3e96a4bc2be4bd9ce752c3425",
                   "orderNumber": (10000 + i).to_string(), "apiAlias": "order", "customFields": null,
                   "price": {"netPrice": 10.5 + i as f64, "taxStatus": "gross", "calculatedTaxes": []}})
            .as_object()
            .cloned()
            .unwrap()
        };
        let mut codec = Codec::default();
        assert!(matches!(codec.pack(row(1)), Packed::Plain(_)));
        let samples: Vec<Row> = (0..DICT_ROWS as u32).map(row).collect();
        codec.train(samples.iter());
        let r = row(500);
        let packed = codec.pack(r.clone());
        let json_len = serde_json::to_vec(&r).unwrap().len();
        assert!(
            Codec::packed_bytes(&packed) * 3 < json_len,
            "{} packed bytes for {json_len} bytes of JSON",
            Codec::packed_bytes(&packed)
        );
        assert_eq!(*codec.unpack(&packed), r);
        let mut reader = codec.reader();
        for p in [&packed, &Packed::Plain(Arc::new(row(7)))] {
            let text: Row = serde_json::from_slice(reader.json(p)).unwrap();
            assert_eq!(text, *codec.unpack(p), "a reader gives the same row, packed or plain");
        }
    }
}
