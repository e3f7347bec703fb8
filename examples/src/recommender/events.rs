//! Event records shared by the jobs: raw rows as landed, clean rows as
//! validated, and the Arrow layout of the raw events table.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, PrimitiveArray, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// What a user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The item was shown to the user (an impression with dwell time).
    View,
    /// The user opened the item.
    Click,
    /// The user bought the item.
    Purchase,
}

impl EventKind {
    /// Every kind, in funnel order.
    pub const ALL: [EventKind; 3] = [EventKind::View, EventKind::Click, EventKind::Purchase];

    /// The kind as it is spelled in the raw data (`view`, `click`, `purchase`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
            EventKind::Purchase => "purchase",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A raw `kind` value that is not one of [`EventKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEventKind(pub String);

impl fmt::Display for UnknownEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown event kind {:?} (expected view, click or purchase)",
            self.0
        )
    }
}

impl std::error::Error for UnknownEventKind {}

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    /// Parses the exact lowercase spelling; anything else is unknown.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// One interaction event as it landed from the web tier: nothing is validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// Event id; should be unique, but re-deliveries repeat it.
    pub event_id: i64,
    /// The acting user.
    pub user_id: i64,
    /// The item acted on.
    pub item_id: i64,
    /// The event kind as sent (may be misspelled or unknown).
    pub kind: String,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// Time spent on the item in milliseconds; `None` when not measured.
    pub dwell_ms: Option<i64>,
}

/// One validated, de-duplicated event from a human user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanEvent {
    /// Event id, unique within the day.
    pub event_id: i64,
    /// The acting user.
    pub user_id: i64,
    /// The item acted on.
    pub item_id: i64,
    /// The event kind.
    pub kind: EventKind,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// Time spent on the item in milliseconds (never negative); `None` when not measured.
    pub dwell_ms: Option<i64>,
}

/// The Arrow schema of the raw events table.
///
/// `event_id`, `user_id`, `item_id` int64; `kind` utf8; `ts` timestamp(ms, UTC);
/// `dwell_ms` nullable int64.
pub fn raw_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Int64, false),
        Field::new("user_id", DataType::Int64, false),
        Field::new("item_id", DataType::Int64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("dwell_ms", DataType::Int64, true),
    ]))
}

/// Raw events as one record batch with [`raw_schema`].
pub fn raw_events_to_batch(events: &[RawEvent]) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|e| e.event_id),
        )),
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|e| e.user_id),
        )),
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|e| e.item_id),
        )),
        Arc::new(StringArray::from_iter_values(
            events.iter().map(|e| e.kind.as_str()),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(events.iter().map(|e| e.ts_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter(events.iter().map(|e| e.dwell_ms))),
    ];
    RecordBatch::try_new(raw_schema(), columns)
}

/// Raw events back from a record batch with [`raw_schema`]'s columns.
///
/// Extra columns are ignored; `kind` may be any Arrow string type. A missing
/// column, a wrong type or a null in a required column is an error naming the column.
pub fn raw_events_from_batch(batch: &RecordBatch) -> Result<Vec<RawEvent>, ArrowError> {
    let event_id = required_i64(batch, "event_id")?;
    let user_id = required_i64(batch, "user_id")?;
    let item_id = required_i64(batch, "item_id")?;
    let kind = strings(batch, "kind")?;
    let ts = timestamps_ms(batch, "ts")?;
    let dwell = int64(batch, "dwell_ms")?;
    Ok((0..batch.num_rows())
        .map(|i| RawEvent {
            event_id: event_id.value(i),
            user_id: user_id.value(i),
            item_id: item_id.value(i),
            kind: kind[i].clone(),
            ts_ms: ts.value(i),
            dwell_ms: dwell.is_valid(i).then(|| dwell.value(i)),
        })
        .collect())
}

/// A column by name, or an error naming it.
pub(crate) fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, ArrowError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ArrowError::SchemaError(format!("column {name:?} is missing")))
}

fn wrong_type(name: &str, found: &DataType, expected: &str) -> ArrowError {
    ArrowError::SchemaError(format!("column {name:?} is {found}, expected {expected}"))
}

fn no_nulls(name: &str, array: &dyn Array) -> Result<(), ArrowError> {
    match array.null_count() {
        0 => Ok(()),
        n => Err(ArrowError::InvalidArgumentError(format!(
            "column {name:?} has {n} null value(s) but is required"
        ))),
    }
}

/// An int64 column (nulls allowed).
pub(crate) fn int64<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<Int64Type>, ArrowError> {
    let col = column(batch, name)?;
    col.as_primitive_opt::<Int64Type>()
        .ok_or_else(|| wrong_type(name, col.data_type(), "Int64"))
}

/// An int64 column without nulls.
pub(crate) fn required_i64<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<Int64Type>, ArrowError> {
    let col = int64(batch, name)?;
    no_nulls(name, col)?;
    Ok(col)
}

/// A float64 column without nulls.
pub(crate) fn required_f64<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a Float64Array, ArrowError> {
    let col = column(batch, name)?;
    let values = col
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| wrong_type(name, col.data_type(), "Float64"))?;
    no_nulls(name, values)?;
    Ok(values)
}

/// A millisecond timestamp column (any time zone) without nulls.
fn timestamps_ms<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<TimestampMillisecondType>, ArrowError> {
    let col = column(batch, name)?;
    let values = col
        .as_primitive_opt::<TimestampMillisecondType>()
        .ok_or_else(|| wrong_type(name, col.data_type(), "Timestamp(Millisecond)"))?;
    no_nulls(name, values)?;
    Ok(values)
}

/// A string column of any Arrow string type; nulls read as empty strings.
fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<String>, ArrowError> {
    let col = column(batch, name)?;
    let owned = |v: Option<&str>| v.unwrap_or_default().to_owned();
    match col.data_type() {
        DataType::Utf8 => Ok(col.as_string::<i32>().iter().map(owned).collect()),
        DataType::LargeUtf8 => Ok(col.as_string::<i64>().iter().map(owned).collect()),
        DataType::Utf8View => Ok(col.as_string_view().iter().map(owned).collect()),
        other => Err(wrong_type(name, other, "a string type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<RawEvent> {
        vec![
            RawEvent {
                event_id: 1,
                user_id: 7,
                item_id: 3,
                kind: "view".into(),
                ts_ms: 1_704_067_200_000,
                dwell_ms: Some(1500),
            },
            RawEvent {
                event_id: 2,
                user_id: 7,
                item_id: 3,
                kind: "purchase".into(),
                ts_ms: 1_704_067_260_000,
                dwell_ms: None,
            },
        ]
    }

    #[test]
    fn kinds_parse_exactly() {
        assert_eq!("click".parse::<EventKind>(), Ok(EventKind::Click));
        assert_eq!(
            "CLICK".parse::<EventKind>(),
            Err(UnknownEventKind("CLICK".into()))
        );
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        }
    }

    #[test]
    fn raw_events_round_trip_through_a_batch() {
        let batch = raw_events_to_batch(&sample()).expect("batch");
        assert_eq!(batch.schema(), raw_schema());
        assert_eq!(batch.column(5).null_count(), 1);
        assert_eq!(raw_events_from_batch(&batch).expect("rows"), sample());
    }

    #[test]
    fn a_missing_column_is_named() {
        let batch = raw_events_to_batch(&sample()).expect("batch");
        let without_kind = batch.project(&[0, 1, 2, 4, 5]).expect("projection");
        let err = raw_events_from_batch(&without_kind).expect_err("kind is missing");
        assert!(err.to_string().contains("\"kind\""), "{err}");
    }
}
