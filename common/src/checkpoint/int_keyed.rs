//! Serde for maps keyed by integers (index ID → checksum) as a list of
//! `[key, value]` pairs. JSON object keys are strings, and serde cannot turn
//! them back into integers inside an internally tagged enum such as
//! `EngineState` (it buffers the content first), so such maps are never
//! written as JSON objects.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer, V: Serialize>(
    map: &BTreeMap<i64, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.iter())
}

pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<i64, V>, D::Error> {
    let pairs: Vec<(i64, V)> = Vec::deserialize(d)?;
    Ok(pairs.into_iter().collect())
}
