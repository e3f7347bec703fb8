//! Async assets, with and without inputs and errors.
use asset_core::prelude::*;

#[derive(Table)]
pub struct Raw(RecordBatch);

#[derive(Table)]
pub struct Clean(Vec<RecordBatch>);

#[asset]
async fn raw() -> Result<Raw> {
    Ok(Raw(RecordBatch::new_empty(std::sync::Arc::new(
        asset_core::arrow_schema::Schema::empty(),
    ))))
}

#[asset(io = "parquet")]
pub async fn clean(raw: Raw, _ctx: &AssetContext) -> std::result::Result<Clean, std::io::Error> {
    Ok(Clean(vec![raw.0]))
}

fn main() {}
