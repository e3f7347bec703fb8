use asset_core::prelude::*;

#[derive(Table)]
pub struct Pair(RecordBatch, RecordBatch);

#[derive(Table)]
pub struct Text(String);

#[derive(Table)]
pub enum Either {
    Batch(RecordBatch),
}

fn main() {}
