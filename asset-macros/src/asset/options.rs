//! The options of `#[asset(...)]`.
//!
//! Each option is one row of [`OPTIONS`]: its name, how it is written, and a
//! function that parses its value into [`AssetOptions`]. Adding an option is
//! a field on [`AssetOptions`] and a row in the table; unknown, repeated and
//! malformed options are reported by the loop in [`parse`], which recovers at
//! the next top-level comma so every mistake is reported at once.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitStr, Token};

use crate::asset::day;
use crate::diagnostics::Errors;

/// The IO manager used when `io` is not given.
pub(crate) const DEFAULT_IO: &str = "parquet";

/// The options given to one `#[asset]`; `None` means "not given".
#[derive(Default)]
pub(crate) struct AssetOptions {
    /// `name = "..."`: the asset key.
    pub(crate) name: Option<LitStr>,
    /// `code_version = "..."`: an explicit code version.
    pub(crate) code_version: Option<LitStr>,
    /// `partitions = ...`: how the asset is partitioned.
    pub(crate) partitions: Option<Partitions>,
    /// `io = "..."`: the IO manager's name.
    pub(crate) io: Option<LitStr>,
    /// `uses = [...]`: `#[versioned]` helpers folded into the code version.
    pub(crate) uses: Option<Vec<syn::Path>>,
}

/// The `partitions = ...` option.
pub(crate) enum Partitions {
    /// `daily("YYYY-MM-DD")`: one partition per day from that (checked) day.
    Daily {
        /// The first day, already checked to be a real date.
        start: LitStr,
    },
}

/// One option `#[asset]` understands.
struct OptionSpec {
    /// The option's name.
    name: &'static str,
    /// Parses what follows the name (`= "..."` etc.) into the options.
    parse: fn(&mut AssetOptions, ParseStream<'_>) -> syn::Result<()>,
}

/// Every option, in the order the "expected one of" message lists them.
const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "name",
        parse: |options, input| {
            options.name = Some(non_empty_string("name", input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "code_version",
        parse: |options, input| {
            options.code_version = Some(non_empty_string("code_version", input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "partitions",
        parse: |options, input| {
            options.partitions = Some(partitions(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "io",
        parse: |options, input| {
            options.io = Some(non_empty_string("io", input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "uses",
        parse: |options, input| {
            options.uses = Some(crate::uses::parse(input)?);
            Ok(())
        },
    },
];

/// Parses the attribute's arguments. Every problem is recorded in `errors`;
/// the options that parsed are returned either way.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> AssetOptions {
    let mut options = AssetOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let name = match input.call(Ident::parse_any) {
                Ok(name) => name,
                Err(_) => {
                    errors.push(input.error(format!(
                        "expected an option; expected one of: {}",
                        known_options()
                    )));
                    skip_to_next_option(input);
                    continue;
                }
            };
            let key = name.unraw().to_string();
            match OPTIONS.iter().find(|spec| spec.name == key) {
                None => {
                    errors.push(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown option `{key}`; expected one of: {}",
                            known_options()
                        ),
                    ));
                    skip_to_value_end(input);
                }
                Some(spec) => {
                    if seen.contains(&spec.name) {
                        errors.push(syn::Error::new(
                            name.span(),
                            format!("option `{key}` is given twice"),
                        ));
                        skip_to_value_end(input);
                    } else {
                        seen.push(spec.name);
                        if let Err(error) = (spec.parse)(&mut options, input) {
                            errors.push(error);
                            skip_to_value_end(input);
                        }
                    }
                }
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else {
                errors.push(input.error("expected `,` between options"));
                skip_to_next_option(input);
            }
        }
        Ok(())
    };
    // The loop above consumes everything and records its own errors.
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    options
}

/// The names of all options, for messages.
fn known_options() -> String {
    OPTIONS
        .iter()
        .map(|spec| spec.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Skips to the next top-level `,` (not consuming it) or the end.
fn skip_to_value_end(input: ParseStream<'_>) {
    // `step` cannot fail here: the closure always succeeds.
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Skips past the next top-level `,` (consuming it) or to the end.
fn skip_to_next_option(input: ParseStream<'_>) {
    skip_to_value_end(input);
    if input.peek(Token![,]) {
        let _ = input.parse::<Token![,]>();
    }
}

/// `= "text"` with non-empty text.
fn non_empty_string(option: &str, input: ParseStream<'_>) -> syn::Result<LitStr> {
    let lit = string_value(option, input)?;
    if lit.value().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("option `{option}` must not be empty"),
        ));
    }
    Ok(lit)
}

/// `= "text"`.
fn string_value(option: &str, input: ParseStream<'_>) -> syn::Result<LitStr> {
    let expected = || format!("expected `{option} = \"...\"`");
    if !input.peek(Token![=]) {
        return Err(input.error(expected()));
    }
    input.parse::<Token![=]>()?;
    input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), expected()))
}

/// The kinds of partitions, for messages.
const PARTITION_KINDS: &str = "daily";

/// `= daily("YYYY-MM-DD")`, the day checked to be a real date.
fn partitions(input: ParseStream<'_>) -> syn::Result<Partitions> {
    let expected = "expected `partitions = daily(\"YYYY-MM-DD\")`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let kind: Ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    match kind.to_string().as_str() {
        "daily" => {
            let content;
            syn::parenthesized!(content in input);
            let start: LitStr = content
                .parse()
                .map_err(|e| syn::Error::new(e.span(), expected))?;
            if !content.is_empty() {
                return Err(content.error(expected));
            }
            if !day::is_day(&start.value()) {
                return Err(syn::Error::new(
                    start.span(),
                    format!(
                        "daily partitions start {:?} is not a day (expected a real date as YYYY-MM-DD)",
                        start.value()
                    ),
                ));
            }
            Ok(Partitions::Daily { start })
        }
        other => Err(syn::Error::new(
            kind.span(),
            format!("unknown partitions `{other}`; expected one of: {PARTITION_KINDS}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(args: TokenStream) -> AssetOptions {
        let mut errors = Errors::default();
        let options = parse(args, &mut errors);
        assert!(errors.is_empty(), "unexpected errors");
        options
    }

    fn messages(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(args, &mut errors);
        errors.messages()
    }

    #[test]
    fn all_options_parse_in_any_order() {
        let options = parse_ok(quote!(
            io = "json",
            partitions = daily("2024-02-29"),
            uses = [helper, util::other],
            name = "x",
            code_version = "7",
        ));
        assert_eq!(options.uses.as_ref().map(Vec::len), Some(2));
        assert_eq!(options.name.map(|l| l.value()).as_deref(), Some("x"));
        assert_eq!(
            options.code_version.map(|l| l.value()).as_deref(),
            Some("7")
        );
        assert_eq!(options.io.map(|l| l.value()).as_deref(), Some("json"));
        let Some(Partitions::Daily { start }) = options.partitions else {
            panic!("daily partitions expected");
        };
        assert_eq!(start.value(), "2024-02-29");
    }

    #[test]
    fn no_options_is_all_defaults() {
        let options = parse_ok(TokenStream::new());
        assert!(options.name.is_none() && options.partitions.is_none() && options.io.is_none());
    }

    #[test]
    fn unknown_option_lists_the_known_ones() {
        assert_eq!(
            messages(quote!(foo = 1, name = "ok")),
            ["unknown option `foo`; expected one of: name, code_version, partitions, io, uses"]
        );
    }

    #[test]
    fn every_mistake_is_reported_not_just_the_first() {
        let found = messages(quote!(
            foo,
            partitions = daily("2024-02-30"),
            name = 3,
            io = "a"
        ));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[1].contains("\"2024-02-30\" is not a day"),
            "{found:?}"
        );
        assert!(found[2].contains("expected `name = \"...\"`"), "{found:?}");
    }

    #[test]
    fn repeated_option_is_refused() {
        assert_eq!(
            messages(quote!(io = "a", io = "b")),
            ["option `io` is given twice"]
        );
    }

    #[test]
    fn unknown_partition_kind_is_refused() {
        assert_eq!(
            messages(quote!(partitions = hourly("2024-01-01"))),
            ["unknown partitions `hourly`; expected one of: daily"]
        );
    }

    #[test]
    fn missing_comma_is_reported() {
        assert_eq!(
            messages(quote!(name = "a" io = "b")),
            ["expected `,` between options"]
        );
    }

    #[test]
    fn empty_strings_are_refused() {
        assert_eq!(messages(quote!(io = "")), ["option `io` must not be empty"]);
    }
}
