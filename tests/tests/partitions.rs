//! Partition kinds end to end: storage layout of static and multi keys,
//! dynamic keys from the catalog, coarser-from-finer (`All`), time zones,
//! and the errors for keys that do not exist.

use std::path::Path;
use std::process::ExitCode;

use asset_core::catalog::{Catalog, SqliteCatalog};
use asset_core::cli::App;
use asset_core::{AssetDef, PartitionMapping, PartitionsDef};
use integration_tests::fixtures::{self, Behaviour};

fn run(root: &Path, assets: Vec<AssetDef>, args: &[&str]) -> ExitCode {
    let root = root.to_str().expect("utf-8 temp dir");
    let mut all = vec!["fixture", "--root", root, "-q"];
    all.extend_from_slice(args);
    App::from_assets(assets).run_with_args(all)
}

fn catalog(root: &Path) -> SqliteCatalog {
    SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog opens")
}

fn asset(key: &str, deps: &[&str], partitions: PartitionsDef) -> AssetDef {
    fixtures::asset(key, deps, partitions, &Behaviour::ok(5))
}

#[test]
fn static_and_multi_keys_get_one_folder_level_per_dimension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let regions = || {
        PartitionsDef::static_keys(&["eu", "us"])
            .and_then(|p| p.with_dimension("region"))
            .expect("static")
    };
    let multi = PartitionsDef::multi(fixtures::daily(), regions()).expect("multi");
    let assets = || {
        vec![
            asset("orders", &[], multi.clone()),
            asset("region_config", &[], regions()),
            // A multi asset reads the same key, its region's config and its day.
            asset("enriched", &["orders", "region_config"], multi.clone()),
            // A daily asset reads every region of its day.
            asset("daily_total", &[], fixtures::daily())
                .with_mapped_dependency("enriched", PartitionMapping::All),
        ]
    };
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "region_config",
                "--from",
                "eu",
                "--to",
                "us"
            ]
        ),
        ExitCode::SUCCESS
    );
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "orders,enriched",
                "--from",
                "2024-01-01|eu",
                "--to",
                "2024-01-02|us"
            ],
        ),
        ExitCode::SUCCESS
    );
    for day in ["2024-01-01", "2024-01-02"] {
        for region in ["eu", "us"] {
            assert!(
                dir.path()
                    .join("enriched")
                    .join(format!("day={day}"))
                    .join(format!("region={region}"))
                    .join("part-0.parquet")
                    .is_file(),
                "{day}|{region}"
            );
        }
    }
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "daily_total",
                "--partition",
                "2024-01-02"
            ]
        ),
        ExitCode::SUCCESS
    );
    let record = catalog(dir.path())
        .latest("daily_total", Some("2024-01-02"), None)
        .expect("latest")
        .expect("materialized");
    let read: Vec<_> = record
        .inputs
        .iter()
        .filter_map(|i| i.partition.clone())
        .collect();
    assert_eq!(read, ["2024-01-02|eu", "2024-01-02|us"]);
    // A static key that does not exist.
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "region_config",
                "--partition",
                "apac"
            ]
        ),
        ExitCode::from(2)
    );
}

#[test]
fn a_monthly_asset_reads_the_days_of_its_month() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assets = || {
        vec![
            asset("events", &[], fixtures::daily()),
            asset(
                "monthly_report",
                &[],
                PartitionsDef::monthly("2024-01-01").expect("monthly"),
            )
            .with_mapped_dependency("events", PartitionMapping::All),
        ]
    };
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "events",
                "--from",
                "2024-02-01",
                "--to",
                "2024-02-29"
            ]
        ),
        ExitCode::SUCCESS
    );
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &[
                "materialize",
                "--select",
                "monthly_report",
                "--partition",
                "2024-02-01"
            ]
        ),
        ExitCode::SUCCESS
    );
    let record = catalog(dir.path())
        .latest("monthly_report", Some("2024-02-01"), None)
        .expect("latest")
        .expect("materialized");
    assert_eq!(record.inputs.len(), 29, "the days of a leap February");
    assert_eq!(record.inputs[0].partition.as_deref(), Some("2024-02-01"));
    assert_eq!(record.inputs[28].partition.as_deref(), Some("2024-02-29"));
    // A monthly asset cannot read days as `T`: refused when the graph is built.
    let wrong = vec![
        asset("events", &[], fixtures::daily()),
        asset(
            "monthly_report",
            &["events"],
            PartitionsDef::monthly("2024-01-01").expect("monthly"),
        ),
    ];
    assert_eq!(run(dir.path(), wrong, &["list"]), ExitCode::from(2));
}

#[test]
fn dynamic_keys_come_from_the_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assets = || {
        vec![asset(
            "invoices",
            &[],
            PartitionsDef::dynamic("customers").expect("dynamic"),
        )]
    };
    // Not added yet: a usage error, and nothing is written.
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["materialize", "--partition", "acme"]
        ),
        ExitCode::from(2)
    );
    assert!(!dir.path().join("invoices").exists());
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["partitions", "add", "customers", "acme", "globex"]
        ),
        ExitCode::SUCCESS
    );
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["materialize", "--from", "acme", "--to", "globex"]
        ),
        ExitCode::SUCCESS
    );
    assert!(
        dir.path()
            .join("invoices/customers=globex/part-0.parquet")
            .is_file()
    );
    assert_eq!(
        catalog(dir.path())
            .partition_keys("customers")
            .expect("keys"),
        ["acme", "globex"]
    );
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["partitions", "remove", "customers", "acme"]
        ),
        ExitCode::SUCCESS
    );
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["materialize", "--partition", "acme"]
        ),
        ExitCode::from(2)
    );
    // A key that cannot be a folder name is refused when added.
    assert_eq!(
        run(
            dir.path(),
            assets(),
            &["partitions", "add", "customers", "../etc"]
        ),
        ExitCode::from(2)
    );
}

#[test]
fn a_timezone_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daily = PartitionsDef::daily("2024-01-01").expect("daily");
    let err = daily
        .with_timezone("Europe/Atlantis")
        .expect_err("no such zone");
    assert!(err.is_usage(), "{err}");
    assert!(err.to_string().contains("Europe/Atlantis"), "{err}");
    // In a zone with daylight saving, the autumn day lasts 25 hours.
    let berlin = PartitionsDef::hourly("2024-10-26")
        .expect("hourly")
        .with_timezone("Europe/Berlin")
        .expect("hourly in Berlin");
    let assets = vec![asset("meter", &[], berlin)];
    assert_eq!(
        run(
            dir.path(),
            assets,
            &[
                "materialize",
                "--from",
                "2024-10-27-00:00",
                "--to",
                "2024-10-27-23:00"
            ],
        ),
        ExitCode::SUCCESS
    );
    let hours = std::fs::read_dir(dir.path().join("meter"))
        .expect("meter folder")
        .count();
    assert_eq!(hours, 25);
}

#[test]
fn partition_on_an_unpartitioned_selection_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assets = vec![asset("lookup", &[], PartitionsDef::Unpartitioned)];
    assert_eq!(
        run(
            dir.path(),
            assets,
            &["materialize", "--partition", "2024-01-01"]
        ),
        ExitCode::from(2)
    );
}
