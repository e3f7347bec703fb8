//! Alert severities, P0 (page someone now) to P3 (log it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::schedule::ScheduleError;

/// How urgent an asset's alerts are. The default is [`Severity::P2`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Severity {
    /// Wakes someone up: the business is affected now.
    P0,
    /// Urgent in working hours.
    P1,
    /// Someone should look today.
    #[default]
    P2,
    /// Logged only.
    P3,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 4] = [Severity::P0, Severity::P1, Severity::P2, Severity::P3];

    /// `P0` .. `P3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P0 => "P0",
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ScheduleError::UnknownSeverity {
                text: s.to_owned(),
                suggestion: suggest(s),
            })
    }
}

/// The closest severity for a near miss (`p1` is accepted; `P01`, `1`, `S1`
/// suggest `P1`).
fn suggest(text: &str) -> Option<Severity> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let n: usize = digits.parse().ok()?;
    Severity::ALL.get(n).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_parse_in_either_case_and_order_by_urgency() {
        assert_eq!("P0".parse::<Severity>().ok(), Some(Severity::P0));
        assert_eq!("p3".parse::<Severity>().ok(), Some(Severity::P3));
        assert!(Severity::P0 < Severity::P3);
        assert_eq!(Severity::default(), Severity::P2);
    }

    #[test]
    fn an_unknown_severity_lists_the_known_ones_and_suggests() {
        let err = "S1".parse::<Severity>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown severity \"S1\" (did you mean P1?); expected one of: P0, P1, P2, P3"
        );
        let err = "urgent".parse::<Severity>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown severity \"urgent\"; expected one of: P0, P1, P2, P3"
        );
        assert_eq!(suggest("P00"), Some(Severity::P0));
        assert_eq!(suggest("P9"), None);
    }
}
