//! An asset's description, from its function's doc comment.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// The doc comment of `attrs` as a description: each line trimmed, the lines
/// of a paragraph joined with spaces, paragraphs separated by `"\n"`.
///
/// Only literal doc attributes count (`#[doc = include_str!(..)]` is skipped).
pub(crate) fn from_doc_comment(attrs: &[Attribute]) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for attr in attrs {
        let Some(text) = doc_text(attr) else { continue };
        for line in text.split('\n') {
            let line = line.trim();
            if line.is_empty() {
                if !current.is_empty() {
                    paragraphs.push(std::mem::take(&mut current));
                }
            } else {
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(line);
            }
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n")
}

/// The text of a `#[doc = "..."]` attribute.
fn doc_text(attr: &Attribute) -> Option<String> {
    if !attr.path().is_ident("doc") {
        return None;
    }
    let Meta::NameValue(meta) = &attr.meta else {
        return None;
    };
    match &meta.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(text.value()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(tokens: proc_macro2::TokenStream) -> String {
        let function: syn::ItemFn = syn::parse2(tokens).expect("a function");
        from_doc_comment(&function.attrs)
    }

    #[test]
    fn lines_join_and_paragraphs_stay_apart() {
        let found = description(quote::quote! {
            #[doc = " Sessions: clicks grouped"]
            #[doc = "   per user."]
            #[doc = ""]
            #[doc = " Second paragraph."]
            #[doc = ""]
            #[inline]
            fn sessions() {}
        });
        assert_eq!(
            found,
            "Sessions: clicks grouped per user.\nSecond paragraph."
        );
    }

    #[test]
    fn block_comments_and_no_docs_work() {
        let found = description(quote::quote! {
            #[doc = "\n   Block\n   comment.\n"]
            fn a() {}
        });
        assert_eq!(found, "Block comment.");
        assert_eq!(
            description(quote::quote!(
                fn a() {}
            )),
            ""
        );
    }
}
