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

/// Runs the CLI in-process over this file's assets (`cfg_scaled` takes config).
fn cli(root: &std::path::Path, config: &std::path::Path, args: &[&str]) -> std::process::ExitCode {
    let mut all = vec![
        "t".to_owned(),
        "--root".into(),
        root.display().to_string(),
        "--config".into(),
        config.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    asset_core::cli::App::new().run_with_args(all)
}

#[test]
fn an_unknown_section_warns_and_is_an_error_with_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("assets.toml");
    std::fs::write(
        &config,
        "[cfg_scaled]\nfactor = 1.0\n[cfg_scaeld]\nfactor = 2.0\n",
    )
    .expect("w");
    let root = dir.path().join("data");
    assert_eq!(
        cli(&root, &config, &["status"]),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        cli(&root, &config, &["--strict", "status"]),
        std::process::ExitCode::from(2)
    );
}

#[test]
fn a_named_config_file_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nonexistent").join("cfg.toml");
    assert_eq!(
        cli(&dir.path().join("data"), &missing, &["status"]),
        std::process::ExitCode::from(2)
    );
}

#[test]
fn an_unknown_key_inside_a_section_warns_and_is_an_error_with_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("assets.toml");
    std::fs::write(&config, "[cfg_scaled]\nfactor = 1.0\nfactr = 2.0\n").expect("w");
    let root = dir.path().join("data");
    assert_eq!(
        cli(&root, &config, &["status"]),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        cli(&root, &config, &["--strict", "status"]),
        std::process::ExitCode::from(2)
    );
    // The warning names file, line, key and the field meant.
    let file = asset_core::config::ConfigFile::load(&config).expect("parses");
    let registry = asset_core::asset::registry::Registry::from_inventory().expect("registry");
    let def = registry
        .assets()
        .iter()
        .find(|d| d.key == "cfg_scaled")
        .expect("registered");
    let unknown: Vec<String> = def
        .config_keys(&file.config_for("cfg_scaled"))
        .expect("fits")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unknown,
        [format!(
            "{}:3: key `factr` in [cfg_scaled] is read by no field of asset \"cfg_scaled\"'s configuration (did you mean `factor`?)",
            config.display()
        )]
    );
}

#[test]
fn an_unknown_key_in_the_alerts_section_is_refused_naming_line_and_known_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("assets.toml");
    std::fs::write(
        &config,
        "[cfg_scaled]\nfactor = 1.0\n\n[alerts]\nP1 = [{ type = \"command\", program = \"/bin/true\", tiemout = \"1s\" }]\n",
    )
    .expect("w");
    let root = dir.path().join("data");
    assert_eq!(
        cli(&root, &config, &["materialize"]),
        std::process::ExitCode::from(2)
    );
    let file = asset_core::config::ConfigFile::load(&config).expect("parses");
    let err = asset_core::alert::routing::AlertRoutes::from_config(&file)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("assets.toml:5: [alerts]")
            && err.contains("tiemout")
            && err.contains("timeout"),
        "{err}"
    );
}
