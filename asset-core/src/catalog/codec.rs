//! The compact binary form of a [`MaterializationRecord`] stored beside its
//! columns (`materializations.record`), so that reading hundreds of
//! thousands of records (`status` over a big graph) decodes one value per
//! row instead of twenty columns and a join on the inputs.
//!
//! Layout (format 1): a format byte, then the fields in declaration order
//! of the record, except the schema (stored once per distinct text in
//! `schemas` and referenced by id). Strings are a LEB128 length and UTF-8
//! bytes, options a `0`/`1` byte then the value, integers LEB128, the
//! inputs a count then each input's asset, partition and data version.
//!
//! Format 2 is format 1 followed by the tag the record was promoted from
//! (an option). Records that were not promoted keep format 1, so those
//! written before promotion existed and those written since are the same
//! bytes.

use super::{InputVersion, MaterializationRecord};

/// The format byte of the layout above.
const FORMAT: u8 = 1;
/// The format byte of a promoted record (format 1 plus `promoted_from`).
const FORMAT_PROMOTED: u8 = 2;

/// Encodes `record`, without its schema.
pub(crate) fn encode(record: &MaterializationRecord) -> Vec<u8> {
    let inputs: usize = record
        .inputs
        .iter()
        .map(|i| {
            i.asset.len() + i.partition.as_ref().map_or(0, String::len) + i.data_version.len() + 8
        })
        .sum();
    let mut out = Vec::with_capacity(160 + inputs + record.uri.len());
    out.push(if record.promoted_from.is_some() {
        FORMAT_PROMOTED
    } else {
        FORMAT
    });
    put_str(&mut out, &record.asset);
    put_opt(&mut out, record.partition.as_deref());
    put_str(&mut out, &record.run_id);
    put_str(&mut out, &record.code_version);
    put_str(&mut out, &record.data_version);
    put_uint(&mut out, record.inputs.len() as u64);
    for input in &record.inputs {
        put_str(&mut out, &input.asset);
        put_opt(&mut out, input.partition.as_deref());
        put_str(&mut out, &input.data_version);
    }
    put_str(&mut out, &record.uri);
    put_uint(&mut out, record.rows);
    put_uint(&mut out, record.bytes);
    put_str(&mut out, &record.started_at);
    put_str(&mut out, &record.finished_at);
    put_str(&mut out, &record.framework_version);
    put_opt(&mut out, record.config_hash.as_deref());
    put_str(&mut out, &record.git_commit);
    put_opt(&mut out, record.tag.as_deref());
    if record.promoted_from.is_some() {
        put_opt(&mut out, record.promoted_from.as_deref());
    }
    out
}

/// Decodes what [`encode`] wrote; the schema is given back by the caller.
pub(crate) fn decode(
    bytes: &[u8],
    schema: Option<String>,
) -> Result<MaterializationRecord, String> {
    let mut r = Reader { bytes, at: 0 };
    let format = r.byte()?;
    if format != FORMAT && format != FORMAT_PROMOTED {
        return Err(format!("unknown record format {format}"));
    }
    let asset = r.string()?;
    let partition = r.opt()?;
    let run_id = r.string()?;
    let code_version = r.string()?;
    let data_version = r.string()?;
    let count = r.uint()?;
    // Each input takes at least 3 bytes: a corrupt count cannot make us
    // allocate more than the record's size.
    let mut inputs = Vec::with_capacity((count as usize).min(bytes.len() / 3));
    for _ in 0..count {
        inputs.push(InputVersion {
            asset: r.string()?,
            partition: r.opt()?,
            data_version: r.string()?,
        });
    }
    let mut record = MaterializationRecord {
        asset,
        partition,
        run_id,
        code_version,
        data_version,
        inputs,
        uri: r.string()?,
        rows: r.uint()?,
        bytes: r.uint()?,
        started_at: r.string()?,
        finished_at: r.string()?,
        framework_version: r.string()?,
        config_hash: r.opt()?,
        git_commit: r.string()?,
        schema,
        tag: r.opt()?,
        promoted_from: None,
    };
    if format == FORMAT_PROMOTED {
        record.promoted_from = r.opt()?;
    }
    if r.at != bytes.len() {
        return Err(format!("{} bytes after the record", bytes.len() - r.at));
    }
    Ok(record)
}

fn put_uint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    put_uint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => {
            out.push(1);
            put_str(out, value);
        }
        None => out.push(0),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self.bytes.get(self.at).ok_or("the record is cut short")?;
        self.at += 1;
        Ok(byte)
    }

    fn uint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("an integer in the record is too long".into())
    }

    fn string(&mut self) -> Result<String, String> {
        let len = usize::try_from(self.uint()?).map_err(|_| "a string length overflows")?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("the record is cut short")?;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|e| format!("a string in the record is not UTF-8: {e}"))?;
        self.at = end;
        Ok(text.to_owned())
    }

    fn opt(&mut self) -> Result<Option<String>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            other => Err(format!("invalid option marker {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        let record = MaterializationRecord {
            asset: "a".into(),
            partition: Some("2024-01-01".into()),
            run_id: "r".into(),
            code_version: "c".into(),
            data_version: "d".into(),
            inputs: vec![
                InputVersion {
                    asset: "up".into(),
                    partition: None,
                    data_version: "é".repeat(100),
                },
                InputVersion {
                    asset: "up2".into(),
                    partition: Some(String::new()),
                    data_version: String::new(),
                },
            ],
            uri: "file:///x".into(),
            rows: u64::MAX,
            bytes: 300,
            started_at: "s".into(),
            finished_at: "f".into(),
            framework_version: "0.1.0".into(),
            config_hash: Some("h".into()),
            git_commit: "unknown".into(),
            schema: Some("x: Int64".into()),
            tag: None,
            promoted_from: None,
        };
        let bytes = encode(&record);
        assert_eq!(decode(&bytes, record.schema.clone()).unwrap(), record);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], None).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, None).is_err());
        assert!(decode(&[2], None).is_err());
        assert!(decode(&[3], None).is_err());
    }

    #[test]
    fn promoted_records_round_trip_and_others_keep_format_one() {
        let mut record = MaterializationRecord {
            asset: "a".into(),
            partition: None,
            run_id: "r".into(),
            code_version: "c".into(),
            data_version: "d".into(),
            inputs: Vec::new(),
            uri: "file:///x".into(),
            rows: 1,
            bytes: 2,
            started_at: "s".into(),
            finished_at: "f".into(),
            framework_version: "0.1.0".into(),
            config_hash: None,
            git_commit: "unknown".into(),
            schema: None,
            tag: None,
            promoted_from: None,
        };
        let plain = encode(&record);
        assert_eq!(plain[0], FORMAT);
        record.promoted_from = Some("backfill".into());
        let promoted = encode(&record);
        assert_eq!(promoted[0], FORMAT_PROMOTED);
        assert_eq!(decode(&promoted, None).unwrap(), record);
        // A promoted record cut before its last field is refused.
        assert!(decode(&promoted[..plain.len()], None).is_err());
    }
}
