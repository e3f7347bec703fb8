use asset_core::prelude::*;

/// Neither Serialize nor Deserialize.
pub struct Model {
    pub weights: Vec<f64>,
}

#[asset(io = "json")]
fn model() -> Result<Model> {
    Ok(Model { weights: vec![] })
}

fn main() {}
