//! Asset configuration: [`Config<C>`] parameters and the `assets.toml` file.
//!
//! An asset function that takes a `Config<C>` parameter reads the section of
//! `assets.toml` named after its asset key, deserialized into `C` with serde:
//!
//! ```toml
//! # assets.toml, at the project root
//! [ranker_model]
//! learning_rate = 0.05
//! layers = [64, 32]
//! ```
//!
//! ```no_run
//! use asset_core::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct RankerSettings {
//!     learning_rate: f64,
//!     #[serde(default)]
//!     layers: Vec<u32>,
//! }
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct RankerModel { weights: Vec<f64> }
//!
//! #[asset(io = "json")]
//! fn ranker_model(settings: Config<RankerSettings>) -> Result<RankerModel> {
//!     Ok(RankerModel { weights: vec![settings.learning_rate; settings.layers.len()] })
//! }
//! ```
//!
//! A `Config<C>` parameter is not a dependency. The section's
//! [canonical hash](ConfigFile::canonical_hash) is part of the asset's
//! version: changing a value marks the asset stale, while reordering keys,
//! reformatting or editing comments does not. A missing section reads as an
//! empty table, so a `C` whose fields all have serde defaults needs none.

mod unknown_keys;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use xxhash_rust::xxh3::Xxh3;

/// The configuration file's name, at the project root.
pub const CONFIG_FILE_NAME: &str = "assets.toml";

/// Sections the framework itself reads (alert routing, OpenLineage sinks),
/// never an asset's: not reported as unknown.
pub const FRAMEWORK_SECTIONS: &[&str] = &[
    crate::alert::routing::ALERTS_SECTION,
    crate::openlineage::config::OPENLINEAGE_SECTION,
];

/// The largest configuration file read: 4 MiB, thousands of sections.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// An asset function parameter holding the asset's configuration section,
/// deserialized into `C`. Not a dependency; derefs to `C`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Config<C>(pub C);

impl<C> Config<C> {
    /// The configuration value.
    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<C> Deref for Config<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C> DerefMut for Config<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.0
    }
}

/// A configuration problem: the file cannot be read or parsed, or a section
/// does not fit its asset's configuration type. Each message names the file
/// and, where known, the line and the asset.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line of the mistake (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An asset's section does not deserialize into its configuration type.
    #[error("{}", invalid_text(path, *line, asset, key.as_deref(), message))]
    Invalid {
        /// The asset.
        asset: String,
        /// The file.
        path: PathBuf,
        /// The line of the offending key (1-based), when known.
        line: Option<usize>,
        /// The offending key, dotted (`model.layers[1]`), when known.
        key: Option<String>,
        /// What is wrong (serde's message).
        message: String,
    },
    /// A configuration file given by name (`--config FILE`) is not there.
    #[error("configuration file {} does not exist", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file is bigger than any configuration should be (a mistake, or
    /// a file made to exhaust memory): refused before it is read.
    #[error(
        "{} is {bytes} bytes, more than the {limit} bytes a configuration file may have",
        path.display()
    )]
    TooBig {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit, [`MAX_CONFIG_BYTES`].
        limit: u64,
    },
    /// A section names no asset that takes configuration (a typo, or an
    /// asset since renamed): a warning, an error with `--strict`.
    #[error(
        "{}:{line}: section [{section}] is read by no asset{}",
        path.display(),
        suggestion.as_ref().map_or_else(String::new, |s| format!(" (did you mean [{s}]?)"))
    )]
    UnknownSection {
        /// The file.
        path: PathBuf,
        /// The section's line (1-based).
        line: usize,
        /// The section's name.
        section: String,
        /// The closest section an asset reads, if one is close.
        suggestion: Option<String>,
    },
    /// A key inside an asset's section that its configuration type does
    /// not read (serde would skip it): a warning, an error with `--strict`.
    #[error(
        "{}:{line}: key `{key}` in {} is read by no field of asset {section:?}'s configuration{}",
        path.display(),
        section_header(section),
        suggestion.as_ref().map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key's line (1-based).
        line: usize,
        /// The section (the asset key).
        section: String,
        /// The key, dotted (`model.depht`, `stages[1].nmae`).
        key: String,
        /// The closest field the type reads at that place, if one is close.
        suggestion: Option<String>,
    },
    /// An asset has no section and its configuration type needs one.
    #[error(
        "asset {asset:?} needs a {} section in {}: {message}",
        section_header(asset), path.display()
    )]
    MissingSection {
        /// The asset.
        asset: String,
        /// The file.
        path: PathBuf,
        /// What is missing (serde's message, e.g. "missing field `a`").
        message: String,
    },
}

fn invalid_text(
    path: &Path,
    line: Option<usize>,
    asset: &str,
    key: Option<&str>,
    message: &str,
) -> String {
    let place = match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    let key = key.map_or_else(String::new, |k| format!(" for key `{k}`"));
    format!("{place}: asset {asset:?}: {message}{key}")
}

/// `[name]`, quoting the name when TOML needs it (`["a.b"]`).
fn section_header(asset: &str) -> String {
    format!("[{}]", toml_key(asset))
}

/// A key as written in TOML: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// The parsed text of a configuration file.
#[derive(Debug)]
struct Source {
    /// The file, for messages.
    path: PathBuf,
    /// Its text, re-parsed with spans to locate a deserialization error.
    text: String,
    /// Its top-level table: one section per asset.
    sections: toml::Table,
}

/// A parsed `assets.toml`: one section per asset key. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    source: Arc<Source>,
}

impl Default for ConfigFile {
    /// An empty file at `assets.toml`.
    fn default() -> Self {
        Self::empty(CONFIG_FILE_NAME)
    }
}

impl ConfigFile {
    /// Reads and parses the file at `path`; a missing file is an empty one.
    /// A file over [`MAX_CONFIG_BYTES`] is refused unread.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        if let Ok(meta) = std::fs::metadata(path)
            && meta.len() > MAX_CONFIG_BYTES
        {
            return Err(ConfigError::TooBig {
                path: path.to_owned(),
                bytes: meta.len(),
                limit: MAX_CONFIG_BYTES,
            });
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::empty(path)),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// [`load`](Self::load) for the file a user named: the default
    /// [`CONFIG_FILE_NAME`] may be missing (then it is empty), any other
    /// path must exist ([`ConfigError::NotFound`]).
    pub fn load_given(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        if path != Path::new(CONFIG_FILE_NAME) && !path.exists() {
            return Err(ConfigError::NotFound {
                path: path.to_owned(),
            });
        }
        Self::load(path)
    }

    /// Parses `text` as the contents of the file at `path` (named in messages).
    pub fn parse(path: impl Into<PathBuf>, text: impl Into<String>) -> Result<Self, ConfigError> {
        let path = path.into();
        let text = text.into();
        let sections: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            line: e.span().map_or(1, |span| line_of(&text, span.start)),
            message: e.message().trim().replace('\n', "; "),
            path: path.clone(),
        })?;
        // TOML allows `nan` and `inf`; no setting means them, and `nan`
        // breaks every comparison made with it.
        if let Some(key) = non_finite_key(&sections, "") {
            return Err(ConfigError::Syntax {
                line: non_finite_line(&text),
                message: format!("`{key}` is not a finite number (nan and inf are refused)"),
                path,
            });
        }
        Ok(Self {
            source: Arc::new(Source {
                path,
                text,
                sections,
            }),
        })
    }

    /// A file without sections, named `path` in messages.
    pub fn empty(path: impl Into<PathBuf>) -> Self {
        Self {
            source: Arc::new(Source {
                path: path.into(),
                text: String::new(),
                sections: toml::Table::new(),
            }),
        }
    }

    /// The file's path, as given.
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// The section named after `asset_key`, if the file has one.
    pub fn section(&self, asset_key: &str) -> Option<&toml::Value> {
        self.source.sections.get(asset_key)
    }

    /// The names of all sections, sorted (to warn about sections no asset reads).
    pub fn section_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.source.sections.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The sections no asset in `readers` (the assets that take
    /// configuration) reads, each with its line and the closest reader.
    pub fn unknown_sections(&self, readers: &[&str]) -> Vec<ConfigError> {
        self.section_names()
            .into_iter()
            .filter(|name| !readers.contains(name) && !FRAMEWORK_SECTIONS.contains(name))
            .map(|name| ConfigError::UnknownSection {
                path: self.source.path.clone(),
                line: section_line(&self.source.text, name),
                section: name.to_owned(),
                suggestion: readers
                    .iter()
                    .map(|r| (strsim::jaro_winkler(name, r), *r))
                    .filter(|(score, _)| *score > 0.7)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, r)| r.to_owned()),
            })
            .collect()
    }

    /// The configuration of `asset_key` as a step receives it
    /// ([`StepInput::config`](crate::StepInput::config)), present or not.
    pub fn config_for(&self, asset_key: &str) -> ConfigSection {
        ConfigSection {
            asset: asset_key.to_owned(),
            source: Arc::clone(&self.source),
        }
    }

    /// The config hash of `asset_key`: the canonical hash of its section, or
    /// of an empty table when there is none (which is what it reads then).
    pub fn hash_for(&self, asset_key: &str) -> String {
        self.config_for(asset_key).hash()
    }

    /// A stable hash of `section`'s canonical form (16 hex digits): tables
    /// by sorted key, every value tagged with its type, so key order,
    /// whitespace, comments and the way a value is spelled (`1_000` or
    /// `1000`, `'a'` or `"a"`, inline or standard tables) never change it,
    /// while any change of a value or of its type does.
    pub fn canonical_hash(section: &toml::Value) -> String {
        let mut hasher = Xxh3::new();
        hash_value(section, &mut hasher);
        format!("{:016x}", hasher.digest())
    }
}

/// Feeds the canonical, self-delimiting encoding of `value` to `hasher`.
fn hash_value(value: &toml::Value, hasher: &mut Xxh3) {
    fn bytes(tag: u8, data: &[u8], hasher: &mut Xxh3) {
        hasher.update(&[tag]);
        hasher.update(&(data.len() as u64).to_le_bytes());
        hasher.update(data);
    }
    match value {
        toml::Value::String(s) => bytes(b's', s.as_bytes(), hasher),
        toml::Value::Integer(i) => bytes(b'i', &i.to_le_bytes(), hasher),
        toml::Value::Float(f) => {
            let bits = if f.is_nan() {
                f64::NAN.to_bits()
            } else {
                f.to_bits()
            };
            bytes(b'f', &bits.to_le_bytes(), hasher);
        }
        toml::Value::Boolean(b) => bytes(b'b', &[u8::from(*b)], hasher),
        toml::Value::Datetime(d) => bytes(b'd', d.to_string().as_bytes(), hasher),
        toml::Value::Array(items) => {
            bytes(b'a', &(items.len() as u64).to_le_bytes(), hasher);
            for item in items {
                hash_value(item, hasher);
            }
        }
        toml::Value::Table(table) => {
            // Sorted here, whatever order the map keeps (features of the
            // toml crate can make it keep the file's order).
            let sorted: BTreeMap<&str, &toml::Value> =
                table.iter().map(|(k, v)| (k.as_str(), v)).collect();
            bytes(b't', &(sorted.len() as u64).to_le_bytes(), hasher);
            for (key, value) in sorted {
                bytes(b'k', key.as_bytes(), hasher);
                hash_value(value, hasher);
            }
        }
    }
}

/// One asset's configuration as a step receives it: its section of the
/// configuration file (or none), with what is needed to report a bad value
/// at its line.
#[derive(Clone)]
pub struct ConfigSection {
    asset: String,
    source: Arc<Source>,
}

impl fmt::Debug for ConfigSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSection")
            .field("asset", &self.asset)
            .field("path", &self.source.path)
            .field("value", &self.value())
            .finish()
    }
}

impl ConfigSection {
    /// A section given in code rather than read from a file (factories,
    /// tests); messages name `assets.toml` without a line.
    pub fn from_value(asset_key: impl Into<String>, value: toml::Value) -> Self {
        let asset = asset_key.into();
        let mut sections = toml::Table::new();
        sections.insert(asset.clone(), value);
        Self {
            asset,
            source: Arc::new(Source {
                path: PathBuf::from(CONFIG_FILE_NAME),
                text: String::new(),
                sections,
            }),
        }
    }

    /// No section for `asset_key` (what a step gets when no file was read).
    pub fn missing(asset_key: impl Into<String>) -> Self {
        ConfigFile::default().config_for(&asset_key.into())
    }

    /// The asset key.
    pub fn asset(&self) -> &str {
        &self.asset
    }

    /// The file the section comes from.
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// The section's value; `None` when the file has no section for the asset.
    pub fn value(&self) -> Option<&toml::Value> {
        self.source.sections.get(&self.asset)
    }

    /// The config hash: [`ConfigFile::canonical_hash`] of the section, or of
    /// an empty table when there is none.
    pub fn hash(&self) -> String {
        match self.value() {
            Some(value) => ConfigFile::canonical_hash(value),
            None => ConfigFile::canonical_hash(&toml::Value::Table(toml::Table::new())),
        }
    }

    /// The section deserialized into `C`; a missing section reads as an
    /// empty table. An error names the asset, the file and the line and key
    /// of the offending value.
    pub fn deserialize<C: DeserializeOwned>(&self) -> Result<C, ConfigError> {
        match self.value() {
            Some(value) => C::deserialize(value.clone()).map_err(|e| self.locate::<C>(&e)),
            None => C::deserialize(toml::Value::Table(toml::Table::new())).map_err(|e| {
                ConfigError::MissingSection {
                    asset: self.asset.clone(),
                    path: self.source.path.clone(),
                    message: e.message().to_owned(),
                }
            }),
        }
    }

    /// The keys of the section that `C` does not read, each with its line
    /// and the closest field `C` declares there (none without a section).
    pub fn unknown_keys<C: DeserializeOwned>(&self) -> Vec<ConfigError> {
        unknown_keys::unknown_keys::<C>(self)
    }

    /// The error of deserializing the section into `C`, located: the text
    /// is parsed again with spans and the section deserialized from that,
    /// which gives the span of the offending value.
    fn locate<C: DeserializeOwned>(&self, plain: &toml::de::Error) -> ConfigError {
        let mut error = ConfigError::Invalid {
            asset: self.asset.clone(),
            path: self.source.path.clone(),
            line: None,
            key: None,
            message: plain.message().to_owned(),
        };
        let Ok(document) = DeTable::parse(&self.source.text) else {
            return error;
        };
        let Some((header, section)) = document
            .get_ref()
            .iter()
            .find(|(key, _)| key.get_ref().as_ref() == self.asset)
        else {
            return error;
        };
        let Err(spanned) = C::deserialize(ValueDeserializer::from(section.clone())) else {
            return error;
        };
        let ConfigError::Invalid {
            line, key, message, ..
        } = &mut error
        else {
            return error;
        };
        *message = spanned.message().to_owned();
        let found = spanned.span().and_then(|span| key_at(section, &span));
        let offset = match &found {
            Some((_, offset)) => *offset,
            None => spanned.span().map_or(header.span().start, |s| s.start),
        };
        *line = Some(line_of(&self.source.text, offset));
        *key = found.map(|(path, _)| path.concat().trim_start_matches('.').to_owned());
        error
    }
}

/// The 1-based line of byte `offset` in `text`.
/// The line of the first header or dotted key starting section `name`
/// (1 if it cannot be told).
fn section_line(text: &str, name: &str) -> usize {
    let quoted = format!("\"{name}\"");
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let head = line
                .trim_start_matches('[')
                .split([']', '.', '=', ' '])
                .next()
                .unwrap_or("");
            head == name || head == quoted
        })
        .map_or(1, |i| i + 1)
}

/// The dotted key of the first `nan` or `inf` in `table`.
fn non_finite_key(table: &toml::Table, prefix: &str) -> Option<String> {
    fn walk(value: &toml::Value, key: String) -> Option<String> {
        match value {
            toml::Value::Float(f) if !f.is_finite() => Some(key),
            toml::Value::Table(t) => non_finite_key(t, &key),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, format!("{key}[{i}]"))),
            _ => None,
        }
    }
    table.iter().find_map(|(k, v)| {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        walk(v, key)
    })
}

/// The first line with a bare `nan` or `inf` value (outside quotes).
fn non_finite_line(text: &str) -> usize {
    text.lines()
        .position(|line| {
            let code = line.split('#').next().unwrap_or("");
            let bare: String = code
                .split(['"', '\''])
                .step_by(2)
                .collect::<Vec<_>>()
                .join(" ");
            bare.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| word == "nan" || word == "inf")
        })
        .map_or(1, |i| i + 1)
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Within `value`, the deepest entry (table key or array element) whose
/// key or value contains `span`: its path, as segments (`.key`, `[i]`), and
/// the offset of its key (or element).
///
/// Every entry is searched, not only those whose span contains `span`:
/// a table opened by a `[a.b]` header spans only the header, not the keys
/// under it.
fn key_at(value: &toml::Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<(Vec<String>, usize)> {
    let contains = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    let found =
        |segment: String, start: usize, item: &toml::Spanned<DeValue<'_>>, key: Range<usize>| {
            if let Some((mut path, offset)) = key_at(item, span) {
                path.insert(0, segment);
                return Some((path, offset));
            }
            (contains(key) || contains(item.span())).then(|| (vec![segment], start))
        };
    match value.get_ref() {
        DeValue::Table(table) => table.iter().find_map(|(key, item)| {
            found(
                format!(".{}", toml_key(key.get_ref())),
                key.span().start,
                item,
                key.span(),
            )
        }),
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| found(format!("[{i}]"), item.span().start, item, item.span())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Ranker {
        learning_rate: f64,
        #[serde(default)]
        layers: Vec<u32>,
    }

    const FILE: &str = r#"# Model settings.
[ranker_model]
layers = [64, 32]
learning_rate = "x"

[other]
a = 1
"#;

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse("assets.toml", text).expect("valid toml")
    }

    #[test]
    fn sections_are_found_by_asset_key() {
        let f = file("[a]\nx = 1\n[b]\ny = 'z'\n");
        assert_eq!(f.section_names(), ["a", "b"]);
        assert_eq!(
            f.section("a").and_then(|a| a.get("x")),
            Some(&toml::Value::Integer(1))
        );
        assert!(f.section("c").is_none());
        assert!(f.config_for("c").value().is_none());
        assert_eq!(f.config_for("b").asset(), "b");
    }

    #[test]
    fn a_section_deserializes_into_the_config_type() {
        let f = file("[ranker_model]\nlearning_rate = 0.5\n");
        let ranker: Ranker = f.config_for("ranker_model").deserialize().expect("fits");
        assert_eq!(
            ranker,
            Ranker {
                learning_rate: 0.5,
                layers: vec![]
            }
        );
    }

    #[test]
    fn a_type_error_names_the_file_line_asset_and_key() {
        let err = file(FILE)
            .config_for("ranker_model")
            .deserialize::<Ranker>()
            .expect_err("a string is not a float");
        assert_eq!(
            err.to_string(),
            r#"assets.toml:4: asset "ranker_model": invalid type: string "x", expected f64 for key `learning_rate`"#
        );
    }

    #[test]
    fn a_nested_type_error_names_the_element() {
        let text = "[ranker_model]\nlearning_rate = 1.0\nlayers = [\n  64,\n  -3,\n]\n";
        let err = file(text)
            .config_for("ranker_model")
            .deserialize::<Ranker>()
            .expect_err("negative layer");
        let text = err.to_string();
        assert!(
            text.starts_with(r#"assets.toml:5: asset "ranker_model": "#),
            "{text}"
        );
        assert!(text.ends_with("for key `layers[1]`"), "{text}");
    }

    #[test]
    fn keys_under_a_subtable_header_are_found() {
        #[derive(Debug, Deserialize)]
        struct Outer {
            #[serde(rename = "inner")]
            _inner: Inner,
        }
        #[derive(Debug, Deserialize)]
        struct Inner {
            #[serde(rename = "n")]
            _n: u8,
        }
        let err = file("[m]\n\n[m.inner]\nn = 300\n")
            .config_for("m")
            .deserialize::<Outer>()
            .expect_err("300 is no u8");
        assert_eq!(
            err.to_string(),
            r#"assets.toml:4: asset "m": invalid value: integer `300`, expected u8 for key `inner.n`"#
        );
        let err = file("[m]\ninner.n = 'x'\n")
            .config_for("m")
            .deserialize::<Outer>()
            .expect_err("a string is no u8");
        assert!(err.to_string().ends_with("for key `inner.n`"), "{err}");
    }

    #[test]
    fn a_missing_field_names_the_section_line() {
        let err = file("\n\n[ranker_model]\nlayers = []\n")
            .config_for("ranker_model")
            .deserialize::<Ranker>()
            .expect_err("missing field");
        assert_eq!(
            err.to_string(),
            r#"assets.toml:3: asset "ranker_model": missing field `learning_rate`"#
        );
    }

    #[test]
    fn a_missing_section_reads_as_an_empty_table() {
        #[derive(Deserialize)]
        struct Defaults {
            #[serde(default)]
            n: u32,
        }
        let f = file("");
        assert_eq!(
            f.config_for("x")
                .deserialize::<Defaults>()
                .expect("defaults")
                .n,
            0
        );
        let err = f
            .config_for("ranker_model")
            .deserialize::<Ranker>()
            .expect_err("needs a section");
        assert_eq!(
            err.to_string(),
            "asset \"ranker_model\" needs a [ranker_model] section in assets.toml: missing field `learning_rate`"
        );
        let err = ConfigSection::missing("a.b")
            .deserialize::<Ranker>()
            .expect_err("needs a section");
        assert!(
            err.to_string().contains(r#"needs a ["a.b"] section"#),
            "{err}"
        );
    }

    #[test]
    fn a_section_given_in_code_reports_without_a_line() {
        let mut table = toml::Table::new();
        table.insert("learning_rate".into(), toml::Value::Boolean(true));
        let section = ConfigSection::from_value("m", toml::Value::Table(table));
        let err = section.deserialize::<Ranker>().expect_err("bool");
        assert_eq!(
            err.to_string(),
            r#"assets.toml: asset "m": invalid type: boolean `true`, expected f64"#
        );
    }

    #[test]
    fn canonical_hash_ignores_order_layout_comments_and_spelling() {
        let a = file("[m]\nlr = 0.5\nn = 1000\nname = \"x\"\n[m.inner]\nk = [1, 2]\n");
        let b = file(
            "# comment\n[m]\nname = 'x'   # same string\nn = 1_000\ninner = { k = [\n  1,\n  2,\n] }\n\n\nlr = 5e-1\n",
        );
        assert_eq!(a.hash_for("m"), b.hash_for("m"));
        assert_eq!(a.hash_for("m").len(), 16);
    }

    #[test]
    fn canonical_hash_changes_with_any_value_or_type() {
        let base = file("[m]\nlr = 0.5\nn = 1\n").hash_for("m");
        for changed in [
            "[m]\nlr = 0.25\nn = 1\n",
            "[m]\nlr = 0.5\nn = 2\n",
            "[m]\nlr = 0.5\nn = 1.0\n",
            "[m]\nlr = 0.5\nn = \"1\"\n",
            "[m]\nlr = 0.5\nn = 1\nextra = true\n",
            "[m]\nlr = 0.5\nm = 1\n",
            "[m]\nlr = 0.5\nn = [1]\n",
        ] {
            assert_ne!(file(changed).hash_for("m"), base, "{changed}");
        }
        // A missing section hashes like an empty one (it reads as one).
        assert_eq!(file("[m]\n").hash_for("m"), file("").hash_for("m"));
        // Other sections do not count.
        assert_eq!(
            file("[m]\nlr = 0.5\nn = 1\n[o]\nx = 1\n").hash_for("m"),
            base
        );
    }

    #[test]
    fn the_alerts_section_is_not_unknown() {
        let f = file("[alerts]\nP1 = [\"log\"]\n[other]\nx = 1\n");
        let found: Vec<String> = f
            .unknown_sections(&["ranker_model"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("[other]"), "{found:?}");
    }

    #[test]
    fn unknown_sections_name_file_line_and_closest_reader() {
        let f = file("[ranker_model]\nlr = 1\n\n[rankr_model]\nlr = 2\n[other]\nx = 1\n");
        let found: Vec<String> = f
            .unknown_sections(&["ranker_model"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "assets.toml:6: section [other] is read by no asset",
                "assets.toml:4: section [rankr_model] is read by no asset (did you mean [ranker_model]?)",
            ]
        );
        assert!(
            f.unknown_sections(&["ranker_model", "rankr_model", "other"])
                .is_empty()
        );
    }

    #[test]
    fn nan_and_inf_are_refused_naming_key_and_line() {
        for (text, key, line) in [
            ("[m]\nlr = nan\n", "m.lr", 2),
            ("[m]\nname = \"inf\"\nx = [1.0, -inf]\n", "m.x[1]", 3),
            ("[m]\n[m.inner]\nk = +inf\n", "m.inner.k", 3),
        ] {
            let err = ConfigFile::parse("assets.toml", text)
                .expect_err(text)
                .to_string();
            assert_eq!(
                err,
                format!(
                    "assets.toml:{line}: `{key}` is not a finite number (nan and inf are refused)"
                )
            );
        }
        ConfigFile::parse("assets.toml", "[m]\nname = \"nan\"\n").expect("a string");
    }

    #[test]
    fn a_named_config_file_must_exist_the_default_may_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nonexistent.toml");
        let err = ConfigFile::load_given(&missing).expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!("configuration file {} does not exist", missing.display())
        );
        assert!(ConfigFile::load(&missing).is_ok());
    }

    #[test]
    fn a_config_file_past_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("assets.toml");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_CONFIG_BYTES + 1).expect("grow");
        let err = ConfigFile::load(&big).expect_err("too big").to_string();
        assert!(
            err.contains(&format!("is {} bytes, more than the", MAX_CONFIG_BYTES + 1)),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = ConfigFile::parse("conf/assets.toml", "[a]\nx = 1\ny = \n").expect_err("bad");
        let text = err.to_string();
        assert!(text.starts_with("conf/assets.toml:3: "), "{text}");
    }

    #[test]
    fn a_missing_file_is_empty_and_a_present_one_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(CONFIG_FILE_NAME);
        let empty = ConfigFile::load(&path).expect("missing is empty");
        assert!(empty.section_names().is_empty());
        std::fs::write(&path, "[a]\nx = 1\n").expect("written");
        let read = ConfigFile::load(&path).expect("read");
        assert_eq!(read.section_names(), ["a"]);
        assert_eq!(read.path(), path);
        let err = ConfigFile::load(dir.path()).expect_err("a directory");
        assert!(err.to_string().starts_with("cannot read"), "{err}");
    }

    #[test]
    fn config_derefs_to_its_value() {
        let mut c = Config(vec![1]);
        c.push(2);
        assert_eq!(c.len(), 2);
        assert_eq!(c.into_inner(), [1, 2]);
    }
}
