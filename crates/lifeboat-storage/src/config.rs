//! From a runbook's `source` to an `object_store` store, with bounded retries and timeouts.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::path::Path as StorePath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use crate::listing::{ListingGuard, Unlisted};
use crate::local::Local;
use crate::{Backend, Cloud, Source, SourceKind, SourceSpec, StorageError};

/// Default bound on one storage operation, retries included (`source.options.timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on a stalled read (`source.options.read_timeout`).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of ranged GETs in flight for one large object (`source.options.parallel_reads`).
pub const DEFAULT_PARALLEL_READS: usize = 4;

/// Options lifeboat itself interprets rather than passing to the store builder.
const LIFEBOAT_OPTIONS: &[&str] = &["timeout", "read_timeout", "parallel_reads"];
/// Options that configure the HTTP client rather than the store.
const CLIENT_OPTIONS: &[&str] = &["allow_http", "connect_timeout"];

pub(crate) fn open(spec: &SourceSpec) -> Result<Source, StorageError> {
    let timeout = duration_option(spec, "timeout", DEFAULT_TIMEOUT)?;
    let read_timeout = duration_option(spec, "read_timeout", DEFAULT_READ_TIMEOUT)?;
    let read_plan = crate::remote::ReadPlan::new(count_option(
        spec,
        "parallel_reads",
        DEFAULT_PARALLEL_READS,
    )?);
    let secrets: Arc<[String]> = spec
        .options
        .iter()
        .filter(|(k, _)| {
            lifeboat_core::runbook::source_option(spec.kind, k).is_some_and(|o| o.secret)
        })
        .map(|(_, v)| v.clone())
        .collect();
    let url = spec.url.clone();
    let config_err = |detail: String| StorageError::Config {
        url: url.clone(),
        detail: crate::errors::scrub(&detail, &secrets),
    };
    match spec.kind {
        SourceKind::File => {
            // The same decoder `validate` checked the URL with.
            let root = lifeboat_core::runbook::file_url_path(&spec.url).map_err(config_err)?;
            Ok(Source {
                backend: Backend::Local(Arc::new(Local::new(root, url.clone(), timeout))),
                url,
            })
        }
        SourceKind::S3 | SourceKind::Azure => {
            let rest = spec
                .url
                .split_once("://")
                .map(|(_, rest)| rest)
                .ok_or_else(|| config_err("expected SCHEME://BUCKET/PREFIX".into()))?;
            let (bucket, prefix) = split_bucket(rest).map_err(config_err)?;
            let retry = retry(timeout);
            let prefix = prefix_path(prefix).map_err(config_err)?;
            let unlisted = Arc::new(Unlisted::default());
            let guard = || ListingGuard {
                unlisted: Arc::clone(&unlisted),
            };
            let store: Arc<dyn ObjectStore> = if spec.kind == SourceKind::S3 {
                let b = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .with_http_connector(guard());
                let b = configure(b, spec, read_timeout, "S3").map_err(config_err)?;
                Arc::new(b.build().map_err(|e| config_err(builder_hint(spec, &e)))?)
            } else {
                let b = MicrosoftAzureBuilder::from_env()
                    .with_container_name(bucket)
                    .with_retry(retry)
                    .with_http_connector(guard());
                let b = configure(b, spec, read_timeout, "Azure").map_err(config_err)?;
                let b = emulator_at_endpoint(b, spec);
                Arc::new(b.build().map_err(|e| config_err(builder_hint(spec, &e)))?)
            };
            Ok(Source {
                backend: Backend::Cloud(Cloud {
                    store,
                    prefix,
                    timeout,
                    read_plan,
                    secrets,
                    unlisted,
                }),
                url,
            })
        }
    }
}

/// `BUCKET/PREFIX` (a URL after its `SCHEME://`) split at its first `/`; an empty bucket is
/// refused.
pub(crate) fn split_bucket(rest: &str) -> Result<(&str, &str), String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("the URL names no bucket or container".into());
    }
    Ok((bucket, prefix))
}

/// A URL's prefix as a store path. Names are kept as the bucket holds them: `Path::parse`
/// takes them verbatim (`From<&str>` would percent-encode `#`, `%`, `[`…, and look up another
/// key).
pub(crate) fn prefix_path(prefix: &str) -> Result<StorePath, String> {
    StorePath::parse(prefix.trim_matches('/')).map_err(|_| {
        format!("the prefix {prefix:?} holds a control character or an empty, `.` or `..` part")
    })
}

/// Bounded retries: at most 3, backing off from 100 ms to 5 s, all within `timeout`.
pub(crate) fn retry(timeout: Duration) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: timeout,
    }
}

/// The one thing lifeboat needs from a cloud store builder: set a config key by name.
trait StoreBuilder: Sized {
    type Key: FromStr;
    fn client_key(key: ClientConfigKey) -> Self::Key;
    fn with_key(self, key: Self::Key, value: String) -> Self;
}

impl StoreBuilder for AmazonS3Builder {
    type Key = AmazonS3ConfigKey;
    fn client_key(key: ClientConfigKey) -> Self::Key {
        AmazonS3ConfigKey::Client(key)
    }
    fn with_key(self, key: Self::Key, value: String) -> Self {
        self.with_config(key, value)
    }
}

impl StoreBuilder for MicrosoftAzureBuilder {
    type Key = AzureConfigKey;
    fn client_key(key: ClientConfigKey) -> Self::Key {
        AzureConfigKey::Client(key)
    }
    fn with_key(self, key: Self::Key, value: String) -> Self {
        self.with_config(key, value)
    }
}

/// Applies lifeboat's timeouts and the runbook's `source.options` to a cloud store builder.
/// `backend` only names the store in the error for an unknown option.
fn configure<B: StoreBuilder>(
    builder: B,
    spec: &SourceSpec,
    read_timeout: Duration,
    backend: &str,
) -> Result<B, String> {
    let mut b = builder.with_key(
        B::client_key(ClientConfigKey::ReadTimeout),
        format!("{}s", read_timeout.as_secs().max(1)),
    );
    // Whole-request timeouts would cut off large restores: rely on the read timeout.
    b = b.with_key(B::client_key(ClientConfigKey::Timeout), "24h".to_string());
    for (k, v) in store_options(spec) {
        let key = if CLIENT_OPTIONS.contains(&k) {
            B::client_key(
                ClientConfigKey::from_str(k).map_err(|_| format!("unknown option `{k}`"))?,
            )
        } else {
            B::Key::from_str(k).map_err(|_| format!("unknown {backend} option `{k}`"))?
        };
        b = b.with_key(key, v.to_string());
    }
    Ok(b)
}

/// Azurite's well-known development account and key: published by Microsoft, not a secret.
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// object_store ignores `endpoint` when `use_emulator` is on (it reads the emulator's address
/// from `AZURITE_BLOB_STORAGE_URL` or assumes port 10000). A runbook that names both means
/// "Azurite, at this address": configure exactly that — path-style URLs under the account,
/// the development account and key unless given, plain http allowed.
fn emulator_at_endpoint(b: MicrosoftAzureBuilder, spec: &SourceSpec) -> MicrosoftAzureBuilder {
    let emulator = spec
        .options
        .get("use_emulator")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let Some(endpoint) = spec.options.get("endpoint").filter(|_| emulator) else {
        return b;
    };
    let account = spec
        .options
        .get("account_name")
        .map_or(EMULATOR_ACCOUNT, String::as_str);
    let endpoint = endpoint.trim_end_matches('/');
    // Azurite serves path-style: http://HOST:PORT/ACCOUNT/CONTAINER/BLOB.
    let has_path = endpoint
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    let endpoint = if has_path {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/{account}")
    };
    let mut b = b
        .with_use_emulator(false)
        .with_endpoint(endpoint)
        .with_account(account)
        .with_allow_http(true);
    let has_credential = ["access_key", "sas_token", "bearer_token"]
        .iter()
        .any(|k| spec.options.contains_key(*k));
    if !has_credential {
        b = b.with_access_key(EMULATOR_KEY);
    }
    b
}

fn store_options(spec: &SourceSpec) -> impl Iterator<Item = (&str, &str)> {
    spec.options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| !LIFEBOAT_OPTIONS.contains(k))
}

fn count_option(spec: &SourceSpec, key: &str, default: usize) -> Result<usize, StorageError> {
    match spec.options.get(key) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(StorageError::Config {
                url: spec.url.clone(),
                detail: format!("source.options.{key}: expected a whole number of 1 or more"),
            }),
        },
    }
}

fn duration_option(
    spec: &SourceSpec,
    key: &str,
    default: Duration,
) -> Result<Duration, StorageError> {
    match spec.options.get(key) {
        None => Ok(default),
        Some(v) => lifeboat_core::duration::parse(v).map_err(|e| StorageError::Config {
            url: spec.url.clone(),
            detail: format!("source.options.{key}: {e}"),
        }),
    }
}

/// object_store's builder errors are terse ("builder error"); say what to set.
fn builder_hint(spec: &SourceSpec, e: &object_store::Error) -> String {
    let text = crate::errors::redact(&e.to_string());
    let http_endpoint = spec
        .options
        .get("endpoint")
        .is_some_and(|v| v.starts_with("http://"));
    if http_endpoint && !spec.options.contains_key("allow_http") {
        format!("{text}; the endpoint is plain http://: set `allow_http: true` in source.options")
    } else {
        text
    }
}
