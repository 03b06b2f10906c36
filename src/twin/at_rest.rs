//! Records at rest: how both twins keep a peak day's records small.
//!
//! A twin keeps the records it has not touched for a while as their JSON
//! text compressed with zstd against a dictionary made from the collection's
//! first records (field names, state and currency ids, tax codes repeat in
//! every one, so a record of a few KiB shrinks to a few hundred bytes), and
//! the compressed bytes in a [`RowFile`] on disk: the way a database keeps its
//! rows, so the resident memory of a long replay holds indexes, not records.
//! This module owns the file ([`RowFile`]), the bytes of one record
//! ([`Blob`]), the dictionary and its zstd contexts ([`Packer`]), and reading
//! blobs back as JSON text on a thread of one's own ([`BlobReader`]). Which
//! records stay decoded is the twin's business (the Shopware store, the ERP's
//! [`crate::twin::erp::shelf`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Records a collection keeps decoded before it builds its dictionary.
pub const DICT_RECORDS: usize = 32;
/// The dictionary's size cap (zstd suggests ~100 KiB for raw-content dictionaries).
const DICT_MAX: usize = 96 * 1024;
/// zstd level: 3 is its default, a good size/speed balance for small records.
const LEVEL: i32 = 3;

/// A file of packed records at rest. Records are appended (a rewritten
/// record's old bytes stay behind, unread); the file is removed from its
/// directory as soon as it is opened, so it goes when its owner does, even
/// after a crash.
#[derive(Debug)]
pub struct RowFile {
    file: std::fs::File,
    end: AtomicU64,
}

impl RowFile {
    /// A new, already unlinked file in the system's temporary directory.
    /// (Unix only: positioned reads and writes, and removing an open file.)
    pub fn create() -> std::io::Result<RowFile> {
        if cfg!(not(unix)) {
            return Err(std::io::ErrorKind::Unsupported.into());
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("synctwin-rows-{}-{n}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(RowFile {
            file,
            end: AtomicU64::new(0),
        })
    }

    /// Appends bytes; where they start.
    fn append(&self, bytes: &[u8]) -> std::io::Result<u64> {
        let at = self.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        positioned::write(&self.file, bytes, at)?;
        Ok(at)
    }

    fn read(&self, at: u64, size: u32) -> Vec<u8> {
        let mut buf = vec![0u8; size as usize];
        positioned::read(&self.file, &mut buf, at)
            .unwrap_or_else(|e| panic!("a twin cannot read its own row file back: {e}"));
        buf
    }

    /// Bytes written so far (rewritten records' old bytes included).
    pub fn len(&self) -> u64 {
        self.end.load(Ordering::Relaxed)
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

/// One record's compressed JSON and its decoded length.
#[derive(Debug)]
pub enum Blob {
    /// On the heap (no row file, or the file could not be written).
    Heap { len: u32, bytes: Box<[u8]> },
    /// In the row file: `size` bytes at `at`.
    Filed { len: u32, size: u32, at: u64 },
}

impl Blob {
    /// Compressed bytes held, in memory or in the row file.
    pub fn size(&self) -> usize {
        match self {
            Blob::Heap { bytes, .. } => bytes.len(),
            Blob::Filed { size, .. } => *size as usize,
        }
    }
}

/// A collection's dictionary and the zstd contexts that use it.
#[derive(Default)]
pub struct Packer {
    enc: Option<zstd::bulk::Compressor<'static>>,
    dec: Option<Mutex<zstd::bulk::Decompressor<'static>>>,
    /// The dictionary, for readers with decompressors of their own.
    dict: Vec<u8>,
    /// Where blobs go; on the heap without one.
    file: Option<Arc<RowFile>>,
}

impl fmt::Debug for Packer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Packer({})", if self.enc.is_some() { "packing" } else { "plain" })
    }
}

impl Packer {
    /// A packer whose blobs go to `file` (on the heap with `None`).
    pub fn new(file: Option<Arc<RowFile>>) -> Packer {
        Packer {
            file,
            ..Packer::default()
        }
    }

    /// Keeps blobs in `file` from now on.
    pub fn file_in(&mut self, file: Arc<RowFile>) {
        self.file = Some(file);
    }

    /// Whether there is a dictionary yet.
    pub fn packing(&self) -> bool {
        self.enc.is_some()
    }

    /// Builds the dictionary from sample records' JSON (a raw-content
    /// dictionary: the samples back to back, which zstd matches against like
    /// earlier input).
    pub fn train(&mut self, samples: impl Iterator<Item = Vec<u8>>) {
        let mut dict = Vec::new();
        for json in samples {
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

    /// Packs one record's JSON; `None` before there is a dictionary.
    pub fn pack(&mut self, json: &[u8]) -> Option<Blob> {
        let enc = self.enc.as_mut()?;
        let bytes = enc.compress(json).expect("zstd compresses into a grown buffer");
        let len = json.len() as u32;
        // A file that cannot be written to (a full disk) leaves the blob in memory.
        if let Some(at) = self.file.as_ref().and_then(|f| f.append(&bytes).ok()) {
            return Some(Blob::Filed {
                len,
                size: bytes.len() as u32,
                at,
            });
        }
        Some(Blob::Heap {
            len,
            bytes: bytes.into_boxed_slice(),
        })
    }

    /// A blob's JSON text, with the collection's shared decompressor.
    pub fn unpack(&self, blob: &Blob) -> Vec<u8> {
        let dec = self.dec.as_ref().expect("blobs imply a dictionary");
        let mut dec = dec.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        decompress(&mut dec, self.file.as_deref(), blob, &mut out);
        out
    }

    /// A reader of this collection's blobs that owns its decompressor, so a
    /// scan does not take the shared one for every record (and scans of
    /// several collections can run on several threads).
    pub fn reader(&self) -> BlobReader {
        BlobReader {
            dec: self.enc.as_ref().map(|_| {
                zstd::bulk::Decompressor::with_dictionary(&self.dict).expect("zstd accepts its own dictionary")
            }),
            buf: Vec::new(),
            file: self.file.clone(),
        }
    }
}

fn decompress(dec: &mut zstd::bulk::Decompressor<'static>, file: Option<&RowFile>, blob: &Blob, out: &mut Vec<u8>) {
    let (len, filed);
    let bytes: &[u8] = match blob {
        Blob::Heap { len: l, bytes } => {
            len = *l;
            bytes
        }
        Blob::Filed { len: l, size, at } => {
            len = *l;
            filed = file.expect("filed blobs imply a row file").read(*at, *size);
            &filed
        }
    };
    out.reserve(len as usize);
    dec.decompress_to_buffer(bytes, out)
        .expect("a twin's own blobs decompress");
}

/// Reads blobs back as JSON text (see [`Packer::reader`]).
pub struct BlobReader {
    dec: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
    file: Option<Arc<RowFile>>,
}

impl BlobReader {
    /// The blob's JSON text (valid until the next call).
    pub fn json(&mut self, blob: &Blob) -> &[u8] {
        self.buf.clear();
        let dec = self.dec.as_mut().expect("blobs imply a dictionary");
        decompress(dec, self.file.as_deref(), blob, &mut self.buf);
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u32) -> Vec<u8> {
        format!(
            r#"{{"id":"{i:032x}","versionId":"0fa91ce3e96a4bc2be4bd9ce752c3425","orderNumber":"{}","apiAlias":"order","price":{{"netPrice":{}.5,"taxStatus":"gross"}}}}"#,
            10000 + i,
            i
        )
        .into_bytes()
    }

    #[test]
    fn blobs_round_trip_on_the_heap_and_in_a_file_and_shrink() {
        for file in [None, RowFile::create().ok().map(Arc::new)] {
            let mut p = Packer::new(file.clone());
            assert!(p.pack(&record(1)).is_none(), "no dictionary, no blob");
            p.train((0..DICT_RECORDS as u32).map(record));
            let json = record(500);
            let blob = p.pack(&json).unwrap();
            assert_eq!(matches!(blob, Blob::Filed { .. }), file.is_some());
            assert!(blob.size() * 3 < json.len(), "{} bytes for {}", blob.size(), json.len());
            assert_eq!(p.unpack(&blob), json);
            let mut r = p.reader();
            assert_eq!(r.json(&blob), &json[..]);
            if let Some(f) = &file {
                assert_eq!(f.len(), blob.size() as u64);
            }
        }
    }
}
