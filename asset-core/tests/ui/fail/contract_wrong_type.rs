use asset_core::prelude::*;

#[derive(Table)]
pub struct Clicks(RecordBatch);

/// Returns a row count, not a contract.
fn clicks_contract() -> u64 {
    1
}

#[asset(contract = clicks_contract)]
fn clicks() -> Clicks {
    unimplemented!()
}

fn main() {}
