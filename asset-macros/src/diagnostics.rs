//! Collecting spanned errors so one expansion reports all of them together,
//! and the "did you mean" hint they share.

use proc_macro2::TokenStream;

/// ` (did you mean `x`?)` for the known name closest to `text` (a typo, a
/// case slip or a missing letter: a match ignoring case, or a
/// Damerau-Levenshtein distance of one edit per three letters, at least
/// one and at most two, so that a short word is not "corrected" into an
/// unrelated one), or an empty string when none is close. `candidates` is
/// a comma-separated list, as the messages print it.
pub(crate) fn did_you_mean(text: &str, candidates: &str) -> String {
    let lower = text.to_lowercase();
    let allowed = (text.chars().count() / 3).clamp(1, 2);
    candidates
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != text)
        .map(|c| {
            let distance = if c.to_lowercase() == lower {
                0
            } else {
                strsim::damerau_levenshtein(&lower, &c.to_lowercase())
            };
            (distance, c)
        })
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, _)| d)
        .map_or_else(String::new, |(_, c)| format!(" (did you mean `{c}`?)"))
}

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

#[cfg(test)]
mod did_you_mean_tests {
    use super::did_you_mean;

    #[test]
    fn names_the_closest_candidate_within_two_edits() {
        let kinds = "hourly, daily, weekly, monthly";
        assert_eq!(did_you_mean("dialy", kinds), " (did you mean `daily`?)");
        assert_eq!(did_you_mean("Weekly", kinds), " (did you mean `weekly`?)");
        assert_eq!(did_you_mean("monthy", kinds), " (did you mean `monthly`?)");
        assert_eq!(did_you_mean("yearly", kinds), "");
        // Two edits from `io`, but a three-letter word gets one.
        assert_eq!(did_you_mean("foo", "name, io"), "");
        assert_eq!(did_you_mean("p1", "P0, P1"), " (did you mean `P1`?)");
    }
}
