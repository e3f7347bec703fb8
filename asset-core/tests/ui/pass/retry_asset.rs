//! Retry options: `retries`, `backoff` and `jitter` end up in the asset's
//! `RetryPolicy`; `jitter` defaults to full.
use std::time::Duration;

use asset_core::prelude::*;
use asset_core::{Jitter, Registry, RetryPolicy};

#[derive(Table)]
pub struct Pages(RecordBatch);

#[asset(retries = 3, backoff = exponential(base = "250ms", max = "2m"), jitter = equal)]
fn pages(ctx: &AssetContext) -> Result<Pages> {
    let _ = ctx.idempotency_key();
    Err(AssetError::transient("the source timed out"))
}

#[asset(retries = 2)]
fn defaults(pages: Pages) -> Result<()> {
    let _ = pages;
    Ok(())
}

#[asset]
fn once(ctx: &AssetContext) -> Result<()> {
    let _ = ctx;
    Ok(())
}

fn main() {
    let registry = Registry::from_inventory().expect("valid registry");
    let policy = |key: &str| registry.get(key).expect("registered").retry;
    assert_eq!(
        policy("pages"),
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(250),
            max: Duration::from_secs(120),
            jitter: Jitter::Equal,
        }
    );
    assert_eq!(
        policy("defaults"),
        RetryPolicy::retries(2)
            .with_backoff(Duration::from_secs(1), Duration::from_secs(300))
            .with_jitter(Jitter::Full)
    );
    assert_eq!(policy("once"), RetryPolicy::none());
}
