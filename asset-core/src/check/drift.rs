//! Schema drift: an asset whose output schema changes between partitions
//! while its code version stays the same.
//!
//! Provenance records keep each output's schema as text (`id: Int64,
//! name: Utf8?`, `?` marking nullable fields, see [`schema_text`]). A new
//! output is compared with the latest record made under the same code
//! version: a difference means the data changed shape on its own (an
//! upstream source started sending strings), which fails the step. Under a
//! new code version the change is deliberate and accepted.

use std::collections::HashMap;

use arrow_schema::Schema;

use crate::staleness::{LatestRecords, PartKey};

/// The key of each asset's most recent record in `latest` (by finish time):
/// computed once per run so that each step finds its reference in O(1).
pub(crate) fn newest_by_asset(latest: &LatestRecords) -> HashMap<String, PartKey> {
    let mut newest: HashMap<String, PartKey> = HashMap::new();
    for (key, record) in latest {
        let newer = match newest.get(&key.0).and_then(|k| latest.get(k)) {
            Some(best) => record.finished_at > best.finished_at,
            None => true,
        };
        if newer {
            newest.insert(key.0.clone(), key.clone());
        }
    }
    newest
}

/// `name: type` per field, `?` marking nullable ones: `id: Int64, name: Utf8?`
/// (the form provenance records keep).
pub fn schema_text(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| {
            let null = if f.is_nullable() { "?" } else { "" };
            format!("{}: {}{null}", f.name(), f.data_type())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A field's type without the nullable marker.
fn unmarked(ty: &str) -> &str {
    ty.strip_suffix('?').unwrap_or(ty)
}

/// The fields of a schema text: `(name, type with its ? marker)`, split at
/// top-level commas only (nested types contain commas).
fn fields_of(text: &str) -> Vec<(&str, &str)> {
    let mut fields = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b')' | b']' | b'}' | b'>' => depth -= 1,
            b',' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                fields.push(&text[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    if start < text.len() {
        fields.push(&text[start..]);
    }
    fields
        .into_iter()
        .map(|f| f.split_once(": ").unwrap_or((f, "")))
        .collect()
}

/// How schema text `new` differs from `old`, for people: `column score
/// changed Float64 -> Utf8; column note added (Utf8); column id removed`;
/// `None` when they are the same.
///
/// Nullability is not compared: Arrow builders mark a column nullable when
/// the batch happens to hold a null, so it varies with the data (the
/// contract's non-null columns are what pins it).
pub fn difference(old: &str, new: &str) -> Option<String> {
    let (before, after) = (fields_of(old), fields_of(new));
    let same = |a: &[(&str, &str)], b: &[(&str, &str)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|((n, t), (m, u))| n == m && unmarked(t) == unmarked(u))
    };
    if same(&before, &after) {
        return None;
    }
    let mut changes = Vec::new();
    for (name, ty) in &after {
        match before.iter().find(|(n, _)| n == name) {
            None => changes.push(format!("column {name} added ({})", unmarked(ty))),
            Some((_, old_ty)) if unmarked(old_ty) != unmarked(ty) => changes.push(format!(
                "column {name} changed {} -> {}",
                unmarked(old_ty),
                unmarked(ty)
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &before {
        if !after.iter().any(|(n, _)| n == name) {
            changes.push(format!("column {name} removed"));
        }
    }
    if changes.is_empty() {
        // Same fields in another order (Parquet columns are positional).
        changes.push(format!("columns reordered ({old} -> {new})"));
    }
    Some(changes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;

    #[test]
    fn schema_text_marks_nullable_fields() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        assert_eq!(schema_text(&schema), "id: Int64, name: Utf8?");
    }

    #[test]
    fn differences_name_each_column() {
        assert_eq!(difference("a: Int64", "a: Int64"), None);
        assert_eq!(
            difference(
                "id: Int64, score: Float64, old: Utf8",
                "id: Int64, score: Utf8, note: Utf8?"
            )
            .as_deref(),
            Some(
                "column score changed Float64 -> Utf8; column note added (Utf8); column old removed"
            )
        );
        assert_eq!(difference("a: Int64", "a: Int64?"), None);
        assert_eq!(
            difference("a: Int64, b: Int64", "b: Int64, a: Int64").as_deref(),
            Some("columns reordered (a: Int64, b: Int64 -> b: Int64, a: Int64)")
        );
    }

    #[test]
    fn nested_types_are_one_field() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        let schema = Schema::new(vec![
            Field::new("tags", list, false),
            Field::new("n", DataType::Int64, false),
        ]);
        let text = schema_text(&schema);
        assert_eq!(fields_of(&text).len(), 2, "{text}");
        assert_eq!(fields_of(&text)[1], ("n", "Int64"));
    }
}
