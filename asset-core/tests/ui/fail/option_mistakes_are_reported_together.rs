//! Both mistakes are reported at once, and the asset is still defined, so
//! `users`, which reads it, compiles without a cascade of errors.
use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[derive(Table)]
pub struct Users(RecordBatch);

#[asset(partitions = daily("2024-13-01"), colour = 3)]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

#[asset]
fn users(sessions: Sessions) -> Result<Users> {
    Ok(Users(sessions.0))
}

fn main() {}
