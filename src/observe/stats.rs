//! Request counters per route and status, kept by each twin.
//!
//! Counting instead of logging keeps memory flat on long replays (WIREMOCK.md:
//! wiremock keeps a copy of every matched request; our own servers must not).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Counts for one route label (`POST /api/_action/sync`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteStats {
    /// Responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Records written by this route (sync payload rows, order lines).
    pub records: u64,
}

impl RouteStats {
    pub fn total(&self) -> u64 {
        self.by_status.values().sum()
    }
}

/// Shared request counters; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestStats {
    inner: Arc<Mutex<BTreeMap<String, RouteStats>>>,
}

impl RequestStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answered request.
    pub fn count(&self, route: &str, status: u16, records: u64) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Route labels are a small fixed set (method + pattern), so the map stays small.
        let entry = match map.get_mut(route) {
            Some(e) => e,
            None => map.entry(route.to_string()).or_default(),
        };
        *entry.by_status.entry(status).or_default() += 1;
        entry.records += records;
    }

    pub fn snapshot(&self) -> BTreeMap<String, RouteStats> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Total requests answered with `status` across all routes.
    pub fn total_with_status(&self, status: u16) -> u64 {
        self.snapshot()
            .values()
            .map(|r| r.by_status.get(&status).copied().unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_status() {
        let s = RequestStats::new();
        s.count("POST /api/_action/sync", 200, 100);
        s.count("POST /api/_action/sync", 429, 0);
        s.count("POST /api/oauth/token", 200, 0);
        let snap = s.snapshot();
        assert_eq!(snap["POST /api/_action/sync"].total(), 2);
        assert_eq!(snap["POST /api/_action/sync"].records, 100);
        assert_eq!(s.total_with_status(429), 1);
    }
}
