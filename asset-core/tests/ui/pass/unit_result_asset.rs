//! Side-effect-only assets: `()`, nothing, or `Result<()>`. They can read
//! upstream assets, and no `Asset` impl is made for `()` (so several coexist).
use asset_core::prelude::*;

#[derive(Table)]
pub struct Report(RecordBatch);

#[asset]
fn report() -> Report {
    Report(RecordBatch::new_empty(std::sync::Arc::new(
        asset_core::arrow_schema::Schema::empty(),
    )))
}

#[asset]
fn email_report(report: Report) -> Result<()> {
    let _ = report;
    Ok(())
}

#[asset]
async fn ping() {}

#[asset]
fn touch() -> () {}

#[asset]
fn upload(_report: Report) -> std::result::Result<(), std::fmt::Error> {
    Ok(())
}

fn main() {}
