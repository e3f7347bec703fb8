//! `#[asset]`: registers a function as an asset.
//!
//! The expansion keeps the user's function unchanged and adds, inside one
//! `const _: () = { ... };` block:
//!
//! * `impl Asset for T` for the returned type `T` (spanned at `T`, so two
//!   assets returning one type conflict there), unless the asset is unit;
//! * never-called checks, spanned at each parameter's type (and at `T`), so
//!   rustc's "not an asset" / "not a table" message lands on the bad token;
//! * `__compute`: loads the parameters (upstream values, configuration)
//!   through `AssetParam::load`, calls the function, encodes its value;
//! * `__build`: the asset's `AssetDef`;
//! * an `inventory::submit!` of the key and `__build`.

mod day;
mod description;
mod options;
mod partitions;
mod signature;
mod unattended;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Item, ItemFn, Type};

use crate::code_version;
use crate::diagnostics::Errors;
use crate::uses;
use options::{AssetOptions, Jitter};
use signature::{Output, Param, Signature};

/// Expands `#[asset(args)] item`. Errors come out as `compile_error!`s
/// beside the item, which is always emitted unchanged.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(args, &mut errors);
    let Some(function) = free_function(&item, signature::NOT_A_FREE_FUNCTION, &mut errors) else {
        return errors.beside(item);
    };
    let Some(signature) = signature::read(&function, &mut errors) else {
        return errors.beside(item);
    };
    // Option mistakes still get a full expansion (with defaults for the bad
    // options) so that assets downstream of this one compile cleanly.
    let generated = generate(&function, &options, &signature);
    let mut out = item;
    out.extend(generated);
    out.extend(errors.into_compile_errors());
    out
}

/// `item` as a free function; anything else is recorded in `errors` (with
/// `not_a_function` spanned at the item's head) and gives `None`. Shared by
/// every attribute macro of this crate.
pub(crate) fn free_function(
    item: &TokenStream,
    not_a_function: &str,
    errors: &mut Errors,
) -> Option<syn::ItemFn> {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => Some(function),
        Ok(other) => {
            errors.push(syn::Error::new_spanned(item_head(&other), not_a_function));
            None
        }
        // Syntax rustc will report itself, or syntax newer than syn's:
        // either way say what syn could not parse, like `#[tokio::main]`.
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// The start of an item, for an error span: `struct Name`, `impl Trait for T`...
pub(crate) fn item_head(item: &Item) -> TokenStream {
    fn head(keyword: &dyn ToTokens, name: &dyn ToTokens) -> TokenStream {
        quote!(#keyword #name)
    }
    match item {
        Item::Struct(s) => head(&s.struct_token, &s.ident),
        Item::Enum(e) => head(&e.enum_token, &e.ident),
        Item::Union(u) => head(&u.union_token, &u.ident),
        Item::Trait(t) => head(&t.trait_token, &t.ident),
        Item::Mod(m) => head(&m.mod_token, &m.ident),
        Item::Const(c) => head(&c.const_token, &c.ident),
        Item::Static(s) => head(&s.static_token, &s.ident),
        Item::Type(t) => head(&t.type_token, &t.ident),
        Item::Impl(i) => head(&i.impl_token, &i.self_ty),
        other => other.to_token_stream(),
    }
}

/// Everything `#[asset]` adds after the function.
fn generate(function: &ItemFn, options: &AssetOptions, signature: &Signature) -> TokenStream {
    let key = match &options.name {
        Some(name) => name.value(),
        None => syn::ext::IdentExt::unraw(&function.sig.ident).to_string(),
    };
    let io = options
        .io
        .as_ref()
        .map_or_else(|| options::DEFAULT_IO.to_owned(), |io| io.value());
    let asset_impl = signature
        .output
        .value
        .as_ref()
        .map(|ty| asset_impl(ty, &key, &io));
    let checks = checks(signature, &io);
    let compute = compute(function, signature);
    let build = build(function, options, signature, &key, &io);
    quote! {
        #[doc(hidden)]
        const _: () = {
            #asset_impl
            #checks
            #compute
            #build
            ::asset_core::__private::inventory::submit! {
                ::asset_core::__private::AssetRegistration {
                    key: #key,
                    build: __build,
                }
            }
        };
    }
}

/// `impl Asset for T`, spanned at `T`.
fn asset_impl(ty: &Type, key: &str, io: &str) -> TokenStream {
    let codec = codec(io, ty.span());
    quote_spanned! {ty.span()=>
        #[automatically_derived]
        impl ::asset_core::__private::Asset for #ty {
            const KEY: &'static str = #key;
            fn encode(
                self,
            ) -> ::core::result::Result<
                ::asset_core::__private::Payload,
                ::asset_core::__private::AssetError,
            > {
                <#codec as ::asset_core::__private::Codec<Self>>::encode(self)
            }
            fn decode(
                payload: ::asset_core::__private::Payload,
            ) -> ::core::result::Result<Self, ::asset_core::__private::AssetError> {
                <#codec as ::asset_core::__private::Codec<Self>>::decode(payload)
            }
            fn row_fields() -> ::core::option::Option<::asset_core::arrow_schema::Fields> {
                <#codec as ::asset_core::__private::Codec<Self>>::row_fields()
            }
        }
    }
}

/// Never-called checks that put rustc's trait errors on the user's tokens:
/// each dependency parameter's type must be an `AssetParam` (rustc then
/// prints `AssetParam`'s "not an asset" message at the parameter), and the
/// value type must be storable by its codec (for a table, rustc prints the
/// `Table` trait's message at the return type).
///
/// Each check is the same expression, with the same span, as the use of that
/// bound in `__build` and `__compute`, so rustc's diagnostics are identical
/// and it prints one message per mistake, not one per use.
fn checks(signature: &Signature, io: &str) -> TokenStream {
    let params = signature.params.iter().filter_map(|param| match param {
        Param::Loaded(ty) => Some(quote_spanned! {ty.span()=>
            let _ = <#ty as ::asset_core::__private::AssetParam>::declare;
        }),
        Param::Config(value) => {
            let param = config_param(value);
            Some(quote!(let _ = #param;))
        }
        Param::Context => None,
    });
    let value = signature.output.value.as_ref().map(|ty| {
        let kind = payload_kind(ty, io);
        quote!(let _ = #kind;)
    });
    quote! {
        #[allow(dead_code)]
        fn __checks() {
            #(#params)*
            #value
        }
    }
}

/// `config_param::<C>()`, spanned at `C`: rustc prints `ConfigValue`'s
/// "cannot be read from assets.toml" message there when `C` is not
/// deserializable (through `AssetParam` it would say "not an asset"). The
/// declare and load of a `Config<C>` go through this same expression, so
/// rustc prints that message once.
fn config_param(value: &Type) -> TokenStream {
    quote_spanned! {value.span()=>
        ::asset_core::__private::config_param::<#value>()
    }
}

/// The codec that stores values for the IO manager `io`, spanned at `span`.
fn codec(io: &str, span: Span) -> TokenStream {
    if io == "json" {
        quote_spanned!(span=> ::asset_core::__private::JsonCodec)
    } else {
        quote_spanned!(span=> ::asset_core::__private::TableCodec)
    }
}

/// `<Codec as Codec<T>>::KIND`, spanned at `T`.
fn payload_kind(ty: &Type, io: &str) -> TokenStream {
    let codec = codec(io, ty.span());
    quote_spanned!(ty.span()=> <#codec as ::asset_core::__private::Codec<#ty>>::KIND)
}

/// `__compute`: the type-erased step function.
fn compute(function: &ItemFn, signature: &Signature) -> TokenStream {
    let name = &function.sig.ident;
    let has_loads = signature
        .params
        .iter()
        .any(|p| matches!(p, Param::Loaded(_) | Param::Config(_)));
    let cx = if has_loads {
        quote!(mut __cx)
    } else {
        quote!(__cx)
    };
    let split = quote! {
        let (__context, #cx) = ::asset_core::__private::LoadContext::from_step(input);
    };
    let mut loads = Vec::new();
    let mut args = Vec::new();
    for (i, param) in signature.params.iter().enumerate() {
        match param {
            Param::Context => args.push(quote!(&__context)),
            Param::Loaded(ty) => {
                let arg = format_ident!("__arg{}", i);
                loads.push(quote! {
                    let #arg = <#ty as ::asset_core::__private::AssetParam>::load(&mut __cx).await?;
                });
                args.push(arg.to_token_stream());
            }
            Param::Config(value) => {
                let arg = format_ident!("__arg{}", i);
                let param = config_param(value);
                loads.push(quote! {
                    let #arg = (#param.load)(&mut __cx).await?;
                });
                args.push(arg.to_token_stream());
            }
        }
    }
    let call = if function.sig.asyncness.is_some() {
        quote!(#name(#(#args),*).await)
    } else {
        quote!(::asset_core::__private::run_blocking(move || #name(#(#args),*)).await?)
    };
    let Output { value, fallible } = &signature.output;
    let result = if *fallible {
        quote!(#call.map_err(::core::convert::Into::<::asset_core::__private::AssetError>::into)?)
    } else {
        call
    };
    let encode = match value {
        Some(ty) => quote! {
            let __value = #result;
            <#ty as ::asset_core::__private::Asset>::encode(__value)
        },
        None => quote! {
            #result;
            <::asset_core::__private::NothingCodec as ::asset_core::__private::Codec<()>>::encode(())
        },
    };
    quote! {
        fn __compute(
            input: ::asset_core::__private::StepInput,
        ) -> ::asset_core::__private::BoxFuture<
            'static,
            ::core::result::Result<
                ::asset_core::__private::Payload,
                ::asset_core::__private::AssetError,
            >,
        > {
            ::asset_core::__private::Box::pin(async move {
                #split
                #(#loads)*
                #encode
            })
        }
    }
}

/// `__build`: the asset's definition.
fn build(
    function: &ItemFn,
    options: &AssetOptions,
    signature: &Signature,
    key: &str,
    io: &str,
) -> TokenStream {
    let description = description::from_doc_comment(&function.attrs);
    let base_version = options
        .code_version
        .as_ref()
        .map_or_else(|| code_version::of_function(function), |v| v.value());
    let code_version = match &options.uses {
        Some(helpers) if !helpers.is_empty() => {
            let versions = uses::versions_slice(helpers);
            quote!(::asset_core::__private::code_version_with_helpers(#base_version, #versions))
        }
        _ => quote!(::asset_core::__private::String::from(#base_version)),
    };
    let declares: Vec<TokenStream> = signature
        .params
        .iter()
        .filter_map(|p| match p {
            Param::Loaded(ty) => Some(quote! {
                <#ty as ::asset_core::__private::AssetParam>::declare(&mut __specs);
            }),
            Param::Config(value) => {
                let param = config_param(value);
                Some(quote!((#param.declare)(&mut __specs);))
            }
            Param::Context => None,
        })
        .collect();
    let specs = if declares.is_empty() {
        quote!(let __specs = ::asset_core::__private::ParamSpecs::new();)
    } else {
        quote! {
            let mut __specs = ::asset_core::__private::ParamSpecs::new();
            #(#declares)*
        }
    };
    let partitions = partitions::expand(options.partitions.as_ref());
    let retry = retry_policy(options);
    let checks = asset_checks(options, signature);
    let unattended = unattended::expand(options, key);
    let payload_kind = match &signature.output.value {
        Some(ty) => payload_kind(ty, io),
        None => quote!(::asset_core::__private::PayloadKind::Nothing),
    };
    let name_span = function.sig.ident.span();
    let file = quote_spanned!(name_span=> ::core::file!());
    let line = quote_spanned!(name_span=> ::core::line!());
    let git_commit = crate::git::commit_of_crate_being_built();
    quote! {
        fn __build() -> ::core::result::Result<
            ::asset_core::__private::AssetDef,
            ::asset_core::Error,
        > {
            #specs
            ::core::result::Result::Ok(::asset_core::__private::AssetDef {
                key: ::asset_core::__private::String::from(#key),
                description: ::asset_core::__private::String::from(#description),
                dependencies: __specs.dependencies,
                partitions: #partitions.map_err(|e| {
                    ::asset_core::Error::Usage(::std::format!("asset {:?}: {}", #key, e))
                })?,
                code_version: #code_version,
                takes_config: __specs.config,
                config_checks: __specs.config_checks,
                io_manager: ::asset_core::__private::String::from(#io),
                payload_kind: #payload_kind,
                source: ::core::option::Option::Some(::asset_core::__private::SourceLocation {
                    file: #file,
                    line: #line,
                    git_commit: #git_commit,
                }),
                retry: #retry,
                checks: #checks,
                unattended: #unattended,
                compute: ::std::sync::Arc::new(__compute),
            })
        }
    }
}

/// The asset's `AssetChecks`: its row type's columns (for a `Vec<Row>`
/// table) and its contract, if given. `#[asset_check]` functions are
/// attached when the registry is built.
fn asset_checks(options: &AssetOptions, signature: &Signature) -> TokenStream {
    let row_fields = match &signature.output.value {
        Some(ty) => quote!(<#ty as ::asset_core::__private::Asset>::row_fields()),
        None => quote!(::core::option::Option::None),
    };
    // Spanned at the path: a function of the wrong type is reported there.
    let contract = match &options.contract {
        Some(path) => quote_spanned! {path.span()=>
            ::core::option::Option::Some::<::asset_core::__private::DataContract>(#path())
        },
        None => quote!(::core::option::Option::None),
    };
    quote!(::asset_core::__private::AssetChecks::for_value(#row_fields, #contract))
}

/// The asset's `RetryPolicy`: none without `retries`; otherwise exponential
/// backoff (1 s to 5 min unless given) with full jitter unless given.
fn retry_policy(options: &AssetOptions) -> TokenStream {
    let Some(retries) = options.retries else {
        return quote!(::asset_core::__private::RetryPolicy::none());
    };
    let (base_ms, max_ms) = options
        .backoff
        .as_ref()
        .map_or((options::DEFAULT_BASE_MS, options::DEFAULT_MAX_MS), |b| {
            (b.base_ms, b.max_ms)
        });
    let jitter = match options.jitter.map_or(Jitter::Full, |(j, _)| j) {
        Jitter::Full => quote!(Full),
        Jitter::Equal => quote!(Equal),
        Jitter::None => quote!(None),
    };
    quote! {
        ::asset_core::__private::RetryPolicy {
            max_retries: #retries,
            base: ::asset_core::__private::Duration::from_millis(#base_ms),
            max: ::asset_core::__private::Duration::from_millis(#max_ms),
            jitter: ::asset_core::__private::Jitter::#jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn sync_functions_run_off_the_async_workers() {
        let out = expanded(
            quote!(partitions = daily("2024-01-01")),
            quote!(
                fn sessions(ctx: &AssetContext, clicks: Clicks) -> Result<Sessions> {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("run_blocking (move || sessions (& __context , __arg1))"),
            "{out}"
        );
        assert!(
            out.contains("impl :: asset_core :: __private :: Asset for Sessions"),
            "{out}"
        );
        assert!(
            out.contains("PartitionsDef :: daily (\"2024-01-01\")"),
            "{out}"
        );
        assert!(out.contains("inventory :: submit !"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn async_functions_are_awaited_directly() {
        let out = expanded(
            quote!(),
            quote!(
                async fn a(b: B) -> A {
                    todo!()
                }
            ),
        );
        assert!(out.contains("let __value = a (__arg0) . await ;"), "{out}");
        assert!(!out.contains("run_blocking"), "{out}");
    }

    #[test]
    fn unit_assets_have_no_asset_impl() {
        let out = expanded(
            quote!(),
            quote!(
                fn a(b: B) -> Result<()> {
                    Ok(())
                }
            ),
        );
        assert!(
            !out.contains("impl :: asset_core :: __private :: Asset"),
            "{out}"
        );
        assert!(out.contains("PayloadKind :: Nothing"), "{out}");
        assert!(out.contains("NothingCodec"), "{out}");
    }

    #[test]
    fn json_io_uses_the_json_codec() {
        let out = expanded(
            quote!(io = "json"),
            quote!(
                fn a() -> A {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("JsonCodec") && !out.contains("TableCodec"),
            "{out}"
        );
    }

    #[test]
    fn config_parameters_are_declared_and_loaded_as_configuration() {
        let out = expanded(
            quote!(),
            quote!(
                fn a(settings: Config<Settings>, b: B) -> A {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("(:: asset_core :: __private :: config_param :: < Settings > () . declare) (& mut __specs)"),
            "{out}"
        );
        assert!(
            out.contains("(:: asset_core :: __private :: config_param :: < Settings > () . load) (& mut __cx) . await ?"),
            "{out}"
        );
        assert!(
            out.contains(
                "< B as :: asset_core :: __private :: AssetParam > :: declare (& mut __specs)"
            ),
            "{out}"
        );
        assert!(out.contains("takes_config : __specs . config"), "{out}");
    }

    #[test]
    fn uses_fold_helpers_into_the_code_version() {
        let plain = expanded(
            quote!(code_version = "7"),
            quote!(
                fn a() -> A {
                    todo!()
                }
            ),
        );
        assert!(plain.contains("String :: from (\"7\")"), "{plain}");
        assert!(!plain.contains("code_version_with_helpers"), "{plain}");
        let folded = expanded(
            quote!(code_version = "7", uses = [h, m::g]),
            quote!(
                fn a() -> A {
                    todo!()
                }
            ),
        );
        assert!(
            folded.contains("code_version_with_helpers (\"7\" , & ["),
            "{folded}"
        );
        assert!(folded.contains("use self :: h ;"), "{folded}");
        assert!(folded.contains("use m :: g ;"), "{folded}");
    }

    #[test]
    fn contracts_are_built_with_the_row_types_columns() {
        let out = expanded(
            quote!(contract = contracts::events),
            quote!(
                fn a() -> Events {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("AssetChecks :: for_value (< Events as :: asset_core :: __private :: Asset > :: row_fields () , :: core :: option :: Option :: Some :: < :: asset_core :: __private :: DataContract > (contracts :: events ()))"),
            "{out}"
        );
        let bad = expanded(
            quote!(contract = "events"),
            quote!(
                fn a() -> Events {
                    todo!()
                }
            ),
        );
        assert!(
            bad.contains("expected `contract = path::to::function`"),
            "{bad}"
        );
    }

    #[test]
    fn a_mistake_keeps_the_item_and_adds_one_error() {
        let out = expanded(
            quote!(),
            quote!(
                struct A;
            ),
        );
        assert!(out.starts_with("struct A ;"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
    }
}
