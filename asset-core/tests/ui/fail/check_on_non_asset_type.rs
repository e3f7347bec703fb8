use asset_core::prelude::*;

/// No #[asset] function returns this.
#[derive(Table)]
pub struct Orphans(RecordBatch);

#[asset_check]
fn orphans_are_few(orphans: &Orphans) -> CheckOutcome {
    CheckOutcome::expect(orphans.0.num_rows() < 10, || "too many".into())
}

fn main() {}
