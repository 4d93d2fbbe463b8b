//! A decoded row back to every KV it put into TiKV (record and index KVs),
//! with the same encoder the workers use, so resolution deletes exactly the
//! index entries a row wrote and re-puts a kept row byte for byte.

use std::collections::HashSet;

use squall_codec::{decode_handle_from_index_value, Datum, EncodedKv, Handle, TableEncoder};
use squall_common::schema::{HandleKind, TableInfo};

pub struct Deriver {
    encoder: TableEncoder,
    table_id: i64,
    row_id_handle: bool,
    unique: HashSet<i64>,
}

impl Deriver {
    pub fn new(table: &TableInfo) -> Result<Self, String> {
        let encoder = TableEncoder::new(table).map_err(|e| e.to_string())?;
        let unique = table
            .indices
            .iter()
            .filter(|ix| ix.unique || ix.primary)
            .map(|ix| ix.id)
            .collect();
        Ok(Self {
            encoder,
            table_id: table.id,
            row_id_handle: table.handle == HandleKind::RowId,
            unique,
        })
    }

    /// The KVs of the row stored under `handle`: the record KV first.
    pub fn derive(&mut self, handle: &Handle, datums: &[Datum]) -> Result<Vec<EncodedKv>, String> {
        let row_id = match (self.row_id_handle, handle) {
            (true, Handle::Int(h)) => *h,
            (true, Handle::Common(_)) => {
                return Err("a table without a clustered key has a common handle".into())
            }
            (false, _) => 0,
        };
        let mut out = Vec::new();
        self.encoder
            .encode_row(datums, row_id, &mut out)
            .map_err(|e| e.to_string())?;
        let expected = squall_codec::record_key(self.table_id, handle);
        match out.first() {
            Some(kv) if kv.key == expected && kv.index_id.is_none() => Ok(out),
            Some(kv) => Err(format!(
                "re-encoding gives record key {} instead of {}",
                hex::encode(&kv.key),
                hex::encode(&expected)
            )),
            None => Err("re-encoding gives no record KV".into()),
        }
    }

    /// Keys at most one row may own: the record key and the entries of
    /// unique indexes that hold a handle in the value (a unique index entry
    /// with a NULL is not distinct and keeps the handle in its key).
    pub fn is_unique_key(&self, kv: &EncodedKv) -> bool {
        match kv.index_id {
            None => true,
            Some(id) => {
                self.unique.contains(&id) && decode_handle_from_index_value(&kv.value).is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use squall_common::schema::HandleKind;

    use super::*;
    use crate::duplicate::target::tests::sample_table;

    #[test]
    fn derives_record_first_and_marks_unique_keys() {
        let table = sample_table(HandleKind::RowId);
        let mut d = Deriver::new(&table).expect("valid");
        let row = vec![Datum::Int(1), Datum::Int(10), Datum::Bytes(b"a".to_vec())];
        let kvs = d.derive(&Handle::Int(5), &row).expect("derives");
        assert_eq!(kvs.len(), 4);
        assert_eq!(kvs[0].key, squall_codec::record_key(100, &Handle::Int(5)));
        let unique: Vec<bool> = kvs.iter().map(|kv| d.is_unique_key(kv)).collect();
        // record, PRIMARY (non-clustered), uk_u, k_v
        assert_eq!(unique, [true, true, true, false]);
        let with_null = vec![Datum::Int(2), Datum::Null, Datum::Null];
        let kvs = d.derive(&Handle::Int(6), &with_null).expect("derives");
        assert!(
            !d.is_unique_key(&kvs[2]),
            "a unique entry with NULL is not distinct"
        );
    }

    #[test]
    fn refuses_a_handle_that_does_not_match_the_row() {
        let table = sample_table(HandleKind::IntPk);
        let mut d = Deriver::new(&table).expect("valid");
        let row = vec![Datum::Int(1), Datum::Int(10), Datum::Bytes(b"a".to_vec())];
        assert!(d.derive(&Handle::Int(1), &row).is_ok());
        assert!(d.derive(&Handle::Int(2), &row).is_err());
    }
}
