//! Pure planning: where to split before the ranges are ingested. No I/O
//! here. (Which region takes which keys, and how to continue after a region
//! error, is the region walk's: `squall_client::RegionWalk`.)

use super::source::KeyRange;

/// The keys to split at so each range gets regions of its own: every range
/// start and every bounded range end, sorted and unique.
pub fn range_boundaries(ranges: &[KeyRange]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = ranges
        .iter()
        .flat_map(|(start, end)| [start.clone(), end.clone()])
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_sorted_unique_and_bounded() {
        let ranges = vec![
            (b"a".to_vec(), b"c".to_vec()),
            (b"c".to_vec(), b"f".to_vec()),
            (b"f".to_vec(), vec![]),
        ];
        assert_eq!(
            range_boundaries(&ranges),
            vec![b"a".to_vec(), b"c".to_vec(), b"f".to_vec()]
        );
    }
}
