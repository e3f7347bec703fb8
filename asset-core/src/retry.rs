//! Retrying a step after a transient error: [`RetryPolicy`] and its delays.
//!
//! The delay before attempt `k + 1` (after the `k`-th failure) is
//! `d_k = min(base * 2^(k-1), max)`, then jittered:
//!
//! * [`Jitter::None`]: exactly `d_k`;
//! * [`Jitter::Full`]: uniform in `[0, d_k]`;
//! * [`Jitter::Equal`]: `d_k / 2` plus uniform in `[0, d_k / 2]`.
//!
//! Jitter draws from [`StepRng`], a tiny deterministic generator seeded per
//! step, so a run's delays can be reproduced.

use std::time::Duration;

/// How the backoff delay is randomized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: exactly the exponential delay.
    None,
    /// Uniform in `[0, d_k]` (spreads retries of many steps the most).
    #[default]
    Full,
    /// `d_k / 2` plus uniform in `[0, d_k / 2]`.
    Equal,
}

/// How often and how long to wait before retrying a step whose asset
/// function failed with a [transient](crate::AssetError::is_transient) error.
///
/// The default makes no retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: the step runs once).
    pub max_retries: u32,
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// The longest delay (before jitter).
    pub max: Duration,
    /// How the delay is randomized.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::none()
    }
}

impl RetryPolicy {
    /// The default base delay: one second.
    pub const DEFAULT_BASE: Duration = Duration::from_secs(1);
    /// The default longest delay: five minutes.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(300);

    /// No retries.
    pub const fn none() -> Self {
        Self {
            max_retries: 0,
            base: Self::DEFAULT_BASE,
            max: Self::DEFAULT_MAX,
            jitter: Jitter::Full,
        }
    }

    /// `max_retries` retries with the default backoff (1 s doubling up to
    /// 5 min) and full jitter.
    pub const fn retries(max_retries: u32) -> Self {
        Self {
            max_retries,
            ..Self::none()
        }
    }

    /// The same policy with exponential backoff from `base` up to `max`.
    pub const fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base = base;
        self.max = max;
        self
    }

    /// The same policy with this jitter.
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Attempts in all: the first one and the retries.
    pub const fn max_attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The delay before jitter after the `attempt_k`-th failed attempt
    /// (from 1): `min(base * 2^(k-1), max)`.
    pub fn backoff(&self, attempt_k: u32) -> Duration {
        let exponent = attempt_k.saturating_sub(1);
        let grown = 2u32
            .checked_pow(exponent)
            .and_then(|factor| self.base.checked_mul(factor))
            .unwrap_or(self.max);
        grown.min(self.max)
    }

    /// The delay to wait after the `attempt_k`-th failed attempt (from 1),
    /// jittered with `rng`.
    pub fn delay(&self, attempt_k: u32, rng: &mut StepRng) -> Duration {
        let d = self.backoff(attempt_k);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform_up_to(d, rng),
            Jitter::Equal => {
                let half = d / 2;
                half + uniform_up_to(d - half, rng)
            }
        }
    }
}

/// Uniform in `[0, d]`, to the nanosecond.
fn uniform_up_to(d: Duration, rng: &mut StepRng) -> Duration {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let drawn = match nanos.checked_add(1) {
        Some(bound) => rng.next_u64() % bound,
        None => rng.next_u64(),
    };
    Duration::from_nanos(drawn)
}

/// A small deterministic generator (splitmix64) for jitter: no dependency,
/// and seeded per step so the same run makes the same delays.
#[derive(Debug, Clone)]
pub struct StepRng {
    state: u64,
}

impl StepRng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from text (the step's location and run id).
    pub fn from_text(text: &str) -> Self {
        Self::new(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Parses a duration written `250ms`, `1s`, `5m` or `2h` (a whole number
/// and a unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy::retries(10)
            .with_backoff(secs(1), secs(30))
            .with_jitter(jitter)
    }

    #[test]
    fn default_makes_no_retries() {
        assert_eq!(RetryPolicy::default().max_retries, 0);
        assert_eq!(RetryPolicy::default().max_attempts(), 1);
    }

    #[test]
    fn without_jitter_delays_double_up_to_the_cap() {
        let p = policy(Jitter::None);
        let mut rng = StepRng::new(1);
        let delays: Vec<u64> = (1..=8).map(|k| p.delay(k, &mut rng).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn huge_attempt_numbers_stay_at_the_cap() {
        let p = policy(Jitter::None);
        let mut rng = StepRng::new(1);
        assert_eq!(p.delay(40, &mut rng), secs(30));
        assert_eq!(p.delay(u32::MAX, &mut rng), secs(30));
        let big = RetryPolicy::retries(1)
            .with_backoff(Duration::MAX, Duration::MAX)
            .with_jitter(Jitter::None);
        assert_eq!(big.delay(3, &mut rng), Duration::MAX);
    }

    #[test]
    fn full_jitter_is_within_zero_and_the_delay() {
        let p = policy(Jitter::Full);
        let mut rng = StepRng::new(7);
        let mut distinct = std::collections::HashSet::new();
        for k in 1..=8 {
            let d_k = p.backoff(k);
            for _ in 0..200 {
                let d = p.delay(k, &mut rng);
                assert!(d <= d_k, "{d:?} > {d_k:?}");
                distinct.insert(d);
            }
        }
        assert!(distinct.len() > 1000, "jitter should vary");
    }

    #[test]
    fn equal_jitter_is_within_half_and_the_delay() {
        let p = policy(Jitter::Equal);
        let mut rng = StepRng::new(7);
        for k in 1..=8 {
            let d_k = p.backoff(k);
            for _ in 0..200 {
                let d = p.delay(k, &mut rng);
                assert!(
                    d >= d_k / 2 && d <= d_k,
                    "{d:?} not in [{:?}, {d_k:?}]",
                    d_k / 2
                );
            }
        }
    }

    #[test]
    fn the_generator_is_deterministic() {
        let mut a = StepRng::from_text("x/2024-01-01@run");
        let mut b = StepRng::from_text("x/2024-01-01@run");
        assert_eq!(a.next_u64(), b.next_u64());
        let mut c = StepRng::from_text("y/2024-01-01@run");
        assert_ne!(a.next_u64(), c.next_u64());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s"), Some(secs(1)));
        assert_eq!(parse_duration("5m"), Some(secs(300)));
        assert_eq!(parse_duration("2h"), Some(secs(7200)));
        for bad in ["", "s", "1", "1.5s", "1 s", "-1s", "1d", "1sec"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
