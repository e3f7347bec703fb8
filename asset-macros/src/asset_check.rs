//! `#[asset_check]`: registers a function over an asset's value as a check
//! run on every output of that asset before it is published.
//!
//! ```ignore
//! #[asset_check(severity = warn)]
//! fn no_future_events(events: &CleanEvents) -> CheckOutcome { ... }
//! ```
//!
//! The expansion keeps the function unchanged and adds, inside one
//! `const _: () = { ... };` block, a runner that decodes the stored value as
//! `T` (through `Asset`, spanned at `T`, so a type no asset returns gets
//! `Asset`'s "not an asset" message there) and converts what the function
//! returns (through `IntoCheckOutcome`, spanned at the return type), and an
//! `inventory::submit!` of a `CheckRegistration` keyed by `T`'s asset key.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, ReturnType, Type};

use crate::diagnostics::Errors;

/// The message for anything that is not a free function.
const NOT_A_FUNCTION: &str = "#[asset_check] goes on a free function `fn name(value: &T) -> CheckOutcome`, where `T` is the type an #[asset] returns";

/// The severities, as written.
const SEVERITIES: &str = "`error` (a failure blocks publishing; the default) or `warn` (a failure is recorded, the value published)";

/// `severity = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Severity {
    Error,
    Warn,
}

/// The options of one `#[asset_check]`.
#[derive(Default)]
struct CheckOptions {
    /// `name = "..."`: the check's name (default: the function's).
    name: Option<LitStr>,
    /// `severity = error | warn`.
    severity: Option<Severity>,
}

/// Expands `#[asset_check(args)] item`; errors come out beside the item,
/// which is always emitted unchanged.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(args, &mut errors);
    let Some(function) = crate::asset::free_function(&item, NOT_A_FUNCTION, &mut errors) else {
        return errors.beside(item);
    };
    let Some(value) = value_type(&function, &mut errors) else {
        return errors.beside(item);
    };
    let generated = generate(&function, &options, value);
    let mut out = item;
    out.extend(generated);
    out.extend(errors.into_compile_errors());
    out
}

/// Parses `name = "..."` and `severity = error | warn`.
fn parse_options(args: TokenStream, errors: &mut Errors) -> CheckOptions {
    let mut options = CheckOptions::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.unraw().to_string())
            .unwrap_or_default();
        match key.as_str() {
            "name" if options.name.is_some() => Err(meta.error("option `name` is given twice")),
            "severity" if options.severity.is_some() => {
                Err(meta.error("option `severity` is given twice"))
            }
            "name" => {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().trim().is_empty() {
                    return Err(syn::Error::new(name.span(), "`name` cannot be empty"));
                }
                options.name = Some(name);
                Ok(())
            }
            "severity" => {
                let value = meta.value()?;
                let ident = syn::Ident::parse_any(value).map_err(|e| {
                    syn::Error::new(e.span(), format!("expected a severity: {SEVERITIES}"))
                })?;
                options.severity = Some(match ident.unraw().to_string().as_str() {
                    "error" => Severity::Error,
                    "warn" => Severity::Warn,
                    other => {
                        return Err(syn::Error::new(
                            ident.span(),
                            format!("unknown severity `{other}`; expected {SEVERITIES}"),
                        ));
                    }
                });
                Ok(())
            }
            _ => {
                let path = meta.path.to_token_stream().to_string().replace(' ', "");
                Err(meta.error(format!(
                    "unknown option `{path}`{}; expected one of: name, severity",
                    crate::diagnostics::did_you_mean(&path, "name, severity")
                )))
            }
        }
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error);
    }
    options
}

/// The `T` of the function's single `&T` parameter; every problem with the
/// signature is recorded.
fn value_type<'a>(function: &'a ItemFn, errors: &mut Errors) -> Option<&'a Type> {
    let before = errors.len();
    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a check function cannot be generic: it checks the value of one asset",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new(
            asyncness.span,
            "a check function cannot be `async`: it inspects a value already in memory",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new(
            unsafety.span,
            "a check function cannot be `unsafe`",
        ));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "a check function returns `CheckOutcome` or `Result<(), E>`",
        ));
    }
    let mut value = None;
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    match inputs.as_slice() {
        [FnArg::Typed(typed)] => match &*typed.ty {
            Type::Reference(reference) if reference.mutability.is_none() => {
                value = Some(&*reference.elem);
            }
            other => errors.push(syn::Error::new_spanned(
                other,
                "a check takes the asset's value by shared reference: `value: &T`",
            )),
        },
        [FnArg::Receiver(receiver)] => {
            errors.push(syn::Error::new_spanned(receiver, NOT_A_FUNCTION));
        }
        [] => errors.push(syn::Error::new(
            sig.paren_token.span.join(),
            "a check function takes one parameter, the asset's value: `value: &T`",
        )),
        [_, extra, ..] => errors.push(syn::Error::new_spanned(
            extra,
            "a check function takes exactly one parameter, the asset's value: `value: &T`",
        )),
    }
    if errors.len() > before { None } else { value }
}

/// The runner and the registration.
fn generate(function: &ItemFn, options: &CheckOptions, value: &Type) -> TokenStream {
    let ident = &function.sig.ident;
    let name = options
        .name
        .as_ref()
        .map_or_else(|| ident.unraw().to_string(), LitStr::value);
    let severity = match options.severity.unwrap_or(Severity::Error) {
        Severity::Error => quote!(Error),
        Severity::Warn => quote!(Warn),
    };
    let output_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let asset = quote_spanned!(value.span()=> <#value as ::asset_core::__private::Asset>);
    let outcome = quote_spanned!(output_span=>
        ::asset_core::__private::IntoCheckOutcome::into_outcome(__returned)
    );
    let git_commit = crate::git::commit_of_crate_being_built();
    let name_span = ident.span();
    let file = quote_spanned!(name_span=> ::core::file!());
    let line = quote_spanned!(name_span=> ::core::line!());
    quote! {
        #[doc(hidden)]
        const _: () = {
            fn __run(
                payload: &::asset_core::__private::Payload,
            ) -> ::core::result::Result<
                ::asset_core::__private::CheckOutcome,
                ::asset_core::__private::AssetError,
            > {
                let __value = #asset::decode(::core::clone::Clone::clone(payload))?;
                let __returned = #ident(&__value);
                ::core::result::Result::Ok(#outcome)
            }
            ::asset_core::__private::inventory::submit! {
                ::asset_core::__private::CheckRegistration {
                    asset: #asset::KEY,
                    name: #name,
                    severity: ::asset_core::__private::CheckSeverity::#severity,
                    run: __run,
                    source: ::asset_core::__private::SourceLocation {
                        file: #file,
                        line: #line,
                        git_commit: #git_commit,
                    },
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn a_check_registers_under_its_types_asset_key() {
        let out = expanded(
            quote!(severity = warn),
            quote!(
                fn no_future_events(events: &CleanEvents) -> CheckOutcome {
                    CheckOutcome::pass()
                }
            ),
        );
        assert!(
            out.contains("asset : < CleanEvents as :: asset_core :: __private :: Asset > :: KEY"),
            "{out}"
        );
        assert!(out.contains("name : \"no_future_events\""), "{out}");
        assert!(out.contains("CheckSeverity :: Warn"), "{out}");
        assert!(
            out.contains("let __returned = no_future_events (& __value)"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn severity_defaults_to_error_and_name_can_be_given() {
        let out = expanded(
            quote!(name = "rows_sorted"),
            quote!(
                fn sorted(v: &A) -> Result<(), String> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("CheckSeverity :: Error"), "{out}");
        assert!(out.contains("name : \"rows_sorted\""), "{out}");
    }

    #[test]
    fn signature_mistakes_keep_the_item_and_name_the_fix() {
        for (item, message) in [
            (
                quote!(
                    fn a(v: A) -> CheckOutcome {}
                ),
                "by shared reference",
            ),
            (
                quote!(
                    fn a(v: &A, w: &B) -> CheckOutcome {}
                ),
                "exactly one parameter",
            ),
            (
                quote!(
                    fn a() -> CheckOutcome {}
                ),
                "takes one parameter",
            ),
            (
                quote!(
                    async fn a(v: &A) -> CheckOutcome {}
                ),
                "cannot be `async`",
            ),
            (
                quote!(
                    fn a<T>(v: &T) -> CheckOutcome {}
                ),
                "cannot be generic",
            ),
            (
                quote!(
                    fn a(v: &A) {}
                ),
                "returns `CheckOutcome`",
            ),
            (
                quote!(
                    struct A;
                ),
                "goes on a free function",
            ),
        ] {
            let out = expanded(quote!(), item.clone());
            assert!(out.contains(message), "{item}: {out}");
            assert_eq!(out.matches("compile_error").count(), 1, "{item}: {out}");
            assert!(!out.contains("inventory"), "{item}: {out}");
        }
    }

    #[test]
    fn option_mistakes_are_reported() {
        for (args, message) in [
            (quote!(severity = fatal), "unknown severity `fatal`"),
            (quote!(severity = "warn"), "expected a severity"),
            (quote!(level = warn), "unknown option `level`"),
            (quote!(name = ""), "cannot be empty"),
            (quote!(severity = warn, severity = error), "given twice"),
        ] {
            let out = expanded(
                args.clone(),
                quote!(
                    fn a(v: &A) -> CheckOutcome {}
                ),
            );
            assert!(out.contains(message), "{args}: {out}");
            assert!(out.starts_with("fn a"), "{args}: {out}");
        }
    }
}
