//! `io = "json"` stores any serde value as a document: no `Table` needed.
use asset_core::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub weights: Vec<f64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Score(f64);

/// A trained model.
#[asset(io = "json")]
fn model() -> Result<Model> {
    Ok(Model { weights: vec![0.5] })
}

#[asset(io = "json", name = "model_score")]
async fn score(model: Model) -> Score {
    Score(model.weights.iter().sum())
}

fn main() {}
