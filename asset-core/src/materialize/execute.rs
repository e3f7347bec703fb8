//! Running a plan: a ready queue over steps, at most `jobs` at once.
//!
//! A step becomes ready when every producer of its inputs in this run has
//! finished. A failed step marks everything downstream of it as skipped;
//! independent branches go on. Each step checks, just before it would run,
//! whether its previous materialization is still valid for the current code
//! version and the inputs' data versions (so an upstream that was rerun but
//! produced identical data does not force its downstream to recompute).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use io_managers::{Payload, PayloadKind, data_version_of};
use tokio::task::JoinSet;

use crate::asset::context::AssetContext;
use crate::asset::definition::{Input, StepInput};
use crate::asset::run::panic_message;
use crate::catalog::{Catalog, FailureRecord};
use crate::config::ConfigFile;
use crate::graph::AssetGraph;
use crate::materialize::Observer;
use crate::materialize::io_set::IoManagers;
use crate::materialize::lease;
use crate::materialize::listener::{self, SharedListener, StepOutput};
use crate::materialize::plan::{Plan, Step};
use crate::materialize::record::{InputVersion, MaterializationRecord};
use crate::materialize::report::{StepReport, StepStatus};
use crate::materialize::snapshot::Snapshot;
use crate::retry::StepRng;
use crate::staleness::PartKey;

/// What makes a step rerun besides its versions.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Rerun {
    /// Every step runs (`--force`).
    pub force: bool,
    /// A value is read back and rehashed before it counts as fresh
    /// (`--verify`).
    pub verify: bool,
}

/// Per-run settings shared by all steps.
pub(super) struct RunSettings {
    pub run_id: Arc<str>,
    pub jobs: usize,
    pub rerun: Rerun,
    pub observer: Option<Observer>,
    pub memory_budget: usize,
    pub catalog: Option<Arc<dyn Catalog>>,
    pub snapshot: Option<Arc<Snapshot>>,
    pub config: Arc<ConfigFile>,
    pub tag: Option<Arc<str>>,
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    pub leases: crate::materialize::lease::LeaseSettings,
    pub listener: Option<SharedListener>,
}

/// What every step task needs.
struct Shared {
    graph: Arc<AssetGraph>,
    io: IoManagers,
    plan: Arc<Plan>,
    run_id: Arc<str>,
    rerun: Rerun,
    catalog: Option<Arc<dyn Catalog>>,
    snapshot: Option<Arc<Snapshot>>,
    config: Arc<ConfigFile>,
    tag: Option<Arc<str>>,
    leases: crate::materialize::lease::LeaseSettings,
    /// The leases taken at the start of the run.
    run_leases: Option<lease::RunLeases>,
    listener: Option<SharedListener>,
}

/// Runs every step of `plan`; returns their reports in plan order.
pub(super) async fn execute(
    graph: Arc<AssetGraph>,
    io: IoManagers,
    plan: Arc<Plan>,
    settings: RunSettings,
) -> Vec<StepReport> {
    let n = plan.len();
    let run_leases = match &settings.catalog {
        Some(catalog) => take_run_leases(catalog, &settings, &plan).await,
        None => None,
    };
    let shared = Arc::new(Shared {
        graph,
        io,
        plan: plan.clone(),
        run_id: settings.run_id,
        rerun: settings.rerun,
        catalog: settings.catalog.clone(),
        snapshot: settings.snapshot.clone(),
        config: settings.config.clone(),
        tag: settings.tag.clone(),
        leases: settings.leases,
        run_leases,
        listener: settings.listener.clone(),
    });
    let mut waiting_on: Vec<usize> = plan
        .steps()
        .iter()
        .map(|s| s.inputs.iter().filter(|i| i.producer.is_some()).count())
        .collect();
    let mut blocked_by: Vec<Option<String>> = vec![None; n];
    let mut produced: Vec<Option<String>> = vec![None; n];
    let mut reports: Vec<Option<StepReport>> = vec![None; n];
    // Ready steps start by rank (the partition order asked for), then plan
    // order: a min-heap.
    let mut ready: BinaryHeap<Reverse<(u64, usize)>> = (0..n)
        .filter(|&s| waiting_on[s] == 0)
        .map(|s| Reverse((plan.steps()[s].rank, s)))
        .collect();
    let mut running = JoinSet::new();
    let mut task_step = HashMap::new();
    // Each finished step: its report, its output, and the number of its
    // last attempt (for the catalog's failure record).
    let mut finished: Vec<(usize, StepReport, Option<Payload>, u32)> = Vec::new();
    let mut cache = OutputCache::new(settings.memory_budget, &plan);

    loop {
        while running.len() < settings.jobs {
            let Some(Reverse((_, s))) = ready.pop() else {
                break;
            };
            if super::is_cancelled(settings.cancel.as_deref()) {
                finished.push((
                    s,
                    skipped(&shared, s, "the run was cancelled".into()),
                    None,
                    1,
                ));
                continue;
            }
            if let Some(reason) = blocked_by[s].take() {
                finished.push((s, skipped(&shared, s, reason), None, 1));
                continue;
            }
            let step = &plan.steps()[s];
            let known: Vec<Option<String>> = step
                .inputs
                .iter()
                .map(|i| i.producer.and_then(|p| produced[p].clone()))
                .collect();
            let held: Vec<Option<Payload>> = step
                .inputs
                .iter()
                .map(|i| i.producer.and_then(|p| cache.take_for_consumer(p)))
                .collect();
            let task_shared = shared.clone();
            let handle = running.spawn(async move {
                // A panic anywhere in the step (the asset's async body, an IO
                // manager) is that step's failure, not the run's.
                match AssertUnwindSafe(run_step(&task_shared, s, known, held))
                    .catch_unwind()
                    .await
                {
                    Ok(done) => done,
                    Err(panic) => (
                        failed(
                            &task_shared,
                            s,
                            Instant::now(),
                            format!("panicked: {}", panic_message(&*panic)),
                        ),
                        None,
                        1,
                    ),
                }
            });
            task_step.insert(handle.id(), s);
        }
        if finished.is_empty() {
            match running.join_next_with_id().await {
                Some(Ok((id, (report, output, attempt)))) => {
                    if let Some(s) = task_step.remove(&id) {
                        finished.push((s, report, output, attempt));
                    }
                }
                Some(Err(e)) => {
                    if let Some(s) = task_step.remove(&e.id()) {
                        let report = failed(&shared, s, Instant::now(), format!("aborted: {e}"));
                        finished.push((s, report, None, 1));
                    }
                }
                None => break,
            }
        }
        for (s, report, output, attempt) in finished.drain(..) {
            if report.status == StepStatus::Failed {
                let finished_at = chrono::Utc::now();
                let started_at = chrono::Duration::from_std(report.duration)
                    .ok()
                    .and_then(|d| finished_at.checked_sub_signed(d))
                    .unwrap_or(finished_at);
                let error = report.message.clone().unwrap_or_default();
                record_failure(&shared, s, attempt, &error, started_at);
            }
            let ok = matches!(report.status, StepStatus::Materialized | StepStatus::Fresh);
            if ok {
                produced[s] = report.data_version.clone();
            }
            if let Some(output) = output {
                cache.offer(s, output);
            }
            for &d in plan.dependents(s) {
                if !ok && blocked_by[d].is_none() {
                    blocked_by[d] = Some(report.status.blocking_reason(&step_name(&shared, s)));
                }
                waiting_on[d] -= 1;
                if waiting_on[d] == 0 {
                    ready.push(Reverse((plan.steps()[d].rank, d)));
                }
            }
            if let Some(observer) = &settings.observer {
                observer(&report);
            }
            reports[s] = Some(report);
        }
        if running.is_empty() && ready.is_empty() {
            break;
        }
    }
    reports
        .into_iter()
        .enumerate()
        .map(|(s, r)| r.unwrap_or_else(|| skipped(&shared, s, "not reached".into())))
        .collect()
}

/// Takes the leases of the steps the run will surely write (never
/// materialized, last attempt failed, or forced) in a few transactions; the
/// other steps take theirs one by one if they turn out stale. Without them
/// (the catalog refused), every step takes its own.
async fn take_run_leases(
    catalog: &Arc<dyn Catalog>,
    settings: &RunSettings,
    plan: &Plan,
) -> Option<lease::RunLeases> {
    let snapshot = settings.snapshot.as_deref();
    let keys: Vec<PartKey> = plan
        .steps()
        .iter()
        .map(|step| part_key(&step.location))
        .filter(|key| {
            settings.rerun.force
                || snapshot
                    .is_none_or(|s| !s.latest.contains_key(key) || s.failed.contains_key(key))
        })
        .collect();
    match lease::RunLeases::take(
        catalog.clone(),
        settings.leases,
        settings.run_id.clone(),
        settings.tag.as_deref().map(str::to_owned),
        keys,
    )
    .await
    {
        Ok(leases) => Some(leases),
        Err(e) => {
            tracing::warn!("{e}; steps take their leases one by one");
            None
        }
    }
}

/// Reports what a run would do, without running anything.
pub(super) async fn dry_run(
    graph: &AssetGraph,
    io: &IoManagers,
    plan: &Plan,
    rerun: Rerun,
    snapshot: Option<&Snapshot>,
    config: &ConfigFile,
) -> Vec<StepReport> {
    let mut will_run = vec![false; plan.len()];
    let mut versions: Vec<Option<String>> = vec![None; plan.len()];
    let mut reports = Vec::with_capacity(plan.len());
    for (s, step) in plan.steps().iter().enumerate() {
        let started = Instant::now();
        let rerun_upstream = step.inputs.iter().find_map(|i| {
            i.producer
                .filter(|&p| will_run[p])
                .map(|_| graph.asset(i.asset).key.clone())
        });
        let known: Vec<Option<String>> = step
            .inputs
            .iter()
            .map(|i| i.producer.and_then(|p| versions[p].clone()))
            .collect();
        let (status, rows, version, message) = if let Some(up) = rerun_upstream {
            (
                StepStatus::WouldRun,
                None,
                None,
                format!("upstream {up} will rerun"),
            )
        } else {
            match freshness(graph, io, step, &known, rerun, snapshot, config).await {
                Ok(Freshness::Fresh(record)) => (
                    StepStatus::Fresh,
                    Some(record.rows),
                    Some(record.data_version),
                    String::new(),
                ),
                Ok(Freshness::Stale { reason, .. }) => (StepStatus::WouldRun, None, None, reason),
                Err(e) => (StepStatus::WouldRun, None, None, e),
            }
        };
        will_run[s] = status == StepStatus::WouldRun;
        versions[s] = version.clone();
        let def = graph.asset(step.asset);
        reports.push(StepReport {
            asset: def.key.clone(),
            partition: step.partition.as_ref().map(|p| p.as_str().to_owned()),
            status,
            rows,
            data_version: version,
            duration: started.elapsed(),
            message: (!message.is_empty()).then_some(message),
        });
    }
    reports
}

/// Whether a step's last materialization is still valid.
enum Freshness {
    Fresh(Box<MaterializationRecord>),
    Stale {
        reason: String,
        inputs: Vec<InputVersion>,
    },
}

/// Decides whether `step` must run. `known` holds the data versions of inputs
/// produced earlier in this run; the others are read from their sidecars.
async fn freshness(
    graph: &AssetGraph,
    io: &IoManagers,
    step: &Step,
    known: &[Option<String>],
    rerun: Rerun,
    snapshot: Option<&Snapshot>,
    config: &ConfigFile,
) -> Result<Freshness, String> {
    let mut inputs = Vec::with_capacity(step.inputs.len());
    for (input, known) in step.inputs.iter().zip(known) {
        let upstream = graph.asset(input.asset);
        let data_version = match known {
            Some(v) => v.clone(),
            None => {
                let upstream_io = io_of(io, &upstream.io_manager)?;
                let record = match snapshot {
                    Some(snap) => Ok(snap.latest.get(&part_key(&input.location)).cloned()),
                    None => read_record(upstream_io.as_ref(), &input.location).await,
                }?;
                match record {
                    Some(r) => r.data_version,
                    None => {
                        let own = graph.asset(step.asset);
                        return Err(match (input.location.partition(), &step.partition) {
                            // Partitioned otherwise (a month reading its
                            // days): the upstream's partitions first, then
                            // this one; each command is one the CLI takes.
                            (Some(_), Some(ours)) if upstream.partitions != own.partitions => {
                                let mut theirs = step
                                    .inputs
                                    .iter()
                                    .filter(|i| i.asset == input.asset)
                                    .filter_map(|i| i.location.partition());
                                let first = theirs.next().unwrap_or_default();
                                let last = theirs.next_back().unwrap_or(first);
                                format!(
                                    "upstream {} has not been materialized: materialize its partitions first (materialize --select {} --from {first} --to {last}), then this one (materialize --select {} --partition {ours})",
                                    input.location, upstream.key, own.key
                                )
                            }
                            // Another partition (Prev, Window): a backfill
                            // from the earlier of the two brings both.
                            (Some(theirs), Some(ours)) if theirs != ours.as_str() => {
                                let (from, to) = if theirs < ours.as_str() {
                                    (theirs, ours.as_str())
                                } else {
                                    (ours.as_str(), theirs)
                                };
                                format!(
                                    "upstream {} has not been materialized: backfill from it (materialize --select +{} --from {from} --to {to})",
                                    input.location, own.key
                                )
                            }
                            _ => format!(
                                "upstream {} has not been materialized: materialize it first, or select it too (--select +{})",
                                input.location, own.key
                            ),
                        });
                    }
                }
            }
        };
        inputs.push(InputVersion {
            asset: upstream.key.clone(),
            partition: input.location.partition().map(str::to_owned),
            data_version,
        });
    }
    if rerun.force {
        return Ok(Freshness::Stale {
            reason: "forced".into(),
            inputs,
        });
    }
    let def = graph.asset(step.asset);
    let own_io = io_of(io, &def.io_manager)?;
    let own = match snapshot {
        Some(snap) => {
            let key = part_key(&step.location);
            if let Some(error) = snap.failed.get(&key) {
                return Ok(Freshness::Stale {
                    reason: format!("its last attempt failed: {error}"),
                    inputs,
                });
            }
            match snap.latest.get(&key) {
                Some(record) => Ok(Some(record.clone())),
                // Published, but the process died before the catalog
                // committed it: the sidecar beside the data has it.
                None => read_record(own_io.as_ref(), &step.location).await,
            }
        }
        None => read_record(own_io.as_ref(), &step.location).await,
    };
    let reason = match own {
        Ok(None) => "never materialized".to_owned(),
        Err(e) => format!("previous provenance unreadable ({e})"),
        Ok(Some(record)) => match record.stale_reason(
            &def.code_version,
            config_hash(def, config).as_deref(),
            &inputs,
        ) {
            Some(reason) => reason,
            // The record alone is not enough: the value it describes must
            // still be there (someone may have deleted the file).
            None if def.payload_kind == PayloadKind::Nothing => {
                return Ok(Freshness::Fresh(Box::new(record)));
            }
            // The rule `status` applies too (`stored_value.rs`).
            None => {
                let stored = match own_io.published(&step.location).await {
                    Ok(published) => crate::stored_value::reason(&record, published),
                    Err(e) => Some(crate::staleness::Reason::StoredValueUnreadable {
                        error: e.to_string(),
                    }),
                };
                let stored = match stored {
                    None if rerun.verify => {
                        crate::stored_value::rehash(own_io.as_ref(), &step.location, &record).await
                    }
                    stored => stored,
                };
                match stored {
                    None => return Ok(Freshness::Fresh(Box::new(record))),
                    Some(reason) => reason.to_string(),
                }
            }
        },
    };
    Ok(Freshness::Stale { reason, inputs })
}

async fn read_record(
    io: &dyn io_managers::IoManager,
    location: &io_managers::Location,
) -> Result<Option<MaterializationRecord>, String> {
    match io.load_sidecar(location).await {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => MaterializationRecord::from_json(&bytes)
            .map(Some)
            .map_err(|e| {
                format!(
                    "provenance sidecar of {} does not parse: {e}",
                    io.uri(location)
                )
            }),
        Err(e) => Err(e.to_string()),
    }
}

fn io_of<'a>(
    io: &'a IoManagers,
    name: &str,
) -> Result<&'a Arc<dyn io_managers::IoManager>, String> {
    io.get(name)
        .ok_or_else(|| format!("IO manager {name:?} is not registered"))
}

/// Runs one step to its report, its output if it computed one, and the
/// number of its last attempt.
async fn run_step(
    shared: &Shared,
    s: usize,
    known: Vec<Option<String>>,
    held: Vec<Option<Payload>>,
) -> (StepReport, Option<Payload>, u32) {
    let started = Instant::now();
    let mut attempt = 1;
    let mut announced = false;
    match try_step(shared, s, &known, held, &mut attempt, &mut announced).await {
        Ok((report, output)) => (report, output, attempt),
        Err(message) => {
            if let Some(to) = &shared.listener {
                let step = step_info(shared, s);
                if !announced {
                    to.step_started(&step);
                }
                to.step_failed(&step, &message);
            }
            (failed(shared, s, started, message), None, attempt)
        }
    }
}

/// Step `s` as listeners see it.
fn step_info(shared: &Shared, s: usize) -> listener::StepInfo<'_> {
    listener::step_info(
        &shared.graph,
        &shared.io,
        &shared.plan,
        s,
        &shared.run_id,
        shared.tag.as_deref(),
    )
}

/// Runs one step; `attempt` is kept at the number of the current attempt at
/// the asset function (retried after transient errors under the asset's
/// [`RetryPolicy`](crate::retry::RetryPolicy)); `announced` is set once
/// listeners were told the step started.
async fn try_step(
    shared: &Shared,
    s: usize,
    known: &[Option<String>],
    held: Vec<Option<Payload>>,
    attempt: &mut u32,
    announced: &mut bool,
) -> Result<(StepReport, Option<Payload>), String> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let step = &shared.plan.steps()[s];
    let def = shared.graph.asset(step.asset);
    let key = part_key(&step.location);
    let mut decided = freshness(
        &shared.graph,
        &shared.io,
        step,
        known,
        shared.rerun,
        shared.snapshot.as_deref(),
        &shared.config,
    )
    .await?;
    // With a catalog, a step that will write first takes its
    // asset-partition's lease (another process may be on it), and decides
    // again from storage if the catalog moved on since the snapshot: see
    // `lease.rs`. The guard renews the lease until the end of this function,
    // then releases it behind what the step recorded.
    let mut leased_latest = None;
    let lease = match &shared.catalog {
        Some(catalog)
            if lease::needed(
                matches!(decided, Freshness::Fresh(_)),
                shared.snapshot.as_deref(),
                &key,
            ) =>
        {
            let target = lease::Target {
                asset: def.key.clone(),
                partition: step.partition.as_ref().map(|p| p.as_str().to_owned()),
                tag: shared.tag.as_deref().map(str::to_owned),
                name: step_name(shared, s),
            };
            let claimed = shared.run_leases.as_ref().and_then(|run| {
                run.claim(
                    &key,
                    lease::Target {
                        asset: target.asset.clone(),
                        partition: target.partition.clone(),
                        tag: target.tag.clone(),
                        name: target.name.clone(),
                    },
                )
            });
            let (guard, latest) = match claimed {
                Some(claimed) => claimed,
                None => {
                    lease::acquire(
                        catalog.clone(),
                        shared.leases,
                        target,
                        shared.run_id.clone(),
                    )
                    .await?
                }
            };
            if lease::changed(
                shared.snapshot.as_deref(),
                &key,
                shared.tag.as_deref(),
                latest.as_ref(),
            ) {
                decided = freshness(
                    &shared.graph,
                    &shared.io,
                    step,
                    known,
                    shared.rerun,
                    None,
                    &shared.config,
                )
                .await?;
            }
            leased_latest = Some(latest);
            Some(guard)
        }
        _ => {
            // Fresh: a lease the run took for it is not needed.
            if let Some(run) = &shared.run_leases {
                run.release_unclaimed(&key);
            }
            None
        }
    };
    let (reason, input_versions) = match decided {
        Freshness::Fresh(record) => {
            let recorded = match &leased_latest {
                Some(latest) => latest.as_ref().is_some_and(|l| lease::same(l, &record)),
                None => shared
                    .snapshot
                    .as_ref()
                    .is_some_and(|snapshot| snapshot.latest.contains_key(&key)),
            };
            if let (Some(catalog), Some(_)) = (&shared.catalog, &shared.snapshot)
                && !recorded
                && let Err(e) = catalog.record_materialization(&record)
            {
                tracing::warn!(
                    "cannot record the recovered materialization of {} in the catalog: {e}",
                    step_name(shared, s)
                );
            }
            let fresh = report(
                shared,
                s,
                StepStatus::Fresh,
                Some(record.rows),
                Some(record.data_version),
                started,
                None,
            );
            return Ok((fresh, None));
        }
        Freshness::Stale { reason, inputs } => (reason, inputs),
    };
    if let Some(to) = &shared.listener {
        to.step_started(&step_info(shared, s));
        *announced = true;
    }
    lease::sweep_staged(
        io_of(&shared.io, &def.io_manager)?.as_ref(),
        &step.location,
        lease.is_some(),
    )
    .await;

    // One input per dependency parameter, holding its upstream partitions
    // (those still in memory from this run are handed over as they are).
    let mut held = held;
    let mut inputs = Vec::with_capacity(step.params.len());
    for param in &step.params {
        let io = io_of(&shared.io, &shared.graph.asset(param.asset).io_manager)?.clone();
        let locations = step.inputs[param.inputs.clone()]
            .iter()
            .map(|i| i.location.clone())
            .collect();
        let mut input = Input::new(io, locations);
        for (k, i) in param.inputs.clone().enumerate() {
            if let Some(payload) = held.get_mut(i).and_then(Option::take) {
                input = input.with_preloaded(k, payload);
            }
        }
        inputs.push(input);
    }
    let context = AssetContext::new(
        &def.key,
        step.partition.clone(),
        None,
        shared.run_id.clone(),
    )
    .with_window(
        step.partition
            .as_ref()
            .and_then(|p| def.partitions.window(p)),
    )
    .with_code_version(def.code_version.as_str());
    let config = def.takes_config.then(|| shared.config.config_for(&def.key));
    let policy = def.retry;
    let max_attempts = policy.max_attempts();
    // Jitter is deterministic per step and run.
    let mut rng = StepRng::from_text(&format!("{}@{}", step.location, shared.run_id));
    let payload = loop {
        let attempt_started = chrono::Utc::now();
        let mut step_input = StepInput::new(context.clone(), inputs.clone());
        if let Some(config) = &config {
            step_input = step_input.with_config(config.clone());
        }
        // A panic is the step's failure and is never retried.
        let outcome = AssertUnwindSafe(async { (def.compute)(step_input).await })
            .catch_unwind()
            .await;
        let error = match outcome {
            Ok(Ok(payload)) => break payload,
            Ok(Err(e)) if e.is_transient() && *attempt < max_attempts => {
                let error = e.to_string();
                record_failure(shared, s, *attempt, &error, attempt_started);
                let delay = policy.delay(*attempt, &mut rng);
                tracing::warn!(
                    "{}: attempt {} of {max_attempts} failed ({error}); retrying in {delay:?}",
                    step_name(shared, s),
                    *attempt
                );
                tokio::time::sleep(delay).await;
                *attempt += 1;
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(panic) => format!("panicked: {}", panic_message(&*panic)),
        };
        return Err(if *attempt > 1 {
            format!("failed after {} attempts: {error}", *attempt)
        } else {
            error
        });
    };
    let reason = if *attempt > 1 {
        format!(
            "{reason}; succeeded on attempt {} of {max_attempts}",
            *attempt
        )
    } else {
        reason
    };
    // Write, audit, publish: contract, row rules and checks before `store`.
    let (payload, reason) = super::audit::audit(
        super::audit::AuditStep {
            def,
            location: &step.location,
            run_id: &shared.run_id,
            tag: shared.tag.as_deref(),
            io: io_of(&shared.io, &def.io_manager)?,
            catalog: shared.catalog.as_ref(),
            snapshot: shared.snapshot.as_deref(),
        },
        payload,
        reason,
    )
    .await?;

    let data_version = data_version_of(&payload)
        .map_err(|e| format!("cannot hash the output: {e}"))?
        .to_string();
    let own_io = io_of(&shared.io, &def.io_manager)?;
    // The record is written with the value (in a Parquet file's footer), so
    // it is complete before the value is published: its `uri` and `rows`
    // are known ahead, and `bytes` is filled from the receipt (a file cannot
    // hold its own size; readers of the footer take it from the object).
    let mut record = MaterializationRecord {
        asset: def.key.clone(),
        partition: step.partition.as_ref().map(|p| p.as_str().to_owned()),
        run_id: shared.run_id.to_string(),
        code_version: def.code_version.clone(),
        data_version: data_version.clone(),
        inputs: input_versions,
        uri: own_io.uri(&step.location),
        rows: payload.num_rows(),
        bytes: 0,
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        framework_version: env!("CARGO_PKG_VERSION").to_owned(),
        config_hash: config_hash(def, &shared.config),
        // The commit the asset's code was built from; run-time assets fall
        // back to the working directory's commit, asked of git only then
        // (once per process), so an `#[asset]`-only run spawns no process.
        git_commit: def.source.map_or_else(
            || crate::provenance::git_commit().to_owned(),
            |s| s.git_commit.to_owned(),
        ),
        schema: match &payload {
            Payload::Table(t) => Some(crate::check::drift::schema_text(&t.schema)),
            _ => None,
        },
        tag: shared.tag.as_deref().map(str::to_owned),
        promoted_from: None,
    };
    let provenance = record
        .to_json()
        .map_err(|e| format!("cannot encode provenance: {e}"))?;
    match &payload {
        // A unit asset has no value: its record is all there is.
        Payload::Nothing => own_io
            .store_sidecar(&step.location, &provenance)
            .await
            .map_err(|e| format!("cannot write provenance: {e}"))?,
        value => {
            let receipt = own_io
                .publish(&step.location, value, &provenance)
                .await
                .map_err(|e| format!("cannot write the output: {e}"))?;
            record.uri = receipt.uri;
            record.rows = receipt.rows;
            record.bytes = receipt.bytes;
        }
    }
    if let Some(catalog) = &shared.catalog {
        // Queued: the catalog's writer commits it in a batch; errors surface
        // when the run flushes at its end.
        catalog
            .record_materialization(&record)
            .map_err(|e| format!("cannot record provenance in the catalog: {e}"))?;
    }
    if let Some(to) = &shared.listener {
        let schema = match &payload {
            Payload::Table(t) => Some(t.schema.as_ref()),
            _ => None,
        };
        to.step_materialized(
            &step_info(shared, s),
            &StepOutput {
                record: &record,
                schema,
            },
        );
    }
    let done = report(
        shared,
        s,
        StepStatus::Materialized,
        Some(record.rows),
        Some(data_version),
        started,
        Some(reason),
    );
    Ok((done, Some(payload)))
}

/// Outputs of this run's steps held in memory until their last in-run
/// consumer has started, within a byte budget. Values are the ones just
/// published, so a consumer sees exactly what a reload would give.
struct OutputCache {
    budget: usize,
    used: usize,
    held: HashMap<usize, (Payload, usize)>,
    consumers_left: Vec<usize>,
}

impl OutputCache {
    fn new(budget: usize, plan: &Plan) -> Self {
        Self {
            budget,
            used: 0,
            held: HashMap::new(),
            consumers_left: (0..plan.len()).map(|s| plan.dependents(s).len()).collect(),
        }
    }

    /// Keeps step `s`'s output if a later step reads it and it fits.
    fn offer(&mut self, s: usize, output: Payload) {
        if self.consumers_left[s] == 0 {
            return;
        }
        let size = payload_size(&output);
        if self.used + size <= self.budget {
            self.used += size;
            self.held.insert(s, (output, size));
        }
    }

    /// The output of step `s` for one of its consumers; released after the last.
    fn take_for_consumer(&mut self, s: usize) -> Option<Payload> {
        self.consumers_left[s] = self.consumers_left[s].saturating_sub(1);
        if self.consumers_left[s] == 0 {
            let (payload, size) = self.held.remove(&s)?;
            self.used -= size;
            Some(payload)
        } else {
            self.held.get(&s).map(|(p, _)| p.clone())
        }
    }
}

/// Memory held by a payload (Arrow buffers; a rough figure for documents).
fn payload_size(payload: &Payload) -> usize {
    match payload {
        Payload::Table(t) => t.batches.iter().map(|b| b.get_array_memory_size()).sum(),
        Payload::Document(_) => 4096,
        Payload::Nothing => 0,
    }
}

/// The hash of an asset's configuration section, if it takes configuration.
pub(crate) fn config_hash(
    def: &crate::asset::definition::AssetDef,
    config: &ConfigFile,
) -> Option<String> {
    def.takes_config.then(|| config.hash_for(&def.key))
}

/// The catalog key of a location.
fn part_key(location: &io_managers::Location) -> PartKey {
    (
        location.asset().to_owned(),
        location.partition().map(str::to_owned),
    )
}

/// Records failed attempt number `attempt` (from 1) at step `s`, which
/// started at `started_at` and failed with `error`, in the catalog, if there
/// is one.
fn record_failure(
    shared: &Shared,
    s: usize,
    attempt: u32,
    error: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) {
    let Some(catalog) = &shared.catalog else {
        return;
    };
    let step = &shared.plan.steps()[s];
    let failure = FailureRecord {
        run_id: shared.run_id.to_string(),
        asset: shared.graph.asset(step.asset).key.clone(),
        partition: step.partition.as_ref().map(|p| p.as_str().to_owned()),
        tag: shared.tag.as_deref().map(str::to_owned),
        attempt,
        error: error.to_owned(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
    };
    if let Err(e) = catalog.record_failure(&failure) {
        tracing::warn!(
            "cannot record the failure of {} in the catalog: {e}",
            step_name(shared, s)
        );
    }
}

fn step_name(shared: &Shared, s: usize) -> String {
    shared.plan.steps()[s].location.to_string()
}

fn report(
    shared: &Shared,
    s: usize,
    status: StepStatus,
    rows: Option<u64>,
    data_version: Option<String>,
    started: Instant,
    message: Option<String>,
) -> StepReport {
    let step = &shared.plan.steps()[s];
    StepReport {
        asset: shared.graph.asset(step.asset).key.clone(),
        partition: step.partition.as_ref().map(|p| p.as_str().to_owned()),
        status,
        rows,
        data_version,
        duration: started.elapsed(),
        message,
    }
}

fn failed(shared: &Shared, s: usize, started: Instant, message: String) -> StepReport {
    report(
        shared,
        s,
        StepStatus::Failed,
        None,
        None,
        started,
        Some(message),
    )
}

fn skipped(shared: &Shared, s: usize, reason: String) -> StepReport {
    report(
        shared,
        s,
        StepStatus::Skipped,
        None,
        None,
        Instant::now(),
        Some(reason),
    )
}
