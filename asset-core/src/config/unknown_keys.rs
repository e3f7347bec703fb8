//! Keys inside a section that its configuration type does not read (a typo
//! such as `learnig_rate`, or a field since removed): serde skips them
//! silently, so they are found by deserializing the section again through
//! `serde_ignored`, and each is named with its line and the closest field the
//! type does read.
//!
//! The closest field comes from the type itself: a probing deserializer
//! walks the type along the unknown key's path (`model.layrs` visits the
//! `model` field) and records the field names serde asks for there
//! (`deserialize_struct`'s `fields`). Maps and `#[serde(flatten)]` types
//! declare no fields, so no suggestion is made inside them.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use toml::de::{DeTable, DeValue};

use super::{ConfigError, ConfigSection, line_of, toml_key};

/// One step of a path into a section.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A table key.
    Key(String),
    /// An array element.
    Index(usize),
}

/// The keys of `section` that `C` does not read, each as a
/// [`ConfigError::UnknownKey`] (a warning, an error with `--strict`).
pub(crate) fn unknown_keys<C: DeserializeOwned>(section: &ConfigSection) -> Vec<ConfigError> {
    let Some(value) = section.value() else {
        return Vec::new();
    };
    let mut ignored: Vec<Vec<Segment>> = Vec::new();
    // A section that does not fit is reported by the config check; the keys
    // it ignored before failing are still worth naming.
    let _: Result<C, _> = serde_ignored::deserialize(value.clone(), |path| {
        ignored.push(segments(&path));
    });
    ignored
        .into_iter()
        .filter_map(|path| {
            let (name, parent) = match path.split_last() {
                Some((Segment::Key(name), parent)) => (name.clone(), parent),
                _ => return None,
            };
            let suggestion = fields_at::<C>(parent).and_then(|fields| closest(&name, fields));
            Some(ConfigError::UnknownKey {
                path: section.path().to_owned(),
                line: key_line(section, &path),
                section: section.asset().to_owned(),
                key: dotted(&path),
                suggestion: suggestion.map(str::to_owned),
            })
        })
        .collect()
}

/// `serde_ignored`'s path as segments, outermost first.
fn segments(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    use serde_ignored::Path;
    let mut out = match path {
        Path::Root => return Vec::new(),
        Path::Seq { parent, .. }
        | Path::Map { parent, .. }
        | Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        Path::Seq { index, .. } => out.push(Segment::Index(*index)),
        Path::Map { key, .. } => out.push(Segment::Key(key.clone())),
        _ => {}
    }
    out
}

/// `model.layers[1].size`, keys quoted where TOML needs it.
fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(key));
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The closest of `fields` to `name`, if one is close.
fn closest(name: &str, fields: &'static [&'static str]) -> Option<&'static str> {
    fields
        .iter()
        .map(|field| (strsim::jaro_winkler(name, field), *field))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, field)| field)
}

/// The line of the key at `path` in the section's text (the section's
/// header line when it cannot be told, 1 without a text).
fn key_line(section: &ConfigSection, path: &[Segment]) -> usize {
    let text = section.source.text.as_str();
    let Ok(document) = DeTable::parse(text) else {
        return 1;
    };
    let Some((header, value)) = document
        .get_ref()
        .iter()
        .find(|(key, _)| key.get_ref().as_ref() == section.asset())
    else {
        return 1;
    };
    let mut offset = header.span().start;
    let mut value = value;
    for segment in path {
        let next = match (value.get_ref(), segment) {
            (DeValue::Table(table), Segment::Key(name)) => table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == name.as_str())
                .map(|(key, item)| (key.span().start, item)),
            (DeValue::Array(items), Segment::Index(i)) => {
                items.get(*i).map(|item| (item.span().start, item))
            }
            _ => None,
        };
        match next {
            Some((at, item)) => {
                offset = at;
                value = item;
            }
            None => break,
        }
    }
    line_of(text, offset)
}

/// The field names `C` declares at `path` (by its serde derive), if the type
/// there is a struct.
fn fields_at<C: DeserializeOwned>(path: &[Segment]) -> Option<&'static [&'static str]> {
    let found = RefCell::new(None);
    let _ = C::deserialize(Probe {
        path,
        found: &found,
    });
    found.into_inner()
}

/// A deserializer that leads a type along `path` and records the fields of
/// the struct it reaches, then stops (every other request is an error).
struct Probe<'a> {
    path: &'a [Segment],
    found: &'a RefCell<Option<&'static [&'static str]>>,
}

/// The probe's way of stopping.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            None => {
                *self.found.borrow_mut() = Some(fields);
                Err(Stop)
            }
            Some((Segment::Key(key), rest)) => visitor.visit_map(OneEntry {
                key: Some(key.as_str()),
                value: Some(Probe {
                    path: rest,
                    found: self.found,
                }),
            }),
            Some((Segment::Index(_), _)) => Err(Stop),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.path.split_first() {
            Some((Segment::Index(_), rest)) => visitor.visit_seq(OneElement(Some(Probe {
                path: rest,
                found: self.found,
            }))),
            _ => Err(Stop),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A map of one entry: the next key of the path and a probe for its value.
struct OneEntry<'a> {
    key: Option<&'a str>,
    value: Option<Probe<'a>>,
}

impl<'de> de::MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed
                .deserialize(IntoDeserializer::<Stop>::into_deserializer(key))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => Err(Stop),
        }
    }
}

/// A sequence of one element: a probe for it.
struct OneElement<'a>(Option<Probe<'a>>);

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        match self.0.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::unknown_keys;
    use crate::config::ConfigFile;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read only by serde
    struct Ranker {
        learning_rate: f64,
        #[serde(default)]
        layers: Vec<u32>,
        #[serde(default)]
        model: Option<Model>,
        #[serde(default)]
        stages: Vec<Stage>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Model {
        depth: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Stage {
        name: String,
    }

    fn warnings(text: &str) -> Vec<String> {
        let file = ConfigFile::parse("assets.toml", text).expect("parses");
        unknown_keys::<Ranker>(&file.config_for("ranker"))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_misspelled_key_names_file_line_and_the_closest_field() {
        assert_eq!(
            warnings("[ranker]\nlearning_rate = 0.1\nlayrs = [1]\n"),
            [
                "assets.toml:3: key `layrs` in [ranker] is read by no field of asset \"ranker\"'s configuration (did you mean `layers`?)"
            ]
        );
    }

    #[test]
    fn a_key_nothing_resembles_has_no_suggestion() {
        assert_eq!(
            warnings("[ranker]\nlearning_rate = 0.1\nzzz = 1\n"),
            [
                "assets.toml:3: key `zzz` in [ranker] is read by no field of asset \"ranker\"'s configuration"
            ]
        );
    }

    #[test]
    fn nested_tables_and_arrays_of_tables_are_searched() {
        let text = "[ranker]\nlearning_rate = 0.1\n\n[ranker.model]\ndepth = 3\ndeph = 4\n\n[[ranker.stages]]\nname = \"a\"\n\n[[ranker.stages]]\nnmae = \"b\"\n";
        let found = warnings(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("assets.toml:6: key `model.deph`")
                && found[0].ends_with("(did you mean `depth`?)"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("assets.toml:12: key `stages[1].nmae`")
                && found[1].ends_with("(did you mean `name`?)"),
            "{found:?}"
        );
    }

    #[test]
    fn a_section_of_known_keys_or_none_gives_no_warning() {
        assert!(warnings("[ranker]\nlearning_rate = 0.1\nlayers = [1]\n").is_empty());
        assert!(warnings("[other]\na = 1\n").is_empty());
    }

    #[test]
    fn a_map_section_reads_every_key() {
        let file = ConfigFile::parse("assets.toml", "[weights]\nanything = 1\n").expect("parses");
        let found =
            unknown_keys::<std::collections::BTreeMap<String, u32>>(&file.config_for("weights"));
        assert!(found.is_empty());
    }
}
