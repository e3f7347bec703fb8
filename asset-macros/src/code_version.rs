//! Default code versions: a stable hash of an asset function's tokens.
//!
//! The hash covers the signature and the body, not the attributes or doc
//! comments, so editing the description does not mark an asset stale while
//! editing its code does. Tokens are rendered canonically here rather than
//! with `TokenStream::to_string`, whose output inside the compiler follows
//! the source's spacing: reformatting (`rustfmt`) and comments never change
//! the version, and the version is the same in the compiler and in tests.

use std::fmt::Write as _;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ItemFn;

/// The default code version of `function`: 16 hex digits.
pub(crate) fn of_function(function: &ItemFn) -> String {
    hex(hash_of_function(function))
}

/// The hash of `function`'s signature and body, canonically rendered.
pub(crate) fn hash_of_function(function: &ItemFn) -> u64 {
    let mut tokens = function.sig.to_token_stream();
    function.block.to_tokens(&mut tokens);
    fnv1a_64(canonical(tokens).as_bytes())
}

/// `tokens` as text that depends only on the tokens, not on their layout.
///
/// Besides whitespace and comments, the rendering ignores what `rustfmt`
/// adds or removes when it reflows lines: a trailing comma before a closing
/// delimiter, where it cannot change the meaning (lists in brackets and
/// braces, argument lists, and parenthesized lists of two or more items,
/// but not `(x,)`, a one-element tuple).
pub(crate) fn canonical(tokens: TokenStream) -> String {
    let mut out = String::new();
    write_canonical(tokens, false, &mut out);
    out
}

fn write_canonical(tokens: TokenStream, trailing_comma_optional: bool, out: &mut String) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let end = match trees.last() {
        Some(TokenTree::Punct(p)) if trailing_comma_optional && p.as_char() == ',' => {
            trees.len() - 1
        }
        _ => trees.len(),
    };
    for (i, tree) in trees[..end].iter().enumerate() {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                let optional = match group.delimiter() {
                    Delimiter::Brace | Delimiter::Bracket => true,
                    Delimiter::Parenthesis => {
                        (i > 0 && is_callee(&trees[i - 1])) || top_level_commas(group) >= 2
                    }
                    Delimiter::None => false,
                };
                out.push_str(open);
                out.push(' ');
                write_canonical(group.stream(), optional, out);
                out.push_str(close);
                out.push(' ');
            }
            TokenTree::Ident(ident) => {
                let _ = write!(out, "{ident} ");
            }
            TokenTree::Literal(literal) => {
                let _ = write!(out, "{literal} ");
            }
            TokenTree::Punct(punct) => {
                out.push(punct.as_char());
                // A joint punctuation character is glued to the next only
                // where that changes the meaning (`&&` is not `& &`); `'` is
                // always glued to its lifetime's name.
                let glued = punct.as_char() == '\''
                    || (punct.spacing() == Spacing::Joint
                        && matches!(trees.get(i + 1), Some(TokenTree::Punct(next))
                            if forms_operator(punct.as_char(), next.as_char())));
                if !glued {
                    out.push(' ');
                }
            }
        }
    }
}

/// Whether a parenthesized group after `tree` is an argument or parameter
/// list (`f(..)`, `fn f(..)`, `g()(..)`), where a trailing comma means nothing.
fn is_callee(tree: &TokenTree) -> bool {
    match tree {
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            !KEYWORDS_BEFORE_TUPLES.contains(&name.as_str())
        }
        TokenTree::Group(group) => matches!(
            group.delimiter(),
            Delimiter::Parenthesis | Delimiter::Bracket
        ),
        _ => false,
    }
}

/// Keywords a tuple or parenthesized expression, pattern or type can follow.
const KEYWORDS_BEFORE_TUPLES: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "dyn", "else", "for", "if", "impl", "in",
    "let", "loop", "match", "move", "mut", "ref", "return", "static", "type", "unsafe", "where",
    "while", "yield",
];

/// How many commas `group` has at its top level.
fn top_level_commas(group: &proc_macro2::Group) -> usize {
    group
        .stream()
        .into_iter()
        .filter(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
        .count()
}

/// Whether `a` directly followed by `b` starts a multi-character operator.
fn forms_operator(a: char, b: char) -> bool {
    matches!(
        (a, b),
        ('&', '&' | '=')
            | ('|', '|' | '=')
            | ('<', '<' | '=' | '-')
            | ('>', '>' | '=')
            | ('=', '=' | '>')
            | ('!' | '+' | '*' | '/' | '%' | '^', '=')
            | ('-', '=' | '>')
            | ('.', '.' | '=')
            | (':', ':')
    )
}

/// 64-bit FNV-1a: small, stable across platforms and releases.
pub(crate) fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// 16 lower-case hex digits.
fn hex(value: u64) -> String {
    format!("{value:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn version(source: &str) -> String {
        let tokens = TokenStream::from_str(source).expect("valid tokens");
        of_function(&syn::parse2(tokens).expect("a function"))
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn version_is_sixteen_hex_digits() {
        let v = version("fn a() -> A { A }");
        assert_eq!(v.len(), 16);
        assert!(v.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
    }

    #[test]
    fn layout_comments_and_docs_do_not_change_the_version() {
        let original = version(
            "/// Sessions.\nfn sessions(clicks: Clicks) -> Result<Sessions> {\n    let n = clicks.0.len() + 1;\n    Ok(Sessions(n))\n}",
        );
        let reformatted = version(
            "#[doc = \"Other words.\"]\n#[allow(unused)]\nfn   sessions( clicks : Clicks )->Result< Sessions >{ // why\n let n=clicks.0.len()+ /* one */ 1; Ok( Sessions(n) ) }",
        );
        assert_eq!(original, reformatted);
    }

    #[test]
    fn a_body_change_changes_the_version() {
        assert_ne!(
            version("fn a(x: X) -> A { A(x.0 + 1) }"),
            version("fn a(x: X) -> A { A(x.0 + 2) }")
        );
        assert_ne!(
            version("fn a(x: X) -> A { A(x.0 + 1) }"),
            version("fn a(x: Y) -> A { A(x.0 + 1) }")
        );
    }

    #[test]
    fn trailing_commas_rustfmt_adds_do_not_change_the_version() {
        let one_line = version("fn a(x: X) -> A { A { v: vec![x.0, 1], w: f(x.1) } }");
        let reflowed = version(
            "fn a(\n    x: X,\n) -> A {\n    A {\n        v: vec![\n            x.0,\n            1,\n        ],\n        w: f(\n            x.1,\n        ),\n    }\n}",
        );
        assert_eq!(one_line, reflowed);
    }

    #[test]
    fn one_element_tuples_stay_distinct_from_parentheses() {
        assert_ne!(
            version("fn a() -> A { A((1,)) }"),
            version("fn a() -> A { A((1)) }")
        );
        assert_ne!(
            version("fn a() -> A { let (x,) = b; A(x) }"),
            version("fn a() -> A { let (x) = b; A(x) }")
        );
        assert_eq!(
            version("fn a() -> A { A((1, 2,)) }"),
            version("fn a() -> A { A((1, 2)) }")
        );
    }

    #[test]
    fn operators_stay_distinct_from_their_spaced_out_pieces() {
        assert_ne!(
            version("fn a() -> A { A(b && c) }"),
            version("fn a() -> A { A(b & &c) }")
        );
        assert_eq!(
            version("fn a() -> A { A(b&&c) }"),
            version("fn a() -> A { A(b && c) }")
        );
        assert_eq!(
            version("fn a() -> A { A(x=-1) }"),
            version("fn a() -> A { A(x = -1) }")
        );
    }
}
