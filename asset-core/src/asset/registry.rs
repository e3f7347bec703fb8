//! The registry: every asset of a program, sorted by key and validated.
//!
//! `#[asset]` submits an [`AssetRegistration`] to a link-time collection
//! (inventory); [`Registry::from_inventory`] gathers them. Run-time assets
//! (factories) are added with [`Registry::from_defs`] or [`Registry::with`].

use std::collections::HashMap;

use crate::asset::definition::AssetDef;
use crate::error::Error;

/// What `#[asset]` registers: const data and a function pointer, nothing
/// allocated before `main`.
pub struct AssetRegistration {
    /// The asset key.
    pub key: &'static str,
    /// Builds the definition.
    pub build: fn() -> Result<AssetDef, Error>,
}

inventory::collect!(AssetRegistration);

/// All assets of a program, sorted by key.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    assets: Vec<AssetDef>,
    index: HashMap<String, usize>,
}

impl Registry {
    /// The assets marked `#[asset]` in every crate linked into this program.
    pub fn from_inventory() -> Result<Self, Error> {
        let mut defs = inventory::iter::<AssetRegistration>
            .into_iter()
            .map(|r| (r.build)())
            .collect::<Result<Vec<_>, _>>()?;
        crate::check::attach_registered(&mut defs)?;
        Self::from_defs(defs)
    }

    /// A registry of these definitions.
    ///
    /// Refused: an invalid or duplicate key (both definitions' locations are
    /// named), a dependency on an unknown asset, a repeated dependency, a
    /// contract or check that cannot fit (see `check::validate_schemas`:
    /// schema mismatches between stages are found here, before any data
    /// moves).
    pub fn from_defs(mut defs: Vec<AssetDef>) -> Result<Self, Error> {
        defs.sort_by(|a, b| a.key.cmp(&b.key));
        for pair in defs.windows(2) {
            if pair[0].key == pair[1].key {
                return Err(Error::DuplicateAsset {
                    key: pair[0].key.clone(),
                    first: pair[0].origin(),
                    second: pair[1].origin(),
                });
            }
        }
        let index: HashMap<String, usize> = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.key.clone(), i))
            .collect();
        for def in &defs {
            io_managers::validate_key("asset key", &def.key).map_err(|source| {
                Error::InvalidAssetKey {
                    asset: def.key.clone(),
                    source,
                }
            })?;
            for (i, dep) in def.dependencies.iter().enumerate() {
                if !index.contains_key(&dep.asset) {
                    return Err(Error::MissingDependency {
                        asset: def.key.clone(),
                        dependency: dep.asset.clone(),
                    });
                }
                if def.dependencies[..i].iter().any(|d| d == dep) {
                    return Err(Error::Usage(format!(
                        "asset {:?} reads {:?} twice in the same way",
                        def.key, dep.asset
                    )));
                }
            }
        }
        crate::check::validate_schemas(&defs, &index)?;
        Ok(Self {
            assets: defs,
            index,
        })
    }

    /// This registry plus `more` (run-time assets), validated again as a whole.
    pub fn with(self, more: Vec<AssetDef>) -> Result<Self, Error> {
        let mut defs = self.assets;
        defs.extend(more);
        Self::from_defs(defs)
    }

    /// All assets, sorted by key.
    pub fn assets(&self) -> &[AssetDef] {
        &self.assets
    }

    /// The asset with this key.
    pub fn get(&self, key: &str) -> Option<&AssetDef> {
        self.index.get(key).map(|&i| &self.assets[i])
    }

    /// The position of the asset with this key in [`assets`](Self::assets).
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// How many assets there are.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// The known key closest to `name`, if one is close enough to suggest.
    pub fn closest_key(&self, name: &str) -> Option<String> {
        self.assets
            .iter()
            .map(|a| (strsim::jaro_winkler(name, &a.key), &a.key))
            .filter(|(score, _)| *score > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::definition::SourceLocation;
    use io_managers::Payload;

    fn def(key: &str, deps: &[&str]) -> AssetDef {
        let mut d = AssetDef::new(key, |_| Box::pin(async { Ok(Payload::Nothing) }));
        for dep in deps {
            d = d.with_dependency(*dep);
        }
        d
    }

    #[test]
    fn registry_is_sorted_by_key() {
        let r = Registry::from_defs(vec![def("b", &[]), def("a", &["b"])]).expect("valid");
        let keys: Vec<_> = r.assets().iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(r.index_of("b"), Some(1));
    }

    #[test]
    fn duplicate_keys_name_both_locations() {
        let mut a = def("events", &[]);
        a.source = Some(SourceLocation {
            file: "src/a.rs",
            line: 3,
            git_commit: "unknown",
        });
        let mut b = def("events", &[]);
        b.source = Some(SourceLocation {
            file: "src/b.rs",
            line: 9,
            git_commit: "unknown",
        });
        let err = Registry::from_defs(vec![a, b]).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            r#"asset "events" is defined twice: at src/a.rs:3 and at src/b.rs:9"#
        );
    }

    #[test]
    fn unknown_dependency_is_refused() {
        let err = Registry::from_defs(vec![def("a", &["nope"])]).expect_err("missing");
        assert!(err.to_string().contains(r#"depends on "nope""#), "{err}");
    }

    #[test]
    fn unsafe_asset_key_is_refused() {
        let err = Registry::from_defs(vec![def("../x", &[])]).expect_err("unsafe");
        assert!(err.to_string().contains("../x"), "{err}");
    }

    #[test]
    fn closest_key_suggests_typos_only() {
        let r = Registry::from_defs(vec![def("sessions", &[]), def("events", &[])]).expect("ok");
        assert_eq!(r.closest_key("sesions").as_deref(), Some("sessions"));
        assert_eq!(r.closest_key("zzzzzz"), None);
    }
}
