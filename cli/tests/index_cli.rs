//! `squall index check` and `squall index backfill` as the real binary:
//! exit 0 on a consistent table, exit 1 listing a planted missing entry
//! with its index and handle, a backfill that puts it back, and a unique
//! violation that fails the backfill naming the index, value and handles.

use std::path::Path;
use std::process::{Command, Output};

use squall_tests::kvproto::{delete, import, put, Pd};
use squall_tests::sim::{pd_addr, start_sim};

const SCHEMA: &str = "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `a` INT, \
                      `s` VARCHAR(10), KEY `ka` (`a`), UNIQUE KEY `us` (`s`));\n";
const ROWS: &str = "id,a,s\n1,5,x\n2,\\N,y\n3,5,\\N\n";

async fn squall(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_squall"))
            .args(&args)
            .output()
            .expect("run squall")
    })
    .await
    .expect("join")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dump dir");
    std::fs::write(dir.join("ic-schema-create.sql"), "CREATE DATABASE ic;\n").expect("write");
    std::fs::write(dir.join("ic.t-schema.sql"), SCHEMA).expect("write");
    std::fs::write(dir.join("ic.t.000000001.csv"), ROWS).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_commands_exit_codes_and_reports() {
    let work = tempfile::tempdir().expect("tempdir");
    let dump = work.path().join("dump");
    write_dump(&dump);
    std::fs::write(
        work.path().join("task.toml"),
        format!(
            "[mydumper.csv]\nheader = true\n[tikv-importer]\nsorted-kv-dir = \"{}\"\n",
            work.path().join("sorted").display()
        ),
    )
    .expect("config");
    let config = work.path().join("task.toml").display().to_string();
    let sim = start_sim(&work.path().join("sim")).await;
    let pd = pd_addr(&sim);
    let out_dir = work.path().join("out").display().to_string();
    let dump_s = dump.display().to_string();
    let imported = squall(args(&[
        "--config", &config, "import", "--source", &dump_s, "--pd", &pd, "--output", &out_dir,
    ]))
    .await;
    assert!(imported.status.success(), "{}", text(&imported));
    let checkpoint = work.path().join("out/checkpoint").display().to_string();
    let check = || {
        args(&[
            "--config",
            &config,
            "index",
            "check",
            "--pd",
            &pd,
            "--table",
            "ic.t",
            "--checkpoint",
            &checkpoint,
        ])
    };
    let clean = squall(check()).await;
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert!(text(&clean).contains("consistent"), "{}", text(&clean));

    // The stored KVs, to pick an entry of `ka` (key bytes 9..11 are `_i`).
    let kvs = squall(args(&[
        "--config",
        &config,
        "export",
        "--pd",
        &pd,
        "--table",
        "ic.t",
        "--checkpoint",
        &checkpoint,
        "--format",
        "kv",
    ]))
    .await;
    assert!(kvs.status.success(), "{}", text(&kvs));
    let listing = String::from_utf8(kvs.stdout).expect("utf-8");
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = listing
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (hex_bytes(k), hex_bytes(v)))
        .collect();
    let index_entries: Vec<&(Vec<u8>, Vec<u8>)> =
        pairs.iter().filter(|(k, _)| &k[9..11] == b"_i").collect();
    assert_eq!(index_entries.len(), 6, "{listing}");
    let gone = index_entries[0].0.clone();
    let mut kv = Pd::connect(&pd).await.expect("PD");
    let ts = kv.tso().await;
    import(&mut kv, vec![delete(&gone)], ts)
        .await
        .expect("plant");

    let found = squall(check()).await;
    assert_eq!(found.status.code(), Some(1), "{}", text(&found));
    let stdout = String::from_utf8_lossy(&found.stdout).to_string();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("missing entry in index"), "{stdout}");
    assert!(stdout.contains(&hex_string(&gone)), "{stdout}");

    let backfill = args(&[
        "--config",
        &config,
        "index",
        "backfill",
        "--pd",
        &pd,
        "--table",
        "ic.t",
        "--checkpoint",
        &checkpoint,
        "--batch-size",
        "1",
    ]);
    let built = squall(backfill.clone()).await;
    assert_eq!(built.status.code(), Some(0), "{}", text(&built));
    assert!(text(&built).contains("3 rows scanned"), "{}", text(&built));
    let again = squall(check()).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // Row 1 copied under handle 9: `us` holds 'x' twice.
    let (row1, value1) = pairs
        .iter()
        .find(|(k, _)| &k[9..11] == b"_r")
        .expect("a row");
    let mut copy = row1.clone();
    let n = copy.len();
    copy[n - 8..].copy_from_slice(&(9u64 ^ (1 << 63)).to_be_bytes());
    let ts = kv.tso().await;
    import(&mut kv, vec![put(&copy, value1)], ts)
        .await
        .expect("plant");
    let failed = squall(backfill).await;
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(
        text(&failed).contains(
            "unique index us: value (s='x') is held by the rows with handles 1 and 9: \
                       (id=1, a=5, s='x') and (id=9, a=5, s='x')"
        ),
        "{}",
        text(&failed)
    );
    sim.shutdown().await;
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
