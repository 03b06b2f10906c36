//! Seeded fault injection shared by the twins.
//!
//! A profile's `[faults]` table says how often a request fails and how; the
//! draws come from a named RNG (ChaCha8) seeded from the run's seed, so the same
//! seed and the same request order give the same faults.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::clock::serde_duration;

/// Fault settings from a profile. All probabilities are per request in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Chance of a deadlock 500 on a write, before the per-record growth.
    #[serde(default)]
    pub deadlock_base: f64,
    /// Added chance per written record (big batches lock more rows).
    #[serde(default)]
    pub deadlock_per_record: f64,
    /// Cap on the deadlock chance.
    #[serde(default = "one")]
    pub deadlock_max: f64,
    /// Chance that a request hangs until `timeout_after` and then fails.
    #[serde(default)]
    pub timeout: f64,
    /// How long a hung request takes before its gateway gives up.
    #[serde(default = "default_timeout_after", with = "serde_duration")]
    pub timeout_after: Duration,
    /// Chance that a write is committed and then answered with a gateway
    /// timeout (the ambiguous failure behind duplicated orders).
    #[serde(default)]
    pub commit_then_timeout: f64,
    /// Chance that a write is committed and then the connection is dropped.
    #[serde(default)]
    pub commit_then_drop: f64,
}

fn one() -> f64 {
    1.0
}
fn default_timeout_after() -> Duration {
    Duration::from_secs(30)
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            deadlock_base: 0.0,
            deadlock_per_record: 0.0,
            deadlock_max: 1.0,
            timeout: 0.0,
            timeout_after: default_timeout_after(),
            commit_then_timeout: 0.0,
            commit_then_drop: 0.0,
        }
    }
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("deadlock_base", self.deadlock_base),
            ("deadlock_per_record", self.deadlock_per_record),
            ("deadlock_max", self.deadlock_max),
            ("timeout", self.timeout),
            ("commit_then_timeout", self.commit_then_timeout),
            ("commit_then_drop", self.commit_then_drop),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("faults.{name} must be a probability between 0 and 1, got {p}"));
            }
        }
        Ok(())
    }

    /// The deadlock chance for a write of `records` rows.
    pub fn deadlock_chance(&self, records: usize) -> f64 {
        (self.deadlock_base + self.deadlock_per_record * records as f64).min(self.deadlock_max)
    }
}

/// What an injected fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Roll back and answer 500 (Shopware: SQLSTATE 40001 after retries).
    Deadlock,
    /// Hang for `timeout_after`, then answer a gateway timeout; nothing written.
    Timeout,
    /// Write, then answer a gateway timeout.
    CommitThenTimeout,
    /// Write, then drop the connection.
    CommitThenDrop,
}

/// Draws faults from a seeded RNG.
#[derive(Debug)]
pub struct FaultInjector {
    cfg: FaultConfig,
    rng: ChaCha8Rng,
}

impl FaultInjector {
    pub fn new(cfg: FaultConfig, seed: u64) -> Self {
        FaultInjector {
            cfg,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xfa017),
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.cfg
    }

    /// Draws the fault (if any) for a write of `records` rows. Draws happen in a
    /// fixed order so the sequence depends only on the seed and the requests.
    pub fn draw_write(&mut self, records: usize) -> Option<Fault> {
        let roll: f64 = self.rng.gen();
        let mut edge = self.cfg.timeout;
        if roll < edge {
            return Some(Fault::Timeout);
        }
        edge += self.cfg.deadlock_chance(records);
        if roll < edge {
            return Some(Fault::Deadlock);
        }
        edge += self.cfg.commit_then_timeout;
        if roll < edge {
            return Some(Fault::CommitThenTimeout);
        }
        edge += self.cfg.commit_then_drop;
        if roll < edge {
            return Some(Fault::CommitThenDrop);
        }
        None
    }

    /// Draws the fault (if any) for a read: only timeouts apply.
    pub fn draw_read(&mut self) -> Option<Fault> {
        if self.cfg.timeout > 0.0 && self.rng.gen::<f64>() < self.cfg.timeout {
            Some(Fault::Timeout)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlock_chance_grows_with_batch_size_up_to_cap() {
        let cfg = FaultConfig {
            deadlock_base: 0.01,
            deadlock_per_record: 0.001,
            deadlock_max: 0.2,
            ..Default::default()
        };
        assert!((cfg.deadlock_chance(0) - 0.01).abs() < 1e-12);
        assert!((cfg.deadlock_chance(100) - 0.11).abs() < 1e-12);
        assert!((cfg.deadlock_chance(1000) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn same_seed_same_faults_and_rates_match_config() {
        let cfg = FaultConfig {
            deadlock_base: 0.1,
            ..Default::default()
        };
        let a: Vec<_> = {
            let mut f = FaultInjector::new(cfg.clone(), 7);
            (0..10_000).map(|_| f.draw_write(1)).collect()
        };
        let mut f = FaultInjector::new(cfg, 7);
        let b: Vec<_> = (0..10_000).map(|_| f.draw_write(1)).collect();
        assert_eq!(a, b);
        let deadlocks = a.iter().filter(|x| **x == Some(Fault::Deadlock)).count();
        // 10% of 10,000 with a generous 5-sigma band (sigma = 30).
        assert!((850..=1150).contains(&deadlocks), "{deadlocks}");
    }

    #[test]
    fn no_faults_configured_means_none_drawn() {
        let mut f = FaultInjector::new(FaultConfig::default(), 1);
        assert!((0..1000).all(|_| f.draw_write(500).is_none() && f.draw_read().is_none()));
    }

    #[test]
    fn probabilities_are_validated() {
        let cfg = FaultConfig {
            timeout: 1.5,
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().contains("faults.timeout"));
    }
}
