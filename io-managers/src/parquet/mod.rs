//! Tables as Parquet files on an object store.
//!
//! Layout under the storage root, one Hive folder level per partition
//! dimension and one object per asset-partition:
//!
//! ```text
//! <root>/<asset>/day=2024-01-01/part-0.parquet
//! <root>/<asset>/day=2024-01-01/region=eu/part-0.parquet   (multi-partitions)
//! <root>/<asset>/part-0.parquet                            (unpartitioned assets)
//! ```
//!
//! The provenance record is in the file's footer, as the key-value metadata
//! entry [`PROVENANCE_KEY`] (one JSON document), so data and record are
//! published together and reading the record reads only the footer. Every
//! publish is atomic (locally: a staged `part-0.parquet#<n>` file renamed
//! into place), so readers see the old file or the new one, never a partial
//! one. Files of the previous layout (`<asset>/<key>/data.parquet` with a
//! `_provenance.json` beside it) are read when the new file is missing. Two paths, chosen by size ([`ParquetOptions::small_table_rows`],
//! [`ParquetOptions::small_table_bytes`]), so that the many small tables of a
//! pipeline pay no more than one encode and one request each, and big ones
//! keep bounded memory and use every core:
//!
//! - small tables are encoded on one thread into memory and published with a
//!   single PUT; small files are fetched with a single GET (on a local root:
//!   opened, read and decoded on one blocking thread) and decoded at once;
//! - big tables have their column chunks encoded on several threads and
//!   streamed through [`object_store::buffered::BufWriter`] (a multipart
//!   upload published only when it completes); big files are read through an
//!   [`AsyncFileReader`](::parquet::arrow::async_reader::AsyncFileReader) on
//!   the object store, row groups fetched in order and decoded in parallel.
//!
//! Row groups are bounded in rows and bytes on both paths, so a file's layout
//! does not depend on the path that wrote it.

mod read;
mod write;

use std::sync::{Arc, OnceLock};

use ::parquet::basic::Compression;
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::io_manager::{IoManager, StoreReceipt};
use crate::location::Location;
use crate::payload::{Payload, PayloadKind, TableData};
use crate::root::StorageRoot;

/// How [`ParquetIoManager`] writes and reads files.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Compression codec of every column. Default: SNAPPY (the only codec
    /// built in by default; others need the matching `parquet` cargo feature).
    pub compression: Compression,
    /// Most rows in one row group. Default: 1,048,576 (parquet's default).
    pub max_row_group_rows: usize,
    /// Most bytes of Arrow data (in memory, before encoding) in one row
    /// group; bounds the memory a write holds per row group in flight.
    /// Default: 128 MiB.
    pub max_row_group_bytes: usize,
    /// Dictionary encoding (falls back to plain per column when the
    /// dictionary grows too large). Default: on.
    pub dictionary: bool,
    /// Column statistics written (min/max, null counts). Default: per page.
    pub statistics: EnabledStatistics,
    /// Threads encoding the column chunks of a big table in parallel; 0
    /// means one per available CPU, 1 encodes on a single thread like
    /// `ArrowWriter`. Small tables (see
    /// [`small_table_rows`](Self::small_table_rows)) are always encoded on
    /// one thread: starting threads would cost more than it saves.
    /// Default: 0.
    pub write_threads: usize,
    /// Row groups of a big file decoded in parallel while loading; 0 means
    /// one per available CPU. Small files (see
    /// [`small_table_bytes`](Self::small_table_bytes)) are decoded at once.
    /// Default: 0.
    pub read_threads: usize,
    /// Rows per record batch when loading. Default: 8192.
    pub read_batch_size: usize,
    /// Tables of at most this many rows (and at most
    /// [`small_table_bytes`](Self::small_table_bytes)) are small: encoded on
    /// one thread into memory and published with a single PUT, with no
    /// thread started. Bigger ones are encoded on
    /// [`write_threads`](Self::write_threads) threads and streamed to the
    /// store. Default: 262,144.
    pub small_table_rows: usize,
    /// Tables of at most this many bytes of Arrow data (and at most
    /// [`small_table_rows`](Self::small_table_rows)) are small, see there.
    /// Files of at most this many bytes are loaded with a single GET and
    /// decoded at once; bigger ones are streamed row group by row group
    /// ([`read_threads`](Self::read_threads) at a time). Default: 16 MiB.
    pub small_table_bytes: usize,
    /// Bytes a big table's encoder hands to the upload at a time, and the
    /// part size of its multipart upload (a streamed file below this size is
    /// published with one PUT). Bounds the encoded bytes held in memory
    /// (about three chunks). Default: 8 MiB.
    pub upload_chunk_bytes: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            compression: Compression::SNAPPY,
            max_row_group_rows: 1024 * 1024,
            max_row_group_bytes: 128 * 1024 * 1024,
            dictionary: true,
            statistics: EnabledStatistics::Page,
            write_threads: 0,
            read_threads: 0,
            read_batch_size: 8192,
            small_table_rows: 256 * 1024,
            small_table_bytes: 16 * 1024 * 1024,
            upload_chunk_bytes: 8 * 1024 * 1024,
        }
    }
}

impl ParquetOptions {
    /// The parquet writer properties these options describe.
    pub fn writer_properties(&self) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(self.compression)
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(self.statistics)
            .set_max_row_group_row_count(Some(self.max_row_group_rows.max(1)))
            .set_created_by(format!(
                "io-managers {} ({})",
                env!("CARGO_PKG_VERSION"),
                ::parquet::file::properties::DEFAULT_CREATED_BY
            ))
            .build()
    }

    fn resolved_threads(requested: usize) -> usize {
        match requested {
            0 => available_parallelism(),
            n => n,
        }
    }

    /// Whether a table of `rows` rows and `bytes` bytes of Arrow data takes
    /// the small-table path (one thread, one PUT).
    fn is_small_table(&self, rows: u64, bytes: usize) -> bool {
        rows <= self.small_table_rows as u64 && bytes <= self.small_table_bytes
    }
}

/// The CPUs this process may use, asked once: the standard library reads the
/// affinity mask and the cgroup quota files on every call.
fn available_parallelism() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The key of the footer's key-value metadata entry holding the provenance
/// record (JSON). Arrow readers show it as schema metadata
/// (`pyarrow.parquet.read_schema(path).metadata[b"assetflow.provenance"]`).
pub const PROVENANCE_KEY: &str = "assetflow.provenance";

/// `schema` without the [`PROVENANCE_KEY`] entry in its metadata: the record
/// belongs to the file it was read from, not to the table.
pub(crate) fn without_provenance(schema: SchemaRef) -> SchemaRef {
    if !schema.metadata().contains_key(PROVENANCE_KEY) {
        return schema;
    }
    let mut metadata = schema.metadata().clone();
    metadata.remove(PROVENANCE_KEY);
    Arc::new(arrow_schema::Schema::new_with_metadata(
        schema.fields().clone(),
        metadata,
    ))
}

/// `batch` with `schema` (the same columns, metadata stripped).
fn with_schema(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let (_, columns, rows) = batch.into_parts();
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| Error::Other {
        uri: String::new(),
        message: format!("cannot strip the provenance from a batch's schema: {e}"),
    })
}

/// The provenance record of a footer, with `bytes` set to the file's size:
/// a record written into a file cannot know the size of that file, so the
/// writer leaves it at 0.
fn with_file_size(record: String, size: u64) -> Vec<u8> {
    match serde_json::from_str::<serde_json::Value>(&record) {
        Ok(serde_json::Value::Object(mut map)) if map.contains_key("bytes") => {
            map.insert("bytes".into(), size.into());
            serde_json::to_vec(&map).unwrap_or_else(|_| record.into_bytes())
        }
        // Not ours to judge: the caller parses it and reports what is wrong.
        _ => record.into_bytes(),
    }
}

/// Stores [`Payload::Table`]s as Parquet files under a [`StorageRoot`].
///
/// Its futures must run inside a tokio runtime (object_store's uploads spawn
/// tokio tasks); encoding and decoding run on tokio's blocking threads, not
/// on the runtime's workers.
#[derive(Debug, Clone)]
pub struct ParquetIoManager {
    name: String,
    root: StorageRoot,
    options: ParquetOptions,
}

impl ParquetIoManager {
    /// The file name of the data in each asset-partition folder.
    pub const DATA_FILE_NAME: &'static str = "part-0.parquet";

    /// The file name the previous release used (`<asset>/<key>/data.parquet`).
    pub const LEGACY_DATA_FILE_NAME: &'static str = "data.parquet";

    /// A Parquet IO manager named `"parquet"` with default options.
    pub fn new(root: StorageRoot) -> Self {
        Self::with_options(root, ParquetOptions::default())
    }

    /// A Parquet IO manager named `"parquet"` with the given options.
    pub fn with_options(root: StorageRoot, options: ParquetOptions) -> Self {
        Self {
            name: "parquet".to_owned(),
            root,
            options,
        }
    }

    /// Registers this IO manager under another name (to have several, e.g.
    /// one per storage root).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The storage root.
    pub fn root(&self) -> &StorageRoot {
        &self.root
    }

    /// The options.
    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    /// The store path of the data file of `location`.
    pub fn data_path(&self, location: &Location) -> Path {
        self.root.path_for(location, Self::DATA_FILE_NAME)
    }

    /// The store path of the previous release's data file of `location`.
    pub fn legacy_data_path(&self, location: &Location) -> Path {
        self.root
            .legacy_path_for(location, Self::LEGACY_DATA_FILE_NAME)
    }

    /// Opens the table at `location`: its schema (known even when the table
    /// has no rows) and a stream of its record batches.
    ///
    /// A file of at most [`ParquetOptions::small_table_bytes`] is fetched
    /// with one GET and decoded at once. A bigger one is streamed: row groups
    /// are fetched one after the other and decoded in parallel
    /// ([`ParquetOptions::read_threads`] at a time), so memory stays bounded
    /// by a few row groups whatever the table's size; every fetch is
    /// conditional on the ETag seen when opening, so a file replaced
    /// mid-stream is an error, never a mix of two files.
    ///
    /// A missing file is [`Error::NotFound`]; a file that is not valid
    /// Parquet (corrupt, truncated) is [`Error::Parquet`] naming its URI.
    pub async fn open(
        &self,
        location: &Location,
    ) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
        let options = read::ReadOptions {
            batch_size: self.options.read_batch_size.max(1),
            threads: ParquetOptions::resolved_threads(self.options.read_threads),
            small_file_bytes: self.options.small_table_bytes as u64,
        };
        let opened = match read::open(self.root.clone(), self.data_path(location), options).await {
            // A root written by the previous release: its file, until migrated.
            Err(Error::NotFound { uri }) => {
                match read::open(self.root.clone(), self.legacy_data_path(location), options).await
                {
                    Err(Error::NotFound { .. }) => Err(Error::NotFound { uri }),
                    other => other,
                }
            }
            other => other,
        };
        let (schema, batches) = opened?;
        if !schema.metadata().contains_key(PROVENANCE_KEY) {
            return Ok((schema, batches));
        }
        let schema = without_provenance(schema);
        let stripped = schema.clone();
        let batches = batches
            .and_then(move |batch| futures::future::ready(with_schema(batch, &stripped)))
            .boxed();
        Ok((schema, batches))
    }

    /// Encodes `payload` and publishes it at `location` with `provenance`
    /// in the footer: one object.
    async fn write(
        &self,
        location: &Location,
        payload: &Payload,
        provenance: Option<&[u8]>,
    ) -> Result<StoreReceipt> {
        let Payload::Table(table) = payload else {
            return Err(self.wrong_payload(location, payload));
        };
        crate::failpoint::hit("parquet.before_write");
        let path = self.data_path(location);
        let uri = self.root.uri(&path);
        check_batches(table, &uri)?;
        self.root.ensure_contained(&path)?;
        let provenance = provenance
            .map(|bytes| {
                String::from_utf8(bytes.to_vec()).map_err(|_| Error::Other {
                    uri: uri.clone(),
                    message: "the provenance record is not UTF-8 text".into(),
                })
            })
            .transpose()?;
        let arrow_bytes = write::table_bytes(&table.batches);
        let small = self.options.is_small_table(table.num_rows(), arrow_bytes);
        let job = write::EncodeJob {
            table: table.clone(),
            props: self.options.writer_properties(),
            max_rows: self.options.max_row_group_rows.max(1),
            max_bytes: self.options.max_row_group_bytes.max(1),
            threads: if small {
                1
            } else {
                ParquetOptions::resolved_threads(self.options.write_threads)
            },
            chunk_bytes: self.options.upload_chunk_bytes.max(1),
            provenance,
        };
        let bytes = if small {
            write::write_small(&self.root, &path, job, arrow_bytes).await?
        } else {
            write::write(&self.root, &path, job).await?
        };
        self.root.sync_published(&path).await?;
        self.root
            .remove_legacy_local(location, Self::LEGACY_DATA_FILE_NAME)?;
        crate::failpoint::hit("parquet.after_publish");
        tracing::debug!(%uri, rows = table.num_rows(), bytes, "stored parquet");
        Ok(StoreReceipt {
            uri,
            rows: table.num_rows(),
            bytes,
        })
    }

    /// The provenance record in the footer of the Parquet file at `path`
    /// under `root`, reading only the footer; `None` if the footer has no
    /// [`PROVENANCE_KEY`] entry. A missing file is [`Error::NotFound`], one
    /// that is not Parquet [`Error::Parquet`].
    pub async fn read_footer_provenance(root: &StorageRoot, path: &Path) -> Result<Option<String>> {
        match read::read_footer_entry(root, path, PROVENANCE_KEY).await? {
            Some(entry) => Ok(entry.value),
            None => Err(Error::NotFound {
                uri: root.uri(path),
            }),
        }
    }

    fn wrong_payload(&self, location: &Location, payload: &Payload) -> Error {
        Error::WrongPayload {
            uri: self.uri(location),
            manager: self.name.clone(),
            expected: PayloadKind::Table.name(),
            got: payload.kind().name(),
        }
    }
}

/// Checks every batch has the table's column types, so a mismatch is
/// reported with the batch at fault rather than as an encoder error.
fn check_batches(table: &TableData, uri: &str) -> Result<()> {
    let fields = table.schema.fields();
    for (i, batch) in table.batches.iter().enumerate() {
        let columns = batch.columns();
        let mismatch = if columns.len() != fields.len() {
            Some(format!(
                "has {} columns, the table's schema has {}",
                columns.len(),
                fields.len()
            ))
        } else {
            fields.iter().zip(columns).find_map(|(field, column)| {
                if column.data_type() != field.data_type() {
                    Some(format!(
                        "column {:?} is {}, the table's schema says {}",
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ))
                } else if !field.is_nullable() && column.null_count() > 0 {
                    Some(format!(
                        "column {:?} has nulls but is not nullable in the table's schema",
                        field.name()
                    ))
                } else {
                    None
                }
            })
        };
        if let Some(mismatch) = mismatch {
            return Err(Error::Other {
                uri: uri.to_owned(),
                message: format!("record batch {i} does not match the table: {mismatch}"),
            });
        }
    }
    Ok(())
}

impl IoManager for ParquetIoManager {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> PayloadKind {
        PayloadKind::Table
    }

    fn uri(&self, location: &Location) -> String {
        self.root.uri(&self.data_path(location))
    }

    /// The table without a provenance record in its footer.
    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(self.write(location, payload, None))
    }

    /// One object: the record is the footer's [`PROVENANCE_KEY`] entry.
    fn publish<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
        provenance: &'a [u8],
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(self.write(location, payload, Some(provenance)))
    }

    fn load<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Payload>> {
        Box::pin(async move {
            let (schema, batches) = self.open(location).await?;
            let batches: Vec<RecordBatch> = batches.try_collect().await?;
            Ok(Payload::Table(TableData::new(schema, batches)))
        })
    }

    /// One HEAD (two for a value still in the previous layout): the table
    /// is not read.
    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            Ok(self.root.exists(&self.data_path(location)).await?
                || self.root.exists(&self.legacy_data_path(location)).await?)
        })
    }

    /// One HEAD with the file's size (two for a value still in the
    /// previous layout).
    fn published<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<crate::Published>> {
        Box::pin(self.root.published_or_legacy(
            location,
            Self::DATA_FILE_NAME,
            Self::LEGACY_DATA_FILE_NAME,
        ))
    }

    fn load_batches<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<BoxStream<'a, Result<RecordBatch>>>> {
        Box::pin(async move {
            let (_, batches) = self.open(location).await?;
            Ok(batches)
        })
    }

    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.root.put_sidecar(location, sidecar))
    }

    /// The footer's record (only the footer is read); for a file written
    /// without one, the provenance tree's; for a value in the previous
    /// layout, its sidecar.
    fn load_sidecar<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let path = self.data_path(location);
            match read::read_footer_entry(&self.root, &path, PROVENANCE_KEY).await? {
                Some(read::FooterEntry {
                    value: Some(record),
                    size,
                }) => Ok(Some(with_file_size(record, size))),
                _ => self.root.get_sidecar(location).await,
            }
        })
    }

    fn files(&self) -> Option<(&StorageRoot, &str)> {
        Some((&self.root, Self::DATA_FILE_NAME))
    }

    /// The tagged table is published again with the production record in
    /// its footer: a file's footer is part of the file, so the bytes cannot
    /// be shared with the tagged copy (whose footer names the tag). The
    /// writer is deterministic, so the data pages are the same bytes.
    fn promote_from_tag<'a>(
        &'a self,
        tag: &'a str,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(async move {
            let tagged = Self {
                name: self.name.clone(),
                root: self.root.with_tag(tag)?,
                options: self.options.clone(),
            };
            let payload = tagged.load(location).await?;
            self.publish(location, &payload, sidecar).await
        })
    }
}

#[cfg(test)]
mod tests;
