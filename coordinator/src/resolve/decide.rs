//! What happens to each conflicting row under the chosen strategy.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::analyze::Analysis;
use super::order::SourceOrder;
use crate::duplicate::strategy::ConflictStrategy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Left as it is in TiKV (`error`, `record`).
    Unchanged,
    /// Survives resolution: its KVs are written again at the resolution ts.
    Kept,
    /// Deleted with every index entry it wrote.
    Removed,
}

impl Fate {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Kept => "kept",
            Self::Removed => "removed",
        }
    }
}

/// One fate per row of `analysis`.
pub fn decide(analysis: &Analysis, strategy: ConflictStrategy, order: &SourceOrder) -> Vec<Fate> {
    match strategy {
        ConflictStrategy::Error | ConflictStrategy::Record => {
            vec![Fate::Unchanged; analysis.rows.len()]
        }
        ConflictStrategy::Remove => vec![Fate::Removed; analysis.rows.len()],
        ConflictStrategy::Replace => replay(analysis, order),
    }
}

/// Replays the conflicting rows in source order as REPLACE INTO would: each
/// row deletes the live rows that hold any of its unique keys. A row that was
/// replaced frees all of its keys, so a later row that only shared a key with
/// it replaces nothing (keeping a whole chain's last row would be wrong).
fn replay(analysis: &Analysis, order: &SourceOrder) -> Vec<Fate> {
    let rows = &analysis.rows;
    let mut sequence: Vec<usize> = (0..rows.len()).collect();
    let key = |i: usize| order.key(&rows[i].id.origin, rows[i].value.row_tag);
    sequence.sort_by(|&a, &b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| rows[a].id.cmp(&rows[b].id))
    });
    let mut alive = vec![true; rows.len()];
    let mut owner: HashMap<&[u8], usize> = HashMap::new();
    for &i in &sequence {
        for (kv, unique) in rows[i].kvs.iter().zip(&rows[i].unique) {
            if !unique {
                continue;
            }
            if let Some(&j) = owner.get(kv.key.as_slice()) {
                if j != i {
                    alive[j] = false;
                }
            }
            owner.insert(kv.key.as_slice(), i);
        }
    }
    alive
        .into_iter()
        .map(|a| if a { Fate::Kept } else { Fate::Removed })
        .collect()
}
