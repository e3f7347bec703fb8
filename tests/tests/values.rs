//! Asset values through the Parquet IO manager: what a user's types become on
//! disk and come back as.

use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, RecordBatch, StringArray, TimestampMillisecondArray};
use asset_core::Table;
use asset_core::io::{IoManager, Location, ParquetIoManager, StorageRoot};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Row {
    id: i64,
    name: Option<String>,
    tags: Vec<String>,
    score: f64,
    active: bool,
    seen_at: chrono::DateTime<chrono::Utc>,
    nested: Option<Vec<Option<i32>>>,
}

#[derive(Debug, Table)]
struct Rows(Vec<Row>);

/// Only self-describing field types: the schema traces from the type alone.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct PlainRow {
    id: i64,
    name: Option<String>,
    tags: Vec<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Table)]
struct PlainRows(Vec<PlainRow>);

#[derive(Debug, Table)]
struct Batch(RecordBatch);

fn roundtrip<T: Table>(value: T) -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let io = ParquetIoManager::new(StorageRoot::local(dir.path()).expect("root"));
    let location = Location::new("values", Some("2024-01-01")).expect("location");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let payload = asset_core::io::Payload::Table(value.into_table().expect("to table"));
    rt.block_on(io.store(&location, &payload)).expect("store");
    match rt.block_on(io.load(&location)).expect("load") {
        asset_core::io::Payload::Table(t) => T::from_table(t).expect("from table"),
        other => panic!("expected a table, got {:?}", other.kind()),
    }
}

fn day(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("valid timestamp")
}

#[test]
fn serde_rows_round_trip_with_nulls_lists_and_timestamps() {
    let rows = vec![
        Row {
            id: 1,
            name: Some("ä-unicode ✓".into()),
            tags: vec!["a".into(), "b".into()],
            score: 0.25,
            active: true,
            seen_at: day("2024-01-01T10:00:00Z"),
            nested: Some(vec![Some(1), None, Some(3)]),
        },
        Row {
            id: 2,
            name: None,
            tags: vec![],
            score: f64::MIN_POSITIVE,
            active: false,
            seen_at: day("2024-01-01T23:59:59.123Z"),
            nested: None,
        },
    ];
    let back = roundtrip(Rows(rows.clone()));
    assert_eq!(back.0, rows);
}

#[test]
fn empty_row_table_round_trips_with_its_columns() {
    let table = PlainRows(Vec::new()).into_table().expect("to table");
    assert_eq!(table.schema.fields().len(), 4);
    let back = roundtrip(PlainRows(Vec::new()));
    assert!(back.0.is_empty());
}

#[test]
fn timestamps_as_milliseconds_round_trip() {
    let rows = vec![PlainRow {
        id: 7,
        name: None,
        tags: vec!["x".into()],
        at: day("2024-02-29T12:34:56.789Z"),
    }];
    assert_eq!(roundtrip(PlainRows(rows.clone())).0, rows);
}

#[test]
fn empty_table_of_a_type_that_cannot_be_traced_is_a_clear_error() {
    let err = Rows(Vec::new())
        .into_table()
        .expect_err("chrono strings do not trace");
    assert!(
        err.to_string()
            .contains("cannot derive an Arrow schema for an empty table"),
        "{err}"
    );
}

#[test]
fn record_batch_with_decimals_timestamps_and_nulls_round_trips() {
    let decimals = Decimal128Array::from(vec![Some(12345), None, Some(-1)])
        .with_precision_and_scale(10, 2)
        .expect("valid precision");
    let times = TimestampMillisecondArray::from(vec![Some(0), Some(1_704_067_200_000), None])
        .with_timezone("Europe/Paris");
    let names = StringArray::from(vec![Some("x"), None, Some("")]);
    let batch = RecordBatch::try_from_iter([
        ("amount", Arc::new(decimals) as ArrayRef),
        ("at", Arc::new(times) as ArrayRef),
        ("name", Arc::new(names) as ArrayRef),
    ])
    .expect("valid batch");
    let back = roundtrip(Batch(batch.clone()));
    assert_eq!(back.0, batch);
}
