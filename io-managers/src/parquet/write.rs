//! Writing a table.
//!
//! Small tables ([`write_small`]): encoded on one thread into memory (on the
//! calling task when tiny, else on one blocking thread), then published with a
//! single atomic PUT. No thread is started, no channel, no multipart upload.
//!
//! Big tables ([`write`]): parallel column-chunk encoding on blocking threads,
//! bytes streamed through a bounded channel to an object store upload.
//!
//! ```text
//!  workers (std::thread::scope)      collector (blocking thread)     async task
//!  encode (row group, column)  --->  append row groups in order  --->  BufWriter
//!  chunks, a few groups ahead        to SerializedFileWriter          (put / multipart)
//! ```
//!
//! The upload is completed only after the encoder has written the footer; on
//! any error it is aborted, so nothing is published.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use ::parquet::errors::ParquetError;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use arrow_array::{Array, RecordBatch};
use arrow_schema::Field;
use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::payload::TableData;
use crate::root::StorageRoot;

/// Chunks in flight between the encoder and the upload.
const SINK_DEPTH: usize = 2;
/// Parts of a multipart upload in flight at once.
const UPLOAD_CONCURRENCY: usize = 4;
/// Tables of at most this many bytes of Arrow data are encoded on the calling
/// task: under ~50 us (a few hundred rows of a narrow table), about what a
/// trip to a blocking thread and back costs when many steps run at once.
/// Bigger ones would hold up the runtime's worker longer than tokio advises.
pub(super) const INLINE_ENCODE_BYTES: usize = 8 * 1024;

/// A table to encode and how.
pub(super) struct EncodeJob {
    /// The table (its batches are reference-counted, so this is a cheap copy).
    pub table: TableData,
    /// Encoding settings.
    pub props: WriterProperties,
    /// Most rows per row group.
    pub max_rows: usize,
    /// Most in-memory bytes per row group.
    pub max_bytes: usize,
    /// Encoding threads.
    pub threads: usize,
    /// Bytes handed from the encoder to the upload at a time; a streamed
    /// file below this size is one PUT, above it a multipart upload of
    /// parts this size ([`ParquetOptions::upload_chunk_bytes`](super::ParquetOptions::upload_chunk_bytes)).
    pub chunk_bytes: usize,
    /// The provenance record to put in the footer's key-value metadata
    /// (under [`PROVENANCE_KEY`](super::PROVENANCE_KEY)), if any.
    pub provenance: Option<String>,
}

/// Encodes a small table in memory on one thread and publishes it at `path`
/// with one PUT; returns the bytes written.
///
/// `arrow_bytes` is the table's size in memory ([`table_bytes`]): up to
/// [`INLINE_ENCODE_BYTES`] it is encoded on the calling task.
pub(super) async fn write_small(
    root: &StorageRoot,
    path: &Path,
    job: EncodeJob,
    arrow_bytes: usize,
) -> Result<u64> {
    let encoded = if arrow_bytes <= INLINE_ENCODE_BYTES {
        encode_to_vec(job)
    } else {
        crate::blocking::run(move || encode_to_vec(job))
            .await
            .unwrap_or_else(|| Err(ParquetError::General("the parquet encoder panicked".into())))
    };
    let encoded = encoded.map_err(|source| Error::Parquet {
        uri: root.uri(path),
        source,
    })?;
    let bytes = encoded.len() as u64;
    // One PUT is atomic: locally a staged file renamed into place.
    root.store()
        .put(path, PutPayload::from(encoded))
        .await
        .map_err(|e| root.store_error(path, e))?;
    Ok(bytes)
}

/// Encodes `job` sequentially into memory.
fn encode_to_vec(job: EncodeJob) -> Result<Vec<u8>, ParquetError> {
    let job = EncodeJob { threads: 1, ..job };
    encode(job, Vec::new())
}

/// Encodes `job` and publishes it at `path`, streaming the bytes to a
/// (multipart) upload; returns the bytes written.
pub(super) async fn write(root: &StorageRoot, path: &Path, job: EncodeJob) -> Result<u64> {
    let uri = root.uri(path);
    let chunk_bytes = job.chunk_bytes.max(1);
    let (tx, mut rx) = mpsc::channel::<Bytes>(SINK_DEPTH);
    let encoder =
        crate::blocking::run(move || encode(job, ChannelSink::new(tx, chunk_bytes))?.finish());

    let mut upload = BufWriter::with_capacity(root.store().clone(), path.clone(), chunk_bytes)
        .with_max_concurrency(UPLOAD_CONCURRENCY);
    let mut bytes = 0u64;
    let mut store_error = None;
    let mut chunks = 0u32;
    while let Some(chunk) = rx.recv().await {
        bytes += chunk.len() as u64;
        if let Err(e) = upload.put(chunk).await {
            store_error = Some(e);
            break;
        }
        chunks += 1;
        // From the second chunk on, a multipart upload is staging bytes.
        // Armed only in crash tests: wait until the staged parts are written
        // (whatever the machine's load), so the kill leaves a partial staged
        // file as a real crash would.
        if chunks == 2 && crate::failpoint::armed("parquet.mid_write") {
            let _ = tokio::io::AsyncWriteExt::flush(&mut upload).await;
            crate::failpoint::hit("parquet.mid_write");
        }
    }
    // If the upload failed, this makes the encoder's next send fail, so it stops.
    drop(rx);
    let encoded = encoder.await;

    let failure = match (store_error, encoded) {
        (Some(e), _) => Some(root.store_error(path, e)),
        (None, Some(Ok(()))) => None,
        (None, Some(Err(source))) => Some(Error::Parquet {
            uri: uri.clone(),
            source,
        }),
        (None, None) => Some(Error::Other {
            uri: uri.clone(),
            message: "the parquet encoder panicked".into(),
        }),
    };
    if let Some(failure) = failure {
        // Removes the staged upload; if this fails too, dropping the upload
        // still removes a local staging file.
        if let Err(e) = upload.abort().await {
            tracing::warn!(%uri, "aborting the upload failed: {e}");
        }
        return Err(failure);
    }
    upload
        .shutdown()
        .await
        .map_err(|e| upload_error(root, path, e))?;
    Ok(bytes)
}

/// Recovers the object store error that `BufWriter` wrapped in an IO error.
fn upload_error(root: &StorageRoot, path: &Path, e: std::io::Error) -> Error {
    let message = e.to_string();
    match e
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(source)) => root.store_error(path, *source),
        _ => Error::Other {
            uri: root.uri(path),
            message: format!("upload failed: {message}"),
        },
    }
}

/// A `Write` that hands the encoded bytes to the async upload in chunks of
/// `chunk` bytes, blocking when the upload falls behind (bounded memory).
struct ChannelSink {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    chunk: usize,
}

impl ChannelSink {
    fn new(tx: mpsc::Sender<Bytes>, chunk: usize) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(chunk),
            chunk,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        self.tx
            .blocking_send(Bytes::from(full))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "upload stopped"))
    }

    /// Sends what is left.
    fn finish(mut self) -> Result<(), ParquetError> {
        Ok(self.send()?)
    }
}

impl Write for ChannelSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.chunk {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes the table as one Parquet file into `sink`, and returns the sink.
fn encode<W: Write + Send>(job: EncodeJob, sink: W) -> Result<W, ParquetError> {
    // A table loaded from another file carries that file's provenance in
    // its schema metadata; it must not travel into this file's footer.
    let schema = super::without_provenance(job.table.schema.clone());
    // ArrowWriter sets up what a raw writer would (the Arrow schema in the
    // footer, so types such as LargeUtf8 and time zones round-trip); the
    // row groups are then encoded here, column chunks in parallel.
    let writer = ArrowWriter::try_new(sink, schema.clone(), Some(job.props))?;
    let (mut file_writer, factory) = writer.into_serialized_writer()?;
    if let Some(provenance) = job.provenance {
        // Written with the footer, after the last row group: the record
        // and the data it describes are one object.
        file_writer.append_key_value_metadata(::parquet::file::metadata::KeyValue::new(
            super::PROVENANCE_KEY.to_owned(),
            provenance,
        ));
    }

    let descr = file_writer.schema_descr();
    let mut leaves_per_field = vec![0usize; schema.fields().len()];
    for leaf in 0..descr.num_columns() {
        let root = descr.get_column_root_idx(leaf);
        if let Some(count) = leaves_per_field.get_mut(root) {
            *count += 1;
        }
    }
    let groups = plan_row_groups(&job.table.batches, job.max_rows, job.max_bytes);
    let encoder = Encoder {
        fields: schema.fields().iter().map(|f| f.as_ref()).collect(),
        leaves_per_field,
        groups,
        factory,
    };
    let items = encoder.groups.len() * encoder.fields.len();
    let threads = job.threads.min(items);
    if threads <= 1 {
        encoder.encode_sequentially(&mut file_writer)?;
    } else {
        encoder.encode_in_parallel(&mut file_writer, threads)?;
    }
    file_writer.into_inner()
}

/// Splits the batches into row groups of at most `max_rows` rows and about
/// `max_bytes` bytes of Arrow data. Slicing copies no data.
fn plan_row_groups(
    batches: &[RecordBatch],
    max_rows: usize,
    max_bytes: usize,
) -> Vec<Vec<RecordBatch>> {
    let total_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if total_rows == 0 {
        return Vec::new();
    }
    let total_bytes = table_bytes(batches);
    let row_bytes = (total_bytes / total_rows).max(1);
    let rows_per_group = max_rows.min(max_bytes / row_bytes).max(1);

    let mut groups = Vec::with_capacity(total_rows.div_ceil(rows_per_group));
    let mut current = Vec::new();
    let mut current_rows = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (rows_per_group - current_rows).min(batch.num_rows() - offset);
            if offset == 0 && take == batch.num_rows() {
                current.push(batch.clone());
            } else {
                current.push(batch.slice(offset, take));
            }
            offset += take;
            current_rows += take;
            if current_rows == rows_per_group {
                groups.push(std::mem::take(&mut current));
                current_rows = 0;
            }
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Bytes of Arrow data the batches hold.
pub(super) fn table_bytes(batches: &[RecordBatch]) -> usize {
    batches.iter().map(batch_bytes).sum()
}

/// Bytes of Arrow data a batch holds (its slice, not the buffers it shares).
fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

/// The planned row groups and what encodes them.
struct Encoder<'a> {
    fields: Vec<&'a Field>,
    /// Parquet leaf columns of each top-level field (1 unless nested).
    leaves_per_field: Vec<usize>,
    groups: Vec<Vec<RecordBatch>>,
    factory: ArrowRowGroupWriterFactory,
}

impl Encoder<'_> {
    /// The column writers of row group `group`, split per top-level field.
    fn writers(&self, group: usize) -> Result<Vec<Vec<ArrowColumnWriter>>, ParquetError> {
        let mut all = self.factory.create_column_writers(group)?.into_iter();
        Ok(self
            .leaves_per_field
            .iter()
            .map(|&n| all.by_ref().take(n).collect())
            .collect())
    }

    /// Encodes field `field` of row group `group` into its column chunks.
    fn encode_field(
        &self,
        group: usize,
        field: usize,
        mut writers: Vec<ArrowColumnWriter>,
    ) -> Result<Vec<ArrowColumnChunk>, ParquetError> {
        let arrow_field = self.fields[field];
        for batch in &self.groups[group] {
            let leaves = compute_leaves(arrow_field, batch.column(field))?;
            if leaves.len() != writers.len() {
                return Err(ParquetError::General(format!(
                    "column {:?}: {} leaves for {} writers",
                    arrow_field.name(),
                    leaves.len(),
                    writers.len()
                )));
            }
            for (writer, leaf) in writers.iter_mut().zip(&leaves) {
                writer.write(leaf)?;
            }
        }
        writers.into_iter().map(|w| w.close()).collect()
    }

    fn encode_sequentially<W: Write + Send>(
        &self,
        file: &mut SerializedFileWriter<W>,
    ) -> Result<(), ParquetError> {
        for group in 0..self.groups.len() {
            let mut chunks = Vec::with_capacity(self.fields.len());
            for (field, writers) in self.writers(group)?.into_iter().enumerate() {
                chunks.push(self.encode_field(group, field, writers)?);
            }
            append_row_group(file, chunks)?;
        }
        Ok(())
    }

    /// Workers take (row group, field) items in order and encode them; this
    /// thread appends each row group as soon as all its chunks are ready.
    /// Workers stay at most `lookahead` row groups ahead of the appended ones,
    /// which bounds the encoded data held in memory.
    fn encode_in_parallel<W: Write + Send>(
        &self,
        file: &mut SerializedFileWriter<W>,
        threads: usize,
    ) -> Result<(), ParquetError> {
        let fields = self.fields.len();
        let items = self.groups.len() * fields;
        let lookahead = threads.div_ceil(fields).max(2);
        let shared = Shared {
            state: Mutex::new(State {
                next: 0,
                appended: 0,
                writers: (0..items).map(|_| None).collect(),
                done: (0..items).map(|_| None).collect(),
                error: None,
                stop: false,
            }),
            changed: Condvar::new(),
        };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| self.work(&shared, items, lookahead));
            }
            let result = self.collect(&shared, file);
            if result.is_err() {
                shared.lock().stop = true;
                shared.changed.notify_all();
            }
            result
        })
    }

    /// One worker's loop.
    fn work(&self, shared: &Shared, items: usize, lookahead: usize) {
        let fields = self.fields.len();
        loop {
            let (item, writers) = {
                let mut state = shared.lock();
                loop {
                    if state.stop || state.next >= items {
                        return;
                    }
                    if state.next / fields < state.appended + lookahead {
                        break;
                    }
                    state = shared.wait(state);
                }
                let item = state.next;
                state.next += 1;
                if item.is_multiple_of(fields) {
                    // First item of a row group: create all its writers.
                    match self.writers(item / fields) {
                        Ok(per_field) => {
                            for (slot, writers) in state.writers[item..].iter_mut().zip(per_field) {
                                *slot = Some(writers);
                            }
                        }
                        Err(e) => {
                            state.fail(e);
                            drop(state);
                            shared.changed.notify_all();
                            return;
                        }
                    }
                }
                (item, state.writers[item].take())
            };
            let result = match writers {
                Some(writers) => catch_unwind(AssertUnwindSafe(|| {
                    self.encode_field(item / fields, item % fields, writers)
                }))
                .unwrap_or_else(|_| Err(ParquetError::General("a column encoder panicked".into()))),
                None => Err(ParquetError::General(format!(
                    "no column writers for work item {item}"
                ))),
            };
            let mut state = shared.lock();
            match result {
                Ok(chunks) => state.done[item] = Some(chunks),
                Err(e) => state.fail(e),
            }
            drop(state);
            shared.changed.notify_all();
        }
    }

    /// Appends the row groups in order as their chunks become ready.
    fn collect<W: Write + Send>(
        &self,
        shared: &Shared,
        file: &mut SerializedFileWriter<W>,
    ) -> Result<(), ParquetError> {
        let fields = self.fields.len();
        for group in 0..self.groups.len() {
            let items = group * fields..(group + 1) * fields;
            let chunks = {
                let mut state = shared.lock();
                loop {
                    if state.stop {
                        return Err(state.error.take().unwrap_or_else(|| {
                            ParquetError::General("parallel encoding stopped".into())
                        }));
                    }
                    if state.done[items.clone()].iter().all(Option::is_some) {
                        break;
                    }
                    state = shared.wait(state);
                }
                state.done[items]
                    .iter_mut()
                    .filter_map(Option::take)
                    .collect::<Vec<_>>()
            };
            append_row_group(file, chunks)?;
            shared.lock().appended = group + 1;
            shared.changed.notify_all();
        }
        Ok(())
    }
}

/// Writes one row group from its column chunks, in field order.
fn append_row_group<W: Write + Send>(
    file: &mut SerializedFileWriter<W>,
    chunks: Vec<Vec<ArrowColumnChunk>>,
) -> Result<(), ParquetError> {
    let mut row_group = file.next_row_group()?;
    for chunk in chunks.into_iter().flatten() {
        chunk.append_to_row_group(&mut row_group)?;
    }
    row_group.close()?;
    Ok(())
}

/// State shared by the workers and the collector of a parallel encode.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` inconsistent
        // in a way that matters: every reader re-checks `stop`.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

struct State {
    /// The next work item, `row group * fields + field`.
    next: usize,
    /// Row groups appended to the file so far.
    appended: usize,
    /// Column writers created for an item and not yet taken by its worker.
    writers: Vec<Option<Vec<ArrowColumnWriter>>>,
    /// Encoded column chunks of an item, until the collector takes them.
    done: Vec<Option<Vec<ArrowColumnChunk>>>,
    /// The first error.
    error: Option<ParquetError>,
    /// Everyone stops (after an error).
    stop: bool,
}

impl State {
    fn fail(&mut self, e: ParquetError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.stop = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Schema};
    use std::sync::Arc;

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
        )
        .expect("batch")
    }

    #[test]
    fn row_groups_respect_the_row_limit_across_batches() {
        let groups = plan_row_groups(&[batch(7), batch(0), batch(5)], 4, usize::MAX);
        let sizes: Vec<usize> = groups
            .iter()
            .map(|g| g.iter().map(|b| b.num_rows()).sum())
            .collect();
        assert_eq!(sizes, [4, 4, 4]);
    }

    #[test]
    fn row_groups_respect_the_byte_limit() {
        // 8 bytes per row: 80 bytes is 10 rows.
        let groups = plan_row_groups(&[batch(25)], usize::MAX, 80);
        let sizes: Vec<usize> = groups
            .iter()
            .map(|g| g.iter().map(|b| b.num_rows()).sum())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn no_rows_no_row_groups() {
        assert!(plan_row_groups(&[batch(0)], 10, 10).is_empty());
        assert!(plan_row_groups(&[], 10, 10).is_empty());
    }
}
