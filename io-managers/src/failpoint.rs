//! Fail points: named places where crash tests kill the process.
//!
//! `ASSETFLOW_FAILPOINT=NAME` (or `NAME@N`, the N-th time the point is
//! reached, from 1) makes the process abort on the spot when it reaches the
//! point named `NAME`: no destructor runs, no buffer is flushed, exactly as
//! after a SIGKILL. The variable is read once; with it unset, [`hit`] costs
//! one atomic load.
//!
//! The points:
//!
//! | name | where |
//! | --- | --- |
//! | `parquet.before_write` | a Parquet store begins: nothing written yet |
//! | `parquet.mid_write` | a streamed Parquet write has staged bytes (a multipart upload in progress), nothing published |
//! | `parquet.after_publish` | the data file is published, its sidecar not yet written |
//! | `sidecar.after_publish` | a sidecar is published (the catalog record not yet committed) |
//! | `catalog.before_commit` | inside the catalog transaction recording materializations, before `COMMIT` |

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the armed point.
pub const ENV_VAR: &str = "ASSETFLOW_FAILPOINT";

/// Every point the code has, for tests and documentation.
pub const POINTS: &[&str] = &[
    "parquet.before_write",
    "parquet.mid_write",
    "parquet.after_publish",
    "sidecar.after_publish",
    "catalog.before_commit",
];

/// The armed point: its name, on which hit it fires, and the hits so far.
#[derive(Debug)]
struct Armed {
    name: String,
    on_hit: u64,
    hits: AtomicU64,
}

fn armed_point() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var(ENV_VAR).ok().and_then(|v| parse(&v)))
        .as_ref()
}

/// `NAME` or `NAME@N`; `None` for an empty value. A count that does not
/// parse arms nothing rather than firing at a place the test did not mean.
fn parse(value: &str) -> Option<Armed> {
    let value = value.trim();
    let (name, on_hit) = match value.rsplit_once('@') {
        Some((name, n)) => (name, n.parse::<u64>().ok().filter(|&n| n > 0)?),
        None => (value, 1),
    };
    (!name.is_empty()).then(|| Armed {
        name: name.to_owned(),
        on_hit,
        hits: AtomicU64::new(0),
    })
}

/// Whether `name` is the armed point (to prepare a crash worth testing,
/// e.g. let staged bytes reach the disk first).
pub fn armed(name: &str) -> bool {
    armed_point().is_some_and(|a| a.name == name)
}

/// Aborts the process if `name` is the armed point and this is the hit it
/// waits for; does nothing otherwise.
pub fn hit(name: &str) {
    let Some(armed) = armed_point() else {
        return;
    };
    if armed.name != name {
        return;
    }
    let n = armed.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if n == armed.on_hit {
        // One line on stderr so a test log says why the process died.
        eprintln!("fail point {name} (hit {n}): aborting");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_alone_fires_on_the_first_hit() {
        let armed = parse("parquet.after_publish").expect("armed");
        assert_eq!(armed.name, "parquet.after_publish");
        assert_eq!(armed.on_hit, 1);
    }

    #[test]
    fn a_count_fires_on_that_hit() {
        let armed = parse(" catalog.before_commit@3 ").expect("armed");
        assert_eq!(armed.name, "catalog.before_commit");
        assert_eq!(armed.on_hit, 3);
    }

    #[test]
    fn empty_or_bad_counts_arm_nothing() {
        assert!(parse("").is_none());
        assert!(parse("x@0").is_none());
        assert!(parse("x@two").is_none());
        assert!(parse("@2").is_none());
    }

    #[test]
    fn unarmed_points_do_nothing() {
        // The test process has no ASSETFLOW_FAILPOINT: hitting any point
        // returns (were it armed, this test would abort).
        if std::env::var_os(ENV_VAR).is_none() {
            for point in POINTS {
                hit(point);
                assert!(!armed(point));
            }
        }
    }
}
