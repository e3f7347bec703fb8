use asset_core::prelude::*;

#[derive(Table)]
pub struct Clicks(RecordBatch);

#[asset]
fn clicks() -> Clicks {
    unimplemented!()
}

#[asset_check(severity = fatal)]
fn bad_severity(clicks: &Clicks) -> CheckOutcome {
    let _ = clicks;
    CheckOutcome::pass()
}

#[asset_check]
fn by_value(clicks: Clicks) -> CheckOutcome {
    let _ = clicks;
    CheckOutcome::pass()
}

#[asset_check]
async fn asynchronous(clicks: &Clicks) -> CheckOutcome {
    let _ = clicks;
    CheckOutcome::pass()
}

#[asset_check]
fn returns_bool(clicks: &Clicks) -> bool {
    clicks.0.num_rows() > 0
}

fn main() {}
