//! [`ShopwareTwin`]: the Shopware 6 Admin API twin as one shareable value.
//!
//! State is split in two locks: the [`Store`] behind a `RwLock` (searches run in
//! parallel on both cores) and the control plane (tokens, rate limiter, worker
//! pool, fault RNG) behind a `Mutex` that is only held for bookkeeping. Every
//! request goes through the same pipeline in [`super::routes`]: rate limits, auth,
//! capacity, faults, the handler, then a delay equal to its queueing and service
//! time on the scenario clock.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Digest;

use super::profile::ShopwareProfile;
use super::store::Store;
use crate::clock::{rfc3339_ms, SharedClock, SimTime};
use crate::observe::{Event, ObservationLog, RequestStats, System};
use crate::twin::capacity::WorkerPool;
use crate::twin::faults::FaultInjector;
use crate::twin::ratelimit::RateLimiter;
use crate::twin::tokens::TokenStore;

/// The twin's credentials: an integration ("Access key ID" and "Secret access
/// key", for the client-credentials grant) and an admin user (for the password
/// grant that iPaaS connectors such as Patchworks use with `client_id=administration`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub admin_user: String,
    pub admin_password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs.
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("admin_user", &self.admin_user)
            .field("admin_password", &"***")
            .finish()
    }
}

impl Credentials {
    /// An integration with these keys and the admin user `admin` whose password is derived from the secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        let client_secret = client_secret.into();
        let admin_password = format!(
            "pw-{}",
            &hex::encode(sha2::Sha256::digest(client_secret.as_bytes()))[..16]
        );
        Credentials {
            client_id: client_id.into(),
            client_secret,
            admin_user: "admin".into(),
            admin_password,
        }
    }

    /// Shopware-shaped keys generated from a seed: `SWIA…` and a 55-character secret.
    pub fn generated(seed: u64) -> Self {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc7ed);
        let mut pick =
            |n: usize, set: &[u8]| -> String { (0..n).map(|_| set[rng.gen_range(0..set.len())] as char).collect() };
        let id = format!("SWIA{}", pick(22, ALNUM));
        let secret = pick(55, b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        Credentials::new(id, secret)
    }
}

/// The control plane: everything a request touches besides the data.
#[derive(Debug)]
pub(crate) struct Control {
    pub tokens: TokenStore,
    pub limiter: RateLimiter,
    pub pool: WorkerPool,
    pub faults: FaultInjector,
    pub rng: ChaCha8Rng,
    pub next_order_number: u64,
    /// Refresh tokens of the password grant: token -> (user, expiry).
    pub refresh_tokens: std::collections::HashMap<String, (String, SimTime)>,
}

/// The Shopware twin.
#[derive(Debug)]
pub struct ShopwareTwin {
    pub(crate) store: RwLock<Store>,
    pub(crate) control: Mutex<Control>,
    pub(crate) profile: ShopwareProfile,
    pub(crate) credentials: Credentials,
    pub(crate) clock: SharedClock,
    pub(crate) log: ObservationLog,
    pub(crate) stats: RequestStats,
}

impl ShopwareTwin {
    /// A twin over a prepared store (seeded or empty).
    pub fn new(
        profile: ShopwareProfile,
        store: Store,
        credentials: Credentials,
        seed: u64,
        clock: SharedClock,
        log: ObservationLog,
    ) -> Arc<Self> {
        let next_order_number = 10_000 + store.len("order") as u64;
        let control = Control {
            tokens: TokenStore::new(profile.auth.token_ttl, seed),
            limiter: RateLimiter::new(profile.rate_limits.clone()),
            pool: WorkerPool::new(profile.pool.clone()),
            faults: FaultInjector::new(profile.faults.clone(), seed),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5409),
            next_order_number,
            refresh_tokens: Default::default(),
        };
        Arc::new(ShopwareTwin {
            store: RwLock::new(store),
            control: Mutex::new(control),
            profile,
            credentials,
            clock,
            log,
            stats: RequestStats::new(),
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn profile(&self) -> &ShopwareProfile {
        &self.profile
    }

    pub fn observations(&self) -> &ObservationLog {
        &self.log
    }

    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Read access to the data (reconciliation, tests).
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the twin's data out, leaving an empty store: the end of a run
    /// reads a peak day's rows once and frees them.
    pub fn take_store(&self) -> Store {
        std::mem::replace(&mut *self.write(), Store::new())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn observe(&self, at: SimTime, event: Event) {
        self.log.record(at, System::Shopware, event);
    }

    /// The calendar timestamp of a scenario instant in Shopware's format.
    pub fn timestamp(&self, t: SimTime) -> String {
        rfc3339_ms(self.clock.datetime(t))
    }

    /// Requests that came back before the `Retry-After` they were given had passed.
    pub fn retry_after_violations(&self) -> u64 {
        self.control().limiter.retry_after_violations()
    }

    /// Product stock by productNumber (for the traffic driver and reconciliation).
    pub fn stock_of(&self, product_number: &str) -> Option<(i64, bool)> {
        let store = self.read();
        let id = store.product_by_number(product_number)?;
        let row = store.get("product", &id)?;
        Some((
            row.get("stock").and_then(serde_json::Value::as_i64).unwrap_or(0),
            row.get("available")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_look_like_shopware_and_secrets_stay_out_of_debug() {
        let c = Credentials::generated(1);
        assert!(c.client_id.starts_with("SWIA") && c.client_id.len() == 26);
        assert_eq!(c.client_secret.len(), 55);
        assert_eq!(c, Credentials::generated(1));
        assert!(!format!("{c:?}").contains(&c.client_secret));
    }
}
