use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[asset(partitions = daily("2024-01-01"), schedule = "0 25 * * *")]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

fn main() {}
