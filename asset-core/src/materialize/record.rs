//! The provenance record of one materialization, stored as a sidecar beside
//! the data, and the version check that decides whether a step can be skipped.

use serde::{Deserialize, Serialize};

use crate::staleness::{self, Current, CurrentInput};

/// What was materialized, from what, by which code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaterializationRecord {
    /// The asset key.
    pub asset: String,
    /// The partition key, if partitioned.
    pub partition: Option<String>,
    /// The run that produced it.
    pub run_id: String,
    /// The asset's code version at the time.
    pub code_version: String,
    /// The content hash of the output.
    pub data_version: String,
    /// The inputs' data versions, in dependency order.
    pub inputs: Vec<InputVersion>,
    /// Where the value was published.
    pub uri: String,
    /// Rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// When the step started (RFC 3339, UTC).
    pub started_at: String,
    /// When the value was published (RFC 3339, UTC).
    pub finished_at: String,
    /// The framework version that wrote the record.
    pub framework_version: String,
    /// Hash of the asset's configuration section, if it takes configuration.
    #[serde(default)]
    pub config_hash: Option<String>,
    /// The git commit of the code that ran (`unknown` outside a repository).
    #[serde(default = "unknown")]
    pub git_commit: String,
    /// The output's Arrow schema as text (tables only).
    #[serde(default)]
    pub schema: Option<String>,
    /// The tagged namespace written to (`None` for production).
    #[serde(default)]
    pub tag: Option<String>,
    /// For a production record made by promoting a tagged materialization
    /// (`promote --tag NAME`): the tag it came from. Its data version, run
    /// and times are those of the tagged materialization. Absent from the
    /// sidecar when `None`, so sidecars of ordinary runs are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}

fn unknown() -> String {
    "unknown".into()
}

/// One input of a materialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputVersion {
    /// The upstream asset key.
    pub asset: String,
    /// The upstream partition key, if partitioned.
    pub partition: Option<String>,
    /// The upstream data version that was read.
    pub data_version: String,
}

impl MaterializationRecord {
    /// Parses a sidecar.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The sidecar bytes.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The first reason this record is out of date for `code_version`,
    /// `config_hash` and the inputs' current versions, or `None` when it is
    /// fresh (the rules are [`staleness::record_reasons`]).
    pub fn stale_reason(
        &self,
        code_version: &str,
        config_hash: Option<&str>,
        inputs: &[InputVersion],
    ) -> Option<String> {
        let current: Vec<CurrentInput<'_>> = inputs
            .iter()
            .map(|i| {
                (
                    i.asset.as_str(),
                    i.partition.as_deref(),
                    Current::Version(i.data_version.as_str()),
                )
            })
            .collect();
        staleness::record_reasons(self, code_version, config_hash, &current)
            .first()
            .map(ToString::to_string)
    }
}

/// The first 8 hex digits of a version, enough for a person to compare.
pub fn short(version: &str) -> &str {
    version.get(..8).unwrap_or(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(asset: &str, version: &str) -> InputVersion {
        InputVersion {
            asset: asset.into(),
            partition: Some("2024-01-01".into()),
            data_version: version.into(),
        }
    }

    fn record(code: &str, inputs: Vec<InputVersion>) -> MaterializationRecord {
        MaterializationRecord {
            asset: "b".into(),
            partition: Some("2024-01-01".into()),
            run_id: "r".into(),
            code_version: code.into(),
            data_version: "00".into(),
            inputs,
            uri: "file:///x".into(),
            rows: 1,
            bytes: 1,
            started_at: String::new(),
            finished_at: String::new(),
            framework_version: "0".into(),
            config_hash: None,
            git_commit: "unknown".into(),
            schema: None,
            tag: None,
            promoted_from: None,
        }
    }

    #[test]
    fn same_code_and_inputs_is_fresh() {
        let r = record("v1", vec![input("a", "aaaa")]);
        assert_eq!(r.stale_reason("v1", None, &[input("a", "aaaa")]), None);
    }

    #[test]
    fn each_change_has_its_reason() {
        let r = record("v1", vec![input("a", "a1f3000000")]);
        assert_eq!(
            r.stale_reason("v2", None, &[input("a", "a1f3000000")])
                .as_deref(),
            Some("code version changed (v1 -> v2)")
        );
        assert_eq!(
            r.stale_reason("v1", None, &[input("a", "9c2e000000")])
                .as_deref(),
            Some("a 2024-01-01 has a new data version (a1f30000 -> 9c2e0000)")
        );
        assert_eq!(
            r.stale_reason("v1", None, &[input("a", "a1f3000000"), input("c", "x")])
                .as_deref(),
            Some("its dependencies changed ([a 2024-01-01] -> [a 2024-01-01, c 2024-01-01])")
        );
    }

    #[test]
    fn config_change_is_a_reason() {
        let mut r = record("v1", vec![]);
        r.config_hash = Some("aaaaaaaaaaaa".into());
        assert_eq!(
            r.stale_reason("v1", Some("bbbbbbbbbbbb"), &[]).as_deref(),
            Some("config changed (aaaaaaaa -> bbbbbbbb)")
        );
        assert_eq!(r.stale_reason("v1", Some("aaaaaaaaaaaa"), &[]), None);
    }

    #[test]
    fn sidecar_round_trips() {
        let r = record("v1", vec![input("a", "aaaa")]);
        let back = MaterializationRecord::from_json(&r.to_json().expect("json")).expect("parse");
        assert_eq!(back, r);
    }
}
