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
use syn::{Ident, LitInt, LitStr, Token};

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
    pub(crate) partitions: Option<crate::asset::partitions::Partitions>,
    /// `io = "..."`: the IO manager's name.
    pub(crate) io: Option<LitStr>,
    /// `uses = [...]`: `#[versioned]` helpers folded into the code version.
    pub(crate) uses: Option<Vec<syn::Path>>,
    /// `retries = N`: retries after a transient error.
    pub(crate) retries: Option<u32>,
    /// `backoff = exponential(base = "1s", max = "5m")`.
    pub(crate) backoff: Option<Backoff>,
    /// `jitter = full | equal | none`, and where it is written.
    pub(crate) jitter: Option<(Jitter, proc_macro2::Span)>,
    /// `contract = path::to::fn`: a function returning the `DataContract`.
    pub(crate) contract: Option<syn::Path>,
    /// `schedule = "0 6 * * *"`: a cron expression (checked here).
    pub(crate) schedule: Option<LitStr>,
    /// `catchup = true`, and where it is written.
    pub(crate) catchup: Option<(bool, proc_macro2::Span)>,
    /// `max_catchup = N`, and where it is written.
    pub(crate) max_catchup: Option<(u32, proc_macro2::Span)>,
    /// `automation = eager | on_missing`.
    pub(crate) automation: Option<crate::asset::unattended::Automation>,
    /// `sla = "6h"`, in seconds.
    pub(crate) sla_secs: Option<u64>,
    /// `severity = P0 | P1 | P2 | P3`.
    pub(crate) severity: Option<crate::asset::unattended::Severity>,
}

/// The `backoff = exponential(...)` option, durations in milliseconds.
pub(crate) struct Backoff {
    /// Where it is written, for errors.
    pub(crate) span: proc_macro2::Span,
    /// `base = "..."`: the first delay (default 1 s).
    pub(crate) base_ms: u64,
    /// `max = "..."`: the longest delay (default 5 min).
    pub(crate) max_ms: u64,
}

/// The default `backoff` base, in milliseconds.
pub(crate) const DEFAULT_BASE_MS: u64 = 1_000;
/// The default `backoff` max, in milliseconds.
pub(crate) const DEFAULT_MAX_MS: u64 = 300_000;

/// The `jitter = ...` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jitter {
    /// `full`: uniform in `[0, d]`.
    Full,
    /// `equal`: `d/2` plus uniform in `[0, d/2]`.
    Equal,
    /// `none`: exactly `d`.
    None,
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
            options.partitions = Some(crate::asset::partitions::parse(input)?);
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
    OptionSpec {
        name: "retries",
        parse: |options, input| {
            options.retries = Some(retries(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "backoff",
        parse: |options, input| {
            options.backoff = Some(backoff(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "jitter",
        parse: |options, input| {
            options.jitter = Some(jitter(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "contract",
        parse: |options, input| {
            options.contract = Some(contract(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "schedule",
        parse: |options, input| {
            options.schedule = Some(crate::asset::unattended::schedule(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "catchup",
        parse: |options, input| {
            options.catchup = Some(crate::asset::unattended::catchup(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "max_catchup",
        parse: |options, input| {
            options.max_catchup = Some(crate::asset::unattended::max_catchup(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "automation",
        parse: |options, input| {
            options.automation = Some(crate::asset::unattended::automation(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "sla",
        parse: |options, input| {
            options.sla_secs = Some(crate::asset::unattended::sla(input)?);
            Ok(())
        },
    },
    OptionSpec {
        name: "severity",
        parse: |options, input| {
            options.severity = Some(crate::asset::unattended::severity(input)?);
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
                            "unknown option `{key}`{}; expected one of: {}",
                            crate::diagnostics::did_you_mean(&key, &known_options()),
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
    if options.retries.is_none() {
        let without_retries = options
            .backoff
            .as_ref()
            .map(|b| ("backoff", b.span))
            .into_iter()
            .chain(options.jitter.map(|(_, span)| ("jitter", span)));
        for (option, span) in without_retries {
            errors.push(syn::Error::new(
                span,
                format!("option `{option}` has no effect without `retries = N`"),
            ));
        }
    }
    crate::asset::unattended::check_combination(&options, errors);
    options
}

/// `= N`: a number of retries.
fn retries(input: ParseStream<'_>) -> syn::Result<u32> {
    let expected = "expected `retries = N` (a whole number)";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let lit: LitInt = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    lit.base10_parse::<u32>()
        .map_err(|_| syn::Error::new(lit.span(), expected))
}

/// `= path::to::function`: the function that returns the asset's contract.
fn contract(input: ParseStream<'_>) -> syn::Result<syn::Path> {
    let expected =
        "expected `contract = path::to::function` (a function returning a `DataContract`)";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    input
        .parse::<syn::Path>()
        .map_err(|e| syn::Error::new(e.span(), expected))
}

/// `= exponential(base = "1s", max = "5m")`, each part optional.
fn backoff(input: ParseStream<'_>) -> syn::Result<Backoff> {
    let expected = "expected `backoff = exponential(base = \"1s\", max = \"5m\")`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let kind: Ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    if kind != "exponential" {
        return Err(syn::Error::new(
            kind.span(),
            format!("unknown backoff `{kind}`; expected one of: exponential"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let settings = backoff_settings(&content, expected);
    if settings.is_err() {
        // Consume the rest, so the error is the only one reported.
        skip_rest(&content);
    }
    let (base, max) = settings?;
    let base_ms = base.as_ref().map_or(DEFAULT_BASE_MS, |(ms, _)| *ms);
    let max_ms = max.as_ref().map_or(DEFAULT_MAX_MS, |(ms, _)| *ms);
    if base_ms > max_ms {
        let span = base
            .as_ref()
            .or(max.as_ref())
            .map_or(kind.span(), |(_, l)| l.span());
        return Err(syn::Error::new(
            span,
            format!("backoff base ({base_ms} ms) is longer than its max ({max_ms} ms)"),
        ));
    }
    Ok(Backoff {
        span: kind.span(),
        base_ms,
        max_ms,
    })
}

/// A backoff duration setting, in milliseconds, with its literal.
type Setting = Option<(u64, LitStr)>;

/// The inside of `exponential(...)`: `base = "..."` and `max = "..."`.
fn backoff_settings(content: ParseStream<'_>, expected: &str) -> syn::Result<(Setting, Setting)> {
    let mut base: Setting = None;
    let mut max: Setting = None;
    while !content.is_empty() {
        let name: Ident = content
            .call(Ident::parse_any)
            .map_err(|e| syn::Error::new(e.span(), expected))?;
        let slot = match name.to_string().as_str() {
            "base" => &mut base,
            "max" => &mut max,
            other => {
                return Err(syn::Error::new(
                    name.span(),
                    format!("unknown backoff setting `{other}`; expected one of: base, max"),
                ));
            }
        };
        if slot.is_some() {
            return Err(syn::Error::new(
                name.span(),
                format!("backoff setting `{name}` is given twice"),
            ));
        }
        let lit = string_value(&format!("{name}"), content)?;
        let ms = duration_ms(&lit.value()).ok_or_else(|| {
            syn::Error::new(
                lit.span(),
                format!(
                    "{:?} is not a duration (expected a whole number and a unit: \"500ms\", \"1s\", \"5m\", \"2h\")",
                    lit.value()
                ),
            )
        })?;
        *slot = Some((ms, lit));
        if content.is_empty() {
            break;
        }
        content
            .parse::<Token![,]>()
            .map_err(|e| syn::Error::new(e.span(), expected))?;
    }
    Ok((base, max))
}

/// Skips every token left in `input`.
fn skip_rest(input: ParseStream<'_>) {
    // `step` cannot fail here: the closure always succeeds.
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    });
}

/// A duration written `500ms`, `1s`, `5m` or `2h`, in milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// The kinds of jitter, for messages.
const JITTER_KINDS: &str = "full, equal, none";

/// `= full | equal | none`.
fn jitter(input: ParseStream<'_>) -> syn::Result<(Jitter, proc_macro2::Span)> {
    let expected = format!("expected `jitter = ...` with one of: {JITTER_KINDS}");
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let kind: Ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), &expected))?;
    match kind.to_string().as_str() {
        "full" => Ok((Jitter::Full, kind.span())),
        "equal" => Ok((Jitter::Equal, kind.span())),
        "none" => Ok((Jitter::None, kind.span())),
        other => Err(syn::Error::new(
            kind.span(),
            format!("unknown jitter `{other}`; expected one of: {JITTER_KINDS}"),
        )),
    }
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
pub(crate) fn string_value(option: &str, input: ParseStream<'_>) -> syn::Result<LitStr> {
    let expected = || format!("expected `{option} = \"...\"`");
    if !input.peek(Token![=]) {
        return Err(input.error(expected()));
    }
    input.parse::<Token![=]>()?;
    input
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), expected()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The book's reference page, which must document every option.
    const REFERENCE: &str = include_str!("../../../book/src/reference.md");

    #[test]
    fn every_option_is_in_the_reference() {
        for option in OPTIONS {
            assert!(
                REFERENCE.contains(&format!("| `{}` |", option.name)),
                "option `{}` is missing from book/src/reference.md",
                option.name
            );
        }
        for kind in crate::asset::partitions::KINDS.split(", ") {
            assert!(
                REFERENCE.contains(&format!("| `{kind}` |")),
                "partitions `{kind}` is missing from book/src/reference.md"
            );
        }
    }

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
        let Some(crate::asset::partitions::Partitions::Time(time)) = options.partitions else {
            panic!("daily partitions expected");
        };
        assert_eq!(time.start.value(), "2024-02-29");
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
            [
                "unknown option `foo`; expected one of: name, code_version, partitions, io, uses, retries, backoff, jitter, contract, schedule, catchup, max_catchup, automation, sla, severity"
            ]
        );
    }

    #[test]
    fn retry_options_parse() {
        let options = parse_ok(quote!(
            retries = 3,
            backoff = exponential(base = "250ms", max = "2h"),
            jitter = equal
        ));
        assert_eq!(options.retries, Some(3));
        let backoff = options.backoff.expect("backoff");
        assert_eq!((backoff.base_ms, backoff.max_ms), (250, 7_200_000));
        assert_eq!(options.jitter.map(|j| j.0), Some(Jitter::Equal));
        let partial = parse_ok(quote!(
            retries = 1,
            backoff = exponential(max = "10s"),
            jitter = none
        ));
        let backoff = partial.backoff.expect("backoff");
        assert_eq!((backoff.base_ms, backoff.max_ms), (1_000, 10_000));
        assert_eq!(partial.jitter.map(|j| j.0), Some(Jitter::None));
    }

    #[test]
    fn retry_option_mistakes_are_reported() {
        assert_eq!(
            messages(quote!(
                retries = 1,
                backoff = exponential(base = "1 s", max = "5m")
            )),
            [
                "\"1 s\" is not a duration (expected a whole number and a unit: \"500ms\", \"1s\", \"5m\", \"2h\")"
            ]
        );
        assert_eq!(
            messages(quote!(
                retries = 1,
                backoff = exponential(base = "1m", max = "1s")
            )),
            ["backoff base (60000 ms) is longer than its max (1000 ms)"]
        );
        assert_eq!(
            messages(quote!(retries = 1, backoff = linear(base = "1s"))),
            ["unknown backoff `linear`; expected one of: exponential"]
        );
        assert_eq!(
            messages(quote!(retries = 1, jitter = half)),
            ["unknown jitter `half`; expected one of: full, equal, none"]
        );
        assert_eq!(
            messages(quote!(retries = -1)),
            ["expected `retries = N` (a whole number)"]
        );
        assert_eq!(
            messages(quote!(jitter = none, backoff = exponential())),
            [
                "option `backoff` has no effect without `retries = N`",
                "option `jitter` has no effect without `retries = N`"
            ]
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("2h"), Some(7_200_000));
        for bad in ["", "1", "s", "1.5s", "1d", "1 s"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
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
            found[1].contains("\"2024-02-30\" is not a date"),
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
            messages(quote!(partitions = yearly("2024-01-01"))),
            [
                "unknown partitions `yearly`; expected one of: hourly, daily, weekly, monthly, static, multi, dynamic"
            ]
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
