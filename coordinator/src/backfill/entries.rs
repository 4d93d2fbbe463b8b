//! One stored row back to the index entries it should have: decode the
//! record KV with the codec, then [`Deriver`] (the conflict resolution's
//! re-encoder, which also computes VIRTUAL generated columns) gives every KV
//! the import's encoder writes for that row; only the wanted indexes' are
//! kept. Being the import's own encoder is what makes a backfilled index
//! byte for byte the one a `with-data` import writes.

use std::collections::HashSet;

use squall_codec::key::decode_record_key;
use squall_codec::{decode_row_v2_with_handle, Converter, Datum, EncodedKv, Handle};
use squall_common::schema::TableInfo;

use super::target::IndexTarget;
use crate::error::CoordinatorError;
use crate::resolve::derive::Deriver;

pub struct RowEntries {
    table: TableInfo,
    deriver: Deriver,
    wanted: HashSet<i64>,
}

impl RowEntries {
    /// For the rows of physical table `physical_id` of `target`.
    pub fn new(
        target: &IndexTarget,
        physical_id: i64,
        converter: &Converter,
    ) -> Result<Self, CoordinatorError> {
        let table = target.physical(physical_id);
        let deriver =
            Deriver::new(&table, converter).map_err(|reason| CoordinatorError::Schema {
                table: table.qualified_name(),
                reason: format!("cannot re-encode its rows: {reason}"),
            })?;
        Ok(Self {
            deriver,
            wanted: target.indexes.iter().map(|ix| ix.id).collect(),
            table,
        })
    }

    /// The row stored as `key`/`value`, its columns in table order, virtual
    /// ones computed (a conflicting row, to show it).
    pub fn row(&mut self, key: &[u8], value: &[u8]) -> Result<Vec<Datum>, CoordinatorError> {
        Ok(self.decode(key, value)?.2)
    }

    /// The handle of the row stored as `key`/`value` and its entries in the
    /// wanted indexes, in index order.
    pub fn entries(
        &mut self,
        key: &[u8],
        value: &[u8],
    ) -> Result<(Handle, Vec<EncodedKv>), CoordinatorError> {
        let (handle, kvs, _) = self.decode(key, value)?;
        let kept = kvs
            .into_iter()
            .filter(|kv| kv.index_id.is_some_and(|id| self.wanted.contains(&id)))
            .collect();
        Ok((handle, kept))
    }

    /// The handle, every KV the encoder derives, and the datums.
    fn decode(
        &mut self,
        key: &[u8],
        value: &[u8],
    ) -> Result<(Handle, Vec<EncodedKv>, Vec<Datum>), CoordinatorError> {
        let bad = |handle: Option<&Handle>, reason: String| CoordinatorError::Invalid {
            what: "index entries",
            reason: format!(
                "table {} (physical id {}), row key {}{}: {reason}; the row as stored cannot be \
                 re-encoded (is the schema the one it was imported with?)",
                self.table.qualified_name(),
                self.table.id,
                hex::encode(key),
                handle.map(|h| format!(" (handle {h})")).unwrap_or_default(),
            ),
        };
        let (_, handle) = decode_record_key(key).map_err(|e| bad(None, e.to_string()))?;
        let mut datums = decode_row_v2_with_handle(value, &self.table, Some(&handle))
            .map_err(|e| bad(Some(&handle), e.to_string()))?;
        let kvs = self
            .deriver
            .derive(&handle, &mut datums)
            .map_err(|e| bad(Some(&handle), e))?;
        Ok((handle, kvs, datums))
    }
}
