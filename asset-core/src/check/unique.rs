//! Finding repeated values in a column spread over record batches.
//!
//! Integer-like columns (integers, dates, times, timestamps, durations) are
//! the common case for keys and get the fast paths: when the values' span is
//! at most a few times their count, a bitmap over the span (one bit per
//! possible value, at most about a byte per row); otherwise a column that is
//! strictly increasing is unique without storing anything; otherwise a hash
//! set. Floats, booleans, strings and binaries use a hash set of the values
//! (borrowed from the batches, not copied).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};

/// Values of a column equal to an earlier value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicates {
    /// How many (a value present three times counts twice).
    pub count: u64,
    /// The first repeated value, as text.
    pub example: String,
}

/// The duplicates among the non-null values of `arrays` (one column's
/// batches, all of one type); `Err(type)` when the type is not supported.
pub(crate) fn duplicates(arrays: &[ArrayRef]) -> Result<Option<Duplicates>, DataType> {
    use DataType as T;
    let Some(first) = arrays.first() else {
        return Ok(None);
    };
    Ok(match first.data_type() {
        T::Int8 => integers::<Int8Type>(arrays),
        T::Int16 => integers::<Int16Type>(arrays),
        T::Int32 => integers::<Int32Type>(arrays),
        T::Int64 => integers::<Int64Type>(arrays),
        T::UInt8 => integers::<UInt8Type>(arrays),
        T::UInt16 => integers::<UInt16Type>(arrays),
        T::UInt32 => integers::<UInt32Type>(arrays),
        T::UInt64 => integers::<UInt64Type>(arrays),
        T::Date32 => integers::<Date32Type>(arrays),
        T::Date64 => integers::<Date64Type>(arrays),
        T::Time32(TimeUnit::Second) => integers::<Time32SecondType>(arrays),
        T::Time32(TimeUnit::Millisecond) => integers::<Time32MillisecondType>(arrays),
        T::Time64(TimeUnit::Microsecond) => integers::<Time64MicrosecondType>(arrays),
        T::Time64(TimeUnit::Nanosecond) => integers::<Time64NanosecondType>(arrays),
        T::Timestamp(TimeUnit::Second, _) => integers::<TimestampSecondType>(arrays),
        T::Timestamp(TimeUnit::Millisecond, _) => integers::<TimestampMillisecondType>(arrays),
        T::Timestamp(TimeUnit::Microsecond, _) => integers::<TimestampMicrosecondType>(arrays),
        T::Timestamp(TimeUnit::Nanosecond, _) => integers::<TimestampNanosecondType>(arrays),
        T::Duration(TimeUnit::Second) => integers::<DurationSecondType>(arrays),
        T::Duration(TimeUnit::Millisecond) => integers::<DurationMillisecondType>(arrays),
        T::Duration(TimeUnit::Microsecond) => integers::<DurationMicrosecondType>(arrays),
        T::Duration(TimeUnit::Nanosecond) => integers::<DurationNanosecondType>(arrays),
        T::Float32 => floats::<Float32Type>(arrays),
        T::Float64 => floats::<Float64Type>(arrays),
        T::Boolean => booleans(arrays),
        T::Utf8 => bytes(arrays, |a, i| a.as_string::<i32>().value(i).as_bytes()),
        T::LargeUtf8 => bytes(arrays, |a, i| a.as_string::<i64>().value(i).as_bytes()),
        T::Utf8View => bytes(arrays, |a, i| a.as_string_view().value(i).as_bytes()),
        T::Binary => bytes(arrays, |a, i| a.as_binary::<i32>().value(i)),
        T::LargeBinary => bytes(arrays, |a, i| a.as_binary::<i64>().value(i)),
        T::BinaryView => bytes(arrays, |a, i| a.as_binary_view().value(i)),
        other => return Err(other.clone()),
    })
}

/// An integer-like native value as an `i64`: one-to-one per type (`u64`
/// wraps), so equal keys mean equal values.
trait IntKey: Copy + std::fmt::Display {
    fn key(self) -> i64;
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl IntKey for $t {
            #[allow(clippy::cast_possible_wrap, clippy::cast_lossless)]
            fn key(self) -> i64 {
                self as i64
            }
        }
    )*};
}
int_key!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Counts repeats as they are found, keeping the first.
#[derive(Default)]
struct Tally {
    count: u64,
    example: Option<String>,
}

impl Tally {
    fn repeat(&mut self, value: impl FnOnce() -> String) {
        self.count += 1;
        if self.example.is_none() {
            self.example = Some(value());
        }
    }

    fn finish(self) -> Option<Duplicates> {
        (self.count > 0).then(|| Duplicates {
            count: self.count,
            example: self.example.unwrap_or_default(),
        })
    }
}

/// Calls `f` on every non-null value of the batches, in order.
fn each_valid<T: ArrowPrimitiveType>(arrays: &[ArrayRef], mut f: impl FnMut(T::Native)) {
    for array in arrays {
        let array = array.as_primitive::<T>();
        match array.nulls().filter(|n| n.null_count() > 0) {
            None => array.values().iter().for_each(|&v| f(v)),
            Some(nulls) => array
                .values()
                .iter()
                .zip(nulls.iter())
                .filter(|(_, valid)| *valid)
                .for_each(|(&v, _)| f(v)),
        }
    }
}

fn integers<T>(arrays: &[ArrayRef]) -> Option<Duplicates>
where
    T: ArrowPrimitiveType,
    T::Native: IntKey,
{
    let (mut min, mut max, mut n) = (i64::MAX, i64::MIN, 0u64);
    let mut increasing = true;
    let mut last: Option<i64> = None;
    each_valid::<T>(arrays, |v| {
        let k = v.key();
        min = min.min(k);
        max = max.max(k);
        n += 1;
        increasing &= last.is_none_or(|l| l < k);
        last = Some(k);
    });
    if n == 0 || increasing {
        return None;
    }
    let span = (i128::from(max) - i128::from(min)) as u128;
    let mut tally = Tally::default();
    if span <= u128::from(n) * 8 + 4096 {
        // Bits for every value in min..=max: at most about a byte per row.
        let mut seen = vec![0u64; (span / 64) as usize + 1];
        each_valid::<T>(arrays, |v| {
            let offset = (i128::from(v.key()) - i128::from(min)) as usize;
            let (word, bit) = (offset / 64, 1u64 << (offset % 64));
            if seen[word] & bit != 0 {
                tally.repeat(|| v.to_string());
            }
            seen[word] |= bit;
        });
    } else {
        let mut seen: HashSet<i64, BuildHasherDefault<MixHasher>> =
            HashSet::with_capacity_and_hasher(usize::try_from(n).unwrap_or(0), Default::default());
        each_valid::<T>(arrays, |v| {
            if !seen.insert(v.key()) {
                tally.repeat(|| v.to_string());
            }
        });
    }
    tally.finish()
}

/// A float as a key: `-0.0` equals `0.0`, every NaN equals every other.
trait FloatKey: Copy + std::fmt::Display {
    fn key(self) -> u64;
}

impl FloatKey for f64 {
    fn key(self) -> u64 {
        if self.is_nan() {
            f64::NAN.to_bits()
        } else if self == 0.0 {
            0
        } else {
            self.to_bits()
        }
    }
}

impl FloatKey for f32 {
    fn key(self) -> u64 {
        f64::from(self).key()
    }
}

fn floats<T>(arrays: &[ArrayRef]) -> Option<Duplicates>
where
    T: ArrowPrimitiveType,
    T::Native: FloatKey,
{
    let rows: usize = arrays.iter().map(|a| a.len()).sum();
    let mut seen: HashSet<u64, BuildHasherDefault<MixHasher>> =
        HashSet::with_capacity_and_hasher(rows, Default::default());
    let mut tally = Tally::default();
    each_valid::<T>(arrays, |v| {
        if !seen.insert(v.key()) {
            tally.repeat(|| v.to_string());
        }
    });
    tally.finish()
}

fn booleans(arrays: &[ArrayRef]) -> Option<Duplicates> {
    let mut seen = [false; 2];
    let mut tally = Tally::default();
    for array in arrays {
        for v in array.as_boolean().iter().flatten() {
            if std::mem::replace(&mut seen[usize::from(v)], true) {
                tally.repeat(|| v.to_string());
            }
        }
    }
    tally.finish()
}

/// Strings and binaries, compared as bytes borrowed from the batches.
fn bytes<'a>(
    arrays: &'a [ArrayRef],
    value: impl Fn(&'a ArrayRef, usize) -> &'a [u8],
) -> Option<Duplicates> {
    let rows: usize = arrays.iter().map(|a| a.len()).sum();
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(rows);
    let mut tally = Tally::default();
    for array in arrays {
        for i in 0..array.len() {
            if array.is_valid(i) {
                let v = value(array, i);
                if !seen.insert(v) {
                    tally.repeat(|| String::from_utf8_lossy(v).into_owned());
                }
            }
        }
    }
    tally.finish()
}

/// A hasher for 64-bit keys: one multiply-xorshift round (splitmix64's
/// finalizer), several times faster than SipHash for integer sets. Only
/// used on values, never on input an attacker picks to collide.
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        let mut z = v ^ self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }

    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int64Array, StringArray, UInt64Array};
    use std::sync::Arc;

    fn ints(batches: &[&[Option<i64>]]) -> Vec<ArrayRef> {
        batches
            .iter()
            .map(|b| Arc::new(Int64Array::from(b.to_vec())) as ArrayRef)
            .collect()
    }

    fn found(arrays: &[ArrayRef]) -> Option<(u64, String)> {
        duplicates(arrays)
            .expect("supported")
            .map(|d| (d.count, d.example))
    }

    #[test]
    fn repeats_across_batches_are_found_with_the_first_as_example() {
        let arrays = ints(&[&[Some(1), Some(5), Some(3)], &[Some(5), Some(3), Some(5)]]);
        assert_eq!(found(&arrays), Some((3, "5".into())));
    }

    #[test]
    fn nulls_are_not_duplicates_of_each_other() {
        let arrays = ints(&[&[None, Some(2), None], &[None, Some(1)]]);
        assert_eq!(found(&arrays), None);
    }

    #[test]
    fn sparse_values_use_the_hash_set_and_still_find_repeats() {
        let arrays = ints(&[&[Some(i64::MAX), Some(i64::MIN), Some(0), Some(i64::MAX)]]);
        assert_eq!(found(&arrays), Some((1, i64::MAX.to_string())));
        let distinct = ints(&[&[Some(i64::MAX), Some(i64::MIN), Some(7)]]);
        assert_eq!(found(&distinct), None);
    }

    #[test]
    fn increasing_columns_are_unique_and_a_late_repeat_is_not_missed() {
        let n = 100_000;
        let up: Vec<Option<i64>> = (0..n).map(Some).collect();
        assert_eq!(found(&ints(&[&up])), None);
        let mut repeat = up.clone();
        repeat.push(Some(n / 2));
        assert_eq!(
            found(&ints(&[&up[..10], &repeat[10..]])),
            Some((1, (n / 2).to_string()))
        );
    }

    #[test]
    fn large_unsigned_values_do_not_collide_with_negative_ones() {
        let arrays: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from(vec![u64::MAX, 1, 0]))];
        assert_eq!(found(&arrays), None);
    }

    #[test]
    fn floats_strings_and_booleans_are_compared_by_value() {
        let f: Vec<ArrayRef> = vec![Arc::new(Float64Array::from(vec![0.0, -0.0, 1.5]))];
        assert_eq!(found(&f), Some((1, "-0".into())));
        let s: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("a"), None, Some("b")])),
            Arc::new(StringArray::from(vec![Some("b")])),
        ];
        assert_eq!(found(&s), Some((1, "b".into())));
        let b: Vec<ArrayRef> = vec![Arc::new(BooleanArray::from(vec![true, false, true]))];
        assert_eq!(found(&b), Some((1, "true".into())));
    }

    #[test]
    fn nested_types_are_reported_unsupported() {
        let list = arrow_array::ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(
            vec![Some(1)],
        )]);
        let err = duplicates(&[Arc::new(list) as ArrayRef]).expect_err("unsupported");
        assert!(matches!(err, DataType::List(_)), "{err}");
    }
}
