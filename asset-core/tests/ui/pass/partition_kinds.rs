//! Every kind of partitions and every mapping wrapper compiles, and the
//! registry builds the definitions they describe.
use asset_core::prelude::*;

#[derive(Table)]
pub struct Readings(RecordBatch);

#[derive(Table)]
pub struct Regional(RecordBatch);

#[derive(Table)]
pub struct Invoices(RecordBatch);

#[derive(Table)]
pub struct Monthly(RecordBatch);

#[derive(Table)]
pub struct Totals(RecordBatch);

#[derive(Table)]
pub struct Latest7(RecordBatch);

#[asset(partitions = hourly(start = "2024-01-01-00:00", end = "2025-01-01", timezone = "Europe/Berlin", end_offset = 1))]
fn readings(ctx: &AssetContext) -> Result<Readings> {
    let _ = ctx.window();
    todo!()
}

#[asset(partitions = multi(daily("2024-01-01", timezone = "America/New_York"), static(["eu", "us"])))]
fn regional(ctx: &AssetContext) -> Result<Regional> {
    let _ = ctx;
    todo!()
}

#[asset(partitions = dynamic("customers"))]
fn invoices(ctx: &AssetContext) -> Result<Invoices> {
    let _ = ctx;
    todo!()
}

#[asset(partitions = monthly("2024-01-01", format = "%Y-%m"))]
fn monthly(days: All<Regional>) -> Result<Monthly> {
    let _ = days.len();
    todo!()
}

#[asset(partitions = weekly("2024-01-01"))]
fn totals(previous: Prev<Totals>) -> Result<Totals> {
    let _ = previous.value();
    todo!()
}

#[asset]
fn latest7(latest: Latest<Monthly>, week: Window<Totals, 7>) -> Result<Latest7> {
    let _ = (latest.partition(), week.is_full());
    todo!()
}

fn main() {
    let registry = asset_core::Registry::from_inventory().expect("valid definitions");
    let describe = |key: &str| registry.get(key).expect("registered").partitions.describe();
    assert!(describe("readings").contains("Europe/Berlin"), "{}", describe("readings"));
    assert!(describe("regional").contains("eu"), "{}", describe("regional"));
    assert!(describe("invoices").contains("customers"), "{}", describe("invoices"));
}
