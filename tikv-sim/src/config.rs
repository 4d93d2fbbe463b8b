//! How to start a sim: [`SimConfig`] for in-process use, [`SimArgs`] for
//! `squall sim`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultRule;
use crate::store::lsm::LsmSettings;
use crate::tls::SimTls;

/// Everything `start` needs. `SimConfig::new(dir)` gives a 3-store cluster
/// on free ports of 127.0.0.1.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// PD's listen address; port 0 picks a free one.
    pub pd_addr: SocketAddr,
    /// One listen address per store (store ids 1..=N in this order); empty
    /// picks free ports on PD's host, or reuses the ports a restarted data
    /// dir was serving on.
    pub store_addrs: Vec<SocketAddr>,
    /// Number of stores (must match a data dir that already holds a cluster).
    pub stores: usize,
    /// The admin HTTP API; `None` picks a free port on PD's host.
    pub admin_addr: Option<SocketAddr>,
    /// RocksDB, metadata and staged SSTs live here; survives restarts.
    pub data_dir: PathBuf,
    /// Seeds every random choice (fault rates, scatter tie-breaks).
    pub seed: u64,
    /// Faults in force from the start.
    pub initial_faults: Vec<FaultRule>,
    /// Host name PD reports for stores and itself (e.g. a container name);
    /// default: the listen IP, or 127.0.0.1 when listening on all interfaces.
    pub advertise_host: Option<String>,
    /// How long GetOperator reports a scatter as RUNNING.
    pub scatter_duration: Duration,
    /// Import mode lapses if not renewed within this time.
    pub import_mode_timeout: Duration,
    /// Each store's L0 model of ingested SSTs: its compaction trigger and
    /// speed, and the stop trigger whose half makes an ingest in normal mode
    /// answer ServerIsBusy (defaults: TiKV's).
    pub lsm: LsmSettings,
    /// Staged SSTs that were never ingested are deleted after this long.
    pub staged_ttl: Duration,
    /// Run a GC round (TiDB's GC worker, then TiKV's collection) this often;
    /// `None` (default): only on demand (`SimHandle::run_gc`, `POST /gc`).
    pub gc_interval: Option<Duration>,
    /// A round proposes `now - gc_life_time` as the GC safepoint (TiDB's
    /// `tidb_gc_life_time`, default 10 min); service safepoints hold it back.
    pub gc_life_time: Duration,
    /// Serve PD and the stores over TLS only (`None`, default: plain).
    pub tls: Option<SimTls>,
}

impl SimConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            pd_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            store_addrs: Vec::new(),
            stores: 3,
            admin_addr: None,
            data_dir: data_dir.into(),
            seed: 0,
            initial_faults: Vec::new(),
            advertise_host: None,
            scatter_duration: Duration::from_millis(300),
            import_mode_timeout: Duration::from_secs(600),
            lsm: LsmSettings::default(),
            staged_ttl: Duration::from_secs(3600),
            gc_interval: None,
            gc_life_time: Duration::from_secs(600),
            tls: None,
        }
    }
}

/// `squall sim` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address PD listens on (HOST:PORT).
    #[arg(long, env = "SQUALL_SIM_PD_ADDR", value_parser = parse_addr)]
    pub pd_addr: SocketAddr,
    /// Directory for RocksDB, region metadata and staged SSTs.
    #[arg(long, env = "SQUALL_SIM_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Number of TiKV stores.
    #[arg(long, env = "SQUALL_SIM_STORES", default_value_t = 3)]
    pub stores: usize,
    /// Store addresses (HOST:PORT, comma separated, one per store); default:
    /// free ports on PD's host.
    #[arg(long, value_delimiter = ',', value_parser = parse_addr)]
    pub store_addrs: Vec<SocketAddr>,
    /// Address of the admin HTTP API (faults, store stop/start, observation).
    #[arg(long, env = "SQUALL_SIM_ADMIN_ADDR", value_parser = parse_addr)]
    pub admin_addr: Option<SocketAddr>,
    /// Host name to advertise for PD and stores (e.g. the container name).
    #[arg(long, env = "SQUALL_SIM_ADVERTISE_HOST")]
    pub advertise_host: Option<String>,
    /// Seed of every random choice (fault rates, scatter).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A fault in force from the start, e.g. `rpc=Write,error=ServerIsBusy,rate=0.05`
    /// or `store=2,down_after_ms=5000,down_for_ms=3000`; repeatable.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,
    /// How long a scatter operator runs (milliseconds).
    #[arg(long, default_value_t = 300)]
    pub scatter_ms: u64,
    /// L0 files of a store's model that start a compaction (TiKV's
    /// `level0-file-num-compaction-trigger`).
    #[arg(long, default_value_t = 4)]
    pub l0_compaction_trigger: u64,
    /// TiKV's `level0-stop-writes-trigger` (= flow control's
    /// `l0-files-threshold`): outside import mode an ingest answers
    /// ServerIsBusy when the write CF's L0 files plus in-flight ingests
    /// exceed half of it.
    #[arg(long, default_value_t = 20)]
    pub l0_stop_writes_trigger: u64,
    /// Speed of one L0 compaction in the model, bytes per second.
    #[arg(long, default_value_t = 128 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub compaction_bytes_per_sec: u64,
    /// Run a GC round every this many milliseconds (0: only on `POST /gc`).
    #[arg(long, default_value_t = 0)]
    pub gc_interval_ms: u64,
    /// GC keeps versions newer than this many milliseconds (TiDB's
    /// `tidb_gc_life_time`); service GC safepoints hold it back further.
    #[arg(long, default_value_t = 600_000)]
    pub gc_life_time_ms: u64,
    /// Serve PD and the stores over TLS only, with this certificate (PEM;
    /// its names must cover the advertised host). PD then advertises
    /// `https://` URLs. Needs --key.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// With --cert: clients must present a certificate signed by this CA
    /// (mutual TLS, as a cluster with `cluster-verify-cn`).
    #[arg(long, requires = "cert")]
    pub ca: Option<PathBuf>,
}

impl SimArgs {
    pub fn into_config(self) -> SimConfig {
        SimConfig {
            pd_addr: self.pd_addr,
            store_addrs: self.store_addrs,
            stores: self.stores,
            admin_addr: self.admin_addr,
            seed: self.seed,
            initial_faults: self.faults,
            advertise_host: self.advertise_host,
            scatter_duration: Duration::from_millis(self.scatter_ms),
            gc_interval: (self.gc_interval_ms > 0)
                .then(|| Duration::from_millis(self.gc_interval_ms)),
            gc_life_time: Duration::from_millis(self.gc_life_time_ms),
            lsm: LsmSettings {
                compaction_trigger: self.l0_compaction_trigger,
                stop_writes_trigger: self.l0_stop_writes_trigger,
                compaction_bytes_per_sec: self.compaction_bytes_per_sec,
            },
            tls: match (self.cert, self.key) {
                (Some(cert), Some(key)) => Some(SimTls {
                    cert,
                    key,
                    ca: self.ca,
                }),
                _ => None,
            },
            ..SimConfig::new(self.data_dir)
        }
    }
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.to_socket_addrs()
        .map_err(|e| format!("{s:?} is not HOST:PORT: {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

fn parse_fault(s: &str) -> Result<FaultRule, String> {
    s.parse()
        .map_err(|e: crate::faults::FaultSpecError| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn parses_flags() {
        let cli = Cli::try_parse_from([
            "sim",
            "--pd-addr",
            "127.0.0.1:2379",
            "--data-dir",
            "/tmp/x",
            "--store-addrs",
            "127.0.0.1:20160,127.0.0.1:20161",
            "--stores",
            "2",
            "--fault",
            "rpc=Write,error=ServerIsBusy,count=1",
            "--fault",
            "rpc=KvGet,latency_ms=5",
            "--l0-stop-writes-trigger",
            "8",
        ])
        .expect("valid flags");
        let cfg = cli.sim.into_config();
        assert_eq!(
            cfg.lsm,
            LsmSettings {
                stop_writes_trigger: 8,
                ..LsmSettings::default()
            }
        );
        assert_eq!(cfg.pd_addr.port(), 2379);
        assert_eq!(cfg.store_addrs.len(), 2);
        assert_eq!(cfg.initial_faults.len(), 2);
        assert!(cfg.tls.is_none());
        let tls = Cli::try_parse_from([
            "sim",
            "--pd-addr",
            "127.0.0.1:2379",
            "--data-dir",
            "/tmp/x",
            "--cert",
            "node.pem",
            "--key",
            "node.key",
            "--ca",
            "ca.pem",
        ])
        .expect("TLS flags")
        .sim
        .into_config()
        .tls
        .expect("TLS on");
        assert_eq!(tls.ca, Some(PathBuf::from("ca.pem")));
        assert!(
            Cli::try_parse_from([
                "sim",
                "--pd-addr",
                "127.0.0.1:1",
                "--data-dir",
                "d",
                "--cert",
                "node.pem"
            ])
            .is_err(),
            "--cert needs --key"
        );
        assert!(Cli::try_parse_from(["sim", "--pd-addr", "x", "--data-dir", "d"]).is_err());
        assert!(Cli::try_parse_from([
            "sim",
            "--pd-addr",
            "127.0.0.1:1",
            "--data-dir",
            "d",
            "--fault",
            "rpc=Nope"
        ])
        .is_err());
    }
}
