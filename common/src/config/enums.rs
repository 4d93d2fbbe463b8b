//! Config values with a fixed set of names, as enums: a typo fails at load
//! time with the list of accepted names, instead of at the use site (or never).
//! Each accepts Lightning's spellings (case-insensitive, its aliases) and
//! serialises to one canonical name, so a config written back reloads as is.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Implements `Serialize`/`Deserialize` (from a string) over `parse`/`as_str`.
macro_rules! string_enum {
    ($ty:ident, $expecting:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// `tikv-importer.backend`. Squall is a physical importer: only `local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    #[default]
    Local,
}

impl Backend {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "tidb" => Err(
                "\"tidb\" (logical import through SQL) is refused: Squall is a physical \
                 importer; use backend = \"local\", or TiDB Lightning for a logical import into a \
                 cluster that must keep serving"
                    .into(),
            ),
            "importer" => Err(
                "\"importer\" (the removed tikv-importer process) is refused: use \
                 backend = \"local\" (Squall sorts locally and ingests SSTs itself)"
                    .into(),
            ),
            "remote" => Err(
                "\"remote\" (Lightning's remote-worker backend) is refused: use \
                 backend = \"local\" and add `squall worker` processes to spread the sorting"
                    .into(),
            ),
            other => Err(format!("{other:?} is not a backend: use \"local\"")),
        }
    }

    pub fn as_str(self) -> &'static str {
        "local"
    }
}
string_enum!(Backend, "\"local\"");

/// `conflict.strategy`: what happens to rows that share a primary or unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictStrategy {
    /// Report the conflicts, then fail the job if there is any.
    #[default]
    Error,
    /// Report the conflicts and leave TiKV as it is (`record`; Lightning's
    /// `""`/`none`, which do not look for conflicts at all).
    Record,
    /// Delete every conflicting row and its index entries.
    Remove,
    /// Keep the row from the latest source position, delete the others.
    Replace,
}

impl ConflictStrategy {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "record" | "none" | "" => Ok(Self::Record),
            "remove" => Ok(Self::Remove),
            "replace" => Ok(Self::Replace),
            "ignore" => Err("\"ignore\" (keep the first row) exists only in Lightning's logical \
                 import: use \"replace\" (keep the last row), \"remove\" or \"record\""
                .into()),
            other => Err(format!(
                "{other:?}: expected \"error\", \"record\" (\"\", \"none\"), \"remove\" or \"replace\""
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Record => "record",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}
string_enum!(ConflictStrategy, "a conflict strategy name");

/// `squall.index-mode`: when a job writes the secondary indexes' entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexMode {
    /// Every engine writes each row's index entries with its record KV.
    #[default]
    WithData,
    /// Engines write record KVs only; post-processing then builds every
    /// written index from the imported rows (the index backfill), before
    /// the checksum.
    AfterData,
}

impl IndexMode {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "with-data" => Ok(Self::WithData),
            "after-data" => Ok(Self::AfterData),
            other => Err(format!(
                "{other:?}: expected \"with-data\" or \"after-data\""
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WithData => "with-data",
            Self::AfterData => "after-data",
        }
    }
}
string_enum!(IndexMode, "\"with-data\" or \"after-data\"");

/// `post-restore.checksum` / `analyze`: `required`, `optional` or `off`
/// (Lightning also takes the booleans `true` = required, `false` = off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOpLevel {
    Off,
    Optional,
    Required,
}

impl PostOpLevel {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "required" | "true" => Ok(Self::Required),
            other => Err(format!(
                "{other:?}: expected \"required\", \"optional\" or \"off\" (or true/false)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

impl Serialize for PostOpLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PostOpLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PostOpLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"required\", \"optional\", \"off\", true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PostOpLevel, E> {
                Ok(if v {
                    PostOpLevel::Required
                } else {
                    PostOpLevel::Off
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PostOpLevel, E> {
                PostOpLevel::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for PostOpLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PostOpLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl PartialEq<&str> for PostOpLevel {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `checkpoint.driver`: where checkpoints live.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointDriver {
    /// A directory (`squall import` without a cluster).
    #[default]
    File,
    /// etcd (a cluster's coordinators).
    Etcd,
}

impl CheckpointDriver {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "file" => Ok(Self::File),
            "etcd" => Ok(Self::Etcd),
            "mysql" => Err(
                "\"mysql\" is refused: Squall keeps checkpoints in files (\"file\", \
                 `squall import`) or in etcd (\"etcd\", a cluster); use \"file\""
                    .into(),
            ),
            other => Err(format!("{other:?}: expected \"file\" or \"etcd\"")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Etcd => "etcd",
        }
    }
}
string_enum!(CheckpointDriver, "\"file\" or \"etcd\"");

/// Debug prints the config name (it appears in error messages as `{:?}`).
impl fmt::Debug for CheckpointDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// `mydumper.data-character-set`: the encoding of data files (CSV, SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataCharset {
    /// No conversion: bytes are stored as they are (Lightning's default).
    #[default]
    Binary,
    /// UTF-8: checked; invalid bytes are replaced or an error.
    Utf8mb4,
    /// GB 18030 (a superset of GBK, with 4-byte sequences).
    Gb18030,
    /// GBK (code page 936).
    Gbk,
    /// MySQL's latin1, which is Windows code page 1252.
    Latin1,
}

impl DataCharset {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "binary" | "" => Ok(Self::Binary),
            "utf8mb4" | "utf8" => Ok(Self::Utf8mb4),
            "gb18030" => Ok(Self::Gb18030),
            "gbk" => Ok(Self::Gbk),
            "latin1" => Ok(Self::Latin1),
            other => Err(format!(
                "{other:?}: expected \"binary\", \"utf8mb4\", \"gb18030\", \"gbk\" or \"latin1\""
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Utf8mb4 => "utf8mb4",
            Self::Gb18030 => "gb18030",
            Self::Gbk => "gbk",
            Self::Latin1 => "latin1",
        }
    }
}
string_enum!(DataCharset, "a data character set name");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lightning_spellings_parse_and_canonical_names_round_trip() {
        assert_eq!(
            ConflictStrategy::parse("").expect("lightning's none"),
            ConflictStrategy::Record
        );
        assert_eq!(
            ConflictStrategy::parse("REPLACE").expect("case"),
            ConflictStrategy::Replace
        );
        assert!(ConflictStrategy::parse("ignore")
            .expect_err("logical only")
            .contains("replace"));
        assert_eq!(PostOpLevel::parse("true"), Ok(PostOpLevel::Required));
        assert_eq!(DataCharset::parse("GBK"), Ok(DataCharset::Gbk));
        assert!(Backend::parse("tidb")
            .expect_err("refused")
            .contains("local"));
        assert!(CheckpointDriver::parse("mysql")
            .expect_err("refused")
            .contains("file"));
        for s in [
            ConflictStrategy::Error,
            ConflictStrategy::Record,
            ConflictStrategy::Remove,
            ConflictStrategy::Replace,
        ] {
            assert_eq!(ConflictStrategy::parse(s.as_str()), Ok(s));
        }
        assert!(CheckpointDriver::File == "file");
        assert_eq!(format!("{:?}", CheckpointDriver::Etcd), "\"etcd\"");
    }

    #[test]
    fn post_op_level_takes_booleans() {
        #[derive(Deserialize)]
        struct T {
            a: PostOpLevel,
            b: PostOpLevel,
        }
        let t: T = toml::from_str("a = false\nb = \"optional\"").expect("parses");
        assert_eq!((t.a, t.b), (PostOpLevel::Off, PostOpLevel::Optional));
        assert!(toml::from_str::<T>("a = 1\nb = 'off'").is_err());
    }
}
