//! A misspelled option, partition kind or time setting names the closest
//! known one.
use asset_core::prelude::*;

#[derive(Table)]
pub struct Orders(RecordBatch);

#[asset(retires = 3)]
fn orders(ctx: &AssetContext) -> Result<Orders> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Visits(RecordBatch);

#[asset(partitions = dialy("2024-01-01"))]
fn visits(ctx: &AssetContext) -> Result<Visits> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Clicks(RecordBatch);

#[asset(partitions = daily(start = "2024-01-01", timezon = "UTC"))]
fn clicks(ctx: &AssetContext) -> Result<Clicks> {
    let _ = ctx;
    todo!()
}

fn main() {}
