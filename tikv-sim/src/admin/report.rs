//! `GET /ingests`: which SST files every store ingested and what its L0
//! model made of them, as typed values other crates' tests can fetch over
//! HTTP ([`fetch_ingests`]) and reason about ([`IngestReport::intersecting`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The sim's ingest accounting since it started or since the last
/// `POST /ingests/reset`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    pub stores: Vec<StoreIngests>,
    /// Every SST file a store ingested (each peer's copy counts for its
    /// store), in the order they were ingested.
    pub ssts: Vec<IngestedSst>,
}

/// One store's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreIngests {
    pub store_id: u64,
    /// SST files ingested (as leader or follower).
    pub ingested_ssts: u64,
    /// Of those, the ones whose key range overlapped data already in the
    /// store's LSM model, so they went to L0 (see the sim's `store::lsm`).
    pub overlapping_ssts: u64,
    /// Files in the `write` CF's L0 model now (TiKV's write-stall signal).
    pub l0_files: u64,
    /// Ingests this store answered with ServerIsBusy because of its L0
    /// (injected faults not counted).
    pub busy_answers: u64,
    /// Files in the `default` CF's L0 model now.
    #[serde(default)]
    pub default_cf_l0_files: u64,
    /// L0 compactions the model has finished, both CFs (never reset).
    #[serde(default)]
    pub l0_compactions: u64,
}

/// One SST file as one store ingested it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedSst {
    pub store_id: u64,
    pub region_id: u64,
    /// `default` or `write`.
    pub cf: String,
    /// First raw (TiDB, not memcomparable) user key, hex in JSON.
    #[serde(with = "hex_key")]
    pub start_key: Vec<u8>,
    /// Last raw user key, inclusive, hex in JSON.
    #[serde(with = "hex_key")]
    pub end_key: Vec<u8>,
    /// Key/value pairs in the file (0 when the sim restarted between the
    /// Write and the ingest and no longer knows).
    pub kvs: u64,
    /// Size of the file.
    #[serde(default)]
    pub bytes: u64,
    /// Whether it went to L0 (it is then counted in `overlapping_ssts`).
    #[serde(default)]
    pub overlapping: bool,
}

impl IngestedSst {
    /// Whether the file holds keys in raw `[start, end)` (`end` empty = no
    /// bound), by its first and last key.
    pub fn intersects(&self, start: &[u8], end: &[u8]) -> bool {
        self.end_key.as_slice() >= start && (end.is_empty() || self.start_key.as_slice() < end)
    }
}

impl IngestReport {
    /// The counts of store `id`.
    pub fn store(&self, id: u64) -> Option<&StoreIngests> {
        self.stores.iter().find(|s| s.store_id == id)
    }

    /// SSTs of column family `cf` that store `store_id` ingested with keys in
    /// raw `[start, end)` (`end` empty = no bound).
    pub fn intersecting<'a>(
        &'a self,
        store_id: u64,
        cf: &'a str,
        start: &'a [u8],
        end: &'a [u8],
    ) -> impl Iterator<Item = &'a IngestedSst> + 'a {
        self.ssts
            .iter()
            .filter(move |s| s.store_id == store_id && s.cf == cf && s.intersects(start, end))
    }

    /// Overlapping SSTs over all stores.
    pub fn overlapping_ssts(&self) -> u64 {
        self.stores.iter().map(|s| s.overlapping_ssts).sum()
    }

    /// Write-stall ServerIsBusy answers over all stores.
    pub fn busy_answers(&self) -> u64 {
        self.stores.iter().map(|s| s.busy_answers).sum()
    }
}

/// Hex strings in JSON for byte strings.
mod hex_key {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text).map_err(|e| serde::de::Error::custom(format!("key {text:?}: {e}")))
    }
}

/// Deadline of one admin call (connect, request and response).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one admin call; the sim answers at once, so only a refused
/// or cut connection is worth another go.
const ATTEMPTS: u32 = 3;

/// `GET /ingests` from the admin API at `admin`.
pub async fn fetch_ingests(admin: SocketAddr) -> Result<IngestReport, String> {
    let body = call(admin, "GET", "/ingests").await?;
    serde_json::from_str(&body).map_err(|e| {
        format!("GET http://{admin}/ingests: the answer is not an ingest report ({e}): {body}")
    })
}

/// `POST /ingests/reset`: clears the SST list and the counters (not the L0
/// models), so a test can measure one import.
pub async fn reset_ingests(admin: SocketAddr) -> Result<(), String> {
    call(admin, "POST", "/ingests/reset").await.map(|_| ())
}

/// One admin call with a deadline, retried with a growing wait when the
/// connection fails; an HTTP error status is not retried.
async fn call(admin: SocketAddr, method: &str, path: &str) -> Result<String, String> {
    let what = format!("{method} http://{admin}{path}");
    let mut wait = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(admin).await?;
            squall_common::http1::exchange(
                stream,
                &admin.to_string(),
                method,
                path,
                "text/plain",
                "",
            )
            .await
        };
        let error = match tokio::time::timeout(CALL_TIMEOUT, exchange).await {
            Ok(Ok(resp)) if resp.status == 200 => return Ok(resp.body),
            Ok(Ok(resp)) => {
                return Err(format!(
                    "{what}: status {} ({}); is this tikv-sim's admin address?",
                    resp.status, resp.body
                ))
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {CALL_TIMEOUT:?}"),
        };
        if attempt >= ATTEMPTS {
            return Err(format!(
                "{what}: {error} (after {ATTEMPTS} attempts); is the sim running?"
            ));
        }
        tracing::warn!(call = %what, attempt, %error, ?wait, "admin call failed; retrying");
        tokio::time::sleep(wait).await;
        wait *= 2;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_agreed_json() {
        let json = r#"{
          "stores": [{"store_id": 1, "ingested_ssts": 12, "overlapping_ssts": 3,
                      "l0_files": 2, "busy_answers": 0}],
          "ssts": [{"store_id": 1, "region_id": 7, "cf": "write",
                    "start_key": "7480000000000000645f72", "end_key": "7480000000000000645f73",
                    "kvs": 123}]
        }"#;
        let report: IngestReport = serde_json::from_str(json).expect("parses");
        assert_eq!(report.store(1).map(|s| s.overlapping_ssts), Some(3));
        let sst = &report.ssts[0];
        assert_eq!(
            sst.start_key,
            hex::decode("7480000000000000645f72").expect("hex")
        );
        assert_eq!(report.intersecting(1, "write", b"", b"").count(), 1);
        assert_eq!(
            report.intersecting(1, "write", &sst.end_key, b"").count(),
            1,
            "the end key is inclusive"
        );
        assert_eq!(
            report.intersecting(1, "write", b"", &sst.start_key).count(),
            0
        );
        assert_eq!(report.intersecting(2, "write", b"", b"").count(), 0);
        let again: IngestReport =
            serde_json::from_str(&serde_json::to_string(&report).expect("serializes"))
                .expect("parses again");
        assert_eq!(again, report);
    }
}
