//! A cluster whose every server is TLS-only (issue 18): etcd and
//! nats-server requiring client certificates (squall-cluster's
//! `testserver::*::start_tls`), a tikv-sim whose PD and stores serve TLS
//! only and want client certificates too, and a `squall coordinator`
//! serving its API over HTTPS, with one `squall worker`. Certificates are
//! made here with rcgen (`TestCerts`). A small dump goes in through
//! `squall import --coordinator https://...` and must end verified.
//!
//! Then the same connections without the CA (or trusting another CA) must
//! fail at once with an error that says TLS and which setting to check:
//! the API without `--tls-ca`, PD/TiKV without `[security]`, PD/TiKV with
//! the wrong CA, etcd and NATS for a worker without `--tls-*`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use squall_cluster::testserver::{EtcdServer, NatsServer, TestCerts};
use squall_tests::{free_addr, servers_installed, ProcessGuard};
use tikv_sim::{SimConfig, SimTls};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_only_cluster_imports_and_plain_clients_are_refused() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate().unwrap();
    let (ca, cert, key) = (
        certs.ca.to_str().unwrap(),
        certs.cert.to_str().unwrap(),
        certs.key.to_str().unwrap(),
    );
    let dump = work.path().join("dump");
    run_ok(squall(&[
        "gen-dump",
        "--dataset",
        "shop",
        "--size",
        "256KiB",
        "--file-size",
        "64KiB",
        "--out",
        dump.to_str().unwrap(),
    ]))
    .await;

    let etcd = EtcdServer::start_tls(&certs).expect("TLS etcd starts");
    let nats = NatsServer::start_tls(&certs).expect("TLS nats-server starts");
    assert!(etcd.endpoint().starts_with("https://"));
    assert!(nats.url().starts_with("tls://"));
    let sim = tikv_sim::start(SimConfig {
        tls: Some(SimTls {
            cert: certs.cert.clone(),
            key: certs.key.clone(),
            ca: Some(certs.ca.clone()),
        }),
        ..SimConfig::new(work.path().join("sim"))
    })
    .await
    .expect("TLS tikv-sim starts");
    let pd = sim.pd_addr.to_string();

    let secure = work.path().join("secure.toml");
    write_config(
        &secure,
        &work.path().join("kv"),
        &format!("[security]\nca-path = {ca:?}\ncert-path = {cert:?}\nkey-path = {key:?}\n"),
    );

    let api = free_addr();
    let url = format!("https://{api}");
    let (etcd_at, nats_at, api_at) = (etcd.endpoint(), nats.url(), api.to_string());
    let cluster: [&str; 10] = [
        "--etcd",
        &etcd_at,
        "--nats",
        &nats_at,
        "--tls-ca",
        ca,
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ];
    let mut coordinator = spawn(
        "coordinator",
        &[
            &["coordinator", "--listen", api_at.as_str()][..],
            &cluster[..],
        ]
        .concat(),
    );
    let listening = tokio::task::block_in_place(|| {
        coordinator.wait_for_line("coordinator listening on", Duration::from_secs(30))
    })
    .unwrap();
    assert!(listening.contains("https://"), "{listening}");
    let sorted = work.path().join("w1-kv");
    let mut worker = spawn(
        "w1",
        &[
            &[
                "worker",
                "--id",
                "w1",
                "--concurrency",
                "1",
                "--sorted-kv-dir",
                sorted.to_str().unwrap(),
            ][..],
            &cluster[..],
        ]
        .concat(),
    );
    tokio::task::block_in_place(|| worker.wait_for_line("worker ready", Duration::from_secs(30)))
        .unwrap();

    // The API over HTTPS, trusting the CA: answers (and so is ready).
    let listed = run_ok(squall(&[
        "job",
        "--coordinator",
        &url,
        "--tls-ca",
        ca,
        "list",
    ]))
    .await;
    assert!(stdout(&listed).contains("no jobs"), "{}", stdout(&listed));

    // The import: every hop over TLS.
    let out = work.path().join("out");
    let imported = run_ok(squall(&[
        "--config",
        secure.to_str().unwrap(),
        "import",
        "--source",
        dump.to_str().unwrap(),
        "--pd",
        &pd,
        "--output",
        out.to_str().unwrap(),
        "--progress",
        "log",
        "--coordinator",
        &url,
        "--tls-ca",
        ca,
    ]))
    .await;
    assert!(
        stdout(&imported).contains("imported and verified"),
        "{}",
        stdout(&imported)
    );
    // The data is there, read back over TLS.
    let exported = run_ok(squall(&[
        "--config",
        secure.to_str().unwrap(),
        "export",
        "--pd",
        &pd,
        "--table",
        "shop.customers",
        "--source",
        dump.to_str().unwrap(),
        "--format",
        "kv",
    ]))
    .await;
    assert!(!exported.stdout.is_empty(), "nothing exported over TLS");

    // Without the CA: the API's certificate is not trusted.
    let other = certs.other_ca.to_str().unwrap();
    for tls in [&[][..], &["--tls-ca", other][..]] {
        let args = [&["job", "--coordinator", &url][..], tls, &["list"][..]].concat();
        let err = run_fails(squall(&args), Duration::from_secs(20)).await;
        assert!(
            err.contains("TLS handshake failed") && err.contains("--tls-ca"),
            "{args:?}: {err}"
        );
    }
    // PD/TiKV without [security]: refused, and the error says where to look.
    let open = work.path().join("open.toml");
    write_config(
        &open,
        &work.path().join("kv2"),
        "[squall]\nmax-retries = 2\n",
    );
    let export = |config: &Path| {
        squall(&[
            "--config",
            config.to_str().unwrap(),
            "export",
            "--pd",
            &pd,
            "--table",
            "shop.customers",
            "--source",
            dump.to_str().unwrap(),
            "--format",
            "kv",
        ])
    };
    let err = run_fails(export(&open), Duration::from_secs(60)).await;
    assert!(err.contains("[security] ca-path"), "{err}");
    // PD/TiKV trusting another CA: a TLS handshake failure, at once.
    let wrong = work.path().join("wrong.toml");
    write_config(
        &wrong,
        &work.path().join("kv3"),
        &format!("[security]\nca-path = {other:?}\ncert-path = {cert:?}\nkey-path = {key:?}\n"),
    );
    let err = run_fails(export(&wrong), Duration::from_secs(30)).await;
    assert!(
        err.contains("TLS handshake") && err.contains("ca-path"),
        "{err}"
    );

    // A worker without the TLS files cannot reach etcd or NATS.
    let sorted2 = work.path().join("w2-kv");
    let err = run_fails(
        squall(&[
            "worker",
            "--id",
            "w2",
            "--sorted-kv-dir",
            sorted2.to_str().unwrap(),
            "--etcd",
            &etcd_at,
            "--nats",
            &nats_at,
        ]),
        Duration::from_secs(90),
    )
    .await;
    assert!(err.contains("etcd"), "{err}");

    let exit = tokio::task::block_in_place(|| worker.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "worker exit: {exit}");
    let exit =
        tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "coordinator exit: {exit}");
    sim.shutdown().await;
}

fn write_config(path: &Path, sorted_kv_dir: &Path, extra: &str) {
    let text = format!(
        "[tikv-importer]\nsorted-kv-dir = {:?}\n\n{extra}",
        sorted_kv_dir.display().to_string()
    );
    std::fs::write(path, text).unwrap();
}

fn squall(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(SQUALL);
    cmd.args(args).kill_on_drop(true);
    cmd
}

fn spawn(name: &str, args: &[&str]) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.args(args);
    ProcessGuard::spawn(name, cmd).unwrap()
}

async fn run_ok(mut cmd: tokio::process::Command) -> Output {
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("finishes within 5 minutes")
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must fail within `limit`; returns its stderr.
async fn run_fails(mut cmd: tokio::process::Command, limit: Duration) -> String {
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not fail within {limit:?}"))
        .unwrap();
    assert!(
        !out.status.success(),
        "{cmd:?} succeeded:\n{}",
        stdout(&out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
