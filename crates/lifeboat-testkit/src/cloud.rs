//! Real object storage on loopback for cloud tests and examples: moto and s3s-fs (S3) and
//! Azurite (Azure Blob), started by `scripts/servers.sh`, and uploads of a [`BackupSet`]
//! folder to a fresh bucket or container.
//!
//! [`servers`] starts the three servers once per process (or reads the env file named by
//! `LIFEBOAT_TEST_SERVERS_ENV`, for servers someone already runs). The script's watcher stops
//! them when this process exits, so none outlives `cargo test`. A server that cannot be
//! installed or started panics: a cloud test never passes by skipping.
//!
//! Every client here is built from explicit configuration, never `from_env()`: a developer's
//! `AWS_*` / `AZURE_*` variables must not change what a test talks to.
//!
//! [`BackupSet`]: crate::BackupSet

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::path::{Path as StorePath, PathPart};
use object_store::signer::Signer as _;
use object_store::{ObjectStore, ObjectStoreExt as _, RetryConfig};

/// Names the env file of servers that are already running; unset, [`servers`] starts them.
pub const SERVERS_ENV_VAR: &str = "LIFEBOAT_TEST_SERVERS_ENV";

/// An S3 API server and credentials it accepts.
#[derive(Clone, Debug)]
pub struct S3Server {
    /// `moto` or `s3s-fs`.
    pub name: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Whether the server checks request signatures (s3s-fs does, moto does not).
    pub checks_signatures: bool,
}

/// An Azure Blob API server (Azurite) and the account it serves.
#[derive(Clone, Debug)]
pub struct AzureServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub account: String,
    /// Base64 shared key of [`AzureServer::account`].
    pub key: String,
}

/// The three servers of one `scripts/servers.sh start`.
#[derive(Debug)]
pub struct Servers {
    pub moto: S3Server,
    pub s3s: S3Server,
    pub azurite: AzureServer,
    /// Where the servers keep their data and logs.
    pub run_dir: PathBuf,
}

/// The servers for this process: started on first use, or read from `$LIFEBOAT_TEST_SERVERS_ENV`.
/// Panics with the script's output when they cannot be started.
pub fn servers() -> &'static Servers {
    // The outcome is kept, failure included: every test that asks after a failed start fails
    // with the same message instead of trying (and installing) again.
    static SERVERS: OnceLock<Result<Servers, String>> = OnceLock::new();
    let started = SERVERS.get_or_init(|| {
        let env = match std::env::var_os(SERVERS_ENV_VAR) {
            Some(file) => read_env_file(Path::new(&file))?,
            None => start_servers()?,
        };
        Servers::from_env(&env)
    });
    match started {
        Ok(servers) => servers,
        Err(e) => panic!("{e}"),
    }
}

/// The repository root (this crate lives in `crates/lifeboat-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_servers() -> Result<HashMap<String, String>, String> {
    let run_dir = std::env::temp_dir().join(format!(
        "lifeboat-servers-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    let script = repo_root().join("scripts/servers.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg("--run-dir")
        .arg(&run_dir)
        .arg("--watch-pid")
        .arg(std::process::id().to_string())
        .arg("--ephemeral")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} start failed ({}); the cloud tests need moto, s3s-fs and Azurite\n--- stderr\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    read_env_file(&run_dir.join("env"))
}

/// Reads `KEY='VALUE'` lines (the format `scripts/servers.sh` writes).
pub fn read_env_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("read servers env file {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| format!("{}: not KEY=VALUE: {l}", path.display()))?;
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}

impl Servers {
    /// The servers described by an env file `scripts/servers.sh start` wrote.
    pub fn from_env_file(path: &Path) -> Result<Self, String> {
        Servers::from_env(&read_env_file(path)?)
    }

    fn from_env(env: &HashMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| {
            env.get(k)
                .cloned()
                .ok_or_else(|| format!("servers env file has no {k}"))
        };
        Ok(Servers {
            // moto takes any key pair; these are distinctive so a leak search can find them.
            moto: S3Server {
                name: "moto",
                endpoint: get("LIFEBOAT_MOTO_ENDPOINT")?,
                region: "us-east-1".into(),
                access_key_id: "lbmotokey".into(),
                secret_access_key: format!("lbmotosecret{}", unique_suffix()),
                checks_signatures: false,
            },
            s3s: S3Server {
                name: "s3s-fs",
                endpoint: get("LIFEBOAT_S3S_ENDPOINT")?,
                region: "us-east-1".into(),
                access_key_id: get("LIFEBOAT_S3S_ACCESS_KEY_ID")?,
                secret_access_key: get("LIFEBOAT_S3S_SECRET_ACCESS_KEY")?,
                checks_signatures: true,
            },
            azurite: AzureServer {
                endpoint: get("LIFEBOAT_AZURITE_ENDPOINT")?,
                account: get("LIFEBOAT_AZURITE_ACCOUNT")?,
                key: get("LIFEBOAT_AZURITE_KEY")?,
            },
            run_dir: PathBuf::from(get("LIFEBOAT_SERVERS_RUN_DIR")?),
        })
    }
}

/// A bucket / container name no other test (in this process or another) uses: lowercase
/// letters, digits and single hyphens, at most 63 characters, as both S3 and Azure require.
pub fn unique_name(tag: &str) -> String {
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let tag = tag.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let mut name = format!("lb-{}-{}", unique_suffix(), tag.join("-"));
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// Process id, a per-process counter and clock bits: unique across parallel test processes.
fn unique_suffix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{:x}{n:x}{:x}", std::process::id(), nanos & 0xfff)
}

/// Few quick retries: these are loopback servers, and a failure should show at once.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        ..RetryConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl S3Server {
    /// An object_store client for `bucket`, from explicit configuration only.
    pub fn store(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(&self.region)
            .with_bucket_name(bucket)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_virtual_hosted_style_request(false)
            .with_retry(retry())
            .build()
            .unwrap_or_else(|e| panic!("{} client for bucket {bucket}: {e}", self.name))
    }

    /// A SigV4-presigned `PUT /BUCKET/` (a bucket's creation) with this server's credentials.
    fn presigned_bucket_put(&self, bucket: &str) -> url::Url {
        runtime()
            .block_on(self.store(bucket).signed_url(
                object_store::signer::Method::PUT,
                &StorePath::default(),
                Duration::from_secs(300),
            ))
            .unwrap_or_else(|e| panic!("presign create of bucket {bucket}: {e}"))
    }

    /// Creates `bucket` with one SigV4-presigned `PUT /BUCKET/` (object_store has no
    /// create-bucket call). Panics unless the server answers 2xx.
    pub fn create_bucket(&self, bucket: &str) {
        let url = self.presigned_bucket_put(bucket);
        let (status, body) = http_request("PUT", url.as_str(), &[]);
        assert!(
            (200..300).contains(&status),
            "{}: creating bucket {bucket} answered {status}: {body}",
            self.name
        );
    }

    /// Creates `bucket` with S3 Object Lock enabled (`x-amz-bucket-object-lock-enabled: true`
    /// on the create, as `aws s3api create-bucket --object-lock-enabled-for-bucket` sends;
    /// which also turns versioning on). moto implements object lock; the test servers' other
    /// S3, s3s-fs, does not.
    pub fn create_locked_bucket(&self, bucket: &str) {
        let url = self.presigned_bucket_put(bucket);
        let (status, body) = http_request(
            "PUT",
            url.as_str(),
            &[("x-amz-bucket-object-lock-enabled", "true")],
        );
        assert!(
            (200..300).contains(&status),
            "{}: creating locked bucket {bucket} answered {status}: {body}",
            self.name
        );
    }

    /// Sends `method` to `key` in `bucket` (`""`: the bucket itself) with the signed `query`
    /// (`[("retention", "")]`, `[("versionId", V)]`, `[("versions", ""), ("prefix", P)]`),
    /// presigned with this server's credentials; returns the status and the whole response,
    /// headers included (a `HEAD` answers only in headers).
    pub fn signed_request(
        &self,
        method: &str,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
    ) -> (u16, String) {
        use object_store::signer::{Method, SignedUrlOptions};
        let store = self.store(bucket);
        let m = match method {
            "GET" => Method::GET,
            "DELETE" => Method::DELETE,
            "PUT" => Method::PUT,
            "HEAD" => Method::HEAD,
            other => panic!("signed_request: method {other}"),
        };
        let path = StorePath::parse(key).unwrap_or_else(|e| panic!("key {key:?}: {e}"));
        let opts = SignedUrlOptions::default()
            .with_query(query.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let url = runtime()
            .block_on(store.signed_url_opts(m, &path, Duration::from_secs(300), &opts))
            .unwrap_or_else(|e| panic!("presign {method} {key}: {e}"));
        http_exchange(method, url.as_str(), &[], b"")
    }

    /// Puts `bytes` at `key` with a plain signed PUT, over whatever is there (in a versioned
    /// bucket: a newer version).
    pub fn overwrite(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = StorePath::parse(key).unwrap_or_else(|e| panic!("key {key:?}: {e}"));
        runtime()
            .block_on(self.store(bucket).put(&path, bytes.to_vec().into()))
            .unwrap_or_else(|e| panic!("{}: PUT {key:?}: {e}", self.name));
    }

    /// Creates `bucket` and uploads every file under `dir` to `PREFIX/RELATIVE/PATH`.
    pub fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) -> usize {
        self.create_bucket(bucket);
        upload(&self.store(bucket), prefix, dir)
    }

    /// Puts `bytes` at `key` exactly, whatever it holds (a TAB, a newline, `..`), with an
    /// unsigned request: object_store cannot address such keys, but a backup tool can write
    /// them. Only for a server that does not check signatures (moto).
    pub fn put_raw(&self, bucket: &str, key: &str, bytes: &[u8]) {
        assert!(
            !self.checks_signatures,
            "{}: put_raw sends unsigned requests",
            self.name
        );
        let encoded: String = key
            .split('/')
            .map(|part| {
                part.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}/{bucket}/{encoded}", self.endpoint);
        let (status, body) = http_request_with_body("PUT", &url, &[], bytes);
        assert!(
            (200..300).contains(&status),
            "{}: PUT {key:?} answered {status}: {body}",
            self.name
        );
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        join_url("s3", bucket, prefix)
    }

    /// The `source.options` a runbook needs to read from this server, as (key, value) pairs.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("endpoint", self.endpoint.clone()),
            ("region", self.region.clone()),
            ("allow_http", "true".into()),
            ("access_key_id", self.access_key_id.clone()),
            ("secret_access_key", self.secret_access_key.clone()),
        ]
    }
}

impl AzureServer {
    /// The account's blob service URL, path-style as Azurite serves it:
    /// `http://127.0.0.1:PORT/ACCOUNT`.
    pub fn account_url(&self) -> String {
        format!("{}/{}", self.endpoint, self.account)
    }

    /// An object_store client for `container`, from explicit configuration only.
    pub fn store(&self, container: &str) -> MicrosoftAzure {
        MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_access_key(&self.key)
            .with_container_name(container)
            .with_endpoint(self.account_url())
            .with_allow_http(true)
            .with_retry(retry())
            .build()
            .unwrap_or_else(|e| panic!("Azurite client for container {container}: {e}"))
    }

    /// Creates `container` with one SharedKey-signed `PUT ?restype=container` (object_store
    /// cannot create containers). Panics unless Azurite answers 201.
    pub fn create_container(&self, container: &str) {
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&jiff::Timestamp::now())
            .expect("HTTP date");
        let version = "2021-08-06";
        // The canonicalized resource of a path-style URL repeats the account: /ACCOUNT + path.
        let resource = format!(
            "/{}/{}/{container}\nrestype:container",
            self.account, self.account
        );
        let string_to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n{resource}"
        );
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64
            .decode(&self.key)
            .expect("the Azurite key is base64 (servers.sh writes it so)");
        let signature = b64.encode(hmac_sha256(&key, string_to_sign.as_bytes()));
        let url = format!("{}/{container}?restype=container", self.account_url());
        let (status, body) = http_request(
            "PUT",
            &url,
            &[
                ("x-ms-date", date.as_str()),
                ("x-ms-version", version),
                (
                    "Authorization",
                    &format!("SharedKey {}:{signature}", self.account),
                ),
            ],
        );
        assert_eq!(
            status, 201,
            "Azurite: creating container {container} answered {status}: {body}"
        );
    }

    /// Creates `container` and uploads every file under `dir` to `PREFIX/RELATIVE/PATH`.
    pub fn upload_dir(&self, container: &str, prefix: &str, dir: &Path) -> usize {
        self.create_container(container);
        upload(&self.store(container), prefix, dir)
    }

    /// `az://CONTAINER/PREFIX`.
    pub fn url(&self, container: &str, prefix: &str) -> String {
        join_url("az", container, prefix)
    }

    /// The `source.options` a runbook needs to read from this server, as (key, value) pairs.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("account_name", self.account.clone()),
            ("access_key", self.key.clone()),
            ("endpoint", self.account_url()),
            ("allow_http", "true".into()),
        ]
    }
}

fn join_url(scheme: &str, bucket: &str, prefix: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{prefix}")
    }
}

/// Uploads every regular file under `dir` (symlinks are not followed) to `prefix/REL`, eight
/// at a time. Returns the number of objects written.
///
/// Keys are the names verbatim (`a#b [1].txt` is stored as `a#b [1].txt`, not as
/// object_store's percent-encoded `a%23b %5B1%5D.txt`), as `aws s3 cp` or a backup tool would
/// store them: a fixture must not share lifeboat's encoding, or a bug in it would go unseen.
/// A name object_store cannot address (a control character, `.`, `..`) panics; put such keys
/// with [`S3Server::put_raw`].
pub fn upload(store: &dyn ObjectStore, prefix: &str, dir: &Path) -> usize {
    let mut files = Vec::new();
    walk(dir, &mut Vec::new(), &mut files);
    let prefix: Vec<String> = prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let count = files.len();
    runtime().block_on(async {
        let puts = futures::stream::iter(files.into_iter().map(|(parts, full)| {
            let location = StorePath::from_iter(prefix.iter().chain(parts.iter()).map(|p| {
                PathPart::parse(p)
                    .unwrap_or_else(|e| panic!("object_store cannot address {p:?}: {e}"))
            }));
            async move {
                let bytes =
                    std::fs::read(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()));
                store
                    .put(&location, bytes.into())
                    .await
                    .unwrap_or_else(|e| panic!("upload {location}: {e}"));
            }
        }))
        .buffer_unordered(8);
        puts.collect::<Vec<()>>().await;
    });
    count
}

fn walk(dir: &Path, rel: &mut Vec<String>, out: &mut Vec<(Vec<String>, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()));
        let name = entry
            .file_name()
            .into_string()
            .unwrap_or_else(|n| panic!("non-UTF-8 name {n:?} in {}", dir.display()));
        let kind = entry.file_type().expect("file type");
        rel.push(name);
        if kind.is_dir() {
            walk(&entry.path(), rel, out);
        } else if kind.is_file() {
            out.push((rel.clone(), entry.path()));
        }
        rel.pop();
    }
}

/// HMAC-SHA256 (RFC 2104), for Azure SharedKey signatures.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// One HTTP/1.1 request with an empty body to a loopback `http://` URL; returns the status
/// and the body as text. Enough for the two setup calls object_store does not offer.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    http_request_with_body(method, url, headers, b"")
}

/// [`http_request`] with a body.
pub fn http_request_with_body(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let (status, text) = http_exchange(method, url, headers, body);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// One request; the status and the whole response as text, status line and headers included.
fn http_exchange(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
    assert_eq!(
        parsed.scheme(),
        "http",
        "only plain http to loopback: {url}"
    );
    let host = parsed.host_str().expect("URL host");
    let port = parsed.port_or_known_default().expect("URL port");
    let mut target = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut req = req.into_bytes();
    req.extend_from_slice(body);
    let mut stream = TcpStream::connect((host, port)).unwrap_or_else(|e| panic!("{url}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream
        .write_all(&req)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut resp = Vec::new();
    stream
        .read_to_end(&mut resp)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{url}: not an HTTP response: {text}"));
    (status, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unique_names_are_valid_bucket_names() {
        let a = unique_name("Flipped Byte!");
        let b = unique_name("Flipped Byte!");
        assert_ne!(a, b);
        for n in [a, b, unique_name(&"x".repeat(100))] {
            assert!(n.len() >= 3 && n.len() <= 63, "{n}");
            assert!(!n.contains("--") && !n.ends_with('-'), "{n}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{n}"
            );
        }
    }
}
