//! What one stage cost: wall time, CPU seconds and peak RSS of this process,
//! read from `/proc/self` (the workspace forbids `unsafe`, so no `getrusage`
//! call: `/proc/self/stat` utime+stime are the same counters getrusage
//! returns, and `VmHWM` in `/proc/self/status` is its `ru_maxrss`).

use std::time::Instant;

use serde::Serialize;

/// CPU seconds (user + system, all threads) this process has used so far.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the `(comm)`, which may contain spaces: utime is the
    // 14th field of the line, the 12th after the closing parenthesis.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / clock_ticks()
}

/// USER_HZ: what `/proc` counts CPU time in (100 on every Linux we run on;
/// asked of `getconf` in case a kernel says otherwise).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Peak resident set of this process so far, in MiB (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Started at the beginning of the timed part of a stage.
pub struct Meter {
    start: Instant,
    cpu: f64,
}

/// Wall and CPU seconds of a timed part.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Span {
    pub secs: f64,
    pub cpu_secs: f64,
}

impl Meter {
    pub fn start() -> Self {
        Self {
            cpu: cpu_seconds(),
            start: Instant::now(),
        }
    }

    pub fn stop(&self) -> Span {
        Span {
            secs: self.start.elapsed().as_secs_f64(),
            cpu_secs: (cpu_seconds() - self.cpu).max(0.0),
        }
    }
}

/// The JSON line a stage prints: rates are of source bytes (the dump's data
/// files), so every stage compares with every other and with the import.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub stage: &'static str,
    pub threads: usize,
    pub source_bytes: u64,
    pub rows: u64,
    pub secs: f64,
    pub cpu_secs: f64,
    pub mb_per_s: f64,
    pub rows_per_s: f64,
    /// Source MB per CPU-second (per-core throughput).
    pub mb_per_cpu_s: f64,
    pub peak_rss_mib: f64,
    /// Stage-specific figures (KV counts, sub-phases).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn new(
        stage: &'static str,
        threads: usize,
        source_bytes: u64,
        rows: u64,
        span: Span,
    ) -> Self {
        let per = |n: f64, d: f64| if d > 0.0 { n / d } else { 0.0 };
        Self {
            stage,
            threads,
            source_bytes,
            rows,
            secs: span.secs,
            cpu_secs: span.cpu_secs,
            mb_per_s: per(source_bytes as f64 / 1e6, span.secs),
            rows_per_s: per(rows as f64, span.secs),
            mb_per_cpu_s: per(source_bytes as f64 / 1e6, span.cpu_secs),
            peak_rss_mib: peak_rss_mib(),
            extra: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}
