use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

#[asset]
fn sessions<T: Table>(input: T) -> Result<Sessions> {
    let _ = input;
    todo!()
}

#[derive(Table)]
pub struct Users(RecordBatch);

#[asset]
fn users(input: impl Table) -> Result<Users> {
    let _ = input;
    todo!()
}

fn main() {}
