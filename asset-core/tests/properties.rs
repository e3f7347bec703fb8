//! Property tests (bounded: they run in `cargo test`): asset selections and
//! partition keys typed by a user never panic the parsers, and a key any
//! partition definition accepts is a safe storage path segment.

use asset_core::graph::Selection;
use asset_core::partition::PartitionsDef;
use proptest::prelude::*;

fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("+".to_owned()),
        Just(",".to_owned()),
        Just("*".to_owned()),
        Just("|".to_owned()),
        Just("-".to_owned()),
        Just(":".to_owned()),
        Just("\u{202e}".to_owned()),
        Just(" ".to_owned()),
        Just("2024-01-01".to_owned()),
        Just("2024-11-03-01:00".to_owned()),
        Just("-0500".to_owned()),
        Just("-05:00".to_owned()),
        any::<char>().prop_map(String::from),
        "[a-z0-9]{1,4}".prop_map(|s| s),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

fn definitions() -> Vec<PartitionsDef> {
    let hourly = PartitionsDef::hourly("2024-11-01")
        .and_then(|p| p.with_timezone("America/New_York"))
        .expect("hourly");
    vec![
        PartitionsDef::daily("2024-01-01").expect("daily"),
        PartitionsDef::weekly("2024-01-01").expect("weekly"),
        PartitionsDef::monthly("2024-01-01").expect("monthly"),
        hourly.clone(),
        PartitionsDef::static_keys(&["eu", "us"]).expect("static"),
        PartitionsDef::multi(hourly, PartitionsDef::static_keys(&["eu"]).expect("static"))
            .expect("multi"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn selections_never_panic(text in nasty()) {
        let _ = Selection::parse(&text);
    }

    #[test]
    fn an_accepted_partition_key_is_a_safe_location(key in nasty()) {
        for def in definitions() {
            if let Ok(valid) = def.validate("events", &key) {
                let location = asset_core::io::Location::new("events", Some(valid.as_str()));
                prop_assert!(location.is_ok(), "{def:?} accepted {key:?}: {location:?}");
            }
        }
    }
}
