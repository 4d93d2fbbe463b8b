//! TiKV's MVCC garbage collection below a safepoint (`txn::gc`, as its GC
//! worker and compaction filter apply it): for each key, versions newer than
//! the safepoint stay; of the others, the newest Put stays and everything
//! older goes; a newest Delete goes together with everything older; Lock and
//! Rollback records at or below the safepoint go. A Put whose value lives in
//! the `default` CF takes that value with it.
//!
//! Reads at or above the safepoint see exactly what they saw before; reads
//! below it (and DuplicateDetect, which lists every version) do not.

use rocksdb::WriteBatch;

use crate::error::SimError;
use crate::keys;
use crate::mvcc::{MvccReader, WriteKind, WriteRecord};
use crate::storage::{Storage, CF_DEFAULT, CF_WRITE};

/// Deletes per RocksDB write batch.
const BATCH: usize = 4096;

/// What one collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Collected {
    /// Versions (write records) looked at.
    pub scanned: u64,
    /// Write records deleted.
    pub removed: u64,
    /// Values deleted from the `default` CF with their Put.
    pub removed_values: u64,
}

/// Collects every version the safepoint makes garbage, over the whole key
/// space, from one snapshot: a version written after it is never touched.
pub fn collect(storage: &Storage, safe_point: u64) -> Result<Collected, SimError> {
    let reader = MvccReader::new(storage);
    let mut it = reader.write_iter(vec![keys::DATA_PREFIX], Some(vec![keys::DATA_PREFIX + 1]));
    it.seek_to_first();
    let mut out = Collected::default();
    let mut batch = WriteBatch::default();
    // The key whose versions are being walked, and whether its versions at
    // or below the safepoint are all garbage now (an older Put was kept).
    let mut current: Option<Vec<u8>> = None;
    let mut remove_older = false;
    while let (Some(key), Some(value)) = (it.key(), it.value()) {
        out.scanned += 1;
        let (enc, commit_ts) = keys::split_data_key(key)?;
        if current.as_deref() != Some(enc) {
            current = Some(enc.to_vec());
            remove_older = false;
        }
        if commit_ts <= safe_point {
            let record = WriteRecord::parse(value).map_err(crate::mvcc::MvccError::from)?;
            let remove = if remove_older {
                true
            } else {
                match record.kind {
                    // The newest Put at or below the safepoint is what a read
                    // at the safepoint sees: keep it, drop what is older.
                    WriteKind::Put => {
                        remove_older = true;
                        false
                    }
                    // A Delete hides everything older; it goes too.
                    WriteKind::Delete => {
                        remove_older = true;
                        true
                    }
                    WriteKind::Lock | WriteKind::Rollback => true,
                }
            };
            if remove {
                batch.delete_cf(storage.cf(CF_WRITE), key);
                out.removed += 1;
                if record.kind == WriteKind::Put && record.short_value.is_none() {
                    batch.delete_cf(storage.cf(CF_DEFAULT), keys::data_key(enc, record.start_ts));
                    out.removed_values += 1;
                }
                if batch.len() >= BATCH {
                    flush(storage, &mut batch)?;
                }
            }
        }
        it.next();
    }
    it.status().map_err(|source| SimError::Db {
        op: "scanning versions for GC",
        source,
    })?;
    flush(storage, &mut batch)?;
    Ok(out)
}

fn flush(storage: &Storage, batch: &mut WriteBatch) -> Result<(), SimError> {
    if batch.is_empty() {
        return Ok(());
    }
    let full = std::mem::take(batch);
    storage.db().write(full).map_err(|source| SimError::Db {
        op: "deleting collected versions",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::KeyRange;

    fn put(storage: &Storage, raw: &[u8], commit_ts: u64, kind: WriteKind, value: &[u8]) {
        let enc = keys::encode_bytes(raw);
        let record = WriteRecord::for_import(kind, commit_ts - 1, value);
        if kind == WriteKind::Put && record.short_value.is_none() {
            storage
                .db()
                .put_cf(
                    storage.cf(CF_DEFAULT),
                    keys::data_key(&enc, commit_ts - 1),
                    value,
                )
                .expect("put default");
        }
        storage
            .db()
            .put_cf(
                storage.cf(CF_WRITE),
                keys::data_key(&enc, commit_ts),
                record.to_bytes(),
            )
            .expect("put write");
    }

    fn versions(storage: &Storage, raw: &[u8]) -> Vec<(u64, WriteKind)> {
        let mut end = raw.to_vec();
        end.push(0);
        let range = KeyRange {
            lower: keys::encode_bytes(raw),
            upper: Some(keys::encode_bytes(&end)),
        };
        MvccReader::new(storage)
            .versions(&range)
            .expect("versions")
            .into_iter()
            .map(|v| (v.commit_ts, v.kind))
            .collect()
    }

    #[test]
    fn keeps_what_a_read_at_the_safe_point_sees_and_newer_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let long = vec![7u8; 300];
        // a: three Puts (the oldest with a long value), one above the safepoint.
        put(&storage, b"a", 10, WriteKind::Put, &long);
        put(&storage, b"a", 20, WriteKind::Put, b"a20");
        put(&storage, b"a", 40, WriteKind::Put, b"a40");
        // b: a Put then a Delete, both below: the key disappears.
        put(&storage, b"b", 10, WriteKind::Put, b"b10");
        put(&storage, b"b", 20, WriteKind::Delete, b"");
        // c: a Rollback above a Put: the rollback goes, the Put stays.
        put(&storage, b"c", 10, WriteKind::Put, b"c10");
        put(&storage, b"c", 25, WriteKind::Rollback, b"");
        // d: only versions above the safepoint.
        put(&storage, b"d", 50, WriteKind::Put, b"d50");
        put(&storage, b"d", 60, WriteKind::Put, b"d60");

        let before = MvccReader::new(&storage).get(&keys::encode_bytes(b"a"), 30);
        let got = collect(&storage, 30).expect("gc");
        assert_eq!(got.removed, 1 + 2 + 1);
        assert_eq!(got.removed_values, 1);
        assert_eq!(
            versions(&storage, b"a"),
            [(40, WriteKind::Put), (20, WriteKind::Put)]
        );
        assert!(versions(&storage, b"b").is_empty());
        assert_eq!(versions(&storage, b"c"), [(10, WriteKind::Put)]);
        assert_eq!(versions(&storage, b"d").len(), 2);
        let after = MvccReader::new(&storage).get(&keys::encode_bytes(b"a"), 30);
        assert_eq!(before.expect("read"), after.expect("read"));
        // The long value's default-CF entry went with its Put.
        let default_key = keys::data_key(&keys::encode_bytes(b"a"), 9);
        assert!(storage
            .db()
            .get_cf(storage.cf(CF_DEFAULT), default_key)
            .expect("get")
            .is_none());
        // A second pass finds nothing more.
        assert_eq!(collect(&storage, 30).expect("gc").removed, 0);
    }
}
