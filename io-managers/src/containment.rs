//! Nothing escapes the storage root: no write or delete through a symbolic
//! link that leads out of it, no root URL that climbs out with `..`.
//!
//! Keys are validated so that the paths built from them stay under the root
//! ([`validate_key`](crate::validate_key)), but a folder on the path may
//! itself be a symbolic link (`ln -s /elsewhere ROOT/raw_events`) that the
//! operating system follows. Every write and delete under a local root asks
//! [`check_inside`] first: a link that stays inside the root is fine (a root
//! may be organised with links), one that leads out is refused, naming the
//! link and its target.

use std::path::{Component, Path};

use crate::error::{Error, Result};

/// Refuses a root URL whose path has a `..` segment (`file:///data/../etc`):
/// URL parsing would silently normalise it to another directory than the
/// one written. Plain paths (`../data`) are not URLs and are left alone:
/// they name the directory the shell would.
pub(crate) fn refuse_dot_segments(given: &str) -> Result<()> {
    let Some((_, rest)) = given.trim().split_once("://") else {
        return Ok(());
    };
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let climbs = path.split(['/', '\\']).any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == ".."
    });
    if climbs {
        return Err(Error::BadRoot {
            root: given.to_owned(),
            reason: "its path contains `..`; give the directory itself, without `..` segments"
                .into(),
        });
    }
    Ok(())
}

/// Checks that writing or deleting `target` (a file or folder at or under
/// `root`, which is canonical) stays inside `root`: every folder on the
/// way that exists and is a symbolic link must resolve to a place inside
/// `root`. Folders that do not exist yet are fine: they will be created
/// as plain folders.
pub(crate) fn check_inside(root: &Path, target: &Path) -> Result<()> {
    let Ok(relative) = target.strip_prefix(root) else {
        return Err(Error::Other {
            uri: format!("file://{}", target.display()),
            message: format!("is not under the storage root {}", root.display()),
        });
    };
    let mut current = root.to_path_buf();
    for component in relative.components() {
        let Component::Normal(name) = component else {
            return Err(Error::Other {
                uri: format!("file://{}", target.display()),
                message: "the path has `.` or `..` components".into(),
            });
        };
        current.push(name);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let resolved = std::fs::canonicalize(&current).unwrap_or_else(|_| {
                    // A dangling link: where it points, as written.
                    std::fs::read_link(&current).unwrap_or_default()
                });
                if !resolved.starts_with(root) {
                    return Err(Error::EscapesRoot {
                        link: current,
                        target: resolved,
                        root: root.to_path_buf(),
                    });
                }
            }
            Ok(_) => {}
            // Not there yet: nothing below it can be a link either.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(Error::Other {
                    uri: format!("file://{}", current.display()),
                    message: format!("cannot inspect the path: {e}"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_urls_that_climb_are_refused() {
        for bad in [
            "file:///nonexist/../etc",
            "file://./data/..",
            "memory://a/../b",
            "file:///x/%2e%2e/etc",
            "s3://bucket/%2E%2E/other",
        ] {
            let err = refuse_dot_segments(bad).expect_err(bad);
            assert!(err.to_string().contains("`..`"), "{err}");
        }
        for good in [
            "file:///srv/lake",
            "file://./data",
            "../data",
            "memory://",
            "/a/b..c",
        ] {
            refuse_dot_segments(good).expect(good);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_root_is_refused_naming_link_and_target() {
        let root = tempfile::tempdir().expect("tempdir");
        let elsewhere = tempfile::tempdir().expect("tempdir");
        let root_dir = std::fs::canonicalize(root.path()).expect("canonical");
        let outside = std::fs::canonicalize(elsewhere.path()).expect("canonical");
        std::os::unix::fs::symlink(&outside, root_dir.join("raw_events")).expect("symlink");
        let target = root_dir.join("raw_events/2024-01-01/data.parquet");
        let err = check_inside(&root_dir, &target).expect_err("escapes");
        let text = err.to_string();
        assert!(
            text.contains("raw_events") && text.contains(&outside.display().to_string()),
            "{text}"
        );
        assert!(
            matches!(err, Error::EscapesRoot { ref link, .. } if *link == root_dir.join("raw_events")),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_inside_the_root_and_missing_folders_are_fine() {
        let root = tempfile::tempdir().expect("tempdir");
        let root_dir = std::fs::canonicalize(root.path()).expect("canonical");
        std::fs::create_dir_all(root_dir.join("real")).expect("mkdir");
        std::os::unix::fs::symlink(root_dir.join("real"), root_dir.join("alias")).expect("symlink");
        check_inside(&root_dir, &root_dir.join("alias/2024-01-01/data.parquet")).expect("inside");
        check_inside(&root_dir, &root_dir.join("new/a/b")).expect("not there yet");
    }
}
