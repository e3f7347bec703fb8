use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
    TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use super::*;

// ---------------------------------------------------------------- fixtures

fn schema() -> SchemaRef {
    let point = Fields::from(vec![
        Field::new("x", DataType::Int32, false),
        Field::new("label", DataType::Utf8, true),
    ]);
    Arc::new(
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("comment", DataType::LargeUtf8, true),
            Field::new(
                "seen_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into())),
                true,
            ),
            Field::new(
                "loaded_at",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into())),
                false,
            ),
            Field::new("amount", DataType::Decimal128(20, 4), true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                true,
            ),
            Field::new("point", DataType::Struct(point), true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("day", DataType::Date32, true),
            Field::new("score", DataType::Float64, true),
        ])
        .with_metadata(HashMap::from([(
            "owner".to_owned(),
            "analytics".to_owned(),
        )])),
    )
}

/// Rows `start..start + len` of a deterministic table with nulls everywhere
/// nulls are allowed.
fn batch(start: i64, len: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..start + len).collect();
    let null_every = |n: i64| move |i: &i64| i % n != 0;
    let names: StringArray = ids
        .iter()
        .map(|i| null_every(7)(i).then(|| format!("name-{i}")))
        .collect();
    let comments: LargeStringArray = ids
        .iter()
        .map(|i| null_every(5)(i).then(|| format!("comment {i} é ✓")))
        .collect();
    let seen: TimestampMicrosecondArray = ids
        .iter()
        .map(|i| null_every(3)(i).then_some(1_700_000_000_000_000 + i * 1_000))
        .collect::<TimestampMicrosecondArray>()
        .with_timezone("Europe/Paris");
    let loaded = TimestampNanosecondArray::from_iter_values(ids.iter().map(|i| i * 7))
        .with_timezone("+00:00");
    let amounts = ids
        .iter()
        .map(|i| null_every(4)(i).then_some(i128::from(*i) * 10_000 + 1234 - 5_000_000_000))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(20, 4)
        .expect("decimal");
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in &ids {
        match i % 6 {
            0 => tags.append_null(),
            1 => tags.append(true), // empty list
            _ => {
                tags.values().append_value(format!("t{}", i % 3));
                tags.values().append_null();
                tags.values().append_value("x");
                tags.append(true);
            }
        }
    }
    let xs = Int32Array::from_iter_values(ids.iter().map(|i| (*i % 1000) as i32));
    let labels: StringArray = ids
        .iter()
        .map(|i| null_every(2)(i).then(|| format!("p{i}")))
        .collect();
    let point_fields = match schema().field(7).data_type() {
        DataType::Struct(fields) => fields.clone(),
        other => panic!("unexpected {other}"),
    };
    let points = StructArray::try_new(
        point_fields,
        vec![Arc::new(xs) as ArrayRef, Arc::new(labels)],
        Some(ids.iter().map(|i| i % 9 != 0).collect()),
    )
    .expect("struct");
    let flags: BooleanArray = ids
        .iter()
        .map(|i| null_every(11)(i).then_some(i % 2 == 0))
        .collect();
    let days: Date32Array = ids
        .iter()
        .map(|i| null_every(13)(i).then_some(19_000 + (*i % 400) as i32))
        .collect();
    let scores: Float64Array = ids
        .iter()
        .map(|i| null_every(17)(i).then_some(*i as f64 / 3.0))
        .collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(names),
            Arc::new(comments),
            Arc::new(seen),
            Arc::new(loaded),
            Arc::new(amounts),
            Arc::new(tags.finish()),
            Arc::new(points),
            Arc::new(flags),
            Arc::new(days),
            Arc::new(scores),
        ],
    )
    .expect("batch")
}

/// A table of `rows` rows in batches of `batch_rows`.
fn table(rows: i64, batch_rows: i64) -> TableData {
    let batches = (0..rows)
        .step_by(batch_rows as usize)
        .map(|start| batch(start, batch_rows.min(rows - start)))
        .collect();
    TableData::new(schema(), batches)
}

/// A narrow table big enough (> 8 MiB encoded) for a multipart upload.
fn big_table(rows: i64) -> TableData {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let batches = (0..rows)
        .step_by(65_536)
        .map(|start| {
            let end = (start + 65_536).min(rows);
            let mut x = start as u64 | 1;
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(start..end)),
                    Arc::new(Float64Array::from_iter_values((start..end).map(|_| {
                        // xorshift: incompressible values.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as f64
                    }))),
                ],
            )
            .expect("batch")
        })
        .collect();
    TableData::new(schema, batches)
}

fn options(threads: usize, group_rows: usize) -> ParquetOptions {
    ParquetOptions {
        write_threads: threads,
        read_threads: threads,
        max_row_group_rows: group_rows,
        read_batch_size: 1000,
        ..ParquetOptions::default()
    }
}

/// The same options, with every table and file treated as big (parallel,
/// streamed writes; streamed reads).
fn large_path(options: ParquetOptions) -> ParquetOptions {
    ParquetOptions {
        small_table_rows: 0,
        small_table_bytes: 0,
        ..options
    }
}

fn local(dir: &std::path::Path, options: ParquetOptions) -> ParquetIoManager {
    ParquetIoManager::with_options(StorageRoot::local(dir).expect("root"), options)
}

/// A location of a daily asset: `<asset>/day=<partition>/`.
fn loc(asset: &str, partition: Option<&str>) -> Location {
    let days: Arc<[Arc<str>]> = match partition {
        Some(p) if p.contains('|') => Arc::from([Arc::from("day"), Arc::from("region")]),
        Some(_) => Arc::from([Arc::from("day")]),
        None => Arc::from([]),
    };
    Location::new(asset, partition)
        .and_then(|l| l.with_dimensions(days))
        .expect("valid location")
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).expect("concat")
}

/// Same schema (fields and metadata) and same values.
fn assert_same_table(loaded: &Payload, expected: &TableData) {
    let Payload::Table(loaded) = loaded else {
        panic!("expected a table, got {loaded:?}");
    };
    assert_eq!(loaded.schema, expected.schema, "schema");
    let got = concat(&loaded.schema, &loaded.batches);
    let want = concat(&expected.schema, &expected.batches);
    assert_eq!(got.num_rows(), want.num_rows(), "rows");
    for (i, field) in expected.schema.fields().iter().enumerate() {
        assert_eq!(
            got.column(i).to_data(),
            want.column(i).to_data(),
            "column {}",
            field.name()
        );
    }
    for b in &loaded.batches {
        assert_eq!(b.schema(), loaded.schema, "batch schema");
    }
}

async fn load_table(io: &ParquetIoManager, location: &Location) -> Payload {
    io.load(location).await.expect("load")
}

// ------------------------------------------------------------- round trips

#[tokio::test]
async fn round_trips_nulls_strings_timestamps_decimals_lists_and_structs() {
    for threads in [1, 4] {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Small row groups: several groups, each spanning batch boundaries.
        let io = local(tmp.path(), options(threads, 700));
        let location = loc("events", Some("2024-01-01"));
        let data = table(5_000, 900);
        let receipt = io
            .store(&location, &Payload::Table(data.clone()))
            .await
            .expect("store");
        assert_eq!(receipt.rows, 5_000);
        let file = tmp.path().join("events/day=2024-01-01/part-0.parquet");
        assert_eq!(receipt.bytes, std::fs::metadata(&file).expect("file").len());
        assert!(receipt.uri.starts_with("file:///"), "{}", receipt.uri);
        assert!(
            receipt
                .uri
                .ends_with("events/day=2024-01-01/part-0.parquet")
        );
        assert_same_table(&load_table(&io, &location).await, &data);
    }
}

#[tokio::test]
async fn parallel_encoding_writes_the_same_bytes_as_sequential() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = Payload::Table(table(3_000, 1_000));
    let mut files = Vec::new();
    for threads in [1, 2, 8] {
        // The parallel encoder is for big tables: make this one count as big.
        let io = local(
            &tmp.path().join(threads.to_string()),
            large_path(options(threads, 500)),
        );
        let location = loc("events", None);
        io.store(&location, &data).await.expect("store");
        files.push(
            std::fs::read(tmp.path().join(format!("{threads}/events/part-0.parquet")))
                .expect("read"),
        );
    }
    assert_eq!(files[0], files[1]);
    assert_eq!(files[0], files[2]);
}

#[tokio::test]
async fn files_are_plain_parquet_with_bounded_row_groups() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), options(2, 1_000));
    let location = loc("events", Some("2024-01-01"));
    let data = table(4_500, 4_500);
    io.store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store");
    let file =
        std::fs::File::open(tmp.path().join("events/day=2024-01-01/part-0.parquet")).expect("open");
    let reader = ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("plain parquet reader");
    let rows: Vec<i64> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(rows, [1_000, 1_000, 1_000, 1_000, 500]);
    let batches: Vec<RecordBatch> = reader
        .build()
        .expect("build")
        .collect::<Result<_, _>>()
        .expect("read");
    let got = concat(&batches[0].schema(), &batches);
    assert_eq!(got.num_rows(), 4_500);
}

#[tokio::test]
async fn row_groups_are_bounded_in_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(
        tmp.path(),
        ParquetOptions {
            max_row_group_bytes: 64 * 1024,
            ..options(2, usize::MAX)
        },
    );
    let location = loc("big", None);
    io.store(&location, &Payload::Table(big_table(100_000)))
        .await
        .expect("store");
    let file = std::fs::File::open(tmp.path().join("big/part-0.parquet")).expect("open");
    let reader = ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("reader");
    // 16 bytes a row: 4096 rows a group.
    assert_eq!(
        reader.metadata().num_row_groups(),
        100_000usize.div_ceil(4096)
    );
}

#[tokio::test]
async fn empty_table_without_batches_keeps_its_schema() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    let data = TableData::new(schema(), vec![]);
    let receipt = io
        .store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store");
    assert_eq!(receipt.rows, 0);
    assert!(receipt.bytes > 0);
    let Payload::Table(loaded) = load_table(&io, &location).await else {
        panic!("not a table");
    };
    assert_eq!(loaded.schema, data.schema);
    assert!(loaded.batches.is_empty());
}

#[tokio::test]
async fn empty_batches_round_trip_as_an_empty_table() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), options(4, 100));
    let location = loc("events", None);
    let data = TableData::new(schema(), vec![batch(0, 0), batch(0, 0)]);
    io.store(&location, &Payload::Table(data))
        .await
        .expect("store");
    let Payload::Table(loaded) = load_table(&io, &location).await else {
        panic!("not a table");
    };
    assert_eq!(loaded.schema, schema());
    assert_eq!(loaded.num_rows(), 0);
}

#[tokio::test]
async fn load_batches_streams_rows_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), options(3, 1_000));
    let location = loc("events", Some("2024-01-02"));
    io.store(&location, &Payload::Table(table(10_000, 3_000)))
        .await
        .expect("store");
    let mut stream = io.load_batches(&location).await.expect("open");
    let mut next_id = 0;
    let mut batches = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        assert!(batch.num_rows() <= 1_000);
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("ids");
        for id in ids.values() {
            assert_eq!(*id, next_id);
            next_id += 1;
        }
        batches += 1;
    }
    assert_eq!(next_id, 10_000);
    assert_eq!(batches, 10);
}

#[tokio::test]
async fn works_on_a_memory_root() {
    let io = ParquetIoManager::with_options(
        StorageRoot::parse("memory://lake").expect("root"),
        options(2, 300),
    );
    let location = loc("events", Some("2024-01-01"));
    let data = table(1_000, 400);
    io.store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store");
    assert_eq!(
        io.uri(&location),
        "memory://lake/events/day=2024-01-01/part-0.parquet"
    );
    assert_same_table(&load_table(&io, &location).await, &data);
}

// ------------------------------------------------- atomicity and idempotence

#[tokio::test]
async fn overwrite_is_idempotent_and_leaves_no_temp_files() {
    for (first, second) in [
        (table(100, 100), table(50, 50)),
        // Big enough for multipart uploads (staged file renamed on completion).
        (big_table(1_200_000), big_table(700_000)),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = local(tmp.path(), ParquetOptions::default());
        let location = loc("events", Some("2024-01-01"));
        io.store(&location, &Payload::Table(first))
            .await
            .expect("store");
        io.store(&location, &Payload::Table(second.clone()))
            .await
            .expect("store again");
        assert_eq!(
            files_in(&tmp.path().join("events/day=2024-01-01")),
            ["part-0.parquet"]
        );
        assert_same_table(&load_table(&io, &location).await, &second);
    }
}

#[tokio::test]
async fn rerun_after_a_crash_ignores_the_staged_leftover() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    // What a process killed during a multipart upload leaves behind.
    let folder = tmp.path().join("events/day=2024-01-01");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("part-0.parquet#1"), b"PAR1 half a file").expect("write");
    assert!(matches!(
        io.load(&location).await,
        Err(Error::NotFound { .. })
    ));
    let data = big_table(1_000_000);
    io.store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store");
    assert_same_table(&load_table(&io, &location).await, &data);
    // The leftover is not published, and can be swept.
    let swept = io
        .root()
        .sweep_staged_uploads(&location, Duration::ZERO)
        .expect("sweep");
    assert_eq!(swept.len(), 1);
    assert_eq!(files_in(&folder), ["part-0.parquet"]);
}

#[tokio::test]
async fn failed_upload_publishes_nothing_and_leaves_no_staged_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inner: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(tmp.path()).expect("local"));
    let store = Arc::new(TestStore::failing_at_part(inner, 2));
    let root = StorageRoot::from_store(store, Path::default(), "failing://");
    let io = ParquetIoManager::new(root);
    let location = loc("events", Some("2024-01-01"));
    let err = io
        .store(&location, &Payload::Table(big_table(3_000_000)))
        .await
        .expect_err("must fail");
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(
        err.to_string()
            .contains("failing://events/day=2024-01-01/part-0.parquet"),
        "{err}"
    );
    // Abort removed the staged file; the folder may stay, empty.
    let folder = tmp.path().join("events/day=2024-01-01");
    if folder.exists() {
        assert_eq!(files_in(&folder), Vec::<String>::new());
    }
}

#[tokio::test]
async fn cancelled_write_publishes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inner = LocalFileSystem::new_with_prefix(tmp.path()).expect("local");
    let slow = object_store::throttle::ThrottledStore::new(
        inner,
        object_store::throttle::ThrottleConfig {
            wait_put_per_call: Duration::from_secs(30),
            ..Default::default()
        },
    );
    let root = StorageRoot::from_store(Arc::new(slow), Path::default(), "slow://");
    let io = ParquetIoManager::new(root);
    let location = loc("events", Some("2024-01-01"));
    let data = Payload::Table(big_table(2_000_000));
    let outcome =
        tokio::time::timeout(Duration::from_millis(500), io.store(&location, &data)).await;
    assert!(outcome.is_err(), "the write should still be running");
    // Dropping the upload removes its staged file on a blocking thread.
    let folder = tmp.path().join("events/day=2024-01-01");
    for _ in 0..100 {
        if !folder.exists() || files_in(&folder).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!folder.join("part-0.parquet").exists());
    if folder.exists() {
        assert_eq!(files_in(&folder), Vec::<String>::new());
    }
}

// ------------------------------------------------------------- bad input

#[tokio::test]
async fn missing_partition_is_not_found() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    io.store(
        &loc("events", Some("2024-01-01")),
        &Payload::Table(table(10, 10)),
    )
    .await
    .expect("store");
    let missing = loc("events", Some("2024-01-02"));
    let err = io.load(&missing).await.expect_err("must fail");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("events/day=2024-01-02/part-0.parquet"),
        "{err}"
    );
    assert!(matches!(
        io.load_batches(&missing).await.map(|_| ()),
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn corrupt_file_is_a_parquet_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    let folder = tmp.path().join("events/day=2024-01-01");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("part-0.parquet"), vec![b'x'; 4096]).expect("write");
    let err = io.load(&location).await.expect_err("must fail");
    assert!(matches!(err, Error::Parquet { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("events/day=2024-01-01/part-0.parquet"),
        "{err}"
    );

    // A valid file whose footer metadata was overwritten.
    io.store(&location, &Payload::Table(table(2_000, 500)))
        .await
        .expect("store");
    let file = folder.join("part-0.parquet");
    let mut bytes = std::fs::read(&file).expect("read");
    let n = bytes.len();
    for b in &mut bytes[n - 300..n - 8] {
        *b = 0xFF;
    }
    std::fs::write(&file, bytes).expect("write");
    let err = io.load(&location).await.expect_err("must fail");
    assert!(matches!(err, Error::Parquet { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("events/day=2024-01-01/part-0.parquet"),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_file_is_a_parquet_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", None);
    io.store(&location, &Payload::Table(table(2_000, 500)))
        .await
        .expect("store");
    let file = tmp.path().join("events/part-0.parquet");
    let len = std::fs::metadata(&file).expect("meta").len();
    for keep in [len / 2, 7, 0] {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .expect("open");
        f.set_len(keep).expect("truncate");
        drop(f);
        let err = io.load(&location).await.expect_err("must fail");
        assert!(matches!(err, Error::Parquet { .. }), "{keep}: {err:?}");
        assert!(err.to_string().contains("events/part-0.parquet"), "{err}");
    }
}

#[tokio::test]
async fn documents_and_nothing_are_refused() {
    let io = ParquetIoManager::new(StorageRoot::memory());
    let location = loc("events", None);
    for payload in [Payload::Document(serde_json::json!({})), Payload::Nothing] {
        let err = io.store(&location, &payload).await.expect_err("must fail");
        assert!(matches!(err, Error::WrongPayload { .. }), "{err:?}");
        assert!(err.to_string().contains("\"parquet\""), "{err}");
    }
}

#[tokio::test]
async fn batch_that_does_not_match_the_schema_is_refused_before_writing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", None);
    let other = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false)]));
    let wrong =
        RecordBatch::try_new(other, vec![Arc::new(Int32Array::from(vec![1]))]).expect("batch");
    let data = TableData::new(schema(), vec![batch(0, 3), wrong]);
    let err = io
        .store(&location, &Payload::Table(data))
        .await
        .expect_err("must fail");
    assert!(err.to_string().contains("record batch 1"), "{err}");
    assert!(!tmp.path().join("events/part-0.parquet").exists());
}

// ----------------------------------------------------------------- sidecars

#[tokio::test]
async fn a_record_without_a_value_goes_to_the_provenance_tree_and_is_none_when_absent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    assert_eq!(io.load_sidecar(&location).await.expect("load"), None);
    io.store_sidecar(&location, b"{\"rows\": 3}")
        .await
        .expect("store");
    io.store_sidecar(&location, b"{\"rows\": 4}")
        .await
        .expect("overwrite");
    assert_eq!(
        io.load_sidecar(&location).await.expect("load"),
        Some(b"{\"rows\": 4}".to_vec())
    );
    assert!(
        tmp.path()
            .join("_provenance/events/day=2024-01-01/provenance.json")
            .is_file()
    );
    assert!(!tmp.path().join("events").exists(), "no data folder");
}

// ------------------------------------------------------ a store that fails

/// Delegates to `inner`, counting requests; multipart uploads fail at part
/// `fail_at_part`.
#[derive(Debug)]
struct TestStore {
    inner: Arc<dyn ObjectStore>,
    fail_at_part: usize,
    requests: std::sync::Mutex<Vec<Request>>,
}

/// A request a [`TestStore`] saw.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Request {
    Put,
    Multipart,
    Get { head: bool, ranged: bool },
}

impl TestStore {
    fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            fail_at_part: usize::MAX,
            requests: Default::default(),
        }
    }

    fn failing_at_part(inner: Arc<dyn ObjectStore>, fail_at_part: usize) -> Self {
        Self {
            fail_at_part,
            ..Self::new(inner)
        }
    }

    fn record(&self, request: Request) {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(request);
    }

    /// The requests seen since the last call.
    fn take_requests(&self) -> Vec<Request> {
        std::mem::take(
            &mut *self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl std::fmt::Display for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestStore({})", self.inner)
    }
}

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = object_store::Result<T>> + Send + 'a>>;

// `ObjectStore` is an `#[async_trait]`; these are its methods written out.
impl ObjectStore for TestStore {
    fn put_opts<'a, 'b, 'f>(
        &'a self,
        location: &'b Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> StoreFuture<'f, PutResult>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        self.record(Request::Put);
        self.inner.put_opts(location, payload, opts)
    }

    fn put_multipart_opts<'a, 'b, 'f>(
        &'a self,
        location: &'b Path,
        opts: PutMultipartOptions,
    ) -> StoreFuture<'f, Box<dyn MultipartUpload>>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        self.record(Request::Multipart);
        Box::pin(async move {
            let inner = self.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(FailingUpload {
                inner,
                parts: 0,
                fail_at_part: self.fail_at_part,
            }) as Box<dyn MultipartUpload>)
        })
    }

    fn get_opts<'a, 'b, 'f>(
        &'a self,
        location: &'b Path,
        options: GetOptions,
    ) -> StoreFuture<'f, GetResult>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        self.record(Request::Get {
            head: options.head,
            ranged: options.range.is_some(),
        });
        self.inner.get_opts(location, options)
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<Path>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_delimiter<'a, 'b, 'f>(
        &'a self,
        prefix: Option<&'b Path>,
    ) -> StoreFuture<'f, ListResult>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        self.inner.list_with_delimiter(prefix)
    }

    fn copy_opts<'a, 'b, 'c, 'f>(
        &'a self,
        from: &'b Path,
        to: &'c Path,
        options: CopyOptions,
    ) -> StoreFuture<'f, ()>
    where
        'a: 'f,
        'b: 'f,
        'c: 'f,
        Self: 'f,
    {
        self.inner.copy_opts(from, to, options)
    }
}

#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    parts: usize,
    fail_at_part: usize,
}

impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts += 1;
        if self.parts >= self.fail_at_part {
            return Box::pin(async {
                Err(object_store::Error::Generic {
                    store: "TestStore",
                    source: "injected failure".into(),
                })
            });
        }
        self.inner.put_part(data)
    }

    fn complete<'a, 'f>(&'a mut self) -> StoreFuture<'f, PutResult>
    where
        'a: 'f,
        Self: 'f,
    {
        self.inner.complete()
    }

    fn abort<'a, 'f>(&'a mut self) -> StoreFuture<'f, ()>
    where
        'a: 'f,
        Self: 'f,
    {
        self.inner.abort()
    }
}

// ------------------------------------------------------------ more shapes

#[tokio::test]
async fn dictionary_and_binary_columns_round_trip() {
    use arrow_array::types::Int32Type;
    use arrow_array::{BinaryArray, DictionaryArray};
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "country",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("blob", DataType::Binary, true),
    ]));
    let batches = (0..3)
        .map(|b| {
            let countries: DictionaryArray<Int32Type> = (0..1_000)
                .map(|i| (i % 7 != 0).then_some(["fr", "de", "it"][(i + b) % 3]))
                .collect();
            let blobs: BinaryArray = (0..1_000)
                .map(|i| (i % 5 != 0).then(|| vec![b as u8, i as u8, 0, 255]))
                .collect();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(countries), Arc::new(blobs)])
                .expect("batch")
        })
        .collect();
    let data = TableData::new(schema, batches);
    let io = ParquetIoManager::with_options(StorageRoot::memory(), options(3, 1_100));
    let location = loc("dims", None);
    io.store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store");
    assert_same_table(&load_table(&io, &location).await, &data);
}

#[tokio::test]
async fn table_without_columns_round_trips() {
    let io = ParquetIoManager::new(StorageRoot::memory());
    let location = loc("empty", None);
    let data = TableData::new(Arc::new(Schema::empty()), vec![]);
    io.store(&location, &Payload::Table(data))
        .await
        .expect("store");
    let Payload::Table(loaded) = load_table(&io, &location).await else {
        panic!("not a table");
    };
    assert!(loaded.schema.fields().is_empty());
    assert!(loaded.batches.is_empty());
}

#[tokio::test]
async fn partition_keys_with_reserved_characters_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let data = table(10, 10);
    for key in ["2024-01-01|eu", "50% off", "a#1", "été"] {
        let location = loc("events", Some(key));
        io.store(&location, &Payload::Table(data.clone()))
            .await
            .expect("store");
        assert_same_table(&load_table(&io, &location).await, &data);
    }
    // One folder per key, all inside the asset's folder.
    assert_eq!(files_in(&tmp.path().join("events")).len(), 4);
    assert_eq!(files_in(tmp.path()), ["events"]);
}

#[tokio::test]
async fn reader_of_a_replaced_file_gets_an_error_not_a_mix_of_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Streamed like a big file (a small one is read whole when opened).
    let io = local(tmp.path(), large_path(options(1, 1_000)));
    let location = loc("events", None);
    io.store(&location, &Payload::Table(table(5_000, 5_000)))
        .await
        .expect("store");
    // The footer is read when opening; row groups are read while streaming.
    let (_, mut stream) = io.open(&location).await.expect("open");
    io.store(&location, &Payload::Table(table(4_000, 4_000)))
        .await
        .expect("overwrite");
    let mut outcome = Ok(0);
    while let Some(batch) = stream.next().await {
        match batch {
            Ok(b) => outcome = outcome.map(|n| n + b.num_rows()),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    let err = outcome.expect_err("reading on across the overwrite must fail");
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("events/part-0.parquet"), "{err}");
}

// ------------------------------------------------- small and large paths

/// A Parquet IO manager on a local directory through a [`TestStore`].
fn counted(dir: &std::path::Path, options: ParquetOptions) -> (ParquetIoManager, Arc<TestStore>) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let inner: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir).expect("local"));
    let store = Arc::new(TestStore::new(inner));
    let root = StorageRoot::from_store(store.clone(), Path::default(), "counted://");
    (ParquetIoManager::with_options(root, options), store)
}

const HEAD: Request = Request::Get {
    head: true,
    ranged: false,
};

const WHOLE_GET: Request = Request::Get {
    head: false,
    ranged: false,
};

#[test]
fn the_small_path_ends_at_the_row_and_byte_thresholds() {
    let options = ParquetOptions {
        small_table_rows: 100,
        small_table_bytes: 1_000,
        ..ParquetOptions::default()
    };
    assert!(options.is_small_table(0, 0));
    assert!(options.is_small_table(100, 1_000));
    assert!(!options.is_small_table(101, 1_000));
    assert!(!options.is_small_table(100, 1_001));
    let default = ParquetOptions::default();
    assert!(default.is_small_table(256 * 1024, 16 * 1024 * 1024));
    assert!(!default.is_small_table(256 * 1024 + 1, 8));
    assert!(!default.is_small_table(1, 16 * 1024 * 1024 + 1));
}

#[tokio::test]
async fn small_and_large_paths_write_identical_readable_files() {
    // A tiny table (encoded on the calling task) and a small one with
    // several row groups (encoded on one blocking thread).
    let tiny = table(10, 10);
    let small = table(5_000, 900);
    assert!(write::table_bytes(&tiny.batches) <= write::INLINE_ENCODE_BYTES);
    assert!(write::table_bytes(&small.batches) > write::INLINE_ENCODE_BYTES);
    for data in [tiny, small] {
        assert!(
            ParquetOptions::default()
                .is_small_table(data.num_rows(), write::table_bytes(&data.batches))
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let location = loc("events", Some("2024-01-01"));
        let mut files = Vec::new();
        for (name, write_options) in [
            ("small", options(4, 700)),
            ("large-1", large_path(options(1, 700))),
            ("large-4", large_path(options(4, 700))),
        ] {
            let dir = tmp.path().join(name);
            let io = local(&dir, write_options);
            io.store(&location, &Payload::Table(data.clone()))
                .await
                .expect("store");
            files.push(
                std::fs::read(dir.join("events/day=2024-01-01/part-0.parquet")).expect("read"),
            );
            // Readable whole and streamed, from disk and from memory.
            let memory = ParquetIoManager::new(StorageRoot::memory());
            memory
                .root()
                .put(
                    &memory.data_path(&location),
                    bytes::Bytes::from(files.last().cloned().unwrap_or_default()),
                )
                .await
                .expect("put");
            for read_options in [options(2, 700), large_path(options(2, 700))] {
                let reader = local(&dir, read_options.clone());
                assert_same_table(&load_table(&reader, &location).await, &data);
                let reader =
                    ParquetIoManager::with_options(memory.root().clone(), read_options.clone());
                assert_same_table(&load_table(&reader, &location).await, &data);
            }
        }
        assert!(files[0] == files[1], "small and large (1 thread) differ");
        assert!(files[0] == files[2], "small and large (4 threads) differ");
    }
}

#[tokio::test]
async fn a_table_at_the_row_threshold_is_one_put_and_one_row_more_streams() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Over 8 MiB encoded: the streamed upload is a multipart one.
    let data = big_table(700_000);
    let location = loc("big", None);
    let mut files = Vec::new();
    for (threshold, expected) in [
        (700_000, vec![Request::Put]),
        (699_999, vec![Request::Multipart]),
    ] {
        let dir = tmp.path().join(threshold.to_string());
        let (io, store) = counted(
            &dir,
            ParquetOptions {
                small_table_rows: threshold,
                ..ParquetOptions::default()
            },
        );
        io.store(&location, &Payload::Table(data.clone()))
            .await
            .expect("store");
        assert_eq!(store.take_requests(), expected, "threshold {threshold}");
        files.push(std::fs::read(dir.join("big/part-0.parquet")).expect("read"));
    }
    assert!(files[0] == files[1], "the two paths wrote different files");
    assert!(files[0].len() > 8 * 1024 * 1024);
}

#[tokio::test]
async fn a_file_at_the_byte_threshold_is_one_get_and_one_byte_more_streams() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let location = loc("events", None);
    let data = table(5_000, 1_000);
    let (io, _) = counted(tmp.path(), options(2, 1_000));
    let size = io
        .store(&location, &Payload::Table(data.clone()))
        .await
        .expect("store")
        .bytes;

    let whole = ParquetOptions {
        small_table_bytes: size as usize,
        ..options(2, 1_000)
    };
    let (io, store) = counted(tmp.path(), whole);
    assert_same_table(&load_table(&io, &location).await, &data);
    assert_eq!(store.take_requests(), [WHOLE_GET]);

    let streamed = ParquetOptions {
        small_table_bytes: size as usize - 1,
        ..options(2, 1_000)
    };
    let (io, store) = counted(tmp.path(), streamed);
    assert_same_table(&load_table(&io, &location).await, &data);
    let requests = store.take_requests();
    // The first GET gives size and ETag (no HEAD), then ranges: the footer
    // and the row groups.
    assert_eq!(requests.first(), Some(&WHOLE_GET), "{requests:?}");
    assert!(
        requests[1..].iter().all(|r| *r
            == Request::Get {
                head: false,
                ranged: true
            }),
        "{requests:?}"
    );
    assert!(requests.len() >= 3, "{requests:?}");
}

#[tokio::test]
async fn small_file_opened_before_an_overwrite_is_read_whole_from_the_old_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), options(1, 1_000));
    let location = loc("events", None);
    let old = table(5_000, 5_000);
    io.store(&location, &Payload::Table(old.clone()))
        .await
        .expect("store");
    let (schema, stream) = io.open(&location).await.expect("open");
    io.store(&location, &Payload::Table(table(4_000, 4_000)))
        .await
        .expect("overwrite");
    let batches: Vec<RecordBatch> = stream.map(|b| b.expect("batch")).collect::<Vec<_>>().await;
    assert_same_table(&Payload::Table(TableData::new(schema, batches)), &old);
}

#[tokio::test]
async fn a_record_is_read_from_the_footer_else_the_tree_else_the_previous_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (io, store) = counted(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    assert_eq!(io.load_sidecar(&location).await.expect("load"), None);
    // No file to read a footer from; no record in the tree; none of the
    // previous layout.
    assert_eq!(store.take_requests(), [HEAD, WHOLE_GET, WHOLE_GET]);
    io.store_sidecar(&location, b"{}").await.expect("store");
    assert_eq!(store.take_requests(), [Request::Put]);
    assert_eq!(
        io.load_sidecar(&location).await.expect("load"),
        Some(b"{}".to_vec())
    );
    assert_eq!(store.take_requests(), [HEAD, WHOLE_GET]);
    // A published value: the record is read from its footer alone.
    io.publish(&location, &Payload::Table(table(10, 10)), b"{\"bytes\": 0}")
        .await
        .expect("publish");
    store.take_requests();
    let record = io
        .load_sidecar(&location)
        .await
        .expect("load")
        .expect("record");
    assert!(record.starts_with(b"{\"bytes\":"), "{record:?}");
    let requests = store.take_requests();
    assert_eq!(requests.first(), Some(&HEAD), "{requests:?}");
    assert!(
        requests[1..].iter().all(|r| matches!(
            r,
            Request::Get {
                head: false,
                ranged: true
            }
        )),
        "ranged reads of the footer only: {requests:?}"
    );
}

#[tokio::test]
async fn missing_file_is_one_request_per_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (io, store) = counted(tmp.path(), ParquetOptions::default());
    let err = io.load(&loc("events", None)).await.expect_err("must fail");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    // One more for the previous layout's place: the cost of reading old
    // roots, paid only on a miss.
    assert_eq!(store.take_requests(), [WHOLE_GET, WHOLE_GET]);
}

#[tokio::test]
async fn local_file_at_the_byte_threshold_is_read_whole_and_one_byte_more_streams() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let location = loc("events", None);
    let old = table(5_000, 1_000);
    let size = local(tmp.path(), options(1, 1_000))
        .store(&location, &Payload::Table(old.clone()))
        .await
        .expect("store")
        .bytes;
    // Observable through an overwrite after opening: a file read whole when
    // opened is unaffected; a streamed one fails on its next fetch.
    for (threshold, read_whole) in [(size, true), (size - 1, false)] {
        let io = local(
            tmp.path(),
            ParquetOptions {
                small_table_bytes: threshold as usize,
                ..options(1, 1_000)
            },
        );
        io.store(&location, &Payload::Table(old.clone()))
            .await
            .expect("store");
        let (schema, stream) = io.open(&location).await.expect("open");
        io.store(&location, &Payload::Table(table(4_000, 4_000)))
            .await
            .expect("overwrite");
        let batches: Vec<Result<RecordBatch>> = stream.collect().await;
        if read_whole {
            let batches = batches.into_iter().collect::<Result<Vec<_>>>();
            let table = TableData::new(schema, batches.expect("read whole"));
            assert_same_table(&Payload::Table(table), &old);
        } else {
            assert!(
                batches
                    .iter()
                    .any(|b| matches!(b, Err(Error::Store { .. }))),
                "threshold {threshold}: the streamed read should fail"
            );
        }
    }
}

#[tokio::test]
async fn a_folder_where_the_file_should_be_is_not_found() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", None);
    std::fs::create_dir_all(tmp.path().join("events/part-0.parquet")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("_provenance/events/provenance.json")).expect("mkdir");
    let err = io.load(&location).await.expect_err("must fail");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(io.load_sidecar(&location).await.expect("sidecar"), None);
}

#[tokio::test]
async fn exists_is_one_head_and_reads_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (io, store) = counted(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    assert!(!io.exists(&location).await.expect("exists"));
    io.store_sidecar(&location, b"{}").await.expect("sidecar");
    assert!(!io.exists(&location).await.expect("exists"));
    io.store(&location, &Payload::Table(table(100, 100)))
        .await
        .expect("store");
    store.take_requests();
    assert!(io.exists(&location).await.expect("exists"));
    assert_eq!(
        store.take_requests(),
        [Request::Get {
            head: true,
            ranged: false
        }]
    );
    // A local root too.
    let io = local(tmp.path(), ParquetOptions::default());
    assert!(io.exists(&location).await.expect("exists"));
    assert!(!io.exists(&loc("events", None)).await.expect("exists"));
}

// ------------------------------------------------- provenance in the footer

const RECORD: &[u8] = br#"{"asset":"events","rows":100,"bytes":0}"#;

#[tokio::test]
async fn publishing_writes_one_object_with_the_record_in_its_footer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (io, store) = counted(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    let receipt = io
        .publish(&location, &Payload::Table(table(100, 100)), RECORD)
        .await
        .expect("publish");
    assert_eq!(store.take_requests(), [Request::Put], "one object, one PUT");
    let folder = tmp.path().join("events/day=2024-01-01");
    assert_eq!(files_in(&folder), ["part-0.parquet"]);
    assert!(!tmp.path().join("_provenance").exists());

    // Any Parquet reader sees the record in the footer's key-value metadata.
    let file = std::fs::File::open(folder.join("part-0.parquet")).expect("open");
    let reader = ::parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
    use ::parquet::file::reader::FileReader;
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned();
    let entry = kv
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.key == PROVENANCE_KEY)
        .and_then(|e| e.value)
        .expect("the provenance entry");
    assert_eq!(entry.as_bytes(), RECORD);

    // Reading it back fills `bytes` from the file and reads only the footer.
    let record = io
        .load_sidecar(&location)
        .await
        .expect("load")
        .expect("record");
    let record: serde_json::Value = serde_json::from_slice(&record).expect("json");
    assert_eq!(record["bytes"], receipt.bytes);
    assert_eq!(record["rows"], 100);
    let requests = store.take_requests();
    assert!(
        requests.iter().all(|r| matches!(
            r,
            Request::Get { ranged: true, .. } | Request::Get { head: true, .. }
        )),
        "only the footer is read: {requests:?}"
    );
}

#[tokio::test]
async fn a_loaded_table_does_not_carry_its_files_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    io.publish(&location, &Payload::Table(table(10, 10)), RECORD)
        .await
        .expect("publish");
    let Payload::Table(loaded) = io.load(&location).await.expect("load") else {
        panic!("not a table");
    };
    assert!(!loaded.schema.metadata().contains_key(PROVENANCE_KEY));
    for batch in &loaded.batches {
        assert!(!batch.schema().metadata().contains_key(PROVENANCE_KEY));
    }
    // Re-published elsewhere, it gets only the record it is given.
    let other = loc("copy", Some("2024-01-01"));
    io.store(&other, &Payload::Table(loaded))
        .await
        .expect("store");
    assert_eq!(io.load_sidecar(&other).await.expect("load"), None);
}

#[tokio::test]
async fn a_footer_without_a_record_falls_back_to_the_provenance_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    io.store(&location, &Payload::Table(table(10, 10)))
        .await
        .expect("store");
    assert_eq!(io.load_sidecar(&location).await.expect("load"), None);
    io.store_sidecar(&location, b"{\"x\": 1}")
        .await
        .expect("sidecar");
    assert_eq!(
        io.load_sidecar(&location).await.expect("load"),
        Some(b"{\"x\": 1}".to_vec())
    );
}

#[tokio::test]
async fn a_file_that_is_not_parquet_at_a_partition_path_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    let folder = tmp.path().join("events/day=2024-01-01");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("part-0.parquet"), b"id,value\n1,2\n").expect("write");
    let err = io.load_sidecar(&location).await.expect_err("not parquet");
    assert!(matches!(err, Error::Parquet { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("events/day=2024-01-01/part-0.parquet"),
        "{err}"
    );
    let err = ParquetIoManager::read_footer_provenance(io.root(), &io.data_path(&location))
        .await
        .expect_err("not parquet");
    assert!(matches!(err, Error::Parquet { .. }), "{err:?}");
}

#[tokio::test]
async fn a_value_of_the_previous_layout_is_read_then_rewritten_in_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = local(tmp.path(), ParquetOptions::default());
    let location = loc("events", Some("2024-01-01"));
    // What the previous release wrote: bare-key folder, two files.
    let old_io = local(&tmp.path().join("old"), ParquetOptions::default());
    old_io
        .store(&loc("events", None), &Payload::Table(table(7, 7)))
        .await
        .expect("store");
    let old = tmp.path().join("events/2024-01-01");
    std::fs::create_dir_all(&old).expect("mkdir");
    std::fs::rename(
        tmp.path().join("old/events/part-0.parquet"),
        old.join("data.parquet"),
    )
    .expect("move");
    std::fs::write(old.join("_provenance.json"), b"{\"old\": true}").expect("sidecar");

    assert!(io.exists(&location).await.expect("exists"));
    assert_same_table(&load_table(&io, &location).await, &table(7, 7));
    assert_eq!(
        io.load_sidecar(&location).await.expect("load"),
        Some(b"{\"old\": true}".to_vec())
    );

    io.publish(&location, &Payload::Table(table(3, 3)), RECORD)
        .await
        .expect("publish");
    assert!(!old.exists(), "the old folder is removed once rewritten");
    assert_same_table(&load_table(&io, &location).await, &table(3, 3));
    assert_eq!(
        files_in(&tmp.path().join("events")),
        ["day=2024-01-01"],
        "nothing but Hive folders in the dataset"
    );
}
