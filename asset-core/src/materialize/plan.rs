//! Planning: the selected assets expanded into asset-partition steps.
//!
//! Every selected partitioned asset is expanded over the partitions asked
//! for (one key, or a `--from`/`--to` range); each step's inputs come from
//! its parameters' partition mappings. A step reading a partition produced
//! in the same run waits for it, so cross-partition dependencies (`Prev`,
//! `Window`, a self-dependent asset) order the partitions they link, and
//! everything else may run in parallel. Steps are generated oldest partition
//! first (so producers always precede their consumers); the order in which
//! independent ready steps are *started* is [`PartitionOrder`]'s business.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use io_managers::Location;

use crate::asset::definition::PartitionMapping;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::coverage::{self, LeftOut};
use crate::partition::mapping::{UpstreamKeys, direct_key, upstream_keys};
use crate::partition::{KeyRange, KeySpace, PartitionKey};

/// Which partitions of the selected assets a run covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PartitionSelection {
    /// None: only unpartitioned assets may be selected.
    #[default]
    None,
    /// One key (`--partition KEY`).
    One(String),
    /// An inclusive range (`--from A --to B`): a backfill.
    Range {
        /// The first key.
        from: String,
        /// The last key (inclusive).
        to: String,
    },
}

impl PartitionSelection {
    /// From the CLI's `--partition`, `--from`, `--to` (the CLI refuses
    /// mixing them; a lone `--from` or `--to` is refused here).
    pub fn from_args(
        partition: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self, Error> {
        match (partition, from, to) {
            (Some(key), None, None) => Ok(Self::One(key.to_owned())),
            (None, Some(from), Some(to)) => Ok(Self::Range {
                from: from.to_owned(),
                to: to.to_owned(),
            }),
            (None, None, None) => Ok(Self::None),
            (Some(_), _, _) => Err(Error::Usage(
                "--partition cannot be combined with --from/--to".into(),
            )),
            (None, Some(_), None) => Err(Error::Usage("--from needs --to".into())),
            (None, None, Some(_)) => Err(Error::Usage("--to needs --from".into())),
        }
    }

    /// How it reads in messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::None => "no partition".into(),
            Self::One(key) => format!("--partition {key:?}"),
            Self::Range { from, to } => format!("--from {from:?} --to {to:?}"),
        }
    }
}

/// In which order independent partitions start (dependencies always win).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PartitionOrder {
    /// Newest partition first, so fresh data arrives first (the default).
    #[default]
    NewestFirst,
    /// Oldest partition first.
    OldestFirst,
}

/// One asset-partition to materialize.
#[derive(Debug, Clone)]
pub struct Step {
    /// The asset's index in the graph.
    pub asset: usize,
    /// The partition, `None` for unpartitioned assets.
    pub partition: Option<PartitionKey>,
    /// Where its value is stored.
    pub location: Location,
    /// Every upstream asset-partition it reads, parameter by parameter.
    pub inputs: Vec<StepInputSpec>,
    /// One entry per dependency parameter, in parameter order: the
    /// upstream asset and its slice of `inputs` (empty for a `Prev` at the
    /// start of history, several for a `Window` or `All`).
    pub params: Vec<ParamInputs>,
    /// Start priority among ready steps: lower starts first.
    pub rank: u64,
}

/// The inputs of one dependency parameter of a step.
#[derive(Debug, Clone)]
pub struct ParamInputs {
    /// The upstream asset's index in the graph.
    pub asset: usize,
    /// Its upstream asset-partitions, as a range of [`Step::inputs`].
    pub inputs: Range<usize>,
}

/// One input of a step: an upstream asset-partition.
#[derive(Debug, Clone)]
pub struct StepInputSpec {
    /// The upstream asset's index in the graph.
    pub asset: usize,
    /// Where the upstream value is stored.
    pub location: Location,
    /// The plan step that produces it, if it is produced in this run.
    pub producer: Option<usize>,
}

/// Steps in dependency order (every producer before its consumers).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    steps: Vec<Step>,
    /// Step `s`'s readers are `readers[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<usize>,
    readers: Vec<usize>,
    /// Partitions of coarser assets the range covers only in part.
    left_out: Vec<LeftOut>,
}

impl Plan {
    /// Expands `selected` (asset indices in topological order) over
    /// `partitions`, as of `space` (the time, the dynamic partition sets).
    pub fn build(
        graph: &AssetGraph,
        selected: &[usize],
        partitions: &PartitionSelection,
        space: &KeySpace,
        order: PartitionOrder,
    ) -> Result<Self, Error> {
        check_applicable(graph, selected, partitions)?;
        let coverage = coverage::resolve(graph, selected, partitions, space)?;
        let mut steps: Vec<Step> = Vec::with_capacity(selected.len());
        // The step of each asset-partition planned so far, per asset.
        let mut step_of: Vec<HashMap<Option<PartitionKey>, usize>> =
            vec![HashMap::new(); graph.len()];
        // Asset keys shared by every location of the asset.
        let asset_keys: Vec<Arc<str>> = (0..graph.len())
            .map(|i| Arc::from(graph.asset(i).key.as_str()))
            .collect();
        // And their dimension names (the Hive folders of their locations).
        let dimensions: Vec<Arc<[Arc<str>]>> = (0..graph.len())
            .map(|i| graph.asset(i).dimension_names())
            .collect();
        for (&i, keys) in selected.iter().zip(coverage.keys) {
            let def = graph.asset(i);
            let total = keys.as_ref().map_or(1, KeyRange::len);
            let partitions_iter: Box<dyn Iterator<Item = Option<PartitionKey>>> = match &keys {
                Some(range) => Box::new(range.iter().map(Some)),
                None => Box::new(std::iter::once(None)),
            };
            step_of[i].reserve(usize::try_from(total).unwrap_or(0));
            for (n, partition) in partitions_iter.enumerate() {
                let location = Location::from_shared(
                    asset_keys[i].clone(),
                    partition.as_ref().map(PartitionKey::shared),
                )?
                .with_dimensions(dimensions[i].clone())?;
                let mut inputs = Vec::with_capacity(def.dependencies.len());
                let mut params = Vec::with_capacity(def.dependencies.len());
                for (dependency, &u) in def.dependencies.iter().zip(graph.upstream_of(i)) {
                    let upstream = graph.asset(u);
                    let first = inputs.len();
                    let mut push = |key: Option<PartitionKey>| -> Result<(), Error> {
                        let producer = step_of[u].get(&key).copied();
                        inputs.push(StepInputSpec {
                            asset: u,
                            location: Location::from_shared(
                                asset_keys[u].clone(),
                                key.as_ref().map(PartitionKey::shared),
                            )?
                            .with_dimensions(dimensions[u].clone())?,
                            producer,
                        });
                        Ok(())
                    };
                    if let Some(key) = direct_key(
                        dependency.mapping,
                        &def.partitions,
                        partition.as_ref(),
                        &upstream.partitions,
                    ) {
                        push(key)?;
                    } else {
                        match upstream_keys(
                            dependency.mapping,
                            &def.partitions,
                            partition.as_ref(),
                            &upstream.partitions,
                            space,
                        )
                        .map_err(|e| {
                            mapping_error(&def.key, partition.as_ref(), &upstream.key, e)
                        })? {
                            UpstreamKeys::Unpartitioned => push(None)?,
                            UpstreamKeys::Keys(range)
                                if range.is_empty()
                                    && matches!(
                                        dependency.mapping,
                                        PartitionMapping::Identity | PartitionMapping::Latest
                                    ) =>
                            {
                                return Err(Error::Usage(format!(
                                    "asset {:?}{} reads {:?} as {}, but {:?} has no such complete partition yet",
                                    def.key,
                                    partition
                                        .as_ref()
                                        .map_or_else(String::new, |p| format!(" [{p}]")),
                                    upstream.key,
                                    dependency.mapping,
                                    upstream.key
                                )));
                            }
                            UpstreamKeys::Keys(range) => {
                                for key in range.iter() {
                                    push(Some(key))?;
                                }
                            }
                        }
                    }
                    params.push(ParamInputs {
                        asset: u,
                        inputs: first..inputs.len(),
                    });
                }
                let n = n as u64;
                let rank = match order {
                    PartitionOrder::OldestFirst => n,
                    PartitionOrder::NewestFirst => total.saturating_sub(n + 1),
                };
                step_of[i].insert(partition.clone(), steps.len());
                steps.push(Step {
                    asset: i,
                    partition,
                    location,
                    inputs,
                    params,
                    rank,
                });
            }
        }
        drop(step_of);
        // Who reads each step, as one flat list with offsets (one allocation
        // instead of one per step).
        let mut offsets = vec![0usize; steps.len() + 1];
        for step in &steps {
            for input in &step.inputs {
                if let Some(p) = input.producer {
                    offsets[p + 1] += 1;
                }
            }
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut next = offsets.clone();
        let mut readers = vec![0usize; offsets[steps.len()]];
        for (s, step) in steps.iter().enumerate() {
            for input in &step.inputs {
                if let Some(p) = input.producer {
                    readers[next[p]] = s;
                    next[p] += 1;
                }
            }
        }
        Ok(Self {
            steps,
            offsets,
            readers,
            left_out: coverage.left_out,
        })
    }

    /// Checks what [`build`](Self::build) would refuse about the partitions
    /// asked for (a key or range outside an asset's partitions, a partition
    /// for an unpartitioned selection) without expanding any step.
    pub fn check_partitions(
        graph: &AssetGraph,
        selected: &[usize],
        partitions: &PartitionSelection,
        space: &KeySpace,
    ) -> Result<(), Error> {
        check_applicable(graph, selected, partitions)?;
        coverage::resolve(graph, selected, partitions, space).map(drop)
    }

    /// Refuses a plan of more than `max_steps` steps before any is made:
    /// the count is arithmetic over each asset's key range, so a range of
    /// ten million hours is refused at once, with the count and the flag
    /// that raises the limit.
    pub fn check_size(
        graph: &AssetGraph,
        selected: &[usize],
        partitions: &PartitionSelection,
        space: &KeySpace,
        max_steps: u64,
    ) -> Result<(), Error> {
        let total = coverage::resolve(graph, selected, partitions, space)?
            .keys
            .iter()
            .fold(0u64, |total, keys| {
                total.saturating_add(keys.as_ref().map_or(1, KeyRange::len))
            });
        if total > max_steps {
            return Err(Error::Usage(format!(
                "the plan has {total} steps, more than the limit of {max_steps}: narrow --select or the range, or raise the limit with --max-steps {total}"
            )));
        }
        Ok(())
    }

    /// The steps, in dependency order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The steps that read step `s`'s output.
    pub fn dependents(&self, s: usize) -> &[usize] {
        &self.readers[self.offsets[s]..self.offsets[s + 1]]
    }

    /// The partitions of coarser assets left out because the range covers
    /// only part of their windows (see [`LeftOut`]).
    pub fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Partitions asked for, but no selected asset is partitioned.
fn check_applicable(
    graph: &AssetGraph,
    selected: &[usize],
    partitions: &PartitionSelection,
) -> Result<(), Error> {
    if *partitions != PartitionSelection::None
        && !selected
            .iter()
            .any(|&i| graph.asset(i).partitions.is_partitioned())
    {
        return Err(Error::PartitionNotApplicable {
            key: partitions.describe(),
        });
    }
    Ok(())
}

/// A mapping that cannot be resolved for one partition, naming both assets.
fn mapping_error(
    asset: &str,
    partition: Option<&PartitionKey>,
    upstream: &str,
    error: Error,
) -> Error {
    let at = partition.map_or_else(String::new, |p| format!(" [{p}]"));
    Error::Usage(format!(
        "asset {asset:?}{at} cannot read its upstream {upstream:?}: {error}"
    ))
}
