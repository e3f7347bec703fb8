//! The facets the materializer fills, each with the `_schemaURL` of the
//! spec version it follows (the same versions are vendored under
//! `tests/fixtures/openlineage/` and checked there).

use arrow_schema::{DataType, Field, Schema};
use serde_json::{Value, json};

/// Who made the events: this framework, at its version.
pub const PRODUCER: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/tree/v",
    env!("CARGO_PKG_VERSION")
);

/// The schema of a run event.
pub const RUN_EVENT_SCHEMA: &str =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

const FACETS: &str = "https://openlineage.io/spec/facets";

/// A facet: `_producer`, `_schemaURL` and its own fields.
fn facet(schema: &str, mut fields: Value) -> Value {
    if let Value::Object(map) = &mut fields {
        map.insert("_producer".into(), PRODUCER.into());
        map.insert("_schemaURL".into(), schema.into());
    }
    fields
}

/// `parent`: the run (and its job) this step belongs to.
pub fn parent(run_id: &str, namespace: &str, job: &str) -> Value {
    facet(
        &format!("{FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"),
        json!({
            "run": { "runId": run_id },
            "job": { "namespace": namespace, "name": job },
        }),
    )
}

/// `nominalTime`: the partition's time window (end exclusive).
pub fn nominal_time(start: &str, end: &str) -> Value {
    facet(
        &format!("{FACETS}/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"),
        json!({ "nominalStartTime": start, "nominalEndTime": end }),
    )
}

/// `processing_engine`: this framework and its version.
pub fn processing_engine() -> Value {
    facet(
        &format!("{FACETS}/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"),
        json!({
            "name": "assetflow",
            "version": env!("CARGO_PKG_VERSION"),
            "openlineageAdapterVersion": env!("CARGO_PKG_VERSION"),
        }),
    )
}

/// `errorMessage`: why a step failed.
pub fn error_message(message: &str) -> Value {
    facet(
        &format!("{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"),
        json!({ "message": message, "programmingLanguage": "Rust" }),
    )
}

/// `jobType`: a batch job of this integration (`ASSET` per asset, `RUN`
/// for the materialize run).
pub fn job_type(job_type: &str) -> Value {
    facet(
        &format!("{FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"),
        json!({ "processingType": "BATCH", "integration": "ASSETFLOW", "jobType": job_type }),
    )
}

/// `documentation`: the asset's doc comment (Markdown).
pub fn documentation(description: &str) -> Value {
    facet(
        &format!("{FACETS}/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"),
        json!({ "description": description, "contentType": "text/markdown" }),
    )
}

/// Where an asset's code is.
#[derive(Debug, Clone)]
pub struct CodeLocation<'a> {
    /// The file, relative to the repository (`file!()`).
    pub file: &'a str,
    /// The line of the function.
    pub line: u32,
    /// The git commit it was built from (`unknown` outside a repository).
    pub commit: &'a str,
    /// The repository's URL, if known.
    pub repository: Option<&'a str>,
}

/// `sourceCodeLocation`: the file, line and commit of the asset's
/// function; `url` links to it on the repository's web view when the
/// repository is an http(s) URL, and is a relative `file:` URI otherwise.
pub fn source_code_location(code: &CodeLocation<'_>) -> Value {
    let web = code
        .repository
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        .filter(|_| code.commit != "unknown");
    // A dirty tree's commit is still the closest published version.
    let commit = code.commit.trim_end_matches("+dirty");
    let url = match web {
        Some(repo) => format!(
            "{}/blob/{commit}/{}#L{}",
            repo.trim_end_matches('/').trim_end_matches(".git"),
            code.file,
            code.line
        ),
        None => format!("file:{}#L{}", code.file, code.line),
    };
    let mut fields = json!({
        "type": "git",
        "url": url,
        "path": code.file,
        "version": code.commit,
    });
    if let (Some(repo), Value::Object(map)) = (code.repository, &mut fields) {
        map.insert("repoUrl".into(), repo.into());
    }
    facet(
        &format!(
            "{FACETS}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
        ),
        fields,
    )
}

/// `schema`: the Arrow schema's fields, nested fields included.
pub fn schema(schema: &Schema) -> Value {
    facet(
        &format!("{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"),
        json!({ "fields": schema_fields(schema.fields().iter().map(AsRef::as_ref)) }),
    )
}

fn schema_fields<'a>(fields: impl Iterator<Item = &'a Field>) -> Vec<Value> {
    fields
        .enumerate()
        .map(|(i, field)| {
            let mut value = json!({
                "name": field.name(),
                "type": type_name(field.data_type()),
                "ordinal_position": i + 1,
            });
            let nested = match field.data_type() {
                DataType::Struct(children) => {
                    Some(schema_fields(children.iter().map(AsRef::as_ref)))
                }
                _ => None,
            };
            if let (Some(nested), Value::Object(map)) = (nested, &mut value) {
                map.insert("fields".into(), nested.into());
            }
            value
        })
        .collect()
}

/// A type as OpenLineage consumers show it: Arrow's own name
/// (`Int64`, `Utf8`, `Timestamp(Microsecond, Some("UTC"))`), `Struct` for
/// a struct (its fields are nested), `List<Int64>` for lists.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Struct(_) => "Struct".into(),
        DataType::List(item) | DataType::LargeList(item) => {
            format!("List<{}>", type_name(item.data_type()))
        }
        other => other.to_string(),
    }
}

/// `outputStatistics`: rows and bytes written, in one file.
pub fn output_statistics(rows: u64, bytes: u64) -> Value {
    facet(
        &format!(
            "{FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
        ),
        json!({ "rowCount": rows, "size": bytes, "fileCount": 1 }),
    )
}

/// `version`: the data version (content hash) written.
pub fn dataset_version(data_version: &str) -> Value {
    facet(
        &format!(
            "{FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
        ),
        json!({ "datasetVersion": data_version }),
    )
}

/// The schema of the custom `assetflow` run facet (documented in the book).
pub const ASSETFLOW_FACET_SCHEMA: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/tree/v",
    env!("CARGO_PKG_VERSION"),
    "/book/src/openlineage.md#the-assetflow-run-facet"
);

/// `assetflow`: what OpenLineage has no facet for: the asset, partition,
/// tag, code version and (once published) data version and object URI.
pub fn assetflow(fields: Value) -> Value {
    facet(ASSETFLOW_FACET_SCHEMA, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_facet_names_its_producer_and_schema() {
        let f = error_message("boom");
        assert_eq!(f["_producer"], PRODUCER);
        assert!(
            f["_schemaURL"].as_str().is_some_and(
                |s| s.ends_with("ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet")
            ),
            "{f}"
        );
        assert_eq!(f["programmingLanguage"], "Rust");
    }

    #[test]
    fn the_schema_facet_keeps_order_types_and_nesting() {
        let point = Field::new(
            "at",
            DataType::Struct(
                vec![
                    Arc::new(Field::new("x", DataType::Float64, false)),
                    Arc::new(Field::new("y", DataType::Float64, false)),
                ]
                .into(),
            ),
            true,
        );
        let arrow = Schema::new(vec![
            Field::new("user", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
            point,
        ]);
        let facet = schema(&arrow);
        let fields = facet["fields"].as_array().expect("fields");
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0]["name"], "user");
        assert_eq!(fields[0]["type"], "Utf8");
        assert_eq!(fields[1]["ordinal_position"], 2);
        assert_eq!(fields[2]["type"], "Struct");
        assert_eq!(fields[2]["fields"][1]["name"], "y");
    }

    #[test]
    fn source_links_go_to_the_commit_on_the_web_view() {
        let code = CodeLocation {
            file: "src/assets.rs",
            line: 12,
            commit: "abc123+dirty",
            repository: Some("https://github.com/acme/shop.git"),
        };
        let f = source_code_location(&code);
        assert_eq!(
            f["url"],
            "https://github.com/acme/shop/blob/abc123/src/assets.rs#L12"
        );
        assert_eq!(f["version"], "abc123+dirty");
        assert_eq!(f["repoUrl"], "https://github.com/acme/shop.git");
        let local = source_code_location(&CodeLocation {
            repository: None,
            ..code
        });
        assert_eq!(local["url"], "file:src/assets.rs#L12");
        assert!(local.get("repoUrl").is_none());
    }
}
