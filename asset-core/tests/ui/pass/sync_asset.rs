//! A sync asset reading an upstream asset.
use asset_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Click {
    pub user: u64,
}

#[derive(Table)]
pub struct Clicks(Vec<Click>);

#[derive(Table)]
pub struct Users(Vec<Click>);

/// Clicks landed from the web tier.
#[asset(partitions = daily("2024-01-01"))]
fn clicks() -> Clicks {
    Clicks(vec![Click { user: 1 }])
}

/// Users who clicked.
#[asset(partitions = daily("2024-01-01"), code_version = "1")]
fn users(clicks: Clicks) -> Result<Users> {
    Ok(Users(clicks.0))
}

fn main() {
    // Still a plain function.
    let _ = users(clicks());
}
