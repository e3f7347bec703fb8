//! An asset that only takes its context.
use asset_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Day {
    pub key: String,
}

#[derive(Table)]
pub struct Days {
    rows: Vec<Day>,
}

#[asset(partitions = daily("2024-02-29"))]
fn days(ctx: &AssetContext) -> Result<Days> {
    let key = ctx.partition().unwrap_or_default().to_owned();
    Ok(Days {
        rows: vec![Day { key }],
    })
}

#[asset(name = "other_days")]
fn days_again(ctx: &asset_core::AssetContext, days: Days) -> Result<()> {
    let _ = (ctx.run_id(), days.rows.len());
    Ok(())
}

fn main() {}
