use asset_core::prelude::*;

mod rules {
    use asset_core::prelude::*;

    #[versioned]
    pub fn normalize(x: f64) -> f64 {
        x / 100.0
    }
}

#[asset(uses = [normalise, rules::normalise])]
fn score() {
    let _ = rules::normalize(1.0);
}

fn main() {}
