//! A decoded row back to every KV it put into TiKV (record and index KVs),
//! with the same encoder the workers use, so resolution deletes exactly the
//! index entries a row wrote and re-puts a kept row byte for byte.
//!
//! A row read back from TiKV has no value for its VIRTUAL generated columns
//! (TiDB computes them on read), yet indexes on them (expression indexes
//! among them) hold the computed value: the deriver computes them again,
//! with the job's converter, as the worker did.

use std::collections::HashSet;

use squall_codec::{
    decode_handle_from_index_value, Converter, Datum, EncodedKv, Handle, TableEncoder,
};
use squall_common::schema::{HandleKind, TableInfo};
use squall_worker::task::columns::GeneratedColumns;

pub struct Deriver {
    encoder: TableEncoder,
    table_id: i64,
    row_id_handle: bool,
    unique: HashSet<i64>,
    virtuals: Virtuals,
}

/// The virtual generated columns of a table and how to compute them.
struct Virtuals {
    table: TableInfo,
    offsets: Vec<usize>,
    generated: GeneratedColumns,
    converter: Converter,
}

impl Virtuals {
    fn new(table: &TableInfo, converter: &Converter) -> Result<Self, String> {
        let offsets = table
            .columns
            .iter()
            .filter(|c| c.generated.is_some() && !c.generated_stored)
            .map(|c| c.offset)
            .collect();
        Ok(Self {
            table: table.clone(),
            offsets,
            generated: GeneratedColumns::new(table)?,
            converter: converter.clone(),
        })
    }

    /// Sets every virtual column of `row` to its computed value. Stored
    /// generated columns keep what TiKV holds.
    fn fill(&self, row: &mut [Datum]) -> Result<(), String> {
        if self.offsets.is_empty() {
            return Ok(());
        }
        let mut computed = row.to_vec();
        self.generated
            .fill(&self.table, &mut computed, &self.converter)?;
        for &off in &self.offsets {
            row[off] = std::mem::replace(&mut computed[off], Datum::Null);
        }
        Ok(())
    }
}

impl Deriver {
    pub fn new(table: &TableInfo, converter: &Converter) -> Result<Self, String> {
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
            virtuals: Virtuals::new(table, converter)?,
        })
    }

    /// The KVs of the row stored under `handle`: the record KV first.
    /// `datums` is the row as decoded; its virtual columns are filled in.
    pub fn derive(
        &mut self,
        handle: &Handle,
        datums: &mut [Datum],
    ) -> Result<Vec<EncodedKv>, String> {
        self.virtuals.fill(datums)?;
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

    fn converter() -> Converter {
        Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter")
    }

    #[test]
    fn derives_record_first_and_marks_unique_keys() {
        let table = sample_table(HandleKind::RowId);
        let mut d = Deriver::new(&table, &converter()).expect("valid");
        let mut row = vec![Datum::Int(1), Datum::Int(10), Datum::Bytes(b"a".to_vec())];
        let kvs = d.derive(&Handle::Int(5), &mut row).expect("derives");
        assert_eq!(kvs.len(), 4);
        assert_eq!(kvs[0].key, squall_codec::record_key(100, &Handle::Int(5)));
        let unique: Vec<bool> = kvs.iter().map(|kv| d.is_unique_key(kv)).collect();
        // record, PRIMARY (non-clustered), uk_u, k_v
        assert_eq!(unique, [true, true, true, false]);
        let mut with_null = vec![Datum::Int(2), Datum::Null, Datum::Null];
        let kvs = d.derive(&Handle::Int(6), &mut with_null).expect("derives");
        assert!(
            !d.is_unique_key(&kvs[2]),
            "a unique entry with NULL is not distinct"
        );
    }

    #[test]
    fn indexes_on_virtual_columns_hold_the_computed_value() {
        let db = squall_common::schema::DatabaseInfo {
            name: "d".into(),
            charset: None,
            collate: None,
        };
        let table = squall_source::schema_parse::parse_create_table(
            "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), \
             l VARCHAR(20) AS (LOWER(s)) VIRTUAL, KEY kl (l), KEY ke ((UPPER(s))))",
            "t-schema.sql",
            &db,
            "t",
        )
        .expect("schema parses")
        .info;
        let mut d = Deriver::new(&table, &converter()).expect("valid");
        // As decoded from TiKV: the virtual columns are not in the row.
        let mut row = vec![Datum::Null; table.columns.len()];
        row[0] = Datum::Int(7);
        row[1] = Datum::Bytes(b"MiXed".to_vec());
        let kvs = d.derive(&Handle::Int(7), &mut row).expect("derives");
        assert_eq!(row[2], Datum::Bytes(b"mixed".to_vec()));
        // What the worker writes for the same row, virtual columns computed.
        let mut want = Vec::new();
        let mut encoder = TableEncoder::new(&table).expect("valid");
        encoder.encode_row(&row, 0, &mut want).expect("encodes");
        assert_eq!(kvs.len(), 3, "record + two index entries");
        assert_eq!(kvs, want);
        let index_keys: Vec<_> = kvs[1..].iter().map(|kv| kv.key.clone()).collect();
        assert!(index_keys
            .iter()
            .any(|k| k.windows(5).any(|w| w == b"mixed")));
        assert!(index_keys
            .iter()
            .any(|k| k.windows(5).any(|w| w == b"MIXED")));
    }

    #[test]
    fn refuses_a_handle_that_does_not_match_the_row() {
        let table = sample_table(HandleKind::IntPk);
        let mut d = Deriver::new(&table, &converter()).expect("valid");
        let mut row = vec![Datum::Int(1), Datum::Int(10), Datum::Bytes(b"a".to_vec())];
        assert!(d.derive(&Handle::Int(1), &mut row).is_ok());
        assert!(d.derive(&Handle::Int(2), &mut row).is_err());
    }
}
