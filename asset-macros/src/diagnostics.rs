//! Collecting spanned errors so one expansion reports all of them together.

use proc_macro2::TokenStream;

/// The errors found while expanding one item.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// How many errors were recorded.
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// One `compile_error!` per recorded error (nothing when there are none).
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(|e| e.to_compile_error())
            .collect()
    }

    /// The user's item unchanged, followed by the errors: one mistake gives
    /// one message, not a cascade from a missing item.
    pub(crate) fn beside(self, item: TokenStream) -> TokenStream {
        let mut out = item;
        out.extend(self.into_compile_errors());
        out
    }
}

#[cfg(test)]
impl Errors {
    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The messages recorded, for tests.
    pub(crate) fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}
