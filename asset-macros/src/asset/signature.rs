//! Reading an asset function's signature: its parameters (the context, and
//! the parameters loaded through `AssetParam`: upstream assets and
//! configuration) and its return type (the asset's value type).

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeImplTrait};

use crate::diagnostics::Errors;

/// The message for anything that is not a free function.
pub(crate) const NOT_A_FREE_FUNCTION: &str =
    "#[asset] goes on a free function (`fn` or `async fn`)";

/// The message for generic functions.
const GENERIC: &str = "an asset function cannot be generic: an asset is one concrete type";

/// One parameter of an asset function.
pub(crate) enum Param {
    /// `&AssetContext`: the step's context, not a dependency.
    Context,
    /// `Config<C>` (recognized by name, like `AssetContext`): the asset's
    /// configuration section deserialized into `C`, not a dependency.
    Config(Box<Type>),
    /// Any other type, loaded through `AssetParam`: an upstream asset or a
    /// wrapper around one.
    Loaded(Box<Type>),
}

/// What the function returns.
pub(crate) struct Output {
    /// The asset's value type; `None` for a unit asset (`()`, nothing, `Result<()>`).
    pub(crate) value: Option<Type>,
    /// Whether it returns a `Result` whose error must be converted.
    pub(crate) fallible: bool,
}

/// An asset function's signature, read.
pub(crate) struct Signature {
    /// The parameters, in order.
    pub(crate) params: Vec<Param>,
    /// The return type.
    pub(crate) output: Output,
}

/// Reads `function`'s signature, recording every problem in `errors`.
/// Returns `None` when the function cannot be an asset at all.
pub(crate) fn read(function: &ItemFn, errors: &mut Errors) -> Option<Signature> {
    let before = errors.len();
    let sig = &function.sig;
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(&sig.generics, GENERIC));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new(
            unsafety.span,
            "an asset function cannot be `unsafe`: the engine calls it like any other",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(variadic.span(), NOT_A_FREE_FUNCTION));
    }
    let mut params = Vec::with_capacity(sig.inputs.len());
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                errors.push(syn::Error::new_spanned(receiver, NOT_A_FREE_FUNCTION));
            }
            FnArg::Typed(typed) => {
                let ty = &*typed.ty;
                if let Some(impl_trait) = impl_trait_in(ty) {
                    errors.push(syn::Error::new_spanned(impl_trait, GENERIC));
                } else if is_context(ty) {
                    params.push(Param::Context);
                } else if let Some(value) = config_value(ty) {
                    params.push(Param::Config(Box::new(value.clone())));
                } else if let Type::Reference(reference) = ty {
                    errors.push(syn::Error::new_spanned(
                        reference,
                        "an asset parameter takes its upstream value by value (`T`, not `&T`); \
                         only `&AssetContext` (named so, not through an alias) is taken by reference",
                    ));
                } else {
                    params.push(Param::Loaded(Box::new(ty.clone())));
                }
            }
        }
    }
    let output = read_output(&sig.output);
    if let Some(value) = &output.value
        && let Some(impl_trait) = impl_trait_in(value)
    {
        errors.push(syn::Error::new_spanned(
            impl_trait,
            "an asset function must return a named type, not `impl Trait`: the type names the asset",
        ));
    }
    (errors.len() == before).then_some(Signature { params, output })
}

/// `T`, `Result<T>` or `Result<T, E>`; `()` or nothing is a unit asset.
fn read_output(output: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = output else {
        return Output {
            value: None,
            fallible: false,
        };
    };
    match result_ok_type(ty) {
        Some(ok) => Output {
            value: (!is_unit(ok)).then(|| ok.clone()),
            fallible: true,
        },
        None => Output {
            value: (!is_unit(ty)).then(|| (**ty).clone()),
            fallible: false,
        },
    }
}

/// The `T` of a type whose last path segment is `Result` with generic arguments.
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ok) => Some(ok),
        _ => None,
    }
}

/// Whether `ty` is `()`.
fn is_unit(ty: &Type) -> bool {
    matches!(ungroup(ty), Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// Whether `ty` is a reference to a type whose last path segment is `AssetContext`.
fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ungroup(ty) else {
        return false;
    };
    if reference.mutability.is_some() {
        return false;
    }
    matches!(
        ungroup(&reference.elem),
        Type::Path(path) if path.qself.is_none()
            && path.path.segments.last().is_some_and(|s| s.ident == "AssetContext")
    )
}

/// The `C` of a type whose last path segment is `Config<C>`.
fn config_value(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Config" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(value)] => Some(value),
        _ => None,
    }
}

/// `ty` without the invisible groups `macro_rules!` may wrap it in.
fn ungroup(mut ty: &Type) -> &Type {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    ty
}

/// The first `impl Trait` inside `ty`, if any.
fn impl_trait_in(ty: &Type) -> Option<TypeImplTrait> {
    struct Finder(Option<TypeImplTrait>);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, node: &TypeImplTrait) {
            if self.0.is_none() {
                self.0 = Some(node.clone());
            }
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn function(tokens: proc_macro2::TokenStream) -> ItemFn {
        syn::parse2(tokens).expect("a function")
    }

    fn read_ok(tokens: proc_macro2::TokenStream) -> Signature {
        let mut errors = Errors::default();
        let sig = read(&function(tokens), &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        sig.expect("a signature")
    }

    fn read_err(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        assert!(read(&function(tokens), &mut errors).is_none());
        errors.messages()
    }

    fn value(sig: &Signature) -> Option<String> {
        sig.output
            .value
            .as_ref()
            .map(|t| t.to_token_stream().to_string())
    }

    #[test]
    fn context_is_not_a_dependency() {
        let sig = read_ok(quote::quote!(
            fn a(
                ctx: &asset_core::AssetContext,
                (x, y): Pair,
                _: B,
                c: asset_core::Config<Settings>,
            ) -> A {
                todo!()
            }
        ));
        assert!(matches!(sig.params[0], Param::Context));
        let deps: Vec<String> = sig.params[1..]
            .iter()
            .map(|p| match p {
                Param::Loaded(ty) => ty.to_token_stream().to_string(),
                Param::Config(ty) => format!("config {}", ty.to_token_stream()),
                Param::Context => "ctx".into(),
            })
            .collect();
        assert_eq!(deps, ["Pair", "B", "config Settings"]);
    }

    #[test]
    fn result_types_are_unwrapped() {
        let sig = read_ok(quote::quote!(
            fn a() -> Result<Sessions> {
                todo!()
            }
        ));
        assert_eq!(value(&sig).as_deref(), Some("Sessions"));
        assert!(sig.output.fallible);
        let sig = read_ok(quote::quote!(
            fn a() -> std::result::Result<S, MyError> {
                todo!()
            }
        ));
        assert_eq!(value(&sig).as_deref(), Some("S"));
        let sig = read_ok(quote::quote!(
            async fn a() -> S {
                todo!()
            }
        ));
        assert_eq!(value(&sig).as_deref(), Some("S"));
        assert!(!sig.output.fallible);
    }

    #[test]
    fn unit_returns_make_unit_assets() {
        for f in [
            quote::quote!(
                fn a() {}
            ),
            quote::quote!(
                fn a() -> () {}
            ),
            quote::quote!(
                fn a() -> Result<()> {
                    Ok(())
                }
            ),
            quote::quote!(
                fn a() -> Result<(), E> {
                    Ok(())
                }
            ),
        ] {
            assert_eq!(value(&read_ok(f)), None);
        }
    }

    #[test]
    fn generic_functions_are_refused() {
        let generic = "an asset function cannot be generic: an asset is one concrete type";
        assert_eq!(
            read_err(quote::quote!(
                fn a<T>(t: T) -> A {
                    todo!()
                }
            )),
            [generic]
        );
        assert_eq!(
            read_err(quote::quote!(
                fn a<const N: usize>() -> A {
                    todo!()
                }
            )),
            [generic]
        );
        assert_eq!(
            read_err(quote::quote!(
                fn a<'x>() -> A {
                    todo!()
                }
            )),
            [generic]
        );
        assert_eq!(
            read_err(quote::quote!(
                fn a(t: impl Table) -> A {
                    todo!()
                }
            )),
            [generic]
        );
    }

    #[test]
    fn methods_are_refused() {
        assert_eq!(
            read_err(quote::quote!(
                fn a(&self) -> A {
                    todo!()
                }
            )),
            [NOT_A_FREE_FUNCTION]
        );
    }

    #[test]
    fn references_other_than_the_context_are_refused() {
        let found = read_err(quote::quote!(
            fn a(s: &Sessions) -> A {
                todo!()
            }
        ));
        assert!(found[0].contains("by value"), "{found:?}");
    }
}
