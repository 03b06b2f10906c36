//! Bearer tokens on the scenario clock, shared by both twins.
//!
//! Tokens are opaque random strings mapped to the client they were issued to
//! and their expiry in scenario time. Expired tokens are swept on issue, so a
//! client that fetches a token per request (F10) does not grow memory forever.

use std::collections::HashMap;
use std::time::Duration;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::SimTime;

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Missing,
    Unknown,
    Expired,
}

/// Issued tokens and their expiry.
#[derive(Debug)]
pub struct TokenStore {
    ttl: Duration,
    tokens: HashMap<String, (String, SimTime)>,
    rng: ChaCha8Rng,
    issued: u64,
    next_sweep: usize,
}

impl TokenStore {
    pub fn new(ttl: Duration, seed: u64) -> Self {
        TokenStore {
            ttl,
            tokens: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x70ce),
            issued: 0,
            next_sweep: 1024,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `client` valid for the TTL from `now`.
    pub fn issue(&mut self, client: &str, now: SimTime) -> String {
        if self.tokens.len() >= self.next_sweep {
            self.tokens.retain(|_, (_, exp)| *exp > now);
            self.next_sweep = (self.tokens.len() * 2).max(1024);
        }
        let mut raw = [0u8; 24];
        self.rng.fill_bytes(&mut raw);
        let token = format!("st.{}", hex::encode(raw));
        self.tokens
            .insert(token.clone(), (client.to_string(), now.plus(self.ttl)));
        self.issued += 1;
        token
    }

    /// The client a token belongs to, if it is valid at `now`.
    pub fn validate(&self, token: Option<&str>, now: SimTime) -> Result<&str, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        match self.tokens.get(token) {
            None => Err(TokenError::Unknown),
            Some((_, exp)) if *exp <= now => Err(TokenError::Expired),
            Some((client, _)) => Ok(client),
        }
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Tokens currently held (valid or not yet swept).
    pub fn held(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_after_ttl_on_the_scenario_clock() {
        let mut s = TokenStore::new(Duration::from_secs(600), 1);
        let t = s.issue("SWIA1", SimTime::ZERO);
        assert_eq!(s.validate(Some(&t), SimTime::from_secs_f64(599.0)), Ok("SWIA1"));
        assert_eq!(
            s.validate(Some(&t), SimTime::from_secs_f64(600.0)),
            Err(TokenError::Expired)
        );
        assert_eq!(s.validate(Some("nope"), SimTime::ZERO), Err(TokenError::Unknown));
        assert_eq!(s.validate(None, SimTime::ZERO), Err(TokenError::Missing));
    }

    #[test]
    fn expired_tokens_are_swept_so_memory_stays_bounded() {
        let mut s = TokenStore::new(Duration::from_secs(1), 1);
        for i in 0..100_000u64 {
            s.issue("c", SimTime(i * 10_000_000));
        }
        assert!(s.held() <= 2048, "{}", s.held());
        assert_eq!(s.issued(), 100_000);
    }
}
