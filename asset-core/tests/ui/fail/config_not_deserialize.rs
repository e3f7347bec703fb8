use asset_core::prelude::*;

/// Not `serde::Deserialize`.
pub struct Settings {
    pub rate: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub rate: f64,
}

#[asset(io = "json")]
fn model(settings: Config<Settings>) -> Model {
    Model {
        rate: settings.rate,
    }
}

fn main() {}
