//! The options that make an asset run unattended: `schedule`, `catchup`,
//! `max_catchup`, `automation`, `sla` and `severity`.
//!
//! Their literals are checked here, at compile time, with the parsers the
//! engine uses (a cron expression through `croner`), so a bad one is an
//! error at the literal rather than at the first daemon pass.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitBool, LitInt, LitStr, Token};

use crate::asset::options::{AssetOptions, string_value};
use crate::diagnostics::Errors;

/// The default `max_catchup` (keep in step with
/// `asset_core::schedule::DEFAULT_MAX_CATCHUP`).
const DEFAULT_MAX_CATCHUP: u32 = 30;

/// `automation = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Automation {
    /// `eager`.
    Eager,
    /// `on_missing`.
    OnMissing,
}

/// `severity = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// `P0`.
    P0,
    /// `P1`.
    P1,
    /// `P2`.
    P2,
    /// `P3`.
    P3,
}

const SEVERITIES: [(&str, Severity); 4] = [
    ("P0", Severity::P0),
    ("P1", Severity::P1),
    ("P2", Severity::P2),
    ("P3", Severity::P3),
];

/// `= "cron expression"`, which must parse.
pub(crate) fn schedule(input: ParseStream<'_>) -> syn::Result<LitStr> {
    let lit = string_value("schedule", input)?;
    let text = lit.value();
    if let Err(e) = text.parse::<croner::Cron>() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "invalid cron expression {text:?}: {e} (expected five fields: minute hour day-of-month month day-of-week, e.g. \"0 6 * * *\")"
            ),
        ));
    }
    Ok(lit)
}

/// `= true | false`.
pub(crate) fn catchup(input: ParseStream<'_>) -> syn::Result<(bool, Span)> {
    let expected = "expected `catchup = true` or `catchup = false`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let lit: LitBool = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    Ok((lit.value, lit.span))
}

/// `= N`, at least 1.
pub(crate) fn max_catchup(input: ParseStream<'_>) -> syn::Result<(u32, Span)> {
    let expected = "expected `max_catchup = N` (a whole number, at least 1)";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let lit: LitInt = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    match lit.base10_parse::<u32>() {
        Ok(n) if n >= 1 => Ok((n, lit.span())),
        _ => Err(syn::Error::new(lit.span(), expected)),
    }
}

/// `= eager | on_missing`.
pub(crate) fn automation(input: ParseStream<'_>) -> syn::Result<Automation> {
    let expected = "expected `automation = eager` or `automation = on_missing`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let kind: Ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    match kind.to_string().as_str() {
        "eager" => Ok(Automation::Eager),
        "on_missing" => Ok(Automation::OnMissing),
        other => {
            let hint = crate::diagnostics::did_you_mean(other, "eager, on_missing");
            Err(syn::Error::new(
                kind.span(),
                format!("unknown automation `{other}`{hint}; expected one of: eager, on_missing"),
            ))
        }
    }
}

/// `= "6h"`: a whole number and a unit (s, m, h, d), not zero.
pub(crate) fn sla(input: ParseStream<'_>) -> syn::Result<u64> {
    let lit = string_value("sla", input)?;
    sla_secs(&lit.value()).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!(
                "invalid SLA {:?}: expected a whole number and a unit (\"30m\", \"6h\", \"2d\")",
                lit.value()
            ),
        )
    })
}

/// `= P0 | P1 | P2 | P3`.
pub(crate) fn severity(input: ParseStream<'_>) -> syn::Result<Severity> {
    let expected = "expected `severity = P0`, `P1`, `P2` or `P3`";
    if !input.peek(Token![=]) {
        return Err(input.error(expected));
    }
    input.parse::<Token![=]>()?;
    let name: Ident = input
        .call(Ident::parse_any)
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    let text = name.to_string();
    if let Some((_, severity)) = SEVERITIES.iter().find(|(n, _)| *n == text) {
        return Ok(*severity);
    }
    let hint = SEVERITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&text))
        .map_or_else(String::new, |(n, _)| format!(" (did you mean `{n}`?)"));
    Err(syn::Error::new(
        name.span(),
        format!("unknown severity `{text}`{hint}; expected one of: P0, P1, P2, P3"),
    ))
}

/// An SLA in seconds.
fn sla_secs(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor).filter(|&s| s > 0)
}

/// Options that only mean something beside another one.
pub(crate) fn check_combination(options: &AssetOptions, errors: &mut Errors) {
    if options.schedule.is_none() {
        for (name, span) in [
            options.catchup.map(|(_, s)| ("catchup", s)),
            options.max_catchup.map(|(_, s)| ("max_catchup", s)),
        ]
        .into_iter()
        .flatten()
        {
            errors.push(syn::Error::new(
                span,
                format!("option `{name}` has no effect without `schedule = \"...\"`"),
            ));
        }
    } else if let Some((_, span)) = options.max_catchup
        && !options.catchup.is_some_and(|(on, _)| on)
    {
        errors.push(syn::Error::new(
            span,
            "option `max_catchup` has no effect without `catchup = true`",
        ));
    }
}

/// The asset's `Unattended` settings.
pub(crate) fn expand(options: &AssetOptions, key: &str) -> TokenStream {
    let p = quote!(::asset_core::__private);
    let schedule = match &options.schedule {
        None => quote!(::core::option::Option::None),
        Some(cron) => {
            let catchup = options.catchup.is_some_and(|(on, _)| on);
            let max = options.max_catchup.map_or(DEFAULT_MAX_CATCHUP, |(n, _)| n);
            quote! {
                ::core::option::Option::Some(#p::Schedule {
                    cron: #p::Cron::parse(#cron).map_err(|e| {
                        ::asset_core::Error::Usage(::std::format!("asset {:?}: {}", #key, e))
                    })?,
                    catchup: #catchup,
                    max_catchup: #max,
                })
            }
        }
    };
    let automation = match options.automation {
        None => quote!(::core::option::Option::None),
        Some(Automation::Eager) => quote!(::core::option::Option::Some(#p::Automation::Eager)),
        Some(Automation::OnMissing) => {
            quote!(::core::option::Option::Some(#p::Automation::OnMissing))
        }
    };
    let sla = match options.sla_secs {
        None => quote!(::core::option::Option::None),
        Some(secs) => quote!(::core::option::Option::Some(#p::Duration::from_secs(#secs))),
    };
    let severity = match options.severity.unwrap_or(Severity::P2) {
        Severity::P0 => quote!(P0),
        Severity::P1 => quote!(P1),
        Severity::P2 => quote!(P2),
        Severity::P3 => quote!(P3),
    };
    quote! {
        #p::Unattended {
            schedule: #schedule,
            automation: #automation,
            sla: #sla,
            severity: #p::Severity::#severity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::options::parse;
    use quote::quote;

    fn messages(args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse(args, &mut errors);
        errors.messages()
    }

    #[test]
    fn unattended_options_parse() {
        let mut errors = Errors::default();
        let options = parse(
            quote!(
                schedule = "0 6 * * *",
                catchup = true,
                max_catchup = 7,
                automation = on_missing,
                sla = "6h",
                severity = P0
            ),
            &mut errors,
        );
        assert!(errors.is_empty(), "{:?}", errors.messages());
        assert_eq!(options.max_catchup.map(|m| m.0), Some(7));
        assert_eq!(options.automation, Some(Automation::OnMissing));
        assert_eq!(options.sla_secs, Some(6 * 3600));
        assert_eq!(options.severity, Some(Severity::P0));
        let out = expand(&options, "a").to_string();
        assert!(out.contains("Cron :: parse (\"0 6 * * *\")"), "{out}");
        assert!(out.contains("max_catchup : 7u32"), "{out}");
        assert!(out.contains("Severity :: P0"), "{out}");
    }

    #[test]
    fn bad_literals_are_refused_at_compile_time() {
        let cron = messages(quote!(schedule = "0 25 * * *"));
        assert_eq!(cron.len(), 1);
        assert!(
            cron[0].starts_with("invalid cron expression \"0 25 * * *\": "),
            "{cron:?}"
        );
        assert_eq!(
            messages(quote!(sla = "6 hours")),
            [
                "invalid SLA \"6 hours\": expected a whole number and a unit (\"30m\", \"6h\", \"2d\")"
            ]
        );
        assert_eq!(
            messages(quote!(severity = p1)),
            ["unknown severity `p1` (did you mean `P1`?); expected one of: P0, P1, P2, P3"]
        );
        assert_eq!(
            messages(quote!(severity = P7)),
            ["unknown severity `P7`; expected one of: P0, P1, P2, P3"]
        );
        assert_eq!(
            messages(quote!(automation = eagre)),
            [
                "unknown automation `eagre` (did you mean `eager`?); expected one of: eager, on_missing"
            ]
        );
        assert_eq!(
            messages(quote!(schedule = "@daily", catchup = true, max_catchup = 0)),
            ["expected `max_catchup = N` (a whole number, at least 1)"]
        );
    }

    #[test]
    fn catchup_needs_a_schedule_and_max_catchup_needs_catchup() {
        assert_eq!(
            messages(quote!(catchup = true)),
            ["option `catchup` has no effect without `schedule = \"...\"`"]
        );
        assert_eq!(
            messages(quote!(schedule = "@daily", max_catchup = 3)),
            ["option `max_catchup` has no effect without `catchup = true`"]
        );
    }
}
