//! Content hashes of payloads ("data versions").
//!
//! A data version identifies the *data*, not the file: it is computed from the
//! Arrow values (schema fields and IPC-encoded columns, schema metadata left
//! out) or from the canonical JSON text, so the same values give the same
//! version whatever the writer, its settings or the time of writing.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use xxhash_rust::xxh3::Xxh3;

use crate::payload::Payload;

/// A 128-bit content hash, shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataVersion(pub u128);

impl fmt::Display for DataVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl std::str::FromStr for DataVersion {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u128::from_str_radix(s, 16).map(DataVersion)
    }
}

/// Feeds everything written into an xxh3 hasher.
struct HashWriter<'a>(&'a mut Xxh3);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The data version of a payload.
pub fn data_version_of(payload: &Payload) -> Result<DataVersion, arrow_schema::ArrowError> {
    let mut hasher = Xxh3::new();
    match payload {
        Payload::Table(table) => {
            hasher.update(b"table\0");
            // Metadata is not data: two writers that tag the schema differently
            // still produce the same version.
            let bare: SchemaRef = Arc::new(Schema::new(table.schema.fields().clone()));
            let mut writer =
                arrow_ipc::writer::StreamWriter::try_new(HashWriter(&mut hasher), &bare)?;
            for batch in &table.batches {
                if batch.num_rows() == 0 {
                    continue;
                }
                // `with_schema` refuses a schema with less metadata than the
                // batch's own, so rebuild the batch over the bare schema.
                let batch = RecordBatch::try_new_with_options(
                    bare.clone(),
                    batch.columns().to_vec(),
                    &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
                )?;
                writer.write(&batch)?;
            }
            writer.finish()?;
        }
        Payload::Document(value) => {
            hasher.update(b"document\0");
            // serde_json's Map is ordered (BTreeMap) by default, so this text is canonical.
            hasher.update(value.to_string().as_bytes());
        }
        Payload::Nothing => hasher.update(b"nothing\0"),
    }
    Ok(DataVersion(hasher.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::TableData;
    use arrow_array::Int64Array;
    use std::collections::HashMap;

    fn table(values: &[i64], metadata: HashMap<String, String>) -> Payload {
        let schema = Arc::new(
            Schema::new(vec![arrow_schema::Field::new(
                "x",
                arrow_schema::DataType::Int64,
                false,
            )])
            .with_metadata(metadata),
        );
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(values.to_vec()))],
        )
        .expect("valid batch");
        Payload::Table(TableData::new(schema, vec![batch]))
    }

    #[test]
    fn same_values_same_version_whatever_the_metadata() {
        let a = data_version_of(&table(&[1, 2, 3], HashMap::new())).expect("hash");
        let meta = HashMap::from([("writer".to_owned(), "other".to_owned())]);
        let b = data_version_of(&table(&[1, 2, 3], meta)).expect("hash");
        assert_eq!(a, b);
    }

    #[test]
    fn different_values_different_version() {
        let a = data_version_of(&table(&[1, 2, 3], HashMap::new())).expect("hash");
        let b = data_version_of(&table(&[1, 2, 4], HashMap::new())).expect("hash");
        assert_ne!(a, b);
    }

    #[test]
    fn version_round_trips_through_text() {
        let v = data_version_of(&Payload::Document(serde_json::json!({"a": 1}))).expect("hash");
        assert_eq!(v.to_string().parse::<DataVersion>().expect("parse"), v);
    }
}
