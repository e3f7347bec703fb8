//! `uses = [helper, path::to::helper]`: naming `#[versioned]` helpers whose
//! versions fold into an asset's (or another helper's) version.
//!
//! `#[versioned] fn helper` adds a hidden type `helper` beside the function
//! (types and functions live in different namespaces), implementing
//! `Versioned`. So the version is reachable wherever the function is, even
//! through `use some::module::helper;`, which imports both.
//!
//! To refer to a named helper, [`version_expr`] imports its path in a block
//! nested inside another that declares a fallback type of the same name:
//!
//! ```text
//! {
//!     struct helper {}                 // fallback, not Versioned
//!     {
//!         use self::helper;            // the real type, if `helper` is #[versioned]
//!         <helper as Versioned>::VERSION
//!     }
//! }
//! ```
//!
//! When the function is `#[versioned]`, the import brings its hidden type and
//! shadows the fallback; when it is not, the import brings only the function
//! and `helper` names the fallback, which is not `Versioned`: rustc then
//! prints `Versioned`'s "not marked #[versioned]" message at the user's name.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, Token};

/// Parses `= [path, path, ...]` after `uses`: function paths (without
/// generic arguments: a helper's version covers all its instances), none
/// named twice.
pub(crate) fn parse(input: ParseStream<'_>) -> syn::Result<Vec<Path>> {
    let expected = "expected `uses = [helper, path::to::helper, ...]`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(expected));
    }
    let content;
    syn::bracketed!(content in input);
    let paths: Punctuated<Path, Token![,]> = content
        .parse_terminated(Path::parse_mod_style, Token![,])
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = path.to_token_stream().to_string();
        if !seen.insert(text.clone()) {
            return Err(syn::Error::new_spanned(
                &path,
                format!("`{}` is named twice in `uses`", text.replace(' ', "")),
            ));
        }
        out.push(path);
    }
    Ok(out)
}

/// An expression for the `Versioned::VERSION` (a `u64`) of the helper at
/// `path`, spanned at `path` so a mistake is reported at the user's name.
pub(crate) fn version_expr(path: &Path) -> TokenStream {
    let Some(last) = path.segments.last() else {
        return syn::Error::new_spanned(path, "expected a function's path").to_compile_error();
    };
    let name = &last.ident;
    // A single name is looked up in the module, past the fallback below;
    // a longer path starts from a name in scope (a module or crate).
    let import = if path.segments.len() == 1 && path.leading_colon.is_none() {
        quote_spanned!(name.span()=> self::#name)
    } else {
        path.to_token_stream()
    };
    let span = path.span();
    quote_spanned! {span=>
        {
            #[allow(non_camel_case_types, dead_code)]
            struct #name {}
            {
                #[allow(unused_imports)]
                use #import;
                <#name as ::asset_core::__private::Versioned>::VERSION
            }
        }
    }
}

/// `[v1, v2, ...]`: the versions of the helpers at `paths`, as a `&[u64]`.
pub(crate) fn versions_slice(paths: &[Path]) -> TokenStream {
    let versions = paths.iter().map(version_expr);
    quote!(&[#(#versions),*])
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn parsed(tokens: TokenStream) -> syn::Result<Vec<Path>> {
        (|input: ParseStream<'_>| parse(input)).parse2(tokens)
    }

    #[test]
    fn paths_parse_with_a_trailing_comma() {
        let paths = parsed(quote!(= [a, b::c, crate::d::e,])).expect("valid");
        let texts: Vec<String> = paths
            .iter()
            .map(|p| p.to_token_stream().to_string())
            .collect();
        assert_eq!(texts, ["a", "b :: c", "crate :: d :: e"]);
    }

    #[test]
    fn mistakes_are_refused() {
        for (tokens, message) in [
            (quote!([a]), "expected `uses = [helper"),
            (quote!(= a), "expected `uses = [helper"),
            (quote!(= [1]), "expected `uses = [helper"),
            (quote!(= [a, b, a]), "`a` is named twice in `uses`"),
        ] {
            let err = parsed(tokens).expect_err("refused").to_string();
            assert!(err.contains(message), "{err}");
        }
    }

    #[test]
    fn single_names_are_imported_from_the_module() {
        let expr = version_expr(&syn::parse_quote!(helper)).to_string();
        assert!(expr.contains("use self :: helper ;"), "{expr}");
        assert!(expr.contains("struct helper { }"), "{expr}");
        let expr = version_expr(&syn::parse_quote!(util::helper)).to_string();
        assert!(expr.contains("use util :: helper ;"), "{expr}");
        assert!(
            expr.contains("< helper as :: asset_core :: __private :: Versioned > :: VERSION"),
            "{expr}"
        );
    }
}
