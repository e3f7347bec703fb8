//! `#[derive(Table)]`: a newtype over Arrow record batches or serde rows.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

/// The message for every shape the derive does not support.
const SHAPES: &str =
    "#[derive(Table)] needs a newtype over RecordBatch, Vec<RecordBatch> or Vec<Row>";

/// What the newtype wraps.
enum Shape<'a> {
    /// `RecordBatch`.
    Batch,
    /// `Vec<RecordBatch>`.
    Batches,
    /// `Vec<Row>`.
    Rows(&'a Type),
}

/// Expands `#[derive(Table)]` on `item`.
pub(crate) fn expand(item: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(item).and_then(|input| table_impl(&input)) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn table_impl(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let head = || quote!(#name);
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            format!("{SHAPES}; a table type cannot be generic"),
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(head(), SHAPES));
    };
    let (field, member) = match &data.fields {
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => (&fields.unnamed[0], quote!(0)),
        Fields::Named(fields) if fields.named.len() == 1 => {
            let field = &fields.named[0];
            (field, field.ident.to_token_stream_or_zero())
        }
        _ => return Err(syn::Error::new_spanned(head(), SHAPES)),
    };
    let shape = shape_of(&field.ty).ok_or_else(|| syn::Error::new_spanned(&field.ty, SHAPES))?;
    let private = quote!(::asset_core::__private);
    // Serde rows fix their columns: contracts and downstream parameters
    // read them off the type.
    let row_fields = match shape {
        Shape::Rows(row) => quote! {
            fn row_fields() -> ::core::option::Option<::asset_core::arrow_schema::Fields> {
                #private::traced_row_fields::<#row>()
            }
        },
        Shape::Batch | Shape::Batches => quote!(),
    };
    let (into, from) = match shape {
        Shape::Batch => (
            quote!(#private::batch_into_table(self.#member)),
            quote!(#private::batch_from_table(table)),
        ),
        Shape::Batches => (
            quote!(#private::batches_into_table(self.#member)),
            quote!(#private::batches_from_table(table)),
        ),
        Shape::Rows(row) => (
            quote!(#private::rows_into_table::<#row>(self.#member)),
            quote!(#private::rows_from_table::<#row>(table)),
        ),
    };
    Ok(quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl ::asset_core::Table for #name {
                fn into_table(
                    self,
                ) -> ::core::result::Result<#private::TableData, #private::AssetError> {
                    #into
                }
                fn from_table(
                    table: #private::TableData,
                ) -> ::core::result::Result<Self, #private::AssetError> {
                    ::core::result::Result::Ok(Self { #member: #from? })
                }
                #row_fields
            }
        };
    })
}

/// The field's name, or `0` for a tuple field.
trait MemberTokens {
    fn to_token_stream_or_zero(&self) -> TokenStream;
}

impl MemberTokens for Option<syn::Ident> {
    fn to_token_stream_or_zero(&self) -> TokenStream {
        match self {
            Some(ident) => quote!(#ident),
            None => quote!(0),
        }
    }
}

/// Reads the wrapped type by its last path segment.
fn shape_of(ty: &Type) -> Option<Shape<'_>> {
    let last = last_segment(ty)?;
    if last.ident == "RecordBatch" && last.arguments.is_none() {
        return Some(Shape::Batch);
    }
    if last.ident != "Vec" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let [GenericArgument::Type(element)] = args.args.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    match last_segment(element) {
        Some(segment) if segment.ident == "RecordBatch" => Some(Shape::Batches),
        _ => Some(Shape::Rows(element)),
    }
}

fn last_segment(mut ty: &Type) -> Option<&syn::PathSegment> {
    while let Type::Group(group) = ty {
        ty = &group.elem;
    }
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(tokens: TokenStream) -> String {
        expand(tokens).to_string()
    }

    #[test]
    fn each_newtype_shape_picks_its_conversion() {
        assert!(
            expanded(quote!(
                struct A(RecordBatch);
            ))
            .contains("batch_into_table")
        );
        assert!(
            expanded(quote!(
                struct A(arrow_array::RecordBatch);
            ))
            .contains("batch_from_table")
        );
        assert!(
            expanded(quote!(
                struct A {
                    b: Vec<RecordBatch>,
                }
            ))
            .contains("batches_into_table")
        );
        let rows = expanded(quote!(
            pub struct Users(pub Vec<User>);
        ));
        assert!(rows.contains("rows_into_table :: < User >"), "{rows}");
    }

    #[test]
    fn other_shapes_are_refused() {
        for tokens in [
            quote!(
                struct A(RecordBatch, u8);
            ),
            quote!(
                struct A;
            ),
            quote!(
                struct A {
                    a: RecordBatch,
                    b: u8,
                }
            ),
            quote!(
                enum A {
                    B(RecordBatch),
                }
            ),
            quote!(
                struct A(String);
            ),
            quote!(
                struct A(Vec<u8, Alloc>);
            ),
            quote!(
                struct A(Vec);
            ),
            quote!(
                struct A<T>(Vec<T>);
            ),
        ] {
            let out = expanded(tokens.clone());
            assert!(out.contains("compile_error"), "{tokens}: {out}");
            assert!(out.contains("needs a newtype"), "{tokens}: {out}");
        }
    }
}
