//! Cutting a record range at PD's region boundaries into backfill ranges.
//!
//! A region boundary inside a record range is any byte string (a split key
//! TiKV chose, or an index key when regions straddle tables): it is used as
//! a raw key boundary, clamped to the record range, and never decoded as a
//! handle (the seed's `DecodeRowKey` of region bounds failed on such keys).

use squall_client::PdClient;

use crate::error::CoordinatorError;

/// Regions fetched per PD `ScanRegions` call.
const SCAN_PAGE: i32 = 128;

/// `[start, end)` cut at every region boundary strictly inside it, in key
/// order, together covering exactly `[start, end)`.
pub async fn cut_at_regions(
    pd: &PdClient,
    start: &[u8],
    end: &[u8],
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, CoordinatorError> {
    let regions = pd.scan_regions(start, end, SCAN_PAGE).await?;
    let bounds = regions.iter().map(|r| r.end.clone()).collect::<Vec<_>>();
    Ok(cut(start, end, &bounds))
}

/// `[start, end)` cut at the `bounds` strictly inside it (`end` non-empty).
pub fn cut(start: &[u8], end: &[u8], bounds: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut inner: Vec<&Vec<u8>> = bounds
        .iter()
        .filter(|b| !b.is_empty() && b.as_slice() > start && b.as_slice() < end)
        .collect();
    inner.sort();
    inner.dedup();
    let mut out = Vec::with_capacity(inner.len() + 1);
    let mut from = start.to_vec();
    for b in inner {
        out.push((std::mem::replace(&mut from, b.clone()), b.clone()));
    }
    out.push((from, end.to_vec()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_outside_or_on_the_edges_are_ignored_and_any_bytes_are_fine() {
        let v = |s: &str| s.as_bytes().to_vec();
        // "t1_i\xff" is not a row key: it is only a byte boundary.
        let got = cut(
            b"b",
            b"m",
            &[
                v("a"),
                v("b"),
                v(""),
                v("f"),
                b"d\xff\x00".to_vec(),
                v("m"),
                v("z"),
                v("f"),
            ],
        );
        assert_eq!(
            got,
            vec![
                (v("b"), b"d\xff\x00".to_vec()),
                (b"d\xff\x00".to_vec(), v("f")),
                (v("f"), v("m")),
            ]
        );
        assert_eq!(cut(b"b", b"m", &[]), vec![(v("b"), v("m"))]);
    }
}
