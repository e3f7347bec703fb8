//! Synthetic interaction events for one day, reproducible bit for bit.
//!
//! The "world" (which items are popular, how appealing each item is, how
//! click-happy each user is) is fixed by a constant seed, so it is the same on
//! every day; the day's events are drawn from a generator seeded from the
//! partition date. The same date always gives the same events, on any machine:
//! only `+ - * /` and `sqrt` touch floating point, and those are exactly
//! rounded by IEEE 754.
//!
//! About [`GeneratorConfig::target_events`] good events are produced, followed
//! by deliberately bad rows for the cleaning job to remove: re-delivered
//! duplicates, negative dwell times, unknown event kinds, and bot users with
//! absurd event counts.

use chrono::{Datelike, NaiveDate, NaiveTime};

use super::events::RawEvent;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Bot user ids start after this value (real users are `1..=users`).
pub const BOT_USER_ID_BASE: i64 = 900_000;

/// Seed of the fixed world: item popularity ranks, item appeal, user propensity.
const WORLD_SEED: u64 = 0xA55E_7F10_2024_0101;

/// Salt mixed with the day number to seed one day's events.
const DAY_SALT: u64 = 0xDA11_F00D_0000_0000;

/// Event kinds a broken client sends.
const UNKNOWN_KINDS: [&str; 4] = ["hover", "scroll", "add_to_wishlist", ""];

/// SplitMix64's output function: a strong 64-bit mixer.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: a tiny, fast, well-distributed seeded PRNG.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A uniform float in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)` (`0` when `n` is `0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift: the high word of a 64x64 product is < n.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index into a slice of length `len`.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }
}

/// Sizes and rates of the generated day.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Real users, ids `1..=users`.
    pub users: u32,
    /// Items, ids `1..=items`.
    pub items: u32,
    /// Good events to produce (views with their clicks and purchases; may end up to 2 over).
    pub target_events: usize,
    /// Item popularity skew: the item of rank `r` is viewed in proportion to `1 / r^s`; `1` or `0.5`.
    pub item_skew: Skew,
    /// Bot users to add.
    pub bots: u32,
    /// Events per bot.
    pub events_per_bot: usize,
    /// Good rows re-delivered a second time (same event id).
    pub duplicate_rows: usize,
    /// Extra views with a negative dwell time (a client clock bug).
    pub negative_dwell_rows: usize,
    /// Extra events with a kind that is not view, click or purchase.
    pub unknown_kind_rows: usize,
}

impl Default for GeneratorConfig {
    /// 200 users, 100 items, ~2,000 good events; 2 bots of 300 events each;
    /// 30 duplicates, 10 negative dwells, 10 unknown kinds.
    fn default() -> Self {
        Self {
            users: 200,
            items: 100,
            target_events: 2_000,
            item_skew: Skew::Zipf,
            bots: 2,
            events_per_bot: 300,
            duplicate_rows: 30,
            negative_dwell_rows: 10,
            unknown_kind_rows: 10,
        }
    }
}

/// A rank-frequency law computed without transcendental functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skew {
    /// Weight `1 / r` (Zipf with exponent 1): a steep head and a long tail.
    Zipf,
    /// Weight `1 / sqrt(r)`: a mild skew.
    Sqrt,
    /// Equal weights.
    Uniform,
}

impl Skew {
    fn weight(self, rank: usize) -> f64 {
        let r = rank as f64;
        match self {
            Skew::Zipf => 1.0 / r,
            Skew::Sqrt => 1.0 / r.sqrt(),
            Skew::Uniform => 1.0,
        }
    }
}

/// Samples ranks `0..n` with probabilities following a [`Skew`].
#[derive(Debug, Clone)]
struct RankSampler {
    cumulative: Vec<f64>,
}

impl RankSampler {
    fn new(n: usize, skew: Skew) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += skew.weight(rank);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn sample(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.next_f64() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// The fixed world the days are drawn from.
#[derive(Debug, Clone)]
struct World {
    /// Item ids by popularity rank (index 0 is the most viewed).
    items_by_rank: Vec<i64>,
    /// Per item index (`item_id - 1`): probability that a view leads to a click.
    item_appeal: Vec<f64>,
    /// Per user index (`user_id - 1`): a multiplier on click probability.
    user_propensity: Vec<f64>,
}

impl World {
    fn new(config: &GeneratorConfig) -> Self {
        let mut rng = SplitMix64::new(WORLD_SEED);
        let mut items_by_rank: Vec<i64> = (1..=i64::from(config.items)).collect();
        // Fisher-Yates, so popularity is not simply the item id order.
        for i in (1..items_by_rank.len()).rev() {
            items_by_rank.swap(i, rng.index(i + 1));
        }
        let item_appeal = (0..config.items)
            .map(|_| 0.03 + 0.42 * rng.next_f64())
            .collect();
        let user_propensity = (0..config.users)
            .map(|_| 0.25 + 1.5 * rng.next_f64())
            .collect();
        Self {
            items_by_rank,
            item_appeal,
            user_propensity,
        }
    }
}

/// The generator seed for one date.
pub fn seed_for_date(date: NaiveDate) -> u64 {
    // Day numbers are positive for any date this example meets; the cast
    // only reinterprets bits for hashing.
    mix64(DAY_SALT ^ i64::from(date.num_days_from_ce()) as u64)
}

/// Midnight UTC at the start of `date`, in milliseconds since the Unix epoch.
pub fn day_start_ms(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// An event before it has an id.
struct Draft {
    user_id: i64,
    item_id: i64,
    kind: String,
    offset_ms: i64,
    dwell_ms: Option<i64>,
}

impl Draft {
    fn new(user_id: i64, item_id: i64, kind: &str, offset_ms: i64, dwell_ms: Option<i64>) -> Self {
        Self {
            user_id,
            item_id,
            kind: kind.to_owned(),
            offset_ms,
            dwell_ms,
        }
    }
}

/// A skewed duration: `base + u1 * u2 * spread` milliseconds (most are short).
fn skewed_ms(rng: &mut SplitMix64, base: f64, spread: f64) -> i64 {
    (base + rng.next_f64() * rng.next_f64() * spread) as i64
}

/// The raw events of one day, sorted by time then event id, bad rows included.
///
/// Event ids are `yyyymmdd * 10^7 + sequence`, so they are unique across days.
pub fn generate_events(date: NaiveDate, config: &GeneratorConfig) -> Vec<RawEvent> {
    let world = World::new(config);
    let mut rng = SplitMix64::new(seed_for_date(date));
    let users = RankSampler::new(config.users as usize, Skew::Sqrt);
    let items = RankSampler::new(config.items as usize, config.item_skew);
    let mut drafts = Vec::with_capacity(config.target_events + 1_000);

    // Good traffic: a view, sometimes a click right after, sometimes a purchase after that.
    // Views leave ten minutes before midnight so their follow-ups stay in the day.
    let mut good = 0;
    while good < config.target_events && config.users > 0 && config.items > 0 {
        let user_index = users.sample(&mut rng);
        let item_id = world.items_by_rank[items.sample(&mut rng)];
        let user_id = user_index as i64 + 1;
        let appeal = world.item_appeal[(item_id - 1) as usize];
        let p_click = (appeal * world.user_propensity[user_index]).min(0.95);
        let view_at = rng.below((DAY_MS - 600_000) as u64) as i64;
        let dwell = skewed_ms(&mut rng, 800.0, 60_000.0);
        drafts.push(Draft::new(user_id, item_id, "view", view_at, Some(dwell)));
        good += 1;
        if rng.chance(p_click) {
            let click_at = view_at + 1_000 + rng.below(29_000) as i64;
            let dwell = skewed_ms(&mut rng, 2_000.0, 120_000.0);
            drafts.push(Draft::new(user_id, item_id, "click", click_at, Some(dwell)));
            good += 1;
            if rng.chance(0.1 + 0.5 * appeal) {
                let bought_at = click_at + 10_000 + rng.below(290_000) as i64;
                drafts.push(Draft::new(user_id, item_id, "purchase", bought_at, None));
                good += 1;
            }
        }
    }
    let good_drafts = drafts.len();

    // Bots: a burst of hundreds of near-instant views and clicks within an hour.
    for bot in 0..config.bots {
        let user_id = BOT_USER_ID_BASE + i64::from(bot) + 1;
        let start = rng.below((DAY_MS - 3_600_000) as u64) as i64;
        for _ in 0..config.events_per_bot {
            let at = start + rng.below(3_600_000) as i64;
            let item_id = rng.below(u64::from(config.items.max(1))) as i64 + 1;
            let kind = if rng.chance(0.3) { "click" } else { "view" };
            let dwell = rng.below(40) as i64;
            drafts.push(Draft::new(user_id, item_id, kind, at, Some(dwell)));
        }
    }

    // A client clock bug: views whose dwell time is negative.
    for _ in 0..config.negative_dwell_rows {
        let user_id = rng.below(u64::from(config.users.max(1))) as i64 + 1;
        let item_id = rng.below(u64::from(config.items.max(1))) as i64 + 1;
        let at = rng.below(DAY_MS as u64) as i64;
        let dwell = -(1 + rng.below(5_000) as i64);
        drafts.push(Draft::new(user_id, item_id, "view", at, Some(dwell)));
    }

    // A client that sends event kinds the pipeline does not know.
    for _ in 0..config.unknown_kind_rows {
        let user_id = rng.below(u64::from(config.users.max(1))) as i64 + 1;
        let item_id = rng.below(u64::from(config.items.max(1))) as i64 + 1;
        let at = rng.below(DAY_MS as u64) as i64;
        let kind = UNKNOWN_KINDS[rng.index(UNKNOWN_KINDS.len())];
        let dwell = skewed_ms(&mut rng, 100.0, 10_000.0);
        drafts.push(Draft::new(user_id, item_id, kind, at, Some(dwell)));
    }

    // Ids follow time order, as an ingestion service would assign them.
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].offset_ms, i));
    let day_start = day_start_ms(date);
    let yyyymmdd =
        i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day());
    let id_base = yyyymmdd * 10_000_000;
    let mut ids = vec![0; drafts.len()];
    for (sequence, &i) in order.iter().enumerate() {
        ids[i] = id_base + sequence as i64 + 1;
    }
    let mut events: Vec<RawEvent> = drafts
        .into_iter()
        .zip(ids)
        .map(|(d, event_id)| RawEvent {
            event_id,
            user_id: d.user_id,
            item_id: d.item_id,
            kind: d.kind,
            ts_ms: day_start + d.offset_ms,
            dwell_ms: d.dwell_ms,
        })
        .collect();

    // At-least-once delivery: some good events arrive twice.
    if good_drafts > 0 {
        for _ in 0..config.duplicate_rows {
            let again = events[rng.index(good_drafts)].clone();
            events.push(again);
        }
    }
    events.sort_by_key(|e| (e.ts_ms, e.event_id));
    events
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use crate::recommender::events::EventKind;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn known_kind(event: &RawEvent) -> Option<EventKind> {
        event.kind.parse().ok()
    }

    fn small() -> GeneratorConfig {
        GeneratorConfig {
            users: 20,
            items: 10,
            target_events: 200,
            bots: 1,
            events_per_bot: 50,
            duplicate_rows: 3,
            negative_dwell_rows: 2,
            unknown_kind_rows: 2,
            ..GeneratorConfig::default()
        }
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of the reference C implementation seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let f = rng.next_f64();
        assert!((0.0..1.0).contains(&f));
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }

    #[test]
    fn the_same_date_gives_identical_events() {
        let a = generate_events(day("2024-03-01"), &small());
        let b = generate_events(day("2024-03-01"), &small());
        assert_eq!(a, b);
    }

    #[test]
    fn different_dates_give_different_events() {
        let a = generate_events(day("2024-03-01"), &small());
        let b = generate_events(day("2024-03-02"), &small());
        assert_ne!(a.len(), 0);
        let a_shape: Vec<_> = a.iter().map(|e| (e.user_id, e.item_id, &e.kind)).collect();
        let b_shape: Vec<_> = b.iter().map(|e| (e.user_id, e.item_id, &e.kind)).collect();
        assert_ne!(a_shape, b_shape);
    }

    #[test]
    fn events_stay_inside_their_day_in_time_order() {
        let date = day("2024-02-29");
        let events = generate_events(date, &small());
        let start = day_start_ms(date);
        assert!(
            events
                .iter()
                .all(|e| (start..start + DAY_MS).contains(&e.ts_ms))
        );
        assert!(events.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
        assert!(events.iter().all(|e| e.event_id / 10_000_000 == 20_240_229));
    }

    #[test]
    fn every_kind_of_bad_row_is_present() {
        let config = small();
        let events = generate_events(day("2024-01-05"), &config);
        let ids: HashSet<i64> = events.iter().map(|e| e.event_id).collect();
        assert_eq!(events.len() - ids.len(), config.duplicate_rows);
        let negative = events
            .iter()
            .filter(|e| e.dwell_ms.is_some_and(|d| d < 0))
            .count();
        assert_eq!(negative, config.negative_dwell_rows);
        let unknown = events.iter().filter(|e| known_kind(e).is_none()).count();
        assert_eq!(unknown, config.unknown_kind_rows);
        let bot_rows = events
            .iter()
            .filter(|e| e.user_id > BOT_USER_ID_BASE)
            .count();
        assert_eq!(bot_rows, config.events_per_bot);
    }

    #[test]
    fn the_default_day_has_the_advertised_shape() {
        let config = GeneratorConfig::default();
        let events = generate_events(day("2024-01-01"), &config);
        let good = events
            .iter()
            .filter(|e| e.user_id <= BOT_USER_ID_BASE && e.dwell_ms.is_none_or(|d| d >= 0))
            .filter(|e| known_kind(e).is_some())
            .count();
        let good = good - config.duplicate_rows; // duplicates are copies of good rows
        assert!((2_000..=2_002).contains(&good), "{good}");
        let mut per_item: BTreeMap<i64, usize> = BTreeMap::new();
        for e in events
            .iter()
            .filter(|e| e.kind == "view" && e.user_id <= BOT_USER_ID_BASE)
        {
            *per_item.entry(e.item_id).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_item.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let head: usize = counts.iter().take(10).sum();
        let total: usize = counts.iter().sum();
        assert!(
            head * 2 > total,
            "the top 10 of 100 items get most views: {head}/{total}"
        );
    }
}
