//! Tags: the names of tagged namespaces (`materialize --tag NAME`) and the
//! one place a tag becomes a folder.
//!
//! A tag is a folder name under `<root>/_tags/`. Object store paths
//! percent-encode what is not safe in a URL (`данные` becomes
//! `%D0%B4...`), so a tag spelled with such characters would live in a
//! folder spelled otherwise, and anything that built the folder by hand
//! (a delete, a promotion) would miss it. So a new tag is kept to
//! characters that every store spells as they are, and every path to a
//! tag's folder is made by [`folder`].

use object_store::path::Path;

use crate::error::{Error, Result};

/// The folder under the root in which tagged namespaces live.
pub(crate) const TAGS_FOLDER: &str = "_tags";

/// The longest tag, in characters.
pub const MAX_TAG_LEN: usize = 100;

/// Checks that `tag` is a valid name for a new tagged namespace: 1 to
/// [`MAX_TAG_LEN`] characters of `A-Z a-z 0-9 . _ -`, not starting with `.`
/// or `-` (hidden files, command-line flags), not starting with `_`
/// (reserved, like the `_tags` folder itself).
pub fn validate_tag(tag: &str) -> Result<()> {
    let reason = if tag.is_empty() {
        Some("it is empty")
    } else if tag.chars().count() > MAX_TAG_LEN {
        Some("it is longer than 100 characters")
    } else if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::InvalidKey {
            what: "tag",
            key: tag.to_owned(),
            reason: if c.is_whitespace() {
                "it contains whitespace (a tag is made of A-Z a-z 0-9 . _ -)"
            } else {
                "it contains a character other than A-Z a-z 0-9 . _ -"
            },
        });
    } else if tag.starts_with(['.', '-', '_']) {
        Some("it starts with `.`, `-` or `_`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidKey {
            what: "tag",
            key: tag.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The store path of the folder of `tag` under `prefix`: the only way a tag
/// becomes a path, used by tagged writes, promotion and deletion alike.
pub(crate) fn folder(prefix: &Path, tag: &str) -> Path {
    prefix.clone().join(TAGS_FOLDER).join(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tags_are_accepted() {
        for good in ["v2", "backfill-2024.01", "A_b-c.d", &"x".repeat(100)] {
            validate_tag(good).expect(good);
        }
    }

    #[test]
    fn tags_outside_the_charset_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "empty"),
            ("данные", "character other than"),
            ("a|b", "character other than"),
            ("%2e%2e", "character other than"),
            ("%41", "character other than"),
            ("a\u{202e}b", "character other than"),
            ("   ", "whitespace"),
            ("a b", "whitespace"),
            (".hidden", "starts with"),
            ("-rf", "starts with"),
            ("_tmp", "starts with"),
            ("..", "starts with"),
        ] {
            let err = validate_tag(bad).expect_err(bad).to_string();
            assert!(err.contains(reason), "{bad:?}: {err}");
            assert!(err.starts_with("invalid tag"), "{err}");
        }
        assert!(validate_tag(&"x".repeat(101)).is_err());
    }

    #[test]
    fn a_valid_tag_is_its_own_folder_name() {
        let path = folder(&Path::from("lake"), "v2.1-b_c");
        assert_eq!(path.as_ref(), "lake/_tags/v2.1-b_c");
    }
}
