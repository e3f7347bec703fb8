use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[asset(partitions = daily("2024-01-01"), sla = "6 hours")]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

fn main() {}
