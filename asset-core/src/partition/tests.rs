//! Tests of [`PartitionsDef`]: constructors, validation, key ranges.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::*;

fn daily() -> PartitionsDef {
    PartitionsDef::daily("2024-01-01").expect("valid start")
}

fn noon(day: &str) -> NaiveDateTime {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid day")
}

fn space(day: &str) -> KeySpace {
    KeySpace::at(noon(day).and_utc())
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid instant")
        .with_timezone(&Utc)
}

fn strings(keys: impl IntoIterator<Item = PartitionKey>) -> Vec<String> {
    keys.into_iter().map(|k| k.as_str().to_owned()).collect()
}

fn key(text: &str) -> PartitionKey {
    PartitionKey::unchecked(text)
}

#[test]
fn a_real_past_day_is_accepted() {
    let key = daily()
        .validate_at("events", "2024-02-29", noon("2024-03-05"))
        .expect("valid");
    assert_eq!(key.as_str(), "2024-02-29");
}

#[test]
fn malformed_day_is_refused_naming_asset_and_format() {
    let err = daily()
        .validate_at("sessions", "2024-13-01", noon("2025-01-01"))
        .expect_err("month 13");
    assert_eq!(
        err.to_string(),
        r#"partition key "2024-13-01" is not a day of asset "sessions": expected YYYY-MM-DD from 2024-01-01"#
    );
    for bad in ["2024-1-1", "20240101", "", "../2024-01-01", "2024-01-01/x"] {
        assert!(
            daily().validate_at("a", bad, noon("2025-01-01")).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn day_before_start_is_refused() {
    let err = daily()
        .validate_at("events", "2023-12-31", noon("2025-01-01"))
        .expect_err("before start");
    assert!(
        err.to_string()
            .contains("before the first partition 2024-01-01"),
        "{err}"
    );
}

#[test]
fn day_that_has_not_ended_is_refused() {
    let err = daily()
        .validate_at("events", "2024-03-05", noon("2024-03-05"))
        .expect_err("today");
    assert_eq!(
        err.to_string(),
        r#"partition key "2024-03-05" is not a complete partition of asset "events": that day has not ended yet (UTC)"#
    );
    assert!(
        daily()
            .validate_at("events", "2024-03-04", noon("2024-03-05"))
            .is_ok()
    );
}

#[test]
fn end_offset_one_includes_the_window_in_progress() {
    let def = daily().with_end_offset(1).expect("time partitions");
    let today = space("2024-03-05");
    assert!(def.validate_in("events", "2024-03-05", &today).is_ok());
    let err = def
        .validate_in("events", "2024-03-06", &today)
        .expect_err("tomorrow");
    assert!(err.to_string().contains("more than 1 day(s) past"), "{err}");
    assert_eq!(
        def.keys(&today).last().map(|k| k.to_string()).as_deref(),
        Some("2024-03-05")
    );
}

#[test]
fn days_at_or_after_the_end_are_refused() {
    let def = daily().with_end("2024-02-01").expect("valid end");
    let later = space("2025-01-01");
    assert!(def.validate_in("e", "2024-01-31", &later).is_ok());
    let err = def
        .validate_in("e", "2024-02-01", &later)
        .expect_err("the end is exclusive");
    assert!(
        err.to_string().contains("at or after the end 2024-02-01"),
        "{err}"
    );
    assert_eq!(def.keys(&later).len(), 31);
}

#[test]
fn keys_until_lists_complete_days_only() {
    let keys = strings(daily().keys_until(noon("2024-01-04")));
    assert_eq!(keys, ["2024-01-01", "2024-01-02", "2024-01-03"]);
    assert_eq!(daily().keys_until(noon("2023-06-01")).count(), 0);
    assert_eq!(
        PartitionsDef::Unpartitioned
            .keys_until(noon("2024-01-04"))
            .count(),
        0
    );
}

#[test]
fn bad_start_is_an_error() {
    let err = PartitionsDef::daily("2024-02-30").expect_err("no such day");
    assert_eq!(
        err.to_string(),
        r#"daily partitions start "2024-02-30" is not a valid day (expected YYYY-MM-DD)"#
    );
    assert!(PartitionsDef::hourly("2024-01-01T00:00").is_err());
    assert!(PartitionsDef::weekly("2024-01-3").is_err());
    assert!(PartitionsDef::monthly("2024-01-15").is_err());
}

#[test]
fn unpartitioned_asset_refuses_keys() {
    let err = PartitionsDef::Unpartitioned
        .validate("m", "2024-01-01")
        .expect_err("no partitions");
    assert_eq!(
        err.to_string(),
        r#"asset "m" is not partitioned, but partition "2024-01-01" was asked for"#
    );
}

#[test]
fn builders_apply_to_time_partitions_only() {
    let statics = PartitionsDef::static_keys(&["eu", "us"]).expect("valid");
    let err = statics.with_timezone("UTC").expect_err("not time");
    assert_eq!(
        err.to_string(),
        "with_timezone applies to hourly, daily, weekly or monthly partitions, not static (eu, us)"
    );
    assert!(PartitionsDef::Unpartitioned.with_end("2024-01-01").is_err());
    assert!(
        PartitionsDef::dynamic("files")
            .and_then(|d| d.with_format("%Y"))
            .is_err()
    );
    assert!(PartitionsDef::Unpartitioned.with_end_offset(1).is_err());
}

#[test]
fn static_keys_are_validated_and_suggested() {
    assert_eq!(
        PartitionsDef::static_keys(&[])
            .expect_err("empty")
            .to_string(),
        "static partitions need at least one key"
    );
    assert!(PartitionsDef::static_keys(&["eu", "eu"]).is_err());
    assert!(PartitionsDef::static_keys(&["a|b"]).is_err());
    assert!(PartitionsDef::static_keys(&["../x"]).is_err());
    let regions = PartitionsDef::static_keys(&["europe", "americas"]).expect("valid");
    let now = KeySpace::now();
    assert_eq!(
        regions
            .validate_in("sales", "americas", &now)
            .map(|k| k.to_string())
            .ok()
            .as_deref(),
        Some("americas")
    );
    let err = regions
        .validate_in("sales", "eurpoe", &now)
        .expect_err("typo");
    assert_eq!(
        err.to_string(),
        r#"partition key "eurpoe" is not a static key of asset "sales": did you mean "europe"? (keys: europe, americas)"#
    );
    let err = regions
        .validate_in("sales", "mars", &now)
        .expect_err("unknown");
    assert!(
        err.to_string()
            .ends_with("expected one of europe, americas"),
        "{err}"
    );
    assert_eq!(regions.describe(), "static (europe, americas)");
}

fn daily_by_region() -> PartitionsDef {
    PartitionsDef::multi(
        daily(),
        PartitionsDef::static_keys(&["eu", "us"]).expect("valid"),
    )
    .expect("valid")
}

#[test]
fn multi_keys_join_a_day_and_a_region() {
    let def = daily_by_region();
    let space = space("2024-01-03");
    assert_eq!(
        strings(def.keys(&space)),
        [
            "2024-01-01|eu",
            "2024-01-01|us",
            "2024-01-02|eu",
            "2024-01-02|us"
        ]
    );
    assert!(def.validate_in("sales", "2024-01-02|us", &space).is_ok());
    let err = def
        .validate_in("sales", "2024-01-02", &space)
        .expect_err("no region");
    assert_eq!(
        err.to_string(),
        r#"partition key "2024-01-02" is not a day|key pair of asset "sales": expected YYYY-MM-DD|KEY like 2024-01-01|eu"#
    );
    let err = def
        .validate_in("sales", "2024-01-03|eu", &space)
        .expect_err("today");
    assert!(
        err.to_string().contains("its time part \"2024-01-03\""),
        "{err}"
    );
    let err = def
        .validate_in("sales", "2024-01-02|asia", &space)
        .expect_err("no such region");
    assert!(
        err.to_string().contains("its static part \"asia\""),
        "{err}"
    );
    assert_eq!(def.describe(), "daily from 2024-01-01 × static (eu, us)");
    let window = def.window(&key("2024-01-02|us")).expect("a day");
    assert_eq!(window.start, at("2024-01-02T00:00:00Z"));
}

#[test]
fn multi_takes_time_then_static() {
    let statics = PartitionsDef::static_keys(&["eu"]).expect("valid");
    let err = PartitionsDef::multi(statics.clone(), daily()).expect_err("wrong order");
    assert!(
        err.to_string()
            .starts_with("multi partitions take time partitions and static partitions"),
        "{err}"
    );
    assert!(PartitionsDef::multi(daily(), daily()).is_err());
    assert!(PartitionsDef::multi(PartitionsDef::Unpartitioned, statics).is_err());
}

#[test]
fn previous_of_a_multi_key_keeps_its_region() {
    let def = daily_by_region();
    let space = space("2024-01-05");
    assert_eq!(
        def.previous(&key("2024-01-03|us"), &space)
            .map(|k| k.to_string())
            .as_deref(),
        Some("2024-01-02|us")
    );
    assert_eq!(def.previous(&key("2024-01-01|us"), &space), None);
    assert_eq!(
        daily()
            .previous(&key("2024-01-03"), &space)
            .map(|k| k.to_string())
            .as_deref(),
        Some("2024-01-02")
    );
    assert_eq!(daily().previous(&key("2024-01-01"), &space), None);
}

#[test]
fn dynamic_keys_come_from_the_key_space() {
    let def = PartitionsDef::dynamic("files").expect("valid");
    let empty = KeySpace::now();
    let err = def
        .validate_in("ingest", "a.csv", &empty)
        .expect_err("no keys");
    assert_eq!(
        err.to_string(),
        r#"partition key "a.csv" is not a key of dynamic partitions "files" of asset "ingest": the set has no keys yet"#
    );
    assert!(def.keys(&empty).is_empty());
    let space = KeySpace::now()
        .with_dynamic("files", ["b.csv", "a.csv"])
        .expect("valid");
    assert_eq!(strings(def.keys(&space)), ["b.csv", "a.csv"]);
    assert!(def.validate_in("ingest", "a.csv", &space).is_ok());
    assert!(def.validate_in("ingest", "c.csv", &space).is_err());
    assert_eq!(def.index_of(&key("a.csv"), &space), Some(1));
    assert_eq!(def.describe(), "dynamic \"files\"");
    assert!(PartitionsDef::dynamic("in box").is_err());
}

#[test]
fn range_is_inclusive_and_refuses_backwards_and_unknown_ends() {
    let space = space("2024-02-01");
    let range = daily()
        .range("events", "2024-01-05", "2024-01-07", &space)
        .expect("valid");
    assert_eq!(
        strings(range.iter()),
        ["2024-01-05", "2024-01-06", "2024-01-07"]
    );
    assert_eq!(
        strings(range.iter().rev()),
        ["2024-01-07", "2024-01-06", "2024-01-05"]
    );
    let err = daily()
        .range("events", "2024-01-07", "2024-01-05", &space)
        .expect_err("backwards");
    assert_eq!(
        err.to_string(),
        r#"partition range of asset "events" runs backwards: "2024-01-07" comes after "2024-01-05""#
    );
    assert!(
        daily()
            .range("events", "2023-12-01", "2024-01-05", &space)
            .is_err()
    );
    assert!(
        daily()
            .range("events", "2024-01-05", "2024-03-01", &space)
            .is_err()
    );
    let regions = PartitionsDef::static_keys(&["a", "b", "c"]).expect("valid");
    assert_eq!(
        strings(regions.range("r", "b", "c", &space).expect("valid").iter()),
        ["b", "c"]
    );
    assert!(regions.range("r", "b", "z", &space).is_err());
    assert!(
        PartitionsDef::Unpartitioned
            .range("u", "a", "b", &space)
            .is_err()
    );
}

#[test]
fn a_century_of_hours_is_counted_and_indexed_without_listing_it() {
    let def = PartitionsDef::hourly("1970-01-01-00:00").expect("valid");
    let space = KeySpace::at(at("2070-01-01T00:00:00Z"));
    let keys = def.keys(&space);
    // 100 years of hours, leap days included.
    let hours = (at("2070-01-01T00:00:00Z") - at("1970-01-01T00:00:00Z")).num_hours();
    assert_eq!(keys.len(), hours as u64);
    assert_eq!(keys.len(), 876_600);
    assert_eq!(
        keys.first().map(|k| k.to_string()).as_deref(),
        Some("1970-01-01-00:00")
    );
    assert_eq!(
        keys.last().map(|k| k.to_string()).as_deref(),
        Some("2069-12-31-23:00")
    );
    assert_eq!(
        keys.get(438_300).map(|k| k.to_string()).as_deref(),
        Some("2020-01-01-12:00")
    );
    let middle = def
        .validate_in("ticks", "2020-01-01-12:00", &space)
        .expect("valid");
    assert_eq!(def.index_of(&middle, &space), Some(438_300));
    let range = def
        .range("ticks", "2000-01-01-00:00", "2069-12-31-23:00", &space)
        .expect("valid");
    let since_2000 = (at("2070-01-01T00:00:00Z") - at("2000-01-01T00:00:00Z")).num_hours();
    assert_eq!(range.len(), since_2000 as u64);
    assert_eq!(
        strings(range.iter().rev().take(2)),
        ["2069-12-31-23:00", "2069-12-31-22:00"]
    );
    assert_eq!(strings(range.iter().take(1)), ["2000-01-01-00:00"]);
    assert!(range.contains(&middle));
}

#[test]
fn hourly_keys_in_berlin_are_unique_across_the_fall_back_day() {
    let def = PartitionsDef::hourly("2024-10-27")
        .and_then(|d| d.with_timezone("Europe/Berlin"))
        .expect("valid");
    let space = KeySpace::at(at("2024-10-27T23:00:00Z"));
    let keys = strings(def.keys(&space));
    assert_eq!(keys.len(), 25);
    let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), 25);
    assert!(
        def.validate_in("ticks", "2024-10-27-02:00+01:00", &space)
            .is_ok()
    );
    let window = def.window(&key("2024-10-27-02:00+01:00")).expect("an hour");
    assert_eq!(window.start, at("2024-10-27T01:00:00Z"));
    assert_eq!(window.duration(), TimeDelta::hours(1));
}

#[test]
fn daily_in_a_time_zone_has_23_and_25_hour_days() {
    let def = daily().with_timezone("Europe/Berlin").expect("valid");
    let spring = def.window(&key("2024-03-31")).expect("a day");
    assert_eq!(spring.duration(), TimeDelta::hours(23));
    let fall = def.window(&key("2024-10-27")).expect("a day");
    assert_eq!(fall.duration(), TimeDelta::hours(25));
    assert_eq!(
        def.window_start(&key("2024-10-27")),
        NaiveDate::from_ymd_opt(2024, 10, 27)
    );
    assert_eq!(def.describe(), "daily from 2024-01-01 (Europe/Berlin)");
    // At 02:00 UTC on the 3rd, the 2nd has ended in UTC but not in New York.
    let new_york = daily().with_timezone("America/New_York").expect("valid");
    let late = KeySpace::at(at("2024-01-03T02:00:00Z"));
    assert!(daily().validate_in("e", "2024-01-02", &late).is_ok());
    let err = new_york
        .validate_in("e", "2024-01-02", &late)
        .expect_err("not over in New York");
    assert!(err.to_string().ends_with("(America/New_York)"), "{err}");
}

#[test]
fn window_is_none_for_keys_outside_the_definition() {
    assert!(daily().window(&key("2023-12-31")).is_none());
    assert!(daily().window(&key("nonsense")).is_none());
    assert!(
        PartitionsDef::static_keys(&["eu"])
            .expect("valid")
            .window(&key("eu"))
            .is_none()
    );
    let window = daily().window(&key("2024-01-01")).expect("first day");
    assert_eq!(window.end, at("2024-01-02T00:00:00Z"));
}

#[test]
fn key_at_and_index_of_agree() {
    let monthly = PartitionsDef::monthly("2024-01-01").expect("valid");
    let space = space("2024-06-15");
    assert_eq!(monthly.keys(&space).len(), 5);
    let may = monthly.key_at(4, &space).expect("May");
    assert_eq!(may.as_str(), "2024-05-01");
    assert_eq!(monthly.index_of(&may, &space), Some(4));
    assert_eq!(monthly.key_at(5, &space), None, "June has not ended");
}

#[test]
fn a_month_key_without_its_day_means_the_first() {
    let months = PartitionsDef::monthly("2024-01-01")
        .and_then(|m| m.with_format("%Y-%m"))
        .expect("a month format reads back");
    let s = space("2024-04-15");
    assert_eq!(
        strings(months.keys(&s).iter()),
        ["2024-01", "2024-02", "2024-03"]
    );
    let february = months.validate_in("report", "2024-02", &s).expect("valid");
    let window = months.window(&february).expect("a window");
    assert_eq!(window.local_start.to_string(), "2024-02-01 00:00:00");
    assert_eq!(window.local_end.to_string(), "2024-03-01 00:00:00");
    assert!(months.validate_in("report", "2024-13", &s).is_err());
}

#[test]
fn dimensions_are_named_after_the_period_and_the_static_name() {
    let names = |def: PartitionsDef| def.dimension_names();
    assert_eq!(names(PartitionsDef::Unpartitioned), Vec::<String>::new());
    assert_eq!(
        names(PartitionsDef::hourly("2024-01-01").expect("hourly")),
        ["hour"]
    );
    assert_eq!(
        names(PartitionsDef::daily("2024-01-01").expect("daily")),
        ["day"]
    );
    assert_eq!(
        names(PartitionsDef::weekly("2024-01-01").expect("weekly")),
        ["week"]
    );
    assert_eq!(
        names(PartitionsDef::monthly("2024-01-01").expect("monthly")),
        ["month"]
    );
    let regions = PartitionsDef::static_keys(&["eu", "us"]).expect("static");
    assert_eq!(names(regions.clone()), ["key"]);
    let named = regions.with_dimension("region").expect("named");
    assert_eq!(names(named.clone()), ["region"]);
    let multi = PartitionsDef::multi(PartitionsDef::daily("2024-01-01").expect("daily"), named)
        .expect("multi");
    assert_eq!(names(multi.clone()), ["day", "region"]);
    assert_eq!(
        names(multi.with_dimension("shop").expect("renamed")),
        ["day", "shop"]
    );
    assert_eq!(
        names(PartitionsDef::dynamic("customer-ids").expect("dynamic")),
        ["customer_ids"]
    );
}

#[test]
fn time_dimensions_cannot_be_renamed_and_names_must_be_columns() {
    let err = PartitionsDef::daily("2024-01-01")
        .expect("daily")
        .with_dimension("date")
        .expect_err("time dimensions are named after their period");
    assert!(
        err.to_string()
            .starts_with("with_dimension applies to static or multi partitions"),
        "{err}"
    );
    let err = PartitionsDef::static_keys(&["eu"])
        .expect("static")
        .with_dimension("2nd")
        .expect_err("not a column name");
    assert!(err.to_string().contains("\"2nd\""), "{err}");
}

#[test]
fn a_static_key_with_an_equals_sign_is_refused_where_declared() {
    let err = PartitionsDef::static_keys(&["eu", "tier=pro"]).expect_err("ambiguous");
    assert!(
        err.to_string().contains("would make its Hive folder"),
        "{err}"
    );
}
