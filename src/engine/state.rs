//! The engine's durable state in one SQLite file: the order-export watermark,
//! the outbox of ERP writes in flight, and the exception queue.
//!
//! The outbox is what makes "each order reaches the ERP exactly once" survive a
//! kill: an order is marked `pending` *before* it is posted and `created` after
//! the ERP answered. A restarted engine finds `pending` orders and looks them up
//! in the ERP by external document number before posting again, because the
//! ERP may have committed the first attempt (F9).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::mapping::Owner;
use super::watermark::Watermark;

/// A state file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("engine state database error")]
    Db(#[from] rusqlite::Error),
    #[error("engine state holds unreadable JSON")]
    Watermark(#[from] serde_json::Error),
}

/// Where an order is on its way to the ERP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// About to be posted, or posted without a known answer.
    Pending,
    /// The ERP has it (its document number is recorded).
    Created,
    /// Parked in the exception queue.
    Failed,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Created => "created",
            OutboxStatus::Failed => "failed",
        }
    }
    fn parse(s: &str) -> OutboxStatus {
        match s {
            "created" => OutboxStatus::Created,
            "failed" => OutboxStatus::Failed,
            _ => OutboxStatus::Pending,
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub order_number: String,
    pub order_id: String,
    pub status: OutboxStatus,
    pub erp_number: Option<String>,
    pub attempts: u32,
}

/// One parked exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionEntry {
    pub id: i64,
    /// What it is about: an order number or a SKU.
    pub subject: String,
    pub category: String,
    pub owner: Owner,
    pub detail: String,
    pub resolved: bool,
}

fn owner_str(o: Owner) -> &'static str {
    match o {
        Owner::Ecommerce => "ecommerce",
        Owner::Operations => "operations",
        Owner::Finance => "finance",
        Owner::Integration => "integration",
    }
}

fn owner_parse(s: &str) -> Owner {
    match s {
        "ecommerce" => Owner::Ecommerce,
        "operations" => Owner::Operations,
        "finance" => Owner::Finance,
        _ => Owner::Integration,
    }
}

/// The engine's state file.
pub struct EngineState {
    db: Connection,
}

/// An order number with its units per SKU.
pub type OrderUnits = (String, Vec<(String, i64)>);

impl std::fmt::Debug for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineState").finish_non_exhaustive()
    }
}

impl EngineState {
    /// Opens (or creates) the state file.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::init(Connection::open(path)?)
    }

    /// A throwaway state (tests, dry runs).
    pub fn in_memory() -> Result<Self, StateError> {
        Self::init(Connection::open_in_memory()?)
    }

    /// A throwaway state for a run: SQLite's private temporary file (an
    /// empty file name), deleted when the state is dropped. Only SQLite's
    /// page cache (2 MB) stays in memory; a peak day's outbox, seen orders
    /// and shipments grow to over 30 MB, which in memory counted against the
    /// run's peak (issue 6). Temporary files are never synced.
    pub fn scratch() -> Result<Self, StateError> {
        Self::init(Connection::open("")?)
    }

    fn init(db: Connection) -> Result<Self, StateError> {
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS outbox (
                 order_number TEXT PRIMARY KEY, order_id TEXT NOT NULL, status TEXT NOT NULL,
                 erp_number TEXT, attempts INTEGER NOT NULL DEFAULT 0, lines TEXT NOT NULL DEFAULT '[]');
             CREATE TABLE IF NOT EXISTS pushed (sku TEXT PRIMARY KEY, stock INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS seen_orders (order_number TEXT PRIMARY KEY, lines TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS shipments (number TEXT PRIMARY KEY, order_number TEXT NOT NULL, lines TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS exceptions (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, category TEXT NOT NULL,
                 owner TEXT NOT NULL, detail TEXT NOT NULL, resolved INTEGER NOT NULL DEFAULT 0);
             CREATE INDEX IF NOT EXISTS exceptions_open ON exceptions(resolved, subject);
             CREATE INDEX IF NOT EXISTS shipments_order ON shipments(order_number);
             CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status);",
        )?;
        // State files from before the acknowledgement sequence get the column.
        let has_seq = db
            .prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'acked_seq'")?
            .exists([])?;
        if !has_seq {
            db.execute_batch("ALTER TABLE outbox ADD COLUMN acked_seq INTEGER")?;
        }
        db.execute_batch("CREATE INDEX IF NOT EXISTS outbox_acked ON outbox(acked_seq)")?;
        // State files from before the pushed figures kept their ERP on hand get the column too.
        let has_on_hand = db
            .prepare("SELECT 1 FROM pragma_table_info('pushed') WHERE name = 'on_hand'")?
            .exists([])?;
        if !has_on_hand {
            db.execute_batch("ALTER TABLE pushed ADD COLUMN on_hand INTEGER")?;
        }
        Ok(EngineState { db })
    }

    pub fn watermark(&self) -> Result<Watermark, StateError> {
        let raw: Option<String> = self
            .one("SELECT value FROM kv WHERE key = 'order_watermark'", [], |r| r.get(0))
            .optional()?;
        Ok(match raw {
            Some(s) => serde_json::from_str(&s)?,
            None => Watermark::default(),
        })
    }

    pub fn save_watermark(&self, w: &Watermark) -> Result<(), StateError> {
        self.exec(
            "INSERT INTO kv (key, value) VALUES ('order_watermark', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![serde_json::to_string(w)?],
        )?;
        Ok(())
    }

    /// Marks an order as about to be posted (counts the attempt) with the
    /// quantities it takes per SKU. Returns the entry as it was.
    pub fn begin(
        &self,
        order_number: &str,
        order_id: &str,
        lines: &[(String, i64)],
    ) -> Result<Option<OutboxEntry>, StateError> {
        let before = self.outbox(order_number)?;
        self.exec("DELETE FROM seen_orders WHERE order_number = ?1", params![order_number])?;
        self.exec(
            "INSERT INTO outbox (order_number, order_id, status, attempts, lines) VALUES (?1, ?2, 'pending', 1, ?3)
             ON CONFLICT(order_number) DO UPDATE SET attempts = attempts + 1, lines = excluded.lines,
                 status = CASE WHEN status = 'created' THEN 'created' ELSE 'pending' END",
            params![order_number, order_id, serde_json::to_string(lines)?],
        )?;
        Ok(before)
    }

    /// Remembers an order placed in Shopware that the export has not taken
    /// yet, with its units per SKU, until [`Self::begin`] takes it. An order
    /// already in the outbox is not remembered again.
    pub fn note_seen(&self, order_number: &str, lines: &[(String, i64)]) -> Result<(), StateError> {
        self.exec(
            "INSERT OR IGNORE INTO seen_orders (order_number, lines)
             SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE order_number = ?1)",
            params![order_number, serde_json::to_string(lines)?],
        )?;
        Ok(())
    }

    /// Orders seen in Shopware and not yet taken by the export.
    pub fn seen_count(&self) -> Result<usize, StateError> {
        Ok(self.one("SELECT COUNT(*) FROM seen_orders", [], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Where the ERP's acknowledgements stand now: read it before reading the
    /// ERP's stock, and [`Self::unacknowledged_orders_at`] counts the orders
    /// the ERP acknowledged after it, which that stock figure does not yet hold.
    pub fn ack_mark(&self) -> Result<i64, StateError> {
        Ok(self.one("SELECT COALESCE(MAX(acked_seq), 0) FROM outbox", [], |r| r.get(0))?)
    }

    /// The orders the ERP had not acknowledged by `mark`, with their units per
    /// SKU: pending or parked in the outbox, acknowledged after the mark, or
    /// seen in Shopware and not exported yet.
    pub fn unacknowledged_orders_at(&self, mark: i64) -> Result<Vec<OrderUnits>, StateError> {
        let mut stmt = self.db.prepare_cached(
            "SELECT order_number, lines FROM outbox WHERE status != 'created' OR acked_seq > ?1
             UNION ALL SELECT order_number, lines FROM seen_orders",
        )?;
        let rows = stmt.query_map([mark], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (number, raw) = row?;
            out.push((number, serde_json::from_str(&raw)?));
        }
        Ok(out)
    }

    /// Whether the ERP had not acknowledged this order by `mark` (or does not
    /// know it at all).
    pub fn unacknowledged_by(&self, order_number: &str, mark: i64) -> Result<bool, StateError> {
        let acked: Option<bool> = self
            .one(
                "SELECT status = 'created' AND acked_seq <= ?2 FROM outbox WHERE order_number = ?1",
                params![order_number, mark],
                |r| r.get(0),
            )
            .optional()?;
        Ok(!acked.unwrap_or(false))
    }

    /// The figure last pushed for a SKU.
    pub fn pushed(&self, sku: &str) -> Result<Option<i64>, StateError> {
        Ok(self
            .one("SELECT stock FROM pushed WHERE sku = ?1", params![sku], |r| r.get(0))
            .optional()?)
    }

    /// Records the figure pushed for a SKU and the ERP's on hand it came from.
    pub fn set_pushed(&self, sku: &str, stock: i64, on_hand: i64) -> Result<(), StateError> {
        self.exec(
            "INSERT INTO pushed (sku, stock, on_hand) VALUES (?1, ?2, ?3)
             ON CONFLICT(sku) DO UPDATE SET stock = excluded.stock, on_hand = excluded.on_hand",
            params![sku, stock, on_hand],
        )?;
        Ok(())
    }

    /// The ERP's on hand per SKU as of each SKU's last push.
    pub fn pushed_on_hand(&self) -> Result<HashMap<String, i64>, StateError> {
        let mut stmt = self
            .db
            .prepare_cached("SELECT sku, on_hand FROM pushed WHERE on_hand IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a shipment once; returns false if it was seen before.
    pub fn record_shipment(
        &self,
        number: &str,
        order_number: &str,
        lines: &[(String, i64)],
    ) -> Result<bool, StateError> {
        Ok(self.exec(
            "INSERT OR IGNORE INTO shipments (number, order_number, lines) VALUES (?1, ?2, ?3)",
            params![number, order_number, serde_json::to_string(lines)?],
        )? == 1)
    }

    /// Forgets a recorded shipment, so the next pass writes it again.
    pub fn forget_shipment(&self, number: &str) -> Result<(), StateError> {
        self.exec("DELETE FROM shipments WHERE number = ?1", params![number])?;
        Ok(())
    }

    /// Units shipped so far per SKU for an order, and the units ordered (from the outbox).
    pub fn shipped_and_ordered(&self, order_number: &str) -> Result<(i64, i64), StateError> {
        let mut shipped = 0;
        let mut stmt = self
            .db
            .prepare_cached("SELECT lines FROM shipments WHERE order_number = ?1")?;
        for raw in stmt.query_map(params![order_number], |r| r.get::<_, String>(0))? {
            let lines: Vec<(String, i64)> = serde_json::from_str(&raw?)?;
            shipped += lines.iter().map(|l| l.1).sum::<i64>();
        }
        let ordered: Option<String> = self
            .one(
                "SELECT lines FROM outbox WHERE order_number = ?1",
                params![order_number],
                |r| r.get(0),
            )
            .optional()?;
        let ordered = match ordered {
            Some(raw) => serde_json::from_str::<Vec<(String, i64)>>(&raw)?
                .iter()
                .map(|l| l.1)
                .sum(),
            None => 0,
        };
        Ok((shipped, ordered))
    }

    /// A small named value (the items watermark).
    pub fn get_kv(&self, key: &str) -> Result<Option<String>, StateError> {
        Ok(self
            .one("SELECT value FROM kv WHERE key = ?1", params![key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_kv(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.exec(
            "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Records the ERP's document number.
    pub fn created(&self, order_number: &str, erp_number: &str) -> Result<(), StateError> {
        self.exec(
            "UPDATE outbox SET status = 'created', erp_number = ?2,
                 acked_seq = CASE WHEN status = 'created' THEN acked_seq
                     ELSE (SELECT COALESCE(MAX(acked_seq), 0) + 1 FROM outbox) END
             WHERE order_number = ?1",
            params![order_number, erp_number],
        )?;
        Ok(())
    }

    /// Parks an order (its exception is recorded separately).
    pub fn failed(&self, order_number: &str) -> Result<(), StateError> {
        self.exec(
            "UPDATE outbox SET status = 'failed' WHERE order_number = ?1",
            params![order_number],
        )?;
        Ok(())
    }

    pub fn outbox(&self, order_number: &str) -> Result<Option<OutboxEntry>, StateError> {
        Ok(self
            .one(
                "SELECT order_number, order_id, status, erp_number, attempts FROM outbox WHERE order_number = ?1",
                params![order_number],
                row_to_entry,
            )
            .optional()?)
    }

    /// Orders the outbox knows (in any status).
    pub fn outbox_count(&self) -> Result<usize, StateError> {
        Ok(self.one("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Entries with a status, oldest first.
    pub fn outbox_with(&self, status: OutboxStatus) -> Result<Vec<OutboxEntry>, StateError> {
        let mut stmt = self.db.prepare_cached(
            "SELECT order_number, order_id, status, erp_number, attempts FROM outbox WHERE status = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![status.as_str()], row_to_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Parks an exception; the same open (subject, category) is recorded once.
    pub fn add_exception(&self, subject: &str, category: &str, owner: Owner, detail: &str) -> Result<i64, StateError> {
        let existing: Option<i64> = self
            .one(
                "SELECT id FROM exceptions WHERE subject = ?1 AND category = ?2 AND resolved = 0",
                params![subject, category],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            self.exec("UPDATE exceptions SET detail = ?2 WHERE id = ?1", params![id, detail])?;
            return Ok(id);
        }
        self.exec(
            "INSERT INTO exceptions (subject, category, owner, detail) VALUES (?1, ?2, ?3, ?4)",
            params![subject, category, owner_str(owner), detail],
        )?;
        Ok(self.db.last_insert_rowid())
    }

    pub fn exceptions(&self, include_resolved: bool) -> Result<Vec<ExceptionEntry>, StateError> {
        let mut stmt = self.db.prepare_cached(
            "SELECT id, subject, category, owner, detail, resolved FROM exceptions WHERE resolved = 0 OR ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![include_resolved], |r| {
            Ok(ExceptionEntry {
                id: r.get(0)?,
                subject: r.get(1)?,
                category: r.get(2)?,
                owner: owner_parse(&r.get::<_, String>(3)?),
                detail: r.get(4)?,
                resolved: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolves the open exceptions of a subject in a category (an order that
    /// got through after the ERP recovered).
    pub fn resolve_subject(&self, subject: &str, category: &str) -> Result<usize, StateError> {
        Ok(self.exec(
            "UPDATE exceptions SET resolved = 1 WHERE subject = ?1 AND category = ?2 AND resolved = 0",
            params![subject, category],
        )?)
    }

    /// Sends a parked item back for another try: an order goes back to
    /// `pending` (the next export pass looks it up and posts it), and the
    /// exception is resolved. Returns the exception, or None if there is none.
    pub fn retry_exception(&self, id: i64) -> Result<Option<ExceptionEntry>, StateError> {
        let Some(e) = self.exceptions(true)?.into_iter().find(|e| e.id == id && !e.resolved) else {
            return Ok(None);
        };
        self.exec(
            "UPDATE outbox SET status = 'pending' WHERE order_number = ?1 AND status = 'failed'",
            params![e.subject],
        )?;
        self.resolve(id)?;
        Ok(Some(e))
    }

    /// Marks an exception resolved (after a successful retry).
    pub fn resolve(&self, id: i64) -> Result<bool, StateError> {
        Ok(self
            .db
            .execute("UPDATE exceptions SET resolved = 1 WHERE id = ?1", params![id])?
            == 1)
    }
}

impl EngineState {
    /// Runs a statement through the connection's statement cache: the engine
    /// runs the same few statements for every order, and preparing them each
    /// time cost more than running them.
    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.db.prepare_cached(sql)?.execute(p)
    }

    /// One row through the statement cache.
    fn one<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.db.prepare_cached(sql)?.query_row(p, f)
    }
}

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        order_number: r.get(0)?,
        order_id: r.get(1)?,
        status: OutboxStatus::parse(&r.get::<_, String>(2)?),
        erp_number: r.get(3)?,
        attempts: r.get::<_, i64>(4)? as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// Units per SKU the ERP had not acknowledged by `mark`.
    fn units_at(s: &EngineState, mark: i64) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for (_, lines) in s.unacknowledged_orders_at(mark).unwrap() {
            for (sku, qty) in lines {
                *out.entry(sku).or_insert(0) += qty;
            }
        }
        out
    }

    #[test]
    fn outbox_survives_a_restart_and_tells_what_was_in_flight() {
        let dir = std::env::temp_dir().join(format!("synctwin-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("engine.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let s = EngineState::open(&path).unwrap();
            assert_eq!(s.begin("10001", "a", &[("SW1".into(), 2)]).unwrap(), None);
            s.created("10001", "S-ORD101001").unwrap();
            s.begin("10002", "b", &[("SW1".into(), 1), ("SW2".into(), 3)]).unwrap();
            // Killed here: 10002 was posted, the answer never arrived.
            let mut w = Watermark::default();
            w.advance(
                &[("a".into(), "2026-11-27T10:00:00.000+00:00".into())],
                false,
                Duration::ZERO,
            );
            s.save_watermark(&w).unwrap();
        }
        let s = EngineState::open(&path).unwrap();
        let pending = s.outbox_with(OutboxStatus::Pending).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].order_number.as_str(), pending[0].attempts), ("10002", 1));
        assert_eq!(
            s.outbox("10001").unwrap().unwrap().erp_number.as_deref(),
            Some("S-ORD101001")
        );
        assert_eq!(
            s.watermark().unwrap().created_at.as_deref(),
            Some("2026-11-27T10:00:00.000+00:00")
        );
        assert_eq!(
            units_at(&s, i64::MAX),
            [("SW1".to_string(), 1), ("SW2".to_string(), 3)].into()
        );
        // A retry counts the attempt and never downgrades a created order.
        s.begin("10002", "b", &[("SW1".into(), 1), ("SW2".into(), 3)]).unwrap();
        assert_eq!(s.outbox("10002").unwrap().unwrap().attempts, 2);
        s.begin("10001", "a", &[]).unwrap();
        assert_eq!(s.outbox("10001").unwrap().unwrap().status, OutboxStatus::Created);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_scratch_state_keeps_what_it_is_told_until_dropped() {
        let s = EngineState::scratch().unwrap();
        let file: String =
            s.db.query_row("SELECT file FROM pragma_database_list WHERE name = 'main'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(file, "", "a private temporary file, not a named one");
        s.begin("10001", "a", &[("SW1".into(), 2)]).unwrap();
        s.created("10001", "S-ORD101001").unwrap();
        s.begin("10002", "b", &[("SW2".into(), 1)]).unwrap();
        assert_eq!(
            s.outbox("10001").unwrap().unwrap().erp_number.as_deref(),
            Some("S-ORD101001")
        );
        assert_eq!(s.outbox_with(OutboxStatus::Pending).unwrap().len(), 1);
    }

    #[test]
    fn seen_orders_count_as_unacknowledged_until_the_export_takes_them() {
        let s = EngineState::in_memory().unwrap();
        s.begin("10001", "a", &[("SW1".into(), 2)]).unwrap();
        s.created("10001", "S-ORD101001").unwrap();
        // Seen again after export (an overlapping read): not counted.
        s.note_seen("10001", &[("SW1".into(), 2)]).unwrap();
        s.note_seen("10002", &[("SW1".into(), 1), ("SW2".into(), 3)]).unwrap();
        s.note_seen("10002", &[("SW1".into(), 1), ("SW2".into(), 3)]).unwrap();
        assert_eq!(s.seen_count().unwrap(), 1);
        assert_eq!(
            units_at(&s, i64::MAX),
            [("SW1".to_string(), 1), ("SW2".to_string(), 3)].into()
        );
        // Taken by the export and acknowledged: nothing left.
        s.begin("10002", "b", &[("SW1".into(), 1), ("SW2".into(), 3)]).unwrap();
        assert_eq!(s.seen_count().unwrap(), 0);
        assert_eq!(
            units_at(&s, i64::MAX),
            [("SW1".to_string(), 1), ("SW2".to_string(), 3)].into()
        );
        let mark = s.ack_mark().unwrap();
        s.created("10002", "S-ORD101002").unwrap();
        assert!(units_at(&s, i64::MAX).is_empty());
        // A stock figure read before that acknowledgement does not hold the order yet.
        assert_eq!(
            units_at(&s, mark),
            [("SW1".to_string(), 1), ("SW2".to_string(), 3)].into()
        );
        assert!(units_at(&s, s.ack_mark().unwrap()).is_empty());
        assert!(s.unacknowledged_by("10002", mark).unwrap());
        assert!(!s.unacknowledged_by("10002", s.ack_mark().unwrap()).unwrap());
        assert!(s.unacknowledged_by("10009", mark).unwrap(), "not in the outbox");
    }

    #[test]
    fn exceptions_are_recorded_once_per_subject_and_category_and_can_be_resolved() {
        let s = EngineState::in_memory().unwrap();
        let a = s
            .add_exception("10003", "unmapped_sku", Owner::Ecommerce, "SW99999 has no ERP item")
            .unwrap();
        let b = s
            .add_exception("10003", "unmapped_sku", Owner::Ecommerce, "still missing")
            .unwrap();
        assert_eq!(a, b);
        s.add_exception("10004", "unmapped_tax_rate", Owner::Finance, "rate 5.5")
            .unwrap();
        let open = s.exceptions(false).unwrap();
        assert_eq!(open.len(), 2);
        assert_eq!(open[0].detail, "still missing");
        assert_eq!(open[1].owner, Owner::Finance);
        assert!(s.resolve(a).unwrap());
        assert_eq!(s.exceptions(false).unwrap().len(), 1);
        assert_eq!(s.exceptions(true).unwrap().len(), 2);
    }
}
