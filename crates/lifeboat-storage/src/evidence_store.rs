//! Where evidence goes when `--evidence-dir` is `s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`:
//! the one place lifeboat writes to object storage. Backup sources stay read-only ([`Source`]
//! has no write); this store writes, and only **create-only** (`PutMode::Create`, a
//! conditional put with `If-None-Match: *`): a name already there is an error, never replaced.
//!
//! Credentials and endpoint come from the standard environment (`AWS_*`, `AZURE_*`), read as
//! object_store's `from_env` reads them, through the same HTTP client and listing guard as
//! backup sources, with bounded retries and timeouts; every error goes through the same
//! classification and scrubbing ([`StorageError`]), with the secret values of the environment
//! redacted.
//!
//! **Object lock** ([`Retention`], S3 only): object_store 0.14 has no object-lock option on a
//! put. Each put under retention goes through a client built for that upload whose default
//! headers (signed with the request) carry `x-amz-object-lock-mode: COMPLIANCE` and
//! `x-amz-object-lock-retain-until-date` (the upload's time plus the retention), with the
//! SHA-256 checksum S3 requires of an object-lock put (`x-amz-checksum-sha256`, computed by
//! object_store, and `x-amz-sdk-checksum-algorithm: SHA256`; S3 refuses an object-lock put
//! that has neither it nor `Content-MD5`). A bucket default retention was not chosen: it is
//! set outside lifeboat, a bucket that lost it would silently take unlocked records, and it
//! cannot be set once a bucket holds objects.
//!
//! **Versions** ([`EvidenceStore::versions`], S3 only): a versioned bucket (object lock
//! requires versioning) keeps an overwritten record underneath a newer version. object_store
//! cannot list versions, so a `GET /?versions` is presigned with object_store's signer (the
//! store's own credentials, a short expiry) and sent with the HTTP client object_store uses.
//!
//! [`Source`]: crate::Source

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::path::Path as StorePath;
use object_store::signer::{Method, SignedUrlOptions, Signer as _};
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions};
use reqwest::header::{HeaderMap, HeaderValue};

use crate::StorageError;
use crate::config;
use crate::errors;
use crate::listing::{self, ListingGuard, Unlisted};

/// Bound on one evidence store operation, retries included.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Object-lock retention for every object written: S3 COMPLIANCE mode, until the upload's
/// time plus `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub period: Duration,
}

/// Why a create-only put did not create.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// Something is already at the name: nothing was written.
    #[error("{name} already exists")]
    Exists { name: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a capped read returned nothing.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("{name} is {size} bytes, over the {cap}-byte limit")]
    TooLarge { name: String, size: u64, cap: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    S3,
    Azure,
}

/// An evidence bucket or container below a prefix, opened for create-only writes.
#[derive(Clone)]
pub struct EvidenceStore {
    url: String,
    bucket: String,
    prefix: StorePath,
    store: Arc<dyn ObjectStore>,
    s3: Option<Arc<AmazonS3>>,
    retention: Option<Retention>,
    secrets: Arc<[String]>,
    unlisted: Arc<Unlisted>,
}

impl std::fmt::Debug for EvidenceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceStore")
            .field("url", &self.url)
            .field("retention", &self.retention)
            .finish()
    }
}

/// Whether `--evidence-dir`'s value names an object store rather than a folder.
pub fn is_store_url(value: &str) -> bool {
    value.starts_with("s3://") || value.starts_with("az://")
}

/// The environment's secret values, redacted from every message.
fn env_secrets() -> Arc<[String]> {
    const SECRET: &[&str] = &[
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_MASTER_KEY",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_SAS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_TOKEN",
        "AZURE_CLIENT_SECRET",
    ];
    SECRET
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Client options every evidence client starts from; the environment's client keys
/// (`AWS_ALLOW_HTTP`, …) are applied over them afterwards, so nothing they set is lost.
fn client_options(headers: Option<HeaderMap>) -> ClientOptions {
    let o = ClientOptions::new()
        .with_timeout(TIMEOUT)
        .with_connect_timeout(Duration::from_secs(10));
    match headers {
        Some(h) => o.with_default_headers(h),
        None => o,
    }
}

impl EvidenceStore {
    /// Opens `url` (`s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`) with the environment's
    /// credentials. `retention` puts every object written under object lock (S3 only: an
    /// Azure container's immutability is a policy set on the container, see SECURITY.md).
    pub fn open(url: &str, retention: Option<Retention>) -> Result<Self, StorageError> {
        let secrets = env_secrets();
        let config_err = |detail: String| StorageError::Config {
            url: url.to_owned(),
            detail: errors::scrub(&detail, &secrets),
        };
        let (kind, rest) = if let Some(rest) = url.strip_prefix("s3://") {
            (Kind::S3, rest)
        } else if let Some(rest) = url.strip_prefix("az://") {
            (Kind::Azure, rest)
        } else {
            return Err(config_err(
                "expected s3://BUCKET/PREFIX or az://CONTAINER/PREFIX".into(),
            ));
        };
        let (bucket, prefix) = config::split_bucket(rest).map_err(config_err)?;
        if retention.is_some() && kind == Kind::Azure {
            return Err(config_err(
                "--evidence-retention sets S3 object lock; an Azure container is made \
                 immutable by a time-based retention policy on the container itself (see \
                 SECURITY.md), not by lifeboat"
                    .into(),
            ));
        }
        let prefix = config::prefix_path(prefix).map_err(config_err)?;
        let unlisted = Arc::new(Unlisted::default());
        let (store, s3): (Arc<dyn ObjectStore>, _) = match kind {
            Kind::S3 => {
                let s3 = Arc::new(
                    s3_client(bucket, retention.is_some(), &unlisted, None).map_err(&config_err)?,
                );
                (s3.clone(), Some(s3))
            }
            Kind::Azure => {
                let mut b = MicrosoftAzureBuilder::new()
                    .with_client_options(client_options(None))
                    .with_container_name(bucket)
                    .with_retry(config::retry(TIMEOUT))
                    .with_http_connector(ListingGuard {
                        unlisted: Arc::clone(&unlisted),
                    });
                for (k, v) in std::env::vars() {
                    if k.starts_with("AZURE_")
                        && let Ok(key) = AzureConfigKey::from_str(&k.to_ascii_lowercase())
                    {
                        b = b.with_config(key, v);
                    }
                }
                let built = b
                    .build()
                    .map_err(|e| config_err(errors::redact(&e.to_string())))?;
                (Arc::new(built), None)
            }
        };
        Ok(EvidenceStore {
            url: url.trim_end_matches('/').to_owned(),
            bucket: bucket.to_owned(),
            prefix,
            store,
            s3,
            retention,
            secrets,
            unlisted,
        })
    }

    /// `s3://BUCKET/PREFIX`, as given (without a trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The retention every put carries.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
    }

    fn path(&self, rel: &str) -> Result<StorePath, StorageError> {
        let rel = rel.trim_matches('/');
        let full = match (self.prefix.as_ref(), rel) {
            (p, "") => p.to_owned(),
            ("", r) => r.to_owned(),
            (p, r) => format!("{p}/{r}"),
        };
        // Names are kept exactly (`parse`, never the percent-encoding `From<&str>`).
        StorePath::parse(&full).map_err(|_| StorageError::Unaddressable {
            path: rel.to_owned(),
            why: if rel.chars().any(|ch| ch.is_ascii_control()) {
                listing::CONTROL
            } else {
                listing::SEGMENT
            },
        })
    }

    fn classify(&self, e: object_store::Error, what: &str) -> StorageError {
        let full = errors::describe(&e);
        errors::classify(&self.url, what, &full, Some(&e), &self.secrets)
    }

    async fn bounded<T>(
        &self,
        fut: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        match tokio::time::timeout(TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(object_store::Error::Generic {
                store: "lifeboat",
                source: format!("no answer within {} s", TIMEOUT.as_secs()).into(),
            }),
        }
    }

    /// Creates `rel` (below the prefix) holding `bytes`; fails with [`PutError::Exists`] when
    /// anything is there. Under [`Retention`], the object is locked until now plus the period.
    pub async fn put_new(&self, rel: &str, bytes: &[u8]) -> Result<(), PutError> {
        let path = self.path(rel)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let payload = bytes::Bytes::copy_from_slice(bytes).into();
        let locked;
        let store: &dyn ObjectStore = match self.retention {
            None => &*self.store,
            Some(r) => {
                let headers = lock_headers(r, jiff::Timestamp::now());
                locked = s3_client(&self.bucket, true, &self.unlisted, Some(headers)).map_err(
                    |detail| StorageError::Config {
                        url: self.url.clone(),
                        detail: errors::scrub(&detail, &self.secrets),
                    },
                )?;
                &locked
            }
        };
        match self.bounded(store.put_opts(&path, payload, opts)).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(PutError::Exists {
                name: rel.to_owned(),
            }),
            // S3 answers a failed `If-None-Match: *` with 412.
            Err(object_store::Error::Precondition { .. }) => Err(PutError::Exists {
                name: rel.to_owned(),
            }),
            Err(e) => Err(self.classify(e, &format!("creating {rel}")).into()),
        }
    }

    /// Reads `rel` whole if it is at most `cap` bytes (its size checked before its body is
    /// read, and again while it is read); `None` when there is no such object.
    pub async fn get(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>, GetError> {
        let path = self.path(rel)?;
        let result = match self.bounded(self.store.get(&path)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.classify(e, &format!("reading {rel}")).into()),
        };
        let too_large = |size| GetError::TooLarge {
            name: rel.to_owned(),
            size,
            cap,
        };
        if result.meta.size > cap {
            return Err(too_large(result.meta.size));
        }
        let mut out = Vec::with_capacity(result.meta.size as usize);
        let mut stream = result.into_stream();
        let read = async {
            while let Some(chunk) = stream.try_next().await? {
                if (out.len() + chunk.len()) as u64 > cap {
                    return Ok(Err(too_large((out.len() + chunk.len()) as u64)));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(Ok(()))
        };
        match self.bounded(read).await {
            Ok(Ok(())) => Ok(Some(out)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(self.classify(e, &format!("reading {rel}")).into()),
        }
    }

    /// Every object below `rel_prefix` (a prefix of names, relative to the store's prefix):
    /// each name relative to the store's prefix, and its size. Names object_store cannot
    /// represent (a control character, a `..` part) are returned too, as the bucket holds them,
    /// with size 0: the caller reports them, never reads them.
    pub async fn list(&self, rel_prefix: &str) -> Result<Vec<(String, u64)>, StorageError> {
        // object_store lists whole path segments: list the folder, filter by the prefix.
        let (folder, _) = rel_prefix.rsplit_once('/').unwrap_or(("", rel_prefix));
        let path = self.path(folder)?;
        let below = if self.prefix.as_ref().is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix.as_ref())
        };
        self.unlisted.take();
        let listed = self
            .bounded(self.store.list(Some(&path)).try_collect::<Vec<_>>())
            .await
            .map_err(|e| self.classify(e, "listing the evidence"));
        let unlisted = self.unlisted.take();
        let strip = |p: &str| p.strip_prefix(below.as_str()).unwrap_or(p).to_owned();
        let mut out: Vec<(String, u64)> = listed?
            .into_iter()
            .map(|meta| (strip(meta.location.as_ref()), meta.size))
            .chain(unlisted.into_iter().map(|(raw, _)| (strip(&raw), 0)))
            .filter(|(name, _)| name.starts_with(rel_prefix))
            .collect();
        out.sort();
        Ok(out)
    }

    /// How many versions each name below the prefix has (S3: a `GET ?versions` listing,
    /// presigned); `None` for Azure, where lifeboat does not list versions.
    pub async fn versions(&self) -> Result<Option<BTreeMap<String, usize>>, StorageError> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        let below = if self.prefix.as_ref().is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix.as_ref())
        };
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| self.unavailable(format!("listing versions: {e}")))?;
        let mut counts = BTreeMap::new();
        let mut marker: Option<(String, String)> = None;
        // A bucket of a million versions is 1,000 pages; more is not an evidence prefix.
        for _ in 0..10_000 {
            let mut query = vec![
                ("versions".to_owned(), String::new()),
                ("prefix".to_owned(), below.clone()),
            ];
            if let Some((key, version)) = &marker {
                query.push(("key-marker".into(), key.clone()));
                query.push(("version-id-marker".into(), version.clone()));
            }
            let opts = SignedUrlOptions::default().with_query(query);
            let signed = s3
                .signed_url_opts(
                    Method::GET,
                    &StorePath::default(),
                    Duration::from_secs(300),
                    &opts,
                )
                .await
                .map_err(|e| self.classify(e, "listing versions"))?;
            let response = client
                .get(signed)
                .send()
                .await
                .map_err(|e| self.unavailable(format!("listing versions: {e}")))?;
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|e| self.unavailable(format!("listing versions: {e}")))?;
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body);
                return Err(errors::classify(
                    &self.url,
                    "listing versions",
                    &format!("{status}: {text}"),
                    None,
                    &self.secrets,
                ));
            }
            let page = listing::versions(&body);
            for key in page.keys {
                let name = key.strip_prefix(below.as_str()).unwrap_or(&key).to_owned();
                *counts.entry(name).or_insert(0) += 1;
            }
            match page.next {
                Some(next) => marker = Some(next),
                None => return Ok(Some(counts)),
            }
        }
        Err(self.unavailable("listing versions: over 10,000 pages".into()))
    }

    fn unavailable(&self, detail: String) -> StorageError {
        StorageError::Unavailable {
            url: self.url.clone(),
            detail: errors::scrub(&detail, &self.secrets),
        }
    }
}

/// An S3 client for `bucket` from the environment (as object_store's `from_env` reads it),
/// with `headers` sent, and signed, on every request; with `checksum`, each put carries its
/// SHA-256 (`x-amz-checksum-sha256`), as an object-lock put must.
fn s3_client(
    bucket: &str,
    checksum: bool,
    unlisted: &Arc<Unlisted>,
    headers: Option<HeaderMap>,
) -> Result<AmazonS3, String> {
    let mut b = AmazonS3Builder::new()
        .with_client_options(client_options(headers))
        .with_bucket_name(bucket)
        .with_retry(config::retry(TIMEOUT))
        .with_http_connector(ListingGuard {
            unlisted: Arc::clone(unlisted),
        });
    for (k, v) in std::env::vars() {
        if k.starts_with("AWS_")
            && let Ok(key) = AmazonS3ConfigKey::from_str(&k.to_ascii_lowercase())
        {
            b = b.with_config(key, v);
        }
    }
    if checksum {
        b = b.with_checksum_algorithm(Checksum::SHA256);
    }
    b.build().map_err(|e| {
        let text = errors::redact(&e.to_string());
        let http = ["AWS_ENDPOINT", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|k| std::env::var(k).is_ok_and(|v| v.starts_with("http://")));
        let allowed = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        if http && !allowed {
            format!("{text}; the endpoint is plain http://: set AWS_ALLOW_HTTP=true")
        } else {
            text
        }
    })
}

/// The headers that put one upload under object lock until `now` plus the period.
fn lock_headers(r: Retention, now: jiff::Timestamp) -> HeaderMap {
    let until = now
        .checked_add(jiff::SignedDuration::try_from(r.period).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    // Whole seconds, as S3 writes dates: 2026-12-01T00:00:00Z.
    let until = jiff::Timestamp::from_second(until.as_second()).unwrap_or(until);
    let mut h = HeaderMap::new();
    let v = |s: &str| HeaderValue::from_str(s).expect("ASCII header value");
    h.insert("x-amz-object-lock-mode", v("COMPLIANCE"));
    h.insert(
        "x-amz-object-lock-retain-until-date",
        v(&until.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    h.insert("x-amz-sdk-checksum-algorithm", v("SHA256"));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_upload_names_compliance_mode_a_whole_second_and_its_checksum() {
        let now: jiff::Timestamp = "2026-12-01T00:00:00.750Z".parse().unwrap();
        let h = lock_headers(
            Retention {
                period: Duration::from_secs(86_400),
            },
            now,
        );
        assert_eq!(h["x-amz-object-lock-mode"], "COMPLIANCE");
        assert_eq!(
            h["x-amz-object-lock-retain-until-date"],
            "2026-12-02T00:00:00Z"
        );
        assert_eq!(h["x-amz-sdk-checksum-algorithm"], "SHA256");
    }

    #[test]
    fn urls_are_told_from_folders_and_retention_is_refused_on_azure() {
        assert!(is_store_url("s3://b/p") && is_store_url("az://c/p"));
        assert!(!is_store_url("./evidence") && !is_store_url("/srv/s3://x"));
        let e = EvidenceStore::open(
            "az://c/p",
            Some(Retention {
                period: Duration::from_secs(1),
            }),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("immutability") || e.to_string().contains("retention policy"),
            "{e}"
        );
        let e = EvidenceStore::open("s3:///p", None).unwrap_err();
        assert!(e.to_string().contains("names no bucket"), "{e}");
    }
}
