use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[asset(partitions = daily("2024-02-30"))]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

fn main() {}
