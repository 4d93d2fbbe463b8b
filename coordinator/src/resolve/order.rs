//! Source order of rows, for `replace` ("the row from the latest source
//! position wins", as if the dump were replayed with REPLACE INTO).
//!
//! The order is taken from the plan, not from commit timestamps: an engine's
//! place is the position of its first chunk in the table's chunk list, and
//! rows inside one engine are ordered by row tag. Commit timestamps follow
//! the order in which engines were planned, which need not be source order,
//! so they only break ties for versions no engine of the plan claims. Rows
//! that were in the table before the import come first.

use std::collections::HashMap;

use crate::duplicate::context::EngineSource;

use super::rows::Origin;

/// A sortable source position: class (0 = earlier data, 1 = this job),
/// engine rank, commit ts, row tag (`None`, an engine's only copy of the
/// key, is its first copy and sorts before every recorded tag).
pub type SourceKey = (u8, u64, u64, Option<u64>);

#[derive(Debug, Clone, Default)]
pub struct SourceOrder {
    by_ts: HashMap<u64, (u64, u32)>,
}

impl SourceOrder {
    pub fn new(engines: &[EngineSource]) -> Self {
        let mut ranked: Vec<&EngineSource> = engines.iter().collect();
        ranked.sort_by_key(|e| (e.first_chunk_ordinal(), e.engine_id));
        let by_ts = ranked
            .iter()
            .enumerate()
            .map(|(rank, e)| (e.commit_ts, (rank as u64, e.engine_id)))
            .collect();
        Self { by_ts }
    }

    /// The position of a row of `origin` whose tag in its engine is
    /// `row_tag` (when known).
    pub fn key(&self, origin: &Origin, row_tag: Option<u64>) -> SourceKey {
        match origin {
            Origin::Preexisting { commit_ts } => (0, 0, *commit_ts, None),
            Origin::Imported {
                commit_ts,
                row_tag: own,
            } => {
                let rank = self
                    .by_ts
                    .get(commit_ts)
                    .map_or(u64::MAX, |(rank, _)| *rank);
                (1, rank, *commit_ts, own.or(row_tag))
            }
        }
    }

    /// The engine that ingested at `commit_ts`, if the plan has it.
    pub fn engine_id(&self, commit_ts: u64) -> Option<u32> {
        self.by_ts.get(&commit_ts).map(|(_, id)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(engine_id: u32, commit_ts: u64, first_chunk: u32) -> EngineSource {
        EngineSource::for_test(engine_id, commit_ts, first_chunk)
    }

    #[test]
    fn chunk_position_not_timestamp_decides() {
        // Engine 1 holds the later chunks but got the smaller commit ts.
        let order = SourceOrder::new(&[engine(0, 200, 0), engine(1, 100, 5)]);
        let early = Origin::Imported {
            commit_ts: 200,
            row_tag: Some(9),
        };
        let late = Origin::Imported {
            commit_ts: 100,
            row_tag: None,
        };
        assert!(order.key(&early, None) < order.key(&late, None));
        let before = Origin::Preexisting { commit_ts: 50 };
        assert!(order.key(&before, None) < order.key(&early, None));
        let first = Origin::Imported {
            commit_ts: 200,
            row_tag: None,
        };
        assert!(order.key(&first, None) < order.key(&early, None));
        assert!(
            order.key(&first, Some(10)) > order.key(&early, None),
            "a learned tag places the row"
        );
        assert_eq!(order.engine_id(100), Some(1));
        assert_eq!(order.engine_id(7), None);
        let unknown = Origin::Imported {
            commit_ts: 7,
            row_tag: None,
        };
        assert!(order.key(&unknown, None) > order.key(&late, None));
    }
}
