//! Client-side rate limiting: requests to one system are paced to at most
//! `per_second` on the scenario clock, so the engine stays under a limit it
//! knows of instead of finding it with 429s. Pure bookkeeping: [`Pacer::reserve`]
//! says how long to wait; the adapter does the waiting.
//!
//! The pacer is a cell-rate limiter (GCRA) with a quarter second of requests
//! as burst tolerance: a waiter that wakes late (every timer does, and at
//! high replay speeds the lateness is a large share of the slot) does not
//! lose its slot, so the long-run rate is the configured one, not less. Over
//! any window the engine sends at most `per_second` × (window + ¼ s).

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::SimTime;

/// Evenly spaced request slots with a small burst tolerance.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    /// How far ahead of its theoretical slot a request may go.
    tolerance: Duration,
    /// The theoretical time of the next request's slot.
    next_slot: Mutex<SimTime>,
}

impl Pacer {
    /// `per_second` must be > 0; the burst tolerance is a quarter second of
    /// requests (at least one request beyond the first).
    pub fn new(per_second: f64) -> Self {
        let per_second = per_second.max(1e-6);
        let interval = Duration::from_secs_f64(1.0 / per_second);
        let burst = (per_second / 4.0).floor().max(1.0);
        Pacer {
            interval,
            tolerance: interval.mul_f64(burst),
            next_slot: Mutex::new(SimTime::ZERO),
        }
    }

    /// Takes the next slot; returns how long to wait before sending.
    pub fn reserve(&self, now: SimTime) -> Duration {
        let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (*next).max(now);
        *next = slot.plus(self.interval);
        slot.saturating_sub(now).saturating_sub(self.tolerance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spread_at_the_configured_rate() {
        // 4/s: a quarter second of tolerance is one request.
        let p = Pacer::new(4.0);
        let t = SimTime::from_secs_f64(10.0);
        let waits: Vec<u128> = (0..6).map(|_| p.reserve(t).as_millis()).collect();
        assert_eq!(waits, vec![0, 0, 250, 500, 750, 1000]);
        // After a quiet spell there is no debt to pay.
        assert_eq!(p.reserve(SimTime::from_secs_f64(60.0)), Duration::ZERO);
    }

    #[test]
    fn a_waiter_that_wakes_late_keeps_the_long_run_rate() {
        // 20/s, each waiter wakes 40 ms after its slot (a coarse timer):
        // 200 requests still take 10 s, not 200 × (50 + 40) ms.
        let p = Pacer::new(20.0);
        let mut now = SimTime::from_secs_f64(100.0);
        for _ in 0..200 {
            let wait = p.reserve(now);
            if !wait.is_zero() {
                now = now.plus(wait + Duration::from_millis(40));
            }
        }
        let took = now.saturating_sub(SimTime::from_secs_f64(100.0)).as_secs_f64();
        assert!((9.5..=10.1).contains(&took), "took {took} s");
    }

    #[test]
    fn no_window_sees_more_than_the_rate_plus_the_tolerance() {
        let p = Pacer::new(20.0);
        let start = SimTime::from_secs_f64(5.0);
        // Everyone asks at once; count who may go within the first second.
        let within = (0..100).filter(|_| p.reserve(start) < Duration::from_secs(1)).count();
        assert_eq!(within, 25, "20/s plus a quarter second of burst");
    }
}
