//! The Shopware twin's profile: capacity, service times, rate limits, faults and
//! auth settings, loaded from `mocks/shopware/*.toml`. Nothing about capacity
//! or limits is hard-coded in the twin; it all comes from here.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::serde_duration;
use crate::twin::capacity::PoolConfig;
use crate::twin::faults::FaultConfig;
use crate::twin::profile::ProfileError;
use crate::twin::ratelimit::RuleConfig;

/// The shipped default: a self-hosted Shopware 6.6 (no API rate limits, capacity-bound).
pub const DEFAULT_PROFILE: &str = include_str!("../../../mocks/shopware/self-hosted-6.6.toml");

/// Service times on the scenario clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTimes {
    /// Every request: routing, auth, serialisation.
    #[serde(with = "serde_duration")]
    pub base: Duration,
    /// Per row returned by a search or read.
    #[serde(with = "serde_duration")]
    pub per_row_read: Duration,
    /// Per record written, without indexing (`disable-indexing`).
    #[serde(with = "serde_duration")]
    pub per_record_write: Duration,
    /// Extra per record when indexers run synchronously (the default) or
    /// queue indexing runs the synchronous updaters.
    #[serde(with = "serde_duration")]
    pub per_record_indexing: Duration,
    /// A token request (password hashing, key signing).
    #[serde(with = "serde_duration")]
    pub token: Duration,
    /// A state transition (flows, mails when `sendMail` is true).
    #[serde(with = "serde_duration")]
    pub transition: Duration,
}

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Access token lifetime (`shopware.api.access_token_ttl`, PT10M).
    #[serde(with = "serde_duration")]
    pub token_ttl: Duration,
    /// Send `Retry-After` with `FRAMEWORK__AUTH_THROTTLED` (6.7.x does; 6.6 puts the wait only in the body).
    #[serde(default)]
    pub throttle_retry_after: bool,
}

/// A Shopware twin profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopwareProfile {
    pub name: String,
    pub description: String,
    /// Shopware version the twin reports (`/api/_info/version`).
    pub version: String,
    pub auth: AuthConfig,
    pub pool: PoolConfig,
    pub service: ServiceTimes,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    #[serde(default)]
    pub rate_limits: Vec<RuleConfig>,
    #[serde(default)]
    pub faults: FaultConfig,
}

impl ShopwareProfile {
    /// The built-in default profile.
    pub fn default_profile() -> Self {
        Self::parse("mocks/shopware/self-hosted-6.6.toml (built in)", DEFAULT_PROFILE)
            .expect("the shipped default profile is valid (checked by a unit test)")
    }

    pub fn parse(origin: &str, text: &str) -> Result<Self, ProfileError> {
        crate::twin::profile::parse_validated(origin, text)
    }

    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        crate::twin::profile::load_validated(path)
    }
}

impl crate::twin::profile::Validate for ShopwareProfile {
    fn validate(&self) -> Result<(), String> {
        self.pool.validate().map_err(|e| format!("pool: {e}"))?;
        self.faults.validate()?;
        for r in &self.rate_limits {
            r.validate()?;
        }
        if self.auth.token_ttl.is_zero() {
            return Err("auth.token_ttl must be longer than 0".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/shopware");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                ShopwareProfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 3, "self-hosted-6.6, saas and edge-limited are shipped");
        assert_eq!(
            ShopwareProfile::default_profile().auth.token_ttl,
            Duration::from_secs(600)
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        let bad = DEFAULT_PROFILE.replace("workers = 8", "workers = 0");
        let e = ShopwareProfile::parse("x.toml", &bad).unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("workers"), "{e}");
    }
}
