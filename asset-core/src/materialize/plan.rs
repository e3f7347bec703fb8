//! Planning: the selected assets expanded into asset-partition steps.

use std::collections::HashMap;

use io_managers::Location;

use crate::error::Error;
use crate::graph::AssetGraph;
use crate::partition::PartitionKey;

/// One asset-partition to materialize.
#[derive(Debug, Clone)]
pub struct Step {
    /// The asset's index in the graph.
    pub asset: usize,
    /// The partition, `None` for unpartitioned assets.
    pub partition: Option<PartitionKey>,
    /// Where its value is stored.
    pub location: Location,
    /// What it reads, one entry per dependency in parameter order.
    pub inputs: Vec<StepInputSpec>,
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
    dependents: Vec<Vec<usize>>,
}

impl Plan {
    /// Expands `selected` (asset indices in topological order) for `partition`.
    pub fn build(
        graph: &AssetGraph,
        selected: &[usize],
        partition: Option<&str>,
    ) -> Result<Self, Error> {
        if let Some(key) = partition
            && !selected
                .iter()
                .any(|&i| graph.asset(i).partitions.is_partitioned())
        {
            return Err(Error::PartitionNotApplicable {
                key: key.to_owned(),
            });
        }
        let mut steps: Vec<Step> = Vec::with_capacity(selected.len());
        let mut step_of: HashMap<usize, usize> = HashMap::with_capacity(selected.len());
        for &i in selected {
            let partition = partition_for(graph, i, partition)?;
            let location = location_of(graph, i, partition.as_ref())?;
            let def = graph.asset(i);
            let mut inputs = Vec::with_capacity(def.dependencies.len());
            for &u in graph.upstream_of(i) {
                let upstream_partition = if graph.asset(u).partitions.is_partitioned() {
                    partition.clone()
                } else {
                    None
                };
                inputs.push(StepInputSpec {
                    asset: u,
                    location: location_of(graph, u, upstream_partition.as_ref())?,
                    producer: step_of.get(&u).copied(),
                });
            }
            step_of.insert(i, steps.len());
            steps.push(Step {
                asset: i,
                partition,
                location,
                inputs,
            });
        }
        let mut dependents = vec![Vec::new(); steps.len()];
        for (s, step) in steps.iter().enumerate() {
            for input in &step.inputs {
                if let Some(p) = input.producer {
                    dependents[p].push(s);
                }
            }
        }
        Ok(Self { steps, dependents })
    }

    /// The steps, in dependency order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The steps that read step `s`'s output.
    pub fn dependents(&self, s: usize) -> &[usize] {
        &self.dependents[s]
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

/// The validated partition of asset `i` for this run.
fn partition_for(
    graph: &AssetGraph,
    i: usize,
    partition: Option<&str>,
) -> Result<Option<PartitionKey>, Error> {
    let def = graph.asset(i);
    if !def.partitions.is_partitioned() {
        return Ok(None);
    }
    match partition {
        Some(key) => def.partitions.validate(&def.key, key).map(Some),
        None => Err(Error::PartitionRequired {
            asset: def.key.clone(),
            partitions: def.partitions.describe(),
        }),
    }
}

fn location_of(
    graph: &AssetGraph,
    i: usize,
    partition: Option<&PartitionKey>,
) -> Result<Location, Error> {
    Ok(Location::new(
        &graph.asset(i).key,
        partition.map(PartitionKey::as_str),
    )?)
}
