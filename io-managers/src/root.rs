//! Storage roots: the directory or bucket under which IO managers keep values.
//!
//! A root is given by the user as a plain path (`./data`, `/srv/lake`) or a
//! URL (`file:///srv/lake`, `memory://`, `s3://bucket/prefix`, `gs://...`,
//! `az://...`; the cloud schemes need the matching cargo feature). Every
//! asset-partition then lives at one deterministic place under it, in
//! Hive-style folders (see [`Location::segments`]):
//!
//! ```text
//! <root>/<asset>/<dimension>=<key>[/<dimension>=<key>]/part-0.<ext>   a value
//! <root>/<asset>/part-0.<ext>                                         unpartitioned
//! <root>/_provenance/<asset>/<dimension>=<key>/provenance.json        records kept outside the value
//! <root>/_tags/<tag>/...                                              the same, per tag
//! ```
//!
//! Everything that is not data lives under a folder starting with `_`,
//! which asset keys may not: a glob on `<asset>/**` sees only data files.
//! The previous release's layout (`<asset>/<key>/data.parquet` beside
//! `_provenance.json`) is still read, so an old root keeps working; see
//! [`StorageRoot::legacy_path_for`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};
use crate::location::Location;

/// Where IO managers store values: an [`ObjectStore`] and a prefix inside it.
///
/// Cloning is cheap and clones share the store.
#[derive(Debug, Clone)]
pub struct StorageRoot {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    display: String,
    local: Option<LocalRoot>,
}

/// What only a local root has: the directory on disk and the durability switch.
#[derive(Debug, Clone)]
struct LocalRoot {
    /// The canonical root directory.
    dir: PathBuf,
    /// The same store as `StorageRoot::store`, typed, to map paths to files.
    fs: Arc<LocalFileSystem>,
    /// Whether published files (and their directories) are fsync'ed.
    fsync: bool,
}

impl StorageRoot {
    /// The root used when the user gives none.
    pub const DEFAULT: &'static str = "./data";

    /// The file name of the sidecar the previous release kept beside each
    /// value (`<asset>/<key>/_provenance.json`). Still read, never written.
    pub const LEGACY_SIDECAR_FILE_NAME: &'static str = "_provenance.json";

    /// The folder, under the root, of the provenance records that are not
    /// inside their value (JSON documents, unit assets): a tree of its own,
    /// which no dataset reader of an asset's folder sees.
    pub const PROVENANCE_FOLDER: &'static str = "_provenance";

    /// The file name of a record in the [`PROVENANCE_FOLDER`](Self::PROVENANCE_FOLDER) tree.
    pub const PROVENANCE_FILE_NAME: &'static str = "provenance.json";

    /// Parses a root given by the user: a path (relative or absolute) or a URL.
    ///
    /// - `./data`, `/srv/lake`, `file:///srv/lake`, `file://./data`: a local
    ///   directory, created if missing and checked to be writable up front
    ///   ([`Error::RootNotWritable`] otherwise);
    /// - `memory://[prefix]`: a fresh in-memory store (tests, benchmarks);
    /// - `s3://bucket/prefix` (cargo feature `aws`), `gs://bucket/prefix`
    ///   (`gcp`), `az://container/prefix` (`azure`): credentials and region
    ///   come from the usual environment variables (`AWS_*`, `GOOGLE_*`,
    ///   `AZURE_*`).
    ///
    /// Anything else is an [`Error::BadRoot`] saying what is accepted.
    pub fn parse(root: &str) -> Result<Self> {
        Self::parse_as(root, Access::Write).map(|(root, _)| root)
    }

    /// Parses a root for reading only, as the commands that inspect need it:
    /// a local directory is neither created nor written (a read-only root
    /// works), and one that does not exist gives `None` (nothing was
    /// materialized there yet). Other stores are opened as by
    /// [`parse`](Self::parse).
    pub fn parse_existing(root: &str) -> Result<Option<Self>> {
        Self::parse_as(root, Access::Read).map(|(root, exists)| exists.then_some(root))
    }

    /// [`parse`](Self::parse) with the access asked for; the flag says
    /// whether the root exists (always true when opened for writing).
    fn parse_as(root: &str, access: Access) -> Result<(Self, bool)> {
        let given = root;
        crate::containment::refuse_dot_segments(given)?;
        let local = |dir: &std::path::Path| Self::local_as(dir, access);
        let root = root.trim();
        if root.is_empty() {
            return Err(bad_root(
                given,
                "it is empty; give a directory such as ./data or a URL such as s3://bucket/prefix",
            ));
        }
        let file_url = root
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
            .map(|_| &root[7..]);
        if let Some(rest) = file_url {
            if rest.starts_with('/') {
                let url = url::Url::parse(root)
                    .map_err(|e| bad_root(given, format!("not a valid file URL: {e}")))?;
                let path = url.to_file_path().map_err(|()| {
                    bad_root(
                        given,
                        "not a local file URL (expected file:///absolute/path)",
                    )
                })?;
                return local(&path);
            }
            // `file://./data` and `file://data`: a relative path, as users write it.
            if rest.is_empty() {
                return Err(bad_root(given, "the file URL has no path"));
            }
            return local(std::path::Path::new(rest));
        }
        let Some((scheme, rest)) = root.split_once("://") else {
            return local(std::path::Path::new(root));
        };
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            // Not a URL scheme (e.g. a directory literally named `a:`): a path.
            return local(std::path::Path::new(root));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "memory" => {
                let prefix = Path::parse(rest.trim_matches('/'))
                    .map_err(|e| bad_root(given, format!("invalid prefix: {e}")))?;
                Ok((
                    Self::from_store(
                        Arc::new(InMemory::new()),
                        prefix.clone(),
                        if prefix.is_root() {
                            "memory://".to_owned()
                        } else {
                            format!("memory://{prefix}")
                        },
                    ),
                    true,
                ))
            }
            "s3" | "s3a" => cloud::s3(given, root).map(|r| (r, true)),
            "gs" => cloud::gcs(given, root).map(|r| (r, true)),
            "az" | "azure" | "abfs" | "abfss" | "adl" => {
                cloud::azure(given, root).map(|r| (r, true))
            }
            other => Err(bad_root(
                given,
                format!(
                    "unsupported scheme `{other}://`; use a directory, file://, memory://, \
                     s3:// (feature `aws`), gs:// (feature `gcp`) or az:// (feature `azure`)"
                ),
            )),
        }
    }

    /// A local directory root: created if missing, then checked to be writable
    /// by creating and removing a probe file, so that a root the process cannot
    /// write is reported once, up front, as [`Error::RootNotWritable`].
    pub fn local(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::local_as(dir.as_ref(), Access::Write).map(|(root, _)| root)
    }

    /// [`local`](Self::local) with the access asked for: for reading, the
    /// directory is neither created nor probed, and a missing one is
    /// reported by the flag (`false`) with a root that stores nothing.
    fn local_as(dir: &std::path::Path, access: Access) -> Result<(Self, bool)> {
        let not_writable = |source| Error::RootNotWritable {
            path: dir.to_path_buf(),
            source,
        };
        if access == Access::Read {
            return match std::fs::canonicalize(dir) {
                Ok(canonical) if canonical.is_dir() => Ok((Self::on_dir(canonical)?, true)),
                Ok(_) => Err(bad_root(
                    &dir.display().to_string(),
                    "it is a file, not a directory",
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
                    Self::from_store(
                        Arc::new(InMemory::new()),
                        Path::default(),
                        dir.display().to_string(),
                    ),
                    false,
                )),
                Err(e) => Err(Error::Other {
                    uri: dir.display().to_string(),
                    message: format!("cannot open the storage root: {e}"),
                }),
            };
        }
        std::fs::create_dir_all(dir).map_err(not_writable)?;
        let canonical = std::fs::canonicalize(dir).map_err(not_writable)?;
        probe_writable(&canonical)?;
        Ok((Self::on_dir(canonical)?, true))
    }

    /// A local root on the canonical directory `canonical`.
    fn on_dir(canonical: PathBuf) -> Result<Self> {
        let dir = canonical.as_path();
        let fs = LocalFileSystem::new_with_prefix(&canonical)
            .map_err(|e| bad_root(&dir.display().to_string(), e.to_string()))?
            // Deleting a value also removes the directories it leaves empty.
            .with_automatic_cleanup(true);
        let fs = Arc::new(fs);
        tracing::debug!(root = %canonical.display(), "opened local storage root");
        Ok(Self {
            store: fs.clone(),
            prefix: Path::default(),
            display: format!("file://{}", canonical.display()),
            local: Some(LocalRoot {
                dir: canonical,
                fs,
                fsync: false,
            }),
        })
    }

    /// A fresh, empty in-memory root (`memory://`).
    pub fn memory() -> Self {
        Self::from_store(Arc::new(InMemory::new()), Path::default(), "memory://")
    }

    /// A root over any object store (a configured S3 client, a wrapper that
    /// throttles or counts requests, ...). `display` is how messages and URIs
    /// name the root, e.g. `s3://bucket/prefix`.
    pub fn from_store(
        store: Arc<dyn ObjectStore>,
        prefix: Path,
        display: impl Into<String>,
    ) -> Self {
        Self {
            store,
            prefix,
            display: display.into(),
            local: None,
        }
    }

    /// The folder under which tagged runs (`--tag NAME`) write, so that a
    /// backfill cannot overwrite production data until it is promoted.
    pub const TAGS_FOLDER: &'static str = crate::tag::TAGS_FOLDER;

    /// The same store with everything under `<root>/_tags/<tag>/`. The
    /// folder starts with `_`, which asset keys may not, so a tag can never
    /// collide with an asset. The tag is validated like a key.
    pub fn with_tag(&self, tag: &str) -> Result<Self> {
        crate::tag::validate_tag(tag)?;
        Ok(self.tagged(tag))
    }

    /// The root of tag `tag`, unchecked: for tags the catalog already knows
    /// (written before the tag rules of [`validate_tag`](crate::validate_tag),
    /// so still safe path segments), to delete them.
    fn tagged(&self, tag: &str) -> Self {
        let mut root = self.clone();
        root.prefix = crate::tag::folder(&self.prefix, tag);
        let separator = if self.display.ends_with('/') { "" } else { "/" };
        root.display = format!("{}{separator}{}/{tag}", self.display, Self::TAGS_FOLDER);
        root
    }

    /// Makes every published file durable before a store returns: the file and
    /// the directories on its path are fsync'ed (local roots only; object
    /// stores are durable once an upload completes). Off by default: it costs
    /// write throughput, and a crash of the *process* loses nothing without
    /// it; only a power loss or kernel crash can.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        if let Some(local) = &mut self.local {
            local.fsync = fsync;
        }
        self
    }

    /// Whether published files are fsync'ed (see [`with_fsync`](Self::with_fsync)).
    pub fn fsync(&self) -> bool {
        self.local.as_ref().is_some_and(|l| l.fsync)
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefix inside the store under which everything lives.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The directory of a local root, `None` for other stores.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.local.as_ref().map(|l| l.dir.as_path())
    }

    /// The store path of `file_name` in the folder of `location`:
    /// `<prefix>/<asset>[/<dimension>=<key>...]/<file_name>`.
    pub fn path_for(&self, location: &Location, file_name: &str) -> Path {
        let mut path = self.prefix.clone();
        for segment in location.segments() {
            path = path.join(segment.as_str());
        }
        path.join(file_name)
    }

    /// Where the previous release kept `file_name` of `location`:
    /// `<prefix>/<asset>[/<key>...]/<file_name>` (bare keys, no dimension
    /// names). Only read, as a fallback, until the root is migrated.
    pub fn legacy_path_for(&self, location: &Location, file_name: &str) -> Path {
        let mut path = self.prefix.clone();
        for segment in location.legacy_segments() {
            path = path.join(segment);
        }
        path.join(file_name)
    }

    /// The store path of the provenance record of `location` when it is not
    /// inside the value: `<prefix>/_provenance/<asset>[/<dimension>=<key>...]/provenance.json`.
    pub fn provenance_path(&self, location: &Location) -> Path {
        let mut path = self.prefix.clone().join(Self::PROVENANCE_FOLDER);
        for segment in location.segments() {
            path = path.join(segment.as_str());
        }
        path.join(Self::PROVENANCE_FILE_NAME)
    }

    /// A URI for a store path, for messages and receipts: `file:///abs/file`
    /// for local roots, `<root>/<relative path>` otherwise.
    pub fn uri(&self, path: &Path) -> String {
        if let Some(local) = &self.local
            && let Ok(file) = local.fs.path_to_filesystem(path)
        {
            return format!("file://{}", file.display());
        }
        let relative: Vec<_> = match path.prefix_match(&self.prefix) {
            Some(parts) => parts.map(|p| p.as_ref().to_owned()).collect(),
            None => path.parts().map(|p| p.as_ref().to_owned()).collect(),
        };
        let relative = relative.join("/");
        if self.display.ends_with('/') {
            format!("{}{relative}", self.display)
        } else {
            format!("{}/{relative}", self.display)
        }
    }

    /// Removes the staged uploads a killed process left in the folder of
    /// `location` (local roots only; returns the files removed).
    ///
    /// The local store stages each write as `<file>#<n>` beside its target and
    /// renames it into place on completion; a process killed mid-write leaves
    /// that staged file behind. It is never read (the store's listings skip
    /// it) but takes space. Only files older than `older_than` are removed, so
    /// that an upload still running in another process is left alone. On
    /// object stores, incomplete multipart uploads are expired by the bucket's
    /// lifecycle rules instead.
    pub fn sweep_staged_uploads(
        &self,
        location: &Location,
        older_than: std::time::Duration,
    ) -> Result<Vec<PathBuf>> {
        let Some(local) = &self.local else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        // The value's folder and the folder of its provenance record.
        for probe in [self.path_for(location, "_"), self.provenance_path(location)] {
            let file = local
                .fs
                .path_to_filesystem(&probe)
                .map_err(|source| self.store_error(&probe, source))?;
            if let Some(folder) = file.parent() {
                crate::containment::check_inside(&local.dir, folder)?;
                sweep_folder(folder, older_than, &mut removed)?;
            }
        }
        Ok(removed)
    }

    /// [`sweep_staged_uploads`](Self::sweep_staged_uploads) for callers in
    /// async code; returns how many files were removed.
    ///
    /// It runs on the calling task: listing one asset-partition's folder
    /// (a few entries, or none at all before its first write) takes a few
    /// microseconds, less than a trip to a blocking thread, and every step
    /// that writes pays it.
    pub async fn sweep_staged_uploads_async(
        &self,
        location: &Location,
        older_than: std::time::Duration,
    ) -> Result<usize> {
        self.sweep_staged_uploads(location, older_than)
            .map(|removed| removed.len())
    }

    /// Promotes `file_name` of `location` from the tagged namespace `tag`
    /// into this (production) root, then publishes `sidecar` beside it:
    /// see [`IoManager::promote_from_tag`](crate::IoManager::promote_from_tag).
    ///
    /// The data is copied with the store's atomic copy: locally a hard link
    /// to a staged name renamed into place (no bytes copied; files are never
    /// modified in place, so sharing the inode with the tagged copy is
    /// safe), on object stores a server-side copy. Then fsync'ed if
    /// [`with_fsync`](Self::with_fsync) is on, like a store.
    pub async fn promote_from_tag(
        &self,
        tag: &str,
        location: &Location,
        file_name: &str,
        sidecar: &[u8],
    ) -> Result<crate::StoreReceipt> {
        let tagged = self.with_tag(tag)?;
        let from = tagged.path_for(location, file_name);
        let to = self.path_for(location, file_name);
        self.ensure_contained(&to)?;
        self.store
            .copy(&from, &to)
            .await
            .map_err(|source| match source {
                object_store::Error::NotFound { .. } => Error::NotFound {
                    uri: tagged.uri(&from),
                },
                source => self.store_error(&to, source),
            })?;
        self.sync_published(&to).await?;
        let bytes = self
            .store
            .head(&to)
            .await
            .map_err(|source| self.store_error(&to, source))?
            .size;
        self.put_sidecar(location, sidecar).await?;
        Ok(crate::StoreReceipt {
            uri: self.uri(&to),
            // A promoted table's rows are in its provenance, not its file.
            rows: 0,
            bytes,
        })
    }

    /// Deletes everything stored under the tagged namespace `tag` (see
    /// [`with_tag`](Self::with_tag)), staged uploads included; returns how
    /// many files were removed (0 for a tag with nothing stored).
    ///
    /// The tag needs only be a safe path segment (a tag written by an older
    /// version may have any characters [`validate_key`](crate::validate_key)
    /// allows): its folder is found as its writes made it. A folder on the
    /// way that is a symbolic link out of the root is refused, and nothing
    /// is deleted.
    pub async fn delete_tag(&self, tag: &str) -> Result<usize> {
        crate::location::validate_key("tag", tag)?;
        let tagged = self.tagged(tag);
        if let Some(local) = &self.local {
            let dir = local
                .fs
                .path_to_filesystem(&tagged.prefix)
                .map_err(|source| self.store_error(&tagged.prefix, source))?;
            crate::containment::check_inside(&local.dir, &dir)?;
            let uri = format!("file://{}", dir.display());
            return crate::blocking::run(move || remove_tree(&dir))
                .await
                .unwrap_or_else(|| Err(std::io::Error::other("the removal panicked")))
                .map_err(|e| Error::Other {
                    uri,
                    message: format!("cannot delete the tag's files: {e}"),
                });
        }
        use futures::TryStreamExt;
        let paths: Vec<Path> = self
            .store
            .list(Some(&tagged.prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|source| self.store_error(&tagged.prefix, source))?;
        for path in &paths {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(self.store_error(path, source)),
            }
        }
        Ok(paths.len())
    }

    /// Publishes the provenance record of `location` in the provenance tree
    /// ([`provenance_path`](Self::provenance_path)), atomically.
    pub(crate) async fn put_sidecar(&self, location: &Location, sidecar: &[u8]) -> Result<()> {
        let path = self.provenance_path(location);
        self.put(&path, Bytes::copy_from_slice(sidecar)).await?;
        crate::failpoint::hit("sidecar.after_publish");
        Ok(())
    }

    /// Reads the provenance record of `location` from the provenance tree,
    /// else from the previous release's sidecar beside the value; `None` if
    /// there is neither.
    pub(crate) async fn get_sidecar(&self, location: &Location) -> Result<Option<Vec<u8>>> {
        let path = self.provenance_path(location);
        if let Some(bytes) = self.get_opt(&path).await? {
            return Ok(Some(bytes.to_vec()));
        }
        let legacy = self.legacy_path_for(location, Self::LEGACY_SIDECAR_FILE_NAME);
        Ok(self.get_opt(&legacy).await?.map(|b| b.to_vec()))
    }

    /// On a local root, removes the previous release's files of `location`
    /// (its value file `legacy_file` and its sidecar) and their folder if
    /// that leaves it empty: called after each publish, so that an old root
    /// is rewritten as its partitions are rematerialized. Two failed unlinks
    /// when there is nothing to remove (a few microseconds, on the calling
    /// task); object stores are left to [`remove_legacy`](Self::remove_legacy),
    /// where every check is a request.
    pub(crate) fn remove_legacy_local(&self, location: &Location, legacy_file: &str) -> Result<()> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        let mut folder = None;
        for name in [legacy_file, Self::LEGACY_SIDECAR_FILE_NAME] {
            let path = self.legacy_path_for(location, name);
            let file = local
                .fs
                .path_to_filesystem(&path)
                .map_err(|source| self.store_error(&path, source))?;
            match std::fs::remove_file(&file) {
                Ok(()) => folder = file.parent().map(std::path::Path::to_path_buf),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Other {
                        uri: self.uri(&path),
                        message: format!("cannot remove the previous layout's file: {e}"),
                    });
                }
            }
        }
        // Only the bare-key folders of a partition (one per dimension),
        // never the asset's own.
        let levels = location.legacy_segments().count() - 1;
        let mut dir = folder;
        for _ in 0..levels {
            let Some(d) = dir else { break };
            if std::fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(std::path::Path::to_path_buf);
        }
        Ok(())
    }

    /// Removes what the previous release stored for `location` (its value
    /// file `legacy_file` and its sidecar), once the value is published in
    /// the current layout; returns how many files went. Missing files are
    /// no error.
    pub async fn remove_legacy(&self, location: &Location, legacy_file: &str) -> Result<usize> {
        let mut removed = 0;
        for name in [legacy_file, Self::LEGACY_SIDECAR_FILE_NAME] {
            let path = self.legacy_path_for(location, name);
            if !self.exists(&path).await? {
                continue;
            }
            match self.store.delete(&path).await {
                Ok(()) => removed += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(self.store_error(&path, source)),
            }
        }
        Ok(removed)
    }

    /// Publishes a small object atomically (a staged file renamed into place
    /// locally, a single PUT on object stores). Returns the bytes written.
    pub(crate) async fn put(&self, path: &Path, bytes: Bytes) -> Result<u64> {
        let len = bytes.len() as u64;
        self.ensure_contained(path)?;
        self.store
            .put(path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|source| self.store_error(path, source))?;
        self.sync_published(path).await?;
        Ok(len)
    }

    /// Reads a whole object, `None` if there is none: one request (locally,
    /// one trip to a blocking thread).
    pub(crate) async fn get_opt(&self, path: &Path) -> Result<Option<Bytes>> {
        if let Some(read) = self.read_local(path, u64::MAX, |bytes| bytes).await {
            return match read? {
                LocalRead::Read(bytes) => Ok(Some(bytes)),
                LocalRead::Missing | LocalRead::TooBig => Ok(None),
            };
        }
        let result = match self.store.get(path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(self.store_error(path, source)),
        };
        match result.bytes().await {
            Ok(bytes) => Ok(Some(bytes)),
            // Replaced or removed between the open and the read.
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.store_error(path, source)),
        }
    }

    /// Whether an object is at `path`: one HEAD (locally, one metadata
    /// lookup), nothing read.
    pub async fn exists(&self, path: &Path) -> Result<bool> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(self.store_error(path, source)),
        }
    }

    /// What is at `path` and its size: one HEAD (locally, one metadata
    /// lookup), nothing read.
    pub(crate) async fn published(&self, path: &Path) -> Result<crate::Published> {
        match self.store.head(path).await {
            Ok(meta) => Ok(crate::Published::Value {
                bytes: Some(meta.size),
            }),
            Err(object_store::Error::NotFound { .. }) => Ok(crate::Published::Nothing),
            Err(source) => Err(self.store_error(path, source)),
        }
    }

    /// [`published`](Self::published) for the value of `location` in file
    /// `file_name`, or, if nothing is there, in `legacy_file` where the
    /// previous release kept it (a root not yet migrated).
    pub(crate) async fn published_or_legacy(
        &self,
        location: &Location,
        file_name: &str,
        legacy_file: &str,
    ) -> Result<crate::Published> {
        match self.published(&self.path_for(location, file_name)).await? {
            crate::Published::Nothing => {
                self.published(&self.legacy_path_for(location, legacy_file))
                    .await
            }
            value => Ok(value),
        }
    }

    /// The size of every object stored under the folder of asset `asset`,
    /// by store path: one listing, however many partitions (a `status` over
    /// a range checks each of them against its record without a HEAD each).
    /// An asset with nothing stored gives an empty map.
    pub async fn published_sizes(
        &self,
        asset: &str,
    ) -> Result<std::collections::HashMap<Path, u64>> {
        use futures::TryStreamExt;
        crate::location::validate_key("asset key", asset)?;
        let folder = self.prefix.clone().join(asset);
        if let Some(local) = &self.local
            && let Ok(dir) = local.fs.path_to_filesystem(&folder)
            && !dir.exists()
        {
            return Ok(std::collections::HashMap::new());
        }
        self.store
            .list(Some(&folder))
            .map_ok(|meta| (meta.location, meta.size))
            .try_collect()
            .await
            .map_err(|source| self.store_error(&folder, source))
    }

    /// On a local root, reads the file of `path` whole if it has at most
    /// `max_bytes`, and runs `then` on its bytes, all on one blocking thread:
    /// open, read and decode cost one trip off the runtime, where the store's
    /// `get` and `bytes` cost one each. One open file is read from start to
    /// end, so the bytes are those of one published file even if it is
    /// replaced meanwhile. `None` on other roots.
    pub(crate) async fn read_local<T, F>(
        &self,
        path: &Path,
        max_bytes: u64,
        then: F,
    ) -> Option<Result<LocalRead<T>>>
    where
        T: Send + 'static,
        F: FnOnce(Bytes) -> T + Send + 'static,
    {
        let local = self.local.as_ref()?;
        let file = match local.fs.path_to_filesystem(path) {
            Ok(file) => file,
            Err(source) => return Some(Err(self.store_error(path, source))),
        };
        let read = crate::blocking::run(move || -> std::io::Result<LocalRead<T>> {
            use std::io::Read;
            let mut opened = match std::fs::File::open(&file) {
                Ok(opened) => opened,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(LocalRead::Missing);
                }
                Err(e) => return Err(e),
            };
            let metadata = opened.metadata()?;
            // As the store sees it: a directory is no object.
            if !metadata.is_file() {
                return Ok(LocalRead::Missing);
            }
            if metadata.len() > max_bytes {
                return Ok(LocalRead::TooBig);
            }
            let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
            opened.read_to_end(&mut bytes)?;
            Ok(LocalRead::Read(then(Bytes::from(bytes))))
        })
        .await;
        Some(match read {
            Some(Ok(read)) => Ok(read),
            Some(Err(e)) => Err(self.store_error(
                path,
                object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: Box::new(e),
                },
            )),
            None => Err(Error::Other {
                uri: self.uri(path),
                message: "reading or decoding the file panicked".into(),
            }),
        })
    }

    /// Refuses a write or delete at store path `path` through a folder that
    /// is a symbolic link out of a local root (see `containment.rs`).
    /// Object stores have no links: nothing to check.
    pub(crate) fn ensure_contained(&self, path: &Path) -> Result<()> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        let file = local
            .fs
            .path_to_filesystem(path)
            .map_err(|source| self.store_error(path, source))?;
        crate::containment::check_inside(&local.dir, &file)
    }

    /// The file on disk of store path `path` on a local root; `None` on
    /// other roots.
    pub(crate) fn local_file(&self, path: &Path) -> Option<Result<PathBuf>> {
        let local = self.local.as_ref()?;
        Some(
            local
                .fs
                .path_to_filesystem(path)
                .map_err(|source| self.store_error(path, source)),
        )
    }

    /// Maps an object store error at `path` to ours, naming the URI.
    pub(crate) fn store_error(&self, path: &Path, source: object_store::Error) -> Error {
        match source {
            object_store::Error::NotFound { .. } => Error::NotFound {
                uri: self.uri(path),
            },
            source => Error::Store {
                uri: self.uri(path),
                source,
            },
        }
    }

    /// After a publish, makes the file and its directory entries durable if
    /// [`with_fsync`](Self::with_fsync) is on.
    pub(crate) async fn sync_published(&self, path: &Path) -> Result<()> {
        let Some(local) = self.local.as_ref().filter(|l| l.fsync) else {
            return Ok(());
        };
        let file = local
            .fs
            .path_to_filesystem(path)
            .map_err(|source| self.store_error(path, source))?;
        let root = local.dir.clone();
        let synced = crate::blocking::run(move || sync_file_and_parents(&file, &root)).await;
        match synced {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::Other {
                uri: self.uri(path),
                message: format!("fsync failed: {e}"),
            }),
            None => Err(Error::Other {
                uri: self.uri(path),
                message: "fsync task panicked".into(),
            }),
        }
    }
}

/// What a root is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reading only: nothing is created or written.
    Read,
    /// Writing: a local directory is created and checked to be writable.
    Write,
}

/// What [`StorageRoot::read_local`] found.
pub(crate) enum LocalRead<T> {
    /// The file, read and processed.
    Read(T),
    /// No file (or a directory) at the path.
    Missing,
    /// A file bigger than asked for, left unread.
    TooBig,
}

impl fmt::Display for StorageRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl FromStr for StorageRoot {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn bad_root(root: &str, reason: impl Into<String>) -> Error {
    Error::BadRoot {
        root: root.to_owned(),
        reason: reason.into(),
    }
}

/// Creates and removes a probe file in `dir`. The name starts with `.`, which
/// keys may not, so it cannot clash with stored values.
fn probe_writable(dir: &std::path::Path) -> Result<()> {
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    let not_writable = |source| Error::RootNotWritable {
        path: dir.to_path_buf(),
        source,
    };
    // `create` rather than `create_new`: a probe left by a killed process
    // with the same pid must not make the root look unwritable.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(not_writable)?;
    std::fs::remove_file(&probe).map_err(not_writable)
}

/// Removes the staged uploads (`<file>#<n>`) in `folder` untouched for
/// `older_than`, adding them to `removed`. A missing folder has none.
fn sweep_folder(
    folder: &std::path::Path,
    older_than: std::time::Duration,
    removed: &mut Vec<PathBuf>,
) -> Result<()> {
    let failed = |e: std::io::Error| Error::Other {
        uri: format!("file://{}", folder.display()),
        message: format!("cannot sweep staged uploads: {e}"),
    };
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(failed(e)),
    };
    let now = std::time::SystemTime::now();
    for entry in entries {
        let entry = entry.map_err(failed)?;
        let name = entry.file_name();
        let Some((_, suffix)) = name.to_str().and_then(|n| n.rsplit_once('#')) else {
            continue;
        };
        if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let metadata = entry.metadata().map_err(failed)?;
        let age = metadata
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if metadata.is_file() && age >= older_than {
            std::fs::remove_file(entry.path()).map_err(failed)?;
            removed.push(entry.path());
        }
    }
    Ok(())
}

/// Removes the directory tree `dir`, returning how many files it held (0 if
/// there is no such directory).
fn remove_tree(dir: &std::path::Path) -> std::io::Result<usize> {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                files += 1;
            }
        }
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(files),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(files),
        Err(e) => Err(e),
    }
}

/// fsyncs `file`, then every directory from its parent up to and including `root`.
fn sync_file_and_parents(file: &std::path::Path, root: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    // Directories cannot be opened for syncing on Windows; their entries are
    // durable there once the file is.
    if cfg!(unix) {
        let mut dir = file.parent();
        while let Some(d) = dir {
            std::fs::File::open(d)?.sync_all()?;
            if d == root {
                break;
            }
            dir = d.parent();
        }
    }
    Ok(())
}

/// Cloud stores, each behind its cargo feature.
mod cloud {
    use super::*;

    /// The store and the prefix of a cloud URL.
    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    fn split(given: &str, root: &str) -> Result<(url::Url, Path)> {
        let url =
            url::Url::parse(root).map_err(|e| bad_root(given, format!("invalid URL: {e}")))?;
        let (_, prefix) = object_store::ObjectStoreScheme::parse(&url)
            .map_err(|e| bad_root(given, e.to_string()))?;
        Ok((url, prefix))
    }

    #[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
    fn finish(
        given: &str,
        store: object_store::Result<Arc<dyn ObjectStore>>,
        prefix: Path,
    ) -> Result<StorageRoot> {
        let store = store.map_err(|e| bad_root(given, e.to_string()))?;
        let display = given.trim().trim_end_matches('/').to_owned();
        Ok(StorageRoot::from_store(store, prefix, display))
    }

    #[cfg(not(all(feature = "aws", feature = "gcp", feature = "azure")))]
    fn needs_feature(given: &str, scheme: &str, feature: &str) -> Error {
        bad_root(
            given,
            format!(
                "{scheme}:// roots need the `{feature}` cargo feature of io-managers \
                 (build with `--features io-managers/{feature}`)"
            ),
        )
    }

    pub(super) fn s3(given: &str, root: &str) -> Result<StorageRoot> {
        #[cfg(feature = "aws")]
        {
            let (url, prefix) = split(given, root)?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>);
            finish(given, store, prefix)
        }
        #[cfg(not(feature = "aws"))]
        {
            let _ = root;
            Err(needs_feature(given, "s3", "aws"))
        }
    }

    pub(super) fn gcs(given: &str, root: &str) -> Result<StorageRoot> {
        #[cfg(feature = "gcp")]
        {
            let (url, prefix) = split(given, root)?;
            let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>);
            finish(given, store, prefix)
        }
        #[cfg(not(feature = "gcp"))]
        {
            let _ = root;
            Err(needs_feature(given, "gs", "gcp"))
        }
    }

    pub(super) fn azure(given: &str, root: &str) -> Result<StorageRoot> {
        #[cfg(feature = "azure")]
        {
            let (url, prefix) = split(given, root)?;
            let store = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>);
            finish(given, store, prefix)
        }
        #[cfg(not(feature = "azure"))]
        {
            let _ = root;
            Err(needs_feature(given, "az", "azure"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily location: `events/day=2024-01-01/`.
    fn location() -> Location {
        Location::new("events", Some("2024-01-01"))
            .and_then(|l| l.with_dimensions(Arc::from([Arc::from("day")])))
            .expect("valid location")
    }

    #[test]
    fn relative_path_is_created_and_local() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("nested/data");
        let root = StorageRoot::local(&dir).expect("root");
        assert!(dir.is_dir());
        let canonical = std::fs::canonicalize(&dir).expect("canonical");
        assert_eq!(root.local_dir(), Some(canonical.as_path()));
        assert!(root.to_string().starts_with("file:///"), "{root}");
        // No probe file is left behind.
        assert_eq!(std::fs::read_dir(&dir).expect("read dir").count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn plain_relative_path_parses_as_local() {
        // A relative path resolves against the working directory: reach a
        // temp dir from it with `..`s rather than writing into the crate.
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = std::fs::canonicalize(tmp.path()).expect("canonical");
        let cwd = std::fs::canonicalize(".").expect("cwd");
        let mut relative = PathBuf::from(".");
        for _ in cwd.components().skip(1) {
            relative.push("..");
        }
        relative.push(target.strip_prefix("/").expect("absolute"));
        relative.push("data");
        let relative = relative.display().to_string();
        let root = StorageRoot::parse(&relative).expect("root");
        let dir = root.local_dir().expect("local");
        assert_eq!(dir, target.join("data"));
        // The same path as a URL is refused: URLs are normalised, and a
        // `..` in one is how `file:///nonexist/../etc` became `/etc`.
        let via_url = StorageRoot::parse(&format!("file://{relative}")).expect_err("climbs");
        assert!(via_url.to_string().contains("`..`"), "{via_url}");
    }

    #[test]
    fn file_url_is_local() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let url = url::Url::from_directory_path(tmp.path()).expect("url");
        let root = StorageRoot::parse(url.as_str()).expect("root");
        let canonical = std::fs::canonicalize(tmp.path()).expect("canonical");
        assert_eq!(root.local_dir(), Some(canonical.as_path()));
        let path = root.path_for(&location(), "data.parquet");
        assert_eq!(path.as_ref(), "events/day=2024-01-01/data.parquet");
        assert_eq!(
            root.uri(&path),
            format!(
                "file://{}/events/day=2024-01-01/data.parquet",
                canonical.display()
            )
        );
    }

    #[test]
    fn memory_url_with_and_without_prefix() {
        let root = StorageRoot::parse("memory://").expect("root");
        assert!(root.local_dir().is_none());
        let path = root.path_for(&location(), "data.json");
        assert_eq!(path.as_ref(), "events/day=2024-01-01/data.json");
        assert_eq!(root.uri(&path), "memory://events/day=2024-01-01/data.json");

        let root = StorageRoot::parse("memory://lake/prod").expect("root");
        let path = root.path_for(&location(), "data.json");
        assert_eq!(path.as_ref(), "lake/prod/events/day=2024-01-01/data.json");
        assert_eq!(
            root.uri(&path),
            "memory://lake/prod/events/day=2024-01-01/data.json"
        );
    }

    #[test]
    fn unsupported_scheme_is_a_bad_root() {
        let err = StorageRoot::parse("ftp://host/dir").expect_err("must fail");
        assert!(matches!(err, Error::BadRoot { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("ftp://"), "{message}");
        assert!(message.contains("unsupported scheme"), "{message}");
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn s3_without_feature_names_the_feature() {
        let err = StorageRoot::parse("s3://bucket/prefix").expect_err("must fail");
        let message = err.to_string();
        assert!(matches!(err, Error::BadRoot { .. }), "{err:?}");
        assert!(message.contains("`aws` cargo feature"), "{message}");
    }

    #[cfg(not(feature = "gcp"))]
    #[test]
    fn gs_without_feature_names_the_feature() {
        let message = StorageRoot::parse("gs://bucket")
            .expect_err("must fail")
            .to_string();
        assert!(message.contains("`gcp` cargo feature"), "{message}");
    }

    #[cfg(not(feature = "azure"))]
    #[test]
    fn az_without_feature_names_the_feature() {
        let message = StorageRoot::parse("az://container/p")
            .expect_err("must fail")
            .to_string();
        assert!(message.contains("`azure` cargo feature"), "{message}");
    }

    #[cfg(feature = "aws")]
    #[test]
    fn s3_url_keeps_its_prefix() {
        let root = StorageRoot::parse("s3://bucket/lake/prod/").expect("root");
        assert_eq!(root.prefix().as_ref(), "lake/prod");
        let path = root.path_for(&location(), "data.parquet");
        assert_eq!(
            path.as_ref(),
            "lake/prod/events/day=2024-01-01/data.parquet"
        );
        assert_eq!(
            root.uri(&path),
            "s3://bucket/lake/prod/events/day=2024-01-01/data.parquet"
        );
    }

    #[test]
    fn tagged_root_writes_under_the_tags_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path()).expect("root");
        let tagged = root.with_tag("backfill-2024").expect("tag");
        let path = tagged.path_for(&location(), "data.parquet");
        assert_eq!(
            path.as_ref(),
            "_tags/backfill-2024/events/day=2024-01-01/data.parquet"
        );
        assert!(tagged.uri(&path).contains("/_tags/backfill-2024/events/"));
        assert!(tagged.to_string().ends_with("/_tags/backfill-2024"));
        let memory = StorageRoot::memory().with_tag("t").expect("tag");
        assert_eq!(memory.to_string(), "memory://_tags/t");
        assert!(matches!(
            root.with_tag("../prod"),
            Err(Error::InvalidKey { what: "tag", .. })
        ));
    }

    #[test]
    fn a_root_opened_for_reading_creates_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let missing = tmp.path().join("new");
        let root = StorageRoot::parse_existing(missing.to_str().expect("utf-8")).expect("parses");
        assert!(root.is_none(), "a missing root is nothing materialized yet");
        assert!(!missing.exists(), "nothing created");
        let root = StorageRoot::parse_existing(tmp.path().to_str().expect("utf-8"))
            .expect("parses")
            .expect("exists");
        assert!(root.local_dir().is_some());
        let err = StorageRoot::parse_existing("file:///nonexist/../etc").expect_err("climbs");
        assert!(err.to_string().contains("`..`"), "{err}");
        assert!(!std::path::Path::new("/etc/_catalog.sqlite").exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn writes_and_tag_deletes_through_a_link_out_of_the_root_are_refused() {
        use crate::IoManager;
        let tmp = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path()).expect("root");
        let dir = root.local_dir().expect("local").to_path_buf();
        // An asset folder linked out of the root.
        std::os::unix::fs::symlink(elsewhere.path(), dir.join("raw_events")).expect("link");
        let io = crate::ParquetIoManager::new(root.clone());
        let loc = Location::new("raw_events", Some("2024-01-01")).expect("valid");
        let err = io
            .store(&loc, &table(1))
            .await
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("raw_events") && err.contains("outside the storage root"),
            "{err}"
        );
        // A partition folder linked out of the root.
        std::fs::create_dir_all(dir.join("events")).expect("mkdir");
        std::os::unix::fs::symlink(elsewhere.path(), dir.join("events/partition=2024-01-01"))
            .expect("link");
        let loc = Location::new("events", Some("2024-01-01")).expect("valid");
        assert!(io.store(&loc, &table(1)).await.is_err());
        // (A table's record lives in its own footer, and a lone record under
        // `_provenance/`: neither goes through the linked folder.)
        // `_tags` linked out of the root: discarding a tag deletes nothing there.
        std::fs::create_dir_all(elsewhere.path().join("v2/x")).expect("mkdir");
        std::fs::write(elsewhere.path().join("v2/x/keep"), b"keep").expect("write");
        std::os::unix::fs::symlink(elsewhere.path(), dir.join("_tags")).expect("link");
        let err = root
            .delete_tag("v2")
            .await
            .expect_err("refused")
            .to_string();
        assert!(err.contains("_tags"), "{err}");
        assert!(elsewhere.path().join("v2/x/keep").exists());
        assert!(std::fs::read_dir(elsewhere.path()).expect("list").count() == 1);
    }

    #[tokio::test]
    async fn a_tag_with_encoded_characters_is_deleted_where_it_was_written() {
        // Written before tags were restricted: still a safe path segment.
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path()).expect("root");
        let tagged = root.tagged("данные");
        let io = crate::JsonIoManager::new(tagged);
        let loc = Location::new("metrics", None).expect("valid");
        crate::IoManager::store(
            &io,
            &loc,
            &crate::Payload::Document(serde_json::json!({"a": 1})),
        )
        .await
        .expect("store");
        assert_eq!(root.delete_tag("данные").await.expect("deleted"), 1);
        assert!(root.with_tag("данные").is_err(), "no new tag of that name");
    }

    #[test]
    fn empty_root_is_a_bad_root() {
        assert!(matches!(
            StorageRoot::parse("  "),
            Err(Error::BadRoot { .. })
        ));
    }

    #[test]
    fn root_under_a_regular_file_is_not_writable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("plain-file");
        std::fs::write(&file, b"x").expect("write");
        let dir = file.join("data");
        let err = StorageRoot::parse(&dir.display().to_string()).expect_err("must fail");
        match &err {
            Error::RootNotWritable { path, .. } => assert_eq!(path, &dir),
            other => panic!("expected RootNotWritable, got {other:?}"),
        }
        assert!(err.to_string().contains("plain-file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn read_only_directory_is_not_writable() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("ro");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let result = StorageRoot::local(&dir);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // root ignores permissions: only check when the probe really failed.
        if let Err(err) = result {
            assert!(matches!(err, Error::RootNotWritable { .. }), "{err:?}");
        }
    }

    #[tokio::test]
    async fn put_and_get_round_trip_with_fsync() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path())
            .expect("root")
            .with_fsync(true);
        assert!(root.fsync());
        let path = root.path_for(&location(), "x.bin");
        assert_eq!(root.get_opt(&path).await.expect("get"), None);
        let written = root
            .put(&path, Bytes::from_static(b"hello"))
            .await
            .expect("put");
        assert_eq!(written, 5);
        assert_eq!(
            root.get_opt(&path).await.expect("get"),
            Some(Bytes::from_static(b"hello"))
        );
    }

    fn table(seed: i64) -> crate::Payload {
        use arrow_array::{Int64Array, RecordBatch};
        use arrow_schema::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(seed..seed + 10))],
        )
        .expect("batch");
        crate::Payload::Table(crate::TableData::from(batch))
    }

    /// The `x` column of a table payload.
    fn xs(payload: &crate::Payload) -> Vec<i64> {
        use arrow_array::Int64Array;
        let crate::Payload::Table(t) = payload else {
            panic!("not a table");
        };
        t.batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("int64")
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn promoting_a_tagged_value_publishes_its_data_then_the_given_sidecar() {
        use crate::{IoManager, ParquetIoManager};
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path()).expect("root");
        let production = ParquetIoManager::new(root.clone());
        let tagged = ParquetIoManager::new(root.with_tag("bf").expect("tag"));
        let loc = location();
        production.store(&loc, &table(0)).await.expect("store");
        production
            .store_sidecar(&loc, b"old")
            .await
            .expect("sidecar");
        tagged.store(&loc, &table(100)).await.expect("store");
        tagged
            .store_sidecar(&loc, b"tagged")
            .await
            .expect("sidecar");

        let receipt = production
            .promote_from_tag("bf", &loc, b"promoted")
            .await
            .expect("promote");
        assert_eq!(receipt.uri, production.uri(&loc));
        let file = tmp.path().join("events/day=2024-01-01/part-0.parquet");
        assert_eq!(receipt.bytes, std::fs::metadata(&file).expect("file").len());
        assert_eq!(
            xs(&production.load(&loc).await.expect("load")),
            xs(&table(100))
        );
        assert_eq!(
            production.load_sidecar(&loc).await.expect("sidecar"),
            Some(b"promoted".to_vec())
        );
        // The tagged copy is untouched, and no staged file is left.
        assert_eq!(
            tagged.load_sidecar(&loc).await.expect("sidecar"),
            Some(b"tagged".to_vec())
        );
        let mut names: Vec<String> = std::fs::read_dir(file.parent().expect("folder"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["part-0.parquet"]);
    }

    #[tokio::test]
    async fn promoting_what_the_tag_lacks_is_not_found_and_keeps_production() {
        use crate::{IoManager, JsonIoManager, ParquetIoManager};
        let root = StorageRoot::memory();
        let production = ParquetIoManager::new(root.clone());
        let loc = location();
        production.store(&loc, &table(0)).await.expect("store");
        let err = production
            .promote_from_tag("bf", &loc, b"promoted")
            .await
            .expect_err("nothing to promote");
        match &err {
            Error::NotFound { uri } => assert!(uri.contains("_tags/bf/events"), "{uri}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert_eq!(production.load_sidecar(&loc).await.expect("sidecar"), None);
        assert_eq!(
            xs(&production.load(&loc).await.expect("load")),
            xs(&table(0)),
            "production data is unchanged"
        );
        // A bad tag is refused before anything is touched.
        let json = JsonIoManager::new(root);
        assert!(matches!(
            json.promote_from_tag("../x", &loc, b"s").await,
            Err(Error::InvalidKey { what: "tag", .. })
        ));
    }

    #[tokio::test]
    async fn json_documents_are_promoted_too() {
        use crate::{IoManager, JsonIoManager, Payload};
        let root = StorageRoot::memory();
        let tagged = JsonIoManager::new(root.with_tag("t").expect("tag"));
        let production = JsonIoManager::new(root);
        let loc = location();
        let doc = Payload::Document(serde_json::json!({"a": 1}));
        tagged.store(&loc, &doc).await.expect("store");
        production
            .promote_from_tag("t", &loc, b"{}")
            .await
            .expect("promote");
        match production.load(&loc).await.expect("load") {
            Payload::Document(value) => assert_eq!(value, serde_json::json!({"a": 1})),
            _ => panic!("not a document"),
        }
    }

    #[tokio::test]
    async fn io_managers_without_tags_refuse_to_promote() {
        use crate::{IoManager, MemoryIoManager, PayloadKind};
        let io = MemoryIoManager::new("mem", PayloadKind::Table);
        let err = io
            .promote_from_tag("t", &location(), b"s")
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("keeps no tagged values"), "{err}");
        assert_eq!(
            io.sweep_staged(&location(), std::time::Duration::ZERO)
                .await
                .expect("sweep"),
            0
        );
    }

    #[tokio::test]
    async fn deleting_a_tag_removes_its_tree_and_nothing_else() {
        use crate::{IoManager, ParquetIoManager};
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = StorageRoot::local(tmp.path()).expect("root");
        let production = ParquetIoManager::new(root.clone());
        let loc = location();
        production.store(&loc, &table(0)).await.expect("store");
        for tag in ["a", "b"] {
            let tagged = ParquetIoManager::new(root.with_tag(tag).expect("tag"));
            tagged.store(&loc, &table(1)).await.expect("store");
            tagged.store_sidecar(&loc, b"s").await.expect("sidecar");
        }
        // A staged upload a killed tagged run left goes too.
        std::fs::write(
            tmp.path()
                .join("_tags/a/events/day=2024-01-01/part-0.parquet#7"),
            b"partial",
        )
        .expect("staged");
        assert_eq!(root.delete_tag("a").await.expect("delete"), 3);
        assert!(!tmp.path().join("_tags/a").exists());
        assert!(
            tmp.path()
                .join("_tags/b/events/day=2024-01-01/part-0.parquet")
                .is_file()
        );
        assert!(production.exists(&loc).await.expect("exists"));
        assert_eq!(root.delete_tag("a").await.expect("again"), 0);

        let memory = StorageRoot::memory();
        let tagged = ParquetIoManager::new(memory.with_tag("m").expect("tag"));
        tagged.store(&loc, &table(1)).await.expect("store");
        assert_eq!(memory.delete_tag("m").await.expect("delete"), 1);
        assert!(!tagged.exists(&loc).await.expect("exists"));
        assert!(matches!(
            memory.delete_tag("..").await,
            Err(Error::InvalidKey { what: "tag", .. })
        ));
    }

    #[tokio::test]
    async fn sweeping_through_the_io_manager_removes_only_staged_files() {
        use crate::{IoManager, ParquetIoManager};
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = ParquetIoManager::new(StorageRoot::local(tmp.path()).expect("root"));
        let loc = location();
        io.store(&loc, &table(0)).await.expect("store");
        let folder = tmp.path().join("events/day=2024-01-01");
        std::fs::write(folder.join("part-0.parquet#0"), b"partial").expect("staged");
        let records = tmp.path().join("_provenance/events/day=2024-01-01");
        std::fs::create_dir_all(&records).expect("mkdir");
        std::fs::write(records.join("provenance.json#12"), b"{").expect("staged");
        // Fresh files are left alone when an age is asked for...
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(io.sweep_staged(&loc, hour).await.expect("sweep"), 0);
        // ...and removed when the caller knows nobody writes there.
        let zero = std::time::Duration::ZERO;
        assert_eq!(io.sweep_staged(&loc, zero).await.expect("sweep"), 2);
        assert!(io.exists(&loc).await.expect("exists"));
        let missing = Location::new("never", None).expect("loc");
        assert_eq!(io.sweep_staged(&missing, zero).await.expect("sweep"), 0);
    }

    #[test]
    fn multi_dimensional_keys_get_one_folder_level_per_dimension() {
        let root = StorageRoot::memory();
        let loc = Location::new("events", Some("2024-01-01|eu")).expect("valid");
        let path = root.path_for(&loc, "part-0.parquet");
        assert_eq!(
            path.as_ref(),
            "events/partition_1=2024-01-01/partition_2=eu/part-0.parquet"
        );
        let named = loc
            .with_dimensions(Arc::from([Arc::from("day"), Arc::from("region")]))
            .expect("names");
        let path = root.path_for(&named, "part-0.parquet");
        assert_eq!(
            path.as_ref(),
            "events/day=2024-01-01/region=eu/part-0.parquet"
        );
        let legacy = root.legacy_path_for(&named, "data.parquet");
        assert_eq!(legacy.as_ref(), "events/2024-01-01/eu/data.parquet");
        assert_eq!(
            root.provenance_path(&named).as_ref(),
            "_provenance/events/day=2024-01-01/region=eu/provenance.json"
        );
    }
}
