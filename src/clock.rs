//! Scenario time: the one clock every twin, driver and measurement reads.
//!
//! All times in scenarios and profiles are *scenario time*. A run has a speed
//! factor: at 60x one scenario hour passes in one wall minute. Rate-limit windows,
//! service times, token lifetimes and polling intervals are all stated in scenario
//! time and converted to wall time here, so a run at 1x and the same run at 60x
//! agree on counts.
//!
//! [`SimTime`] is a point on the scenario clock (microseconds since the scenario
//! started), [`Clock`] is injected wherever time is read (never `Instant::now()` in
//! logic), [`ScaledClock`] maps wall time to scenario time and [`ManualClock`] is
//! advanced by hand in pure tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A point on the scenario clock: microseconds since the scenario started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn from_secs_f64(secs: f64) -> Self {
        SimTime((secs.max(0.0) * 1e6).round() as u64)
    }
    pub fn from_duration(d: Duration) -> Self {
        SimTime(d.as_micros() as u64)
    }
    pub fn as_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    pub fn saturating_sub(self, other: SimTime) -> Duration {
        Duration::from_micros(self.0.saturating_sub(other.0))
    }
    pub fn plus(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.as_micros() as u64))
    }
}

impl fmt::Display for SimTime {
    /// `h:mm:ss.mmm` of scenario time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1000;
        let (h, m, s, milli) = (ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000);
        write!(f, "{h}:{m:02}:{s:02}.{milli:03}")
    }
}

/// A speed factor: scenario seconds per wall second. Always finite and > 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Speed(f64);

impl Speed {
    pub const REAL_TIME: Speed = Speed(1.0);

    /// Validates a speed factor; the error says what is allowed.
    pub fn new(factor: f64) -> Result<Self, String> {
        if factor.is_finite() && factor > 0.0 && factor <= 100_000.0 {
            Ok(Speed(factor))
        } else {
            Err(format!(
                "speed must be a number greater than 0 and at most 100000 (scenario seconds per wall second), got {factor}"
            ))
        }
    }
    pub fn factor(self) -> f64 {
        self.0
    }
    /// Wall time that a span of scenario time takes at this speed.
    pub fn to_wall(self, scenario: Duration) -> Duration {
        Duration::from_secs_f64(scenario.as_secs_f64() / self.0)
    }
    /// Scenario time that passes during a span of wall time.
    pub fn to_scenario(self, wall: Duration) -> Duration {
        Duration::from_secs_f64(wall.as_secs_f64() * self.0)
    }
}

impl Default for Speed {
    fn default() -> Self {
        Speed::REAL_TIME
    }
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_end_matches(['x', 'X']);
        let v: f64 = trimmed
            .parse()
            .map_err(|_| format!("speed must be a number such as 1, 60 or 300x, got '{s}'"))?;
        Speed::new(v)
    }
}

/// Where scenario time comes from. Logic takes a `&dyn Clock` (or `Arc`), never
/// reads the system clock itself.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current scenario time.
    fn now(&self) -> SimTime;
    /// The speed factor, for converting scenario durations into wall sleeps.
    fn speed(&self) -> Speed;
    /// The calendar instant the scenario started at (for RFC 3339 timestamps in
    /// wire formats).
    fn epoch(&self) -> OffsetDateTime;

    /// The calendar time of a scenario instant.
    fn datetime(&self, t: SimTime) -> OffsetDateTime {
        self.epoch() + t.as_duration()
    }
}

/// Below this, tokio's timer (1 ms ticks, rounding up) would stretch a wall
/// wait several times over; the thread sleep used instead is precise to
/// about 0.1 ms on Linux.
const TIMER_TICK: Duration = Duration::from_millis(2);

/// Waits `d` of wall time, precisely also below a millisecond. At 300x a
/// 90 ms ERP answer is 0.3 ms of wall time, which tokio's timer would round
/// up to 1-2 ms, i.e. 300-600 ms of scenario time: every request of the
/// run would look three times slower than the profile says.
pub async fn sleep_wall(d: Duration) {
    if d.is_zero() {
        return;
    }
    if d >= TIMER_TICK {
        tokio::time::sleep(d).await;
        return;
    }
    // The blocking pool holds one thread per short wait in flight (a few).
    if tokio::task::spawn_blocking(move || std::thread::sleep(d))
        .await
        .is_err()
    {
        tokio::time::sleep(d).await;
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// Default scenario epoch: a fixed instant so seeded runs produce identical
/// timestamps (2026-11-27T00:00:00Z, a Black Friday).
pub fn default_epoch() -> OffsetDateTime {
    time::macros::datetime!(2026-11-27 00:00:00 UTC)
}

/// Wall clock scaled by a speed factor: scenario time = wall elapsed × speed.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    start: Instant,
    speed: Speed,
    epoch: OffsetDateTime,
}

impl ScaledClock {
    pub fn start(speed: Speed) -> Self {
        Self::with_epoch(speed, default_epoch())
    }
    pub fn with_epoch(speed: Speed, epoch: OffsetDateTime) -> Self {
        ScaledClock {
            start: Instant::now(),
            speed,
            epoch,
        }
    }
    pub fn shared(speed: Speed) -> SharedClock {
        Arc::new(Self::start(speed))
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> SimTime {
        SimTime::from_duration(self.speed.to_scenario(self.start.elapsed()))
    }
    fn speed(&self) -> Speed {
        self.speed
    }
    fn epoch(&self) -> OffsetDateTime {
        self.epoch
    }
}

/// A clock moved by hand, for pure tests: `advance` is the only way time passes.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
    speed: Speed,
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            now: Arc::new(AtomicU64::new(0)),
            speed: Speed::REAL_TIME,
        }
    }
    /// A manual clock whose speed factor scales the wall delays twins compute
    /// (a test at 1000x gets service times a thousand times shorter).
    pub fn with_speed(speed: Speed) -> Self {
        ManualClock {
            now: Arc::new(AtomicU64::new(0)),
            speed,
        }
    }

    pub fn advance(&self, d: Duration) {
        self.now.fetch_add(d.as_micros() as u64, Ordering::SeqCst);
    }
    pub fn set(&self, t: SimTime) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SimTime {
        SimTime(self.now.load(Ordering::SeqCst))
    }
    fn speed(&self) -> Speed {
        self.speed
    }
    fn epoch(&self) -> OffsetDateTime {
        default_epoch()
    }
}

/// Formats a calendar instant as Shopware does: RFC 3339 with milliseconds and
/// a `+00:00` offset (`2024-05-01T10:00:00.000+00:00`).
pub fn rfc3339_ms(dt: OffsetDateTime) -> String {
    rfc3339_ms_suffix(dt, "+00:00")
}

/// RFC 3339 with milliseconds and a `Z` (Business Central's form).
pub fn rfc3339_ms_z(dt: OffsetDateTime) -> String {
    rfc3339_ms_suffix(dt, "Z")
}

fn rfc3339_ms_suffix(dt: OffsetDateTime, suffix: &str) -> String {
    let dt = dt.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{suffix}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// Parses a duration written as a number with a unit: `250ms`, `1.5s`, `10m`,
/// `2h`, `1d`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a duration; write e.g. 250ms, 1.5s, 10m, 2h or 1d"))?;
    let secs = match unit {
        "us" => v / 1e6,
        "ms" => v / 1e3,
        "s" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        "d" => v * 86400.0,
        _ => return Err(format!("'{s}' has an unknown unit '{unit}'; use us, ms, s, m, h or d")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{s}' must be a non-negative duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Serde helper: durations in profiles and scenarios are strings like `"600s"`.
pub mod serde_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_duration(&raw).map_err(serde::de::Error::custom)
    }
}

/// Serde helper for `Option<Duration>`.
pub mod serde_opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        raw.map(|r| super::parse_duration(&r).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short waits never end early (no upper bound: timing is for benches).
    #[tokio::test]
    async fn wall_sleeps_last_at_least_their_duration_on_both_paths() {
        for d in [Duration::from_micros(300), Duration::from_millis(3)] {
            let t = Instant::now();
            sleep_wall(d).await;
            assert!(t.elapsed() >= d, "{d:?} took {:?}", t.elapsed());
        }
        sleep_wall(Duration::ZERO).await;
    }

    #[test]
    fn speed_converts_both_ways() {
        let s = Speed::new(60.0).unwrap();
        assert_eq!(s.to_wall(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(s.to_scenario(Duration::from_secs(1)), Duration::from_secs(60));
    }

    #[test]
    fn speed_rejects_nonsense_with_a_reason() {
        assert!(Speed::new(0.0).unwrap_err().contains("greater than 0"));
        assert!(Speed::new(f64::NAN).is_err());
        assert_eq!("300x".parse::<Speed>().unwrap().factor(), 300.0);
        assert!("fast".parse::<Speed>().unwrap_err().contains("such as"));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        assert_eq!(c.now(), SimTime::ZERO);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now(), SimTime(1_500_000));
        assert_eq!(c.now().to_string(), "0:00:01.500");
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5 weeks").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn timestamps_use_shopware_format() {
        let c = ManualClock::new();
        c.advance(Duration::from_millis(61_001));
        assert_eq!(rfc3339_ms(c.datetime(c.now())), "2026-11-27T00:01:01.001+00:00");
    }
}
