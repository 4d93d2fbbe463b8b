//! Knobs of region ingest, from the task's `[tikv-importer]` and `[squall]`.

use std::time::Duration;

use squall_client::{RetryPolicy, SCAN_PAGE};
use squall_common::TaskConfig;

/// How one engine is ingested.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Largest range ingested into one region, key + value bytes.
    /// `tikv-importer.region-split-size`; default 96 MiB.
    pub region_split_size: u64,
    /// Most pairs in one range. `tikv-importer.region-split-keys`; default 1 280 000.
    pub region_split_keys: u64,
    /// Pairs per `WriteBatch` message. `tikv-importer.send-kv-pairs`; default 32 768.
    pub send_kv_pairs: usize,
    /// Key + value bytes per `WriteBatch` message, so wide rows do not make
    /// messages of hundreds of MiB. `tikv-importer.send-kv-size`; default 64 KiB.
    pub send_kv_bytes: usize,
    /// Ranges written and ingested at once. `tikv-importer.range-concurrency`;
    /// default 16.
    pub range_concurrency: usize,
    /// Waits between failed attempts of one region job or split round, and
    /// how many failures in a row (without progress) fail the range.
    /// Attempts from `squall.max-retries`; default 10.
    pub retry: RetryPolicy,
    /// Split keys per `SplitRegion` request. Default 4096 (Lightning's cap).
    pub split_batch_keys: usize,
    /// Regions per ScanRegions page. Default 128.
    pub scan_page: i32,
    /// Longest total wait for PD to finish scattering new regions; the import
    /// goes on (unbalanced) after it. Default 180 s.
    pub scatter_wait: Duration,
    /// Pause between GetOperator polls while waiting for scatter. Default 1 s.
    pub scatter_poll: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            region_split_size: 96 << 20,
            region_split_keys: 1_280_000,
            send_kv_pairs: 32_768,
            send_kv_bytes: 64 << 10,
            range_concurrency: 16,
            retry: RetryPolicy::default(),
            split_batch_keys: 4096,
            scan_page: SCAN_PAGE,
            scatter_wait: Duration::from_secs(180),
            scatter_poll: Duration::from_secs(1),
        }
    }
}

impl IngestConfig {
    /// Settings from a task config.
    pub fn from_task(cfg: &TaskConfig) -> Self {
        let imp = &cfg.tikv_importer;
        Self {
            region_split_size: imp.region_split_size.as_u64(),
            region_split_keys: imp.region_split_keys,
            send_kv_pairs: imp.send_kv_pairs,
            send_kv_bytes: usize::try_from(imp.send_kv_size.as_u64()).unwrap_or(usize::MAX),
            range_concurrency: imp.range_concurrency,
            retry: RetryPolicy {
                max_attempts: cfg.squall.max_retries,
                ..RetryPolicy::default()
            },
            ..Self::default()
        }
    }

    /// Cap of one Write stream in bytes: 4/3 of a region, as Lightning, so a
    /// range whose size estimate was off still ends in a sane SST.
    pub fn stream_max_bytes(&self) -> u64 {
        self.region_split_size.saturating_mul(4) / 3
    }

    /// Cap of one Write stream in pairs (4/3 of a region's keys).
    pub fn stream_max_keys(&self) -> u64 {
        self.region_split_keys.saturating_mul(4) / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_task_config() {
        let mut task = TaskConfig::default();
        task.tikv_importer.range_concurrency = 3;
        task.tikv_importer.send_kv_pairs = 100;
        task.tikv_importer.send_kv_size = squall_common::config::ByteSize::kib(48);
        task.squall.max_retries = 4;
        let cfg = IngestConfig::from_task(&task);
        assert_eq!(
            (
                cfg.range_concurrency,
                cfg.send_kv_pairs,
                cfg.retry.max_attempts
            ),
            (3, 100, 4)
        );
        assert_eq!(cfg.send_kv_bytes, 48 << 10);
        assert_eq!(cfg.stream_max_bytes(), (96 << 20) * 4 / 3);
    }
}
