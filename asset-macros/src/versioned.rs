//! `#[versioned]`: gives a helper function a version that assets can fold
//! into theirs with `#[asset(uses = [helper])]`.
//!
//! The expansion keeps the function unchanged and adds, beside it, a hidden
//! type of the same name and visibility (`struct helper {}`: types and
//! functions live in different namespaces, so wherever `helper` the function
//! can be named or imported, so can its version) implementing `Versioned`.
//! Its `VERSION` is computed at compile time from a hash of the function's
//! tokens (or its explicit `version = "..."`) and the versions of the
//! helpers it names in `uses`, transitively.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, ItemFn, LitStr, Path, Token};

use crate::code_version;
use crate::diagnostics::Errors;
use crate::uses;

/// The message for anything that is not a free function.
const NOT_A_FUNCTION: &str = "#[versioned] goes on a free function (`fn` or `async fn`) that assets name in `#[asset(uses = [...])]`";

/// The options of `#[versioned(...)]`.
#[derive(Default)]
struct VersionedOptions {
    /// `uses = [...]`: the helpers this one calls.
    uses: Vec<Path>,
    /// `version = "..."`: an explicit version instead of the tokens' hash.
    version: Option<LitStr>,
}

/// Expands `#[versioned(args)] item`. Errors come out as `compile_error!`s
/// beside the item, which is always emitted unchanged.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(args, &mut errors);
    let Some(function) = crate::asset::free_function(&item, NOT_A_FUNCTION, &mut errors) else {
        return errors.beside(item);
    };
    if let Some(receiver) = function.sig.receiver() {
        errors.push(syn::Error::new_spanned(receiver, NOT_A_FUNCTION));
        return errors.beside(item);
    }
    let name = &function.sig.ident;
    if let Some(itself) = options.uses.iter().find(|p| p.is_ident(name)) {
        errors.push(syn::Error::new_spanned(
            itself,
            "a helper's `uses` cannot name the helper itself",
        ));
    }
    let generated = generate(&function, &options);
    let mut out = item;
    out.extend(generated);
    out.extend(errors.into_compile_errors());
    out
}

/// The hidden type and its `Versioned` impl.
fn generate(function: &ItemFn, options: &VersionedOptions) -> TokenStream {
    let own = match &options.version {
        Some(version) => explicit_version_hash(&version.value()),
        None => code_version::hash_of_function(function),
    };
    let vis = &function.vis;
    let name = &function.sig.ident;
    let uses = options
        .uses
        .iter()
        .filter(|p| !p.is_ident(name))
        .cloned()
        .collect::<Vec<_>>();
    let versions = uses::versions_slice(&uses);
    // Spanned at the name, so rustc's "implemented for `helper`" hints point
    // at the function.
    quote_spanned! {name.span()=>
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #[automatically_derived]
        impl ::asset_core::__private::Versioned for #name {
            const VERSION: u64 = ::asset_core::__private::helper_version(#own, #versions);
        }
    }
}

/// The hash standing for an explicit `version = "..."`.
fn explicit_version_hash(version: &str) -> u64 {
    code_version::fnv1a_64(format!("version:{version}").as_bytes())
}

/// The options `#[versioned]` understands, for messages.
const KNOWN: &str = "uses, version";

/// Parses `uses = [...]` and `version = "..."`, recording every mistake.
fn parse_options(args: TokenStream, errors: &mut Errors) -> VersionedOptions {
    let mut options = VersionedOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let name = input.call(Ident::parse_any).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected an option; expected one of: {KNOWN}"),
                )
            })?;
            let key = name.unraw().to_string();
            if seen.contains(&key) {
                return Err(syn::Error::new(
                    name.span(),
                    format!("option `{key}` is given twice"),
                ));
            }
            match key.as_str() {
                "uses" => options.uses = uses::parse(input)?,
                "version" => {
                    let expected = "expected `version = \"...\"`";
                    if !input.peek(Token![=]) {
                        return Err(input.error(expected));
                    }
                    input.parse::<Token![=]>()?;
                    let lit: LitStr = input
                        .parse()
                        .map_err(|e| syn::Error::new(e.span(), expected))?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(
                            lit.span(),
                            "option `version` must not be empty",
                        ));
                    }
                    options.version = Some(lit);
                }
                _ => {
                    return Err(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown option `{key}`{}; expected one of: {KNOWN}",
                            crate::diagnostics::did_you_mean(&key, KNOWN)
                        ),
                    ));
                }
            }
            seen.push(key);
            if input.is_empty() {
                break;
            }
            input
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `,` between options"))?;
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn expanded(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn the_function_is_kept_and_a_hidden_type_added() {
        let out = expanded(
            quote!(),
            quote!(
                pub(crate) fn normalize(x: f64) -> f64 {
                    x / 2.0
                }
            ),
        );
        assert!(
            out.starts_with("pub (crate) fn normalize (x : f64) -> f64 { x / 2.0 }"),
            "{out}"
        );
        assert!(out.contains("pub (crate) struct normalize { }"), "{out}");
        assert!(
            out.contains("impl :: asset_core :: __private :: Versioned for normalize"),
            "{out}"
        );
        assert!(out.contains("helper_version ("), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn the_version_follows_the_code_or_the_explicit_version() {
        let f = |body: TokenStream| -> ItemFn {
            syn::parse2(quote!(fn h() -> u32 { #body })).expect("a function")
        };
        let v =
            |options: VersionedOptions, body: TokenStream| generate(&f(body), &options).to_string();
        assert_ne!(
            v(VersionedOptions::default(), quote!(1)),
            v(VersionedOptions::default(), quote!(2))
        );
        let explicit = || VersionedOptions {
            uses: vec![],
            version: Some(syn::parse_quote!("3")),
        };
        assert_eq!(v(explicit(), quote!(1)), v(explicit(), quote!(2)));
        assert_ne!(
            v(explicit(), quote!(1)),
            v(VersionedOptions::default(), quote!(1))
        );
    }

    #[test]
    fn uses_fold_in_other_helpers() {
        let out = expanded(
            quote!(uses = [scale, util::clamp], version = "2"),
            quote!(
                fn normalize(x: f64) -> f64 {
                    clamp(scale(x))
                }
            ),
        );
        assert!(out.contains("use self :: scale ;"), "{out}");
        assert!(out.contains("use util :: clamp ;"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn mistakes_are_reported_beside_the_item() {
        for (args, item, message) in [
            (
                quote!(),
                quote!(
                    struct A;
                ),
                "#[versioned] goes on a free function",
            ),
            (
                quote!(),
                quote!(
                    fn m(&self) {}
                ),
                "#[versioned] goes on a free function",
            ),
            (
                quote!(uses = [h]),
                quote!(
                    fn h() {}
                ),
                "cannot name the helper itself",
            ),
            (
                quote!(versoin = "1"),
                quote!(
                    fn h() {}
                ),
                "unknown option `versoin` (did you mean `version`?); expected one of: uses, version",
            ),
            (
                quote!(version = ""),
                quote!(
                    fn h() {}
                ),
                "must not be empty",
            ),
            (
                quote!(version = "1", version = "2"),
                quote!(
                    fn h() {}
                ),
                "option `version` is given twice",
            ),
        ] {
            let out = expanded(args, item);
            assert_eq!(out.matches("compile_error").count(), 1, "{out}");
            assert!(out.contains(message), "{out}");
        }
    }
}
