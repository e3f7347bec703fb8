//! Building the site's mdBook to HTML in-process (the `book` feature), so a
//! user needs nothing but the Rust toolchain; `mdbook build DIR` on the same
//! folder gives the same site.

use std::path::{Path, PathBuf};

use crate::site::SiteError;

/// Builds the book in `dir` (written by [`Site::write_to`](crate::site::Site::write_to))
/// into `dir/book`; returns the path of its `index.html`.
pub fn build(dir: &Path) -> Result<PathBuf, SiteError> {
    let fail = |e: anyhow_like::Error| SiteError::Build {
        path: dir.to_path_buf(),
        message: format!("{e:#}"),
    };
    let book = mdbook_driver::MDBook::load(dir).map_err(fail)?;
    book.build().map_err(fail)?;
    Ok(book.build_dir_for("html").join("index.html"))
}

/// mdBook's error type (an `anyhow::Error`), named without depending on anyhow.
mod anyhow_like {
    pub type Error = mdbook_driver::errors::Error;
}
