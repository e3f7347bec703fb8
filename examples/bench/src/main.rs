//! Benchmarks, run with `cargo run --release -p bench -- all` (or one of
//! `layered`, `steps`, `concurrency`, `status`, `throughput`, `backfill`,
//! `checks`, `million`, `daemon`, `site`).
//!
//! Figures are wall-clock times on the machine at hand; each benchmark prints
//! its setup so the numbers can be compared with the book's performance page.

mod backfill;
mod checks;
mod concurrency;
mod daemon;
mod graphs;
mod layered;
mod measure;
mod million;
mod site;
mod status;
mod steps;
mod throughput;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["all"] => layered::run()
            .and_then(|()| steps::run())
            .and_then(|()| concurrency::run())
            .and_then(|()| status::run())
            .and_then(|()| throughput::run())
            .and_then(|()| backfill::run())
            .and_then(|()| checks::run())
            .and_then(|()| million::run())
            .and_then(|()| daemon::run())
            .and_then(|()| site::run()),
        ["layered"] => layered::run(),
        ["backfill"] => backfill::run(),
        ["million"] => million::run(),
        ["steps"] => steps::run(),
        ["concurrency"] => concurrency::run(),
        ["throughput"] => throughput::run(),
        ["status"] => status::run(),
        ["checks"] => checks::run(),
        ["daemon"] => daemon::run(),
        ["site"] => site::run(),
        // Child processes the benchmarks spawn to measure cold whole-process
        // runs and per-process peak memory.
        ["child-layered", root] => layered::child(root),
        ["child-plan"] => backfill::child_plan(),
        ["child-million", root, which] => million::child(root, which),
        ["child-site", root, out] => site::child(root, out),
        ["child-backfill", root] => backfill::child_backfill(root),
        ["child-throughput", mode, dir] => throughput::child(mode, dir),
        _ => Err(format!(
            "usage: bench [all|layered|steps|concurrency|status|throughput|backfill|checks|million|daemon|site], got {args:?}"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
