//! [`MotoServer`]: a real S3-compatible server (`moto_server`, PyPI
//! `moto[server]`, installed by `scripts/setup.sh`) on a free loopback port,
//! killed on drop, for tests of `s3://` sources.
//!
//! `start` creates an IAM user with an access key and an allow-all policy
//! and the buckets asked for; clients sign with that key. Moto checks no
//! signature until [`MotoServer::enforce_signatures`] turns authentication
//! on (`/moto-api/reset-auth`); from then on a wrong secret gets
//! `SignatureDoesNotMatch` and an unknown key `InvalidAccessKeyId`, like S3.
//! But moto 5 then also refuses valid signatures of requests whose query
//! holds an encoded `/` (a LIST under a prefix: `prefix=dir%2F`; boto3's
//! fail the same way), so tests of prefixes run without enforcement and
//! credential tests use bucket-root URLs.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};

/// The region the test URLs name (moto accepts any).
pub const REGION: &str = "us-east-1";
/// How long moto (a Python process) may take to answer after its start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Deadline of one setup call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 5;
const LOG_TAIL: usize = 2000;

/// The `Authorization` header moto routes an unsigned setup call by (it
/// reads the service from the credential scope; nothing is verified yet).
fn setup_auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=setup/20240101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

/// A running moto server owned by a test. Drop kills it and removes its dir.
pub struct MotoServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    access_key: String,
    secret_key: String,
}

/// Starts moto with `buckets`, or skips the test (reason printed) when
/// `moto_server` is not installed; under `CI=true` a missing server fails.
pub fn start_moto_or_skip(buckets: &[&str]) -> Option<MotoServer> {
    match MotoServer::start(buckets) {
        Ok(server) => Some(server),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::skip(&e.to_string());
            None
        }
        Err(e) => panic!("cannot start moto_server: {e}"),
    }
}

impl MotoServer {
    /// Starts `moto_server` on a free loopback port, waits until it answers
    /// HTTP, and creates the IAM user and `buckets`.
    /// A missing binary is `ErrorKind::NotFound` naming `scripts/setup.sh`.
    pub fn start(buckets: &[&str]) -> io::Result<Self> {
        let bin = crate::find_binary("moto_server").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "moto_server not found on PATH: run scripts/setup.sh \
                 (pip3 install 'moto[server]')",
            )
        })?;
        let mut attempt = 1;
        let mut server = loop {
            match Self::spawn(&bin) {
                Err(e) if attempt < START_ATTEMPTS && e.to_string().contains("already in use") => {
                    eprintln!("moto: port taken before the server bound it, new port: {e}");
                    attempt += 1;
                }
                other => break other?,
            }
        };
        server.set_up(buckets)?;
        Ok(server)
    }

    fn spawn(bin: &Path) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("squall-moto-").tempdir()?;
        let log = File::create(dir.path().join("moto.log"))?;
        let port = crate::free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawn {}: {e}", bin.display())))?;
        let mut server = Self {
            dir,
            port,
            child: Some(child),
            access_key: String::new(),
            secret_key: String::new(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// A Lightning-style source URL with this server's endpoint and
    /// credentials in its query.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        self.url_with(bucket, prefix, &self.access_key, &self.secret_key)
    }

    /// [`Self::url`] with other credentials (to test refusals).
    pub fn url_with(&self, bucket: &str, prefix: &str, key: &str, secret: &str) -> String {
        format!(
            "s3://{bucket}/{prefix}?endpoint={}&region={REGION}&force-path-style=true\
             &access-key={}&secret-access-key={}",
            query_encode(&self.endpoint()),
            query_encode(key),
            query_encode(secret)
        )
    }

    /// A signed client of `bucket`, for uploads.
    pub fn client(&self, bucket: &str) -> io::Result<AmazonS3> {
        AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region(REGION)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .build()
            .map_err(io::Error::other)
    }

    /// Uploads one object.
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        let location = StorePath::parse(key).map_err(io::Error::other)?;
        self.client(bucket)?
            .put(&location, PutPayload::from(bytes))
            .await
            .map_err(|e| io::Error::other(format!("PUT s3://{bucket}/{key}: {e}")))?;
        Ok(())
    }

    /// Uploads every file under `dir` as `prefix/<relative path>`; returns
    /// how many.
    pub async fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) -> io::Result<usize> {
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        for file in &files {
            let rel = file.strip_prefix(dir).map_err(io::Error::other)?;
            let rel: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
            let key = format!("{}/{}", prefix.trim_matches('/'), rel.join("/"));
            self.put(bucket, key.trim_start_matches('/'), std::fs::read(file)?)
                .await?;
        }
        Ok(files.len())
    }

    /// From now on every call must be signed with this server's key (see the
    /// module comment for what moto then gets wrong).
    pub fn enforce_signatures(&self) -> io::Result<()> {
        let text = ("Content-Type", "text/plain");
        self.expect_ok("POST", "/moto-api/reset-auth", &[text], b"0")?;
        Ok(())
    }

    /// Kills moto (SIGKILL) and waits for it. Idempotent.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            child.wait()?;
        }
        Ok(())
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            // Any HTTP answer means the server serves.
            if self.call("GET", "/moto-api/", &[], b"").is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(self.start_failed(&format!("moto_server exited with {status}")));
                }
            }
            if Instant::now() >= deadline {
                let _ = self.stop();
                return Err(self.start_failed(&format!("no answer within {READY_TIMEOUT:?}")));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    fn set_up(&mut self, buckets: &[&str]) -> io::Result<()> {
        let iam = setup_auth("iam");
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let call = |body: String| -> io::Result<String> {
            let body = format!("{body}&Version=2010-05-08");
            self.expect_ok(
                "POST",
                "/",
                &[("Authorization", &iam), form],
                body.as_bytes(),
            )
        };
        call("Action=CreateUser&UserName=squall".into())?;
        let created = call("Action=CreateAccessKey&UserName=squall".into())?;
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        call(format!(
            "Action=PutUserPolicy&UserName=squall&PolicyName=all&PolicyDocument={}",
            query_encode(policy)
        ))?;
        let s3 = setup_auth("s3");
        for bucket in buckets {
            self.expect_ok("PUT", &format!("/{bucket}"), &[("Authorization", &s3)], b"")?;
        }
        self.access_key = xml_value(&created, "AccessKeyId")?;
        self.secret_key = xml_value(&created, "SecretAccessKey")?;
        Ok(())
    }

    fn expect_ok(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<String> {
        let (status, text) = self.call(method, path, headers, body)?;
        if !(200..300).contains(&status) {
            return Err(self.start_failed(&format!("{method} {path}: status {status}: {text}")));
        }
        Ok(text)
    }

    /// One HTTP/1.1 exchange (connection closed after it): status and body.
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.addr(), CALL_TIMEOUT)?;
        stream.set_read_timeout(Some(CALL_TIMEOUT))?;
        stream.set_write_timeout(Some(CALL_TIMEOUT))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .strip_prefix("HTTP/1.")
            .and_then(|t| t.get(2..5))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("not an HTTP answer: {text:.200}")))?;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok((status, body.to_string()))
    }

    fn start_failed(&self, what: &str) -> io::Error {
        let log = std::fs::read(self.dir.path().join("moto.log")).unwrap_or_default();
        let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(LOG_TAIL)..]).into_owned();
        io::Error::other(format!(
            "moto_server at {}: {what}; log tail:\n{tail}",
            self.endpoint()
        ))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn xml_value(xml: &str, tag: &str) -> io::Result<String> {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .ok_or_else(|| io::Error::other(format!("no <{tag}> in {xml:.300}")))?;
    let len = xml[start..]
        .find('<')
        .ok_or_else(|| io::Error::other(format!("unterminated <{tag}>")))?;
    Ok(xml[start..start + len].to_string())
}
