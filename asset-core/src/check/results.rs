//! Check results as `status` shows them: the latest audit of an
//! asset-partition in a few words.

use crate::catalog::{Catalog, CatalogError, CheckResult};

/// Results of one asset-partition's latest audit read back for `status`: at
/// most this many (an asset has a handful of checks).
const LATEST_LIMIT: usize = 64;

/// The results of the latest run that checked an asset-partition (newest
/// first in the catalog, so those sharing the first one's run id).
pub fn latest_results(
    catalog: &dyn Catalog,
    asset: &str,
    partition: Option<&str>,
    tag: Option<&str>,
) -> Result<Vec<CheckResult>, CatalogError> {
    let mut results = catalog.checks(asset, partition, tag, LATEST_LIMIT)?;
    if let Some(run) = results.first().map(|r| r.run_id.clone()) {
        results.retain(|r| r.run_id == run);
    }
    results.reverse();
    Ok(results)
}

/// `-` (never checked), `4 passed`, `3 passed, 1 warning (few_rows)`,
/// `1 FAILED (contract), 2 passed`.
pub fn summary(results: &[CheckResult]) -> String {
    if results.is_empty() {
        return "-".into();
    }
    let names = |blocking: bool| -> Vec<&str> {
        results
            .iter()
            .filter(|r| !r.passed && r.severity.is_blocking() == blocking)
            .map(|r| r.name.as_str())
            .collect()
    };
    let (failed, warned) = (names(true), names(false));
    let passed = results.iter().filter(|r| r.passed).count();
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!("{} FAILED ({})", failed.len(), failed.join(", ")));
    }
    if passed > 0 {
        parts.push(format!("{passed} passed"));
    }
    if !warned.is_empty() {
        parts.push(format!(
            "{} warning{} ({})",
            warned.len(),
            if warned.len() == 1 { "" } else { "s" },
            warned.join(", ")
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CheckSeverity;

    fn result(name: &str, passed: bool, severity: CheckSeverity) -> CheckResult {
        CheckResult {
            run_id: "r".into(),
            asset: "a".into(),
            partition: None,
            tag: None,
            name: name.into(),
            passed,
            severity,
            message: String::new(),
            at: String::new(),
        }
    }

    #[test]
    fn summaries_put_failures_first_and_name_them() {
        assert_eq!(summary(&[]), "-");
        assert_eq!(
            summary(&[
                result("contract", true, CheckSeverity::Error),
                result("few_rows", false, CheckSeverity::Warn),
            ]),
            "1 passed, 1 warning (few_rows)"
        );
        assert_eq!(
            summary(&[
                result("contract", false, CheckSeverity::Error),
                result("x", true, CheckSeverity::Error),
                result("y", false, CheckSeverity::Warn),
                result("z", false, CheckSeverity::Warn),
            ]),
            "1 FAILED (contract), 1 passed, 2 warnings (y, z)"
        );
    }
}
