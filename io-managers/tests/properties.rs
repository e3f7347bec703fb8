//! Property tests (bounded: they run in `cargo test`): whatever a user or an
//! attacker types as a partition key, a tag or a root URL, parsing never
//! panics and every storage path stays under its root.

use io_managers::{Location, StorageRoot, validate_key, validate_tag};
use proptest::prelude::*;

/// Strings biased towards the characters that make paths escape or lie:
/// separators, dots, percent escapes, NUL, bidi controls, whitespace.
fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("\0".to_owned()),
        Just("\u{202e}".to_owned()),
        Just(" ".to_owned()),
        Just("|".to_owned()),
        Just("_".to_owned()),
        Just("данные".to_owned()),
        Just("2024-01-01".to_owned()),
        any::<char>().prop_map(String::from),
        "[a-z0-9]{1,4}".prop_map(|s| s),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

/// Whether a store path has a segment that climbs or is empty.
fn climbs(path: &str) -> bool {
    path.split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_accepted_partition_key_is_stored_under_its_asset(key in nasty()) {
        let root = StorageRoot::parse("memory://lake").expect("memory root");
        if let Ok(location) = Location::new("events", Some(&key)) {
            let path = root.path_for(&location, "data.parquet");
            let text = path.as_ref();
            prop_assert!(text.starts_with("lake/events/"), "{text}");
            prop_assert!(!climbs(text), "{text}");
            prop_assert_eq!(location.segments().len(), 1 + key.split('|').count());
        }
    }

    #[test]
    fn an_accepted_tag_is_an_accepted_key_spelled_as_itself(tag in nasty()) {
        if validate_tag(&tag).is_ok() {
            prop_assert!(validate_key("tag", &tag).is_ok());
            prop_assert!(tag.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)));
            let root = StorageRoot::parse("memory://").expect("memory root");
            let tagged = root.with_tag(&tag).expect("valid tag");
            // Percent-encoding would change the folder's name: it must not.
            prop_assert_eq!(tagged.prefix().as_ref(), format!("_tags/{tag}"));
        }
    }

    #[test]
    fn root_urls_never_panic_and_never_climb(rest in nasty(), scheme in prop_oneof![
        Just("file:///nonexistent-assetflow-root/"),
        Just("memory://"),
        Just("file://"),
        Just("s3://bucket/"),
        Just(""),
    ]) {
        let given = format!("{scheme}{rest}");
        // Reading only: nothing is created whatever is given.
        if let Ok(Some(root)) = StorageRoot::parse_existing(&given)
            && let Some(dir) = root.local_dir()
        {
            prop_assert!(dir.exists());
        }
        if given.contains("://") {
            let decoded = given.to_ascii_lowercase().replace("%2e", ".");
            let path = decoded.split_once("://").map_or("", |(_, p)| p);
            let path = path.split(['?', '#']).next().unwrap_or("");
            if path.split(['/', '\\']).any(|s| s == "..") {
                prop_assert!(StorageRoot::parse_existing(&given).is_err(), "{given}");
            }
        }
        prop_assert!(!std::path::Path::new("/nonexistent-assetflow-root").exists());
    }
}
