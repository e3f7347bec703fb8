//! Escaping of everything a user or the catalog wrote (doc comments, keys,
//! error messages, schemas) before it lands in a page: a `<script>` in a doc
//! comment is text on the page, never markup.

use std::fmt::Write as _;

/// `text` safe inside HTML or SVG text and double- or single-quoted attributes.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A newline inside a raw HTML block would let a blank line end
            // the block and hand the rest to the Markdown parser.
            '\n' => out.push_str("&#10;"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` as literal inline Markdown: every ASCII punctuation character
/// that Markdown could read as syntax is backslash-escaped, and the HTML
/// specials are entities, so `*`, `_`, `[..](..)`, `|` and tags all stay text.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '~' | '"' | '\'' | '$' | '^' | '=' | ':' | ';' | '/' | '?' | '@'
            | '%' | ',' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A doc comment rendered from Markdown to one line of HTML. Raw HTML in the
/// comment is shown as text (escaped), never passed through; links may only
/// be relative or `http(s)`/`mailto` (no `javascript:`).
pub fn description_html(markdown_text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let parser = Parser::new_ext(markdown_text, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: "#".into(),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: "#".into(),
            title,
            id,
        }),
        other => other,
    });
    let mut rendered = String::new();
    pulldown_cmark::html::push_html(&mut rendered, parser);
    // One line: a page's raw HTML block must not contain a blank line.
    let mut out = String::with_capacity(rendered.len());
    for c in rendered.trim_end().chars() {
        if c == '\n' {
            out.push_str("&#10;");
        } else {
            out.push(c);
        }
    }
    out
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.find(':') {
        // A colon before any `/`, `?` or `#` is a scheme.
        Some(colon) if !lower[..colon].contains(['/', '?', '#']) => {
            ["http", "https", "mailto"].contains(&&lower[..colon])
        }
        _ => true,
    }
}

/// A file name for a key (asset key, run id, group name): letters, digits,
/// `-`, `_` and `.` (not leading) kept, anything else as `~XX` hex, so two
/// keys never share a file and none escapes the folder.
pub fn file_stem(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, b) in key.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(char::from(b)),
            b'.' if i > 0 => out.push('.'),
            b => {
                let _ = write!(out, "~{b:02X}");
            }
        }
    }
    if out.is_empty() {
        out.push('~');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_tags_quotes_and_newlines() {
        assert_eq!(
            html("<script>\"a\" & 'b'</svg>\nx"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/svg&gt;&#10;x"
        );
    }

    #[test]
    fn markdown_escapes_syntax() {
        assert_eq!(
            markdown("*a* [b](c) | <i>"),
            r"\*a\* \[b\]\(c\) \| &lt;i&gt;"
        );
    }

    #[test]
    fn description_renders_markdown_but_not_raw_html() {
        let out =
            description_html("Sessions **per user**.\n\n<script>alert(1)</script> and </svg>");
        assert!(out.contains("<strong>per user</strong>"), "{out}");
        assert!(!out.contains("<script>"), "{out}");
        assert!(!out.contains("</svg>"), "{out}");
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(!out.contains('\n'), "one line: {out}");
    }

    #[test]
    fn description_drops_script_links() {
        let out =
            description_html("[x](javascript:alert(1)) [y](https://example.org) [z](other.md)");
        assert!(!out.contains("javascript"), "{out}");
        assert!(out.contains("https://example.org"), "{out}");
        assert!(out.contains("other.md"), "{out}");
    }

    #[test]
    fn file_stems_are_safe_and_distinct() {
        assert_eq!(file_stem("raw_events"), "raw_events");
        assert_eq!(file_stem("../x"), "~2E.~2Fx");
        assert_ne!(file_stem("a/b"), file_stem("a~2Fb"));
        assert_eq!(file_stem(""), "~");
    }
}
