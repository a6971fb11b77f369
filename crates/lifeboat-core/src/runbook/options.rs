//! The storage settings a runbook may put under `source.options`, per backend.
//!
//! One table serves three readers: the validator (unknown keys and mistyped values are
//! refused before anything runs), the storage layer (which maps each key onto its client
//! configuration) and the docs (`runbooks/README.md` lists the same keys). Keeping it in one
//! place is what stops a key from being accepted here but ignored there.

use super::model::SourceKind;
use OptionType::{Bool, Duration, Text};

/// What a source option's value must look like, checked after `${VAR}` is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionType {
    /// Any text.
    Text,
    /// `true` or `false` (any letter case).
    Bool,
    /// A runbook duration, e.g. `30s`, `2m`.
    Duration,
    /// One of these words (any letter case).
    OneOf(&'static [&'static str]),
    /// A whole number in this inclusive range.
    Count {
        /// The smallest number allowed.
        min: u32,
        /// The largest number allowed.
        max: u32,
    },
}

/// One key allowed under `source.options`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceOption {
    /// The backends that accept this key.
    pub kinds: &'static [SourceKind],
    /// The key as runbooks write it under `source.options`.
    pub key: &'static str,
    /// What its value must look like.
    pub value: OptionType,
    /// A credential: keep it out of logs, evidence and messages (it is anyway resolved from
    /// `${VAR}` in any sane runbook).
    pub secret: bool,
    /// One line for users: what it sets, its default.
    pub doc: &'static str,
}

const ALL: &[SourceKind] = &[SourceKind::File, SourceKind::S3, SourceKind::Azure];
const CLOUD: &[SourceKind] = &[SourceKind::S3, SourceKind::Azure];
const S3: &[SourceKind] = &[SourceKind::S3];
const AZ: &[SourceKind] = &[SourceKind::Azure];

const fn opt(
    kinds: &'static [SourceKind],
    key: &'static str,
    value: OptionType,
    doc: &'static str,
) -> SourceOption {
    SourceOption {
        kinds,
        key,
        value,
        secret: false,
        doc,
    }
}

const fn secret(
    kinds: &'static [SourceKind],
    key: &'static str,
    doc: &'static str,
) -> SourceOption {
    SourceOption {
        kinds,
        key,
        value: OptionType::Text,
        secret: true,
        doc,
    }
}

/// Every key allowed under `source.options`, in the order the docs list them.
pub const SOURCE_OPTIONS: &[SourceOption] = &[
    // Every backend.
    opt(
        ALL,
        "timeout",
        Duration,
        "How long storage may keep failing (retries included) before the drill gives up with exit code 3. Default 30s.",
    ),
    opt(
        ALL,
        "read_timeout",
        Duration,
        "Longest wait for the next bytes of a response before the read counts as failed. Default 30s.",
    ),
    opt(
        CLOUD,
        "parallel_reads",
        OptionType::Count { min: 1, max: 64 },
        "Ranged GETs in flight at once for one object of 16 MiB or more, each 8 MiB and pinned to the object's e-tag; 1 reads every object as one stream. Default 4.",
    ),
    // S3 and S3-compatible stores.
    opt(
        S3,
        "region",
        Text,
        "AWS region of the bucket, e.g. eu-central-1.",
    ),
    opt(
        S3,
        "endpoint",
        Text,
        "Endpoint URL for S3-compatible stores (MinIO, Ceph, R2...), e.g. https://minio.internal:9000.",
    ),
    opt(
        S3,
        "access_key_id",
        Text,
        "Access key id of static credentials.",
    ),
    secret(
        S3,
        "secret_access_key",
        "Secret access key of static credentials.",
    ),
    secret(
        S3,
        "session_token",
        "Session token of temporary (STS) credentials.",
    ),
    opt(
        S3,
        "allow_http",
        Bool,
        "Allow a plain http:// endpoint. Default false.",
    ),
    opt(
        S3,
        "virtual_hosted_style_request",
        Bool,
        "Address the bucket as BUCKET.endpoint instead of endpoint/BUCKET. Default false.",
    ),
    opt(
        S3,
        "skip_signature",
        Bool,
        "Send unsigned requests, for public buckets. Default false.",
    ),
    opt(
        S3,
        "unsigned_payload",
        Bool,
        "Do not sign request bodies (UNSIGNED-PAYLOAD). Default false.",
    ),
    opt(
        S3,
        "checksum_algorithm",
        OptionType::OneOf(&["sha256"]),
        "Ask the store to checksum requests: sha256.",
    ),
    opt(
        S3,
        "default_region",
        Text,
        "Region to use when `region` is not set and none can be discovered.",
    ),
    opt(
        S3,
        "imdsv1_fallback",
        Bool,
        "Allow the EC2 instance metadata service v1 when v2 is unavailable. Default false.",
    ),
    opt(
        S3,
        "container_credentials_relative_uri",
        Text,
        "ECS task-role credentials path (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).",
    ),
    opt(
        S3,
        "request_payer",
        Bool,
        "Accept requester-pays charges for the bucket. Default false.",
    ),
    // Azure Blob Storage.
    opt(AZ, "account_name", Text, "Storage account name."),
    secret(AZ, "access_key", "Storage account shared key."),
    secret(
        AZ,
        "sas_token",
        "Shared access signature, the query string without the leading `?`.",
    ),
    secret(AZ, "bearer_token", "OAuth bearer token."),
    opt(
        AZ,
        "client_id",
        Text,
        "Service principal or managed identity client id.",
    ),
    secret(AZ, "client_secret", "Service principal client secret."),
    opt(AZ, "tenant_id", Text, "Microsoft Entra tenant id."),
    opt(
        AZ,
        "use_emulator",
        Bool,
        "Talk to a local Azurite emulator. Default false.",
    ),
    opt(
        AZ,
        "endpoint",
        Text,
        "Blob service endpoint URL, for sovereign clouds, private endpoints or Azurite.",
    ),
    opt(
        AZ,
        "allow_http",
        Bool,
        "Allow a plain http:// endpoint. Default false.",
    ),
    opt(
        AZ,
        "use_fabric_endpoint",
        Bool,
        "Use the Microsoft Fabric (OneLake) endpoint. Default false.",
    ),
    opt(
        AZ,
        "skip_signature",
        Bool,
        "Send unsigned requests, for public containers. Default false.",
    ),
    opt(
        AZ,
        "msi_endpoint",
        Text,
        "Managed identity endpoint, when not the default instance metadata service.",
    ),
    opt(
        AZ,
        "federated_token_file",
        Text,
        "File holding a workload identity token (AKS workload identity).",
    ),
    opt(
        AZ,
        "use_azure_cli",
        Bool,
        "Take credentials from a logged-in `az` CLI. Default false.",
    ),
];

/// The option `key` for a backend, if that backend accepts it.
pub fn source_option(kind: SourceKind, key: &str) -> Option<&'static SourceOption> {
    SOURCE_OPTIONS
        .iter()
        .find(|o| o.key == key && o.kinds.contains(&kind))
}

/// The keys a backend accepts, in table order.
pub fn source_option_keys(kind: SourceKind) -> impl Iterator<Item = &'static str> {
    SOURCE_OPTIONS
        .iter()
        .filter(move |o| o.kinds.contains(&kind))
        .map(|o| o.key)
}

impl SourceKind {
    /// The URL scheme as runbooks write it (`azure://` is accepted as a synonym of `az://`).
    pub fn scheme(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::S3 => "s3",
            SourceKind::Azure => "az",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_per_backend() {
        for kind in [SourceKind::File, SourceKind::S3, SourceKind::Azure] {
            let mut keys: Vec<_> = source_option_keys(kind).collect();
            let count = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), count, "{kind:?} lists a key twice");
        }
    }

    /// `runbooks/README.md` is the users' reference: every key accepted here must be in it.
    #[test]
    fn every_option_is_documented() {
        let docs = include_str!("../../../../runbooks/README.md");
        for o in SOURCE_OPTIONS {
            assert!(
                docs.contains(&format!("| `{}` |", o.key)),
                "runbooks/README.md does not document source option `{}`",
                o.key
            );
        }
    }

    #[test]
    fn file_sources_take_only_the_common_keys() {
        let keys: Vec<_> = source_option_keys(SourceKind::File).collect();
        assert_eq!(keys, ["timeout", "read_timeout"]);
    }

    #[test]
    fn lookup_respects_the_backend() {
        assert_eq!(
            source_option(SourceKind::S3, "region").map(|o| o.key),
            Some("region")
        );
        assert_eq!(source_option(SourceKind::Azure, "region"), None);
        assert!(
            source_option(SourceKind::Azure, "client_secret")
                .unwrap()
                .secret
        );
        assert_eq!(
            source_option(SourceKind::File, "timeout").map(|o| o.value),
            Some(OptionType::Duration)
        );
    }
}
