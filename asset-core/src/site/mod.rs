//! The lineage site: the registry, the catalog and the storage root
//! rendered as an mdBook source folder (and, with the `book` feature, built
//! to HTML in-process).
//!
//! The site is static: inline SVG drawings laid out here, links between
//! pages, no JavaScript of its own and nothing fetched from the network. It
//! is deterministic: the same registry, catalog, data and
//! [`SiteOptions::now`] give the same bytes (nothing records when it was
//! generated; everything is sorted), so a team can commit it or diff it.
//!
//! One module per page kind ([`overview`], [`asset_page`], [`run_page`]),
//! the book's frame ([`book_files`]: `book.toml`, `SUMMARY.md`, the guide),
//! the drawings ([`svg`] over [`layout`]), and the data they show
//! ([`model`], gathered with the same assessment as `status` and `why`).

pub mod asset_page;
pub mod book_files;
#[cfg(feature = "book")]
pub mod build;
pub mod cli_reference;
pub mod escape;
pub mod layout;
pub mod model;
pub mod overview;
pub mod run_page;
pub mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::materialize::IoManagers;

/// What the site covers.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The assets with a page (`--select`); the graph shows them.
    pub selection: Selection,
    /// The first partition of the range shown (inclusive; with `to`).
    pub from: Option<String>,
    /// The last partition of the range shown (inclusive; with `from`).
    pub to: Option<String>,
    /// Partitions whose latest materialization an asset page lists (the
    /// newest); older ones are collapsed into one line.
    pub latest_per_asset: usize,
    /// Runs with a page (the newest).
    pub runs: usize,
    /// The time partitions exist up to (the only input from the clock).
    pub now: chrono::DateTime<chrono::Utc>,
    /// The title of the book.
    pub title: String,
}

impl Default for SiteOptions {
    fn default() -> Self {
        Self {
            selection: Selection::all(),
            from: None,
            to: None,
            latest_per_asset: 20,
            runs: 20,
            now: chrono::Utc::now(),
            title: "Pipeline".into(),
        }
    }
}

/// Beyond this many assets the overview draws groups (one node per
/// module), each with its own page.
pub const GROUP_THRESHOLD: usize = 60;

/// Failures of writing the site.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The output folder (or a file in it) cannot be written.
    #[error("cannot write the site to {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// mdBook refused or failed to build the book.
    #[error("cannot build the site in {path} to HTML: {message}")]
    Build {
        /// The book's folder.
        path: PathBuf,
        /// mdBook's error chain.
        message: String,
    },
}

/// A generated site: relative file paths (`book.toml`, `src/...`) and
/// their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    files: BTreeMap<String, Vec<u8>>,
}

/// Where a page lives, relative to the book's `src/`.
pub mod paths {
    use super::escape::file_stem;

    /// The overview (the book's first page, so its `index.html`).
    pub const OVERVIEW: &str = "overview.md";
    /// The list of runs.
    pub const RUNS: &str = "runs/index.md";

    /// An asset's page.
    pub fn asset(key: &str) -> String {
        format!("assets/{}.md", file_stem(key))
    }

    /// A run's page.
    pub fn run(run_id: &str) -> String {
        format!("runs/{}.md", file_stem(run_id))
    }

    /// A group's page.
    pub fn group(name: &str) -> String {
        format!("groups/{}.md", file_stem(name))
    }

    /// `page` (relative to `src/`) as an HTML link from a page in `from_dir`
    /// (`""` for the top, `"assets"` for asset pages).
    pub fn href(from_dir: &str, page: &str) -> String {
        let html = page
            .strip_suffix(".md")
            .map_or_else(|| page.to_owned(), |p| format!("{p}.html"));
        if from_dir.is_empty() {
            html
        } else {
            let up = "../".repeat(from_dir.split('/').count());
            format!("{up}{html}")
        }
    }

    /// `page` as a Markdown link target (mdBook turns `.md` into `.html`).
    pub fn md(from_dir: &str, page: &str) -> String {
        if from_dir.is_empty() {
            page.to_owned()
        } else {
            format!("{}{page}", "../".repeat(from_dir.split('/').count()))
        }
    }
}

impl Site {
    /// Renders the site of `graph` from `catalog` (storage locations from
    /// `io`, config hashes from `config`).
    pub fn generate(
        graph: &AssetGraph,
        catalog: &dyn Catalog,
        config: &ConfigFile,
        io: &IoManagers,
        options: &SiteOptions,
    ) -> Result<Site, Error> {
        let model = model::gather(graph, catalog, config, io, options)?;
        let mut files = BTreeMap::new();
        let mut src = |path: String, text: String| {
            files.insert(format!("src/{path}"), text.into_bytes());
        };
        let groups = overview::groups(graph, &model);
        for (path, text) in overview::pages(graph, &model, &groups) {
            src(path, text);
        }
        for view in &model.assets {
            src(
                paths::asset(&graph.asset(view.index).key),
                asset_page::page(graph, &model, view),
            );
        }
        src(paths::RUNS.to_owned(), run_page::index(&model));
        src(cli_reference::PATH.to_owned(), cli_reference::page());
        for run in &model.runs {
            src(paths::run(&run.info.run_id), run_page::page(run));
        }
        src(
            "SUMMARY.md".to_owned(),
            book_files::summary(graph, &model, &groups),
        );
        for (path, bytes) in book_files::guide() {
            files.insert(format!("src/{path}"), bytes.to_vec());
        }
        files.insert(
            "book.toml".into(),
            book_files::book_toml(&options.title).into_bytes(),
        );
        Ok(Site { files })
    }

    /// Every file: path relative to the book's folder, bytes.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// One file's bytes (`src/overview.md`).
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// Writes the book's source folder into `dir` (created if needed). The
    /// generated `src/` is replaced as a whole, so pages of assets or runs
    /// that are gone do not linger; `book/` (the HTML) is left to the build.
    pub fn write_to(&self, dir: &Path) -> Result<(), SiteError> {
        let fail = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SiteError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(fail(dir))?;
        let src = dir.join("src");
        if src.exists() {
            std::fs::remove_dir_all(&src).map_err(fail(&src))?;
        }
        for (path, bytes) in &self.files {
            let file = dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(fail(parent))?;
            }
            std::fs::write(&file, bytes).map_err(fail(&file))?;
        }
        Ok(())
    }
}

/// A fenced code block around `text`, with a fence longer than any run of
/// backticks inside it (so a doc comment or schema cannot close it).
pub(crate) fn fenced(info: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{info}\n{}\n{fence}\n", text.trim_end())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn hrefs_climb_out_of_page_folders() {
        assert_eq!(paths::href("", "assets/a.md"), "assets/a.html");
        assert_eq!(paths::href("assets", "assets/a.md"), "../assets/a.html");
        assert_eq!(paths::md("runs", "overview.md"), "../overview.md");
    }

    #[test]
    fn fences_outgrow_backticks_inside() {
        assert_eq!(fenced("text", "a ```` b"), "`````text\na ```` b\n`````\n");
        assert_eq!(fenced("", "plain"), "```\nplain\n```\n");
    }
}
