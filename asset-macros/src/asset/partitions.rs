//! The `partitions = ...` option of `#[asset]`: parsing and code generation.
//!
//! ```text
//! partitions = daily("2024-01-01")
//! partitions = hourly(start = "2024-01-01-00:00", end = "2025-01-01", timezone = "Europe/Berlin")
//! partitions = weekly("2024-01-01", format = "%Y-W%W", end_offset = 1)
//! partitions = monthly("2024-01-01")
//! partitions = static(["eu", "us", "apac"])
//! partitions = static(["eu", "us", "apac"], name = "region")
//! partitions = multi(daily("2024-01-01"), static(["eu", "us"], name = "region"))
//! partitions = dynamic("customers")
//! ```
//!
//! What can be checked without the time zone database is checked here, with
//! the span on the literal at fault (a start that is not a date, a repeated
//! or malformed static key). Time zones and key formats are checked when the
//! registry is built, by the same constructors run-time assets use, and
//! reported naming the asset.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitInt, LitStr, Token};

use crate::asset::day;
use crate::diagnostics::did_you_mean;

/// The kinds of partitions, for messages.
pub(crate) const KINDS: &str = "hourly, daily, weekly, monthly, static, multi, dynamic";

/// The settings a time-window definition takes after its start.
const TIME_SETTINGS: &str = "start, end, timezone, format, end_offset, week_starts";

/// A parsed `partitions = ...` value.
pub(crate) enum Partitions {
    /// `hourly(..)`, `daily(..)`, `weekly(..)` or `monthly(..)`.
    Time(TimeWindows),
    /// `static(["a", "b"], name = "...")`: a fixed list of keys.
    Static(StaticKeys),
    /// `multi(<time>, static([..]))`: keys `<time key>|<static key>`.
    Multi(Box<TimeWindows>, StaticKeys),
    /// `dynamic("name")`: keys kept in the catalog, added at run time.
    Dynamic(LitStr),
}

/// A static definition: its keys and the optional name of its dimension
/// (the Hive folder `region=eu`).
pub(crate) struct StaticKeys {
    /// The keys, in order.
    pub(crate) keys: Vec<LitStr>,
    /// `name = "..."`.
    pub(crate) name: Option<LitStr>,
}

/// A time-window definition.
pub(crate) struct TimeWindows {
    /// `hourly`, `daily`, `weekly` or `monthly`.
    pub(crate) kind: Ident,
    /// The first window's start.
    pub(crate) start: LitStr,
    /// `end = "..."`: the exclusive end.
    pub(crate) end: Option<LitStr>,
    /// `timezone = "..."`: an IANA name.
    pub(crate) timezone: Option<LitStr>,
    /// `format = "..."`: the key format.
    pub(crate) format: Option<LitStr>,
    /// `end_offset = N`: windows past the last complete one that exist.
    pub(crate) end_offset: Option<LitInt>,
    /// `week_starts = monday`: the weekday weekly windows start on, said
    /// explicitly (it must be the start date's).
    pub(crate) week_starts: Option<Ident>,
}

/// Parses `= kind(...)`.
pub(crate) fn parse(input: ParseStream<'_>) -> syn::Result<Partitions> {
    if !input.peek(Token![=]) {
        return Err(input.error(format!(
            "expected `partitions = daily(\"YYYY-MM-DD\")` or another kind: {KINDS}"
        )));
    }
    input.parse::<Token![=]>()?;
    parse_kind(input, true)
}

/// Parses one `kind(...)`; `multi_ok` is false inside `multi(...)`.
fn parse_kind(input: ParseStream<'_>, multi_ok: bool) -> syn::Result<Partitions> {
    let kind: Ident = input.call(Ident::parse_any).map_err(|e| {
        syn::Error::new(e.span(), format!("expected a kind of partitions: {KINDS}"))
    })?;
    let name = kind.unraw().to_string();
    if !matches!(
        name.as_str(),
        "hourly" | "daily" | "weekly" | "monthly" | "static" | "multi" | "dynamic"
    ) {
        return Err(syn::Error::new(
            kind.span(),
            format!(
                "unknown partitions `{name}`{}; expected one of: {KINDS}",
                did_you_mean(&name, KINDS)
            ),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let parsed = parse_arguments(kind, &name, &content, multi_ok);
    if parsed.is_err() {
        // Consumed so that the one mistake is reported once, not again as
        // "unexpected token" for what follows it.
        let _: TokenStream = content.parse()?;
    }
    parsed
}

/// Parses the arguments of `kind(...)`.
fn parse_arguments(
    kind: Ident,
    name: &str,
    content: ParseStream<'_>,
    multi_ok: bool,
) -> syn::Result<Partitions> {
    match name {
        "hourly" | "daily" | "weekly" | "monthly" => {
            Ok(Partitions::Time(time_windows(kind, content)?))
        }
        "static" => Ok(Partitions::Static(static_keys(content)?)),
        "dynamic" => {
            let set: LitStr = content
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "expected `dynamic(\"set name\")`"))?;
            if !content.is_empty() {
                return Err(content.error("expected `dynamic(\"set name\")`"));
            }
            check_name(&set, "dynamic partition set name")?;
            Ok(Partitions::Dynamic(set))
        }
        "multi" if multi_ok => {
            let expected = "expected `multi(daily(\"YYYY-MM-DD\"), static([\"a\", \"b\"]))`: a time dimension, then a static one";
            let first = parse_kind(content, false)?;
            content
                .parse::<Token![,]>()
                .map_err(|e| syn::Error::new(e.span(), expected))?;
            let second = parse_kind(content, false)?;
            let _ = content.parse::<Option<Token![,]>>()?;
            if !content.is_empty() {
                return Err(content.error(expected));
            }
            match (first, second) {
                (Partitions::Time(time), Partitions::Static(keys)) => {
                    Ok(Partitions::Multi(Box::new(time), keys))
                }
                _ => Err(syn::Error::new(kind.span(), expected)),
            }
        }
        "multi" => Err(syn::Error::new(
            kind.span(),
            "`multi` cannot be nested: it takes one time dimension and one static dimension",
        )),
        other => Err(syn::Error::new(
            kind.span(),
            format!(
                "unknown partitions `{other}`{}; expected one of: {KINDS}",
                did_you_mean(other, KINDS)
            ),
        )),
    }
}

/// `("start", end = "...", ...)` or `(start = "...", ...)`.
fn time_windows(kind: Ident, content: ParseStream<'_>) -> syn::Result<TimeWindows> {
    let mut windows = TimeWindows {
        kind,
        start: LitStr::new("", Span::call_site()),
        end: None,
        timezone: None,
        format: None,
        end_offset: None,
        week_starts: None,
    };
    let mut start = None;
    if content.peek(LitStr) {
        start = Some(content.parse::<LitStr>()?);
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    while !content.is_empty() {
        let setting: Ident = content.call(Ident::parse_any)?;
        content
            .parse::<Token![=]>()
            .map_err(|e| syn::Error::new(e.span(), format!("expected `{setting} = ...`")))?;
        let repeated = || syn::Error::new(setting.span(), format!("`{setting}` is given twice"));
        match setting.to_string().as_str() {
            "start" => {
                if start.replace(content.parse()?).is_some() {
                    return Err(repeated());
                }
            }
            "end" => {
                if windows.end.replace(content.parse()?).is_some() {
                    return Err(repeated());
                }
            }
            "timezone" => {
                let tz: LitStr = content.parse()?;
                check_name(&tz, "timezone")?;
                if windows.timezone.replace(tz).is_some() {
                    return Err(repeated());
                }
            }
            "format" => {
                let format: LitStr = content.parse()?;
                check_name(&format, "format")?;
                if windows.format.replace(format).is_some() {
                    return Err(repeated());
                }
            }
            "end_offset" => {
                let offset: LitInt = content.parse()?;
                offset.base10_parse::<i64>()?;
                if windows.end_offset.replace(offset).is_some() {
                    return Err(repeated());
                }
            }
            "week_starts" => {
                let day: Ident = content.call(Ident::parse_any)?;
                if windows.week_starts.replace(day).is_some() {
                    return Err(repeated());
                }
            }
            other => {
                return Err(syn::Error::new(
                    setting.span(),
                    format!(
                        "unknown setting `{other}` of time partitions{}; expected one of: {TIME_SETTINGS}",
                        did_you_mean(other, TIME_SETTINGS)
                    ),
                ));
            }
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    let kind = windows.kind.to_string();
    let Some(start) = start else {
        return Err(syn::Error::new(
            windows.kind.span(),
            format!("{kind} partitions need a start: `{kind}(\"YYYY-MM-DD\")`"),
        ));
    };
    check_time(&kind, &start)?;
    if let Some(end) = &windows.end {
        check_time(&kind, end)?;
    }
    if let Some(day) = &windows.week_starts {
        check_week_start(&kind, &start, day)?;
    }
    windows.start = start;
    Ok(windows)
}

/// A start or end: a real day, or for hourly partitions also `YYYY-MM-DD-HH:MM`.
fn check_time(kind: &str, lit: &LitStr) -> syn::Result<()> {
    let text = lit.value();
    let ok = day::is_day(&text) || (kind == "hourly" && is_hour(&text));
    if ok {
        return Ok(());
    }
    let expected = if kind == "hourly" {
        "YYYY-MM-DD or YYYY-MM-DD-HH:MM"
    } else {
        "a real date as YYYY-MM-DD"
    };
    Err(syn::Error::new(
        lit.span(),
        format!("{kind} partitions: {text:?} is not a date (expected {expected})"),
    ))
}

/// `week_starts = DAY`: weekly only, a weekday, the start date's.
fn check_week_start(kind: &str, start: &LitStr, day: &Ident) -> syn::Result<()> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    if kind != "weekly" {
        return Err(syn::Error::new(
            day.span(),
            format!("`week_starts` applies to weekly partitions, not {kind} ones"),
        ));
    }
    let wanted = day.to_string().to_lowercase();
    if !DAYS.contains(&wanted.as_str()) {
        return Err(syn::Error::new(
            day.span(),
            format!(
                "`week_starts = {day}` is not a weekday; expected one of: {}",
                DAYS.join(", ")
            ),
        ));
    }
    let actual = day::weekday(&start.value()).map(|i| DAYS[i]);
    if let Some(actual) = actual
        && actual != wanted
    {
        return Err(syn::Error::new(
            start.span(),
            format!(
                "weekly partitions start on the weekday of their start date: {:?} is a {actual}, not a {wanted}",
                start.value()
            ),
        ));
    }
    Ok(())
}

/// `YYYY-MM-DD-HH:MM` with a real day and time.
fn is_hour(text: &str) -> bool {
    let Some((day, time)) = text.split_at_checked(10) else {
        return false;
    };
    let bytes = time.as_bytes();
    day::is_day(day)
        && bytes.len() == 6
        && bytes[0] == b'-'
        && bytes[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit())
        && time[1..3].parse::<u32>().is_ok_and(|h| h < 24)
        && time[4..6].parse::<u32>().is_ok_and(|m| m < 60)
}

/// `(["a", "b", ...], name = "...")`: non-empty, unique keys usable as
/// Hive folder names, and a dimension name usable as a column name.
fn static_keys(content: ParseStream<'_>) -> syn::Result<StaticKeys> {
    let expected =
        "expected `static([\"key\", ...])` or `static([\"key\", ...], name = \"dimension\")`";
    let list;
    let brackets = syn::bracketed!(list in content);
    let keys = list
        .parse_terminated(|p| p.parse::<LitStr>(), Token![,])
        .map_err(|e| syn::Error::new(e.span(), expected))?;
    let mut name = None;
    if content.peek(Token![,]) {
        content.parse::<Token![,]>()?;
        if !content.is_empty() {
            let setting: Ident = content.call(Ident::parse_any)?;
            if setting != "name" {
                return Err(syn::Error::new(
                    setting.span(),
                    format!("unknown setting `{setting}` of static partitions; expected `name`"),
                ));
            }
            content
                .parse::<Token![=]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `name = \"dimension\"`"))?;
            let lit: LitStr = content.parse()?;
            check_dimension_name(&lit)?;
            name = Some(lit);
            let _ = content.parse::<Option<Token![,]>>()?;
        }
    }
    if !content.is_empty() {
        return Err(content.error(expected));
    }
    let keys: Vec<LitStr> = keys.into_iter().collect();
    if keys.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            "static partitions need at least one key",
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        let text = key.value();
        let reason = if text.is_empty() {
            Some("it is empty")
        } else if text.contains('|') {
            Some("`|` separates the dimensions of multi-partition keys")
        } else if text.contains('=') {
            Some("`=` would make its Hive folder `dimension=key` ambiguous")
        } else if text.contains(['/', '\\']) || text == "." || text == ".." {
            Some("it would not be a single folder name")
        } else if text.starts_with(['.', '_']) {
            Some("keys starting with `.` or `_` are reserved")
        } else if text.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(syn::Error::new(
                key.span(),
                format!("static partition key {text:?} is not allowed: {reason}"),
            ));
        }
        if keys[..i].iter().any(|k| k.value() == text) {
            return Err(syn::Error::new(
                key.span(),
                format!("static partition key {text:?} is listed twice"),
            ));
        }
    }
    Ok(StaticKeys { keys, name })
}

/// A dimension name becomes a column of every dataset reader: ASCII
/// letters, digits and `_`, starting with a letter, at most 64 bytes (as
/// `io_managers::validate_dimension_name` checks at run time).
fn check_dimension_name(lit: &LitStr) -> syn::Result<()> {
    let name = lit.value();
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    Err(syn::Error::new(
        lit.span(),
        format!(
            "static dimension name {name:?} is not allowed: use ASCII letters, digits and `_`, starting with a letter"
        ),
    ))
}

/// A setting's text must not be empty.
fn check_name(lit: &LitStr, what: &str) -> syn::Result<()> {
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("the {what} must not be empty"),
        ));
    }
    Ok(())
}

/// The expression building the `PartitionsDef`, of type
/// `Result<PartitionsDef, asset_core::Error>`.
pub(crate) fn expand(partitions: Option<&Partitions>) -> TokenStream {
    let def = quote!(::asset_core::__private::PartitionsDef);
    let body = match partitions {
        None => quote!(::core::result::Result::Ok(#def::Unpartitioned)),
        Some(Partitions::Time(time)) => time_expr(time),
        Some(Partitions::Static(keys)) => static_expr(keys),
        Some(Partitions::Multi(time, keys)) => {
            let time = time_expr(time);
            let keys = static_expr(keys);
            quote!(#def::multi(#time?, #keys?))
        }
        Some(Partitions::Dynamic(set)) => quote!(#def::dynamic(#set)),
    };
    // A nested fn, not a closure: `?` inside needs a function boundary.
    quote! {
        {
            fn __partitions() -> ::core::result::Result<#def, ::asset_core::Error> {
                #body
            }
            __partitions()
        }
    }
}

/// `PartitionsDef::static_keys(&[..])` with its dimension name, as a `Result`.
fn static_expr(keys: &StaticKeys) -> TokenStream {
    let def = quote!(::asset_core::__private::PartitionsDef);
    let list = &keys.keys;
    match &keys.name {
        Some(name) => {
            quote!(#def::static_keys(&[#(#list),*]).and_then(|p| p.with_dimension(#name)))
        }
        None => quote!(#def::static_keys(&[#(#list),*])),
    }
}

/// `PartitionsDef::daily(start)` and its settings, as a `Result`.
fn time_expr(time: &TimeWindows) -> TokenStream {
    let kind = &time.kind;
    let start = &time.start;
    let mut steps = vec![quote!(let p = ::asset_core::__private::PartitionsDef::#kind(#start)?;)];
    // The time zone comes first: the start, the end and the format are read
    // in it.
    if let Some(tz) = &time.timezone {
        steps.push(quote!(let p = p.with_timezone(#tz)?;));
    }
    if let Some(format) = &time.format {
        steps.push(quote!(let p = p.with_format(#format)?;));
    }
    if let Some(end) = &time.end {
        steps.push(quote!(let p = p.with_end(#end)?;));
    }
    if let Some(day) = &time.week_starts {
        let day = day.to_string();
        steps.push(quote!(let p = p.with_week_start(#day)?;));
    }
    if let Some(offset) = &time.end_offset {
        let offset = offset.base10_parse::<i64>().unwrap_or_default();
        steps.push(quote!(let p = p.with_end_offset(#offset)?;));
    }
    quote!({ #(#steps)* ::core::result::Result::<_, ::asset_core::Error>::Ok(p) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    fn parse_str(text: &str) -> syn::Result<Partitions> {
        let tokens: TokenStream = text.parse().expect("tokens");
        parse.parse2(tokens)
    }

    fn error(text: &str) -> String {
        match parse_str(text) {
            Ok(_) => panic!("{text} parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn week_starts_must_be_the_start_dates_weekday() {
        assert!(parse_str(r#"= weekly("2024-01-03", week_starts = wednesday)"#).is_ok());
        assert_eq!(
            error(r#"= weekly("2024-01-03", week_starts = monday)"#),
            r#"weekly partitions start on the weekday of their start date: "2024-01-03" is a wednesday, not a monday"#
        );
        assert!(
            error(r#"= weekly("2024-01-01", week_starts = someday)"#).contains("not a weekday")
        );
        assert!(
            error(r#"= daily("2024-01-01", week_starts = monday)"#).contains("applies to weekly")
        );
    }

    #[test]
    fn every_kind_parses() {
        for ok in [
            r#"= daily("2024-01-01")"#,
            r#"= hourly(start = "2024-01-01-06:00", timezone = "Europe/Berlin", end = "2025-01-01")"#,
            r#"= weekly("2024-01-01", end_offset = 1)"#,
            r#"= weekly(start = "2024-01-01", week_starts = monday)"#,
            r#"= monthly("2024-01-01", format = "%Y-%m")"#,
            r#"= static(["eu", "us"])"#,
            r#"= static(["eu", "us"], name = "region")"#,
            r#"= multi(daily("2024-01-01"), static(["eu", "us"]))"#,
            r#"= multi(daily("2024-01-01"), static(["eu", "us"], name = "region"))"#,
            r#"= dynamic("customers")"#,
        ] {
            assert!(parse_str(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn time_settings_are_generated_in_order() {
        let parsed = parse_str(
            r#"= hourly("2024-01-01", end = "2024-02-01", timezone = "Europe/Berlin", end_offset = 1)"#,
        )
        .expect("parses");
        let out = expand(Some(&parsed)).to_string();
        let tz = out.find("with_timezone").expect("timezone");
        let end = out.find("with_end (").expect("end");
        assert!(tz < end, "{out}");
        assert!(
            out.contains("PartitionsDef :: hourly (\"2024-01-01\")"),
            "{out}"
        );
        assert!(out.contains("with_end_offset (1i64)"), "{out}");
    }

    #[test]
    fn a_static_dimension_name_is_generated() {
        let parsed = parse_str(r#"= multi(daily("2024-01-01"), static(["eu"], name = "region"))"#)
            .expect("parses");
        let out = expand(Some(&parsed)).to_string();
        assert!(out.contains("with_dimension (\"region\")"), "{out}");
        let plain = expand(Some(&parse_str(r#"= static(["eu"])"#).expect("parses"))).to_string();
        assert!(!plain.contains("with_dimension"), "{plain}");
    }

    #[test]
    fn mistakes_are_reported_at_the_literal() {
        assert_eq!(
            error(r#"= daily("2024-02-30")"#),
            r#"daily partitions: "2024-02-30" is not a date (expected a real date as YYYY-MM-DD)"#
        );
        assert!(error(r#"= hourly("2024-01-01-24:00")"#).contains("YYYY-MM-DD-HH:MM"));
        assert_eq!(
            error(r#"= static(["eu", "eu"])"#),
            r#"static partition key "eu" is listed twice"#
        );
        assert!(error(r#"= static(["a|b"])"#).contains("separates the dimensions"));
        assert!(error(r#"= static(["../x"])"#).contains("single folder name"));
        assert_eq!(
            error(r#"= static(["eu", "tier=1"])"#),
            r#"static partition key "tier=1" is not allowed: `=` would make its Hive folder `dimension=key` ambiguous"#
        );
        assert!(
            error(r#"= static(["eu"], name = "re-gion")"#).contains("dimension name \"re-gion\"")
        );
        assert!(error(r#"= static(["eu"], label = "x")"#).contains("unknown setting `label`"));
        assert_eq!(
            error(r#"= static([])"#),
            "static partitions need at least one key"
        );
        assert!(
            error(r#"= multi(static(["eu"]), daily("2024-01-01"))"#)
                .contains("a time dimension, then a static one")
        );
        assert!(error(r#"= daily(end = "2024-01-01")"#).contains("need a start"));
        assert!(error(r#"= daily("2024-01-01", zone = "UTC")"#).contains("unknown setting `zone`"));
        assert!(error(r#"= daily("2024-01-01", timezone = "")"#).contains("must not be empty"));
        assert!(error(r#"= yearly("2024-01-01")"#).starts_with("unknown partitions `yearly`"));
        assert!(error(r#"= daily("2024-01-01", end = "x")"#).contains("not a date"));
        assert!(
            error(r#"= daily("2024-01-01", end = "2024-02-01", end = "2024-03-01")"#)
                .contains("given twice")
        );
    }

    #[test]
    fn hours_are_checked() {
        assert!(is_hour("2024-01-01-23:59"));
        for bad in [
            "2024-01-01-24:00",
            "2024-01-01-1:00",
            "2024-01-01T01:00",
            "2024-01-01",
        ] {
            assert!(!is_hour(bad), "{bad}");
        }
    }
}
