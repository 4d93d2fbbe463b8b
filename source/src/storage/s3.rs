//! `s3://bucket/prefix` sources, configured the way TiDB Lightning (BR's
//! external storage URL) takes them:
//!
//! ```text
//! s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1
//!     &access-key=AK&secret-access-key=SK&force-path-style=true
//! ```
//!
//! URL parameters (`_` may stand for `-`, values URL-encoded: a `+` in a
//! secret key is `%2B`): `endpoint`, `region`, `access-key`,
//! `secret-access-key`, `session-token`, `force-path-style` (default true, as
//! in Lightning), `allow-http` (default: true for an `http://` endpoint),
//! `provider` (accepted and ignored). Anything the URL leaves out comes from
//! the standard environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL`), then from the instance's IAM role. The URL wins over
//! the environment. Secrets never reach a log or message: the store is named
//! by [`redact`]ed URL.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use super::percent_decode;
use crate::error::{ErrorKind, SourceError};

/// Parameters whose values are secrets: dropped by [`redact`].
const SECRET_PARAMS: &[&str] = &["access-key", "secret-access-key", "session-token"];
const PARAMS: &str = "endpoint, region, access-key, secret-access-key, session-token, \
                      force-path-style, allow-http, provider";

/// Whole-request timeout: a ranged GET is at most 4 MiB
/// (`remote::BLOCK`, done in under a second on any working link) and a
/// LIST page 1000 keys, so a minute only cuts connections that stalled,
/// which are then retried instead of hanging a worker.
const REQUEST_TIMEOUT: &str = "60s";
/// TCP + TLS connect: milliseconds in-region or on a LAN; five seconds
/// means a wrong or dead endpoint, reported after the retries below.
const CONNECT_TIMEOUT: &str = "5s";

/// Retries of one request (5xx, throttling, connection and body errors,
/// timeouts), logged by object_store at info. A source error fails the
/// engine for good (`TaskError::Source` is final), so these are the retries
/// that ride out a blip: 6 retries with backoff 0.2 s doubling to 4 s sleep
/// about 10 s in all, enough for a throttled or restarting endpoint while a
/// wrong endpoint still fails within half a minute. `retry_timeout` bounds
/// the total, also for requests that each ran into the timeout.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(4),
            base: 2.0,
        },
        max_retries: 6,
        retry_timeout: Duration::from_secs(120),
    }
}

/// A parsed `s3://` URL: parameter names normalised (`_` → `-`, lower
/// case), values decoded.
struct S3Url {
    bucket: String,
    prefix: String,
    params: Vec<(String, String)>,
}

fn split(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split_once('?').unwrap_or((rest, ""))
}

fn param_name(raw: &str) -> String {
    percent_decode(raw).to_ascii_lowercase().replace('_', "-")
}

/// A query value as Go's `url.Query()` (what Lightning uses) decodes it.
fn param_value(raw: &str) -> String {
    percent_decode(&raw.replace('+', " "))
}

fn parse(url: &str) -> S3Url {
    let (base, query) = split(url);
    let (bucket, prefix) = base.split_once('/').unwrap_or((base, ""));
    let params = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (param_name(k), param_value(v))
        })
        .collect();
    S3Url {
        bucket: bucket.to_string(),
        prefix: percent_decode(prefix.trim_matches('/')),
        params,
    }
}

/// The URL without credentials, its other parameters decoded, named
/// canonically and sorted: what logs, messages, checkpoints and the job ID
/// see.
pub(crate) fn redact(url: &str) -> String {
    let scheme = url.split_once("://").map_or("s3", |(s, _)| s);
    let (base, _) = split(url);
    // Never echo `user:password@` either, though nothing here reads it.
    let base = base.rsplit_once('@').map_or(base, |(_, b)| b);
    let mut kept: Vec<String> = parse(url)
        .params
        .into_iter()
        .filter(|(name, _)| !SECRET_PARAMS.contains(&name.as_str()))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    kept.sort_unstable();
    match kept.is_empty() {
        true => format!("{scheme}://{base}"),
        false => format!("{scheme}://{base}?{}", kept.join("&")),
    }
}

fn bad(shown: &str, reason: impl std::fmt::Display) -> SourceError {
    SourceError::new(
        ErrorKind::Io,
        "",
        format!("data-source-dir {shown}: {reason}"),
    )
}

fn parse_bool(shown: &str, name: &str, value: &str) -> Result<bool, SourceError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(shown, format!("{name}={value:?} is not true or false"))),
    }
}

/// `scheme://bucket.host…` for virtual-hosted-style requests, where
/// object_store takes the endpoint as the bucket's own.
fn bucket_endpoint(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
        None => endpoint.to_string(),
    }
}

/// What the URL says beyond the builder's own settings.
#[derive(Default)]
struct Connection {
    endpoint: Option<String>,
    path_style: Option<bool>,
    allow_http: Option<bool>,
}

/// Applies the URL's parameters over the environment's settings.
fn apply_params(
    mut builder: AmazonS3Builder,
    params: &[(String, String)],
    shown: &str,
) -> Result<(AmazonS3Builder, Connection), SourceError> {
    let mut conn = Connection::default();
    for (name, value) in params {
        builder = match name.as_str() {
            "region" => builder.with_region(value),
            "access-key" => builder.with_access_key_id(value),
            "secret-access-key" => builder.with_secret_access_key(value),
            "session-token" => builder.with_token(value),
            "endpoint" => {
                conn.endpoint = Some(value.clone());
                builder
            }
            "force-path-style" => {
                conn.path_style = Some(parse_bool(shown, name, value)?);
                builder
            }
            "allow-http" => {
                conn.allow_http = Some(parse_bool(shown, name, value)?);
                builder
            }
            // Lightning's hint to its SDK (aws, minio, ks, …); the endpoint
            // says all object_store needs.
            "provider" => builder,
            other => {
                let reason = format!("URL parameter {other:?} is not supported ({PARAMS})");
                let text = format!("data-source-dir {shown}: {reason}");
                return Err(SourceError::new(ErrorKind::Unsupported, "", text));
            }
        };
    }
    Ok((builder, conn))
}

/// Endpoint, addressing style and plain HTTP, as Lightning derives them.
fn apply_connection(
    mut builder: AmazonS3Builder,
    mut conn: Connection,
    bucket: &str,
    shown: &str,
) -> Result<(AmazonS3Builder, Option<String>), SourceError> {
    let endpoint = conn
        .endpoint
        .take()
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    if let Some(ep) = &endpoint {
        if !ep.starts_with("http://") && !ep.starts_with("https://") {
            let reason = format!("endpoint {ep:?} must start with http:// or https://");
            return Err(bad(shown, reason));
        }
        let ep = match conn.path_style {
            Some(false) => bucket_endpoint(ep, bucket),
            _ => ep.clone(),
        };
        builder = builder.with_endpoint(ep);
    }
    if let Some(path_style) = conn.path_style {
        builder = builder.with_virtual_hosted_style_request(!path_style);
    }
    let http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    if let Some(allow) = conn.allow_http.or(http.then_some(true)) {
        builder = builder.with_allow_http(allow);
    }
    Ok((builder, endpoint))
}

/// The store for `url` (rooted at its prefix) and its redacted name.
pub(crate) fn open(url: &str) -> Result<(Arc<dyn ObjectStore>, String), SourceError> {
    let shown = redact(url);
    let parsed = parse(url);
    if parsed.bucket.is_empty() || parsed.bucket.contains('@') {
        return Err(bad(&shown, "expected s3://bucket/prefix"));
    }
    let builder = AmazonS3Builder::from_env().with_bucket_name(&parsed.bucket);
    let (builder, conn) = apply_params(builder, &parsed.params, &shown)?;
    let (builder, endpoint) = apply_connection(builder, conn, &parsed.bucket, &shown)?;
    let client = |key| AmazonS3ConfigKey::Client(key);
    let s3 = builder
        .with_retry(retry_config())
        .with_config(client(ClientConfigKey::Timeout), REQUEST_TIMEOUT)
        .with_config(client(ClientConfigKey::ConnectTimeout), CONNECT_TIMEOUT)
        .build()
        .map_err(|e| {
            bad(
                &shown,
                format!("{e}; check the bucket, endpoint and region"),
            )
        })?;
    let from_url = parsed.params.iter().any(|(k, _)| k == "access-key");
    tracing::info!(
        source = %shown,
        endpoint = endpoint.as_deref().unwrap_or("AWS"),
        credentials = if from_url { "URL" } else { "environment" },
        "reading the source from S3"
    );
    if parsed.prefix.is_empty() {
        return Ok((Arc::new(s3), shown));
    }
    let prefix = StorePath::parse(&parsed.prefix)
        .map_err(|e| bad(&shown, format!("bad prefix {:?}: {e}", parsed.prefix)))?;
    Ok((Arc::new(PrefixStore::new(s3, prefix)), shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lightning_style_urls() {
        let u = parse("s3://bkt/a/b/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&Secret_Access_Key=x%2By+z&force-path-style=true");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("bkt", "a/b"));
        assert_eq!(
            u.params,
            vec![
                ("endpoint".to_string(), "http://127.0.0.1:9000".to_string()),
                ("secret-access-key".to_string(), "x+y z".to_string()),
                ("force-path-style".to_string(), "true".to_string()),
            ]
        );
        assert_eq!(parse("s3://bkt").prefix, "");
    }

    #[test]
    fn redaction_drops_every_secret_and_sorts_the_rest() {
        let url = "s3://bkt/dump?secret-access-key=SeCrEt&region=r1&access_key=AKID&endpoint=http%3A%2F%2Fh:1&session-token=TOK";
        let shown = redact(url);
        assert_eq!(shown, "s3://bkt/dump?endpoint=http://h:1&region=r1");
        for secret in ["SeCrEt", "AKID", "TOK"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(redact("s3://user:pw@bkt/x"), "s3://bkt/x");
        assert_eq!(
            redact("s3://bkt/x?region=b&endpoint=a"),
            redact("s3://bkt/x?endpoint=a&region=b&access-key=K")
        );
    }

    #[test]
    fn refuses_unknown_parameters_and_bad_endpoints_without_leaking() {
        let err = open("s3://bkt/p?secret-access-key=SeCrEt&role-arn=x").expect_err("role-arn");
        assert_eq!(err.kind, ErrorKind::Unsupported);
        let text = err.to_string();
        assert!(
            text.contains("role-arn") && text.contains("s3://bkt/p"),
            "{text}"
        );
        assert!(!text.contains("SeCrEt"), "{text}");
        let err = open("s3://bkt/p?endpoint=127.0.0.1:9000").expect_err("scheme");
        assert!(err.to_string().contains("http://"), "{err}");
        assert!(open("s3:///p").is_err());
    }

    #[test]
    fn virtual_hosted_style_puts_the_bucket_in_the_host() {
        assert_eq!(
            bucket_endpoint("https://s3.example.com:9000", "b"),
            "https://b.s3.example.com:9000"
        );
    }
}
