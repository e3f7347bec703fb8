//! Staleness: for each asset-partition, fresh or stale with every reason.
//!
//! The assessment works on the latest provenance record of each
//! asset-partition (from the catalog) and the graph as the code defines it
//! now. It is exact whatever the fan-in: every expected input of a record is
//! compared, by data version, with the input's current latest record.
//!
//! An upstream that is itself stale "will rerun"; whether its downstream
//! really changes is only known once it has (early cutoff: an identical data
//! version leaves the downstream fresh), which is what the materializer does.

use std::collections::HashMap;
use std::fmt;

use crate::graph::AssetGraph;
use crate::materialize::record::{InputVersion, MaterializationRecord, short};
use crate::partition::mapping::{UpstreamKeys, direct_key, upstream_keys};
use crate::partition::{KeySpace, PartitionKey};

/// An asset-partition key: asset and partition (`None` if unpartitioned).
pub type PartKey = (String, Option<String>);

/// The latest materialization of each asset-partition.
pub type LatestRecords = HashMap<PartKey, MaterializationRecord>;

/// Why an asset-partition must be recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It has never been materialized.
    NeverMaterialized,
    /// Its last attempt failed (after its latest success, if any).
    LastAttemptFailed {
        /// The error of that attempt.
        error: String,
    },
    /// Its code version changed.
    CodeChanged {
        /// The version it was built with.
        old: String,
        /// The version in the code now.
        new: String,
    },
    /// Its configuration changed.
    ConfigChanged {
        /// The config hash it was built with.
        old: Option<String>,
        /// The config hash now.
        new: Option<String>,
    },
    /// It reads other upstream asset-partitions than it was built from.
    DependenciesChanged {
        /// What it was built from.
        old: Vec<String>,
        /// What it reads now.
        new: Vec<String>,
    },
    /// An upstream has a data version other than the one it was built from.
    UpstreamChanged {
        /// The upstream asset.
        asset: String,
        /// The upstream partition.
        partition: Option<String>,
        /// The data version it was built from.
        old: String,
        /// The upstream's data version now.
        new: String,
    },
    /// An upstream is itself stale or missing and will be rerun first.
    UpstreamWillRerun {
        /// The upstream asset.
        asset: String,
        /// The upstream partition.
        partition: Option<String>,
    },
    /// A rerun was forced.
    Forced,
    /// The record is there, its stored value is not (its file was deleted).
    StoredValueMissing,
    /// The stored value's size is not the size recorded when it was written:
    /// it was replaced, truncated or damaged since.
    StoredValueResized {
        /// The bytes recorded.
        expected: u64,
        /// The bytes found.
        found: u64,
    },
    /// The stored value, read back and hashed (`--verify`), has another
    /// data version than the one recorded.
    StoredValueRehashed {
        /// The data version recorded.
        expected: String,
        /// The data version of what is stored.
        found: String,
    },
    /// The stored value was read back and does not decode (a damaged or
    /// truncated Parquet footer or page): changed or damaged since written.
    StoredValueDamaged {
        /// What the reader said, with the file's path.
        error: String,
    },
    /// The stored value could not be looked up or read back.
    StoredValueUnreadable {
        /// Why.
        error: String,
    },
}

fn name(asset: &str, partition: Option<&str>) -> String {
    match partition {
        Some(p) => format!("{asset} {p}"),
        None => asset.to_owned(),
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverMaterialized => write!(f, "never materialized"),
            Reason::LastAttemptFailed { error } => write!(f, "its last attempt failed: {error}"),
            Reason::CodeChanged { old, new } => {
                write!(f, "code version changed ({} -> {})", short(old), short(new))
            }
            Reason::ConfigChanged { old, new } => write!(
                f,
                "config changed ({} -> {})",
                old.as_deref().map_or("none", short),
                new.as_deref().map_or("none", short)
            ),
            Reason::DependenciesChanged { old, new } => write!(
                f,
                "its dependencies changed ([{}] -> [{}])",
                old.join(", "),
                new.join(", ")
            ),
            Reason::UpstreamChanged {
                asset,
                partition,
                old,
                new,
            } => write!(
                f,
                "{} has a new data version ({} -> {})",
                name(asset, partition.as_deref()),
                short(old),
                short(new)
            ),
            Reason::UpstreamWillRerun { asset, partition } => {
                write!(
                    f,
                    "upstream {} will rerun",
                    name(asset, partition.as_deref())
                )
            }
            Reason::Forced => write!(f, "forced"),
            Reason::StoredValueMissing => write!(f, "its stored value is missing"),
            Reason::StoredValueResized { expected, found } => write!(
                f,
                "stored value changed or damaged (expected {expected} bytes, found {found})"
            ),
            Reason::StoredValueRehashed { expected, found } => write!(
                f,
                "stored value changed or damaged (data version expected {}, found {})",
                short(expected),
                short(found)
            ),
            Reason::StoredValueDamaged { error } => {
                write!(f, "stored value changed or damaged ({error})")
            }
            Reason::StoredValueUnreadable { error } => {
                write!(f, "its stored value cannot be checked ({error})")
            }
        }
    }
}

/// The state of one asset-partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Up to date with its code, config and inputs.
    Fresh,
    /// Never materialized.
    Missing,
    /// Its last attempt failed.
    Failed,
    /// Materialized, but out of date.
    Stale,
}

impl State {
    /// Lower-case name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Missing => "missing",
            State::Failed => "failed",
            State::Stale => "stale",
        }
    }
}

/// The assessment of one asset-partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The asset key.
    pub asset: String,
    /// The partition key.
    pub partition: Option<String>,
    /// Fresh, missing, failed or stale.
    pub state: State,
    /// Every reason it must be recomputed (empty when fresh).
    pub reasons: Vec<Reason>,
}

/// What the assessment needs besides the graph.
pub struct Inputs<'a> {
    /// Latest records of every asset-partition involved (upstreams included),
    /// as the catalog returns them.
    pub latest: &'a [MaterializationRecord],
    /// The error of the last attempt of asset-partitions whose last attempt failed.
    pub failed: &'a HashMap<PartKey, String>,
    /// The config hash of each asset that takes configuration.
    pub config_hashes: &'a HashMap<String, String>,
    /// What partitions exist (for the partition mappings of the inputs).
    pub space: &'a KeySpace,
}

/// What is known now of one expected input of a materialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current<'a> {
    /// Its current data version.
    Version(&'a str),
    /// It is itself stale or missing and will be recomputed first.
    WillRerun,
    /// Nothing is known (never materialized and not planned): no reason.
    Unknown,
}

/// One expected input: upstream asset, partition, and what is known of it now.
pub type CurrentInput<'a> = (&'a str, Option<&'a str>, Current<'a>);

/// Every reason `record` is out of date for the code version and config hash
/// in force and the current state of its expected inputs (in dependency
/// order). Empty when it is fresh. The one rule behind both `status` and the
/// materializer's decision to run a step.
pub fn record_reasons(
    record: &MaterializationRecord,
    code_version: &str,
    config_hash: Option<&str>,
    inputs: &[CurrentInput<'_>],
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if record.code_version != code_version {
        reasons.push(Reason::CodeChanged {
            old: record.code_version.clone(),
            new: code_version.to_owned(),
        });
    }
    if record.config_hash.as_deref() != config_hash {
        reasons.push(Reason::ConfigChanged {
            old: record.config_hash.clone(),
            new: config_hash.map(str::to_owned),
        });
    }
    let same_deps = record.inputs.len() == inputs.len()
        && record
            .inputs
            .iter()
            .zip(inputs)
            .all(|(r, e)| r.asset == e.0 && r.partition.as_deref() == e.1);
    if !same_deps {
        reasons.push(Reason::DependenciesChanged {
            old: record.inputs.iter().map(input_name).collect(),
            new: inputs.iter().map(|(a, p, _)| name(a, *p)).collect(),
        });
    }
    for (k, (asset, partition, current)) in inputs.iter().enumerate() {
        match current {
            Current::WillRerun => reasons.push(Reason::UpstreamWillRerun {
                asset: (*asset).to_owned(),
                partition: partition.map(str::to_owned),
            }),
            Current::Version(now) if same_deps => {
                if let Some(built) = record.inputs.get(k)
                    && built.data_version != *now
                {
                    reasons.push(Reason::UpstreamChanged {
                        asset: (*asset).to_owned(),
                        partition: partition.map(str::to_owned),
                        old: built.data_version.clone(),
                        new: (*now).to_owned(),
                    });
                }
            }
            Current::Version(_) | Current::Unknown => {}
        }
    }
    reasons
}

/// Assesses `steps` (asset index and partition, upstream before downstream;
/// include the upstreams of what you want to report: their state decides
/// whether a downstream "will rerun").
pub fn assess(
    graph: &AssetGraph,
    steps: &[(usize, Option<PartitionKey>)],
    inputs: &Inputs<'_>,
) -> Vec<Assessment> {
    let mut out = Vec::with_capacity(steps.len());
    assess_each(graph, steps, inputs, |a| out.push(a));
    out
}

/// [`assess`], handing each assessment to `each` as it is made instead of
/// collecting them: a summary over a million partitions keeps counts, not
/// a million rows.
pub fn assess_each(
    graph: &AssetGraph,
    steps: &[(usize, Option<PartitionKey>)],
    inputs: &Inputs<'_>,
    each: impl FnMut(Assessment),
) {
    assess_each_stored(graph, steps, inputs, &|_, _| None, each);
}

/// [`assess_each`], also asking `stored` (given the asset's index and its
/// record) whether the value a record describes is still stored as written
/// (see [`stored_value`](crate::stored_value)): a record whose code, config
/// and inputs are current is fresh only if its value is there too. This is
/// the rule `status`, `why` and the materializer share.
pub fn assess_each_stored(
    graph: &AssetGraph,
    steps: &[(usize, Option<PartitionKey>)],
    inputs: &Inputs<'_>,
    stored: &dyn Fn(usize, &MaterializationRecord) -> Option<Reason>,
    mut each: impl FnMut(Assessment),
) {
    // Borrowed keys: lookups allocate nothing (this runs for every
    // asset-partition of a status over hundreds of thousands).
    type Key<'k> = (&'k str, Option<&'k str>);
    let latest: HashMap<Key<'_>, &MaterializationRecord> = inputs
        .latest
        .iter()
        .map(|r| ((r.asset.as_str(), r.partition.as_deref()), r))
        .collect();
    let failed: HashMap<Key<'_>, &String> = inputs
        .failed
        .iter()
        .map(|((a, p), e)| ((a.as_str(), p.as_deref()), e))
        .collect();
    let mut fresh: HashMap<Key<'_>, bool> = HashMap::with_capacity(steps.len());
    for (asset, partition) in steps {
        let def = graph.asset(*asset);
        let key: Key<'_> = (
            def.key.as_str(),
            partition.as_ref().map(PartitionKey::as_str),
        );
        let mut reasons = Vec::new();
        let record = latest.get(&key).copied();
        if let Some(error) = failed.get(&key) {
            reasons.push(Reason::LastAttemptFailed {
                error: (*error).clone(),
            });
        }
        match record {
            None => reasons.push(Reason::NeverMaterialized),
            Some(record) => {
                let config = inputs.config_hashes.get(&def.key).map(String::as_str);
                let upstream = expected_keys(graph, *asset, partition.as_ref(), inputs.space);
                let expected: Vec<CurrentInput<'_>> = upstream
                    .iter()
                    .map(|(u, p)| {
                        let upstream = (
                            graph.asset(*u).key.as_str(),
                            p.as_ref().map(PartitionKey::as_str),
                        );
                        let current = if fresh.get(&upstream) == Some(&false) {
                            Current::WillRerun
                        } else {
                            latest.get(&upstream).map_or(Current::Unknown, |r| {
                                Current::Version(r.data_version.as_str())
                            })
                        };
                        (upstream.0, upstream.1, current)
                    })
                    .collect();
                reasons.extend(record_reasons(record, &def.code_version, config, &expected));
                reasons.extend(stored(*asset, record));
            }
        }
        let state = if reasons.is_empty() {
            State::Fresh
        } else if record.is_none() || reasons.contains(&Reason::StoredValueMissing) {
            State::Missing
        } else if failed.contains_key(&key) {
            State::Failed
        } else {
            State::Stale
        };
        fresh.insert(key, state == State::Fresh);
        each(Assessment {
            asset: key.0.to_owned(),
            partition: key.1.map(str::to_owned),
            state,
            reasons,
        });
    }
}

/// `sessions'`, `model's`.
fn possessive(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

fn input_name(input: &InputVersion) -> String {
    name(&input.asset, input.partition.as_deref())
}

/// The upstream asset-partitions asset `i` reads for `partition`, in
/// dependency order, through each parameter's partition mapping (a `Window`
/// gives several, a `Prev` at the start of history none). A mapping that
/// cannot be resolved gives nothing for that parameter: the record's inputs
/// then differ, which reads as "dependencies changed".
pub fn expected_keys(
    graph: &AssetGraph,
    i: usize,
    partition: Option<&PartitionKey>,
    space: &KeySpace,
) -> Vec<(usize, Option<PartitionKey>)> {
    let def = graph.asset(i);
    let mut out = Vec::with_capacity(def.dependencies.len());
    for (dependency, &u) in def.dependencies.iter().zip(graph.upstream_of(i)) {
        let upstream = graph.asset(u);
        if let Some(key) = direct_key(
            dependency.mapping,
            &def.partitions,
            partition,
            &upstream.partitions,
        ) {
            out.push((u, key));
            continue;
        }
        match upstream_keys(
            dependency.mapping,
            &def.partitions,
            partition,
            &upstream.partitions,
            space,
        ) {
            Ok(UpstreamKeys::Unpartitioned) => out.push((u, None)),
            Ok(UpstreamKeys::Keys(range)) => out.extend(range.iter().map(|k| (u, Some(k)))),
            Err(_) => {}
        }
    }
    out
}

/// [`expected_keys`] as asset and partition names.
pub fn expected_inputs(
    graph: &AssetGraph,
    i: usize,
    partition: Option<&PartitionKey>,
    space: &KeySpace,
) -> Vec<PartKey> {
    expected_keys(graph, i, partition, space)
        .into_iter()
        .map(|(u, p)| (graph.asset(u).key.clone(), p.map(|p| p.as_str().to_owned())))
        .collect()
}

/// Explains why `target` is stale down to the root cause, one line per step
/// of the chain: "engagement 2024-01-03 is stale: sessions 2024-01-02 has a
/// new data version (a1f3 -> 9c2e) because sessions' code changed (v1 -> v2)".
///
/// `history` gives an asset-partition's materializations, newest first.
pub fn explain(
    assessments: &[Assessment],
    target: &PartKey,
    history: &dyn Fn(&PartKey) -> Vec<MaterializationRecord>,
) -> Vec<String> {
    let by_key: HashMap<PartKey, &Assessment> = assessments
        .iter()
        .map(|a| ((a.asset.clone(), a.partition.clone()), a))
        .collect();
    explain_with(&|k| by_key.get(k).copied(), target, history)
}

/// [`explain`] over a lookup of assessments (`None`: not assessed), for
/// callers that keep them indexed already: the site explains one
/// partition of every asset from one index.
pub fn explain_with<'a>(
    lookup: &dyn Fn(&PartKey) -> Option<&'a Assessment>,
    target: &PartKey,
    history: &dyn Fn(&PartKey) -> Vec<MaterializationRecord>,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen = std::collections::HashSet::new();
    explain_into(lookup, target, history, &mut lines, &mut seen, 0);
    lines
}

fn explain_into<'a>(
    by_key: &dyn Fn(&PartKey) -> Option<&'a Assessment>,
    key: &PartKey,
    history: &dyn Fn(&PartKey) -> Vec<MaterializationRecord>,
    lines: &mut Vec<String>,
    seen: &mut std::collections::HashSet<PartKey>,
    depth: usize,
) {
    if !seen.insert(key.clone()) {
        return;
    }
    let indent = "  ".repeat(depth);
    let label = name(&key.0, key.1.as_deref());
    let Some(assessment) = by_key(key) else {
        lines.push(format!("{indent}{label}: not assessed"));
        return;
    };
    if assessment.reasons.is_empty() {
        if depth > 0 {
            lines.push(format!("{indent}{label} is fresh"));
        } else {
            explain_fresh(&label, history(key).first(), lines);
        }
        return;
    }
    lines.push(format!("{indent}{label} is {}:", assessment.state.name()));
    for reason in &assessment.reasons {
        match reason {
            Reason::UpstreamChanged {
                asset,
                partition,
                old,
                new,
            } => {
                let up = (asset.clone(), partition.clone());
                let cause = why_data_changed(&up, old, new, history);
                lines.push(format!("{indent}- {reason}{cause}"));
            }
            Reason::UpstreamWillRerun { asset, partition } => {
                lines.push(format!("{indent}- {reason}"));
                explain_into(
                    by_key,
                    &(asset.clone(), partition.clone()),
                    history,
                    lines,
                    seen,
                    depth + 1,
                );
            }
            other => lines.push(format!("{indent}- {other}")),
        }
    }
}

/// Why the asked-for asset-partition is fresh: its latest materialization,
/// and the inputs it was built from, which are still their latest versions.
fn explain_fresh(label: &str, latest: Option<&MaterializationRecord>, lines: &mut Vec<String>) {
    let Some(record) = latest else {
        lines.push(format!("{label} is fresh"));
        return;
    };
    lines.push(format!("{label} is fresh:"));
    let config = record
        .config_hash
        .as_deref()
        .map_or_else(String::new, |c| format!(", config {}", short(c)));
    lines.push(format!(
        "- materialized at {} by run {}: code {}, data {}{config}",
        record.finished_at,
        record.run_id,
        short(&record.code_version),
        short(&record.data_version),
    ));
    lines.push("- its code version and configuration are the current ones".into());
    if record.inputs.is_empty() {
        lines.push("- it reads no other asset".into());
    } else {
        let inputs: Vec<String> = record
            .inputs
            .iter()
            .map(|i| format!("{} data {}", input_name(i), short(&i.data_version)))
            .collect();
        lines.push(format!(
            "- built from {}: each still the latest version",
            inputs.join(", ")
        ));
    }
}

/// Why `up`'s data went from version `old` to `new`: compares the record that
/// produced `new` with the one that produced `old`.
fn why_data_changed(
    up: &PartKey,
    old: &str,
    new: &str,
    history: &dyn Fn(&PartKey) -> Vec<MaterializationRecord>,
) -> String {
    let records = history(up);
    let newer = records.iter().find(|r| r.data_version == new);
    let older = records.iter().find(|r| r.data_version == old);
    let who = possessive(&up.0);
    match (newer, older) {
        (Some(n), Some(o)) if n.code_version != o.code_version => format!(
            " because {who} code changed ({} -> {})",
            short(&o.code_version),
            short(&n.code_version)
        ),
        (Some(n), Some(o)) if n.config_hash != o.config_hash => {
            format!(" because {who} config changed")
        }
        (Some(n), Some(o)) => {
            let changed: Vec<String> = n
                .inputs
                .iter()
                .zip(&o.inputs)
                .filter(|(a, b)| a.data_version != b.data_version)
                .map(|(a, _)| input_name(a))
                .collect();
            if changed.is_empty() {
                format!(" because {} was recomputed with different results", up.0)
            } else {
                format!(" because its input {} changed", changed.join(", "))
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::registry::Registry;
    use crate::graph::tests::def;
    use crate::partition::PartitionsDef;

    const DAY: &str = "2024-01-02";

    fn graph() -> AssetGraph {
        let daily = || PartitionsDef::daily("2024-01-01").expect("valid");
        let defs = vec![
            def("clicks", &[])
                .with_partitions(daily())
                .with_code_version("c1"),
            def("sessions", &["clicks"])
                .with_partitions(daily())
                .with_code_version("s1"),
            def("engagement", &["sessions"])
                .with_partitions(daily())
                .with_code_version("e1"),
        ];
        AssetGraph::build(Registry::from_defs(defs).expect("valid")).expect("valid")
    }

    fn record(
        asset: &str,
        code: &str,
        version: &str,
        inputs: &[(&str, &str)],
    ) -> MaterializationRecord {
        MaterializationRecord {
            asset: asset.into(),
            partition: Some(DAY.into()),
            run_id: "r".into(),
            code_version: code.into(),
            data_version: version.into(),
            inputs: inputs
                .iter()
                .map(|(a, v)| InputVersion {
                    asset: (*a).into(),
                    partition: Some(DAY.into()),
                    data_version: (*v).into(),
                })
                .collect(),
            uri: String::new(),
            rows: 1,
            bytes: 1,
            started_at: String::new(),
            finished_at: String::new(),
            framework_version: "0".into(),
            config_hash: None,
            git_commit: "unknown".into(),
            schema: None,
            tag: None,
            promoted_from: None,
        }
    }

    fn steps(g: &AssetGraph) -> Vec<(usize, Option<PartitionKey>)> {
        let key = PartitionsDef::daily("2024-01-01")
            .expect("valid")
            .validate("x", DAY)
            .expect("valid");
        g.topological_order()
            .iter()
            .map(|&i| (i, Some(key.clone())))
            .collect()
    }

    fn latest(records: Vec<MaterializationRecord>) -> Vec<MaterializationRecord> {
        records
    }

    fn run(latest: &[MaterializationRecord], failed: &HashMap<PartKey, String>) -> Vec<Assessment> {
        let g = graph();
        assess(
            &g,
            &steps(&g),
            &Inputs {
                latest,
                failed,
                config_hashes: &HashMap::new(),
                space: &KeySpace::now(),
            },
        )
    }

    fn of<'a>(all: &'a [Assessment], asset: &str) -> &'a Assessment {
        all.iter().find(|a| a.asset == asset).expect("assessed")
    }

    #[test]
    fn everything_consistent_is_fresh() {
        let l = latest(vec![
            record("clicks", "c1", "aaaa1111", &[]),
            record("sessions", "s1", "bbbb2222", &[("clicks", "aaaa1111")]),
            record("engagement", "e1", "cccc3333", &[("sessions", "bbbb2222")]),
        ]);
        let all = run(&l, &HashMap::new());
        assert!(all.iter().all(|a| a.state == State::Fresh), "{all:?}");
    }

    #[test]
    fn missing_and_code_change_and_upstream_rerun_are_reasons() {
        let l = latest(vec![
            record("clicks", "c0", "aaaa1111", &[]),
            record("sessions", "s1", "bbbb2222", &[("clicks", "aaaa1111")]),
        ]);
        let all = run(&l, &HashMap::new());
        assert_eq!(
            of(&all, "clicks").reasons,
            [Reason::CodeChanged {
                old: "c0".into(),
                new: "c1".into()
            }]
        );
        assert_eq!(
            of(&all, "sessions").reasons,
            [Reason::UpstreamWillRerun {
                asset: "clicks".into(),
                partition: Some(DAY.into())
            }]
        );
        assert_eq!(of(&all, "engagement").state, State::Missing);
    }

    #[test]
    fn new_upstream_data_version_is_named() {
        let l = latest(vec![
            record("clicks", "c1", "9c2e0000", &[]),
            record("sessions", "s1", "bbbb2222", &[("clicks", "a1f30000")]),
        ]);
        let all = run(&l, &HashMap::new());
        let s = of(&all, "sessions");
        assert_eq!(s.state, State::Stale);
        assert_eq!(
            s.reasons[0].to_string(),
            "clicks 2024-01-02 has a new data version (a1f30000 -> 9c2e0000)"
        );
    }

    #[test]
    fn every_input_is_compared_whatever_the_fan_in() {
        // One asset reading 2,000 upstreams: a change in any single one of
        // them, even the last, is found and named; no edge is skipped.
        let n = 2_000;
        let mut defs: Vec<_> = (0..n).map(|i| def(&format!("u{i:04}"), &[])).collect();
        let names: Vec<String> = (0..n).map(|i| format!("u{i:04}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        defs.push(def("wide", &refs));
        let g = AssetGraph::build(Registry::from_defs(defs).expect("valid")).expect("valid");
        let unpartitioned = |mut r: MaterializationRecord| {
            r.partition = None;
            for i in &mut r.inputs {
                i.partition = None;
            }
            r
        };
        let mut latest: Vec<MaterializationRecord> = names
            .iter()
            .map(|u| unpartitioned(record(u, "0", "v1", &[])))
            .collect();
        let inputs: Vec<(&str, &str)> = refs.iter().map(|u| (*u, "v1")).collect();
        latest.push(unpartitioned(record("wide", "0", "w1", &inputs)));
        let steps: Vec<_> = g.topological_order().iter().map(|&i| (i, None)).collect();
        let no_failures = HashMap::new();
        let assess_now = |latest: &[MaterializationRecord]| {
            let all = assess(
                &g,
                &steps,
                &Inputs {
                    latest,
                    failed: &no_failures,
                    config_hashes: &HashMap::new(),
                    space: &KeySpace::now(),
                },
            );
            all.into_iter()
                .find(|a| a.asset == "wide")
                .expect("assessed")
        };
        assert_eq!(assess_now(&latest).state, State::Fresh);
        if let Some(last) = latest.iter_mut().find(|r| r.asset == "u1999") {
            last.data_version = "v2".into();
        }
        let wide = assess_now(&latest);
        assert_eq!(wide.state, State::Stale);
        assert_eq!(
            wide.reasons,
            [Reason::UpstreamChanged {
                asset: "u1999".into(),
                partition: None,
                old: "v1".into(),
                new: "v2".into(),
            }]
        );
    }

    #[test]
    fn last_failed_attempt_is_reported() {
        let l = latest(vec![record("clicks", "c1", "aaaa1111", &[])]);
        let failed = HashMap::from([(("clicks".to_owned(), Some(DAY.to_owned())), "boom".into())]);
        let all = run(&l, &failed);
        assert_eq!(of(&all, "clicks").state, State::Failed);
    }

    #[test]
    fn why_follows_the_chain_to_the_code_change() {
        let l = latest(vec![
            record("clicks", "c1", "aaaa1111", &[]),
            record("sessions", "s2", "9c2e0000", &[("clicks", "aaaa1111")]),
            record("engagement", "e1", "cccc3333", &[("sessions", "a1f30000")]),
        ]);
        let mut g_latest = l.clone();
        // The graph says sessions is at s1; align it so only the data changed.
        if let Some(r) = g_latest.iter_mut().find(|r| r.asset == "sessions") {
            r.code_version = "s1".into();
        }
        let all = run(&g_latest, &HashMap::new());
        let history = |k: &PartKey| -> Vec<MaterializationRecord> {
            if k.0 == "sessions" {
                vec![
                    record("sessions", "s1", "9c2e0000", &[("clicks", "aaaa1111")]),
                    record("sessions", "s0", "a1f30000", &[("clicks", "aaaa1111")]),
                ]
            } else {
                Vec::new()
            }
        };
        let lines = explain(&all, &("engagement".into(), Some(DAY.into())), &history);
        assert_eq!(lines[0], "engagement 2024-01-02 is stale:");
        assert_eq!(
            lines[1],
            "- sessions 2024-01-02 has a new data version (a1f30000 -> 9c2e0000) because sessions' code changed (s0 -> s1)"
        );
    }

    #[test]
    fn why_of_a_fresh_partition_says_what_it_was_built_from() {
        let mut l = latest(vec![
            record("clicks", "c1", "aaaa1111", &[]),
            record("sessions", "s1", "bbbb2222", &[("clicks", "aaaa1111")]),
            record("engagement", "e1", "cccc3333", &[("sessions", "bbbb2222")]),
        ]);
        for r in &mut l {
            r.finished_at = "2024-01-03T06:00:00+00:00".into();
        }
        let all = run(&l, &HashMap::new());
        let latest_of = |k: &PartKey| -> Vec<MaterializationRecord> {
            l.iter().filter(|r| r.asset == k.0).cloned().collect()
        };
        let lines = explain(&all, &("sessions".into(), Some(DAY.into())), &latest_of);
        assert_eq!(
            lines,
            [
                "sessions 2024-01-02 is fresh:",
                "- materialized at 2024-01-03T06:00:00+00:00 by run r: code s1, data bbbb2222",
                "- its code version and configuration are the current ones",
                "- built from clicks 2024-01-02 data aaaa1111: each still the latest version",
            ]
        );
        let source = explain(&all, &("clicks".into(), Some(DAY.into())), &latest_of);
        assert_eq!(
            source.last().map(String::as_str),
            Some("- it reads no other asset")
        );
    }
}
