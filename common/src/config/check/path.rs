//! A key's place in the document (`mydumper.files[2].pattern`), and the
//! one-key documents built from it to ask serde about a single key.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn child(&self, key: &str) -> Self {
        let mut p = self.0.clone();
        p.push(Seg::Key(key.to_string()));
        Self(p)
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.0.clone();
        p.push(Seg::Index(i));
        Self(p)
    }

    /// The catalogue's name: dotted keys, no array indices (`mydumper.files.pattern`).
    pub fn catalogue_key(&self) -> String {
        let keys: Vec<&str> = self
            .0
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Index(_) => None,
            })
            .collect();
        keys.join(".")
    }

    /// Parses what [`fmt::Display`] prints (and validation's key names).
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.') {
            let (name, rest) = part.split_once('[').unwrap_or((part, ""));
            segs.push(Seg::Key(name.to_string()));
            for idx in rest.split('[') {
                if let Ok(i) = idx.trim_end_matches(']').parse() {
                    segs.push(Seg::Index(i));
                }
            }
        }
        Self(segs)
    }

    /// A document holding only `leaf` at this path (an index becomes a
    /// one-element array: which element does not matter to the type).
    pub fn single(&self, leaf: toml::Value) -> toml::Value {
        let mut v = leaf;
        for seg in self.0.iter().rev() {
            v = match seg {
                Seg::Key(k) => {
                    let mut t = toml::Table::new();
                    t.insert(k.clone(), v);
                    toml::Value::Table(t)
                }
                Seg::Index(_) => toml::Value::Array(vec![v]),
            };
        }
        v
    }

    /// Puts `leaf` at this path under `root`, creating tables and array
    /// elements on the way.
    pub fn insert(&self, root: &mut toml::Table, leaf: toml::Value) {
        let Some((Seg::Key(first), rest)) = self.0.split_first() else {
            return;
        };
        if rest.is_empty() {
            root.insert(first.clone(), leaf);
            return;
        }
        let slot = root
            .entry(first.clone())
            .or_insert_with(|| empty_for(&rest[0]));
        insert_in(slot, rest, leaf);
    }
}

fn empty_for(seg: &Seg) -> toml::Value {
    match seg {
        Seg::Key(_) => toml::Value::Table(toml::Table::new()),
        Seg::Index(_) => toml::Value::Array(Vec::new()),
    }
}

fn insert_in(slot: &mut toml::Value, path: &[Seg], leaf: toml::Value) {
    let Some((seg, rest)) = path.split_first() else {
        *slot = leaf;
        return;
    };
    match (seg, slot) {
        (Seg::Key(k), toml::Value::Table(t)) => {
            if rest.is_empty() {
                t.insert(k.clone(), leaf);
            } else {
                let next = t.entry(k.clone()).or_insert_with(|| empty_for(&rest[0]));
                insert_in(next, rest, leaf);
            }
        }
        (Seg::Index(i), toml::Value::Array(a)) => {
            while a.len() <= *i {
                a.push(toml::Value::Table(toml::Table::new()));
            }
            insert_in(&mut a[*i], rest, leaf);
        }
        // A shape clash cannot happen: paths come from one parsed document.
        _ => {}
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_parses_and_inserts() {
        let p = KeyPath::default()
            .child("mydumper")
            .child("files")
            .index(2)
            .child("pattern");
        assert_eq!(p.to_string(), "mydumper.files[2].pattern");
        assert_eq!(p.catalogue_key(), "mydumper.files.pattern");
        assert_eq!(KeyPath::parse("mydumper.files[2].pattern"), p);
        let mut root = toml::Table::new();
        p.insert(&mut root, toml::Value::String("x".into()));
        let files = root["mydumper"]["files"].as_array().expect("array");
        assert_eq!(files.len(), 3);
        assert_eq!(files[2]["pattern"].as_str(), Some("x"));
    }
}
