//! Rate limits per route pattern, on the scenario clock.
//!
//! Policies as the real systems use them: Symfony's `fixed_window`,
//! `sliding_window` and `token_bucket`, and Shopware's own `time_backoff`
//! (used for failed logins: blocks grow with the attempts, a success resets).
//! A rule says which routes it covers, how clients are keyed, and how the 429
//! looks (with or without `Retry-After`). The twin renders the body.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{serde_duration, serde_opt_duration, SimTime};

/// How a limiter tells clients apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeyBy {
    /// Per client IP (Shopware's oauth limiter, SaaS token limit, proxies).
    #[default]
    Ip,
    /// Per OAuth client (Business Central: per user or service principal).
    Client,
    /// One bucket for everybody.
    Global,
}

/// One step of a `time_backoff` policy: more than `limit` attempts block for `interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffStep {
    pub limit: u32,
    #[serde(with = "serde_duration")]
    pub interval: Duration,
}

/// A limiter's policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Policy {
    FixedWindow {
        limit: u32,
        #[serde(with = "serde_duration")]
        window: Duration,
    },
    SlidingWindow {
        limit: u32,
        #[serde(with = "serde_duration")]
        window: Duration,
    },
    TokenBucket {
        /// Bucket size.
        burst: u32,
        /// Tokens added per `per`.
        rate: u32,
        #[serde(with = "serde_duration")]
        per: Duration,
    },
    TimeBackoff {
        steps: Vec<BackoffStep>,
        #[serde(with = "serde_duration")]
        reset: Duration,
    },
}

/// A rate-limit rule from a profile.
///
/// Deserialised through [`RawRule`] so that unknown keys are errors (serde's
/// `deny_unknown_fields` does not work with a flattened policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct RuleConfig {
    /// A name for reports (`saas-token-endpoint`).
    pub name: String,
    /// Path pattern: exact, or ending in `*` for a prefix (`/api/*`).
    pub route: String,
    /// Only these methods (empty: all).
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub key: KeyBy,
    #[serde(flatten)]
    pub policy: Policy,
    /// Send `Retry-After: <seconds>` with the 429.
    #[serde(default)]
    pub retry_after: bool,
    /// HTTP status of a refusal (429 unless the system says otherwise).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Error code in the body (`FRAMEWORK__RATE_LIMIT_EXCEEDED`).
    #[serde(default)]
    pub code: Option<String>,
    /// Count only failed requests (Shopware's oauth limiter); the twin calls
    /// [`RateLimiter::reset`] on success.
    #[serde(default)]
    pub failures_only: bool,
    /// Fixed wait to report instead of the computed one (rare).
    #[serde(default, with = "serde_opt_duration")]
    pub fixed_wait: Option<Duration>,
}

fn default_status() -> u16 {
    429
}

/// The rule as written in a profile: every key any policy may use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    name: String,
    route: String,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    key: KeyBy,
    policy: String,
    limit: Option<u32>,
    #[serde(default, with = "serde_opt_duration")]
    window: Option<Duration>,
    burst: Option<u32>,
    rate: Option<u32>,
    #[serde(default, with = "serde_opt_duration")]
    per: Option<Duration>,
    steps: Option<Vec<BackoffStep>>,
    #[serde(default, with = "serde_opt_duration")]
    reset: Option<Duration>,
    #[serde(default)]
    retry_after: bool,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    failures_only: bool,
    #[serde(default, with = "serde_opt_duration")]
    fixed_wait: Option<Duration>,
}

impl TryFrom<RawRule> for RuleConfig {
    type Error = String;

    fn try_from(r: RawRule) -> Result<Self, String> {
        let name = r.name.clone();
        let need = |what: &str| format!("rate limit '{name}': policy '{}' needs '{what}'", r.policy);
        let policy = match r.policy.as_str() {
            "fixed_window" => Policy::FixedWindow {
                limit: r.limit.ok_or_else(|| need("limit"))?,
                window: r.window.ok_or_else(|| need("window"))?,
            },
            "sliding_window" => Policy::SlidingWindow {
                limit: r.limit.ok_or_else(|| need("limit"))?,
                window: r.window.ok_or_else(|| need("window"))?,
            },
            "token_bucket" => Policy::TokenBucket {
                burst: r.burst.ok_or_else(|| need("burst"))?,
                rate: r.rate.ok_or_else(|| need("rate"))?,
                per: r.per.ok_or_else(|| need("per"))?,
            },
            "time_backoff" => Policy::TimeBackoff {
                steps: r.steps.clone().ok_or_else(|| need("steps"))?,
                reset: r.reset.ok_or_else(|| need("reset"))?,
            },
            other => {
                return Err(format!(
                    "rate limit '{name}': unknown policy '{other}'; allowed: fixed_window, sliding_window, token_bucket, time_backoff"
                ))
            }
        };
        let rule = RuleConfig {
            name: r.name,
            route: r.route,
            methods: r.methods,
            key: r.key,
            policy,
            retry_after: r.retry_after,
            status: r.status,
            code: r.code,
            failures_only: r.failures_only,
            fixed_wait: r.fixed_wait,
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl RuleConfig {
    pub fn validate(&self) -> Result<(), String> {
        let positive = |n: u32, what: &str| {
            if n == 0 {
                Err(format!("rate limit '{}': {what} must be at least 1", self.name))
            } else {
                Ok(())
            }
        };
        match &self.policy {
            Policy::FixedWindow { limit, window } | Policy::SlidingWindow { limit, window } => {
                positive(*limit, "limit")?;
                if window.is_zero() {
                    return Err(format!("rate limit '{}': window must be longer than 0", self.name));
                }
            }
            Policy::TokenBucket { burst, rate, per } => {
                positive(*burst, "burst")?;
                positive(*rate, "rate")?;
                if per.is_zero() {
                    return Err(format!("rate limit '{}': per must be longer than 0", self.name));
                }
            }
            Policy::TimeBackoff { steps, .. } => {
                if steps.is_empty() {
                    return Err(format!(
                        "rate limit '{}': time_backoff needs at least one step",
                        self.name
                    ));
                }
            }
        }
        if !(400..=599).contains(&self.status) {
            return Err(format!(
                "rate limit '{}': status must be an HTTP error status (400-599)",
                self.name
            ));
        }
        Ok(())
    }

    /// Does this rule cover `method path`?
    pub fn covers(&self, method: &str, path: &str) -> bool {
        let route_ok = match self.route.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.route,
        };
        route_ok && (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }
}

/// A refusal: which rule, and how long until the client may try again.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub rule: String,
    pub wait: Duration,
    pub retry_after: bool,
    pub status: u16,
    pub code: Option<String>,
}

impl Refusal {
    /// The wait in whole seconds, rounded up (as `Retry-After` carries it).
    pub fn wait_secs(&self) -> u64 {
        self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0)
    }
}

#[derive(Debug)]
enum Bucket {
    Fixed { window_start: SimTime, count: u32 },
    Sliding { hits: VecDeque<SimTime> },
    Tokens { tokens: f64, last: SimTime },
    Backoff { attempts: u32, last: SimTime },
}

/// All rules of a profile with their per-key state.
#[derive(Debug, Default)]
pub struct RateLimiter {
    rules: Vec<RuleConfig>,
    state: BTreeMap<(usize, String), Bucket>,
    /// Per rule and key: the end of the wait a `Retry-After` asked for.
    told_to_wait: BTreeMap<(usize, String), SimTime>,
    /// Requests that arrived before the `Retry-After` they were given had passed.
    violations: u64,
}

impl RateLimiter {
    pub fn new(rules: Vec<RuleConfig>) -> Self {
        RateLimiter {
            rules,
            state: BTreeMap::new(),
            told_to_wait: BTreeMap::new(),
            violations: 0,
        }
    }

    /// Requests that came back before their `Retry-After` had passed (measured
    /// at the twin, whatever client sent them).
    pub fn retry_after_violations(&self) -> u64 {
        self.violations
    }

    pub fn rules(&self) -> &[RuleConfig] {
        &self.rules
    }

    fn key(rule: &RuleConfig, ip: &str, client: &str) -> String {
        match rule.key {
            KeyBy::Ip => ip.to_string(),
            KeyBy::Client => client.to_string(),
            KeyBy::Global => String::new(),
        }
    }

    /// Checks (and counts) one request against every rule that covers it.
    /// `client` is the OAuth client id if known, else empty.
    pub fn check(&mut self, now: SimTime, method: &str, path: &str, ip: &str, client: &str) -> Result<(), Refusal> {
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.covers(method, path) {
                continue;
            }
            let key = (i, Self::key(rule, ip, client));
            if let Some(until) = self.told_to_wait.get(&key) {
                if now < *until {
                    self.violations += 1;
                } else {
                    self.told_to_wait.remove(&key);
                }
            }
            let bucket = self
                .state
                .entry(key.clone())
                .or_insert_with(|| new_bucket(&rule.policy, now));
            if let Some(wait) = consume(&rule.policy, bucket, now) {
                let wait = rule.fixed_wait.unwrap_or(wait);
                if rule.retry_after {
                    // As the header carries it: whole seconds, rounded up.
                    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    self.told_to_wait.insert(key, now.plus(Duration::from_secs(secs)));
                }
                return Err(Refusal {
                    rule: rule.name.clone(),
                    wait,
                    retry_after: rule.retry_after,
                    status: rule.status,
                    code: rule.code.clone(),
                });
            }
        }
        Ok(())
    }

    /// Forgets the count of `failures_only` rules for this client after a
    /// success (Shopware resets the oauth limiter on a successful token call).
    pub fn reset(&mut self, method: &str, path: &str, ip: &str, client: &str) {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.failures_only && rule.covers(method, path) {
                self.state.remove(&(i, Self::key(rule, ip, client)));
            }
        }
    }

    /// Drops idle state so memory stays bounded on long runs.
    pub fn prune(&mut self, now: SimTime) {
        self.told_to_wait.retain(|_, until| *until > now);
        let rules = &self.rules;
        self.state.retain(|(i, _), b| {
            let horizon = match &rules[*i].policy {
                Policy::FixedWindow { window, .. } | Policy::SlidingWindow { window, .. } => *window,
                Policy::TokenBucket { per, burst, rate } => *per * (*burst / (*rate).max(1) + 1),
                Policy::TimeBackoff { reset, .. } => *reset,
            };
            let last = match b {
                Bucket::Fixed { window_start, .. } => *window_start,
                Bucket::Sliding { hits } => hits.back().copied().unwrap_or(SimTime::ZERO),
                Bucket::Tokens { last, .. } | Bucket::Backoff { last, .. } => *last,
            };
            now.saturating_sub(last) <= horizon
        });
    }
}

fn new_bucket(p: &Policy, now: SimTime) -> Bucket {
    match p {
        Policy::FixedWindow { .. } => Bucket::Fixed {
            window_start: now,
            count: 0,
        },
        Policy::SlidingWindow { .. } => Bucket::Sliding { hits: VecDeque::new() },
        Policy::TokenBucket { burst, .. } => Bucket::Tokens {
            tokens: f64::from(*burst),
            last: now,
        },
        Policy::TimeBackoff { .. } => Bucket::Backoff { attempts: 0, last: now },
    }
}

/// Consumes one request; returns the wait if refused.
fn consume(p: &Policy, b: &mut Bucket, now: SimTime) -> Option<Duration> {
    match (p, b) {
        (Policy::FixedWindow { limit, window }, Bucket::Fixed { window_start, count }) => {
            if now.saturating_sub(*window_start) >= *window {
                // Align to the window grid so windows do not drift with traffic.
                let w = window.as_micros() as u64;
                *window_start = SimTime(now.0 - (now.0 - window_start.0) % w);
                *count = 0;
            }
            if *count >= *limit {
                return Some(window_start.plus(*window).saturating_sub(now));
            }
            *count += 1;
            None
        }
        (Policy::SlidingWindow { limit, window }, Bucket::Sliding { hits }) => {
            while hits.front().is_some_and(|t| now.saturating_sub(*t) >= *window) {
                hits.pop_front();
            }
            if hits.len() as u32 >= *limit {
                let oldest = *hits.front().expect("non-empty at limit");
                return Some(oldest.plus(*window).saturating_sub(now));
            }
            hits.push_back(now);
            None
        }
        (Policy::TokenBucket { burst, rate, per }, Bucket::Tokens { tokens, last }) => {
            let refill = now.saturating_sub(*last).as_secs_f64() / per.as_secs_f64() * f64::from(*rate);
            *tokens = (*tokens + refill).min(f64::from(*burst));
            *last = now;
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                None
            } else {
                let need = (1.0 - *tokens) / f64::from(*rate) * per.as_secs_f64();
                Some(Duration::from_secs_f64(need))
            }
        }
        (Policy::TimeBackoff { steps, reset }, Bucket::Backoff { attempts, last }) => {
            if now.saturating_sub(*last) >= *reset {
                *attempts = 0;
            }
            // The longest interval among the steps whose limit is reached.
            let block = steps.iter().filter(|s| *attempts >= s.limit).map(|s| s.interval).max();
            if let Some(block) = block {
                let until = last.plus(block);
                if now < until {
                    return Some(until.saturating_sub(now));
                }
            }
            *attempts += 1;
            *last = now;
            None
        }
        _ => unreachable!("bucket kind always matches its policy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(policy: Policy) -> RuleConfig {
        RuleConfig {
            name: "r".into(),
            route: "/api/*".into(),
            methods: vec![],
            key: KeyBy::Ip,
            policy,
            retry_after: true,
            status: 429,
            code: None,
            failures_only: false,
            fixed_wait: None,
        }
    }
    fn s(n: u64) -> SimTime {
        SimTime(n * 1_000_000)
    }

    #[test]
    fn fixed_window_refuses_until_the_window_ends() {
        let mut l = RateLimiter::new(vec![rule(Policy::FixedWindow {
            limit: 2,
            window: Duration::from_secs(60),
        })]);
        assert!(l.check(s(0), "POST", "/api/x", "ip", "").is_ok());
        assert!(l.check(s(1), "POST", "/api/x", "ip", "").is_ok());
        let r = l.check(s(10), "POST", "/api/x", "ip", "").unwrap_err();
        assert_eq!(r.wait, Duration::from_secs(50));
        assert_eq!(r.wait_secs(), 50);
        // Another IP has its own bucket; an uncovered route is never limited.
        assert!(l.check(s(10), "POST", "/api/x", "other", "").is_ok());
        assert!(l.check(s(10), "POST", "/store-api/x", "ip", "").is_ok());
        assert!(l.check(s(60), "POST", "/api/x", "ip", "").is_ok());
    }

    #[test]
    fn sliding_window_counts_the_last_window_exactly() {
        let mut l = RateLimiter::new(vec![rule(Policy::SlidingWindow {
            limit: 3,
            window: Duration::from_secs(300),
        })]);
        for t in [0, 100, 200] {
            assert!(l.check(s(t), "GET", "/api/a", "c", "").is_ok());
        }
        let r = l.check(s(250), "GET", "/api/a", "c", "").unwrap_err();
        assert_eq!(r.wait, Duration::from_secs(50));
        // At 300 s the first hit has left the window.
        assert!(l.check(s(300), "GET", "/api/a", "c", "").is_ok());
    }

    #[test]
    fn token_bucket_refills_at_its_rate() {
        let mut l = RateLimiter::new(vec![rule(Policy::TokenBucket {
            burst: 2,
            rate: 1,
            per: Duration::from_secs(1),
        })]);
        assert!(l.check(s(0), "GET", "/api/a", "c", "").is_ok());
        assert!(l.check(s(0), "GET", "/api/a", "c", "").is_ok());
        let r = l.check(s(0), "GET", "/api/a", "c", "").unwrap_err();
        assert_eq!(r.wait, Duration::from_secs(1));
        assert!(l.check(s(1), "GET", "/api/a", "c", "").is_ok());
    }

    #[test]
    fn time_backoff_blocks_after_limit_and_success_resets() {
        let mut r = rule(Policy::TimeBackoff {
            steps: vec![
                BackoffStep {
                    limit: 2,
                    interval: Duration::from_secs(10),
                },
                BackoffStep {
                    limit: 3,
                    interval: Duration::from_secs(30),
                },
            ],
            reset: Duration::from_secs(86_400),
        });
        r.failures_only = true;
        let mut l = RateLimiter::new(vec![r]);
        assert!(l.check(s(0), "POST", "/api/oauth/token", "ip", "").is_ok());
        assert!(l.check(s(1), "POST", "/api/oauth/token", "ip", "").is_ok());
        // Two attempts reached the first step: blocked 10 s after the last.
        assert_eq!(
            l.check(s(2), "POST", "/api/oauth/token", "ip", "").unwrap_err().wait,
            Duration::from_secs(9)
        );
        assert!(l.check(s(11), "POST", "/api/oauth/token", "ip", "").is_ok());
        // Three attempts: the 30 s step applies.
        assert_eq!(
            l.check(s(12), "POST", "/api/oauth/token", "ip", "").unwrap_err().wait,
            Duration::from_secs(29)
        );
        l.reset("POST", "/api/oauth/token", "ip", "");
        assert!(l.check(s(12), "POST", "/api/oauth/token", "ip", "").is_ok());
    }

    #[test]
    fn requests_before_the_retry_after_passed_are_counted_as_violations() {
        let mut l = RateLimiter::new(vec![rule(Policy::FixedWindow {
            limit: 1,
            window: Duration::from_secs(60),
        })]);
        assert!(l.check(s(0), "GET", "/api/a", "ip", "").is_ok());
        let r = l.check(s(1), "GET", "/api/a", "ip", "").unwrap_err();
        assert_eq!(r.wait_secs(), 59);
        // Back after 10 s although told 59: a violation (and refused again, told 50 s more).
        assert!(l.check(s(11), "GET", "/api/a", "ip", "").is_err());
        assert_eq!(l.retry_after_violations(), 1);
        // Another client is not affected; waiting out the full time is no violation.
        assert!(l.check(s(11), "GET", "/api/a", "other", "").is_ok());
        assert!(l.check(s(61), "GET", "/api/a", "ip", "").is_ok());
        assert_eq!(l.retry_after_violations(), 1);
    }

    #[test]
    fn validation_names_the_rule() {
        let bad = rule(Policy::FixedWindow {
            limit: 0,
            window: Duration::from_secs(1),
        });
        assert!(bad.validate().unwrap_err().contains("'r'"));
    }

    #[test]
    fn rules_parse_from_toml_and_reject_unknown_keys_and_policies() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct W {
            r: RuleConfig,
        }
        let ok: W =
            toml::from_str("[r]\nname='a'\nroute='/api/*'\npolicy='sliding_window'\nlimit=5\nwindow='5m'\n").unwrap();
        assert_eq!(
            ok.r.policy,
            Policy::SlidingWindow {
                limit: 5,
                window: Duration::from_secs(300)
            }
        );
        let e =
            toml::from_str::<W>("[r]\nname='a'\nroute='/'\npolicy='fixed_window'\nlimit=5\nwindow='1s'\nwindoww=1\n")
                .unwrap_err();
        assert!(e.to_string().contains("windoww"), "{e}");
        let e = toml::from_str::<W>("[r]\nname='a'\nroute='/'\npolicy='leaky'\n").unwrap_err();
        assert!(e.to_string().contains("allowed: fixed_window"), "{e}");
        let e = toml::from_str::<W>("[r]\nname='a'\nroute='/'\npolicy='fixed_window'\nlimit=5\n").unwrap_err();
        assert!(e.to_string().contains("needs 'window'"), "{e}");
    }

    #[test]
    fn prune_forgets_idle_clients() {
        let mut l = RateLimiter::new(vec![rule(Policy::FixedWindow {
            limit: 1,
            window: Duration::from_secs(1),
        })]);
        for ip in 0..100 {
            let _ = l.check(s(0), "GET", "/api/a", &ip.to_string(), "");
        }
        l.prune(s(10));
        assert!(l.state.is_empty());
    }
}
