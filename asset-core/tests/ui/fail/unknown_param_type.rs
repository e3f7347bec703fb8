use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

/// Not returned by any #[asset] function.
#[derive(Table)]
pub struct RawClicks(RecordBatch);

#[asset]
fn sessions(ctx: &AssetContext, clicks: RawClicks) -> Result<Sessions> {
    let _ = ctx;
    Ok(Sessions(clicks.0))
}

fn main() {}
