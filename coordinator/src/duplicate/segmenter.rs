//! Cuts one region's DuplicateDetect stream into checkpointable segments.
//!
//! The stream sends keys in ascending order and every version of a key
//! together (newest first), but one key's versions may straddle two response
//! messages. So the versions of the latest key stay *pending* until a larger
//! key (or the end of the stream) proves them complete; segments end only at
//! key boundaries, and after a broken stream the scan resumes at the pending
//! key, which TiKV then reports again in full.

use super::pair::DupPair;

/// A finished piece `[start, end)` and the versions found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub pairs: Vec<DupPair>,
}

#[derive(Debug)]
pub struct Segmenter {
    start: Vec<u8>,
    done: Vec<DupPair>,
    done_bytes: usize,
    pending: Vec<DupPair>,
    /// Completed bytes at which a piece is cut (bounds checkpoint value size
    /// and the memory held per stream).
    limit: usize,
}

impl Segmenter {
    pub fn new(start: Vec<u8>, limit: usize) -> Self {
        Self {
            start,
            done: Vec::new(),
            done_bytes: 0,
            pending: Vec::new(),
            limit: limit.max(1),
        }
    }

    /// Adds one reported version. Returns a finished piece when a new key
    /// starts and the completed versions reached the size limit.
    pub fn push(&mut self, pair: DupPair) -> Result<Option<Piece>, String> {
        if pair.key.as_slice() < self.start.as_slice() {
            return Err(format!(
                "key {} is before the requested start {}",
                hex::encode(&pair.key),
                hex::encode(&self.start)
            ));
        }
        let same_key = match self.pending.first() {
            None => false,
            Some(p) if p.key == pair.key => true,
            Some(p) if p.key < pair.key => false,
            Some(p) => {
                return Err(format!(
                    "keys out of order: {} after {}",
                    hex::encode(&pair.key),
                    hex::encode(&p.key)
                ));
            }
        };
        if same_key {
            self.pending.push(pair);
            return Ok(None);
        }
        // The pending key is complete now.
        self.done_bytes += self.pending.iter().map(DupPair::size).sum::<usize>();
        self.done.append(&mut self.pending);
        let piece = (self.done_bytes >= self.limit).then(|| self.cut(pair.key.clone()));
        self.pending.push(pair);
        Ok(piece)
    }

    /// Where a new stream must start after this one broke: the pending key
    /// (its versions are dropped and will be reported again), or the start.
    pub fn resume_key(&self) -> Vec<u8> {
        self.pending
            .first()
            .map_or_else(|| self.start.clone(), |p| p.key.clone())
    }

    /// After a broken stream: the completed piece `[start, resume_key)`
    /// (`None` when it is empty) and the key to resume from.
    pub fn interrupt(&mut self) -> (Option<Piece>, Vec<u8>) {
        let resume = self.resume_key();
        self.pending.clear();
        let piece = (resume > self.start).then(|| self.cut(resume.clone()));
        (piece, resume)
    }

    /// The stream ended normally at `end`: everything left is one piece.
    pub fn finish(mut self, end: Vec<u8>) -> Piece {
        self.done.append(&mut self.pending);
        Piece {
            start: self.start,
            end,
            pairs: self.done,
        }
    }

    fn cut(&mut self, at: Vec<u8>) -> Piece {
        let start = std::mem::replace(&mut self.start, at.clone());
        self.done_bytes = 0;
        Piece {
            start,
            end: at,
            pairs: std::mem::take(&mut self.done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: &str, ts: u64) -> DupPair {
        DupPair {
            key: key.as_bytes().to_vec(),
            value: vec![0; 10],
            commit_ts: ts,
        }
    }

    #[test]
    fn cuts_only_between_keys() {
        let mut s = Segmenter::new(b"a".to_vec(), 50);
        assert_eq!(s.push(p("b", 9)).expect("ok"), None);
        assert_eq!(s.push(p("b", 8)).expect("ok"), None);
        // "b" is complete (2 x 19 bytes < 50): no cut yet.
        assert_eq!(s.push(p("c", 9)).expect("ok"), None);
        assert_eq!(s.push(p("c", 7)).expect("ok"), None);
        let piece = s
            .push(p("d", 9))
            .expect("ok")
            .expect("limit reached at a key boundary");
        assert_eq!(
            (piece.start.as_slice(), piece.end.as_slice()),
            (&b"a"[..], &b"d"[..])
        );
        assert_eq!(
            piece.pairs,
            vec![p("b", 9), p("b", 8), p("c", 9), p("c", 7)]
        );
        let last = s.finish(b"z".to_vec());
        assert_eq!(
            (last.start.as_slice(), last.end.as_slice(), last.pairs.len()),
            (&b"d"[..], &b"z"[..], 1)
        );
    }

    #[test]
    fn interruption_drops_the_pending_key_and_resumes_there() {
        let mut s = Segmenter::new(b"a".to_vec(), 1 << 20);
        assert_eq!(s.interrupt(), (None, b"a".to_vec()));
        s.push(p("b", 9)).expect("ok");
        s.push(p("b", 8)).expect("ok");
        s.push(p("c", 9)).expect("ok");
        let (piece, resume) = s.interrupt();
        let piece = piece.expect("b is complete");
        assert_eq!(
            (piece.start, piece.end, piece.pairs.len()),
            (b"a".to_vec(), b"c".to_vec(), 2)
        );
        assert_eq!(resume, b"c");
        // The resumed stream reports c again in full.
        s.push(p("c", 9)).expect("ok");
        s.push(p("c", 5)).expect("ok");
        let rest = s.finish(b"z".to_vec());
        assert_eq!(
            (rest.start, rest.pairs),
            (b"c".to_vec(), vec![p("c", 9), p("c", 5)])
        );
    }

    #[test]
    fn rejects_keys_out_of_order_or_range() {
        let mut s = Segmenter::new(b"m".to_vec(), 100);
        assert!(s.push(p("a", 1)).is_err());
        s.push(p("n", 2)).expect("ok");
        assert!(s.push(p("m", 2)).is_err());
    }
}
