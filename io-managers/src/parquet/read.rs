//! Reading a table.
//!
//! On a local root, a small file is opened, read and decoded on one blocking
//! thread ([`StorageRoot::read_local`]). Otherwise the first request is a GET
//! of the whole object. Locally that only opens the file (nothing is read
//! until asked); on object stores the response's headers arrive first.
//! Either way it tells the object's size and ETag:
//!
//! - a small file is read from that same response and decoded at once (on
//!   one blocking thread, or on the calling task when tiny and already in
//!   memory): one request, consistent by construction;
//! - a big file is streamed through an `AsyncFileReader` on the object store,
//!   row groups fetched in order and decoded in parallel on blocking threads,
//!   every fetch conditional on the ETag of the first response.

use std::ops::Range;
use std::sync::Arc;

use ::parquet::arrow::ParquetRecordBatchStreamBuilder;
use ::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use ::parquet::arrow::async_reader::AsyncFileReader;
use ::parquet::errors::ParquetError;
use ::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetResult, GetResultPayload, ObjectStore, ObjectStoreExt};

use crate::error::{Error, Result};
use crate::root::{LocalRead, StorageRoot};

/// Bytes read from the end of the file at once, to get the footer in one request.
const FOOTER_HINT: usize = 64 * 1024;
/// Ranges closer than this are fetched as one request.
const COALESCE_GAP: u64 = 1024 * 1024;
/// Range requests in flight at once.
const FETCH_CONCURRENCY: usize = 8;
/// Files of at most this many bytes, once in memory (fetched from an object
/// store), are decoded on the calling task: under ~50 us, about what a trip
/// to a blocking thread and back costs when many steps run at once.
const INLINE_DECODE_BYTES: usize = 32 * 1024;

/// How [`open`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadOptions {
    /// Rows per record batch.
    pub batch_size: usize,
    /// Row groups of a big file decoded at once.
    pub threads: usize,
    /// Files of at most this size are fetched whole and decoded at once.
    pub small_file_bytes: u64,
}

/// An [`AsyncFileReader`] over one object of an [`ObjectStore`].
///
/// Every read is conditional on the object's ETag seen when it was opened, so
/// a file replaced during a read (a concurrent rerun) is an error, never a
/// silent mix of two files.
#[derive(Debug, Clone)]
pub(super) struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    e_tag: Option<String>,
}

impl ObjectReader {
    async fn fetch(&self, range: Range<u64>) -> object_store::Result<Bytes> {
        let options = GetOptions {
            if_match: self.e_tag.clone(),
            range: Some(range.into()),
            ..GetOptions::default()
        };
        self.store
            .get_opts(&self.path, options)
            .await?
            .bytes()
            .await
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, ::parquet::errors::Result<Bytes>> {
        async move { self.fetch(range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, ::parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let merged = coalesce(&ranges, COALESCE_GAP);
            let fetched: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
                .map(|range| self.fetch(range))
                .buffered(FETCH_CONCURRENCY)
                .try_collect()
                .await
                .map_err(external)?;
            ranges
                .iter()
                .map(|range| {
                    let i = merged.partition_point(|m| m.end < range.end);
                    let (m, bytes) = merged.get(i).zip(fetched.get(i)).ok_or_else(|| {
                        ParquetError::General(format!("range {range:?} was not fetched"))
                    })?;
                    let start = usize::try_from(range.start - m.start)
                        .map_err(|e| ParquetError::General(e.to_string()))?;
                    let end = usize::try_from(range.end - m.start)
                        .map_err(|e| ParquetError::General(e.to_string()))?;
                    if end > bytes.len() {
                        return Err(ParquetError::EOF(format!(
                            "expected bytes {range:?}, the object ends at {}",
                            m.start + bytes.len() as u64
                        )));
                    }
                    Ok(bytes.slice(start..end))
                })
                .collect()
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, ::parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_HINT))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Merges ranges whose gap is at most `gap` bytes; the result is sorted and
/// each input range lies inside exactly one merged range.
fn coalesce(ranges: &[Range<u64>], gap: u64) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// What the footer of a Parquet file holds for us: the value of one
/// key-value metadata entry, and the file's size.
pub(super) struct FooterEntry {
    /// The entry's value, `None` if the footer has no such key.
    pub value: Option<String>,
    /// The file's size in bytes.
    pub size: u64,
}

/// Reads only the footer of the Parquet file at `path` (no data pages) and
/// returns the value of its key-value metadata entry `key`; `None` if there
/// is no file. A file that is not Parquet is [`Error::Parquet`].
pub(super) async fn read_footer_entry(
    root: &StorageRoot,
    path: &Path,
    key: &'static str,
) -> Result<Option<FooterEntry>> {
    let entry_of = |metadata: &ParquetMetaData, size: u64| FooterEntry {
        value: metadata
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|e| e.key == key))
            .and_then(|e| e.value.clone()),
        size,
    };
    if let Some(file) = root.local_file(path) {
        let file = file?;
        let read = crate::blocking::run(move || -> std::io::Result<Option<_>> {
            let opened = match std::fs::File::open(&file) {
                Ok(opened) => opened,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let len = opened.metadata()?;
            if !len.is_file() {
                return Ok(None);
            }
            Ok(Some((
                ParquetMetaDataReader::new().parse_and_finish(&opened),
                len.len(),
            )))
        })
        .await;
        return match read {
            Some(Ok(None)) => Ok(None),
            Some(Ok(Some((Ok(metadata), size)))) => Ok(Some(entry_of(&metadata, size))),
            Some(Ok(Some((Err(e), _)))) => Err(read_error(root, path, e)),
            Some(Err(e)) => Err(root.store_error(
                path,
                object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(e),
                },
            )),
            None => Err(Error::Other {
                uri: root.uri(path),
                message: "reading the parquet footer panicked".into(),
            }),
        };
    }
    let meta = match root.store().head(path).await {
        Ok(meta) => meta,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(root.store_error(path, e)),
    };
    let mut reader = ObjectReader {
        store: root.store().clone(),
        path: path.clone(),
        size: meta.size,
        e_tag: meta.e_tag.clone(),
    };
    let metadata = reader
        .get_metadata(None)
        .await
        .map_err(|e| read_error(root, path, e))?;
    Ok(Some(entry_of(&metadata, meta.size)))
}

/// Opens the Parquet file at `path`: its schema and a stream of its batches.
pub(super) async fn open(
    root: StorageRoot,
    path: Path,
    options: ReadOptions,
) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
    let batch_size = options.batch_size;
    let local = root
        .read_local(&path, options.small_file_bytes, move |bytes| {
            decode_whole(bytes, batch_size)
        })
        .await;
    match local.transpose()? {
        Some(LocalRead::Read(decoded)) => {
            let (schema, batches) = decoded.map_err(|e| read_error(&root, &path, e))?;
            let batches = futures::stream::iter(batches.into_iter().map(Ok)).boxed();
            return Ok((schema, batches));
        }
        Some(LocalRead::Missing) => {
            return Err(Error::NotFound {
                uri: root.uri(&path),
            });
        }
        // Big local files are streamed like any other.
        Some(LocalRead::TooBig) | None => {}
    }
    let got = root
        .store()
        .get(&path)
        .await
        .map_err(|e| root.store_error(&path, e))?;
    if got.meta.size <= options.small_file_bytes {
        let (schema, batches) = read_whole(&root, &path, got, options.batch_size).await?;
        let batches = futures::stream::iter(batches.into_iter().map(Ok)).boxed();
        return Ok((schema, batches));
    }
    let reader = ObjectReader {
        store: root.store().clone(),
        path: path.clone(),
        size: got.meta.size,
        e_tag: got.meta.e_tag.clone(),
    };
    // The GET stood in for a HEAD: locally this closes the file; on an
    // object store it drops the response before its body is read.
    drop(got);
    stream(root, path, reader, options).await
}

/// Reads the object `got` is the answer for, and decodes it whole.
async fn read_whole(
    root: &StorageRoot,
    path: &Path,
    got: GetResult,
    batch_size: usize,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let GetResult {
        payload,
        meta,
        range,
        attributes,
    } = got;
    let decoded = match payload {
        // A local file, already open: read it and decode it on one blocking
        // thread. The open file is the one the GET saw, whatever renames
        // happen meanwhile.
        GetResultPayload::File(file, file_path) => {
            crate::blocking::run(move || {
                let bytes = read_file(file, &file_path, range)?;
                decode_whole(bytes, batch_size)
            })
            .await
        }
        payload => {
            let got = GetResult {
                payload,
                meta,
                range,
                attributes,
            };
            let bytes = got.bytes().await.map_err(|e| root.store_error(path, e))?;
            if bytes.len() <= INLINE_DECODE_BYTES {
                Some(decode_whole(bytes, batch_size))
            } else {
                crate::blocking::run(move || decode_whole(bytes, batch_size)).await
            }
        }
    };
    match decoded {
        Some(Ok(decoded)) => Ok(decoded),
        Some(Err(e)) => Err(read_error(root, path, e)),
        None => Err(Error::Other {
            uri: root.uri(path),
            message: "the parquet decoder panicked".into(),
        }),
    }
}

/// Reads `range` of an open file. IO failures are store errors, as they
/// would be through the store.
fn read_file(
    mut file: std::fs::File,
    file_path: &std::path::Path,
    range: Range<u64>,
) -> ::parquet::errors::Result<Bytes> {
    use std::io::{Read, Seek, SeekFrom};
    let io_error = |e: std::io::Error| {
        external(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: format!("cannot read {}: {e}", file_path.display()).into(),
        })
    };
    let len = range.end - range.start;
    if range.start > 0 {
        file.seek(SeekFrom::Start(range.start)).map_err(io_error)?;
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut buf).map_err(io_error)?;
    if buf.len() as u64 != len {
        return Err(ParquetError::EOF(format!(
            "expected {len} bytes, the file ends after {}",
            buf.len()
        )));
    }
    Ok(Bytes::from(buf))
}

/// Decodes a whole file held in memory.
fn decode_whole(
    bytes: Bytes,
    batch_size: usize,
) -> ::parquet::errors::Result<(SchemaRef, Vec<RecordBatch>)> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?.with_batch_size(batch_size);
    let schema = builder.schema().clone();
    let batches = builder
        .build()?
        // Batches come without the schema's metadata: give them the table's
        // schema so they and the table agree.
        .map(|batch| batch.and_then(|b| b.with_schema(schema.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// Streams a big file: row groups fetched in order, decoded in parallel.
async fn stream(
    root: StorageRoot,
    path: Path,
    mut reader: ObjectReader,
    options: ReadOptions,
) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
    let metadata = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
        .await
        .map_err(|e| read_error(&root, &path, e))?;
    let schema = metadata.schema().clone();
    let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
        .with_batch_size(options.batch_size)
        .build()
        .map_err(|e| read_error(&root, &path, e))?;

    // Fetches row groups one after the other (IO), ...
    let row_groups = futures::stream::unfold(Some(stream), |stream| async move {
        let mut stream = stream?;
        match stream.next_row_group().await {
            Ok(Some(reader)) => Some((Ok(reader), Some(stream))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    });
    // ... decodes up to `threads` of them at once on blocking threads (CPU),
    // and yields their batches in file order.
    let batch_schema = schema.clone();
    let batches = row_groups
        .map(move |reader| decode(reader, batch_schema.clone()))
        .buffered(options.threads.max(1))
        .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
        .try_flatten()
        .map_err(move |e| read_error(&root, &path, e))
        .boxed();
    Ok((schema, batches))
}

/// Decodes one fetched row group.
async fn decode(
    reader: ::parquet::errors::Result<ParquetRecordBatchReader>,
    schema: SchemaRef,
) -> ::parquet::errors::Result<Vec<RecordBatch>> {
    let reader = reader?;
    crate::blocking::run(move || {
        reader
            // Batches come without the schema's metadata: give them the
            // table's schema so they and the table agree.
            .map(|batch| batch.and_then(|b| b.with_schema(schema.clone())))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .ok_or_else(|| ParquetError::General("the parquet decoder panicked".into()))?
    .map_err(ParquetError::from)
}

/// Maps a read failure to ours: store failures keep their kind (a file
/// deleted or replaced mid-read), everything else is a Parquet error naming
/// the file.
fn read_error(root: &StorageRoot, path: &Path, e: ParquetError) -> Error {
    match e {
        ParquetError::External(inner) => match inner.downcast::<object_store::Error>() {
            Ok(store) => root.store_error(path, *store),
            Err(inner) => Error::Parquet {
                uri: root.uri(path),
                source: ParquetError::External(inner),
            },
        },
        source => Error::Parquet {
            uri: root.uri(path),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_merges_near_ranges_and_keeps_far_ones() {
        let merged = coalesce(&[10..20, 0..5, 25..30, 100..110], 5);
        assert_eq!(merged, vec![0..30, 100..110]);
        assert_eq!(coalesce(&[], 5), Vec::<Range<u64>>::new());
        // Overlapping and contained ranges.
        assert_eq!(coalesce(&[0..10, 2..4, 8..12], 0), vec![0..12]);
    }

    #[tokio::test]
    async fn byte_ranges_are_sliced_from_merged_fetches() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let path = Path::from("f");
        let data: Vec<u8> = (0..=255u8).cycle().take(4 * 1024 * 1024).collect();
        let meta = store.put(&path, data.clone().into()).await.expect("put");
        let mut reader = ObjectReader {
            store,
            path,
            size: data.len() as u64,
            e_tag: meta.e_tag,
        };
        let ranges = vec![3_000_000..3_000_010, 5..9, 7..20, 100..100];
        let got = reader
            .get_byte_ranges(ranges.clone())
            .await
            .expect("ranges");
        for (range, bytes) in ranges.iter().zip(got) {
            let (s, e) = (range.start as usize, range.end as usize);
            assert_eq!(&bytes[..], &data[s..e]);
        }
        let past_the_end: Range<u64> = 0..5_000_000;
        let err = reader.get_byte_ranges(vec![past_the_end]).await;
        assert!(err.is_err());
    }
}
