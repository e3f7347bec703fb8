//! OpenLineage's names: datasets by storage URI, runs by UUID.
//!
//! Datasets follow the OpenLineage naming conventions, so that two tools
//! writing the same files name the same dataset: a local file is namespace
//! `file` with the absolute path as its name; an object store is namespace
//! `scheme://bucket` (`s3://`, `gs://`, `abfss://...`) with the key as its
//! name.

/// The `(namespace, name)` of the dataset at `uri`.
pub fn dataset_name(uri: &str) -> (String, String) {
    if let Some(path) = uri.strip_prefix("file://") {
        // `file:///abs/path` (no host): namespace `file`, the path as name.
        return match path.strip_prefix('/') {
            Some(_) => ("file".into(), path.to_owned()),
            None => match path.split_once('/') {
                // `file://host/path`: a remote file system.
                Some((host, rest)) => (format!("file://{host}"), format!("/{rest}")),
                None => ("file".into(), path.to_owned()),
            },
        };
    }
    match uri.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, key)) => (format!("{scheme}://{authority}"), key.to_owned()),
            None => (format!("{scheme}://{rest}"), String::new()),
        },
        None => ("file".into(), uri.to_owned()),
    }
}

/// A UUID (RFC 9562 version 8, "custom") made from `parts`: the same parts
/// always give the same id, so every event of one step carries one runId
/// and a rerun of the same command (a new run id) gets new ones.
pub fn uuid_from(parts: &[&str]) -> String {
    let mut text = String::from("assetflow.openlineage");
    for part in parts {
        // A separator no key contains keeps ("ab", "c") and ("a", "bc") apart.
        text.push('\0');
        text.push_str(part);
    }
    let mut bytes = xxhash_rust::xxh3::xxh3_128(text.as_bytes()).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_are_named_like_openlineage_says() {
        assert_eq!(
            dataset_name("file:///data/root/sessions"),
            ("file".into(), "/data/root/sessions".into())
        );
        assert_eq!(
            dataset_name("s3://lake/prod/sessions"),
            ("s3://lake".into(), "prod/sessions".into())
        );
        assert_eq!(
            dataset_name("gs://lake/sessions"),
            ("gs://lake".into(), "sessions".into())
        );
        assert_eq!(
            dataset_name("file://nas/share/sessions"),
            ("file://nas".into(), "/share/sessions".into())
        );
        assert_eq!(
            dataset_name("memory://parquet/sessions"),
            ("memory://parquet".into(), "sessions".into())
        );
    }

    #[test]
    fn run_ids_are_stable_uuids() {
        let a = uuid_from(&["run-1", "sessions", "2024-01-01"]);
        assert_eq!(a, uuid_from(&["run-1", "sessions", "2024-01-01"]));
        assert_ne!(a, uuid_from(&["run-1", "sessions", "2024-01-02"]));
        assert_ne!(
            uuid_from(&["ab", "c"]),
            uuid_from(&["a", "bc"]),
            "parts are kept apart"
        );
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert_eq!(&a[14..15], "8", "version 8: {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant: {a}");
    }
}
