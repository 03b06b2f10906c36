//! Observations: what the twins saw, timestamped on the scenario clock.
//!
//! Principle 1 of DESIGN.md: every latency and gap is computed from what the
//! twins observed, never from the engine's log. Each twin appends an
//! [`Observation`] for every state change it makes (order placed, stock written,
//! state transition, tracking code set, ERP order created or rejected, 429
//! answered) to a shared [`ObservationLog`], and counts every request it answers
//! in [`RequestStats`]. The measurement layer drains the log; nothing here
//! interprets it.
//!
//! Memory: requests are *counted*, not logged, so a long replay's memory grows
//! with state changes only; and the log keeps them packed ([`Observations`]:
//! interned strings, a few bytes an observation in compressed chunks plus its
//! new strings), handed whole to the measurement layer with [`ObservationLog::take`].

mod event;
mod intern;
mod packed;
mod sealed;
mod stats;

pub use event::{Event, EventOf, EventRef, SkuQty};
pub use packed::{Codes, Lines, ObservationRef, Observations};
pub use stats::{RequestStats, RouteStats};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::clock::SimTime;

/// Which twin made an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Shopware,
    Erp,
}

/// One state change (or refusal) seen by a twin, at a scenario instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// When the change became visible to clients (the end of its service time).
    pub at: SimTime,
    pub system: System,
    #[serde(flatten)]
    pub event: Event,
}

/// Shared log of observations; cheap to clone. One log may serve both twins.
///
/// Unbounded by default, and packed ([`Observations`]): a run takes it whole at
/// the end. A standalone server, which nobody drains, uses
/// [`ObservationLog::bounded`]: the oldest observations are dropped (and
/// counted) so memory stays flat however long it serves.
#[derive(Debug, Clone, Default)]
pub struct ObservationLog {
    inner: Arc<Mutex<Ring>>,
}

#[derive(Debug)]
enum Ring {
    Unbounded(Observations),
    Bounded {
        items: VecDeque<Observation>,
        capacity: usize,
        dropped: u64,
    },
}

impl Default for Ring {
    fn default() -> Self {
        Ring::Unbounded(Observations::new())
    }
}

impl ObservationLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that keeps at most `capacity` observations, dropping the oldest.
    pub fn bounded(capacity: usize) -> Self {
        let ring = Ring::Bounded {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        };
        ObservationLog {
            inner: Arc::new(Mutex::new(ring)),
        }
    }

    pub fn record(&self, at: SimTime, system: System, event: Event) {
        match &mut *self.lock() {
            Ring::Unbounded(obs) => obs.record(at, system, event),
            Ring::Bounded {
                items,
                capacity,
                dropped,
            } => {
                while items.len() >= *capacity {
                    items.pop_front();
                    *dropped += 1;
                }
                items.push_back(Observation { at, system, event });
            }
        }
    }

    /// A copy of everything held.
    pub fn snapshot(&self) -> Vec<Observation> {
        match &*self.lock() {
            Ring::Unbounded(obs) => obs.to_vec(),
            Ring::Bounded { items, .. } => items.iter().cloned().collect(),
        }
    }

    /// Takes everything held, leaving the log empty.
    pub fn drain(&self) -> Vec<Observation> {
        match &mut *self.lock() {
            Ring::Unbounded(obs) => std::mem::take(obs).to_vec(),
            Ring::Bounded { items, .. } => items.drain(..).collect(),
        }
    }

    /// Takes everything held, packed, leaving the log empty (no copy when
    /// unbounded).
    pub fn take(&self) -> Observations {
        match &mut *self.lock() {
            Ring::Unbounded(obs) => std::mem::take(obs),
            Ring::Bounded { items, .. } => items.drain(..).collect(),
        }
    }

    pub fn len(&self) -> usize {
        match &*self.lock() {
            Ring::Unbounded(obs) => obs.len(),
            Ring::Bounded { items, .. } => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Observations dropped by a bounded log.
    pub fn dropped(&self) -> u64 {
        match &*self.lock() {
            Ring::Unbounded(_) => 0,
            Ring::Bounded { dropped, .. } => *dropped,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A poisoned log still holds valid observations: keep serving them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_drains_and_serialises_flat() {
        let log = ObservationLog::new();
        log.record(
            SimTime(5),
            System::Shopware,
            Event::Throttled {
                route: "/api/oauth/token".into(),
                status: 429,
                retry_after_secs: Some(6),
            },
        );
        assert_eq!(log.len(), 1);
        let json = serde_json::to_value(&log.snapshot()[0]).unwrap();
        assert_eq!(json["event"], "throttled");
        assert_eq!(json["system"], "shopware");
        assert_eq!(json["retry_after_secs"], 6);
        let back: Observation = serde_json::from_value(json).unwrap();
        assert_eq!(back.at, SimTime(5));
        assert_eq!(log.drain().len(), 1);
        assert!(log.is_empty());
    }

    #[test]
    fn a_bounded_log_keeps_the_newest_and_counts_the_dropped() {
        let log = ObservationLog::bounded(3);
        for i in 0..10 {
            log.record(
                SimTime(i),
                System::Erp,
                Event::ErpCustomerCreated {
                    number: i.to_string(),
                    email: None,
                },
            );
        }
        let kept: Vec<u64> = log.snapshot().iter().map(|o| o.at.0).collect();
        assert_eq!(kept, vec![7, 8, 9]);
        assert_eq!(log.dropped(), 7);
    }
}
