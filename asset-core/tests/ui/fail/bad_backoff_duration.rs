use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[asset(retries = 3, backoff = exponential(base = "1sec", max = "5m"))]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

fn main() {}
