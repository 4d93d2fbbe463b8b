//! `--tls-ca`, `--tls-cert`, `--tls-key`: TLS to Squall's own servers (etcd,
//! NATS, the coordinator's API), shared by every command that reaches them.
//! The URLs say which connections are TLS (`https://` etcd endpoints and
//! coordinator URLs, `tls://` NATS URLs); these files say whom to trust
//! and who this process is. PD and TiKV take theirs from the task config's
//! `[security]` section, as in TiDB Lightning.

use std::path::PathBuf;

use squall_cluster::ClusterTls;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// CA certificate (PEM) that signed the etcd, NATS and coordinator
    /// certificates; default: the system's trusted roots.
    #[arg(long, env = "SQUALL_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// This process's certificate (PEM): presented to etcd and NATS when
    /// they ask for one (mutual TLS); `squall coordinator` also serves its
    /// API over HTTPS with it. Needs --tls-key.
    #[arg(long, env = "SQUALL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "SQUALL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    pub fn files(&self) -> ClusterTls {
        ClusterTls {
            ca: self.tls_ca.clone(),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
        }
    }
}
