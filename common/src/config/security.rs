//! `[security]`: TLS to PD and TiKV, as TiDB Lightning names it. TLS is on
//! when `ca-path` is set; `cert-path` + `key-path` add the client certificate
//! a cluster with mutual TLS asks for. In a cluster job every worker reads
//! these paths itself, so they must exist on every node.

use serde::{Deserialize, Serialize};

/// `[security]` (Lightning's `redact-info-log` is a catalogue key with a
/// warning, not a field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// PEM file of the CA that signed PD's and TiKV's certificates; empty:
    /// TLS off (default).
    pub ca_path: String,
    /// PEM certificate (chain) Squall presents to PD and TiKV; with `key-path`.
    pub cert_path: String,
    /// PEM private key of `cert-path`.
    pub key_path: String,
}

impl SecurityConfig {
    /// Whether PD and TiKV are reached over TLS.
    pub fn tls(&self) -> bool {
        !self.ca_path.trim().is_empty()
    }

    /// Combinations that cannot work, as (key, reason).
    pub fn problems(&self) -> Vec<(String, String)> {
        let (cert, key) = (
            !self.cert_path.trim().is_empty(),
            !self.key_path.trim().is_empty(),
        );
        let mut out = Vec::new();
        if cert != key {
            let (set, missing) = if cert {
                ("security.cert-path", "security.key-path")
            } else {
                ("security.key-path", "security.cert-path")
            };
            out.push((
                missing.to_string(),
                format!(
                    "{set} is set, so {missing} must be too (a client certificate needs its key)"
                ),
            ));
        }
        if (cert || key) && !self.tls() {
            out.push((
                "security.ca-path".to_string(),
                "must be set when cert-path/key-path are: TLS to PD and TiKV is on only with the CA that signed their certificates".to_string(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_an_identity_or_no_ca_is_named() {
        assert!(SecurityConfig::default().problems().is_empty());
        let ok = SecurityConfig {
            ca_path: "/ca.pem".into(),
            cert_path: "/c.pem".into(),
            key_path: "/c.key".into(),
        };
        assert!(ok.problems().is_empty() && ok.tls());
        let no_key = SecurityConfig {
            key_path: String::new(),
            ..ok.clone()
        };
        assert_eq!(no_key.problems()[0].0, "security.key-path");
        let no_ca = SecurityConfig {
            ca_path: String::new(),
            ..ok
        };
        assert_eq!(no_ca.problems()[0].0, "security.ca-path");
    }
}
