//! The type-erased value an asset produced, as IO managers see it.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

/// What an IO manager stores for one asset-partition.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A table: record batches sharing one schema.
    Table(TableData),
    /// A small structured value (model parameters, metrics), as JSON.
    Document(serde_json::Value),
    /// No value: the asset only had side effects. Its provenance is still recorded.
    Nothing,
}

/// The kinds of [`Payload`], for matching IO managers to assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// [`Payload::Table`].
    Table,
    /// [`Payload::Document`].
    Document,
    /// [`Payload::Nothing`].
    Nothing,
}

impl PayloadKind {
    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::Table => "table",
            PayloadKind::Document => "document",
            PayloadKind::Nothing => "empty",
        }
    }
}

impl Payload {
    /// This payload's kind.
    pub fn kind(&self) -> PayloadKind {
        match self {
            Payload::Table(_) => PayloadKind::Table,
            Payload::Document(_) => PayloadKind::Document,
            Payload::Nothing => PayloadKind::Nothing,
        }
    }

    /// Rows in a table; 1 for a document; 0 for nothing.
    pub fn num_rows(&self) -> u64 {
        match self {
            Payload::Table(t) => t.num_rows(),
            Payload::Document(_) => 1,
            Payload::Nothing => 0,
        }
    }
}

/// Record batches with their common schema (kept even when there are no batches,
/// so an empty table still has columns).
#[derive(Debug, Clone)]
pub struct TableData {
    /// The schema every batch has.
    pub schema: SchemaRef,
    /// The rows, in order.
    pub batches: Vec<RecordBatch>,
}

impl TableData {
    /// A table from a schema and batches of that schema.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self { schema, batches }
    }

    /// Total rows across batches.
    pub fn num_rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }
}

impl From<RecordBatch> for TableData {
    fn from(batch: RecordBatch) -> Self {
        Self {
            schema: batch.schema(),
            batches: vec![batch],
        }
    }
}
