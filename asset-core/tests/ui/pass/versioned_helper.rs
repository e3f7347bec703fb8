//! `#[versioned]` helpers named in `uses`: by name, by path, through `use`,
//! transitively, with explicit versions, from async and generic helpers.
use asset_core::prelude::*;

mod rules {
    use asset_core::prelude::*;

    /// A private helper used by a public one.
    #[versioned]
    fn threshold() -> u64 {
        30
    }

    #[versioned(uses = [threshold])]
    pub fn is_gap(minutes: u64) -> bool {
        minutes > threshold()
    }

    #[versioned(version = "2", uses = [is_gap, crate::scale])]
    pub(crate) fn count_gaps(minutes: &[u64]) -> usize {
        minutes.iter().filter(|m| is_gap(crate::scale(**m))).count()
    }

    #[versioned]
    pub async fn fetch_limit() -> usize {
        10
    }

    #[versioned]
    pub fn first<T: Clone>(items: &[T]) -> Option<T> {
        items.first().cloned()
    }
}

mod more {
    use asset_core::prelude::*;

    #[versioned]
    pub fn tidy(x: u64) -> u64 {
        x.min(100)
    }
}

use more::*;
use rules::count_gaps;

#[versioned]
fn scale(x: u64) -> u64 {
    x * 2
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Gaps {
    pub count: usize,
}

#[asset(io = "json", uses = [count_gaps, rules::fetch_limit, rules::first, scale])]
async fn gaps() -> Gaps {
    let limit = rules::fetch_limit().await;
    let first = rules::first(&[1u64, 2]).unwrap_or(0);
    Gaps {
        count: count_gaps(&[first, 45, 10]).min(limit),
    }
}

#[asset(code_version = "3", uses = [self::rules::is_gap, tidy])]
fn report(gaps: Gaps) {
    let _ = (gaps.count, rules::is_gap(tidy(1)));
}

fn main() {
    let _ = report;
}
