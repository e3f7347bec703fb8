//! Graph-time schema checks: before any data moves, every edge whose
//! downstream reads serde rows is compared with what its upstream promises
//! (its contract, or its own row type), and every contract with the asset
//! it is attached to.

use std::collections::HashMap;

use crate::asset::definition::AssetDef;
use crate::check::contract::types_compatible;
use crate::check::dead_letter::DEAD_LETTER_SUFFIX;
use crate::error::Error;

/// What an asset promises about one column.
struct Promise<'a> {
    data_type: &'a arrow_schema::DataType,
    nullable: bool,
}

/// Checks the contracts and checks of `defs` (indexed by key in `index`)
/// against the graph: see the module docs. The first problem is returned.
pub(crate) fn validate_schemas(
    defs: &[AssetDef],
    index: &HashMap<String, usize>,
) -> Result<(), Error> {
    for def in defs {
        if def.key.ends_with(DEAD_LETTER_SUFFIX) {
            return Err(Error::Usage(format!(
                "asset key {:?} ends with {DEAD_LETTER_SUFFIX:?}, which is reserved for dead-letter tables",
                def.key
            )));
        }
        check_own_contract(def)?;
        check_names(def)?;
        for dep in &def.dependencies {
            let (Some(expected), Some(&u)) = (&dep.expected_fields, index.get(&dep.asset)) else {
                continue;
            };
            let upstream = &defs[u];
            for field in expected {
                let Some(promise) = promise_of(upstream, field.name()) else {
                    // A column the upstream does not mention: only a row type
                    // lists every column; a contract lists what it requires.
                    if upstream.checks.row_fields.is_some() && !field.is_nullable() {
                        return Err(mismatch(
                            def,
                            format!(
                                "reads column {:?} of {:?}, whose rows have no such column",
                                field.name(),
                                upstream.key
                            ),
                        ));
                    }
                    continue;
                };
                if !types_compatible(promise.data_type, field.data_type()) {
                    return Err(mismatch(
                        def,
                        format!(
                            "reads column {:?} of {:?} as {}, but {:?} declares it {}",
                            field.name(),
                            upstream.key,
                            field.data_type(),
                            upstream.key,
                            promise.data_type
                        ),
                    ));
                }
                if promise.nullable && !field.is_nullable() {
                    return Err(mismatch(
                        def,
                        format!(
                            "reads column {:?} of {:?} without nulls (not an Option), but {:?} allows nulls there",
                            field.name(),
                            upstream.key,
                            upstream.key
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `schema mismatch: "b" reads column ...`: the downstream, the column and
/// the upstream, found before any data moves.
fn mismatch(def: &AssetDef, what: String) -> Error {
    Error::Usage(format!("schema mismatch: {:?} {what}", def.key))
}

/// What `asset` promises about `column`: its contract's declaration (which
/// includes its row type's columns), else its row type's field.
fn promise_of<'a>(asset: &'a AssetDef, column: &str) -> Option<Promise<'a>> {
    if let Some(contract) = &asset.checks.contract
        && let Some(spec) = contract.columns().iter().find(|c| c.name == column)
    {
        return Some(Promise {
            data_type: &spec.data_type,
            nullable: spec.nullable,
        });
    }
    let fields = asset.checks.row_fields.as_ref()?;
    let (_, field) = fields.find(column)?;
    Some(Promise {
        data_type: field.data_type(),
        nullable: field.is_nullable(),
    })
}

/// A contract that contradicts the asset's own row type (or is attached to
/// an asset whose value is not a table) can never pass: refuse it now.
fn check_own_contract(def: &AssetDef) -> Result<(), Error> {
    let Some(contract) = &def.checks.contract else {
        return Ok(());
    };
    if def.payload_kind != io_managers::PayloadKind::Table {
        return Err(Error::Usage(format!(
            "asset {:?} has a data contract, but its value is stored as a {}, not a table",
            def.key,
            def.payload_kind.name()
        )));
    }
    let Some(fields) = &def.checks.row_fields else {
        return Ok(());
    };
    for spec in contract.columns() {
        if let Some((_, field)) = fields.find(&spec.name)
            && !types_compatible(&spec.data_type, field.data_type())
        {
            return Err(Error::Usage(format!(
                "the contract of {:?} declares column {:?} as {}, but its row type makes it {}",
                def.key,
                spec.name,
                spec.data_type,
                field.data_type()
            )));
        }
    }
    Ok(())
}

/// Check names are unique per asset and distinct from the built-in ones.
fn check_names(def: &AssetDef) -> Result<(), Error> {
    let checks = &def.checks.checks;
    for (i, check) in checks.iter().enumerate() {
        if [
            super::CONTRACT_CHECK,
            super::ROW_RULES_CHECK,
            super::SCHEMA_CHECK,
        ]
        .contains(&check.name.as_str())
        {
            return Err(Error::Usage(format!(
                "check {:?} of asset {:?} at {} has a reserved name: rename it",
                check.name,
                def.key,
                check.origin()
            )));
        }
        if let Some(first) = checks[..i].iter().find(|c| c.name == check.name) {
            return Err(Error::Usage(format!(
                "asset {:?} has two checks named {:?}: at {} and at {}",
                def.key,
                check.name,
                first.origin(),
                check.origin()
            )));
        }
    }
    Ok(())
}
