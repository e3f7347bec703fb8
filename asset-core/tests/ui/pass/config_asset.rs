//! Assets taking configuration: `Config<C>` anywhere among the parameters.
use asset_core::prelude::*;

#[derive(serde::Deserialize)]
pub struct Settings {
    pub learning_rate: f64,
    #[serde(default)]
    pub layers: Vec<u32>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub rate: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Click {
    pub user: u64,
}

#[derive(Table)]
pub struct Clicks(Vec<Click>);

#[asset]
fn clicks() -> Clicks {
    Clicks(vec![Click { user: 1 }])
}

/// Configuration only.
#[asset(io = "json")]
fn model(settings: Config<Settings>) -> Model {
    Model {
        rate: settings.learning_rate * settings.layers.len() as f64,
    }
}

/// Configuration between the context and a dependency, in an async asset.
#[asset(io = "json", name = "tuned")]
async fn tuned_model(
    ctx: &AssetContext,
    settings: asset_core::Config<Settings>,
    clicks: Clicks,
) -> Result<()> {
    let _ = (ctx.run_id(), settings.0.learning_rate, clicks.0.len());
    Ok(())
}

fn main() {
    // Still a plain function.
    let _ = model(Config(Settings {
        learning_rate: 0.1,
        layers: vec![],
    }));
}
