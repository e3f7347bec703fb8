use asset_core::prelude::*;

#[asset]
pub struct Sessions(RecordBatch);

fn main() {}
