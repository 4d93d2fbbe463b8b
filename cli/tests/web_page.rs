//! The coordinator's web page in a real browser (issue 14): headless
//! Chromium, driven over WebDriver by Debian's chromedriver, opens the page
//! of a `squall coordinator` while two `squall worker` processes import a
//! dump (real etcd, nats-server and an in-process tikv-sim). The page must
//! show a table's progress moving, its Pause button must pause the job (the
//! API then says `control: paused`), and after Resume the job must end
//! verified, its engine ranges (`squall.engine-ranges` is on) shown all
//! ingested in the API and on the page. Screenshots are kept under `<target>/<profile>/web-page/`;
//! `SQUALL_WEB_SCREENSHOT=docs/img/web-page.png` also copies the one taken
//! mid-import there (the README's picture).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_tests::http::request;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{
    find_binary, free_addr, free_port, servers_installed, target_profile_dir, ProcessGuard,
};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
/// Enough source for many small engines (`batch-size` below), so the job
/// is still importing when the test clicks Pause.
const DUMP_SIZE: &str = "16MiB";
const WAIT: Duration = Duration::from_secs(120);
const WINDOW: (u32, u32) = (1280, 800);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_page_shows_progress_and_pauses_and_resumes_the_job() {
    if !servers_installed(&["etcd", "nats-server", "chromium", "chromedriver"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    let dump_arg = dump.display().to_string();
    run_ok(&[
        "gen-dump",
        "--dataset",
        "shop",
        "--size",
        DUMP_SIZE,
        "--file-size",
        "256KiB",
        "--out",
        &dump_arg,
    ]);
    let config = work.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = \"256KiB\"\n\n\
             [squall]\nengine-ranges = true\n",
            work.path().join("coordinator-kv").display().to_string()
        ),
    )
    .unwrap();

    let etcd = EtcdServer::start().expect("etcd starts");
    let nats = NatsServer::start().expect("nats-server starts");
    let sim = start_sim(&work.path().join("sim")).await;
    let (etcd_at, nats_at) = (etcd.endpoint(), nats.url());
    let servers = ["--etcd", etcd_at.as_str(), "--nats", nats_at.as_str()];
    let api = free_addr();
    let mut cmd = Command::new(SQUALL);
    cmd.args(["coordinator", "--listen", &api.to_string()])
        .args(servers);
    let mut coordinator = ProcessGuard::spawn("coordinator", cmd).unwrap();
    wait_line(&mut coordinator, "coordinator elected leader");
    let mut workers = Vec::new();
    for id in ["w1", "w2"] {
        let mut cmd = Command::new(SQUALL);
        cmd.args([
            "worker",
            "--id",
            id,
            "--concurrency",
            "1",
            "--sorted-kv-dir",
        ])
        .arg(work.path().join(format!("{id}-kv")))
        .arg("--output")
        .arg(work.path().join(format!("{id}-out")))
        .args(servers);
        let mut w = ProcessGuard::spawn(id, cmd).unwrap();
        wait_line(&mut w, "worker ready");
        workers.push(w);
    }

    // The browser first, so its start-up does not eat into the import.
    let driver = ChromeDriver::start(work.path()).await;
    let page = driver.session().await;
    page.goto(&format!("http://{api}/")).await.unwrap();
    let title = page.title().await.unwrap();
    assert_eq!(title, "Squall", "the coordinator serves its page at /");
    poll(&page, "the page says there is no job yet", NO_JOBS, |v| {
        (v == true).then_some(())
    })
    .await;

    let mut import = Command::new(SQUALL);
    import
        .arg("--config")
        .arg(&config)
        .args(["import", "--source", &dump_arg, "--pd", &pd_addr(&sim)])
        .arg("--output")
        .arg(work.path().join("out"))
        .args([
            "--progress",
            "log",
            "--coordinator",
            &format!("http://{api}"),
        ]);
    let mut import = ProcessGuard::spawn("import", import).unwrap();

    // The page picks the running job by itself.
    let job_id = poll(&page, "the page shows the submitted job", SHOWN_JOB, |v| {
        v.as_str().map(str::to_string)
    })
    .await;
    eprintln!("job {job_id} on the page");
    poll(&page, "the page lists both workers", WORKERS, |v| {
        (v == &json!(["w1", "w2"])).then_some(())
    })
    .await;

    // Progress moves: some table's bytes and bar grow between two reads.
    let first = poll(&page, "the page lists the job's tables", TABLE_ROWS, |v| {
        let rows = table_rows(v);
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    let (before, after) = poll(&page, "a table's progress moves", TABLE_ROWS, |v| {
        table_rows(v).into_iter().find_map(|now| {
            let then = first.iter().find(|t| t.name == now.name)?;
            (now.done_bytes > then.done_bytes && now.bar_percent > then.bar_percent)
                .then(|| (then.clone(), now))
        })
    })
    .await;
    eprintln!(
        "{}: {} -> {} bytes done, bar {:.1}% -> {:.1}%",
        after.name, before.done_bytes, after.done_bytes, before.bar_percent, after.bar_percent
    );
    assert!(after.done_bytes <= after.source_bytes, "{after:?}");
    screenshot(&page, "web-page-progress.png").await;

    // Pause: the click reaches the API, which then says paused, and so
    // does the page.
    click_when_enabled(&page, "pause").await;
    let paused = poll_api(api, &job_id, "the job paused after the Pause click", |s| {
        s["control"] == "paused"
    })
    .await;
    assert_ne!(paused["verified"], true, "paused before the end: {paused}");
    poll(&page, "the page shows the job paused", JOB_STATUS, |v| {
        (v.as_str() == Some("paused")).then_some(())
    })
    .await;
    screenshot(&page, "web-page-paused.png").await;

    // Resume: the job goes on and ends verified. On the way, once a good
    // part is imported, the picture for the README.
    click_when_enabled(&page, "resume").await;
    let shown = poll(&page, "the import goes on after Resume", ENCODED, |v| {
        let (status, percent) = (v["status"].as_str()?, v["percent"].as_f64()?);
        (status == "verified" || (status == "running" && percent >= 40.0))
            .then(|| format!("{status} at {percent:.0}% encoded"))
    })
    .await;
    let picture = screenshot(&page, "web-page.png").await;
    eprintln!("README picture: {shown}");
    if let Ok(dest) = std::env::var("SQUALL_WEB_SCREENSHOT") {
        // Relative to the checkout, not to the test's working directory.
        let dest = squall_tests::workspace_root().join(dest);
        std::fs::copy(&picture, &dest).unwrap();
        eprintln!("screenshot copied to {}", dest.display());
    }
    let done = poll_api(api, &job_id, "the job verified after Resume", |s| {
        assert!(s["error"].is_null(), "the job failed: {s}");
        s["verified"] == true
    })
    .await;
    assert_eq!(done["running"], false, "{done}");
    poll(&page, "the page shows the job verified", JOB_STATUS, |v| {
        (v.as_str() == Some("verified")).then_some(())
    })
    .await;
    screenshot(&page, "web-page-verified.png").await;
    // The job's engine ranges: the API's figures, and the page's bar of them.
    let ranges = &done["ranges"];
    let total = ranges["ranges_total"].as_u64().unwrap_or(0);
    assert!(total > 0, "the job has engine ranges: {ranges}");
    assert_eq!(ranges["ranges_done"], total, "{ranges}");
    let want = format!("{total} / {total} ingested");
    let shown = poll(&page, "the page shows the ranges ingested", RANGES, |v| {
        let text = v["text"].as_str()?;
        (v["shown"] == true && text.starts_with(&want) && v["percent"].as_f64()? == 100.0)
            .then(|| text.to_string())
    })
    .await;
    eprintln!("ranges on the page: {shown}");
    // Whoever submitted the job saw it through the pause to the end.
    wait_line(&mut import, "imported and verified");

    page.close().await.unwrap();
    drop(driver);
    drop(import);
    for w in workers {
        tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
    }
    tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    sim.shutdown().await;
}

/// What the page shows of one table.
#[derive(Debug, Clone)]
struct TableRow {
    name: String,
    done_bytes: u64,
    source_bytes: u64,
    bar_percent: f64,
}

/// The page's note for a coordinator without jobs is shown.
const NO_JOBS: &str = "return !document.getElementById('no-jobs').hidden";

/// The workers listed, by id.
const WORKERS: &str = "return Array.from(document.querySelectorAll('#workers tr[data-worker]'))
    .map(r => r.dataset.worker).sort()";

/// The job the page shows.
const SHOWN_JOB: &str = "const job = document.getElementById('job');
    return job.hidden ? null : job.dataset.jobId || null";

/// The job's status badge: running, paused, verified...
const JOB_STATUS: &str = "return document.getElementById('job-status').textContent";

/// The badge and the width of the overall `encoded` bar.
const ENCODED: &str = "return {
    status: document.getElementById('job-status').textContent,
    percent: parseFloat(document.getElementById('bar-encoded').style.width) || 0,
}";

/// The engine ranges' figure: shown, its text and its bar's width.
const RANGES: &str = "return {
    shown: !document.getElementById('ranges-figure').hidden,
    text: document.getElementById('ranges-done').textContent,
    percent: parseFloat(document.getElementById('bar-ranges').style.width) || 0,
}";

/// Each table row: its bytes done and source (`data-*`), and its bar.
const TABLE_ROWS: &str =
    "return Array.from(document.querySelectorAll('#tables tr[data-table]')).map(r => ({
    name: r.dataset.table,
    done: Number(r.dataset.doneBytes),
    source: Number(r.dataset.sourceBytes),
    bar: parseFloat(r.querySelector('.bar .fill').style.width),
}))";

fn table_rows(v: &Value) -> Vec<TableRow> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|r| TableRow {
            name: r["name"].as_str().unwrap().to_string(),
            done_bytes: r["done"].as_u64().unwrap(),
            source_bytes: r["source"].as_u64().unwrap(),
            bar_percent: r["bar"].as_f64().unwrap(),
        })
        .collect()
}

/// Runs `script` in the page every 200 ms until `check` takes its value.
async fn poll<T>(
    page: &Client,
    what: &str,
    script: &str,
    mut check: impl FnMut(&Value) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        last = page.execute(script, vec![]).await.unwrap();
        if let Some(found) = check(&last) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shown = page
        .execute("return document.body.innerText", vec![])
        .await
        .unwrap_or_default();
    panic!("{what}: not within {WAIT:?}; last read {last}\npage:\n{shown}");
}

/// Reads `GET /jobs/{id}` every 250 ms until `done` holds.
async fn poll_api(
    api: SocketAddr,
    job_id: &str,
    what: &str,
    mut done: impl FnMut(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        let r = request(
            api,
            "GET",
            &format!("/jobs/{job_id}"),
            "",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        last = serde_json::from_str(&r.body).unwrap();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not within {:?}; last status {last}", WAIT * 2);
}

/// Clicks a button once the page has enabled it (it does so from the
/// job's state, on its next poll).
async fn click_when_enabled(page: &Client, id: &str) {
    let css = format!("#{id}:not([disabled])");
    let button = tokio::time::timeout(WAIT, page.wait().forever().for_element(Locator::Css(&css)))
        .await
        .unwrap_or_else(|_| panic!("#{id} not enabled within {WAIT:?}"))
        .unwrap();
    button.click().await.unwrap();
    eprintln!("clicked {id}");
}

/// Saves the whole page as PNG under `<target>/<profile>/web-page/`: the
/// window is first made as tall as the page (plus the window's own frame).
async fn screenshot(page: &Client, name: &str) -> PathBuf {
    let height = page
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    page.set_window_size(WINDOW.0, height as u32).await.unwrap();
    let png = page.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = target_profile_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("web-page");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

/// Debian's chromedriver on a free port, with the Chromium it starts. On
/// drop it and every process it started are killed (by pid), so no browser
/// outlives a failed test.
struct ChromeDriver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl ChromeDriver {
    async fn start(work: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(work.join("chromedriver.log")).unwrap();
        let child = Command::new(find_binary("chromedriver").unwrap())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium: find_binary("chromium").unwrap(),
        };
        driver
            .wait_ready(SocketAddr::from(([127, 0, 0, 1], port)))
            .await;
        driver
    }

    /// Polls `GET /status` until chromedriver says it is ready.
    async fn wait_ready(&self, addr: SocketAddr) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let probe = tokio::time::timeout(Duration::from_secs(2), status_ready(addr)).await;
            if matches!(probe, Ok(Ok(true))) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver not ready within 30 s: {probe:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless browser session. Chromium as root needs
    /// `--no-sandbox`; `/dev/shm` is small in containers.
    async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium.display().to_string(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                ],
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let mut pids = descendants(self.child.id());
        pids.push(self.child.id());
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

/// Every process below `root` (from /proc's parent links).
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// One `GET /status`: whether its JSON says `ready`. chromedriver keeps
/// the connection open, so the answer is read up to the end of its JSON.
async fn status_ready(addr: SocketAddr) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    let head = format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(head.as_bytes()).await?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).await?;
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw);
        if let Some((_, body)) = text.split_once("\r\n\r\n") {
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                return Ok(v["value"]["ready"] == true);
            }
        }
        if n == 0 {
            return Ok(false);
        }
    }
}

fn run_ok(args: &[&str]) {
    let out = Command::new(SQUALL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "squall {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_line(p: &mut ProcessGuard, line: &str) {
    tokio::task::block_in_place(|| p.wait_for_line(line, WAIT))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output().join("\n")));
}
