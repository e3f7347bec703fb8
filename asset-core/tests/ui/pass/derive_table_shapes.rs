//! Every newtype shape `#[derive(Table)]` takes, tuple or named.
use asset_core::Table;
use asset_core::arrow_array::RecordBatch;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub id: i64,
    pub name: Option<String>,
}

#[derive(Table)]
pub struct OneBatch(RecordBatch);

#[derive(Table)]
pub struct NamedBatch {
    pub batch: asset_core::arrow_array::RecordBatch,
}

#[derive(Table)]
pub struct Batches(Vec<RecordBatch>);

#[derive(Table)]
pub struct NamedBatches {
    batches: std::vec::Vec<RecordBatch>,
}

#[derive(Table)]
pub struct Rows(pub Vec<Row>);

#[derive(Table)]
pub struct NamedRows {
    rows: Vec<Row>,
}

fn assert_table<T: Table>() {}

fn main() {
    assert_table::<OneBatch>();
    assert_table::<NamedBatch>();
    assert_table::<Batches>();
    assert_table::<NamedBatches>();
    assert_table::<Rows>();
    assert_table::<NamedRows>();
    let _ = NamedRows { rows: vec![] }.rows;
    let _ = NamedBatches { batches: vec![] }.batches;
}
