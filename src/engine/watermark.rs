//! The order-export cursor: a `createdAt` watermark with an id tiebreak.
//!
//! Orders are read sorted by `createdAt` then `id`, from the watermark minus an
//! overlap (orders committed late can carry an earlier `createdAt`). Ids already
//! exported at or after the overlap start are remembered and skipped, so no
//! order is missed and none is handed out twice, even when many share a
//! timestamp (a page full of already-seen rows moves to the next page).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Persistent cursor state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    /// Highest `createdAt` handed out (RFC 3339).
    pub created_at: Option<String>,
    /// Ids handed out with their `createdAt`, kept while within the overlap.
    pub recent: BTreeMap<String, String>,
    /// Page to read next within the current window (1-based).
    pub page: usize,
}

fn parse(ts: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(ts, &Rfc3339).ok()
}

fn format_ts(t: OffsetDateTime) -> String {
    crate::clock::rfc3339_ms(t)
}

impl Watermark {
    /// The search criteria of the next page.
    pub fn criteria(&self, limit: usize, overlap: Duration) -> Value {
        let mut c = json!({
            "limit": limit,
            "page": self.page.max(1),
            "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
            "total-count-mode": 0,
        });
        if let Some(from) = self.created_at.as_deref().and_then(parse) {
            let start = from - overlap;
            c["filter"] = json!([{"type": "range", "field": "createdAt", "parameters": {"gte": format_ts(start)}}]);
        }
        c
    }

    /// Takes a page of `(id, createdAt)` rows and returns the ids not handed out
    /// before, advancing the cursor. `full` says the page had `limit` rows.
    pub fn advance(&mut self, rows: &[(String, String)], full: bool, overlap: Duration) -> Vec<String> {
        let mut fresh = Vec::new();
        for (id, created) in rows {
            if self.recent.contains_key(id) {
                continue;
            }
            self.recent.insert(id.clone(), created.clone());
            fresh.push(id.clone());
            let newer = match (self.created_at.as_deref().and_then(parse), parse(created)) {
                (Some(cur), Some(new)) => new > cur,
                (None, Some(_)) => true,
                _ => false,
            };
            if newer {
                self.created_at = Some(created.clone());
            }
        }
        // A full page of nothing new: the window is crowded, read further in it.
        self.page = if full && fresh.is_empty() {
            self.page.max(1) + 1
        } else {
            1
        };
        if let Some(cut) = self.created_at.as_deref().and_then(parse).map(|t| t - overlap) {
            self.recent.retain(|_, ts| parse(ts).is_some_and(|t| t >= cut));
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, ts: &str) -> (String, String) {
        (id.into(), format!("2026-11-27T10:00:{ts}.000+00:00"))
    }

    #[test]
    fn first_read_has_no_filter_and_sorts_with_a_tiebreak() {
        let c = Watermark::default().criteria(100, Duration::from_secs(60));
        assert!(c.get("filter").is_none());
        assert_eq!(c["sort"][1]["field"], "id");
    }

    #[test]
    fn nothing_is_handed_out_twice_across_overlapping_reads() {
        let overlap = Duration::from_secs(30);
        let mut w = Watermark::default();
        assert_eq!(
            w.advance(&[row("a", "01"), row("b", "02")], false, overlap),
            vec!["a", "b"]
        );
        let c = w.criteria(100, overlap);
        assert_eq!(c["filter"][0]["parameters"]["gte"], "2026-11-27T09:59:32.000+00:00");
        // The overlap re-reads b and finds a late-committed order with an earlier timestamp.
        assert_eq!(
            w.advance(&[row("late", "00"), row("b", "02"), row("c", "05")], false, overlap),
            vec!["late", "c"]
        );
        assert_eq!(w.created_at.as_deref(), Some("2026-11-27T10:00:05.000+00:00"));
    }

    #[test]
    fn a_crowded_timestamp_pages_forward_instead_of_stalling() {
        let overlap = Duration::ZERO;
        let mut w = Watermark::default();
        let page1: Vec<_> = (0..3).map(|i| row(&format!("x{i}"), "07")).collect();
        assert_eq!(w.advance(&page1, true, overlap).len(), 3);
        // The same instant again, all seen: move to page 2.
        assert!(w.advance(&page1, true, overlap).is_empty());
        assert_eq!(w.page, 2);
        let page2: Vec<_> = (3..5).map(|i| row(&format!("x{i}"), "07")).collect();
        assert_eq!(w.advance(&page2, false, overlap).len(), 2);
        assert_eq!(w.page, 1);
    }

    #[test]
    fn the_cursor_survives_serialisation() {
        let mut w = Watermark::default();
        w.advance(&[row("a", "01")], false, Duration::from_secs(5));
        let back: Watermark = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
        assert_eq!(back, w);
    }
}
