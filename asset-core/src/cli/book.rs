//! `book [--out DIR] [--select SEL] [--from A --to B] [--as-of T]`: the
//! lineage site (see [`crate::site`]), written as an mdBook source folder
//! and built to HTML in-process with the `book` feature.

use std::path::Path;
use std::process::ExitCode;

use crate::catalog::Catalog;
use crate::cli::args::BookArgs;
use crate::cli::output::outln;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::materialize::IoManagers;
use crate::site::{Site, SiteError, SiteOptions};

/// Writes (and with the `book` feature, builds) the site; prints where
/// `index.html` is (or how to build it).
pub(super) fn book(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    config: &ConfigFile,
    io: &IoManagers,
    args: &BookArgs,
) -> Result<ExitCode, Error> {
    let options = SiteOptions {
        selection: Selection::parse(&args.select)?,
        from: args.from.clone(),
        to: args.to.clone(),
        latest_per_asset: args.latest as usize,
        runs: args.runs as usize,
        now: match &args.as_of {
            Some(text) => parse_as_of(text)?,
            None => chrono::Utc::now(),
        },
        title: title(),
    };
    // An output folder that cannot be written is refused before the work.
    writable(&args.out)?;
    let site = Site::generate(graph, catalog, config, io, &options)?;
    site.write_to(&args.out).map_err(usage)?;
    if args.no_build {
        outln!("{}", args.out.join("src").join("SUMMARY.md").display());
        return Ok(ExitCode::SUCCESS);
    }
    build(&args.out)
}

#[cfg(feature = "book")]
fn build(out: &Path) -> Result<ExitCode, Error> {
    let index = crate::site::build::build(out).map_err(|e| Error::Internal(e.to_string()))?;
    outln!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "book"))]
fn build(out: &Path) -> Result<ExitCode, Error> {
    tracing::warn!(
        "built without asset-core's `book` feature: wrote the source only; build it with `mdbook build {}`",
        out.display()
    );
    outln!("{}", out.join("src").join("SUMMARY.md").display());
    Ok(ExitCode::SUCCESS)
}

fn usage(e: SiteError) -> Error {
    Error::Usage(e.to_string())
}

/// Creates `out` and checks a file can be made in it.
fn writable(out: &Path) -> Result<(), Error> {
    let fail = |e: std::io::Error| {
        Error::Usage(format!("cannot write the site to {}: {e}", out.display()))
    };
    std::fs::create_dir_all(out).map_err(fail)?;
    tempfile::NamedTempFile::new_in(out).map_err(fail)?;
    Ok(())
}

/// `--as-of`: RFC 3339, or a day (its midnight, UTC).
fn parse_as_of(text: &str) -> Result<chrono::DateTime<chrono::Utc>, Error> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--as-of {text:?} is not a time (RFC 3339, e.g. 2024-02-01T00:00:00Z) or a day (YYYY-MM-DD)"
            ))
        })
}

/// The book's title: the pipeline binary's name.
fn title() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map_or_else(|| "Pipeline".into(), |name| format!("{name}: lineage"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_takes_times_and_days() {
        assert_eq!(
            parse_as_of("2024-02-01").map(|t| t.to_rfc3339()).ok(),
            Some("2024-02-01T00:00:00+00:00".into())
        );
        assert!(parse_as_of("2024-02-01T12:00:00Z").is_ok());
        let e = parse_as_of("soon")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("--as-of \"soon\""), "{e}");
    }
}
