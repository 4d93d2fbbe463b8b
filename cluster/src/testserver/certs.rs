//! [`TestCerts`]: a throwaway CA and one node certificate it signed, made
//! with rcgen for TLS-only test servers, plus a second CA that signed
//! nothing (to show an untrusted server is refused).
//!
//! The node certificate names `127.0.0.1` and `localhost` and may serve and
//! authenticate clients (both extended key usages), so one certificate does
//! for every server and client of a test, as a TiDB cluster's per-node
//! certificates do.

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// PEM files in a temp dir, removed on drop.
pub struct TestCerts {
    dir: tempfile::TempDir,
    /// The CA that signed the node certificate.
    pub ca: PathBuf,
    /// The node certificate and its key (PKCS#8).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A CA that signed nothing here: trusting only it must fail.
    pub other_ca: PathBuf,
}

impl TestCerts {
    pub fn generate() -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("squall-certs-").tempdir()?;
        let (ca_cert, ca_key) = ca("Squall test CA")?;
        let (other_cert, _) = ca("Squall unrelated CA")?;
        let mut node = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .map_err(other)?;
        node.distinguished_name
            .push(DnType::CommonName, "squall-test-node");
        node.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        node.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let node_key = KeyPair::generate().map_err(other)?;
        let node_cert = node
            .signed_by(&node_key, &ca_cert, &ca_key)
            .map_err(other)?;
        let write = |name: &str, pem: String| -> io::Result<PathBuf> {
            let path = dir.path().join(name);
            std::fs::write(&path, pem)?;
            Ok(path)
        };
        Ok(Self {
            ca: write("ca.pem", ca_cert.pem())?,
            cert: write("node.pem", node_cert.pem())?,
            key: write("node.key", node_key.serialize_pem())?,
            other_ca: write("other-ca.pem", other_cert.pem())?,
            dir,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn ca(name: &str) -> io::Result<(rcgen::Certificate, KeyPair)> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().map_err(other)?;
    let cert = params.self_signed(&key).map_err(other)?;
    Ok((cert, key))
}

fn other(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("making test certificates: {e}"))
}
