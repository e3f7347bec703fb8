//! Partition mappings: which upstream partitions one downstream partition
//! reads.
//!
//! A mapping is the wrapper of a parameter's type: `T`, `Window<T, N>`,
//! `Prev<T>`, `All<T>`, `Latest<T>`. [`check`] says, once when the graph is
//! built, whether a mapping fits the two assets' partitions; [`upstream_keys`]
//! gives, for one downstream partition, the upstream keys it reads, as a lazy
//! [`KeyRange`] computed by index arithmetic.
//!
//! # Which pairs fit
//!
//! | mapping | downstream ← upstream |
//! | --- | --- |
//! | `T` | anything ← unpartitioned (the single value) |
//! | `T` | time ← time, same time zone: the same window, or (finer ← coarser) the window containing it, a day reading its month; the downstream may not start before the upstream nor end after it |
//! | `T` | static ← static, every downstream key also upstream |
//! | `T` | dynamic ← the same dynamic set |
//! | `T` | multi ← multi (both dimensions as above), multi ← time (its time part), multi ← static (its static part) |
//! | `Window<T, N>`, `Prev<T>` | time ← time of the same period and time zone, multi ← multi, static ← static, dynamic ← the same set; `N ≥ 1` |
//! | `All<T>` | unpartitioned ← anything partitioned; coarser time ← finer time (a month reading its days); time ← multi (a day reading every region of that day) |
//! | `Latest<T>` | anything ← anything partitioned |
//!
//! An asset may read itself only through `Prev<T>` (a chronological asset:
//! each partition starts from the previous one's result).
//!
//! # The start of history and keys that do not exist yet
//!
//! Every result is clipped to the upstream keys that exist in the
//! [`KeySpace`]: those before the upstream's first partition, past its end,
//! or not yet complete are left out. So `Window<T, 7>` on the third day gives
//! three days, `Prev<T>` on the first day gives an empty range, `Latest<T>`
//! of an upstream with no complete partition gives an empty range, and `T` of
//! a window the upstream has not completed yet gives an empty range too.
//! Multi-partitions step along time with their static key fixed:
//! `Prev<T>` of `2024-01-02|eu` is `2024-01-01|eu`.

use std::fmt;

use crate::error::Error;
use crate::partition::dynamic::DynamicPartitions;
use crate::partition::key_space::KeySpace;
use crate::partition::multi;
use crate::partition::range::{KeyRange, KeySource};
use crate::partition::static_keys::KeyList;
use crate::partition::time::{Period, TimeWindows, week_start_name};
use crate::partition::{PartitionKey, PartitionsDef};

/// Which upstream partitions a downstream partition reads: the parameter
/// type's wrapper (`T`, `Window<T, N>`, `Prev<T>`, `All<T>`, `Latest<T>`).
///
/// Keys the upstream does not have (yet) are left out of every mapping's
/// result; see the [module docs](self) for what that means at the start of
/// history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionMapping {
    /// `T`: the same partition, the single value of an unpartitioned
    /// upstream, or (finer from coarser) the upstream partition whose window
    /// contains this one's (a day reading its month).
    Identity,
    /// `Window<T, N>`: the `N` upstream partitions ending at this one, oldest
    /// first (fewer at the start of history).
    Window(u32),
    /// `Prev<T>`: the partition before this one (none at the start of
    /// history). `Prev` of the asset's own type makes it self-dependent.
    Prev,
    /// `All<T>`: every partition of the upstream, for an unpartitioned
    /// downstream; for a coarser time-partitioned downstream, every upstream
    /// partition inside its window (a month reading its days).
    All,
    /// `Latest<T>`: the newest complete partition of the upstream (none if
    /// it has none yet).
    Latest,
}

impl PartitionMapping {
    /// Whether one partition reads *other* partitions of its upstream, so
    /// partitions must run in order when the upstream is the asset itself.
    pub fn crosses_partitions(self) -> bool {
        matches!(self, PartitionMapping::Window(_) | PartitionMapping::Prev)
    }
}

impl fmt::Display for PartitionMapping {
    /// The parameter type that gives the mapping: `Window<T, 7>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionMapping::Identity => f.write_str("T"),
            PartitionMapping::Window(n) => write!(f, "Window<T, {n}>"),
            PartitionMapping::Prev => f.write_str("Prev<T>"),
            PartitionMapping::All => f.write_str("All<T>"),
            PartitionMapping::Latest => f.write_str("Latest<T>"),
        }
    }
}

/// The upstream partitions one downstream partition reads.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamKeys {
    /// The upstream's single value (it is not partitioned).
    Unpartitioned,
    /// These upstream partitions, oldest first (possibly none).
    Keys(KeyRange),
}

impl UpstreamKeys {
    /// How many values are read: 1 for an unpartitioned upstream.
    pub fn len(&self) -> u64 {
        match self {
            UpstreamKeys::Unpartitioned => 1,
            UpstreamKeys::Keys(keys) => keys.len(),
        }
    }

    /// Whether nothing is read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `downstream` can read `upstream` through `mapping`; if not, a
/// hint saying what to do instead (the graph wraps it in
/// [`Error::IncompatiblePartitions`] naming both assets).
/// `self_dependency` says the upstream is the asset itself.
pub fn check(
    mapping: PartitionMapping,
    downstream: &PartitionsDef,
    upstream: &PartitionsDef,
    self_dependency: bool,
) -> Result<(), String> {
    if self_dependency {
        match mapping {
            PartitionMapping::Prev if !downstream.is_partitioned() => {
                return Err("an unpartitioned asset has no previous partition to read".into());
            }
            PartitionMapping::Prev => {}
            PartitionMapping::Window(_) => {
                return Err(
                    "`Window<T, N>` of the asset itself would include the partition being computed; read the previous one with `Prev<T>`".into(),
                );
            }
            _ => {
                return Err(format!(
                    "an asset cannot read itself through `{mapping}`; read its previous partition with `Prev<T>`"
                ));
            }
        }
    }
    shape(mapping, downstream, upstream)?;
    contents(mapping, downstream, upstream)
}

/// The rules of [`check`] that do not depend on the number of keys: kinds,
/// periods, time zones, alignment. Cheap enough to run for every partition.
fn shape(
    mapping: PartitionMapping,
    downstream: &PartitionsDef,
    upstream: &PartitionsDef,
) -> Result<(), String> {
    use PartitionsDef as P;
    match mapping {
        PartitionMapping::Identity => match (downstream, upstream) {
            (_, P::Unpartitioned) | (P::Static(_), P::Static(_)) | (P::Multi(_), P::Static(_)) => {
                Ok(())
            }
            (P::Unpartitioned, _) => Err(
                "an unpartitioned asset has no partition to match; read every partition with `All<T>` or the newest with `Latest<T>`".into(),
            ),
            (P::Time(d), P::Time(u)) => time_within(d, u),
            (P::Dynamic(d), P::Dynamic(u)) => same_set(d, u),
            (P::Multi(d), P::Multi(u)) => time_within(&d.time, &u.time),
            (P::Multi(d), P::Time(u)) => time_within(&d.time, u),
            (P::Time(d), P::Multi(_)) => Err(format!(
                "each {} has several partitions of it, one per static key; read them all with `All<T>`",
                d.period().unit()
            )),
            _ => Err(no_match(downstream, upstream)),
        },
        PartitionMapping::Window(0) => {
            Err("`Window<T, 0>` reads no partition: N must be at least 1".into())
        }
        PartitionMapping::Window(_) | PartitionMapping::Prev => match (downstream, upstream) {
            (P::Time(d), P::Time(u)) => same_windows(mapping, d, u),
            (P::Multi(d), P::Multi(u)) => same_windows(mapping, &d.time, &u.time),
            (P::Static(_), P::Static(_)) => Ok(()),
            (P::Dynamic(d), P::Dynamic(u)) => same_set(d, u),
            (P::Unpartitioned, _) | (_, P::Unpartitioned) => Err(format!(
                "`{mapping}` needs both assets partitioned the same way; read an unpartitioned asset as `T`"
            )),
            _ => Err(format!(
                "`{mapping}` needs both assets partitioned the same way, here {} and {}",
                kind(downstream),
                kind(upstream)
            )),
        },
        PartitionMapping::All => match (downstream, upstream) {
            (_, P::Unpartitioned) => {
                Err("it is not partitioned: read its single value as `T`".into())
            }
            (P::Unpartitioned, _) => Ok(()),
            (P::Time(d), P::Time(u)) => time_contains(d, u, false),
            (P::Time(d), P::Multi(u)) => time_contains(d, &u.time, true),
            _ => Err(format!(
                "`All<T>` reads every partition for an unpartitioned asset, or the finer partitions inside each time window; {} partitions cannot read {} ones that way",
                kind(downstream),
                kind(upstream)
            )),
        },
        PartitionMapping::Latest => match upstream {
            P::Unpartitioned => Err("it is not partitioned: read its single value as `T`".into()),
            _ => Ok(()),
        },
    }
}

/// The rules of [`check`] that look at keys, starts and ends.
fn contents(
    mapping: PartitionMapping,
    downstream: &PartitionsDef,
    upstream: &PartitionsDef,
) -> Result<(), String> {
    use PartitionsDef as P;
    match (mapping, downstream, upstream) {
        (PartitionMapping::Identity, P::Time(d), P::Time(u))
        | (
            PartitionMapping::Identity,
            P::Multi(multi::MultiPartitions { time: d, .. }),
            P::Time(u),
        ) => within_history(d, u),
        (PartitionMapping::Identity, P::Multi(d), P::Multi(u)) => {
            within_history(&d.time, &u.time)?;
            subset(&d.keys, &u.keys)
        }
        (
            PartitionMapping::Identity | PartitionMapping::Window(_) | PartitionMapping::Prev,
            P::Static(d),
            P::Static(u),
        )
        | (
            PartitionMapping::Identity,
            P::Multi(multi::MultiPartitions { keys: d, .. }),
            P::Static(u),
        ) => subset(d, u),
        (PartitionMapping::Window(_) | PartitionMapping::Prev, P::Multi(d), P::Multi(u)) => {
            subset(&d.keys, &u.keys)
        }
        _ => Ok(()),
    }
}

/// `T` between time windows: the same windows, or finer inside coarser.
fn time_within(d: &TimeWindows, u: &TimeWindows) -> Result<(), String> {
    same_zone(d, u)?;
    match d.period().cmp(&u.period()) {
        std::cmp::Ordering::Equal => aligned(d, u),
        std::cmp::Ordering::Less => nests(d, u),
        std::cmp::Ordering::Greater => Err(format!(
            "each {} spans several {}s of it; read them all with `All<T>`",
            d.period().unit(),
            u.period().unit()
        )),
    }
}

/// `All<T>` between time windows: finer upstream windows inside each
/// downstream one (or the same windows, when `same_ok`).
fn time_contains(d: &TimeWindows, u: &TimeWindows, same_ok: bool) -> Result<(), String> {
    same_zone(d, u)?;
    match d.period().cmp(&u.period()) {
        std::cmp::Ordering::Greater => nests(u, d),
        std::cmp::Ordering::Equal if same_ok => aligned(d, u),
        std::cmp::Ordering::Equal => Err(format!(
            "both have one partition per {}: read the matching one as `T`",
            d.period().unit()
        )),
        std::cmp::Ordering::Less => Err(format!(
            "each {} lies inside one {} of it: read that one as `T`",
            d.period().unit(),
            u.period().unit()
        )),
    }
}

/// `Window<T, N>` and `Prev<T>`: windows of the same period, lined up.
fn same_windows(mapping: PartitionMapping, d: &TimeWindows, u: &TimeWindows) -> Result<(), String> {
    same_zone(d, u)?;
    if d.period() != u.period() {
        return Err(format!(
            "`{mapping}` needs both assets partitioned the same way, here {} and {}",
            d.period(),
            u.period()
        ));
    }
    aligned(d, u)
}

fn same_zone(d: &TimeWindows, u: &TimeWindows) -> Result<(), String> {
    if d.timezone() == u.timezone() {
        return Ok(());
    }
    Err(format!(
        "their time zones differ ({} here, {} upstream); give both the same time zone",
        d.timezone().name(),
        u.timezone().name()
    ))
}

/// Whether windows of the same period and zone start at the same instants.
fn aligned(d: &TimeWindows, u: &TimeWindows) -> Result<(), String> {
    let lined_up = (|| {
        let first = d.utc_start(0)?;
        Some(u.utc_start(u.index_containing(first)?)? == first)
    })();
    if lined_up == Some(true) {
        return Ok(());
    }
    Err(match d.period() {
        Period::Weekly => format!(
            "weeks start on {} here but on {} upstream",
            week_start_name(d),
            week_start_name(u)
        ),
        Period::Hourly => format!(
            "hours start at minute {} here but at minute {} upstream",
            d.start().format("%M"),
            u.start().format("%M")
        ),
        _ => "their windows do not line up".into(),
    })
}

/// Whether each `inner` window lies inside one `outer` window (`inner` finer).
fn nests(inner: &TimeWindows, outer: &TimeWindows) -> Result<(), String> {
    match (inner.period(), outer.period()) {
        (Period::Weekly, Period::Monthly) => {
            Err("weeks do not fit inside months (a week can span two)".into())
        }
        (Period::Hourly, _) if inner.start().format("%M:%S").to_string() != "00:00" => {
            Err(format!(
                "hours starting at minute {} do not fit inside {}s",
                inner.start().format("%M"),
                outer.period().unit()
            ))
        }
        _ => Ok(()),
    }
}

/// `T` between time windows: the downstream's history lies inside the upstream's.
fn within_history(d: &TimeWindows, u: &TimeWindows) -> Result<(), String> {
    if d.utc_start(0) < u.utc_start(0) {
        return Err(format!(
            "its partitions start on {}, before the upstream's first partition {}",
            d.start_text(),
            u.start_text()
        ));
    }
    if let Some(upstream_end) = u.end_instant()
        && d.end_instant().is_none_or(|end| end > upstream_end)
    {
        return Err(format!(
            "its partitions go on past the upstream's end {}",
            u.end_text().unwrap_or_default()
        ));
    }
    Ok(())
}

fn subset(d: &KeyList, u: &KeyList) -> Result<(), String> {
    match d.first_missing_from(u) {
        None => Ok(()),
        Some(key) => Err(format!(
            "its static key {:?} is not a key of the upstream ({})",
            key.as_str(),
            u.preview()
        )),
    }
}

fn same_set(d: &DynamicPartitions, u: &DynamicPartitions) -> Result<(), String> {
    if d.name() == u.name() {
        return Ok(());
    }
    Err(format!(
        "they use different dynamic sets ({:?} here, {:?} upstream)",
        d.name(),
        u.name()
    ))
}

/// The kind of a definition, for messages: `hourly`, `static`.
fn kind(def: &PartitionsDef) -> String {
    match def {
        PartitionsDef::Unpartitioned => "unpartitioned".into(),
        PartitionsDef::Time(t) => t.period().name().into(),
        PartitionsDef::Static(_) => "static".into(),
        PartitionsDef::Multi(m) => format!("{} × static", m.time.period()),
        PartitionsDef::Dynamic(_) => "dynamic".into(),
    }
}

fn no_match(downstream: &PartitionsDef, upstream: &PartitionsDef) -> String {
    format!(
        "{} and {} partitions do not match one to one; read the newest with `Latest<T>`",
        kind(downstream),
        kind(upstream)
    )
}

/// The one upstream key `downstream_key` reads when no key arithmetic is
/// needed: `T` of an unpartitioned upstream (`Some(None)`: its single value)
/// or of an upstream partitioned exactly like the downstream (`Some(Some)`:
/// the same key, sharing its text). `None`: ask [`upstream_keys`]. The
/// planner and `status` take this path for nearly every input, hundreds of
/// thousands of times in a backfill.
pub fn direct_key(
    mapping: PartitionMapping,
    downstream: &PartitionsDef,
    downstream_key: Option<&PartitionKey>,
    upstream: &PartitionsDef,
) -> Option<Option<PartitionKey>> {
    if mapping != PartitionMapping::Identity {
        return None;
    }
    if !upstream.is_partitioned() {
        Some(None)
    } else if upstream == downstream {
        Some(downstream_key.cloned())
    } else {
        None
    }
}

/// The upstream keys the partition `downstream_key` of `downstream` reads
/// through `mapping` (`None` for an unpartitioned downstream), among the keys
/// of `upstream` that exist in `space`.
///
/// See the [module docs](self) for the start of history: `Window<T, N>`
/// gives fewer than `N` keys there, `Prev<T>` none at the first partition,
/// `Latest<T>` none when the upstream has no complete partition.
///
/// The pair must pass [`check`]; a pair that does not, or a key that is not
/// one of the downstream's, is an [`Error::Internal`] (the graph and the
/// planner rule both out before asking).
pub fn upstream_keys(
    mapping: PartitionMapping,
    downstream: &PartitionsDef,
    downstream_key: Option<&PartitionKey>,
    upstream: &PartitionsDef,
    space: &KeySpace,
) -> Result<UpstreamKeys, Error> {
    shape(mapping, downstream, upstream).map_err(|hint| {
        Error::Internal(format!(
            "`{mapping}` cannot map {} partitions to {}: {hint}",
            downstream.describe(),
            upstream.describe()
        ))
    })?;
    let key = || {
        downstream_key.ok_or_else(|| {
            Error::Internal(format!(
                "`{mapping}` needs a partition of the downstream ({})",
                downstream.describe()
            ))
        })
    };
    let keys = match mapping {
        PartitionMapping::Latest => upstream.keys(space).last_n(1),
        PartitionMapping::All => match downstream {
            PartitionsDef::Unpartitioned => upstream.keys(space),
            _ => all_within(downstream, key()?, upstream, space)?,
        },
        PartitionMapping::Identity if !upstream.is_partitioned() => {
            return Ok(UpstreamKeys::Unpartitioned);
        }
        PartitionMapping::Identity | PartitionMapping::Window(_) | PartitionMapping::Prev => {
            let lane = Lane::of(downstream, key()?, upstream, space)?;
            let (back, count) = match mapping {
                PartitionMapping::Window(n) => (i64::from(n) - 1, i64::from(n)),
                PartitionMapping::Prev => (1, 1),
                _ => (0, 1),
            };
            let from = lane.index - back;
            KeyRange::clipped(
                lane.source,
                from,
                from + count,
                lane.limit,
                lane.offset,
                lane.step,
            )
        }
    };
    Ok(UpstreamKeys::Keys(keys))
}

/// Where a downstream partition sits among the upstream's keys, and how to
/// step to its neighbours: flat index `offset + i * step` for lane position `i`.
struct Lane {
    source: KeySource,
    /// The lane position matching the downstream partition.
    index: i64,
    /// How many lane positions exist in the key space.
    limit: u64,
    offset: u64,
    step: u64,
}

impl Lane {
    fn of(
        downstream: &PartitionsDef,
        key: &PartitionKey,
        upstream: &PartitionsDef,
        space: &KeySpace,
    ) -> Result<Self, Error> {
        use PartitionsDef as P;
        let now = space.time();
        let not_upstream = |part: &str| {
            Error::Internal(format!(
                "{part:?} of partition {key} is not a key of the upstream ({})",
                upstream.describe()
            ))
        };
        let list_lane = |list: &KeyList, name: &str| -> Result<Self, Error> {
            let position = list.position(name).ok_or_else(|| not_upstream(name))?;
            Ok(Self {
                source: KeySource::List(list.clone()),
                index: position as i64,
                limit: list.len(),
                offset: 0,
                step: 1,
            })
        };
        let time_lane = |d: &TimeWindows, time: &str, u: &TimeWindows| -> Result<Self, Error> {
            Ok(Self {
                source: KeySource::Time(u.clone()),
                index: time_anchor(d, time, u)?,
                limit: u.existing(now),
                offset: 0,
                step: 1,
            })
        };
        match (downstream, upstream) {
            (P::Time(d), P::Time(u)) => time_lane(d, key.as_str(), u),
            (P::Static(_), P::Static(u)) => list_lane(u, key.as_str()),
            (P::Dynamic(d), P::Dynamic(_)) => match space.dynamic(d.name()) {
                Some(list) => list_lane(list, key.as_str()),
                None => Err(not_upstream(key.as_str())),
            },
            (P::Multi(d), _) => {
                let (time, name) =
                    multi::split(key.as_str()).ok_or_else(|| not_downstream(key, downstream))?;
                match upstream {
                    P::Time(u) => time_lane(&d.time, time, u),
                    P::Static(u) => list_lane(u, name),
                    P::Multi(u) => Ok(Self {
                        source: KeySource::Multi(u.clone()),
                        index: time_anchor(&d.time, time, &u.time)?,
                        limit: u.time.existing(now),
                        offset: u.keys.position(name).ok_or_else(|| not_upstream(name))?,
                        step: u.keys.len(),
                    }),
                    _ => Err(not_downstream(key, downstream)),
                }
            }
            _ => Err(not_downstream(key, downstream)),
        }
    }
}

/// The index of the upstream window containing the start of the downstream
/// window `key`.
fn time_anchor(d: &TimeWindows, key: &str, u: &TimeWindows) -> Result<i64, Error> {
    let start = d
        .parse_index(key)
        .filter(|&i| i >= 0)
        .and_then(|i| d.utc_start(i))
        .ok_or_else(|| not_downstream(key, &PartitionsDef::Time(d.clone())))?;
    u.index_containing(start)
        .ok_or_else(|| Error::Internal(format!("partition {key} is out of the range of dates")))
}

/// `All<T>` for a time-partitioned downstream: the upstream windows inside its window.
fn all_within(
    downstream: &PartitionsDef,
    key: &PartitionKey,
    upstream: &PartitionsDef,
    space: &KeySpace,
) -> Result<KeyRange, Error> {
    let window = downstream
        .window(key)
        .ok_or_else(|| not_downstream(key, downstream))?;
    let (u, source, per_window) = match upstream {
        PartitionsDef::Time(u) => (u, KeySource::Time(u.clone()), 1),
        PartitionsDef::Multi(m) => (&m.time, KeySource::Multi(m.clone()), m.keys.len()),
        _ => return Err(not_downstream(key, downstream)),
    };
    let out_of_range = || Error::Internal(format!("partition {key} is out of the range of dates"));
    let from = u.index_at_or_after(window.start).ok_or_else(out_of_range)?;
    let to = u.index_at_or_after(window.end).ok_or_else(out_of_range)?;
    // In flat indices: every static key of each upstream window.
    let per = i64::try_from(per_window).map_err(|_| out_of_range())?;
    let limit = u.existing(space.time()).saturating_mul(per_window);
    Ok(KeyRange::clipped(
        source,
        from.saturating_mul(per),
        to.saturating_mul(per),
        limit,
        0,
        1,
    ))
}

fn not_downstream(key: impl fmt::Display, downstream: &PartitionsDef) -> Error {
    Error::Internal(format!(
        "partition {key} is not a key of the downstream ({})",
        downstream.describe()
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use PartitionMapping::{All, Identity, Latest, Prev, Window};

    fn at(text: &str) -> KeySpace {
        let now = DateTime::parse_from_rfc3339(text)
            .expect("valid instant")
            .with_timezone(&Utc);
        KeySpace::at(now)
    }

    fn daily(start: &str) -> PartitionsDef {
        PartitionsDef::daily(start).expect("valid")
    }

    fn monthly(start: &str) -> PartitionsDef {
        PartitionsDef::monthly(start).expect("valid")
    }

    fn regions(keys: &[&str]) -> PartitionsDef {
        PartitionsDef::static_keys(keys).expect("valid")
    }

    fn by_region(time: PartitionsDef, keys: &[&str]) -> PartitionsDef {
        PartitionsDef::multi(time, regions(keys)).expect("valid")
    }

    fn key(text: &str) -> PartitionKey {
        PartitionKey::unchecked(text)
    }

    /// The upstream keys `down_key` reads, as strings; panics on an error or
    /// an unpartitioned result.
    fn read(
        mapping: PartitionMapping,
        down: &PartitionsDef,
        down_key: Option<&str>,
        up: &PartitionsDef,
        space: &KeySpace,
    ) -> Vec<String> {
        check(mapping, down, up, false).expect("the pair fits");
        let down_key = down_key.map(key);
        match upstream_keys(mapping, down, down_key.as_ref(), up, space).expect("keys") {
            UpstreamKeys::Keys(keys) => keys.iter().map(|k| k.to_string()).collect(),
            UpstreamKeys::Unpartitioned => panic!("expected keys"),
        }
    }

    fn hint(mapping: PartitionMapping, down: &PartitionsDef, up: &PartitionsDef) -> String {
        check(mapping, down, up, false).expect_err("the pair does not fit")
    }

    #[test]
    fn mappings_display_as_their_parameter_types() {
        let shown: Vec<String> = [Identity, Window(7), Prev, All, Latest]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["T", "Window<T, 7>", "Prev<T>", "All<T>", "Latest<T>"]
        );
        assert!(Prev.crosses_partitions() && Window(2).crosses_partitions());
        assert!(!Identity.crosses_partitions() && !All.crosses_partitions());
    }

    #[test]
    fn identity_reads_the_single_value_of_an_unpartitioned_upstream() {
        let up = PartitionsDef::Unpartitioned;
        for down in [
            daily("2024-01-01"),
            regions(&["eu"]),
            PartitionsDef::Unpartitioned,
        ] {
            check(Identity, &down, &up, false).expect("fits");
        }
        let keys = upstream_keys(
            Identity,
            &daily("2024-01-01"),
            Some(&key("2024-01-05")),
            &up,
            &at("2024-02-01T00:00:00Z"),
        )
        .expect("keys");
        assert_eq!(keys, UpstreamKeys::Unpartitioned);
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn unpartitioned_reading_partitioned_through_identity_suggests_all_or_latest() {
        assert_eq!(
            hint(
                Identity,
                &PartitionsDef::Unpartitioned,
                &daily("2024-01-01")
            ),
            "an unpartitioned asset has no partition to match; read every partition with `All<T>` or the newest with `Latest<T>`"
        );
    }

    #[test]
    fn identity_between_days_maps_by_time_not_by_spelling() {
        let down = daily("2024-01-01")
            .with_format("%Y%m%d")
            .expect("valid format");
        let up = daily("2023-01-01");
        let space = at("2024-02-01T00:00:00Z");
        assert_eq!(
            read(Identity, &down, Some("20240105"), &up, &space),
            ["2024-01-05"]
        );
    }

    #[test]
    fn identity_refuses_a_downstream_outside_the_upstream_history() {
        assert_eq!(
            hint(Identity, &daily("2023-01-01"), &daily("2024-01-01")),
            "its partitions start on 2023-01-01, before the upstream's first partition 2024-01-01"
        );
        let ending = daily("2024-01-01").with_end("2024-06-01").expect("valid");
        assert_eq!(
            hint(Identity, &daily("2024-01-01"), &ending),
            "its partitions go on past the upstream's end 2024-06-01"
        );
        let earlier_end = daily("2024-02-01").with_end("2024-05-01").expect("valid");
        check(Identity, &earlier_end, &ending, false).expect("inside");
    }

    #[test]
    fn identity_of_a_window_the_upstream_has_not_completed_is_empty() {
        let down = daily("2024-01-01").with_end_offset(1).expect("valid");
        let up = daily("2024-01-01");
        let space = at("2024-01-05T12:00:00Z");
        assert!(read(Identity, &down, Some("2024-01-05"), &up, &space).is_empty());
        assert_eq!(
            read(Identity, &down, Some("2024-01-04"), &up, &space),
            ["2024-01-04"]
        );
    }

    #[test]
    fn a_day_reads_the_month_containing_it() {
        let space = at("2024-06-01T00:00:00Z");
        assert_eq!(
            read(
                Identity,
                &daily("2024-01-01"),
                Some("2024-02-15"),
                &monthly("2024-01-01"),
                &space
            ),
            ["2024-02-01"]
        );
        let hours = PartitionsDef::hourly("2024-01-01").expect("valid");
        assert_eq!(
            read(
                Identity,
                &hours,
                Some("2024-02-15-23:00"),
                &daily("2024-01-01"),
                &space
            ),
            ["2024-02-15"]
        );
        // The month in progress does not exist yet.
        assert!(
            read(
                Identity,
                &daily("2024-01-01"),
                Some("2024-05-31"),
                &monthly("2024-01-01"),
                &at("2024-05-31T23:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn a_repeated_berlin_hour_reads_its_own_day() {
        let berlin = |def: PartitionsDef| def.with_timezone("Europe/Berlin").expect("valid");
        let hours = berlin(PartitionsDef::hourly("2024-10-01").expect("valid"));
        let days = berlin(daily("2024-03-01"));
        let space = at("2024-11-01T00:00:00Z");
        assert_eq!(
            read(
                Identity,
                &hours,
                Some("2024-10-27-02:00+01:00"),
                &days,
                &space
            ),
            ["2024-10-27"]
        );
        assert_eq!(
            read(Identity, &hours, Some("2024-10-27-00:00"), &days, &space),
            ["2024-10-27"]
        );
        assert_eq!(
            read(All, &days, Some("2024-10-27"), &hours, &space).len(),
            25
        );
        assert_eq!(
            read(
                All,
                &days,
                Some("2024-03-31"),
                &berlin(PartitionsDef::hourly("2024-03-01").expect("valid")),
                &space
            )
            .len(),
            23
        );
    }

    #[test]
    fn a_coarser_asset_cannot_read_finer_partitions_through_identity() {
        assert_eq!(
            hint(Identity, &monthly("2024-01-01"), &daily("2024-01-01")),
            "each month spans several days of it; read them all with `All<T>`"
        );
    }

    #[test]
    fn time_partitions_in_different_zones_do_not_match() {
        let berlin = daily("2024-01-01")
            .with_timezone("Europe/Berlin")
            .expect("valid");
        assert_eq!(
            hint(Identity, &berlin, &daily("2024-01-01")),
            "their time zones differ (Europe/Berlin here, UTC upstream); give both the same time zone"
        );
        assert!(check(Prev, &berlin, &daily("2024-01-01"), false).is_err());
    }

    #[test]
    fn windows_that_do_not_line_up_are_refused() {
        let mondays = PartitionsDef::weekly("2024-01-01").expect("valid");
        let wednesdays = PartitionsDef::weekly("2024-01-03").expect("valid");
        assert_eq!(
            hint(Identity, &wednesdays, &mondays),
            "weeks start on Wednesday here but on Monday upstream"
        );
        let half_past = PartitionsDef::hourly("2024-01-01-00:30").expect("valid");
        let hours = PartitionsDef::hourly("2024-01-01").expect("valid");
        assert_eq!(
            hint(Prev, &half_past, &hours),
            "hours start at minute 30 here but at minute 00 upstream"
        );
        assert_eq!(
            hint(Identity, &half_past, &daily("2024-01-01")),
            "hours starting at minute 30 do not fit inside days"
        );
        assert_eq!(
            hint(Identity, &mondays, &monthly("2024-01-01")),
            "weeks do not fit inside months (a week can span two)"
        );
        check(Identity, &daily("2024-01-03"), &mondays, false).expect("days fit in weeks");
    }

    #[test]
    fn static_downstream_keys_must_all_be_upstream_keys() {
        check(Identity, &regions(&["eu"]), &regions(&["us", "eu"]), false).expect("subset");
        assert_eq!(
            hint(Identity, &regions(&["eu", "asia"]), &regions(&["eu", "us"])),
            "its static key \"asia\" is not a key of the upstream (eu, us)"
        );
        let space = at("2024-01-01T00:00:00Z");
        assert_eq!(
            read(
                Identity,
                &regions(&["eu"]),
                Some("eu"),
                &regions(&["us", "eu"]),
                &space
            ),
            ["eu"]
        );
    }

    #[test]
    fn dynamic_partitions_match_only_the_same_set() {
        let files = PartitionsDef::dynamic("files").expect("valid");
        let other = PartitionsDef::dynamic("customers").expect("valid");
        assert_eq!(
            hint(Identity, &files, &other),
            "they use different dynamic sets (\"files\" here, \"customers\" upstream)"
        );
        let space = at("2024-01-01T00:00:00Z")
            .with_dynamic("files", ["c", "a", "b"])
            .expect("valid");
        assert_eq!(read(Identity, &files, Some("a"), &files, &space), ["a"]);
        assert_eq!(read(Prev, &files, Some("a"), &files, &space), ["c"]);
        assert!(read(Prev, &files, Some("c"), &files, &space).is_empty());
        assert_eq!(
            read(Window(5), &files, Some("b"), &files, &space),
            ["c", "a", "b"]
        );
    }

    #[test]
    fn multi_reads_multi_and_either_of_its_parts() {
        let space = at("2024-01-10T00:00:00Z");
        let sales = by_region(daily("2024-01-01"), &["eu", "us"]);
        let orders = by_region(daily("2024-01-01"), &["eu", "us", "asia"]);
        assert_eq!(
            read(Identity, &sales, Some("2024-01-03|us"), &orders, &space),
            ["2024-01-03|us"]
        );
        assert_eq!(
            read(
                Identity,
                &sales,
                Some("2024-01-03|us"),
                &daily("2024-01-01"),
                &space
            ),
            ["2024-01-03"]
        );
        assert_eq!(
            read(
                Identity,
                &sales,
                Some("2024-01-03|us"),
                &monthly("2024-01-01"),
                &at("2024-02-01T00:00:00Z")
            ),
            ["2024-01-01"]
        );
        assert_eq!(
            read(
                Identity,
                &sales,
                Some("2024-01-03|us"),
                &regions(&["us", "eu"]),
                &space
            ),
            ["us"]
        );
        assert_eq!(
            hint(Identity, &orders, &sales),
            "its static key \"asia\" is not a key of the upstream (eu, us)"
        );
        assert_eq!(
            hint(Identity, &daily("2024-01-01"), &sales),
            "each day has several partitions of it, one per static key; read them all with `All<T>`"
        );
    }

    #[test]
    fn hourly_into_static_is_refused() {
        let hours = PartitionsDef::hourly("2024-01-01").expect("valid");
        assert_eq!(
            hint(Identity, &regions(&["eu"]), &hours),
            "static and hourly partitions do not match one to one; read the newest with `Latest<T>`"
        );
        assert!(check(Identity, &hours, &regions(&["eu"]), false).is_err());
        assert!(
            check(
                Identity,
                &PartitionsDef::dynamic("f").expect("valid"),
                &hours,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn window_gives_fewer_keys_at_the_start_of_history() {
        let days = daily("2024-01-01");
        let space = at("2024-02-01T00:00:00Z");
        assert_eq!(
            read(Window(3), &days, Some("2024-01-05"), &days, &space),
            ["2024-01-03", "2024-01-04", "2024-01-05"]
        );
        assert_eq!(
            read(Window(3), &days, Some("2024-01-02"), &days, &space),
            ["2024-01-01", "2024-01-02"]
        );
        assert_eq!(
            read(Window(1), &days, Some("2024-01-01"), &days, &space),
            ["2024-01-01"]
        );
        // A downstream starting later reads the upstream's earlier days.
        assert_eq!(
            read(
                Window(2),
                &daily("2024-01-10"),
                Some("2024-01-10"),
                &days,
                &space
            ),
            ["2024-01-09", "2024-01-10"]
        );
    }

    #[test]
    fn prev_at_the_first_partition_is_empty() {
        let days = daily("2024-01-01");
        let space = at("2024-02-01T00:00:00Z");
        assert!(read(Prev, &days, Some("2024-01-01"), &days, &space).is_empty());
        assert_eq!(
            read(Prev, &days, Some("2024-01-03"), &days, &space),
            ["2024-01-02"]
        );
        check(Prev, &days, &days, true).expect("a chronological asset");
    }

    #[test]
    fn window_and_prev_need_the_same_kind_and_period() {
        let days = daily("2024-01-01");
        assert_eq!(
            hint(Window(0), &days, &days),
            "`Window<T, 0>` reads no partition: N must be at least 1"
        );
        assert_eq!(
            hint(
                Window(7),
                &PartitionsDef::weekly("2024-01-01").expect("valid"),
                &days
            ),
            "`Window<T, 7>` needs both assets partitioned the same way, here weekly and daily"
        );
        assert_eq!(
            hint(Prev, &days, &PartitionsDef::Unpartitioned),
            "`Prev<T>` needs both assets partitioned the same way; read an unpartitioned asset as `T`"
        );
        assert_eq!(
            hint(Prev, &days, &regions(&["eu"])),
            "`Prev<T>` needs both assets partitioned the same way, here daily and static"
        );
    }

    #[test]
    fn an_asset_reads_itself_only_through_prev() {
        let days = daily("2024-01-01");
        assert!(check(Window(2), &days, &days, true).is_err());
        assert!(check(Identity, &days, &days, true).is_err());
        assert!(check(Latest, &days, &days, true).is_err());
        assert_eq!(
            check(
                Prev,
                &PartitionsDef::Unpartitioned,
                &PartitionsDef::Unpartitioned,
                true
            ),
            Err("an unpartitioned asset has no previous partition to read".into())
        );
    }

    #[test]
    fn window_on_multi_steps_along_time_keeping_the_static_key() {
        let sales = by_region(daily("2024-01-01"), &["eu", "us", "asia"]);
        let space = at("2024-01-10T00:00:00Z");
        assert_eq!(
            read(Window(3), &sales, Some("2024-01-04|us"), &sales, &space),
            ["2024-01-02|us", "2024-01-03|us", "2024-01-04|us"]
        );
        assert_eq!(
            read(Window(3), &sales, Some("2024-01-02|asia"), &sales, &space),
            ["2024-01-01|asia", "2024-01-02|asia"]
        );
        assert!(read(Prev, &sales, Some("2024-01-01|eu"), &sales, &space).is_empty());
        // The upstream lists its regions in another order: positions differ, keys match.
        let other_order = by_region(daily("2024-01-01"), &["asia", "us", "eu"]);
        assert_eq!(
            read(Prev, &sales, Some("2024-01-04|eu"), &other_order, &space),
            ["2024-01-03|eu"]
        );
    }

    #[test]
    fn window_on_static_keys_follows_the_upstream_list_order() {
        let steps = regions(&["extract", "clean", "join"]);
        let space = at("2024-01-01T00:00:00Z");
        assert_eq!(read(Prev, &steps, Some("join"), &steps, &space), ["clean"]);
        assert_eq!(
            read(Window(5), &steps, Some("clean"), &steps, &space),
            ["extract", "clean"]
        );
    }

    #[test]
    fn all_gives_every_existing_partition_to_an_unpartitioned_downstream() {
        let space = at("2024-01-04T12:00:00Z");
        assert_eq!(
            read(
                All,
                &PartitionsDef::Unpartitioned,
                None,
                &daily("2024-01-01"),
                &space
            ),
            ["2024-01-01", "2024-01-02", "2024-01-03"]
        );
        assert_eq!(
            read(
                All,
                &PartitionsDef::Unpartitioned,
                None,
                &regions(&["eu", "us"]),
                &space
            ),
            ["eu", "us"]
        );
        assert!(
            read(
                All,
                &PartitionsDef::Unpartitioned,
                None,
                &daily("2025-01-01"),
                &space
            )
            .is_empty()
        );
    }

    #[test]
    fn all_gives_a_month_its_days() {
        let space = at("2024-03-10T12:00:00Z");
        let months = monthly("2024-01-01");
        let days = daily("2024-01-01");
        let feb = read(All, &months, Some("2024-02-01"), &days, &space);
        assert_eq!(feb.len(), 29);
        assert_eq!(feb.first().map(String::as_str), Some("2024-02-01"));
        assert_eq!(feb.last().map(String::as_str), Some("2024-02-29"));
        // Only the days of March that exist (the month itself would not exist
        // yet; a monthly asset with an end offset could ask).
        assert_eq!(
            read(All, &months, Some("2024-03-01"), &days, &space).len(),
            9
        );
        // Days starting mid-January: the month gets the days there are.
        assert_eq!(
            read(
                All,
                &months,
                Some("2024-01-01"),
                &daily("2024-01-20"),
                &space
            )
            .len(),
            12
        );
    }

    #[test]
    fn all_gives_a_day_every_region_of_that_day() {
        let space = at("2024-01-10T00:00:00Z");
        let sales = by_region(daily("2024-01-01"), &["eu", "us"]);
        assert_eq!(
            read(
                All,
                &daily("2024-01-01"),
                Some("2024-01-02"),
                &sales,
                &space
            ),
            ["2024-01-02|eu", "2024-01-02|us"]
        );
        assert_eq!(
            read(
                All,
                &PartitionsDef::weekly("2024-01-01").expect("valid"),
                Some("2024-01-01"),
                &sales,
                &space
            )
            .len(),
            14
        );
    }

    #[test]
    fn all_is_refused_where_it_has_nothing_to_gather() {
        let days = daily("2024-01-01");
        assert_eq!(
            hint(All, &days, &days),
            "both have one partition per day: read the matching one as `T`"
        );
        assert_eq!(
            hint(All, &days, &monthly("2024-01-01")),
            "each day lies inside one month of it: read that one as `T`"
        );
        assert_eq!(
            hint(All, &days, &PartitionsDef::Unpartitioned),
            "it is not partitioned: read its single value as `T`"
        );
        assert_eq!(
            hint(
                All,
                &monthly("2024-01-01"),
                &PartitionsDef::weekly("2024-01-01").expect("valid")
            ),
            "weeks do not fit inside months (a week can span two)"
        );
        assert!(check(All, &regions(&["eu"]), &days, false).is_err());
    }

    #[test]
    fn latest_gives_the_newest_existing_key_or_nothing() {
        let days = daily("2024-01-01");
        assert_eq!(
            read(
                Latest,
                &PartitionsDef::Unpartitioned,
                None,
                &days,
                &at("2024-01-04T12:00:00Z")
            ),
            ["2024-01-03"]
        );
        assert!(
            read(
                Latest,
                &PartitionsDef::Unpartitioned,
                None,
                &days,
                &at("2024-01-01T12:00:00Z")
            )
            .is_empty()
        );
        assert_eq!(
            read(
                Latest,
                &regions(&["eu"]),
                Some("eu"),
                &days,
                &at("2024-01-04T12:00:00Z")
            ),
            ["2024-01-03"]
        );
        let files = PartitionsDef::dynamic("files").expect("valid");
        let space = at("2024-01-01T00:00:00Z")
            .with_dynamic("files", ["a", "b"])
            .expect("valid");
        assert_eq!(
            read(Latest, &days, Some("2023-12-01"), &files, &space),
            ["b"]
        );
        assert_eq!(
            hint(Latest, &days, &PartitionsDef::Unpartitioned),
            "it is not partitioned: read its single value as `T`"
        );
    }

    #[test]
    fn upstream_keys_refuses_pairs_and_keys_it_cannot_map() {
        let space = at("2024-02-01T00:00:00Z");
        let err = upstream_keys(
            Identity,
            &PartitionsDef::Unpartitioned,
            None,
            &daily("2024-01-01"),
            &space,
        )
        .expect_err("incompatible");
        assert!(matches!(err, Error::Internal(_)), "{err}");
        let err = upstream_keys(
            Identity,
            &daily("2024-01-01"),
            None,
            &daily("2024-01-01"),
            &space,
        )
        .expect_err("no key");
        assert!(
            err.to_string()
                .contains("needs a partition of the downstream"),
            "{err}"
        );
        let err = upstream_keys(
            Identity,
            &daily("2024-01-01"),
            Some(&key("junk")),
            &daily("2024-01-01"),
            &space,
        )
        .expect_err("bad key");
        assert!(
            err.to_string().contains("\"junk\"") || err.to_string().contains("junk"),
            "{err}"
        );
    }

    #[test]
    fn direct_keys_need_no_arithmetic_and_defer_the_rest() {
        let day = key("2024-01-05");
        let d = daily("2024-01-01");
        assert_eq!(
            direct_key(Identity, &d, Some(&day), &d),
            Some(Some(day.clone()))
        );
        assert_eq!(
            direct_key(Identity, &d, Some(&day), &PartitionsDef::Unpartitioned),
            Some(None)
        );
        // Another definition or another mapping: ask `upstream_keys`.
        assert_eq!(
            direct_key(Identity, &d, Some(&day), &daily("2023-01-01")),
            None
        );
        assert_eq!(direct_key(Prev, &d, Some(&day), &d), None);
    }
}
