//! Client-side rate limiting: requests to one system are paced to at most
//! `per_second` on the scenario clock, so the engine stays under a limit it
//! knows of instead of finding it with 429s. Pure bookkeeping: [`Pacer::reserve`]
//! says how long to wait; the adapter does the waiting.

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::SimTime;

/// Evenly spaced request slots.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_free: Mutex<SimTime>,
}

impl Pacer {
    /// `per_second` must be > 0.
    pub fn new(per_second: f64) -> Self {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / per_second.max(1e-6)),
            next_free: Mutex::new(SimTime::ZERO),
        }
    }

    /// Takes the next slot at or after `now`; returns how long to wait for it.
    pub fn reserve(&self, now: SimTime) -> Duration {
        let mut next = self.next_free.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (*next).max(now);
        *next = slot.plus(self.interval);
        slot.saturating_sub(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spread_at_the_configured_rate() {
        let p = Pacer::new(4.0);
        let t = SimTime::from_secs_f64(10.0);
        let waits: Vec<u128> = (0..5).map(|_| p.reserve(t).as_millis()).collect();
        assert_eq!(waits, vec![0, 250, 500, 750, 1000]);
        // After a quiet spell there is no debt to pay.
        assert_eq!(p.reserve(SimTime::from_secs_f64(60.0)), Duration::ZERO);
    }
}
