use asset_core::prelude::*;

#[derive(Table)]
pub struct Tiers(RecordBatch);

#[asset(partitions = static(["free", "tier=pro"]))]
fn tiers(ctx: &AssetContext) -> Result<Tiers> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Shops(RecordBatch);

#[asset(partitions = multi(daily("2024-01-01"), static(["eu"], name = "shop-region")))]
fn shops(ctx: &AssetContext) -> Result<Shops> {
    let _ = ctx;
    todo!()
}

fn main() {}
