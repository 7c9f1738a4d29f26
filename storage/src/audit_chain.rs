//! The audit hash chain: how a record is hashed and how a chain is verified.
//!
//! `hash = SHA-256(prev_hash ‖ encoding)`, where the encoding is a domain tag followed by the
//! record's fields in a fixed order, integers big-endian and strings length-prefixed, with
//! JSON in canonical form (object keys sorted, no whitespace). Changing any field of any
//! record, or removing one, breaks the chain at a point [`verify`] names. Pure functions: the
//! backends call [`seal`] when appending, and anyone can verify what they read back.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::{AuditEntry, AuditRecord, ChainHead};

const DOMAIN: &[u8] = b"portcullis-audit-v1\0";

/// Why the chain is broken at `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakReason {
    /// The record's content does not match the hash the chain holds for it.
    Altered,
    /// The record is gone.
    Missing,
}

/// The first point where a chain fails to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at record {seq}: {reason:?}")]
pub struct ChainBreak {
    pub seq: u64,
    pub reason: BreakReason,
}

/// `value` as canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn optional(h: &mut Sha256, text: Option<&str>) {
    match text {
        None => h.update([0u8]),
        Some(t) => {
            h.update([1u8]);
            field(h, t.as_bytes());
        }
    }
}

/// The hash of `record`'s content chained to its `prev_hash` (ignores `record.hash`).
pub fn record_hash(record: &AuditRecord) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(record.prev_hash);
    h.update(DOMAIN);
    h.update(record.seq.to_be_bytes());
    h.update(record.time_ms.to_be_bytes());
    field(&mut h, record.actor.as_bytes());
    field(&mut h, record.action.as_bytes());
    field(&mut h, record.target.as_bytes());
    optional(&mut h, record.before.as_deref());
    optional(&mut h, record.after.as_deref());
    h.finalize().into()
}

/// Turns `entry` into the record that follows `head` (`None` for the first record).
pub fn seal(entry: AuditEntry, head: Option<ChainHead>) -> AuditRecord {
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash),
        None => (1, [0; 32]),
    };
    let mut record = AuditRecord {
        seq,
        time_ms: entry.time_ms,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        before: entry.before.as_ref().map(canonical_json),
        after: entry.after.as_ref().map(canonical_json),
        prev_hash,
        hash: [0; 32],
    };
    record.hash = record_hash(&record);
    record
}

/// Checks a chain read in order, one page at a time, from record 1.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: u64,
    prev_hash: [u8; 32],
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: [0; 32],
        }
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next record.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let brk = |seq, reason| Err(ChainBreak { seq, reason });
        if record.seq > self.next_seq {
            return brk(self.next_seq, BreakReason::Missing);
        }
        if record.seq < self.next_seq || record_hash(record) != record.hash {
            return brk(record.seq, BreakReason::Altered);
        }
        if record.prev_hash != self.prev_hash {
            // The record before no longer hashes to what this one committed to: it was
            // rewritten (and rehashed). For record 1, its own link was rewritten.
            return brk(record.seq.saturating_sub(1).max(1), BreakReason::Altered);
        }
        self.next_seq += 1;
        self.prev_hash = record.hash;
        Ok(())
    }

    /// After the last record: checks it against the stored head, if the log keeps one.
    pub fn finish(self, head: Option<&ChainHead>) -> Result<(), ChainBreak> {
        let last = self.next_seq - 1;
        match head {
            None => Ok(()),
            Some(h) if h.seq > last => Err(ChainBreak {
                seq: last + 1,
                reason: BreakReason::Missing,
            }),
            Some(h) if h.seq < last => Err(ChainBreak {
                seq: h.seq + 1,
                reason: BreakReason::Altered,
            }),
            Some(h) if h.hash != self.prev_hash => Err(ChainBreak {
                seq: last,
                reason: BreakReason::Altered,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Verifies a whole chain, from record 1, in order. Without a head, the removal of the
/// newest records cannot be seen; use [`verify_with_head`] where the log keeps one.
pub fn verify(records: &[AuditRecord]) -> Result<(), ChainBreak> {
    verify_with_head(records, None)
}

/// Verifies a whole chain and that it ends at `head`.
pub fn verify_with_head(
    records: &[AuditRecord],
    head: Option<&ChainHead>,
) -> Result<(), ChainBreak> {
    let mut verifier = ChainVerifier::new();
    for record in records {
        verifier.push(record)?;
    }
    verifier.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(n: u64) -> AuditEntry {
        AuditEntry {
            time_ms: 1_000 + n as i64,
            actor: "admin".into(),
            action: "key.update".into(),
            target: format!("key:k{n}"),
            before: Some(json!({"z": 1, "a": [true, null, "x"]})),
            after: n.is_multiple_of(2).then(|| json!({"n": n})),
        }
    }

    fn chain(len: u64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for n in 1..=len {
            let head = records.last().map(|r| ChainHead {
                seq: r.seq,
                hash: r.hash,
            });
            records.push(seal(entry(n), head));
        }
        records
    }

    fn head_of(records: &[AuditRecord]) -> ChainHead {
        let last = records.last().unwrap();
        ChainHead {
            seq: last.seq,
            hash: last.hash,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": {"y": 1, "x": [{"d": 0, "c": 1}]}, "a": "é\n"});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"é\n","b":{"x":[{"c":1,"d":0}],"y":1}}"#
        );
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let records = chain(5);
        assert_eq!(records[0].prev_hash, [0; 32]);
        assert_eq!(records[3].prev_hash, records[2].hash);
        assert_eq!(verify(&records), Ok(()));
        assert_eq!(verify_with_head(&records, Some(&head_of(&records))), Ok(()));
        assert_eq!(verify(&[]), Ok(()));
    }

    #[test]
    fn an_edited_field_is_named() {
        for edit in [
            (|r: &mut AuditRecord| r.actor.push('!')) as fn(&mut AuditRecord),
            |r| r.time_ms += 1,
            |r| r.after = Some("1".into()),
            |r| r.before = Some("{}".into()),
            |r| r.hash[0] ^= 1,
        ] {
            let mut records = chain(5);
            edit(&mut records[2]);
            assert_eq!(
                verify(&records),
                Err(ChainBreak {
                    seq: 3,
                    reason: BreakReason::Altered
                })
            );
        }
    }

    #[test]
    fn a_rewritten_and_rehashed_record_is_named_by_the_next_link() {
        let mut records = chain(5);
        records[1].target = "key:someone-else".into();
        records[1].hash = record_hash(&records[1]);
        assert_eq!(
            verify(&records),
            Err(ChainBreak {
                seq: 2,
                reason: BreakReason::Altered
            })
        );
    }

    #[test]
    fn a_removed_record_is_named_missing() {
        let mut records = chain(5);
        records.remove(2);
        assert_eq!(
            verify(&records),
            Err(ChainBreak {
                seq: 3,
                reason: BreakReason::Missing
            })
        );
        let mut records = chain(5);
        records.remove(0);
        assert_eq!(
            verify(&records),
            Err(ChainBreak {
                seq: 1,
                reason: BreakReason::Missing
            })
        );
    }

    #[test]
    fn removing_the_newest_records_shows_only_against_the_head() {
        let mut records = chain(5);
        let head = head_of(&records);
        records.truncate(3);
        assert_eq!(verify(&records), Ok(()));
        assert_eq!(
            verify_with_head(&records, Some(&head)),
            Err(ChainBreak {
                seq: 4,
                reason: BreakReason::Missing
            })
        );
    }
}
