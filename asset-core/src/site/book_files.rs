//! The book's frame: `book.toml`, `SUMMARY.md` (pipeline pages first, then
//! the guide) and the guide's chapters, embedded in the binary so that any
//! pipeline's `book` command ships the same "how it works" beside its own
//! "what my pipeline is".

use std::fmt::Write as _;

use crate::graph::AssetGraph;
use crate::site::escape::markdown;
use crate::site::model::Model;
use crate::site::overview::Groups;
use crate::site::paths;

/// Where the guide's chapters go, under `src/`.
pub const GUIDE_DIR: &str = "guide";

/// The guide's `SUMMARY.md`, as written in `book/src`.
const GUIDE_SUMMARY: &str = include_str!("../../../book/src/SUMMARY.md");

/// The guide's files (`book/src`), by their path there.
const GUIDE: &[(&str, &[u8])] = &[
    (
        "introduction.md",
        include_bytes!("../../../book/src/introduction.md"),
    ),
    (
        "getting-started.md",
        include_bytes!("../../../book/src/getting-started.md"),
    ),
    ("assets.md", include_bytes!("../../../book/src/assets.md")),
    (
        "materializing.md",
        include_bytes!("../../../book/src/materializing.md"),
    ),
    (
        "partitions.md",
        include_bytes!("../../../book/src/partitions.md"),
    ),
    ("storage.md", include_bytes!("../../../book/src/storage.md")),
    (
        "staleness.md",
        include_bytes!("../../../book/src/staleness.md"),
    ),
    ("checks.md", include_bytes!("../../../book/src/checks.md")),
    (
        "reliability.md",
        include_bytes!("../../../book/src/reliability.md"),
    ),
    (
        "unattended.md",
        include_bytes!("../../../book/src/unattended.md"),
    ),
    ("seeing.md", include_bytes!("../../../book/src/seeing.md")),
    (
        "openlineage.md",
        include_bytes!("../../../book/src/openlineage.md"),
    ),
    ("testing.md", include_bytes!("../../../book/src/testing.md")),
    (
        "performance.md",
        include_bytes!("../../../book/src/performance.md"),
    ),
    (
        "architecture.md",
        include_bytes!("../../../book/src/architecture.md"),
    ),
    (
        "reference.md",
        include_bytes!("../../../book/src/reference.md"),
    ),
    ("dagster.md", include_bytes!("../../../book/src/dagster.md")),
    (
        "images/overview.png",
        include_bytes!("../../../book/src/images/overview.png"),
    ),
];

/// The guide's files as they go into the site: `guide/<path>`, bytes.
pub fn guide() -> impl Iterator<Item = (String, &'static [u8])> {
    GUIDE
        .iter()
        .map(|(path, bytes)| (format!("{GUIDE_DIR}/{path}"), *bytes))
}

/// `book.toml`: the HTML renderer only, search off (the site needs no
/// JavaScript to be read, and the in-process build leaves mdBook's search
/// out).
pub fn book_toml(title: &str) -> String {
    let title = title.replace(['\\', '"'], "").replace('\n', " ");
    format!(
        "[book]\ntitle = \"{title}\"\nlanguage = \"en\"\nsrc = \"src\"\n\n[output.html]\nno-section-label = false\n\n[output.html.search]\nenable = false\n"
    )
}

/// `SUMMARY.md`: the overview (the book's first page, so its
/// `index.html`), the assets (by group on a large site), the runs, then the
/// guide.
pub fn summary(graph: &AssetGraph, model: &Model, groups: &Groups) -> String {
    let mut out = String::from("# Summary\n\n");
    let _ = writeln!(out, "[Pipeline overview]({})\n", paths::OVERVIEW);
    out.push_str("# Assets\n\n");
    let asset = |out: &mut String, indent: &str, m: usize| {
        let key = &graph.asset(model.assets[m].index).key;
        let _ = writeln!(out, "{indent}- [{}]({})", markdown(key), paths::asset(key));
    };
    if groups.is_empty() {
        for m in 0..model.assets.len() {
            asset(&mut out, "", m);
        }
    } else {
        for (name, members) in groups {
            let _ = writeln!(out, "- [Group {}]({})", markdown(name), paths::group(name));
            for &m in members {
                asset(&mut out, "  ", m);
            }
        }
    }
    out.push_str("\n# Runs\n\n");
    let _ = writeln!(out, "- [Runs]({})", paths::RUNS);
    for run in &model.runs {
        let _ = writeln!(
            out,
            "  - [{}]({})",
            markdown(&run.info.run_id),
            paths::run(&run.info.run_id)
        );
    }
    out.push_str("\n# Guide\n\n");
    out.push_str(&guide_summary());
    out.push_str("\n# Reference\n\n");
    let _ = writeln!(
        out,
        "- [Command line]({})",
        crate::site::cli_reference::PATH
    );
    out
}

/// The guide's summary entries with their links moved under [`GUIDE_DIR`];
/// its prefix chapter (the introduction) becomes the guide's first entry.
fn guide_summary() -> String {
    let mut out = String::new();
    for line in GUIDE_SUMMARY.lines() {
        let trimmed = line.trim_start();
        let Some(open) = line.find("](") else {
            continue;
        };
        let rest = &line[open + 2..];
        let Some(close) = rest.find(')') else {
            continue;
        };
        let target = &rest[..close];
        let title_start = line.find('[').map_or(0, |b| b + 1);
        let title = &line[title_start..open];
        let indent = &line[..line.len() - trimmed.len()];
        let _ = writeln!(out, "{indent}- [{title}]({GUIDE_DIR}/{target})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guide_chapter_is_embedded() {
        let summary = guide_summary();
        for line in summary.lines() {
            let target = line
                .split("](guide/")
                .nth(1)
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or_default();
            assert!(
                GUIDE.iter().any(|(p, _)| *p == target),
                "{target} is in book/src/SUMMARY.md but not embedded in the site"
            );
        }
        // Images the chapters show are embedded too.
        for (path, bytes) in GUIDE.iter().filter(|(p, _)| p.ends_with(".md")) {
            let text = String::from_utf8_lossy(bytes);
            for piece in text.split("](images/").skip(1) {
                let image = format!("images/{}", piece.split(')').next().unwrap_or_default());
                assert!(
                    GUIDE.iter().any(|(p, _)| *p == image),
                    "{path} shows {image}, which is not embedded"
                );
            }
        }
        assert_eq!(
            summary.lines().count(),
            GUIDE.iter().filter(|(p, _)| p.ends_with(".md")).count()
        );
    }

    #[test]
    fn book_toml_quotes_the_title_safely() {
        let toml = book_toml("my \"pipe\"\nline");
        assert!(toml.contains("title = \"my pipe line\""), "{toml}");
    }
}
