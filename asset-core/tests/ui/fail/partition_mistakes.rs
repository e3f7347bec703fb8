use asset_core::prelude::*;

#[derive(Table)]
pub struct Regional(RecordBatch);

#[asset(partitions = static(["eu", "us", "eu"]))]
fn regional(ctx: &AssetContext) -> Result<Regional> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Sales(RecordBatch);

#[asset(partitions = multi(static(["eu"]), daily("2024-01-01")))]
fn sales(ctx: &AssetContext) -> Result<Sales> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Meter(RecordBatch);

#[asset(partitions = hourly("2024-01-01-25:00"))]
fn meter(ctx: &AssetContext) -> Result<Meter> {
    let _ = ctx;
    todo!()
}

fn main() {}
