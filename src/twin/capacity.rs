//! The worker pool: N requests in process, a bounded queue, 503 beyond it.
//!
//! Modelled in scenario time rather than with real threads, so both transports
//! (wiremock's single thread and hyper's runtime) behave the same and a run at
//! 1x and at 60x queue identically. Each admitted request is given the worker
//! that frees first; it starts when that worker is free and finishes after its
//! service time. The caller holds the answer back until the finish time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::SimTime;

/// Pool size and queue bound from a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Requests processed at once.
    pub workers: usize,
    /// Requests that may wait for a worker; one more is refused.
    pub queue: usize,
}

impl PoolConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 {
            return Err("workers must be at least 1".into());
        }
        Ok(())
    }
}

/// When an admitted request starts and finishes, in scenario time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: SimTime,
    pub finish: SimTime,
}

impl Slot {
    /// How long the client waits: queueing plus service.
    pub fn latency(&self, arrival: SimTime) -> Duration {
        self.finish.saturating_sub(arrival)
    }
}

/// The pool was full and the queue at its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded {
    pub queued: usize,
}

/// Virtual worker pool on the scenario clock.
#[derive(Debug)]
pub struct WorkerPool {
    cfg: PoolConfig,
    /// When each worker is next free.
    free_at: BinaryHeap<Reverse<SimTime>>,
    /// Start times of admitted requests still waiting for a worker.
    waiting: BinaryHeap<Reverse<SimTime>>,
}

impl WorkerPool {
    pub fn new(cfg: PoolConfig) -> Self {
        let free_at = (0..cfg.workers.max(1)).map(|_| Reverse(SimTime::ZERO)).collect();
        WorkerPool {
            cfg,
            free_at,
            waiting: BinaryHeap::new(),
        }
    }

    /// Admits a request arriving at `now` that needs `service` of work.
    pub fn admit(&mut self, now: SimTime, service: Duration) -> Result<Slot, Overloaded> {
        while self.waiting.peek().is_some_and(|Reverse(s)| *s <= now) {
            self.waiting.pop();
        }
        let Reverse(free) = *self.free_at.peek().expect("pool has at least one worker");
        let start = free.max(now);
        if start > now && self.waiting.len() >= self.cfg.queue {
            return Err(Overloaded {
                queued: self.waiting.len(),
            });
        }
        self.free_at.pop();
        let finish = start.plus(service);
        self.free_at.push(Reverse(finish));
        if start > now {
            self.waiting.push(Reverse(start));
        }
        Ok(Slot { start, finish })
    }

    /// Requests waiting for a worker at `now`.
    pub fn queued(&self, now: SimTime) -> usize {
        self.waiting.iter().filter(|Reverse(s)| *s > now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn requests_queue_behind_busy_workers_and_overflow_is_refused() {
        let mut p = WorkerPool::new(PoolConfig { workers: 2, queue: 1 });
        let t0 = SimTime::ZERO;
        let a = p.admit(t0, ms(100)).unwrap();
        let b = p.admit(t0, ms(100)).unwrap();
        assert_eq!((a.start, b.start), (t0, t0));
        // Third waits for the first free worker.
        let c = p.admit(t0, ms(50)).unwrap();
        assert_eq!(c.start, SimTime(100_000));
        assert_eq!(c.latency(t0), ms(150));
        // Queue bound 1 reached: the fourth is refused.
        assert_eq!(p.admit(t0, ms(10)), Err(Overloaded { queued: 1 }));
        // Once time passes, the queue drains and work is admitted again.
        let later = SimTime(150_000);
        assert_eq!(p.queued(later), 0);
        let d = p.admit(later, ms(10)).unwrap();
        assert_eq!(d.start, later);
    }

    #[test]
    fn idle_pool_answers_after_service_time_only() {
        let mut p = WorkerPool::new(PoolConfig { workers: 1, queue: 0 });
        let s = p.admit(SimTime(1_000_000), ms(20)).unwrap();
        assert_eq!(s.latency(SimTime(1_000_000)), ms(20));
        // A second concurrent one has no queue room.
        assert!(p.admit(SimTime(1_000_000), ms(20)).is_err());
    }
}
