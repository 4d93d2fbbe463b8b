//! etcd and NATS over TLS only, with client certificates required
//! (`testserver::*::start_tls`, certificates from rcgen): the store, the
//! queue and the election work with the CA and the node certificate, and
//! without them (or trusting another CA) connecting fails with an error
//! that names TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use squall_cluster::leader::{campaign_tls, current_leader_tls};
use squall_cluster::testserver::{start_or_skip, EtcdServer, NatsServer, TestCerts};
use squall_cluster::{
    ClusterTls, EtcdCheckpointStore, EtcdOptions, NatsOpenError, NatsOptions, NatsTaskQueue,
};
use squall_common::checkpoint::CheckpointStore;
use squall_common::queue::{TaskMessage, TaskQueue};
use tokio_util::sync::CancellationToken;

fn trusted(certs: &TestCerts) -> ClusterTls {
    ClusterTls {
        ca: Some(certs.ca.clone()),
        cert: Some(certs.cert.clone()),
        key: Some(certs.key.clone()),
    }
}

fn etcd_options(server: &EtcdServer, tls: ClusterTls) -> EtcdOptions {
    EtcdOptions {
        tls,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        max_retries: 1,
        ..EtcdOptions::new([server.endpoint()])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_over_tls_only() {
    let certs = TestCerts::generate().unwrap();
    let Some(server) = start_or_skip("etcd", || EtcdServer::start_tls(&certs)) else {
        return;
    };
    let store = EtcdCheckpointStore::connect(etcd_options(&server, trusted(&certs)))
        .await
        .expect("etcd over TLS with the CA and a client certificate");
    store
        .put("squall/tls-probe", b"yes".to_vec())
        .await
        .unwrap();
    let got = store.get("squall/tls-probe").await.unwrap().unwrap();
    assert_eq!(got.value, b"yes");

    // The election over TLS too.
    let cancel = CancellationToken::new();
    let endpoints = [server.endpoint()];
    let won = campaign_tls(&endpoints, &trusted(&certs), "coord-a", 5, &cancel)
        .await
        .unwrap()
        .expect("elected");
    assert_eq!(
        current_leader_tls(&endpoints, &trusted(&certs))
            .await
            .as_deref(),
        Some("coord-a")
    );
    won.resign().await;

    let no_ca = ClusterTls::default();
    let wrong_ca = ClusterTls {
        ca: Some(certs.other_ca.clone()),
        ..trusted(&certs)
    };
    let no_client_cert = ClusterTls {
        ca: Some(certs.ca.clone()),
        ..ClusterTls::default()
    };
    // An untrusted server certificate fails the handshake at once; a
    // missing client certificate makes etcd close the connection, and the
    // error points at the flags.
    for (what, tls, needle) in [
        ("no CA", no_ca, "TLS handshake failed"),
        ("another CA", wrong_ca, "TLS handshake failed"),
        (
            "no client certificate",
            no_client_cert,
            "--tls-cert/--tls-key",
        ),
    ] {
        let err = EtcdCheckpointStore::connect(etcd_options(&server, tls))
            .await
            .expect_err(what)
            .to_string();
        assert!(err.contains(needle), "{what}: {err}");
        eprintln!("{what}: {err}");
    }
}

fn nats_options(server: &NatsServer, tls: ClusterTls) -> NatsOptions {
    let mut opts = NatsOptions::new(server.url(), "squall-tls");
    opts.tls = tls;
    opts.connect_timeout = Duration::from_secs(2);
    opts.request_timeout = Duration::from_secs(2);
    opts.retry_for = Duration::from_secs(4);
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_tls_only() {
    let certs = TestCerts::generate().unwrap();
    let Some(server) = start_or_skip("nats-server", || NatsServer::start_tls(&certs)) else {
        return;
    };
    let queue = NatsTaskQueue::connect(nats_options(&server, trusted(&certs)))
        .await
        .expect("NATS over TLS with the CA and a client certificate");
    queue
        .publish(TaskMessage {
            id: "t1".into(),
            payload: b"over tls".to_vec(),
        })
        .await
        .unwrap();

    let wrong_ca = ClusterTls {
        ca: Some(certs.other_ca.clone()),
        ..trusted(&certs)
    };
    let no_client_cert = ClusterTls {
        ca: Some(certs.ca.clone()),
        ..ClusterTls::default()
    };
    for (what, tls) in [
        ("no CA", ClusterTls::default()),
        ("another CA", wrong_ca),
        ("no client certificate", no_client_cert),
    ] {
        let err = NatsTaskQueue::connect(nats_options(&server, tls))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: connected"));
        assert!(matches!(err, NatsOpenError::Tls { .. }), "{what}: {err}");
        let lower = err.to_string().to_ascii_lowercase();
        assert!(
            lower.contains("tls") || lower.contains("certificate"),
            "{what}: {err}"
        );
        eprintln!("{what}: {err}");
    }
}
