//! An asset with a contract and two checks.
use asset_core::arrow_schema::DataType;
use asset_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Click {
    pub user: u64,
}

#[derive(Table)]
pub struct Clicks(Vec<Click>);

fn clicks_contract() -> DataContract {
    DataContract::new()
        .column("user", DataType::UInt64)
        .min_rows(1)
}

/// Clicks landed from the web tier.
#[asset(partitions = daily("2024-01-01"), contract = clicks_contract)]
fn clicks() -> Clicks {
    Clicks(vec![Click { user: 1 }])
}

#[asset_check(severity = warn, name = "enough_clicks")]
fn few_clicks(clicks: &Clicks) -> CheckOutcome {
    CheckOutcome::expect(clicks.0.len() > 10, || format!("{} clicks", clicks.0.len()))
}

#[asset_check]
fn users_are_set(clicks: &Clicks) -> Result<(), String> {
    if clicks.0.iter().all(|c| c.user > 0) {
        Ok(())
    } else {
        Err("user 0".into())
    }
}

fn main() {
    // Still plain functions.
    assert!(!few_clicks(&clicks()).passed());
    assert!(users_are_set(&clicks()).is_ok());
}
