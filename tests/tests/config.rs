//! `Config<C>` parameters: read from assets.toml, part of the version.

use asset_core::materialize::StepStatus;
use asset_core::prelude::*;
use asset_core::testing::TestPipeline;

#[derive(serde::Deserialize)]
struct Settings {
    factor: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CfgScaled {
    value: f64,
}

/// A value scaled by its configured factor.
#[asset(io = "json")]
fn cfg_scaled(settings: Config<Settings>) -> Result<CfgScaled> {
    Ok(CfgScaled {
        value: 2.0 * settings.factor,
    })
}

#[test]
fn config_section_reaches_the_asset_and_a_change_makes_it_stale() {
    let p = TestPipeline::new()
        .expect("pipeline")
        .with_config("[cfg_scaled]\nfactor = 1.5\n")
        .expect("valid config");
    let first = p.materialize("cfg_scaled", None).expect("runs");
    assert!(first.succeeded(), "{}", first.summary_table());
    assert_eq!(p.read::<CfgScaled>(None).expect("read").value, 3.0);

    // Reordering or commenting does not change the hash: still fresh.
    let p = p
        .with_config("# the factor\n[cfg_scaled]\nfactor   =   1.5\n")
        .expect("valid config");
    let again = p.materialize("cfg_scaled", None).expect("runs");
    assert_eq!(again.steps[0].status, StepStatus::Fresh);

    let p = p
        .with_config("[cfg_scaled]\nfactor = 2.0\n")
        .expect("valid config");
    let changed = p.materialize("cfg_scaled", None).expect("runs");
    let step = &changed.steps[0];
    assert_eq!(step.status, StepStatus::Materialized);
    assert!(
        step.message
            .as_deref()
            .unwrap_or("")
            .starts_with("config changed"),
        "{:?}",
        step.message
    );
    assert_eq!(p.read::<CfgScaled>(None).expect("read").value, 4.0);
}

#[test]
fn a_type_error_in_the_config_is_a_usage_error_naming_line_and_asset() {
    let p = TestPipeline::new()
        .expect("pipeline")
        .with_config("[cfg_scaled]\nfactor = \"big\"\n")
        .expect("valid toml");
    let err = p.materialize("cfg_scaled", None).expect_err("bad type");
    assert!(err.is_usage());
    let msg = err.to_string();
    assert!(
        msg.contains("assets.toml:2") && msg.contains("cfg_scaled"),
        "{msg}"
    );
}
