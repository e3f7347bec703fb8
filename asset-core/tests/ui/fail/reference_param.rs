use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[derive(Table)]
pub struct Users(RecordBatch);

#[asset]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

#[asset]
fn users(sessions: &Sessions) -> Result<Users> {
    Ok(Users(sessions.0.clone()))
}

fn main() {}
