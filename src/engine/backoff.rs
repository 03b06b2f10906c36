//! Retry decisions: which failures are retried, how long to wait (exponential
//! backoff with full jitter, or the server's `Retry-After`), and when to give up.
//!
//! Pure: the caller passes the attempt number, the status and the header, and
//! an RNG; nothing here sleeps or reads a clock. `Retry-After` is honoured in
//! both forms RFC 9110 allows: delta-seconds and an HTTP-date.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_duration;

/// Retry settings from the engine config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// First backoff ceiling; doubles per attempt.
    #[serde(with = "serde_duration")]
    pub base: Duration,
    /// Largest backoff ceiling.
    #[serde(with = "serde_duration")]
    pub cap: Duration,
    /// Attempts in all (the first try included) before the work goes to the exception queue.
    pub max_attempts: u32,
    /// Longest `Retry-After` the engine accepts before treating the answer as a failure.
    #[serde(with = "serde_duration")]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            max_attempts: 8,
            max_retry_after: Duration::from_secs(600),
        }
    }
}

/// What a response means for the call that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer.
    Status(u16),
    /// No answer: timeout, reset, refused. The write may or may not have happened.
    NoAnswer,
}

/// Whether the failure is worth another try.
pub fn retryable(outcome: Outcome) -> bool {
    match outcome {
        Outcome::NoAnswer => true,
        Outcome::Status(s) => matches!(s, 408 | 429 | 500 | 502 | 503 | 504),
    }
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter { wait: Duration, honoured_header: bool },
    /// Stop: not retryable, or out of attempts.
    GiveUp,
}

/// Parses `Retry-After` (seconds or HTTP-date) into a wait from `now`.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let diff = date - now;
    Some(if diff.is_negative() {
        Duration::ZERO
    } else {
        diff.unsigned_abs()
    })
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 = the first try) failed.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: Outcome,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Decision {
        if !retryable(outcome) || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        if let Some(wait) = retry_after {
            if wait <= self.max_retry_after {
                return Decision::RetryAfter {
                    wait,
                    honoured_header: true,
                };
            }
            return Decision::GiveUp;
        }
        Decision::RetryAfter {
            wait: self.full_jitter(attempt, rng),
            honoured_header: false,
        }
    }

    /// AWS "full jitter": uniform in [0, min(cap, base × 2^(attempt-1))].
    pub fn full_jitter(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self.base.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let ceiling = exp.min(self.cap.as_secs_f64());
        Duration::from_secs_f64(rng.gen_range(0.0..=ceiling))
    }
}

/// Calls `f` until it succeeds, a failure is not retryable, or the policy's
/// attempts run out, pausing between attempts. Returns the result and the
/// number of retries made and of `Retry-After` waits honoured.
pub async fn retrying<T, Fut>(
    pause: &impl crate::engine::ports::Pause,
    policy: &RetryPolicy,
    rng: &mut impl Rng,
    mut f: impl FnMut() -> Fut,
) -> (Result<T, crate::engine::http::CallError>, u32, u32)
where
    Fut: std::future::Future<Output = Result<T, crate::engine::http::CallError>>,
{
    let (mut retries, mut honoured) = (0, 0);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match f().await {
            Ok(v) => return (Ok(v), retries, honoured),
            Err(e) => match policy.decide(attempt, e.outcome(), e.retry_after(), rng) {
                Decision::GiveUp => return (Err(e), retries, honoured),
                Decision::RetryAfter { wait, honoured_header } => {
                    retries += 1;
                    honoured += u32::from(honoured_header);
                    pause.pause(wait).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-27 10:00:00 UTC)
    }

    #[test]
    fn retry_after_in_seconds_and_http_date() {
        assert_eq!(parse_retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 10:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now()),
            Some(Duration::ZERO),
            "a past date means now"
        );
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(Outcome::Status(s)), "{s}");
        }
        for s in [400, 401, 404, 409, 413, 422] {
            assert!(!retryable(Outcome::Status(s)), "{s}");
        }
        assert!(retryable(Outcome::NoAnswer));
    }

    #[test]
    fn retry_after_wins_over_backoff_and_attempts_run_out() {
        let p = RetryPolicy::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            p.decide(1, Outcome::Status(429), Some(Duration::from_secs(7)), &mut rng),
            Decision::RetryAfter {
                wait: Duration::from_secs(7),
                honoured_header: true
            }
        );
        assert_eq!(p.decide(8, Outcome::Status(429), None, &mut rng), Decision::GiveUp);
        assert_eq!(p.decide(1, Outcome::Status(400), None, &mut rng), Decision::GiveUp);
        assert_eq!(
            p.decide(1, Outcome::Status(429), Some(Duration::from_secs(3600)), &mut rng),
            Decision::GiveUp
        );
    }

    #[test]
    fn full_jitter_stays_under_the_growing_ceiling() {
        let p = RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for attempt in 1..=8u32 {
            let ceiling = (2f64.powi(attempt as i32 - 1)).min(10.0);
            let waits: Vec<f64> = (0..500)
                .map(|_| p.full_jitter(attempt, &mut rng).as_secs_f64())
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling + 1e-9), "attempt {attempt}");
            let mean = waits.iter().sum::<f64>() / waits.len() as f64;
            // Uniform on [0, c]: the mean is c/2; 500 draws keep it within 15%.
            assert!(
                (mean - ceiling / 2.0).abs() < ceiling * 0.15,
                "attempt {attempt}: mean {mean}"
            );
        }
    }
}
