//! Checking `YYYY-MM-DD` day literals at compile time.

/// Whether `text` is a real calendar day written `YYYY-MM-DD` (exactly ten
/// characters), the same rule the runtime applies to partition keys.
pub(crate) fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = &bytes[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0u32, |n, d| {
            n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day)
}

/// The weekday of a `YYYY-MM-DD` day, 0 for Monday to 6 for Sunday
/// (Sakamoto's method); `None` if it is not a day.
pub(crate) fn weekday(text: &str) -> Option<usize> {
    if !is_day(text) {
        return None;
    }
    let year: i64 = text[0..4].parse().ok()?;
    let month: usize = text[5..7].parse().ok()?;
    let day: i64 = text[8..10].parse().ok()?;
    const T: [i64; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    // 0 = Sunday here.
    let sunday_based = (y + y / 4 - y / 100 + y / 400 + T[month - 1] + day).rem_euclid(7);
    usize::try_from((sunday_based + 6) % 7).ok()
}

/// The number of days in `month` (1-12) of `year` (proleptic Gregorian).
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_are_counted_from_monday() {
        assert_eq!(weekday("2024-01-01"), Some(0));
        assert_eq!(weekday("2024-01-03"), Some(2));
        assert_eq!(weekday("2024-03-03"), Some(6));
        assert_eq!(weekday("2000-02-29"), Some(1));
        assert_eq!(weekday("2024-02-30"), None);
    }

    #[test]
    fn real_days_are_accepted() {
        for day in [
            "2024-01-01",
            "2024-02-29",
            "2000-02-29",
            "1999-12-31",
            "2023-04-30",
        ] {
            assert!(is_day(day), "{day}");
        }
    }

    #[test]
    fn impossible_or_malformed_days_are_refused() {
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-1-01",
            "20240101",
            "2024/01/01",
            "2024-01-01 ",
            "+024-01-01",
            "",
        ] {
            assert!(!is_day(bad), "{bad}");
        }
    }
}
