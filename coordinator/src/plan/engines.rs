//! Grouping one table's chunks into engines: consecutive chunks, in the
//! table's file order, until an engine holds `batch-size` source bytes.
//! Equal-sized engines (not Lightning's geometric series, which overlaps
//! encoding with one serial import): here engines of a table are encoded
//! and ingested in parallel by different workers.

use squall_common::checkpoint::ChunkSpec;
use squall_worker::task::spec::chunk_source_bytes;

/// One engine of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEngine {
    pub engine_id: u32,
    pub chunks: Vec<ChunkSpec>,
    pub source_bytes: u64,
}

/// Groups `chunks` (in order) into engines of at most `batch_size` source
/// bytes each; a single chunk larger than that is an engine of its own.
pub fn group_into_engines(chunks: Vec<ChunkSpec>, batch_size: u64) -> Vec<PlannedEngine> {
    let mut engines: Vec<PlannedEngine> = Vec::new();
    for chunk in chunks {
        let size = chunk_source_bytes(&chunk);
        let start_new = match engines.last() {
            None => true,
            Some(e) => !e.chunks.is_empty() && e.source_bytes.saturating_add(size) > batch_size,
        };
        if start_new {
            let engine_id = engines.len() as u32;
            engines.push(PlannedEngine {
                engine_id,
                chunks: Vec::new(),
                source_bytes: 0,
            });
        }
        let engine = engines.last_mut().expect("an engine was just ensured");
        engine.source_bytes += size;
        engine.chunks.push(chunk);
    }
    engines
}

#[cfg(test)]
mod tests {
    use squall_common::checkpoint::SourceFileSpec;

    use super::*;

    fn chunk(ordinal: u32, size: u64) -> ChunkSpec {
        ChunkSpec {
            file: SourceFileSpec {
                path: format!("db.t.{ordinal}.csv"),
                format: "csv".into(),
                compression: "none".into(),
                size,
                sort_key: String::new(),
            },
            ordinal,
            file_index: ordinal,
            start: 0,
            end: size,
            start_line: None,
            est_rows: 1,
            row_id_base: 0,
            row_id_max: 1,
            columns: None,
            sql_in_values: false,
        }
    }

    #[test]
    fn groups_up_to_the_batch_size_in_order() {
        let chunks = vec![
            chunk(0, 40),
            chunk(1, 40),
            chunk(2, 40),
            chunk(3, 150),
            chunk(4, 10),
        ];
        let engines = group_into_engines(chunks, 100);
        let layout: Vec<(u32, Vec<u32>, u64)> = engines
            .iter()
            .map(|e| {
                (
                    e.engine_id,
                    e.chunks.iter().map(|c| c.ordinal).collect(),
                    e.source_bytes,
                )
            })
            .collect();
        assert_eq!(
            layout,
            vec![
                (0, vec![0, 1], 80),
                (1, vec![2], 40),
                (2, vec![3], 150),
                (3, vec![4], 10)
            ]
        );
    }

    #[test]
    fn empty_table_has_no_engines_and_grouping_is_deterministic() {
        assert!(group_into_engines(Vec::new(), 100).is_empty());
        let chunks: Vec<_> = (0..10).map(|i| chunk(i, 33)).collect();
        assert_eq!(
            group_into_engines(chunks.clone(), 100),
            group_into_engines(chunks, 100)
        );
    }
}
