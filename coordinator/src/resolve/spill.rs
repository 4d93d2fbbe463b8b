//! The files a sharded resolution spills to, in one directory per table
//! (`<spill_dir>/t<table id>`): each shard's inputs, each shard's report
//! groups, and the write set. The directory is a cache: rebuilt from the
//! checkpointed detection results on every run (a stale one is removed
//! first) and removed when the table's resolution is dropped.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::shard::Input;
use super::writeset::{Mutation, WriteSet};
use crate::duplicate::error::DuplicateError;

/// A table's spill directory; removed on drop.
#[derive(Debug)]
pub struct SpillDir {
    path: PathBuf,
}

fn err(path: &Path, reason: impl std::fmt::Display) -> DuplicateError {
    DuplicateError::Spill {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl SpillDir {
    /// An empty directory at `path` (what a crashed run left is removed).
    pub fn create(path: PathBuf) -> Result<Self, DuplicateError> {
        match fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&path, format!("removing a stale spill: {e}"))),
        }
        fs::create_dir_all(&path).map_err(|e| err(&path, format!("creating: {e}")))?;
        Ok(Self { path })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let gone = fs::remove_dir_all(&self.path);
        if let Err(e) = gone.as_ref().map_err(|e| e.kind()) {
            if e == std::io::ErrorKind::NotFound {
                return;
            }
        }
        if let Err(e) = gone {
            tracing::warn!(path = %self.path.display(), error = %e, "conflict resolution spill not removed");
        }
    }
}

/// Appends records to a spill file.
pub struct Writer {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Writer {
    pub fn create(path: PathBuf) -> Result<Self, DuplicateError> {
        let file = File::create(&path).map_err(|e| err(&path, format!("creating: {e}")))?;
        Ok(Self {
            w: BufWriter::with_capacity(16 << 10, file),
            path,
        })
    }

    /// One input, as a JSON line.
    pub fn input(&mut self, input: &Input) -> Result<(), DuplicateError> {
        serde_json::to_writer(&mut self.w, input)
            .map_err(std::io::Error::from)
            .and_then(|()| self.w.write_all(b"\n"))
            .map_err(|e| err(&self.path, e))
    }

    /// Length-prefixed byte strings, as one record.
    pub fn parts(&mut self, parts: &[&[u8]]) -> Result<(), DuplicateError> {
        for p in parts {
            let len = u32::try_from(p.len()).map_err(|_| err(&self.path, "a record over 4 GiB"))?;
            self.w
                .write_all(&len.to_le_bytes())
                .and_then(|()| self.w.write_all(p))
                .map_err(|e| err(&self.path, e))?;
        }
        Ok(())
    }

    /// One mutation of a write set: key, then the value of a Put.
    pub fn mutation(&mut self, key: &[u8], m: &Mutation) -> Result<(), DuplicateError> {
        match m {
            Mutation::Put(v) => self.parts(&[b"P", key, v]),
            Mutation::Delete => self.parts(&[b"D", key]),
        }
    }

    pub fn finish(mut self) -> Result<PathBuf, DuplicateError> {
        self.w.flush().map_err(|e| err(&self.path, e))?;
        Ok(self.path)
    }
}

/// Reads a spill file written by [`Writer`].
pub struct Reader {
    path: PathBuf,
    r: BufReader<File>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self, DuplicateError> {
        let file = File::open(path).map_err(|e| err(path, format!("opening: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            r: BufReader::with_capacity(16 << 10, file),
        })
    }

    /// Every input of the file, in written order.
    pub fn inputs(self) -> Result<Vec<Input>, DuplicateError> {
        let mut out = Vec::new();
        for line in self.r.lines() {
            let line = line.map_err(|e| err(&self.path, e))?;
            out.push(serde_json::from_str(&line).map_err(|e| err(&self.path, e))?);
        }
        Ok(out)
    }

    /// The next byte string, `None` at the end of the file.
    fn part(&mut self) -> Result<Option<Vec<u8>>, DuplicateError> {
        let mut len = [0u8; 4];
        match self.r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(err(&self.path, e)),
        }
        let mut buf = vec![0; u32::from_le_bytes(len) as usize];
        self.r
            .read_exact(&mut buf)
            .map_err(|e| err(&self.path, e))?;
        Ok(Some(buf))
    }

    fn must(&mut self) -> Result<Vec<u8>, DuplicateError> {
        self.part()?
            .ok_or_else(|| err(&self.path, "truncated record"))
    }

    /// The next record of `n` parts, `None` at the end.
    pub fn record(&mut self, n: usize) -> Result<Option<Vec<Vec<u8>>>, DuplicateError> {
        let Some(first) = self.part()? else {
            return Ok(None);
        };
        let mut out = vec![first];
        for _ in 1..n {
            out.push(self.must()?);
        }
        Ok(Some(out))
    }

    /// Up to `max_bytes` (at least one) of the next mutations; empty at the end.
    pub fn writes(&mut self, max_bytes: usize) -> Result<WriteSet, DuplicateError> {
        let mut out = WriteSet::new();
        let mut bytes = 0;
        while bytes < max_bytes.max(1) {
            let Some(tag) = self.part()? else { break };
            let key = self.must()?;
            bytes += key.len();
            let m = match tag.as_slice() {
                b"P" => {
                    let v = self.must()?;
                    bytes += v.len();
                    Mutation::Put(v)
                }
                b"D" => Mutation::Delete,
                other => return Err(err(&self.path, format!("unknown mutation tag {other:?}"))),
            };
            out.insert(key, m);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duplicate::pair::DupPair;
    use crate::duplicate::test_util::TempDir;

    #[test]
    fn records_round_trip_and_the_directory_goes_away() {
        let tmp = TempDir::new("spill");
        let path = tmp.path().join("t5");
        let dir = SpillDir::create(path.clone()).expect("dir");
        let input = Input::Index(
            3,
            DupPair {
                key: b"i".to_vec(),
                value: vec![0, 1],
                commit_ts: 9,
            },
        );
        let mut w = Writer::create(dir.file("in")).expect("create");
        w.input(&input).expect("write");
        w.input(&input).expect("write");
        let f = w.finish().expect("finish");
        assert_eq!(
            Reader::open(&f).expect("open").inputs().expect("read"),
            vec![input.clone(), input]
        );

        let mut w = Writer::create(dir.file("w")).expect("create");
        w.mutation(b"a", &Mutation::Put(b"x".to_vec()))
            .expect("put");
        w.mutation(b"b", &Mutation::Delete).expect("delete");
        w.mutation(b"c", &Mutation::Put(vec![])).expect("put");
        let f = w.finish().expect("finish");
        let mut r = Reader::open(&f).expect("open");
        let first = r.writes(3).expect("chunk");
        assert_eq!(first.len(), 2, "stops once the chunk holds 3 bytes");
        assert_eq!(first[b"a".as_slice()], Mutation::Put(b"x".to_vec()));
        assert_eq!(first[b"b".as_slice()], Mutation::Delete);
        assert_eq!(r.writes(100).expect("rest").len(), 1);
        assert!(r.writes(100).expect("end").is_empty());
        // A new run replaces what a crashed one left.
        let again = SpillDir::create(path.clone()).expect("again");
        assert!(!again.file("w").exists());
        drop(dir);
        drop(again);
        assert!(!path.exists());
    }
}
