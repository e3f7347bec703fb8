//! The deterministic train/holdout split of a day's clean events.
//!
//! The split is by (user, item) pair: every event of a pair lands on the same
//! side, so a click is never separated from its view, and the holdout asks a
//! real question: "will this user engage with an item they have not touched
//! in training?". Features and models see only the training side; evaluation
//! scores the holdout side.

use super::events::CleanEvent;
use super::generate::mix64;

/// The share of (user, item) pairs held out for evaluation, in percent.
pub const HOLDOUT_PERCENT: u64 = 20;

/// Salt so that the split is independent of the other hashes in the example.
const SPLIT_SALT: u64 = 0x5EED_5B1F_0000_0001;

/// Which side of the split an event is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Used to compute features and train models.
    Train,
    /// Kept back to evaluate the models.
    Holdout,
}

/// The side of the (user, item) pair: the same on every day and every run.
pub fn side(user_id: i64, item_id: i64) -> Side {
    // Reinterpreting the signed ids' bits is intended: it is only hashed.
    let pair = mix64(SPLIT_SALT ^ user_id as u64).wrapping_add(item_id as u64);
    if mix64(pair) % 100 < HOLDOUT_PERCENT {
        Side::Holdout
    } else {
        Side::Train
    }
}

/// The events on one side, in their original order.
pub fn select(events: &[CleanEvent], wanted: Side) -> Vec<CleanEvent> {
    events
        .iter()
        .filter(|e| side(e.user_id, e.item_id) == wanted)
        .cloned()
        .collect()
}

/// The training side.
pub fn train(events: &[CleanEvent]) -> Vec<CleanEvent> {
    select(events, Side::Train)
}

/// The holdout side.
pub fn holdout(events: &[CleanEvent]) -> Vec<CleanEvent> {
    select(events, Side::Holdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_fifth_of_pairs_are_held_out() {
        let held = (1..=200)
            .flat_map(|u| (1..=100).map(move |i| (u, i)))
            .filter(|&(u, i)| side(u, i) == Side::Holdout)
            .count();
        // 20,000 pairs: 20% is 4,000; allow sampling noise.
        assert!((3_700..=4_300).contains(&held), "{held}");
    }

    #[test]
    fn the_split_is_stable_and_pairwise() {
        assert_eq!(side(17, 42), side(17, 42));
        let a = (1..=50).map(|i| side(1, i)).collect::<Vec<_>>();
        let b = (1..=50).map(|i| side(2, i)).collect::<Vec<_>>();
        assert_ne!(a, b, "different users get different pairs held out");
    }
}
