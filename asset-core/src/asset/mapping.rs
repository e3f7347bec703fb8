//! Partition mappings as parameter types: `Window<T, N>`, `Prev<T>`,
//! `All<T>`, `Latest<T>`.
//!
//! A plain `T` parameter reads the same partition of `T`'s asset. These
//! wrappers read other partitions; which ones is decided when the run is
//! planned (see [`crate::partition`]) and the wrapper receives them in
//! order. What each gives at the start of history:
//!
//! | parameter | reads | at the first partition |
//! | --- | --- | --- |
//! | `Window<T, N>` | the `N` partitions ending at this one, oldest first | only those that exist (fewer than `N`) |
//! | `Prev<T>` | the partition before this one | nothing: [`Prev::value`] is `None` |
//! | `All<T>` | every partition of the upstream (a coarser downstream: those inside its window) | every one that exists |
//! | `Latest<T>` | the newest complete partition of the upstream | the newest one; an error if none is materialized |
//!
//! `Prev` or `Window` of the asset's own type makes a self-dependent asset
//! (a running total, a model refined day by day): its partitions run in
//! chronological order, each reading what the previous one published.

use std::fmt;

use crate::asset::definition::PartitionMapping;
use crate::asset::param::{
    Asset, AssetParam, LoadContext, LoadFuture, ParamSpecs, declare_dependency,
};
use crate::error::AssetError;

/// One upstream value and the partition it came from.
#[derive(Debug, Clone)]
pub struct Partitioned<T> {
    /// The upstream partition key (`2024-01-01`).
    pub partition: String,
    /// The value of that partition.
    pub value: T,
}

/// Loads every location of the next input, decoded as `T`, oldest first.
fn load_partitioned<T: Asset>(cx: &mut LoadContext) -> LoadFuture<Vec<Partitioned<T>>> {
    let input = cx.next_input();
    Box::pin(async move {
        let input = input?;
        let loaded = input.load_all().await?;
        loaded
            .into_iter()
            .map(|(location, payload)| {
                Ok(Partitioned {
                    partition: location.partition().unwrap_or_default().to_owned(),
                    value: T::decode(payload)?,
                })
            })
            .collect()
    })
}

/// Several upstream partitions, oldest first: what [`Window`] and [`All`]
/// hold (both dereference to it).
pub struct PartitionedValues<T> {
    items: Vec<Partitioned<T>>,
}

impl<T> PartitionedValues<T> {
    /// The partitions read, oldest first.
    pub fn items(&self) -> &[Partitioned<T>] {
        &self.items
    }

    /// The values, oldest first.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter().map(|p| &p.value)
    }

    /// The values, owned, oldest first.
    pub fn into_values(self) -> Vec<T> {
        self.items.into_iter().map(|p| p.value).collect()
    }

    /// How many partitions were read.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no partition was read.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T: fmt::Debug> fmt::Debug for PartitionedValues<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.items).finish()
    }
}

/// `Window<T, N>`: the `N` partitions of `T`'s asset ending at this
/// partition, oldest first. At the start of history it holds only the
/// partitions that exist ([`is_full`](Self::is_full) tells). The values are
/// read through [`PartitionedValues`] (`week.values()`, `week.len()`).
pub struct Window<T, const N: usize> {
    values: PartitionedValues<T>,
}

impl<T, const N: usize> Window<T, N> {
    /// Whether all `N` partitions were there.
    pub fn is_full(&self) -> bool {
        self.values.len() == N
    }

    /// The values, owned, oldest first.
    pub fn into_values(self) -> Vec<T> {
        self.values.into_values()
    }

    /// The window from its parts (for unit tests of asset functions).
    pub fn from_items(items: Vec<Partitioned<T>>) -> Self {
        Self {
            values: PartitionedValues { items },
        }
    }
}

impl<T, const N: usize> std::ops::Deref for Window<T, N> {
    type Target = PartitionedValues<T>;

    fn deref(&self) -> &PartitionedValues<T> {
        &self.values
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Window<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("n", &N)
            .field("items", &self.values)
            .finish()
    }
}

impl<T: Asset, const N: usize> AssetParam for Window<T, N> {
    fn declare(specs: &mut ParamSpecs) {
        // N = 0 is refused when the graph is built (it would read nothing).
        declare_dependency::<T>(
            specs,
            PartitionMapping::Window(u32::try_from(N).unwrap_or(u32::MAX)),
        );
    }

    fn load(cx: &mut LoadContext) -> LoadFuture<Self> {
        let items = load_partitioned::<T>(cx);
        Box::pin(async move { Ok(Self::from_items(items.await?)) })
    }
}

/// `Prev<T>`: the partition of `T`'s asset before this one; `None` at the
/// first partition. `Prev` of the asset's own type makes it self-dependent.
pub struct Prev<T> {
    item: Option<Partitioned<T>>,
}

impl<T> Prev<T> {
    /// The previous value, `None` at the start of history.
    pub fn value(&self) -> Option<&T> {
        self.item.as_ref().map(|p| &p.value)
    }

    /// The previous value, owned.
    pub fn into_value(self) -> Option<T> {
        self.item.map(|p| p.value)
    }

    /// The previous partition's key, `None` at the start of history.
    pub fn partition(&self) -> Option<&str> {
        self.item.as_ref().map(|p| p.partition.as_str())
    }

    /// A `Prev` from its parts (for unit tests of asset functions).
    pub fn from_item(item: Option<Partitioned<T>>) -> Self {
        Self { item }
    }
}

impl<T: fmt::Debug> fmt::Debug for Prev<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Prev").field(&self.item).finish()
    }
}

impl<T: Asset> AssetParam for Prev<T> {
    fn declare(specs: &mut ParamSpecs) {
        declare_dependency::<T>(specs, PartitionMapping::Prev);
    }

    fn load(cx: &mut LoadContext) -> LoadFuture<Self> {
        let items = load_partitioned::<T>(cx);
        Box::pin(async move {
            let mut items = items.await?;
            if items.len() > 1 {
                return Err(AssetError::msg(format!(
                    "internal error: Prev was given {} partitions",
                    items.len()
                )));
            }
            Ok(Self { item: items.pop() })
        })
    }
}

/// `All<T>`: every partition of `T`'s asset, oldest first (for an
/// unpartitioned downstream), or every one inside this partition's window
/// (a month reading its days). The values are read through
/// [`PartitionedValues`] (`days.values()`, `days.len()`).
pub struct All<T> {
    values: PartitionedValues<T>,
}

impl<T> All<T> {
    /// The values, owned, oldest first.
    pub fn into_values(self) -> Vec<T> {
        self.values.into_values()
    }

    /// An `All` from its parts (for unit tests of asset functions).
    pub fn from_items(items: Vec<Partitioned<T>>) -> Self {
        Self {
            values: PartitionedValues { items },
        }
    }
}

impl<T> std::ops::Deref for All<T> {
    type Target = PartitionedValues<T>;

    fn deref(&self) -> &PartitionedValues<T> {
        &self.values
    }
}

impl<T: fmt::Debug> fmt::Debug for All<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("All").field(&self.values).finish()
    }
}

impl<T: Asset> AssetParam for All<T> {
    fn declare(specs: &mut ParamSpecs) {
        declare_dependency::<T>(specs, PartitionMapping::All);
    }

    fn load(cx: &mut LoadContext) -> LoadFuture<Self> {
        let items = load_partitioned::<T>(cx);
        Box::pin(async move { Ok(Self::from_items(items.await?)) })
    }
}

/// `Latest<T>`: the newest complete partition of `T`'s asset (a lookup
/// table refreshed daily, read by an unpartitioned report).
pub struct Latest<T> {
    item: Partitioned<T>,
}

impl<T> Latest<T> {
    /// The value.
    pub fn value(&self) -> &T {
        &self.item.value
    }

    /// The value, owned.
    pub fn into_value(self) -> T {
        self.item.value
    }

    /// The partition it came from.
    pub fn partition(&self) -> &str {
        &self.item.partition
    }

    /// A `Latest` from its parts (for unit tests of asset functions).
    pub fn from_item(item: Partitioned<T>) -> Self {
        Self { item }
    }
}

impl<T> std::ops::Deref for Latest<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.item.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Latest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Latest").field(&self.item).finish()
    }
}

impl<T: Asset> AssetParam for Latest<T> {
    fn declare(specs: &mut ParamSpecs) {
        declare_dependency::<T>(specs, PartitionMapping::Latest);
    }

    fn load(cx: &mut LoadContext) -> LoadFuture<Self> {
        let items = load_partitioned::<T>(cx);
        let asset = T::KEY;
        Box::pin(async move {
            let mut items = items.await?;
            match (items.pop(), items.is_empty()) {
                (Some(item), true) => Ok(Self { item }),
                (None, _) => Err(AssetError::msg(format!(
                    "Latest<{asset}>: the upstream has no complete partition yet"
                ))),
                (Some(_), false) => Err(AssetError::msg(format!(
                    "internal error: Latest<{asset}> was given several partitions"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, value: i64) -> Partitioned<i64> {
        Partitioned {
            partition: format!("2024-01-{d:02}"),
            value,
        }
    }

    #[test]
    fn a_window_at_the_start_of_history_is_not_full() {
        let week: Window<i64, 7> = Window::from_items(vec![day(1, 3), day(2, 4)]);
        assert!(!week.is_full());
        assert_eq!(week.len(), 2);
        assert_eq!(week.values().sum::<i64>(), 7);
        assert_eq!(week.items()[1].partition, "2024-01-02");
        let full: Window<i64, 2> = Window::from_items(vec![day(1, 3), day(2, 4)]);
        assert!(full.is_full());
        assert_eq!(full.into_values(), [3, 4]);
    }

    #[test]
    fn prev_is_none_at_the_first_partition() {
        let first: Prev<i64> = Prev::from_item(None);
        assert_eq!((first.value(), first.partition()), (None, None));
        let later = Prev::from_item(Some(day(4, 9)));
        assert_eq!(later.partition(), Some("2024-01-04"));
        assert_eq!(later.into_value(), Some(9));
    }

    #[test]
    fn all_and_latest_expose_their_partitions() {
        let all = All::from_items(vec![day(1, 1), day(2, 2), day(3, 3)]);
        assert_eq!(all.values().rev().copied().collect::<Vec<_>>(), [3, 2, 1]);
        assert!(!all.is_empty());
        let latest = Latest::from_item(day(3, 3));
        assert_eq!((latest.partition(), *latest), ("2024-01-03", 3));
    }
}
