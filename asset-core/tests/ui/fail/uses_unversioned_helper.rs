use asset_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Score {
    pub value: f64,
}

/// A helper without #[versioned]: its code cannot be part of a version.
fn normalize(x: f64) -> f64 {
    x / 100.0
}

#[versioned]
fn clamp(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

#[asset(io = "json", uses = [clamp, normalize])]
fn score() -> Score {
    Score {
        value: clamp(normalize(42.0)),
    }
}

fn main() {}
