//! Raw serde structs for runbook v1, and the parse entry points.
//!
//! These structs mirror the YAML and nothing more: every key is optional here, leaves are kept
//! as text, and each value carries its line and column ([`Spanned`]). Whether a value is a
//! valid duration, URL or cron expression is decided in [`super::validate`], which can then
//! report every problem at once and point at each one. What serde itself refuses (unknown or
//! duplicate keys, a list where a map belongs, broken YAML) is explained by [`error`].
//!
//! Leaves are `String` rather than `u64`/`bool`/`f64` on purpose: serde-saphyr hands any scalar
//! to a `String`, so a mistyped number becomes a located validation problem with our wording
//! ("expected a whole number of files, at least 1") instead of a terse parse failure.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_saphyr::Spanned;

use super::problem::Problem;

/// Runbook files larger than this are refused before parsing.
pub const MAX_RUNBOOK_BYTES: usize = 1024 * 1024;

mod error;
mod tree;

type Text = Option<Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRunbook {
    pub(super) version: Text,
    pub(super) name: Text,
    pub(super) description: Text,
    pub(super) objectives: Option<Spanned<RawObjectives>>,
    pub(super) source: Option<Spanned<RawSource>>,
    pub(super) recovery_points: Option<Spanned<RawRecoveryPoints>>,
    pub(super) manifest: Option<Spanned<RawManifest>>,
    pub(super) sample: Option<Spanned<RawSample>>,
    pub(super) scratch: Option<Spanned<RawScratch>>,
    pub(super) verify_only: Text,
    pub(super) schedule: Text,
    pub(super) timezone: Text,
    pub(super) catch_up: Text,
    pub(super) start_window: Text,
    pub(super) jitter: Text,
    pub(super) steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    pub(super) finally: Option<Spanned<Vec<Spanned<RawStep>>>>,
    pub(super) notify: Option<Spanned<Vec<Spanned<RawNotify>>>>,
    pub(super) coverage: Option<Spanned<RawCoverage>>,
    pub(super) runners: Option<Spanned<OptionEntries>>,
}

/// `coverage`: the window every stored object is verified within, and a drill's budget.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCoverage {
    pub(super) within: Text,
    pub(super) budget: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObjectives {
    pub(super) rto: Text,
    pub(super) rpo: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) url: Text,
    pub(super) options: Option<Spanned<OptionEntries>>,
    pub(super) format: Text,
    pub(super) restic: Option<Spanned<RawRestic>>,
}

/// `source.restic`: how to open a restic repository and which snapshots count.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestic {
    pub(super) password: Text,
    pub(super) password_file: Text,
    pub(super) host: Text,
    pub(super) paths: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) tags: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `source.options` in document order. A plain map would lose each key's position; a null
/// value is kept (as `None`) so it can be reported rather than mistaken for "not set".
#[derive(Debug, Default)]
pub(super) struct OptionEntries(pub(super) Vec<(Spanned<String>, Spanned<Option<String>>)>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecoveryPoints {
    pub(super) time: Text,
    pub(super) time_format: Text,
    pub(super) select: Text,
    pub(super) within: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub(super) path: Text,
    pub(super) format: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSample {
    pub(super) files: Text,
    pub(super) percent: Text,
    pub(super) seed: Text,
    pub(super) always: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScratch {
    pub(super) keep: Text,
    pub(super) sync: Text,
}

/// One item of `steps` or `finally`. The kind keys use [`present`], so `restore:` with no
/// value counts as written (a bare `Option` would read it as absent).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[serde(default, deserialize_with = "present")]
    pub(super) restore: Option<Spanned<Option<RestoreBody>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) run: Option<Spanned<Option<Argv>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) shell: Option<Spanned<Option<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) http: Option<Spanned<Option<RawHttp>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) approve: Option<Spanned<Option<String>>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) wait: Option<Spanned<Option<String>>>,
    pub(super) name: Text,
    pub(super) timeout: Text,
    pub(super) expect_exit: Text,
    pub(super) expect_stdout: Text,
    pub(super) unattended: Text,
    pub(super) env: Option<Spanned<OptionEntries>>,
    pub(super) fallback: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub(super) url: Text,
    pub(super) method: Text,
    pub(super) expect_status: Text,
    pub(super) expect_body: Text,
    pub(super) retries: Text,
    pub(super) interval: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) webhook: Text,
    pub(super) on: Option<Spanned<Vec<Spanned<String>>>>,
}

/// The value of `restore:`. It takes no settings; the keys found are kept so the validator
/// can name them.
#[derive(Debug, Default)]
pub(super) struct RestoreBody {
    pub(super) keys: Vec<Spanned<String>>,
}

/// The value of `run:`: an argv list, or a string (a mistake the validator explains).
#[derive(Debug)]
pub(super) enum Argv {
    Text,
    List(Vec<Spanned<String>>),
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl<'de> Deserialize<'de> for OptionEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OptionEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of option names to values")
            }
            fn visit_unit<E>(self) -> Result<OptionEntries, E> {
                Ok(OptionEntries::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OptionEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(OptionEntries(entries))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for RestoreBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RestoreBody;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an empty map, `{}`")
            }
            fn visit_unit<E>(self) -> Result<RestoreBody, E> {
                Ok(RestoreBody::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RestoreBody, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(RestoreBody { keys })
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Argv;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of the program and its arguments")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Argv, E> {
                Ok(Argv::Text)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Argv, E> {
                Ok(Argv::Text)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Argv, E> {
                Ok(Argv::Text)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Argv, E> {
                Ok(Argv::Text)
            }
            fn visit_str<E>(self, _: &str) -> Result<Argv, E> {
                Ok(Argv::Text)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Argv, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Argv::List(items))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The field names serde derived for a raw struct, read by asking it to deserialize from a
/// deserializer that records the `fields` argument of `deserialize_struct` and then fails.
/// This keeps the list of allowed keys in error messages identical to what the struct accepts.
pub(super) fn struct_fields<T: de::DeserializeOwned>() -> &'static [&'static str] {
    struct Recorder<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Recorder<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }
        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Recorder(&mut fields));
    fields
}

/// The serde-saphyr settings for runbooks: small budgets, since a runbook is a page of YAML and
/// anything near these limits is an attack or an accident (alias bombs, deep nesting).
fn yaml_options(duplicate_keys: serde_saphyr::DuplicateKeyPolicy) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000,
            max_nodes: 100_000,
            max_depth: 32,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_merge_keys: 1_000,
            max_documents: 2,
            max_total_scalar_bytes: 2 * MAX_RUNBOOK_BYTES,
            max_recorded_anchor_bytes: 2 * MAX_RUNBOOK_BYTES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        duplicate_keys: duplicate_keys,
        // YAML 1.1 spellings (`yes`, `on`) read as booleans surprise people; only true/false.
        strict_booleans: true,
        // Only the schema-free read infers types; there, keep `0755` and `1_000` as written so
        // messages quote what the file says.
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        // Problems are printed one per line as FILE:LINE:COLUMN; no multi-line snippets.
        with_snippet: false,
    }
}

/// Reads runbook text into the raw structs, or explains what the YAML parser refused as
/// problems a person can act on ([`error`]). Nothing here judges a value: that is
/// [`super::validate`]'s job.
pub(super) fn read(text: &str) -> Result<RawRunbook, Vec<Problem>> {
    let options = yaml_options(serde_saphyr::DuplicateKeyPolicy::Error);
    serde_saphyr::from_str_with_options::<RawRunbook>(text, options)
        .map_err(|e| error::problems(text, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_fields_reads_serde_field_names() {
        assert_eq!(struct_fields::<RawObjectives>(), ["rto", "rpo"]);
        assert_eq!(
            struct_fields::<RawSource>(),
            ["url", "options", "format", "restic"]
        );
        assert_eq!(struct_fields::<RawRunbook>().len(), 20);
    }
}
