use asset_core::prelude::*;

/// Has no #[derive(Table)].
pub struct Sessions {
    pub count: u64,
}

#[asset]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    Ok(Sessions { count: 0 })
}

fn main() {}
