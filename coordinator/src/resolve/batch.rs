//! The paged part of a resolution: one batch of a [`Grouping`] at a time,
//! decoded into a small [`Analysis`] and run through the same functions the
//! whole-table plan uses (`decide`, `write_set`, `adjustment`,
//! `report_lines`). Only that batch's decoded rows, KVs, writes and report
//! lines are in memory (`conflict.resolve-batch-rows` rows).
//!
//! Why a batch gives the whole table's answer: the rows of one connected set
//! (see [`Grouping::batches`]) are decided only against each other, in the
//! same relative order, and different sets write disjoint keys (a
//! non-unique index key ends with the handle, so two rows writing it share a
//! record key and a set), so the write sets are disjoint and the checksum
//! adjustments (XOR and sums) add up. Report lines are paged by groups in key
//! order instead, each group's rows in row order: the same lines in the same
//! order as one pass over all groups.

use squall_common::schema::TableInfo;

use super::analyze::{decode_one, Analysis, ConflictGroup};
use super::checksum::{adjustment_with, ChecksumAdjustment, LocalIndex};
use super::decide::{decide, Fate};
use super::derive::Deriver;
use super::group::Grouping;
use super::order::SourceOrder;
use super::writeset::{counts, write_set, WriteSet};
use crate::conflict_report::lines::{report_lines, ReportLine};
use crate::duplicate::context::EngineSource;
use crate::duplicate::error::DuplicateError;
use crate::duplicate::strategy::ConflictStrategy;

/// Decodes chosen rows of a grouping.
pub struct Pager<'a> {
    table: &'a TableInfo,
    deriver: Deriver,
    grouping: &'a Grouping,
}

/// What deciding every batch found: one fate per row, the write counts and
/// the checksum adjustment of the whole table.
#[derive(Debug, Clone, Default)]
pub struct Decided {
    pub fates: Vec<Fate>,
    pub put_kvs: u64,
    pub deleted_kvs: u64,
    pub adjustment: ChecksumAdjustment,
}

impl<'a> Pager<'a> {
    pub fn new(
        table: &'a TableInfo,
        converter: &squall_codec::Converter,
        grouping: &'a Grouping,
    ) -> Result<Self, DuplicateError> {
        let deriver = Deriver::new(table, converter)
            .map_err(|e| DuplicateError::inconsistent(&table.qualified_name(), e))?;
        Ok(Self {
            table,
            deriver,
            grouping,
        })
    }

    /// The rows `ids` (ascending row numbers) decoded, with no groups.
    fn decode(&mut self, ids: &[usize]) -> Result<Analysis, DuplicateError> {
        let mut rows = Vec::with_capacity(ids.len());
        for &i in ids {
            let (id, value) = &self.grouping.rows[i];
            rows.push(decode_one(
                &mut self.deriver,
                self.table,
                id.clone(),
                value.clone(),
            )?);
        }
        Ok(Analysis {
            rows,
            groups: Vec::new(),
        })
    }

    /// Decides every batch; sums its writes and checksum changes.
    pub fn decide_all(
        &mut self,
        strategy: ConflictStrategy,
        order: &SourceOrder,
        copies: &LocalIndex<'_>,
    ) -> Result<Decided, DuplicateError> {
        let grouping = self.grouping;
        let mut out = Decided {
            fates: vec![Fate::Unchanged; grouping.rows.len()],
            ..Decided::default()
        };
        for batch in &grouping.batches {
            let sub = self.decode(batch)?;
            let fates = decide(&sub, strategy, order);
            let writes = if strategy.writes() {
                write_set(&sub, &fates)
            } else {
                WriteSet::new()
            };
            out.adjustment
                .merge(&adjustment_with(&sub, &fates, &writes, copies));
            let (puts, deletes) = counts(&writes);
            out.put_kvs += puts;
            out.deleted_kvs += deletes;
            for (&i, fate) in batch.iter().zip(fates) {
                out.fates[i] = fate;
            }
        }
        Ok(out)
    }

    /// The mutations of batch `b` under the decided `fates`.
    pub fn writes(&mut self, b: usize, fates: &[Fate]) -> Result<WriteSet, DuplicateError> {
        let batch = &self.grouping.batches[b];
        let sub = self.decode(batch)?;
        let sub_fates: Vec<Fate> = batch.iter().map(|&i| fates[i]).collect();
        Ok(write_set(&sub, &sub_fates))
    }

    /// The report lines, groups in key order, about `batch_rows` row
    /// references at a time: `emit` receives each page in turn.
    pub fn report(
        &mut self,
        engines: &[EngineSource],
        fates: &[Fate],
        order: &SourceOrder,
        batch_rows: usize,
        mut emit: impl FnMut(&[ReportLine]) -> Result<(), DuplicateError>,
    ) -> Result<(), DuplicateError> {
        let groups = &self.grouping.groups;
        let mut start = 0;
        while start < groups.len() {
            let mut end = start;
            let mut refs = 0;
            while end < groups.len() && (refs == 0 || refs < batch_rows.max(1)) {
                refs += groups[end].rows.len();
                end += 1;
            }
            let page = &groups[start..end];
            let mut ids: Vec<usize> = page.iter().flat_map(|g| g.rows.iter().copied()).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut sub = self.decode(&ids)?;
            let local = |i: usize| ids.binary_search(&i).unwrap_or_else(|_| unreachable!());
            sub.groups = page
                .iter()
                .map(|g| ConflictGroup {
                    key: g.key.clone(),
                    index_id: g.index_id,
                    rows: g.rows.iter().map(|&i| local(i)).collect(),
                })
                .collect();
            let sub_fates: Vec<Fate> = ids.iter().map(|&i| fates[i]).collect();
            emit(&report_lines(self.table, engines, &sub, &sub_fates, order))?;
            start = end;
        }
        Ok(())
    }
}
