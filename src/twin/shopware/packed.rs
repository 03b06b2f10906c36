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
//! [`RowFile`] on disk; [`RowReader`] reads them back as JSON text for scans.
//!
//! Ids are kept as [`Key`]s: Shopware's 32-hex-digit ids as 16 bytes, anything
//! else as text, ordered as their text so id order does not change.

use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// One row: a JSON object with at least an `id`.
pub type Row = Map<String, Value>;

/// Rows a table keeps decoded before it builds its dictionary and packs them.
pub const DICT_ROWS: usize = 32;
/// The dictionary's size cap (zstd suggests ~100 KiB for raw-content dictionaries).
const DICT_MAX: usize = 96 * 1024;
/// zstd level: 3 is its default, a good size/speed balance for small rows.
const LEVEL: i32 = 3;

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
    /// zstd-compressed JSON and its decoded length.
    Zstd { len: u32, bytes: Box<[u8]> },
    /// zstd-compressed JSON in the store's [`RowFile`]: `size` bytes at `at`.
    Filed { len: u32, size: u32, at: u64 },
}

/// A file of packed rows at rest, as a database keeps its rows on disk: a
/// peak day's order rows are hundreds of MB even packed, and once an order
/// is exported they are read again only for a shipment or at the end of the
/// run. Rows are appended (a rewritten row's old bytes stay behind, unread);
/// the file is removed from its directory as soon as it is opened, so it goes
/// when the store does, even after a crash.
#[derive(Debug)]
pub struct RowFile {
    file: std::fs::File,
    end: std::sync::atomic::AtomicU64,
}

impl RowFile {
    /// A new, already unlinked file in the system's temporary directory.
    /// (Unix only: positioned reads and writes, and removing an open file.)
    pub fn create() -> std::io::Result<RowFile> {
        if cfg!(not(unix)) {
            return Err(std::io::ErrorKind::Unsupported.into());
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("synctwin-rows-{}-{n}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(RowFile {
            file,
            end: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Appends bytes; where they start.
    fn append(&self, bytes: &[u8]) -> std::io::Result<u64> {
        let at = self
            .end
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        positioned::write(&self.file, bytes, at)?;
        Ok(at)
    }

    fn read(&self, at: u64, size: u32) -> Vec<u8> {
        let mut buf = vec![0u8; size as usize];
        positioned::read(&self.file, &mut buf, at)
            .unwrap_or_else(|e| panic!("the Shopware twin cannot read its own row file back: {e}"));
        buf
    }

    /// Bytes written so far (rewritten rows' old bytes included).
    pub fn len(&self) -> u64 {
        self.end.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Positioned file I/O (`pread`/`pwrite`): several threads read one file.
mod positioned {
    use std::fs::File;
    use std::io;

    #[cfg(unix)]
    pub fn write(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
    }

    #[cfg(unix)]
    pub fn read(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
    }

    // No row file is made elsewhere (see `RowFile::create`).
    #[cfg(not(unix))]
    pub fn write(_: &File, _: &[u8], _: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    #[cfg(not(unix))]
    pub fn read(_: &File, _: &mut [u8], _: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A table's dictionary and the zstd contexts that use it.
#[derive(Default)]
pub struct Codec {
    enc: Option<zstd::bulk::Compressor<'static>>,
    dec: Option<Mutex<zstd::bulk::Decompressor<'static>>>,
    /// The dictionary, for decompressors of scans of their own.
    dict: Vec<u8>,
    /// Where packed rows go; in memory without one.
    file: Option<Arc<RowFile>>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Codec({})", if self.enc.is_some() { "packing" } else { "plain" })
    }
}

impl Codec {
    /// Keeps this table's packed rows in `file` from now on.
    pub fn file_rows_in(&mut self, file: Arc<RowFile>) {
        self.file = Some(file);
    }

    /// Whether rows are packed yet.
    pub fn packing(&self) -> bool {
        self.enc.is_some()
    }

    /// Builds the dictionary from sample rows (a raw-content dictionary: the
    /// rows' JSON, newest last, which zstd matches against like earlier input).
    pub fn train<'a>(&mut self, samples: impl Iterator<Item = &'a Row>) {
        let mut dict = Vec::new();
        for row in samples {
            let json = serde_json::to_vec(row).expect("a JSON map serialises");
            if dict.len() + json.len() > DICT_MAX {
                break;
            }
            dict.extend_from_slice(&json);
        }
        let enc = zstd::bulk::Compressor::with_dictionary(LEVEL, &dict).expect("zstd accepts a raw dictionary");
        let dec = zstd::bulk::Decompressor::with_dictionary(&dict).expect("zstd accepts a raw dictionary");
        self.enc = Some(enc);
        self.dec = Some(Mutex::new(dec));
        self.dict = dict;
    }

    /// Packs a row (kept decoded while there is no dictionary).
    pub fn pack(&mut self, row: Row) -> Packed {
        match self.enc.as_mut() {
            None => Packed::Plain(Arc::new(row)),
            Some(enc) => {
                let json = serde_json::to_vec(&row).expect("a JSON map serialises");
                let bytes = enc.compress(&json).expect("zstd compresses into a grown buffer");
                let len = json.len() as u32;
                // A file that cannot be written to (a full disk) leaves the row in memory.
                if let Some(at) = self.file.as_ref().and_then(|f| f.append(&bytes).ok()) {
                    return Packed::Filed {
                        len,
                        size: bytes.len() as u32,
                        at,
                    };
                }
                Packed::Zstd {
                    len,
                    bytes: bytes.into_boxed_slice(),
                }
            }
        }
    }

    /// The decoded row.
    pub fn unpack(&self, p: &Packed) -> Arc<Row> {
        match p {
            Packed::Plain(row) => Arc::clone(row),
            Packed::Zstd { len, bytes } => self.decode(bytes, *len),
            Packed::Filed { len, size, at } => self.decode(&self.filed(*at, *size), *len),
        }
    }

    fn filed(&self, at: u64, size: u32) -> Vec<u8> {
        self.file.as_ref().expect("filed rows imply a row file").read(at, size)
    }

    fn decode(&self, bytes: &[u8], len: u32) -> Arc<Row> {
        let dec = self.dec.as_ref().expect("packed rows imply a dictionary");
        let json = dec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decompress(bytes, len as usize)
            .expect("the twin's own packed rows decompress");
        Arc::new(serde_json::from_slice(&json).expect("the twin's own packed rows are JSON objects"))
    }

    /// A reader of this table's rows as JSON text that owns its decompressor,
    /// so a scan does not take the table's shared one for every row (and
    /// scans of several tables can run on several threads).
    pub fn reader(&self) -> RowReader {
        RowReader {
            dec: self.enc.as_ref().map(|_| {
                zstd::bulk::Decompressor::with_dictionary(&self.dict).expect("zstd accepts its own dictionary")
            }),
            buf: Vec::new(),
            file: self.file.clone(),
        }
    }

    /// Bytes a packed row holds, in memory or in the row file (0 for a decoded row).
    pub fn packed_bytes(p: &Packed) -> usize {
        match p {
            Packed::Plain(_) => 0,
            Packed::Zstd { bytes, .. } => bytes.len(),
            Packed::Filed { size, .. } => *size as usize,
        }
    }
}

/// Reads packed rows back as JSON text (see [`Codec::reader`]).
pub struct RowReader {
    dec: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
    file: Option<Arc<RowFile>>,
}

impl RowReader {
    /// The row's JSON text (valid until the next call).
    pub fn json(&mut self, p: &Packed) -> &[u8] {
        self.buf.clear();
        match p {
            Packed::Plain(row) => serde_json::to_writer(&mut self.buf, &**row).expect("a JSON map serialises"),
            Packed::Zstd { len, bytes } => self.decompress(bytes, *len),
            Packed::Filed { len, size, at } => {
                let bytes = self
                    .file
                    .as_ref()
                    .expect("filed rows imply a row file")
                    .read(*at, *size);
                self.decompress(&bytes, *len)
            }
        }
        &self.buf
    }

    fn decompress(&mut self, bytes: &[u8], len: u32) {
        self.buf.reserve(len as usize);
        self.dec
            .as_mut()
            .expect("packed rows imply a dictionary")
            .decompress_to_buffer(bytes, &mut self.buf)
            .expect("the twin's own packed rows decompress");
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
