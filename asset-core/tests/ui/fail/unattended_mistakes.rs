use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

// A lower-case severity, a misspelled automation, catch-up without a
// schedule: each reported at its token, all at once.
#[asset(severity = p1, automation = eagre, catchup = true)]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Clicks(RecordBatch);

#[asset(schedule = "@daily", max_catchup = 3, severity = P9)]
fn clicks(ctx: &AssetContext) -> Result<Clicks> {
    let _ = ctx;
    todo!()
}

fn main() {}
